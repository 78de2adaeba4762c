"""The engine: runs probes concurrently under one deadline, evaluates rules over their facts,
and assembles the report with the predicted console issue.

Probes run on daemon threads: one that overruns its timeout or the deadline is reported as
timed out and abandoned, and never holds the process open. What a probe is handed
(``ProbeContext``, ``Options``, ``Blocked``) lives below the engine, in ``probing.py``: probes
import that, never this module.
"""

import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from . import IMPORTED, __version__, catalog
from .host import CouldNotLook, Host, HostTimeout, Unsupported
from .model import (
    Confidence,
    CoverageStatus,
    Diagnosis,
    Fact,
    FactStatus,
    Finding,
    HostSummary,
    Incomplete,
    Outcome,
    Report,
    Timing,
    Verdict,
)
from .probing import Blocked as Blocked
from .probing import Options as Options
from .probing import ProbeContext as ProbeContext
from .registry import ProbeSpec, RuleSpec
from .values import replace

if TYPE_CHECKING:
    from . import redact

# The rule that warns only on a machine that GuardDuty's EC2 Runtime Monitoring does not cover
# (neither an EC2 instance nor an SSM hybrid node).
NOT_EC2_RULE = "platform.ec2_instance"


class _Board:
    """Facts as they settle; the first answer for a probe wins (its own or the watchdog's)."""

    def __init__(self, ids: "Sequence[str]", deadline: float) -> None:
        self._facts: Dict[str, Fact] = {}
        self._started: Dict[str, float] = {}
        self._events = {pid: threading.Event() for pid in ids}
        self._cond = threading.Condition()
        self.deadline = deadline

    def started(self, probe_id: str) -> None:
        with self._cond:
            self._started[probe_id] = time.monotonic()
            self._cond.notify_all()  # the watchdog now has a timeout to keep

    def settle(self, fact: Fact) -> None:
        with self._cond:
            if fact.probe_id in self._facts:
                return
            self._facts[fact.probe_id] = fact
            self._events[fact.probe_id].set()
            self._cond.notify_all()

    def wait(self, probe_id: str) -> Fact:
        event = self._events.get(probe_id)
        if event is None:
            return Fact(probe_id, FactStatus.UNSUPPORTED, reason="no probe provides it")
        event.wait(max(0.0, self.deadline - time.monotonic()))
        with self._cond:
            found = self._facts.get(probe_id)
        if found is None:
            return Fact(probe_id, FactStatus.TIMEOUT, reason="unfinished at the run deadline")
        return found

    def wait_for_change(self, timeout: float) -> None:
        """Sleep until a probe starts, a fact settles or ``timeout`` passes."""
        with self._cond:
            if len(self._facts) < len(self._events):
                self._cond.wait(timeout)

    def snapshot(self) -> "Tuple[Dict[str, Fact], Dict[str, float]]":
        with self._cond:
            return dict(self._facts), dict(self._started)


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _run_probe(
    spec: ProbeSpec, host: Host, options: Options, board: _Board, gate: threading.Event
) -> None:
    gate.wait()
    ctx = ProbeContext(host, options, spec, board.wait)
    for dep in spec.needs:
        board.wait(dep)
    board.started(spec.id)
    began = time.monotonic()

    def done(
        status: FactStatus, value: Any = None, reason: "Optional[str]" = None, **kw: Any
    ) -> None:
        board.settle(
            Fact(spec.id, status, value, reason, duration_ms=_ms(time.monotonic() - began), **kw)
        )

    try:
        value = spec.fn(ctx)
    except Blocked as exc:
        cause = exc.cause if spec.derived else None  # rules name what blocked a derived fact
        done(FactStatus.ERROR, reason=str(exc), blocked_by=exc.root, cause=cause)
    except Unsupported as exc:
        done(FactStatus.UNSUPPORTED, reason=_describe(exc))
    except (HostTimeout, TimeoutError) as exc:
        done(FactStatus.TIMEOUT, reason=_describe(exc))
    except CouldNotLook as exc:
        done(FactStatus.ERROR, reason=_describe(exc))
    except PermissionError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        done(FactStatus.ERROR, reason=f"permission denied reading{where} (run as root)")
    except OSError as exc:  # missing file, I/O error: the probe could not look
        where = f" {exc.filename}" if exc.filename else ""
        done(FactStatus.ERROR, reason=f"{(exc.strerror or _describe(exc)).lower()}{where}")
    except Exception as exc:  # a crash becomes a finding, never a traceback
        done(
            FactStatus.ERROR,
            reason=f"probe crashed: {type(exc).__name__}: {_describe(exc)}",
            crashed=True,
        )
    else:
        if isinstance(value, spec.type):
            done(FactStatus.OK, value)
        else:  # a probe that breaks its key's contract is a crash, named as such
            done(
                FactStatus.ERROR,
                reason=f"probe crashed: returned {type(value).__name__}, "
                f"not the {spec.type.__name__} its key declares",
                crashed=True,
            )


