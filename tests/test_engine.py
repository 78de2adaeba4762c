"""The engine with toy probes and rules: crash, timeout, missing input, gating, deadline, order.

The toy host is a plain object: these tests are about scheduling, not about any real source.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict

import pytest

from amzn_gd_doctor import doctor
from amzn_gd_doctor.doctor import Options
from amzn_gd_doctor.facts import Key
from amzn_gd_doctor.host import CouldNotLook, Unsupported
from amzn_gd_doctor.model import FactStatus, HostSummary, Outcome, failed, passed
from amzn_gd_doctor.registry import ProbeSpec, RuleSpec


class ToyHost:
    root = None
    env: Dict[str, str] = {}
    deadline = None


def probe(
    pid: str, fn: Any, needs: tuple = (), timeout: float = 5.0, type_: type = object
) -> ProbeSpec:
    return ProbeSpec(pid, fn, needs, timeout, type_)


def rule(
    rid: str, fn: Any, facts: tuple = (), optional: tuple = (), requires: tuple = ()
) -> RuleSpec:
    return RuleSpec(rid, fn, rid.replace(".", " "), facts, optional, requires, ("kernel_too_low",))


def run(probes: list, rules: list, deadline: float = 5.0) -> Any:
    return doctor.run(
        ToyHost(),
        Options(deadline=deadline),
        {p.id: p for p in probes},
        {r.id: r for r in rules},
        summarize=lambda facts, options: HostSummary(),
    )


def by_id(report: Any) -> Dict[str, Any]:
    return {f.rule_id: f for f in report.findings}


def test_probe_crash_becomes_crash_finding_and_run_continues() -> None:
    report = run(
        [probe("toy.bad", lambda ctx: 1 / 0), probe("toy.good", lambda ctx: 7)],
        [
            rule("toy.uses_bad", lambda v: passed("never"), ("toy.bad",)),
            rule("toy.uses_good", lambda v: passed(f"value {v}"), ("toy.good",)),
        ],
    )
    found = by_id(report)
    assert found["toy.uses_bad"].outcome is Outcome.CRASH
    assert (
        found["toy.uses_bad"].summary
        == "probe crashed: ZeroDivisionError: division by zero (reading toy bad)"
    )
    assert found["toy.uses_good"].summary == "value 7"
    assert report.coverage_status.value == "UNKNOWN"


def test_rule_crash_becomes_crash_finding() -> None:
    report = run(
        [probe("toy.a", lambda ctx: None)], [rule("toy.r", lambda v: v.missing, ("toy.a",))]
    )
    assert by_id(report)["toy.r"].outcome is Outcome.CRASH
    assert by_id(report)["toy.r"].summary.startswith("rule crashed: AttributeError")


def test_rule_naming_unknown_issue_is_a_crash() -> None:
    report = run(
        [probe("toy.a", lambda ctx: 1)],
        [rule("toy.r", lambda v: failed("no_such_issue", "x"), ("toy.a",))],
    )
    assert by_id(report)["toy.r"].summary == (
        "rule crashed: ValueError: failure names unknown issue 'no_such_issue'"
    )


def test_probe_timeout_is_reported_and_does_not_hold_the_run() -> None:
    release = threading.Event()
    began = time.monotonic()
    report = run(
        [probe("toy.slow", lambda ctx: release.wait(30), timeout=0.3)],
        [rule("toy.r", lambda v: passed("x"), ("toy.slow",))],
    )
    release.set()
    fact = report.facts[0]
    assert fact.status is FactStatus.TIMEOUT
    assert fact.reason == "did not finish within its 0.3 s timeout"
    assert by_id(report)["toy.r"].summary.startswith(
        "inconclusive, because reading toy slow timed out"
    )
    assert time.monotonic() - began < 3.0


def test_deadline_reports_unfinished_probes_as_timed_out() -> None:
    release = threading.Event()
    began = time.monotonic()
    report = run(
        [
            probe("toy.hang", lambda ctx: release.wait(30), timeout=60),
            probe("toy.quick", lambda ctx: 1),
        ],
        [rule("toy.r", lambda v: passed("x"), ("toy.quick",))],
        deadline=0.5,
    )
    release.set()
    elapsed = time.monotonic() - began
    facts = {f.probe_id: f for f in report.facts}
    assert facts["toy.hang"].status is FactStatus.TIMEOUT
    assert facts["toy.hang"].reason == "unfinished at the run deadline (0.5 s)"
    assert facts["toy.quick"].status is FactStatus.OK
    assert 0.4 < elapsed < 0.5 + 2.0  # generous margin: shared, noisy machines


def test_missing_input_is_inconclusive_with_reason() -> None:
    def unreadable(ctx: Any) -> None:
        raise PermissionError(13, "Permission denied", "/var/lib/amazon/ssm")

    report = run(
        [
            probe("toy.locked", unreadable),
            probe(
                "toy.foreign", lambda ctx: (_ for _ in ()).throw(Unsupported("not under --root"))
            ),
            probe("toy.gone", lambda ctx: (_ for _ in ()).throw(CouldNotLook("HTTP 500"))),
        ],
        [
            rule("toy.a", lambda v: passed("x"), ("toy.locked",)),
            rule("toy.b", lambda v: passed("x"), ("toy.foreign",)),
            rule("toy.c", lambda v: passed("x"), ("toy.gone",)),
        ],
    )
    found = by_id(report)
    assert found["toy.a"].summary == (
        "inconclusive, because toy locked could not be read "
        "(permission denied reading /var/lib/amazon/ssm (run as root))"
    )
    assert found["toy.b"].summary == (
        "inconclusive, because toy foreign cannot be observed here (not under --root)"
    )
    assert found["toy.c"].summary == "inconclusive, because toy gone could not be read (HTTP 500)"
    assert {i.id for i in report.incomplete} == {"toy.locked", "toy.foreign", "toy.gone"}


def test_optional_input_missing_is_none() -> None:
    report = run(
        [probe("toy.a", lambda ctx: 1), probe("toy.b", lambda ctx: 1 / 0)],
        [rule("toy.r", lambda a, b, c: passed(f"{a} {b} {c}"), ("toy.a",), ("toy.b", "toy.none"))],
    )
    assert by_id(report)["toy.r"].summary == "1 None None"


def test_failed_requirement_blocks_dependents_naming_the_root_cause() -> None:
    report = run(
        [probe("toy.k", lambda ctx: 3)],
        [
            rule("toy.root", lambda v: failed("kernel_too_low", "old"), ("toy.k",)),
            rule("toy.middle", lambda v: passed("x"), ("toy.k",), requires=("toy.root",)),
            rule("toy.leaf", lambda v: passed("x"), ("toy.k",), requires=("toy.middle",)),
        ],
    )
    found = by_id(report)
    assert found["toy.middle"].blocked_by == "toy.root"
    assert found["toy.leaf"].blocked_by == "toy.root"
    assert (
        found["toy.leaf"].summary == 'not checked: it depends on the check "toy root", which failed'
    )
    assert [d.issue.code for d in report.diagnoses] == ["kernel_too_low"]
    assert [i.id for i in report.incomplete] == []


def test_probe_dependencies_pass_values_and_block_on_failure() -> None:
    report = run(
        [
            probe("toy.base", lambda ctx: 20),
            probe("toy.derived", lambda ctx: ctx.need(Key("toy.base", int)) + 1, ("toy.base",)),
            probe("toy.broken", lambda ctx: 1 / 0),
            probe("toy.child", lambda ctx: ctx.need(Key("toy.broken", int)), ("toy.broken",)),
        ],
        [rule("toy.r", lambda v: passed(str(v)), ("toy.derived",))],
    )
    facts = {f.probe_id: f for f in report.facts}
    assert by_id(report)["toy.r"].summary == "21"
    assert facts["toy.child"].blocked_by == "toy.broken"
    assert facts["toy.child"].reason.startswith("needs toy.broken: probe crashed")
    assert "toy.child" not in {i.id for i in report.incomplete}


def test_a_rule_over_a_blocked_derived_fact_names_the_input_that_failed() -> None:
    """A derived fact stands for the input that blocked it: the rule says what it would have
    said had it read that input itself, root cause included, and a crashed input is a crash."""

    def derived(pid: str, needs: tuple) -> ProbeSpec:
        def combine(ctx: Any) -> int:
            return sum(ctx.need(Key(n, int)) for n in needs)

        return ProbeSpec(pid, combine, needs, 1.0, object, True)

    def timed_out(ctx: Any) -> None:
        raise TimeoutError("no reply within 2 s")

    report = run(
        [
            probe("toy.a", lambda ctx: 1),
            probe("toy.root", lambda ctx: (_ for _ in ()).throw(CouldNotLook("HTTP 500"))),
            probe("toy.b", lambda ctx: ctx.need(Key("toy.root", int)), ("toy.root",)),
            probe("toy.c", timed_out),
            probe("toy.d", lambda ctx: 1 / 0),
            derived("toy.ab", ("toy.a", "toy.b")),
            derived("toy.ac", ("toy.a", "toy.c")),
            derived("toy.ad", ("toy.a", "toy.d")),
        ],
        [
            rule("toy.over_b", lambda v: passed("x"), ("toy.b",)),
            rule("toy.over_ab", lambda v: passed("x"), ("toy.ab",)),
            rule("toy.over_ac", lambda v: passed("x"), ("toy.ac",)),
            rule("toy.over_ad", lambda v: passed("x"), ("toy.ad",)),
        ],
    )
    found = by_id(report)
    assert (found["toy.over_ab"].summary, found["toy.over_ab"].blocked_by) == (
        found["toy.over_b"].summary,
        found["toy.over_b"].blocked_by,
    )
    assert found["toy.over_ab"].summary == "not checked: toy root could not be read"
    assert found["toy.over_ab"].blocked_by == "toy.root"
    assert found["toy.over_ac"].summary == (
        "inconclusive, because reading toy c timed out (no reply within 2 s)"
    )
    assert found["toy.over_ac"].blocked_by is None
    assert (found["toy.over_ad"].outcome, found["toy.over_ad"].summary) == (
        Outcome.CRASH,
        "probe crashed: ZeroDivisionError: division by zero (reading toy d)",
    )
    # Derived facts are not listed, blocked or not, and add nothing to what is incomplete (a
    # crash finding is listed there, as it is over the crashed input itself).
    assert {f.probe_id for f in report.facts} == {"toy.a", "toy.root", "toy.b", "toy.c", "toy.d"}
    assert {i.id for i in report.incomplete} == {"toy.root", "toy.c", "toy.d", "toy.over_ad"}


def test_order_is_deterministic_and_requirements_come_first() -> None:
    def sleeper(i: int) -> Any:
        return lambda ctx: time.sleep(0.01 * (5 - i)) or i

    probes = [probe(f"toy.p{i}", sleeper(i)) for i in range(5)]
    rules = [
        rule("toy.z", lambda: passed("z"), requires=("toy.a",)),
        rule("toy.a", lambda: passed("a")),
        rule("toy.m", lambda: passed("m")),
    ]
    orders = {tuple(f.rule_id for f in run(probes, rules).findings) for _ in range(3)}
    assert orders == {("toy.a", "toy.m", "toy.z")}
    assert [f.probe_id for f in run(probes, rules).facts] == [f"toy.p{i}" for i in range(5)]


def test_confirmed_diagnosis_precedes_suspected_then_provisioning_order() -> None:
    from amzn_gd_doctor.model import Confidence

    report = run(
        [],
        [
            RuleSpec("toy.a", lambda: failed("agent_disconnected", "a"), "a", (), (), (), ()),
            RuleSpec(
                "toy.b",
                lambda: failed("kernel_too_high", "b", confidence=Confidence.SUSPECTED),
                "b",
                (),
                (),
                (),
                (),
            ),
            RuleSpec("toy.c", lambda: failed("exclusion_tag", "c"), "c", (), (), (), ()),
        ],
    )
    assert [d.issue.code for d in report.diagnoses] == [
        "exclusion_tag",
        "agent_disconnected",
        "kernel_too_high",
    ]
    assert report.primary is not None and report.primary.issue.code == "exclusion_tag"
    assert int(report.exit_code) == 1


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        (passed("ok"), "HEALTHY", 0),
        (failed("kernel_too_low", "old"), "UNHEALTHY", 1),
    ],
)
def test_exit_code_follows_coverage(outcome: Any, status: str, code: int) -> None:
    report = run([], [RuleSpec("toy.r", lambda: outcome, "r", (), (), (), ())])
    assert (report.coverage_status.value, int(report.exit_code)) == (status, code)


def test_a_probe_returning_another_class_than_its_key_declares_is_a_crash() -> None:
    report = run(
        [probe("toy.count", lambda ctx: "7", type_=int), probe("toy.ok", lambda ctx: 7, type_=int)],
        [
            rule("toy.r", lambda v: passed("never"), ("toy.count",)),
            rule("toy.s", lambda v: passed(f"value {v}"), ("toy.ok",)),
        ],
    )
    facts = {f.probe_id: f for f in report.facts}
    assert facts["toy.count"].crashed
    assert facts["toy.count"].value is None
    assert facts["toy.count"].reason == "probe crashed: returned str, not the int its key declares"
    found = by_id(report)
    assert found["toy.r"].outcome is Outcome.CRASH
    assert found["toy.r"].summary == (
        "probe crashed: returned str, not the int its key declares (reading toy count)"
    )
    assert found["toy.s"].summary == "value 7"


def test_a_probe_reads_only_the_facts_it_declared() -> None:
    report = run(
        [
            probe("toy.base", lambda ctx: 1, type_=int),
            probe("toy.sneaky", lambda ctx: ctx.need(Key("toy.base", int)), type_=int),
        ],
        [],
    )
    facts = {f.probe_id: f for f in report.facts}
    assert facts["toy.sneaky"].reason == (
        "probe crashed: KeyError: 'probe toy.sneaky did not declare it needs toy.base'"
    )
