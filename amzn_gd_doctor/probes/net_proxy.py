"""Network probe: the proxy settings the GuardDuty agent runs with, taken from the agent's
process environment (``agent.process``) and its unit's Environment= (``agent.unit``). Reads
nothing itself; credentials in proxy URLs are masked here, before anything is shown.
"""

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from .. import lazy_re
from ..facts.network import ProxySettings, ProxySource
from ..model import FactStatus
from ..registry import probe
from ..sanitize import clean

if TYPE_CHECKING:
    from ..doctor import ProbeContext

PROXY_VARS = (
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
)
# A no_proxy list can be long in corporate images; 2 KiB per value keeps every entry that
# matters while bounding what a finding shows.
VALUE_LIMIT = 2048
_CREDENTIALS = lazy_re.compile(r"(?<=://)[^/@\s]+@")


def mask_proxy(value: str) -> str:
    """``http://user:secret@proxy:3128`` -> ``http://***@proxy:3128``."""
    return clean(_CREDENTIALS.sub("***@", value), VALUE_LIMIT)


def proxy_only(env: "Optional[Mapping[str, Any]]") -> "Dict[str, str]":
    return {k: mask_proxy(str(v)) for k, v in (env or {}).items() if k in PROXY_VARS}


def _source(ctx: "ProbeContext", probe_id: str, label: str, attr: str) -> ProxySource:
    fact = ctx.fact(probe_id)
    if fact.status is not FactStatus.OK:
        return ProxySource(
            label,
            False,
            {},
            f"{probe_id} {fact.status.value}: {clean(fact.reason or 'not observed')}",
        )
    value = fact.value
    if probe_id == "agent.process" and not getattr(value, "running", False):
        return ProxySource(label, False, {}, "the agent process is not running")
    return ProxySource(label, True, proxy_only(getattr(value, attr, None)))


@probe("net.proxy", needs=("agent.process", "agent.unit"))
def proxy(ctx: "ProbeContext") -> ProxySettings:
    """Both sources, each saying whether it was seen: the rule prefers the live process."""
    pid = getattr(ctx.fact("agent.process").value, "pid", None)
    label = f"/proc/{pid}/environ" if pid else "the agent process environment"
    return ProxySettings(
        _source(ctx, "agent.process", label, "proxy_env"),
        _source(ctx, "agent.unit", "the agent unit's Environment=", "environment"),
    )
