"""SSM agent state on disk: the hybrid registration (managed instance id) and the Distributor
install state of GuardDuty's SSM plugin package.

Reads /var/lib/amazon/ssm, which is root-only: without root these probes cannot look, and say
what to run by hand. Honours --root.
"""

from typing import TYPE_CHECKING, Any, Optional, Tuple

from ..facts.ssm import (
    GD_PACKAGE,
    SSM_GUARDDUTY_PLUGIN,
    SSM_REGISTRATION,
    PluginInstallState,
    SsmRegistration,
)
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean
from ..values import replace
from .ssm_common import SSM_DATA_DIR, denied, is_instance_dir, read_state_file

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

REGISTRATION = f"{SSM_DATA_DIR}/registration"
INSTALLSTATE = f"{SSM_DATA_DIR}/packages/{GD_PACKAGE}/installstate"
# The agent's InstallState enum (agent/plugins/configurepackage/localpackages); the number is
# what the file stores.
INSTALL_STATES = {
    0: "None",
    1: "Unknown",
    2: "Failed",
    3: "Uninstalling",
    4: "Uninstalled",
    5: "New",
    6: "Upgrading",
    7: "Installing",
    8: "Installed",
    9: "RollbackUninstall",
    10: "RollbackInstall",
    11: "Updating",
}
# Version directories kept beside installstate; a handful in practice.
MAX_VERSION_DIRS = 32


def parse_registration(doc: Any) -> "Tuple[Optional[str], Optional[str]]":
    """``{"ManagedInstanceID":"mi-0123456789abcdef0","Region":"eu-west-1"}`` -> (id, region)."""
    if not isinstance(doc, dict):
        return None, None
    mid, region = doc.get("ManagedInstanceID"), doc.get("Region")
    return (
        clean(mid, 40) if isinstance(mid, str) and mid else None,
        clean(region, 40) if isinstance(region, str) and region else None,
    )


@probe(SSM_REGISTRATION, parts=(FILES,))
def registration(ctx: "ProbeContext", files: "FilesPart") -> SsmRegistration:
    """A hybrid activation leaves a registration file with an mi- id; EC2 ones do not."""
    if not files.is_dir(SSM_DATA_DIR):
        return SsmRegistration(None, None, (), False)
    try:
        dirs = tuple(n for n in files.list_dir(SSM_DATA_DIR) if is_instance_dir(n))
        doc, problem = read_state_file(files, REGISTRATION)
    except FileNotFoundError:
        doc, problem = None, None
    except PermissionError as exc:
        raise denied(exc.filename or SSM_DATA_DIR, f"sudo cat {REGISTRATION}") from exc
    mid, region = parse_registration(doc)
    if problem is None and doc is not None and mid is None:
        problem = "has no ManagedInstanceID"
    if mid is None:
        mid = next((d for d in dirs if d.startswith("mi-")), None)
    return SsmRegistration(mid, region, dirs, True, problem and f"{REGISTRATION}: {problem}")


def parse_installstate(doc: Any) -> PluginInstallState:
    """``{"name":"AmazonGuardDuty-RuntimeMonitoringSsmPlugin","version":"1.9.2","state":8,
    "time":"2025-03-05T14:15:16Z","lastinstalledversion":"1.9.1","retrycount":0}``."""
    if not isinstance(doc, dict):
        return PluginInstallState(True, problem="is not a JSON object")

    def text(key: str) -> "Optional[str]":
        value = doc.get(key)
        return clean(value, 80) if isinstance(value, str) and value else None

    state = doc.get("state")
    if not isinstance(state, int) or isinstance(state, bool):
        return PluginInstallState(
            True,
            version=text("version"),
            problem=f"has no numeric state ({clean(repr(state), 40)})",
        )
    retries = doc.get("retrycount")
    return PluginInstallState(
        True,
        state,
        INSTALL_STATES.get(state, f"unknown state {state}"),
        text("version"),
        text("lastinstalledversion"),
        text("time"),
        retries if isinstance(retries, int) and not isinstance(retries, bool) else 0,
    )


@probe(SSM_GUARDDUTY_PLUGIN, parts=(FILES,))
def guardduty_plugin(ctx: "ProbeContext", files: "FilesPart") -> PluginInstallState:
    """What Distributor recorded when it installed GuardDuty's package (or failed to)."""
    package_dir = INSTALLSTATE.rsplit("/", 1)[0]
    try:
        versions = tuple(n for n in files.list_dir(package_dir) if n != "installstate")[
            :MAX_VERSION_DIRS
        ]
    except FileNotFoundError:
        versions = ()
    except PermissionError as exc:
        raise denied(exc.filename or package_dir, f"sudo cat {INSTALLSTATE}") from exc
    try:
        doc, problem = read_state_file(files, INSTALLSTATE)
    except FileNotFoundError:
        return PluginInstallState(False, versions=versions)
    except PermissionError as exc:
        raise denied(INSTALLSTATE, f"sudo cat {INSTALLSTATE}") from exc
    if problem:
        return PluginInstallState(True, versions=versions, problem=problem)
    return replace(parse_installstate(doc), versions=versions)