def _chain_length(
    probe_id: str, probes: "Mapping[str, ProbeSpec]", seen: "Tuple[str, ...]" = ()
) -> int:
    """How many probes wait, one after another, on ``probe_id`` at most (itself counted); a
    cycle of needs, which nothing should declare, is cut rather than followed forever."""
    after = [p for p in probes.values() if probe_id in p.needs and p.id not in seen]
    return 1 + max((_chain_length(p.id, probes, seen + (probe_id,)) for p in after), default=0)


def collect(
    host: Host, options: Options, probes: "Mapping[str, ProbeSpec]", deadline: float
) -> "Dict[str, Fact]":
    """Run every probe at once; return one fact per probe, whatever happened to it."""
    board = _Board(list(probes), deadline)
    # Every thread is started first and held at a gate, then all are let go at once: a thread
    # that starts working while the others are still being started holds the interpreter lock
    # and delays every start after it (5 ms each at the default switch interval). Heads of
    # long dependency chains go first, since the run lasts as long as its longest chain.
    gate = threading.Event()
    for spec in sorted(probes.values(), key=lambda s: (-_chain_length(s.id, probes), s.id)):
        threading.Thread(
            target=_run_probe,
            args=(spec, host, options, board, gate),
            name=f"probe:{spec.id}",
            daemon=True,
        ).start()
    gate.set()
    while True:
        facts, started = board.snapshot()
        if len(facts) == len(probes):
            return facts
        now = time.monotonic()
        if now >= deadline:
            break
        next_wake = deadline
        for pid, spec in probes.items():
            if pid in facts or pid not in started:
                continue
            expiry = started[pid] + spec.timeout
            if now >= expiry:
                board.settle(
                    Fact(
                        pid,
                        FactStatus.TIMEOUT,
                        reason=f"did not finish within its {spec.timeout:g} s timeout",
                        duration_ms=_ms(now - started[pid]),
                    )
                )
            else:
                next_wake = min(next_wake, expiry)
        board.wait_for_change(max(0.005, min(next_wake, deadline) - time.monotonic()))
    facts, started = board.snapshot()
    for pid in probes:
        if pid not in facts:
            facts[pid] = Fact(
                pid,
                FactStatus.TIMEOUT,
                reason=f"unfinished at the run deadline ({options.deadline:g} s)",
                duration_ms=_ms(time.monotonic() - started.get(pid, time.monotonic())),
            )
    return facts


def _order_rules(rules: "Mapping[str, RuleSpec]") -> "List[RuleSpec]":
    """Requirements first, otherwise by id, so the report order is deterministic."""
    ordered: List[RuleSpec] = []
    seen: Dict[str, bool] = {}

    def visit(spec: RuleSpec) -> None:
        if spec.id in seen:
            return
        seen[spec.id] = True
        for req in sorted(spec.requires):
            if req in rules:
                visit(rules[req])
        ordered.append(spec)

    for spec in sorted(rules.values(), key=lambda s: s.id):
        visit(spec)
    return ordered


