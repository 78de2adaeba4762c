"""Platform probes: kernel release, OS identity, CPU architecture and BTF (EC2 hardware signs
are in platform_ec2).

Reads world-readable files under /proc and /sys and the os-release file; needs no privilege.
Every file read goes through the host, so ``--root`` re-roots all of them.
"""

from typing import TYPE_CHECKING, Dict

from .. import lazy_re
from ..facts.platform import (
    PLATFORM_ARCH,
    PLATFORM_BTF,
    PLATFORM_KERNEL,
    PLATFORM_OS,
    BtfInfo,
    KernelRelease,
    OsInfo,
)
from ..host import CouldNotLook
from ..host.protocols import COMMANDS, FILES
from ..probing import probe

if TYPE_CHECKING:
    from ..host.protocols import CommandsPart, FilesPart
    from ..probing import ProbeContext

# A kernel release string is under 65 bytes (utsname field); 256 leaves room for junk we
# still want to show in a finding.
KERNEL_RELEASE_LIMIT = 256

_KERNEL_RE = lazy_re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def parse_kernel_release(data: bytes) -> KernelRelease:
    """``6.1.115-126.197.amzn2023.x86_64\\n`` -> version (6, 1, 115).

    Anything that does not start with MAJOR.MINOR keeps its raw text and no version."""
    raw = data.decode("utf-8", errors="replace").strip()
    match = _KERNEL_RE.match(raw)
    if not match:
        return KernelRelease(raw, None)
    return KernelRelease(raw, (int(match[1]), int(match[2]), int(match[3] or 0)))


@probe(PLATFORM_KERNEL, parts=(FILES,))
def kernel(ctx: "ProbeContext", files: "FilesPart") -> KernelRelease:
    """The running kernel as the agent's installer sees it (equals `uname -r` on a live host)."""
    data = files.read_bytes("/proc/sys/kernel/osrelease", KERNEL_RELEASE_LIMIT)
    return parse_kernel_release(data)


def parse_os_info(found: bool, release: "Dict[str, str]") -> OsInfo:
    """Normalise distro's answer, e.g. ``{"id": "amzn", "version_id": "2023", ...}``."""

    def clean(key: str) -> str:
        return "".join(ch for ch in str(release.get(key) or "") if ch.isprintable()).strip()[:200]

    return OsInfo(found, clean("id").lower(), clean("version_id"), clean("name"), clean("like"))


@probe(PLATFORM_OS, parts=(FILES,))
def os_info(ctx: "ProbeContext", files: "FilesPart") -> OsInfo:
    """The distribution from /etc/os-release (or /usr/lib/os-release), read by distro."""
    found = files.exists("/etc/os-release") or files.exists("/usr/lib/os-release")
    try:
        release = files.os_release() if found else {}
    except ValueError as exc:  # not UTF-8, or quoting shlex cannot read ("No closing quotation")
        detail = str(exc)
        named = detail if "os-release" in detail else f"os-release is malformed: {detail}"
        raise CouldNotLook(named) from None
    return parse_os_info(found, release)


@probe(PLATFORM_ARCH, parts=(COMMANDS,))
def arch(ctx: "ProbeContext", commands: "CommandsPart") -> str:
    """The machine architecture of the running kernel (`uname -m`)."""
    return commands.machine()


@probe(PLATFORM_BTF, parts=(FILES,))
def btf(ctx: "ProbeContext", files: "FilesPart") -> BtfInfo:
    """CONFIG_DEBUG_INFO_BTF=y shows as /sys/kernel/btf/vmlinux; the agent's eBPF needs it."""
    return BtfInfo(files.exists("/sys/kernel/btf/vmlinux"))
