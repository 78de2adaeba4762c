"""What the agent's logs say: eBPF load failures (missing BTF, or an agent bug on a kernel
with BTF) and connectivity or authentication failures.

Pure functions of ``agent.evidence``, the kernel's BTF and ``net.proxy_view``.
"""

from typing import List, Optional, Tuple

from ..facts.agent import (
    AGENT_EVIDENCE,
    AGENT_PACKAGE,
    LOG_DIR,
    PACKAGE,
    AgentEvidence,
    AgentPackage,
    PhraseHits,
)
from ..facts.network import NET_PROXY_VIEW, ProxyView
from ..facts.platform import PLATFORM_BTF, BtfInfo
from ..model import Outcome, Verdict, failed, inconclusive, not_applicable, passed
from ..registry import rule
from .agent_common import (
    AGENT,
    BY_HAND_JOURNAL,
    BY_HAND_LOGS,
    CONNECTIVITY,
    FIXES,
    describe,
    sources,
)


@rule(
    "agent.btf_errors",
    title="Agent loads its eBPF programs (no libbpf/BTF failures)",
    facts=(AGENT_EVIDENCE,),
    optional=(PLATFORM_BTF, AGENT_PACKAGE),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def btf_errors(
    evidence: AgentEvidence, btf: "Optional[BtfInfo]", pkg: "Optional[AgentPackage]"
) -> Verdict:
    if not evidence.readable:
        return inconclusive(
            "neither the agent's logs nor the journal could be read; run by "
            f"hand: `sudo grep -h libbpf {LOG_DIR}/*` and `{BY_HAND_JOURNAL}`."
        )
    hits = evidence.hits(("ebpf",))
    if not hits:
        return passed(f"no libbpf or BTF failure in {sources(evidence)}.")
    btf_missing = any(h.name == "btf_missing" for h in hits)
    if evidence.hits(("memlock",)) and not btf_missing:
        return not_applicable(
            "the agent's libbpf failures come with locked-memory errors: the locked-memory check "
            "judges them."
        )
    total = sum(h.count for h in hits)
    skeleton = next((h for h in hits if h.name == "bpf_skeleton_failed"), None)
    if skeleton is not None and not btf_missing and btf is not None and btf.present:
        return _agent_side_bpf_failure(skeleton, total, pkg)
    return _bpf_load_failure(hits[0], total, btf)


def _bpf_load_failure(first: PhraseHits, total: int, btf: "Optional[BtfInfo]") -> Verdict:
    """libbpf failing for want of BTF (or for a reason the kernel side explains): a kernel with
    BTF and a current agent are the fix."""
    missing = (
        ", and /sys/kernel/btf/vmlinux is missing" if btf is not None and not btf.present else ""
    )
    return failed(
        "agent_disconnected",
        f"the agent cannot load its eBPF programs (libbpf "
        f"failed {total} times): {describe(first, False)}{missing}.",
        fix=(
            "Boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (check `ls "
            "/sys/kernel/btf/vmlinux`) and update the agent to the newest version.",
        ),
    )


def _agent_side_bpf_failure(
    skeleton: PhraseHits, total: int, pkg: "Optional[AgentPackage]"
) -> Verdict:
    """patrol_bpf failing on a kernel with BTF: the agent's own bug (fixed in a later release),
    not missing BTF. The agent exits on it, so the console still shows it disconnected."""
    version = f" {pkg.version}" if pkg is not None and pkg.version else ""
    return failed(
        "agent_disconnected",
        f"the agent{version} cannot load its eBPF skeleton patrol_bpf (libbpf failed {total} "
        f"times: '{skeleton.sample}', {skeleton.count} line{'s' if skeleton.count != 1 else ''})"
        " although the kernel has BTF (/sys/kernel/btf/vmlinux exists): a failure of the agent "
        "itself, fixed in a later release, not missing BTF.",
        fix=(
            f"Upgrade {PACKAGE}{version and ' (' + version.strip() + ' installed)'} to the "
            "newest release: with automated agent configuration GuardDuty updates it; a manual "
            "install is upgraded as in https://docs.aws.amazon.com/guardduty/latest/ug/"
            "runtime-monitoring-agent-release-history.html.",
            f"Then `sudo systemctl restart {AGENT}` and look for libbpf in `{BY_HAND_JOURNAL}`.",
        ),
    )


@rule(
    "agent.logs_clean",
    title="Agent reaches and authenticates to GuardDuty (its logs)",
    facts=(AGENT_EVIDENCE,),
    optional=(NET_PROXY_VIEW,),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def logs_clean(lines: AgentEvidence, proxy: "Optional[ProxyView]") -> Verdict:
    if not lines.readable:
        return inconclusive(
            "neither the agent's logs nor the journal could be read; run by "
            f"hand: `{BY_HAND_LOGS}` and `{BY_HAND_JOURNAL}`."
        )
    hits = lines.hits(CONNECTIVITY + ("throttling",))
    current = [h for h in hits if h.recent and h.category in CONNECTIVITY]
    env = proxy.agent_env if proxy is not None else {}
    evidence = tuple(f"agent proxy setting {k}={v}" for k, v in sorted(env.items()))
    evidence += _unexplained_evidence(lines)
    if current:
        return _cannot_reach(current, evidence)
    read = sources(lines)
    if hits or lines.unexplained:
        return _earlier_or_unexplained(lines, hits, read, evidence)
    return passed(
        f"no connectivity or authentication failure, and no error line that matches no known "
        f"cause, in {read}.",
        evidence=evidence,
    )


def _earlier_or_unexplained(
    lines: AgentEvidence, hits: "Tuple[PhraseHits, ...]", read: str, evidence: "Tuple[str, ...]"
) -> Verdict:
    """Failures that are not current, or error lines no phrase class explains: a warning that
    names them, never a pass."""
    names = ", ".join(f"{h.name} ×{h.count}" for h in hits)
    earlier = f", but earlier or minor ones: {names}" if hits else ""
    return Verdict(
        Outcome.WARN,
        f"no current connectivity or authentication failure in {read}{earlier}"
        + _unexplained_phrase(lines)
        + ".",
        evidence=evidence,
        fix=(UNEXPLAINED_FIX,) if lines.unexplained else (),
    )


# A quoted line in a summary: the error's words, within one sentence.
QUOTE_CHARS = 160
UNEXPLAINED_FIX = (
    f"Read the quoted error lines in context (`{BY_HAND_LOGS}`, `{BY_HAND_JOURNAL}`): no known "
    "cause matches them, so the doctor cannot say whether they stop the agent reporting."
)


def _unexplained_phrase(lines: AgentEvidence) -> str:
    """``; 4 error lines match no known cause (2 kinds), the latest 'event ring buffer full'
    ×1, last seen 2026-11-20 11:58:40 (log)``, or "" when there are none."""
    found = lines.unexplained
    if not found:
        return ""
    n = sum(g.count for _, g in found)
    source, first = found[0]
    text = first.sample if len(first.sample) <= QUOTE_CHARS else first.sample[:157] + "..."
    seen = f", last seen {first.latest}" if first.latest else ""
    kinds = f" ({len(found)} kinds)" if len(found) > 1 else ""
    lines_ = "1 error line matches" if n == 1 else f"{n} error lines match"
    return f"; {lines_} no known cause{kinds}, the latest '{text}' ×{first.count}{seen} ({source})"


def _unexplained_evidence(lines: AgentEvidence) -> "Tuple[str, ...]":
    return tuple(
        f"agent {source}, no known cause (×{g.count}{', last ' + g.latest if g.latest else ''}): "
        f"{g.sample}"
        for source, g in lines.unexplained
    )


def _cannot_reach(current: "List[PhraseHits]", evidence: "Tuple[str, ...]") -> Verdict:
    """The first current failure names the cause and its fix (they are ordered connectivity
    first); two more are mentioned, since one cause often brings another."""
    first = current[0]
    what = "cannot authenticate to" if first.category == "auth" else "cannot reach"
    others = "".join(f"; also {h.name} ×{h.recent}" for h in current[1:3])
    return failed(
        "agent_disconnected",
        f"the agent logs that it {what} GuardDuty: {describe(first)}{others}.",
        evidence=evidence + tuple(f"{h.name}: {h.sample}" for h in current),
        fix=FIXES[first.category],
    )
