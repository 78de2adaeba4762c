"""Facts about the network path to GuardDuty's endpoints: names, resolvers, DNS answers,
TCP and TLS results, the proxy settings; and how a DNS answer reads, for the derived name
state and the rules alike."""

from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple

from ..values import field, value
from . import Key

if TYPE_CHECKING:
    from ..answers import DnsAnswer, TcpResult, TlsResult

# The answers that settle what a name is (the others say only that a resolver failed).
DEFINITE = ("answer", "nxdomain", "nodata")
PLACES = {
    "in_vpc": "inside the VPC",
    "private_outside": "private, outside the VPC",
    "private_unknown": "private",
    "public": "public",
}


def classify_address(address: str, cidrs: "Sequence[str]") -> str:
    """in_vpc, private_outside, private_unknown (no CIDRs to compare with), or public."""
    import ipaddress  # here: the fact modules import nothing that costs start-up time

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


def describe_answer(answer: "DnsAnswer", cidrs: "Sequence[str]") -> str:
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


@value
class DnsResults:
    answers: "Tuple[DnsAnswer, ...]"  # per name, resolvers in configured order, then the system
    system_consulted: bool
    system_note: str = ""

    def for_name(self, name: str) -> "Tuple[DnsAnswer, ...]":
        return tuple(a for a in self.answers if a.name == name)


STANDARD = "standard"
LINK_LOCAL = "link_local"
FIPS = "fips"
# Agent v1.17.1 and later try the link-local name first; it does not use private DNS.
LINK_LOCAL_SINCE = (1, 17, 1)


@value
class Endpoint:
    name: str
    kind: str  # standard, link_local or fips
    note: str


@value
class Endpoints:
    region: str
    region_source: str
    fips_enabled: "Optional[bool]"  # None: the FIPS switch could not be read
    endpoints: "Tuple[Endpoint, ...]"

    def of_kind(self, kind: str) -> "Optional[Endpoint]":
        return next((e for e in self.endpoints if e.kind == kind), None)

    @property
    def standard(self) -> Endpoint:
        found = self.of_kind(STANDARD)
        assert found is not None
        return found

    def kind_of(self, name: str) -> str:
        return next((e.kind for e in self.endpoints if e.name == name), STANDARD)


@value
class ProxySource:
    label: str  # where the variables came from
    observed: bool
    variables: "Dict[str, str]"
    reason: str = ""  # why it was not observed


@value
class ProxySettings:
    process: ProxySource
    unit: ProxySource

    @property
    def observed(self) -> bool:
        return self.process.observed or self.unit.observed


# The resolver every VPC offers at a link-local address (besides the VPC base address + 2).
AMAZON_RESOLVER = "169.254.169.253"


@value
class Resolver:
    server: str  # HOST or HOST:PORT, as dns_query takes it
    source: str


@value
class Resolvers:
    resolvers: "Tuple[Resolver, ...]"
    overridden: bool
    system: "Tuple[str, ...]"  # nameservers the C library uses, in order
    notes: "Tuple[str, ...]" = ()


@value
class NamedTcp:
    name: str
    result: "TcpResult"


@value
class TcpResults:
    port: int
    results: "Tuple[NamedTcp, ...]"
    skipped: "Tuple[Tuple[str, str, str], ...]" = ()  # (name, address, why)

    def for_name(self, name: str) -> "Tuple[TcpResult, ...]":
        return tuple(r.result for r in self.results if r.name == name)


@value
class TlsResults:
    results: "Tuple[TlsResult, ...]"

    def for_name(self, name: str) -> "Tuple[TlsResult, ...]":
        return tuple(r for r in self.results if r.server_name == name)


@value
class NameState:
    """What one endpoint name resolves to, as the host sees it."""

    name: str
    state: str  # in_vpc, private_outside, private_unknown, public, nxdomain, nodata,
    #             servfail, timeout, no_resolver, not_asked
    addresses: "Tuple[str, ...]"
    via: str  # the resolver whose answer counts
    evidence: "Tuple[str, ...]"


@value
class NameStates:
    """Derived: the endpoint names' states, judged once from the endpoints, the resolvers,
    the DNS answers and the VPC CIDR blocks, with those inputs for the rules that need them."""

    endpoints: Endpoints
    resolvers: Resolvers
    dns: DnsResults
    cidrs: "Tuple[str, ...]"  # the VPC's, empty when IMDS did not give them
    standard: NameState
    fips: "Optional[NameState]"  # None: FIPS mode is not on


@value
class ProxyView:
    """Derived: the proxy as the agent sees it, from the one source that counts (the live
    process, else its unit's Environment=)."""

    observed: bool
    label: str  # the source that counts
    variables: "Dict[str, str]"
    https: "Optional[str]"  # the first HTTPS proxy variable set, as NAME=VALUE
    no_proxy: str  # no_proxy and NO_PROXY joined
    reason: str = ""  # why neither source was observed
    # Every proxy variable the agent runs with: its unit's Environment=, overridden by its
    # live process's (as each reports them, credentials redacted); empty when neither was seen.
    agent_env: "Dict[str, str]" = field(default_factory=dict)


NET_ENDPOINTS = Key("net.endpoints", Endpoints, "the GuardDuty endpoint names")
NET_RESOLVERS = Key("net.resolvers", Resolvers, "the DNS resolvers")
NET_DNS = Key("net.dns", DnsResults, "the DNS answers for the endpoint names")
NET_TCP = Key("net.tcp", TcpResults, "the TCP connections to the endpoint")
NET_TLS = Key("net.tls", TlsResults, "the TLS handshakes with the endpoint")
NET_PROXY = Key("net.proxy", ProxySettings, "the proxy settings")
NET_NAME_STATE = Key("net.name_state", NameStates, "the endpoint name's DNS answers")
NET_PROXY_VIEW = Key("net.proxy_view", ProxyView, "the agent's proxy settings")
