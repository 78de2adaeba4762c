"""The registry and catalogue hold to the project's rules: stable unique ids, one name
everywhere, every failure names a known console issue, every host issue is reachable, every
rule has a passing and a failing scenario tree, and the catalogue's strings match the
reference verbatim."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import sys
import typing
from pathlib import Path
from typing import Callable, Dict, Set

import pytest
from scenarios import TREES
from support import REPO

from amzn_gd_doctor import catalog, registry, values
from amzn_gd_doctor import facts as facts_package
from amzn_gd_doctor.facts import Key
from amzn_gd_doctor.host import Budget
from amzn_gd_doctor.host import protocols as host_protocols
from amzn_gd_doctor.model import Verdict
from amzn_gd_doctor.probing import PARTS, ProbeContext

PROBES, RULES = registry.load()
ID_RE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
REFERENCE = REPO.parent / "shared" / "REFERENCE.md"


def test_ids_are_area_dot_name() -> None:
    assert PROBES and RULES
    bad = [i for i in list(PROBES) + list(RULES) if not ID_RE.match(i)]
    assert bad == []


def test_rule_function_name_matches_id() -> None:
    assert [r.id for r in RULES.values() if r.fn.__name__ != r.id.split(".", 1)[1]] == []


def test_rules_read_only_known_probes() -> None:
    unknown = {(r.id, f) for r in RULES.values() for f in r.facts + r.optional if f not in PROBES}
    assert unknown == set()


def test_rule_requirements_are_known_rules() -> None:
    assert {(r.id, q) for r in RULES.values() for q in r.requires if q not in RULES} == set()


def test_probe_needs_are_known_probes() -> None:
    assert {(p.id, n) for p in PROBES.values() for n in p.needs if n not in PROBES} == set()


def test_rules_name_only_catalogued_issues() -> None:
    known = catalog.issues()
    assert {(r.id, code) for r in RULES.values() for code in r.issues if code not in known} == set()


def test_every_host_issue_is_reachable_by_a_rule() -> None:
    named = {code for r in RULES.values() for code in r.issues}
    host_issues = {c for c, i in catalog.issues().items() if i.scope == "host"}
    # End of support is announced by GuardDuty, not visible on the host: `explain` covers it.
    assert host_issues - named - {"agent_end_of_support"} == set()


def test_catalogue_entries_are_complete() -> None:
    for issue in catalog.issues().values():
        assert (
            issue.remediation
            and issue.summary
            and issue.doc_url.startswith("https://docs.aws.amazon.com/")
        )
        assert issue.scope in ("host", "account")
    precedences = [i.precedence for i in catalog.issues().values()]
    assert len(set(precedences)) == len(precedences)


# Rules no scenario tree can make both pass and fail, each with the reason. The corpus diagnoses
# a tree with IMDS disabled and every resolver a refused loopback port (tests/scenarios.py):
# what lives outside the files cannot be put in a tree.
NO_SCENARIO = {
    "imds.identity_document": "IMDS is a live HTTP service, not a file of the tree; "
    "tests/test_imds.py judges it against a loopback IMDS",
    "imds.exclusion_tag": "instance tags come from IMDS; tests/test_imds.py",
    "network.endpoint_name": "the endpoint's name needs the region from IMDS; "
    "tests/network/test_net_scenarios.py",
    "network.dns_private": "needs the endpoint name (IMDS) and a DNS answer; "
    "tests/network/test_net_scenarios.py",
    "network.amazon_resolver": "needs the VPC CIDR from IMDS; tests/network/test_net_scenarios.py",
    "network.tcp_reachable": "needs a live TCP peer; tests/network/test_net_scenarios.py",
    "network.tls_valid": "needs a live TLS peer; tests/network/test_net_scenarios.py",
    "network.proxy_exempt": "needs the endpoint name (IMDS); tests/network/test_net_scenarios.py",
    "network.resolver_configured": "the corpus names its resolver with --dns-server so that no "
    "query leaves loopback, which always passes; tests/network/test_net_rules.py fails it",
    "platform.arch_supported": "under --root the architecture is not read from files and the "
    "identity document comes from IMDS; tests/test_platform.py",
    "host.disk_not_full": "a tree cannot hold a disk's free space (statvfs answers for the "
    "filesystem the tree lies on, the test machine's); tests/test_causes_disk.py fills a "
    "tmpfs under a tree in a private mount namespace",
}
PASSING = {"pass"}
FAILING = {"fail", "warn"}


def test_every_rule_has_a_passing_and_a_failing_scenario(
    scenario_reports: Callable[[str], Dict[str, object]],
) -> None:
    """Computed from real runs over every tree (the corpus's own reports, not run twice): a
    rule with no tree that passes it and one that fails it (or warns, for a rule that never
    fails) needs a new scenario tree, not an exemption."""
    seen: Dict[str, Set[str]] = {rule_id: set() for rule_id in RULES}
    for name in TREES:
        for check in scenario_reports(name)["checks"]:  # type: ignore[union-attr]
            seen.setdefault(check["id"], set()).add(check["outcome"])
    lacking = {
        rule_id: [
            want for want, kinds in (("pass", PASSING), ("fail", FAILING)) if not outcomes & kinds
        ]
        for rule_id, outcomes in seen.items()
    }
    lacking = {rule_id: wants for rule_id, wants in lacking.items() if wants}
    assert {r: w for r, w in lacking.items() if r not in NO_SCENARIO} == {}
    # An exemption that a tree now covers, or names a rule that is gone, is dropped.
    assert sorted(r for r in NO_SCENARIO if r not in lacking) == []


def _reference_pairs(text: str) -> set:
    section = text.split("## 1.", 1)[1].split("## 2.", 1)[0]
    pairs = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith('"'):
            quoted = [re.match(r'^"(.*?)"', c) for c in cells]
            if all(quoted):
                pairs.add((quoted[0][1], quoted[1][1]))  # type: ignore[index]
    return pairs


CATALOGUE = REPO / "amzn_gd_doctor" / "catalog" / "issues.json"
BOTTLEROCKET_PAGE = (
    "https://docs.aws.amazon.com/guardduty/latest/ug/gdu-assess-coverage-bottlerocket-ecs-ec2.html"
)
# The issue types and messages of Bottlerocket's coverage page that the catalogue holds, as that
# page shows them (its table writes the empty message "Not applicable"; the EC2 page's "").
BOTTLEROCKET_PAIRS = {
    ("Agent Not Provisioned", "Kernel version is lower than the supported version."),
    ("ECR Image Pull Failed", "The agent container image could not be pulled from Amazon ECR."),
    ("No Agent Reporting", ""),
}


def _catalogue_sources() -> Dict[str, str]:
    """Each entry's page: its own ``source``, or the catalogue's (the EC2 coverage page)."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {item["code"]: item.get("source", data["source"]) for item in data["issues"]}


@pytest.mark.skipif(
    not REFERENCE.exists(), reason="shared/REFERENCE.md is not beside the repository"
)
def test_catalogue_matches_reference_verbatim() -> None:
    """The EC2 page's 17 pairs, verbatim; entries from another coverage page name it."""
    expected = _reference_pairs(REFERENCE.read_text(encoding="utf-8"))
    sources = _catalogue_sources()
    ec2 = json.loads(CATALOGUE.read_text(encoding="utf-8"))["source"]
    actual = {
        (i.issue_type, i.issue_message) for i in catalog.issues().values() if sources[i.code] == ec2
    }
    assert len(expected) == 17
    assert actual == expected


def test_other_coverage_pages_entries_are_theirs_verbatim() -> None:
    """Bottlerocket's entries hold that page's pairs and point to it, and no other page is
    named: a new page needs its pairs here."""
    sources = _catalogue_sources()
    ec2 = json.loads(CATALOGUE.read_text(encoding="utf-8"))["source"]
    assert set(sources.values()) == {ec2, BOTTLEROCKET_PAGE}
    bottlerocket = [catalog.issue(c) for c, s in sources.items() if s == BOTTLEROCKET_PAGE]
    assert {(i.issue_type, i.issue_message) for i in bottlerocket} == BOTTLEROCKET_PAIRS
    assert {i.doc_url for i in bottlerocket} == {BOTTLEROCKET_PAGE}


# -- the typed contract between probe and rule ---------------------------------------------------
# Every module of facts/ (one per area), found rather than listed: a new area is held at once.
FACT_MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(facts_package.__path__)))


