"""Is this an EC2 instance? What the firmware (DMI) and the hypervisor say.

Reads world-readable files under /sys/class/dmi/id and /sys/hypervisor (product_uuid needs
root; without it that one sign is unknown). Under --root only the tree's copies are read.
"""

from typing import TYPE_CHECKING, Optional

from ..registry import probe
from ..values import value

if TYPE_CHECKING:
    from ..doctor import ProbeContext
    from ..host import Host

# DMI and hypervisor files hold one short line each.
DMI_LIMIT = 256
DMI_DIR = "/sys/class/dmi/id"
AMAZON_VENDOR = "Amazon EC2"


@value
class Ec2Signs:
    """What the firmware and hypervisor say about the machine (None: the file is absent or
    unreadable; product_uuid is readable by root only)."""

    sys_vendor: "Optional[str]"
    product_name: "Optional[str]"
    hypervisor_uuid: "Optional[str]"
    board_vendor: "Optional[str]" = None
    bios_version: "Optional[str]" = None
    product_uuid: "Optional[str]" = None

    @property
    def is_ec2(self) -> "Optional[bool]":
        """True on Nitro (DMI vendor "Amazon EC2") or Xen (BIOS version ending in "amazon", a
        uuid starting with "ec2"), False when DMI or the hypervisor say something else, None
        when nothing could be read."""
        if AMAZON_VENDOR in (self.sys_vendor, self.board_vendor):
            return True
        if (self.bios_version or "").lower().endswith("amazon"):
            return True
        if any(
            (u or "").lower().startswith("ec2") for u in (self.hypervisor_uuid, self.product_uuid)
        ):
            return True
        known = (self.sys_vendor, self.board_vendor, self.bios_version, self.hypervisor_uuid)
        if all(v is None for v in known + (self.product_uuid,)):
            return None
        return False

    def describe(self) -> str:
        parts = []
        for label, text in (
            ("DMI sys_vendor", self.sys_vendor),
            ("board_vendor", self.board_vendor),
            ("product_name", self.product_name),
            ("bios_version", self.bios_version),
        ):
            if text is not None:
                parts.append(f"{label} {text!r}")
        for label, text in (
            ("hypervisor uuid", self.hypervisor_uuid),
            ("product_uuid", self.product_uuid),
        ):
            if text is not None:
                parts.append(f"{label} {text[:8]}...")
        return ", ".join(parts) or "no DMI or hypervisor file readable"


def _read_line(host: "Host", path: str) -> "Optional[str]":
    try:
        data = host.read_bytes(path, DMI_LIMIT)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    text = data.decode("utf-8", errors="replace").strip()
    return "".join(ch for ch in text if ch.isprintable())


@probe("platform.ec2_signs")
def ec2_signs(ctx: "ProbeContext") -> Ec2Signs:
    """EC2 hardware signs: Nitro sets the DMI vendors, Xen-based instances the BIOS version and
    the uuid prefix. Under --root, only what the tree holds is read (absent: unknown)."""
    host = ctx.host
    return Ec2Signs(
        _read_line(host, f"{DMI_DIR}/sys_vendor"),
        _read_line(host, f"{DMI_DIR}/product_name"),
        _read_line(host, "/sys/hypervisor/uuid"),
        _read_line(host, f"{DMI_DIR}/board_vendor"),
        _read_line(host, f"{DMI_DIR}/bios_version"),
        _read_line(host, f"{DMI_DIR}/product_uuid"),
    )
