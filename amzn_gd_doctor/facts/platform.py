"""Facts about the machine: kernel, distribution, architecture, BTF, signs of EC2."""

from typing import Optional, Tuple

from ..values import value
from . import Key


@value
class KernelRelease:
    raw: str
    version: "Optional[Tuple[int, int, int]]"

    @property
    def family(self) -> "Optional[Tuple[int, int]]":
        return self.version[:2] if self.version else None


@value
class OsInfo:
    found: bool
    id: str = ""
    version_id: str = ""
    name: str = ""
    like: str = ""

    @property
    def label(self) -> str:
        return (
            self.name
            or " ".join(p for p in (self.id, self.version_id) if p)
            or "an unidentified OS"
        )


@value
class BtfInfo:
    present: bool


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


PLATFORM_KERNEL = Key("platform.kernel", KernelRelease, "the kernel release")
PLATFORM_OS = Key("platform.os", OsInfo, "the distribution (os-release)")
PLATFORM_ARCH = Key("platform.arch", str, "the CPU architecture")
PLATFORM_BTF = Key("platform.btf", BtfInfo, "the kernel's BTF file")
PLATFORM_EC2_SIGNS = Key("platform.ec2_signs", Ec2Signs, "the EC2 signs (DMI and hypervisor files)")