def evaluate(spec: RuleSpec, facts: "Mapping[str, Fact]", done: "Mapping[str, Finding]") -> Finding:
    """One rule over the facts, with gating: a blocked prerequisite, a missing input or a
    crash becomes the finding instead of a call."""

    def finding(outcome: Outcome, summary: str, **kw: Any) -> Finding:
        return Finding(spec.id, spec.title, spec.area, outcome, summary, **kw)

    for req in spec.requires:
        prior = done.get(req)
        if prior is not None and prior.outcome in (
            Outcome.FAIL,
            Outcome.INCONCLUSIVE,
            Outcome.CRASH,
        ):
            root = prior.blocked_by or req
            return finding(Outcome.INCONCLUSIVE, f"not checked: blocked by {root}", blocked_by=root)
    inputs = facts_for(spec, facts)
    for fid in spec.facts:
        fid, fact = _cause(fid, inputs[fid], facts)
        if fact.crashed:
            return finding(Outcome.CRASH, f"{fid}: {fact.reason}")
        if not fact.ok:
            return finding(
                Outcome.INCONCLUSIVE,
                f"inconclusive, because {fid} {_fact_problem(fact)}",
                blocked_by=fact.blocked_by,
            )
    args = [inputs[fid].value for fid in spec.facts]
    args += [inputs[fid].value if inputs[fid].ok else None for fid in spec.optional]
    began = time.monotonic()
    try:
        verdict = spec.fn(*args)
        if not isinstance(verdict, Verdict):
            raise TypeError(f"rule returned {type(verdict).__name__}, not a Verdict")
        if verdict.outcome is Outcome.FAIL and verdict.issue not in catalog.issues():
            raise ValueError(f"failure names unknown issue {verdict.issue!r}")
    except Exception as exc:  # a crash becomes a finding, never a traceback
        return finding(Outcome.CRASH, f"rule crashed: {type(exc).__name__}: {_describe(exc)}")
    waited = max([inputs[f].duration_ms for f in spec.facts + spec.optional] + [0])
    return finding(
        verdict.outcome,
        verdict.summary,
        issue=verdict.issue,
        confidence=verdict.confidence,
        evidence=verdict.evidence,
        fix=verdict.fix,
        duration_ms=waited + _ms(time.monotonic() - began),
    )


def _cause(fid: str, fact: Fact, facts: "Mapping[str, Fact]") -> "Tuple[str, Fact]":
    """A derived fact blocked by a failed input stands for that input: the rule reports the
    root cause just as it did when it read the input itself."""
    seen = {fid}
    while not fact.ok and fact.cause and fact.cause in facts and fact.cause not in seen:
        fid, fact = fact.cause, facts[fact.cause]
        seen.add(fid)
    return fid, fact


def facts_for(spec: RuleSpec, facts: "Mapping[str, Fact]") -> "Dict[str, Fact]":
    return {
        fid: facts.get(fid) or Fact(fid, FactStatus.UNSUPPORTED, reason="no probe provides it")
        for fid in spec.facts + spec.optional
    }


def _fact_problem(fact: Fact) -> str:
    if fact.status is FactStatus.TIMEOUT:
        return f"timed out ({fact.reason})"
    if fact.status is FactStatus.UNSUPPORTED:
        return f"is not available here ({fact.reason})"
    return f"could not be read ({fact.reason})"


def diagnose(findings: "Sequence[Finding]") -> "Tuple[Diagnosis, ...]":
    """Group failures by console issue; confirmed ones first, then in provisioning order."""
    issues = catalog.issues()
    grouped: Dict[str, List[Finding]] = {}
    for f in findings:
        if f.outcome is Outcome.FAIL and f.issue:
            grouped.setdefault(f.issue, []).append(f)
    result = []
    for code, group in grouped.items():
        issue = issues[code]
        confirmed = any(f.confidence is Confidence.CONFIRMED for f in group)
        fixes: List[str] = []
        for step in [s for f in group for s in f.fix] + list(issue.remediation):
            if step not in fixes:
                fixes.append(step)
        result.append(
            Diagnosis(
                issue=issue,
                confidence=Confidence.CONFIRMED if confirmed else Confidence.SUSPECTED,
                summary=" ".join(f.summary for f in group),
                remediation=tuple(fixes),
                evidence=tuple(e for f in group for e in f.evidence),
                findings=tuple(f.rule_id for f in group),
            )
        )
    result.sort(key=lambda d: (d.confidence is not Confidence.CONFIRMED, d.issue.precedence))
    return tuple(result)


