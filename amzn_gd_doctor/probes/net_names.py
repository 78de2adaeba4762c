"""Derived fact: the state of each GuardDuty endpoint name (inside the VPC, elsewhere private,
public, missing, unanswered), judged once from the endpoint names (``net.endpoints``), the
resolvers (``net.resolvers``), their DNS answers (``net.dns``) and the VPC CIDR blocks
(``imds.network``). Reads nothing itself; the DNS rules take this one value.
"""

from typing import TYPE_CHECKING, Optional, Sequence

from ..facts.imds import IMDS_NETWORK, NetworkInfo
from ..facts.network import (
    DEFINITE,
    FIPS,
    NET_DNS,
    NET_ENDPOINTS,
    NET_NAME_STATE,
    NET_RESOLVERS,
    DnsResults,
    Endpoints,
    NameState,
    NameStates,
    Resolvers,
    classify_address,
    describe_answer,
)
from ..probing import derived

if TYPE_CHECKING:
    from ..probing import ProbeContext


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