def _mentions_any(tp: object) -> bool:
    return tp is typing.Any or any(_mentions_any(a) for a in typing.get_args(tp))


# What probes name for type checking only: their context and the host parts they take.
PART_TYPES = {
    "ProbeContext": ProbeContext,
    "Budget": Budget,
    **{n: c for n, c in vars(host_protocols).items() if n.endswith("Part")},
}


def _hints(fn: object) -> dict:
    return typing.get_type_hints(fn, localns=PART_TYPES)


def test_every_rule_takes_exactly_its_facts_types_in_order() -> None:
    wrong = {}
    for r in RULES.values():
        hints = _hints(r.fn)
        params = [hints.get(p) for p in inspect.signature(r.fn).parameters]
        required = list(r.types[: len(r.facts)])
        optional = [typing.Optional[t] for t in r.types[len(r.facts) :]]
        if params != required + optional or hints.get("return") is not Verdict:
            wrong[r.id] = (params, required + optional)
    assert wrong == {}


def test_every_rule_names_each_fact_by_a_key_of_a_registered_probe_of_that_type() -> None:
    ids = [(r.id, f, t) for r in RULES.values() for f, t in zip(r.facts + r.optional, r.types)]
    assert len(ids) == sum(len(r.facts + r.optional) for r in RULES.values())
    assert [(rid, f) for rid, f, t in ids if PROBES[f].type is not t] == []