def coverage(findings: "Sequence[Finding]", diagnoses: "Sequence[Diagnosis]") -> CoverageStatus:
    if diagnoses:
        return CoverageStatus.UNHEALTHY
    if any(f.outcome in (Outcome.INCONCLUSIVE, Outcome.CRASH) for f in findings):
        return CoverageStatus.UNKNOWN
    return CoverageStatus.HEALTHY


def incomplete(
    facts: "Mapping[str, Fact]", findings: "Sequence[Finding]"
) -> "Tuple[Incomplete, ...]":
    """What could not be observed or decided, each once, with its reason."""
    items = [
        Incomplete(pid, f"{fact.status.value}: {fact.reason}")
        for pid, fact in sorted(facts.items())
        if not fact.ok and not fact.blocked_by
    ]
    items += [
        Incomplete(f.rule_id, f.summary)
        for f in findings
        if f.outcome in (Outcome.INCONCLUSIVE, Outcome.CRASH)
        and not f.blocked_by
        and not f.summary.startswith("inconclusive, because")
    ]
    return tuple(items)


HostSummarizer = Callable[[Mapping[str, Fact], Options], HostSummary]


def run(
    host: Host,
    options: Options,
    probes: "Optional[Mapping[str, ProbeSpec]]" = None,
    rules: "Optional[Mapping[str, RuleSpec]]" = None,
    summarize: "Optional[HostSummarizer]" = None,
    pseudonymizer: "Optional[redact.Pseudonymizer]" = None,
) -> Report:
    """Observe, judge and report within ``options.deadline`` seconds. ``pseudonymizer``: the
    one whose pseudonyms the report takes (``collect`` shares its recording's); by default a
    new one when ``options.pseudonymize`` asks for it."""
    from . import registry

    started = time.monotonic()
    # The host's parts were given this deadline when it was built (cli_app._host); the engine
    # keeps it too, for the probes it abandons.
    deadline = options.run_deadline(started)
    if probes is None or rules is None:
        all_probes, all_rules = registry.load()
        probes = all_probes if probes is None else probes
        rules = all_rules if rules is None else rules
    if summarize is None:
        from .summary import host_summary

        summarize = host_summary
    facts = collect(host, options, probes, deadline)
    observed = {
        pid: fact for pid, fact in facts.items() if pid not in probes or not probes[pid].derived
    }
    probed = time.monotonic()
    done: Dict[str, Finding] = {}
    for spec in _order_rules(rules):
        done[spec.id] = evaluate(spec, facts, done)
    findings = tuple(done[spec.id] for spec in _order_rules(rules))
    not_ec2 = next(
        (f.summary for f in findings if f.rule_id == NOT_EC2_RULE and f.outcome is Outcome.WARN),
        None,
    )
    diagnoses = diagnose(findings)
    if not_ec2:  # the console shows nothing for such a machine: nothing is confirmed
        diagnoses = tuple(replace(d, confidence=Confidence.SUSPECTED) for d in diagnoses)
    judged = time.monotonic()
    try:
        host_info = summarize(facts, options)
    except Exception:  # the header is a convenience; it never takes the report down
        host_info = HostSummary()
    report = Report(
        tool_version=__version__,
        coverage_status=CoverageStatus.UNKNOWN if not_ec2 else coverage(findings, diagnoses),
        primary=diagnoses[0] if diagnoses else None,
        diagnoses=diagnoses,
        findings=findings,
        facts=tuple(observed[pid] for pid in sorted(observed)),
        host=host_info,
        incomplete=incomplete(observed, findings),
        elapsed_ms=_ms(time.monotonic() - started),
        deadline_s=options.deadline,
        not_ec2=not_ec2,
        timing=Timing(
            startup_ms=_ms(max(0.0, started - IMPORTED)),
            probes_ms=_ms(probed - started),
            rules_ms=_ms(judged - probed),
        ),
    )
    # The one place where the report's text is masked: every renderer shows only this.
    from . import redact

    if pseudonymizer is None and options.pseudonymize:
        pseudonymizer = redact.Pseudonymizer()
    return redact.scrub(report, pseudonymizer)
