"""Is this an EC2 instance? What the firmware (DMI) and the hypervisor say.

Reads world-readable files under /sys/class/dmi/id and /sys/hypervisor (product_uuid needs
root; without it that one sign is unknown). Under --root only the tree's copies are read.
"""

from typing import TYPE_CHECKING, Optional

from ..facts.platform import PLATFORM_EC2_SIGNS, Ec2Signs
from ..host.protocols import FILES
from ..probing import probe

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# DMI and hypervisor files hold one short line each.
DMI_LIMIT = 256
DMI_DIR = "/sys/class/dmi/id"


def _read_line(files: "FilesPart", path: str) -> "Optional[str]":
    try:
        data = files.read_bytes(path, DMI_LIMIT)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    text = data.decode("utf-8", errors="replace").strip()
    return "".join(ch for ch in text if ch.isprintable())


@probe(PLATFORM_EC2_SIGNS, parts=(FILES,))
def ec2_signs(ctx: "ProbeContext", files: "FilesPart") -> Ec2Signs:
    """EC2 hardware signs: Nitro sets the DMI vendors, Xen-based instances the BIOS version and
    the uuid prefix. Under --root, only what the tree holds is read (absent: unknown)."""
    return Ec2Signs(
        _read_line(files, f"{DMI_DIR}/sys_vendor"),
        _read_line(files, f"{DMI_DIR}/product_name"),
        _read_line(files, "/sys/hypervisor/uuid"),
        _read_line(files, f"{DMI_DIR}/board_vendor"),
        _read_line(files, f"{DMI_DIR}/bios_version"),
        _read_line(files, f"{DMI_DIR}/product_uuid"),
    )
