"""Derived fact: the state of each GuardDuty endpoint name (inside the VPC, elsewhere private,
public, missing, unanswered), judged once from the endpoint names (``net.endpoints``), the
resolvers (``net.resolvers``), their DNS answers (``net.dns``) and the VPC CIDR blocks
(``imds.network``). Reads nothing itself; the DNS rules take this one value.
"""

import ipaddress
from typing import TYPE_CHECKING, Optional, Sequence

from ..facts.imds import IMDS_NETWORK, NetworkInfo
from ..facts.network import (
    NET_DNS,
    NET_ENDPOINTS,
    NET_NAME_STATE,
    NET_RESOLVERS,
    DnsResults,
    Endpoints,
    NameState,
    NameStates,
    Resolvers,
)
from ..host.network import DnsAnswer
from ..registry import derived
from .net_endpoints import FIPS

if TYPE_CHECKING:
    from ..doctor import ProbeContext

DEFINITE = ("answer", "nxdomain", "nodata")
PLACES = {
    "in_vpc": "inside the VPC",
    "private_outside": "private, outside the VPC",
    "private_unknown": "private",
    "public": "public",
}


def classify_address(address: str, cidrs: "Sequence[str]") -> str:
    """in_vpc, private_outside, private_unknown (no CIDRs to compare with), or public."""
    ip = ipaddress.ip_address(address)
    if any(
        ip in ipaddress.ip_network(c, strict=False)
        for c in cidrs
        if ipaddress.ip_network(c, strict=False).version == ip.version
    ):
        return "in_vpc"
    if ip.is_global:
        return "public"
    return "private_outside" if cidrs else "private_unknown"


def describe_answer(answer: DnsAnswer, cidrs: "Sequence[str]") -> str:
    """One resolver's answer as evidence shows it: each address with where it lies."""
    if answer.status == "answer":
        return ", ".join(f"{a} ({PLACES[classify_address(a, cidrs)]})" for a in answer.addresses)
    text = {
        "nxdomain": "NXDOMAIN",
        "servfail": "SERVFAIL",
        "nodata": "no address (NOERROR)",
        "timeout": "no reply",
    }.get(answer.status, answer.status)
    return f"{text} ({answer.detail})" if answer.detail else text


def judge_name(
    dns: DnsResults, resolvers: Resolvers, name: str, cidrs: "Sequence[str]"
) -> NameState:
    """The answer that counts is the C library's (what the agent gets) when it was asked,
    else the first resolver in configured order that gave a definite answer."""
    answers = dns.for_name(name)
    sources = {r.server: r.source for r in resolvers.resolvers}
    evidence = tuple(
        f"{a.server} ({sources.get(a.server, a.server)}): {name} -> {describe_answer(a, cidrs)}"
        for a in answers
    )
    system = [a for a in answers if a.server == "system resolver" and a.status in DEFINITE]
    definite = system or [a for a in answers if a.status in DEFINITE]
    if not answers:
        return NameState(name, "not_asked", (), "", evidence)
    if definite:
        chosen = definite[0]
        if chosen.status != "answer":
            return NameState(name, chosen.status, (), chosen.server, evidence)
        kinds = {classify_address(a, cidrs) for a in chosen.addresses}
        state: str = next(
            k for k in ("public", "private_outside", "private_unknown", "in_vpc") if k in kinds
        )
        return NameState(name, state, chosen.addresses, chosen.server, evidence)
    statuses = {a.status for a in answers}
    state = (
        "servfail"
        if "servfail" in statuses
        else "timeout"
        if statuses == {"timeout"}
        else "no_resolver"
    )
    return NameState(name, state, (), "", evidence)


def name_states(
    endpoints: Endpoints,
    resolvers: Resolvers,
    dns: DnsResults,
    network: "Optional[NetworkInfo]",
) -> NameStates:
    """The standard name's state and, in FIPS mode, the FIPS name's, against the VPC's CIDRs."""
    cidrs = network.vpc_cidrs if network is not None else ()
    standard = judge_name(dns, resolvers, endpoints.standard.name, cidrs)
    fips = endpoints.of_kind(FIPS)
    fips_state = judge_name(dns, resolvers, fips.name, cidrs) if fips is not None else None
    return NameStates(endpoints, resolvers, dns, tuple(cidrs), standard, fips_state)


@derived(NET_NAME_STATE, needs=(NET_ENDPOINTS, NET_RESOLVERS, NET_DNS, IMDS_NETWORK))
def name_state(ctx: "ProbeContext") -> NameStates:
    """Needs the names, resolvers and answers in the order the DNS rules listed them, so that
    a rule blocked by one of them names the same one."""
    endpoints, resolvers = ctx.need(NET_ENDPOINTS), ctx.need(NET_RESOLVERS)
    return name_states(endpoints, resolvers, ctx.need(NET_DNS), ctx.observed(IMDS_NETWORK))