def test_every_probe_returns_its_keys_type() -> None:
    wrong = {p.id: (_hints(p.fn).get("return"), p.type) for p in PROBES.values()}
    assert {pid: pair for pid, pair in wrong.items() if pair[0] is not pair[1]} == {}


def test_no_any_in_a_rule_or_probe_signature() -> None:
    fns = [r.fn for r in RULES.values()] + [p.fn for p in PROBES.values()]
    found = [
        (fn.__module__, fn.__name__, name)
        for fn in fns
        for name, tp in _hints(fn).items()
        if _mentions_any(tp)
    ]
    assert found == []


def _value_classes() -> list:
    classes = []
    for name in FACT_MODULES:
        module = importlib.import_module(f"amzn_gd_doctor.facts.{name}")
        classes += [
            c
            for c in vars(module).values()
            if isinstance(c, type)
            and c.__module__ == module.__name__
            and getattr(c, values.FIELDS, ())
        ]
    return classes


def test_no_any_in_a_fact_value_class() -> None:
    # The names facts modules import for type checking only (the host's answers).
    from amzn_gd_doctor.answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult

    local = {c.__name__: c for c in (DnsAnswer, TcpResult, TlsResult, ProcessInfo)}
    classes = _value_classes()
    assert len(classes) >= 30
    found = [
        (c.__name__, name)
        for c in classes
        for name, tp in typing.get_type_hints(c, localns=local).items()
        if _mentions_any(tp)
    ]
    assert found == []


def test_every_key_is_registered_once_by_a_probe() -> None:
    keys = [
        key
        for name in FACT_MODULES
        for key in vars(importlib.import_module(f"amzn_gd_doctor.facts.{name}")).values()
        if isinstance(key, Key)
    ]
    assert sorted(k.id for k in keys) == sorted(PROBES)
    assert {k.id: k.type for k in keys} == {p.id: p.type for p in PROBES.values()}


def test_derived_facts_read_facts_only_never_the_host() -> None:
    derived = [p for p in PROBES.values() if p.derived]
    assert sorted(p.id for p in derived) == ["agent.evidence", "net.name_state", "net.proxy_view"]
    assert [p.id for p in derived if PARTS.get(p.id)] == []
    assert [p.id for p in derived if not p.needs] == []


