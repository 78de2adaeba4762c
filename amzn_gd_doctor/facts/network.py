"""Facts about the network path to GuardDuty's endpoints: names, resolvers, DNS answers,
TCP and TLS results, the proxy settings."""

from typing import TYPE_CHECKING, Dict, Optional, Tuple

from ..values import field, value
from . import Key

if TYPE_CHECKING:
    from ..host.network import DnsAnswer, TcpResult, TlsResult


@value
class DnsResults:
    answers: "Tuple[DnsAnswer, ...]"  # per name, resolvers in configured order, then the system
    system_consulted: bool
    system_note: str = ""

    def for_name(self, name: str) -> "Tuple[DnsAnswer, ...]":
        return tuple(a for a in self.answers if a.name == name)


STANDARD = "standard"


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


NET_ENDPOINTS = Key("net.endpoints", Endpoints)
NET_RESOLVERS = Key("net.resolvers", Resolvers)
NET_DNS = Key("net.dns", DnsResults)
NET_TCP = Key("net.tcp", TcpResults)
NET_TLS = Key("net.tls", TlsResults)
NET_PROXY = Key("net.proxy", ProxySettings)
NET_NAME_STATE = Key("net.name_state", NameStates)
NET_PROXY_VIEW = Key("net.proxy_view", ProxyView)
