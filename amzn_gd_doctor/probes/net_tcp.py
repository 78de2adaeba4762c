"""Network probes: TCP connects to the addresses the endpoint names resolved to, then TLS
handshakes (SNI and certificate verification) with those that accepted. Contacts only the
endpoint names' own answers, on --endpoint-port (443); needs no privilege.
"""

import ipaddress
from functools import partial
from typing import TYPE_CHECKING, Callable, List, Tuple

from ..answers import TcpResult, TlsResult
from ..facts.network import (
    LINK_LOCAL,
    NET_DNS,
    NET_ENDPOINTS,
    NET_TCP,
    NET_TLS,
    DnsResults,
    Endpoints,
    NamedTcp,
    TcpResults,
    TlsResults,
)
from ..host.protocols import BUDGET, NETWORK
from ..probing import probe
from .net_common import BACKSTOP_S, call_timeout, parallel

if TYPE_CHECKING:
    from ..host import Budget
    from ..host.protocols import NetworkPart
    from ..probing import ProbeContext

# An interface endpoint has one address per AZ (at most six); eight per name covers that
# without turning an odd answer into a scan.
MAX_ADDRESSES_PER_NAME = 8
# A connect inside the VPC completes in milliseconds; a security group that drops SYNs shows
# as silence, and 2 s is long enough to call that silence.
TCP_TIMEOUT_S = 2.0
# A handshake is two round trips plus certificate checks: 3 s is generous inside a VPC.
TLS_TIMEOUT_S = 3.0
SKIP_PUBLIC = "not contacted: a public address (the agent needs the VPC endpoint's private one)"


def addresses_to_try(
    endpoints: Endpoints, dns: DnsResults
) -> "Tuple[List[Tuple[str, str]], List[Tuple[str, str, str]]]":
    """(name, address) pairs from every resolver's answer, and those left out. Public answers
    of the standard and FIPS names are left out: they already fail the check, and the doctor
    does not probe the internet. The link-local name's answers are always tried."""
    chosen: List[Tuple[str, str]] = []
    skipped: List[Tuple[str, str, str]] = []
    for endpoint in endpoints.endpoints:
        seen = list(dict.fromkeys(a for ans in dns.for_name(endpoint.name) for a in ans.addresses))
        for address in seen[:MAX_ADDRESSES_PER_NAME]:
            if endpoint.kind != LINK_LOCAL and ipaddress.ip_address(address).is_global:
                skipped.append((endpoint.name, address, SKIP_PUBLIC))
            else:
                chosen.append((endpoint.name, address))
    return chosen, skipped


@probe(
    NET_TCP, parts=(NETWORK, BUDGET), needs=(NET_ENDPOINTS, NET_DNS), timeout=TCP_TIMEOUT_S + 1.0
)
def tcp(ctx: "ProbeContext", network: "NetworkPart", budget: "Budget") -> TcpResults:
    endpoints: Endpoints = ctx.need(NET_ENDPOINTS)
    dns: DnsResults = ctx.need(NET_DNS)
    port = ctx.options.endpoint_port
    pairs, skipped = addresses_to_try(endpoints, dns)
    timeout = call_timeout(budget, TCP_TIMEOUT_S)
    calls: List[Callable[[], TcpResult]] = [
        partial(network.tcp_connect, address, port, timeout) for _, address in pairs
    ]
    results = parallel(
        calls,
        timeout + BACKSTOP_S,
        lambda i: TcpResult(pairs[i][1], port, "timeout", "no result in time"),
    )
    return TcpResults(
        port, tuple(NamedTcp(n, r) for (n, _), r in zip(pairs, results)), tuple(skipped)
    )


@probe(NET_TLS, parts=(NETWORK, BUDGET), needs=(NET_TCP,), timeout=TLS_TIMEOUT_S + 1.0)
def tls(ctx: "ProbeContext", network: "NetworkPart", budget: "Budget") -> TlsResults:
    """One handshake per address that accepted a connection, with the name as SNI."""
    tcp_results: TcpResults = ctx.need(NET_TCP)
    targets = [
        (r.name, r.result.address) for r in tcp_results.results if r.result.status == "connected"
    ]
    port = tcp_results.port
    timeout = call_timeout(budget, TLS_TIMEOUT_S)
    calls: List[Callable[[], TlsResult]] = [
        partial(network.tls_handshake, address, port, name, timeout) for name, address in targets
    ]
    results = parallel(
        calls,
        timeout + BACKSTOP_S,
        lambda i: TlsResult(
            targets[i][1], port, targets[i][0], "timeout", detail="no result in time"
        ),
    )
    return TlsResults(tuple(results))
