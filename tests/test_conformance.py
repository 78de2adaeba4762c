"""The registry and catalogue hold to the project's rules: stable unique ids, one name
everywhere, every failure names a known console issue, every host issue is reachable, every
rule has a passing and a failing scenario tree, and the catalogue's strings match the
reference verbatim."""

from __future__ import annotations

import re
from typing import Callable, Dict, Set

import pytest
from scenarios import TREES
from support import REPO

from amzn_gd_doctor import catalog, registry

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


@pytest.mark.skipif(
    not REFERENCE.exists(), reason="shared/REFERENCE.md is not beside the repository"
)
def test_catalogue_matches_reference_verbatim() -> None:
    expected = _reference_pairs(REFERENCE.read_text(encoding="utf-8"))
    actual = {(i.issue_type, i.issue_message) for i in catalog.issues().values()}
    assert len(expected) == 17
    assert actual == expected
