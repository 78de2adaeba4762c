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
from .facts import title as fact_title
from .host import CouldNotLook, Host, HostTimeout, Unsupported
from .host.threads import thread_name
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
# The rule that warns only on an instance whose coverage GuardDuty judges elsewhere: an EKS node
# whose agent is the EKS add-on's (rules/family.py).
COVERAGE_OWNER_RULE = "platform.coverage_owner"


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


def _import_times() -> "Tuple[Optional[int], Optional[int]]":
    """(import_ms, compile_ms) from the loader that loaded this module, when it counts its time:
    the one file's importer (packaging/pyz/importer.py) and the loader the packages' launcher
    puts in place (timed_imports.py) do; a pip install's plain importer does not."""
    times = getattr(__spec__.loader, "import_times", None)
    if times is None:
        return None, None
    imported, compiled = times()
    return _ms(imported), _ms(compiled)


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
            name=thread_name(spec.id),
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


def evaluate(
    spec: RuleSpec,
    facts: "Mapping[str, Fact]",
    done: "Mapping[str, Finding]",
    rules: "Optional[Mapping[str, RuleSpec]]" = None,
) -> Finding:
    """One rule over the facts, with gating: a blocked prerequisite, a missing input or a
    crash becomes the finding instead of a call. ``rules`` (the run's) lets a blocked check
    name the input its prerequisite could not read."""

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
            why = _blocked(root, done, facts, rules or {})
            return finding(Outcome.INCONCLUSIVE, f"not checked: {why}", blocked_by=root)
        if prior is not None and prior.outcome is Outcome.NOT_APPLICABLE:  # nor does this one
            return finding(
                Outcome.NOT_APPLICABLE, f'not applicable, as the check "{prior.title}" is not.'
            )
    inputs = facts_for(spec, facts)
    for fid in spec.facts:
        fid, fact = _cause(fid, inputs[fid], facts)
        if fact.crashed:
            return finding(Outcome.CRASH, f"{fact.reason} (reading {fact_title(fid)})")
        if fact.blocked_by and fact.blocked_by in facts:  # its own input is the root cause
            root_fact = facts[fact.blocked_by]
            return finding(
                Outcome.INCONCLUSIVE,
                f"not checked: {_unread(fact.blocked_by, root_fact)}",
                blocked_by=fact.blocked_by,
            )
        if not fact.ok:
            return finding(
                Outcome.INCONCLUSIVE,
                f"inconclusive, because {_unread(fid, fact)} ({fact.reason})",
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
        symptom=verdict.symptom,
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


def _unread(fid: str, fact: Fact) -> str:
    """What happened to a fact, in words that name it by its title, never by its id: "the
    instance identity document cannot be observed here"."""
    what = fact_title(fid)
    if fact.status is FactStatus.TIMEOUT:
        return f"reading {what} timed out"
    if fact.status is FactStatus.UNSUPPORTED:
        return f"{what} cannot be observed here"
    return f"{what} could not be read"


def _blocked(
    root: str,
    done: "Mapping[str, Finding]",
    facts: "Mapping[str, Fact]",
    rules: "Mapping[str, RuleSpec]",
) -> str:
    """Why a check was not run, in words: the fact that could not be observed at the root of
    it, else the title of the check it depends on and how that one ended."""
    prior = done.get(root)
    if prior is None:  # the root is a fact
        fact = facts.get(root)
        return _unread(root, fact) if fact is not None else f"{fact_title(root)} is missing"
    spec = rules.get(root)
    if prior.outcome is Outcome.INCONCLUSIVE and spec is not None:
        for fid in spec.facts:  # the prerequisite could not read one of its inputs
            fid, fact = _cause(fid, facts.get(fid) or Fact(fid, FactStatus.UNSUPPORTED), facts)
            if not fact.ok:
                return _unread(fid, fact)
    ended = {
        Outcome.FAIL: "failed",
        Outcome.CRASH: "crashed",
    }.get(prior.outcome, "could not decide")
    return f'it depends on the check "{prior.title}", which {ended}'


def sentence(text: str) -> str:
    """A rule's summary as a sentence of its own: a capital first letter and a final stop.
    Summaries are written to follow a check id ("agent.installed: the agent ..."); a diagnosis
    strings them together."""
    text = text.strip()
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def diagnose(findings: "Sequence[Finding]") -> "Tuple[Diagnosis, ...]":
    """Group failures by console issue, strongest confidence first, then in provisioning
    order.

    Within a diagnosis the failures that name a cause come before those that only show its
    effect (``Finding.symptom``), and so do their fixes: the diagnosis's steps are the causes'
    own steps (the catalogue's for a cause that gave none), and a symptom's steps ("read why it
    dies") only when no cause was found. Its confidence is its strongest failure's."""
    issues = catalog.issues()
    grouped: Dict[str, List[Finding]] = {}
    for f in findings:
        if f.outcome is Outcome.FAIL and f.issue:
            grouped.setdefault(f.issue, []).append(f)
    result = []
    for code, group in grouped.items():
        issue = issues[code]
        ordered = sorted(group, key=lambda f: (f.symptom, f.confidence.rank))  # stable
        fixers = [f for f in ordered if not f.symptom] or ordered
        fixes: List[str] = []
        for step in [s for f in fixers for s in (f.fix or issue.remediation)]:
            if step not in fixes:
                fixes.append(step)
        result.append(
            Diagnosis(
                issue=issue,
                confidence=min((f.confidence for f in group), key=lambda c: c.rank),
                summary=" ".join(sentence(f.summary) for f in ordered),
                remediation=tuple(fixes),
                evidence=tuple(e for f in ordered for e in f.evidence),
                findings=tuple(f.rule_id for f in ordered),
            )
        )
    result.sort(key=lambda d: (d.confidence.rank, d.issue.precedence))
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
        done[spec.id] = evaluate(spec, facts, done, rules)
    findings = tuple(done[spec.id] for spec in _order_rules(rules))
    not_ec2 = next(
        (f.summary for f in findings if f.rule_id == NOT_EC2_RULE and f.outcome is Outcome.WARN),
        None,
    )
    elsewhere = next(
        (
            f.summary
            for f in findings
            if f.rule_id == COVERAGE_OWNER_RULE and f.outcome is Outcome.WARN
        ),
        None,
    )
    diagnoses = diagnose(findings)
    if not_ec2 or elsewhere:  # no EC2 console issue decides it: nothing is confirmed
        diagnoses = tuple(replace(d, confidence=Confidence.SUSPECTED) for d in diagnoses)
    judged = time.monotonic()
    imported, compiled = _import_times()
    try:
        host_info = summarize(facts, options)
    except Exception:  # the header is a convenience; it never takes the report down
        host_info = HostSummary()
    report = Report(
        tool_version=__version__,
        coverage_status=(
            CoverageStatus.UNKNOWN if not_ec2 or elsewhere else coverage(findings, diagnoses)
        ),
        primary=diagnoses[0] if diagnoses else None,
        diagnoses=diagnoses,
        findings=findings,
        facts=tuple(observed[pid] for pid in sorted(observed)),
        host=host_info,
        incomplete=incomplete(observed, findings),
        elapsed_ms=_ms(time.monotonic() - started),
        deadline_s=options.deadline,
        not_ec2=not_ec2,
        covered_elsewhere=elsewhere,
        timing=Timing(
            startup_ms=_ms(max(0.0, started - IMPORTED)),
            probes_ms=_ms(probed - started),
            rules_ms=_ms(judged - probed),
            import_ms=imported,
            compile_ms=compiled,
        ),
    )
    # The one place where the report's text is masked: every renderer shows only this.
    from . import redact

    if pseudonymizer is None and options.pseudonymize:
        pseudonymizer = redact.Pseudonymizer()
    return redact.scrub(report, pseudonymizer)
