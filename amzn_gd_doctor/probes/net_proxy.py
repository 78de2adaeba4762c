"""Network probe: the proxy settings the GuardDuty agent runs with, taken from the agent's
process environment (``agent.process``) and its unit's Environment= (``agent.unit``). Reads
nothing itself; credentials in proxy URLs are masked before anything is shown (redact.py: the
one list of proxy variables and the one masker of their credentials).

Derived fact ``net.proxy_view``: the same sources merged once into the proxy the agent sees.
"""

from typing import TYPE_CHECKING, Dict, Mapping, Optional

from ..facts.agent import AGENT_PROCESS, AGENT_UNIT, AgentProcess, AgentUnit
from ..facts.network import NET_PROXY, NET_PROXY_VIEW, ProxySettings, ProxySource, ProxyView
from ..model import Fact
from ..probing import derived, probe
from ..redact import PROXY_VARIABLES, mask_proxy_credentials, proxy_variables
from ..sanitize import clean

if TYPE_CHECKING:
    from ..probing import ProbeContext

# The variables that send HTTPS through a proxy, in the order the agent's HTTP client reads them.
HTTPS_VARS = tuple(v for v in PROXY_VARIABLES if v.lower() in ("https_proxy", "all_proxy"))
# A no_proxy list can be long in corporate images; 2 KiB per value keeps every entry that
# matters while bounding what a finding shows.
VALUE_LIMIT = 2048


def mask_proxy(value: str) -> str:
    """``http://user:secret@proxy:3128`` -> ``http://***@proxy:3128``, made printable and cut."""
    return clean(mask_proxy_credentials(value), VALUE_LIMIT)


def proxy_only(env: "Mapping[str, str]") -> "Dict[str, str]":
    """The proxy variables of an environment (redact.PROXY_VARIABLES), masked and printable."""
    return {k: clean(v, VALUE_LIMIT) for k, v in proxy_variables(env).items()}


def _unobserved(fact: Fact, label: str) -> ProxySource:
    why = f"{fact.probe_id} {fact.status.value}: {clean(fact.reason or 'not observed')}"
    return ProxySource(label, False, {}, why)


@probe(NET_PROXY, needs=(AGENT_PROCESS, AGENT_UNIT))
def proxy(ctx: "ProbeContext") -> ProxySettings:
    """Both sources, each saying whether it was seen: the rule prefers the live process."""
    return settings(ctx)


def settings(ctx: "ProbeContext") -> ProxySettings:
    """The agent's process and unit environments, shared by the probe and the derived view
    (which needs the same two facts and not the probe, so that a report without the network
    area's facts still has the view)."""
    process, unit = ctx.observed(AGENT_PROCESS), ctx.observed(AGENT_UNIT)
    pid = process.pid if process is not None else None
    label = f"/proc/{pid}/environ" if pid else "the agent process environment"
    if process is None:
        from_process = _unobserved(ctx.fact(AGENT_PROCESS), label)
    elif not process.running:
        from_process = ProxySource(label, False, {}, "the agent process is not running")
    else:
        from_process = ProxySource(label, True, proxy_only(process.proxy_env))
    unit_label = "the agent unit's Environment="
    if unit is None:
        from_unit = _unobserved(ctx.fact(AGENT_UNIT), unit_label)
    else:
        from_unit = ProxySource(unit_label, True, proxy_only(unit.environment))
    return ProxySettings(from_process, from_unit)


def proxy_view(
    settings: ProxySettings,
    unit: "Optional[AgentUnit]" = None,
    process: "Optional[AgentProcess]" = None,
) -> ProxyView:
    """The live process's environment when it was seen, since that is what the agent runs
    with; else its unit's Environment=, which the next start gets."""
    agent_env = dict(unit.proxy_env) if unit is not None else {}
    agent_env.update(process.proxy_env if process is not None else {})
    if not settings.observed:
        why = f"{settings.process.reason}; {settings.unit.reason}"
        return ProxyView(False, "", {}, None, "", why, agent_env)
    source = settings.process if settings.process.observed else settings.unit
    env = source.variables
    https = next((f"{k}={env[k]}" for k in HTTPS_VARS if env.get(k)), None)
    no_proxy = ",".join(env.get(k, "") for k in ("no_proxy", "NO_PROXY"))
    return ProxyView(True, source.label, env, https, no_proxy, agent_env=agent_env)


@derived(NET_PROXY_VIEW, needs=(AGENT_PROCESS, AGENT_UNIT))
def proxy_seen(ctx: "ProbeContext") -> ProxyView:
    """Merged once, so that no rule picks between the sources itself."""
    unit, process = ctx.observed(AGENT_UNIT), ctx.observed(AGENT_PROCESS)
    return proxy_view(settings(ctx), unit, process)
