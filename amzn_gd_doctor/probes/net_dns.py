"""Network probe: every GuardDuty endpoint name asked of every resolver, plus the C library's
own answer (getaddrinfo), all at once and all inside the run's deadline. Contacts only the
resolvers from ``net.resolvers``; needs no privilege.
"""

from functools import partial
from typing import TYPE_CHECKING, Callable, List, Tuple

from ..answers import DnsAnswer
from ..facts.network import NET_DNS, NET_ENDPOINTS, NET_RESOLVERS, DnsResults, Endpoints, Resolvers
from ..host.protocols import BUDGET, NETWORK
from ..probing import probe
from .net_common import BACKSTOP_S, call_timeout, parallel

if TYPE_CHECKING:
    from ..host import Budget
    from ..host.protocols import NetworkPart
    from ..probing import ProbeContext

# The VPC resolver answers in milliseconds; glibc waits 5 s per try by default, which would
# spend half the run on one black-holed server. 2 s tells "slow" from "silent".
DNS_TIMEOUT_S = 2.0
# The probe's own limit: every query runs at once, so one query's timeout plus slack.
PROBE_TIMEOUT_S = DNS_TIMEOUT_S + 1.0
SYSTEM = "system resolver"


@probe(
    NET_DNS,
    parts=(NETWORK, BUDGET),
    needs=(NET_ENDPOINTS, NET_RESOLVERS),
    timeout=PROBE_TIMEOUT_S,
)
def dns(ctx: "ProbeContext", network: "NetworkPart", budget: "Budget") -> DnsResults:
    """The system resolver is skipped with --dns-server, so only the given servers are asked."""
    endpoints: Endpoints = ctx.need(NET_ENDPOINTS)
    resolvers: Resolvers = ctx.need(NET_RESOLVERS)
    timeout = call_timeout(budget, DNS_TIMEOUT_S)
    calls: List[Callable[[], DnsAnswer]] = []
    labels: List[Tuple[str, str]] = []
    for endpoint in endpoints.endpoints:
        for resolver in resolvers.resolvers:
            calls.append(partial(network.dns_query, resolver.server, endpoint.name, timeout))
            labels.append((resolver.server, endpoint.name))
        if not resolvers.overridden:
            calls.append(partial(network.system_resolve, endpoint.name, timeout))
            labels.append((SYSTEM, endpoint.name))
    answers = parallel(
        calls,
        timeout + BACKSTOP_S,
        lambda i: DnsAnswer(
            labels[i][0], labels[i][1], "timeout", (), f"no result within {timeout:.1f} s"
        ),
    )
    note = "" if not resolvers.overridden else "not asked: --dns-server replaces every resolver"
    return DnsResults(tuple(answers), not resolvers.overridden, note)