def test_every_probe_takes_exactly_its_declared_parts_in_order() -> None:
    """``@probe(KEY, parts=(FILES, CLOCK))`` is ``fn(ctx, files: FilesPart, clock: ClockPart)``
    (mypy holds it too; this holds it where a probe's annotations are not checked)."""
    declared = {
        getattr(host_protocols, n).name: t
        for n, t in (
            ("ENV", typing.Mapping[str, str]),
            ("BUDGET", Budget),
            *(
                (n, getattr(host_protocols, n.title().replace("_", "") + "Part"))
                for n in (
                    "CLOCK",
                    "FILES",
                    "COMMANDS",
                    "HTTP",
                    "JOURNAL",
                    "PROCESSES",
                    "NETWORK",
                    "PACKAGES",
                    "UNITS",
                )
            ),
        )
    }
    wrong = {}
    for p in PROBES.values():
        hints = _hints(p.fn)
        params = [hints.get(n) for n in list(inspect.signature(p.fn).parameters)[1:]]
        wanted = [declared[name] for name in PARTS.get(p.id, ())]
        if params != wanted:
            wrong[p.id] = (params, wanted)
    assert wrong == {}
    assert sum(1 for p in PROBES.values() if PARTS.get(p.id)) >= 20


def test_no_probe_reaches_past_its_parts_or_reads_a_tree_on_its_own() -> None:
    """No probe holds the whole host, asks which host it has, or catches Unsupported to read a
    tree instead: what --root means lives in the rooted host's parts."""
    sources = {
        path.name: path.read_text() for path in (REPO / "amzn_gd_doctor" / "probes").glob("*.py")
    }
    forbidden = ("ctx.host", "ctx._parts", "__host", "except Unsupported", "RootedHost", "LiveHost")
    assert {n: [f for f in forbidden if f in text] for n, text in sources.items()} == {
        n: [] for n in sources
    }


# HOUSE_STYLE: a rule fits on a screen. Counted from the first statement of its body (the
# docstring included) to its last line; decorator and signature are not counted.
RULE_BODY_LINES = 25


def test_every_rule_fits_on_a_screen() -> None:
    def body_lines(fn: Callable[..., object]) -> int:
        lines, _ = inspect.getsourcelines(fn)
        start = next(
            i
            for i, line in enumerate(lines)
            if line.rstrip().endswith(":") and (line.startswith("def ") or line.startswith(")"))
        )
        return len(lines) - start - 1

    long = {r.id: body_lines(r.fn) for r in RULES.values() if body_lines(r.fn) > RULE_BODY_LINES}
    assert long == {}


@pytest.mark.parametrize("package", ["amzn_gd_doctor.probes", "amzn_gd_doctor.rules"])
def test_discovery_lists_what_pkgutil_lists_and_skips_the_bytecode_folder(
    package: str, tmp_path: Path
) -> None:
    """The registry lists a folder itself (registry.module_names); a copy of the folder with a
    `__pycache__` of many pycs, a package, a data file and a name that is no module gives the
    same modules, in the same order, as pkgutil (which takes any name with a module suffix)."""
    source = Path(importlib.import_module(package).__path__[0])
    folder = tmp_path / "pkg"
    folder.mkdir()
    for path in source.glob("*.py"):
        (folder / path.name).write_text("")
    (folder / "__pycache__").mkdir()
    for n in range(50):
        (folder / "__pycache__" / f"m{n}.cpython-3{n % 8}.pyc").write_bytes(b"")
    (folder / "sub").mkdir()
    (folder / "sub" / "__init__.py").write_text("")
    (folder / "data.json").write_text("{}")
    (folder / "not-a-module.py").write_text("")
    (folder / "empty").mkdir()
    module = type(sys)("amzn_gd_doctor_discovery_probe")
    module.__path__ = [str(folder)]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        listed = registry.module_names(module.__name__)
    finally:
        del sys.modules[module.__name__]
    assert listed == [i.name for i in pkgutil.iter_modules([str(folder)])]
    assert "sub" in listed and "__pycache__" not in listed and "empty" not in listed
    assert registry.module_names(package) == [
        i.name for i in pkgutil.iter_modules(importlib.import_module(package).__path__)
    ]
