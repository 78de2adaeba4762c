"""Facts about the SSM Agent: whether it runs, its registration, GuardDuty's association and
plugin install state, and what its logs say."""

from typing import Dict, Optional, Tuple

from ..values import value
from . import Key
from .causes import ErrorGroup

# GuardDuty's SSM document, and the SSM Distributor package that installs the agent.
GD_DOCUMENT = "AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin"
GD_PACKAGE = "AmazonGuardDuty-RuntimeMonitoringSsmPlugin"


@value
class SsmAgent:
    installed: bool
    running: bool
    running_known: bool  # False under --root when neither the unit nor a /proc tells
    # "deb", "rpm", "snap", "files" (unit or binary, no package record), "process" (only its
    # process was seen) or ""
    how: str
    version: "Optional[str]"
    unit: "Optional[str]"  # None when no package, snap, unit or binary of it was found
    unit_state: "Dict[str, str]"  # systemctl show properties; only UnitFileState under --root
    pids: "Tuple[int, ...]" = ()
    notes: "Tuple[str, ...]" = ()


@value
class DocumentRun:
    folder: str  # pending, current or corrupt
    file: str
    document: str
    status: str  # the agent's ResultStatus: InProgress, Success, Failed, TimedOut, ...
    association_id: "Optional[str]"
    created: "Optional[str]"
    plugin_failures: "Tuple[str, ...]" = ()  # "plugin: status (code n): output"

    @property
    def failed(self) -> bool:
        return self.folder == "corrupt" or self.status in ("Failed", "TimedOut", "Cancelled")


@value
class SsmAssociations:
    instance_dirs: "Tuple[str, ...]"
    documents: int  # state files looked at
    guardduty: "Tuple[DocumentRun, ...]"  # runs of GuardDuty's document
    last_association: "Optional[str]" = None  # InstanceDocument.json: the last association run
    skipped: "Tuple[str, ...]" = ()  # files not parsed, with why
    truncated: bool = False  # more documents than MAX_DOCUMENTS


@value
class LogCause:
    cause: str  # a CausePattern.cause
    entries: int
    subjects: "Tuple[str, ...]"  # what the entries name, first seen first, at most MAX_SUBJECTS
    latest: str  # when the latest entry was logged, "" when no entry said
    lines: "Tuple[str, ...]"  # the latest entries, printable
    guardduty: bool = False  # GuardDuty's package or document is the one concerned
    suspected: bool = False  # every entry only suggests the cause


@value
class SsmLogs:
    files: "Tuple[str, ...]"  # log files read
    counts: "Dict[str, int]"  # entries of each kind in the tails read
    lines: "Dict[str, Tuple[str, ...]]"  # the latest entries of each kind, printable
    truncated: bool = False  # a file was larger than the tail read
    unreadable: "Tuple[str, ...]" = ()
    causes: "Tuple[LogCause, ...]" = ()  # why the agent cannot work, as its entries say
    # Host causes its entries name (inotify, worker time-outs, ...): judged by the host checks
    host_causes: "Tuple[LogCause, ...]" = ()
    # ERROR and CRITICAL entries no cause or kind above explains, grouped (the most recent few)
    unexplained: "Tuple[ErrorGroup, ...]" = ()
    unexplained_entries: int = 0  # all of them, also those of groups not kept
    # Association and command ids of entries that name GuardDuty's document or package
    guardduty_runs: "Tuple[str, ...]" = ()


@value
class SsmRegistration:
    managed_instance_id: "Optional[str]"  # "mi-..." on a hybrid (non-EC2) host
    region: "Optional[str]"
    instance_dirs: "Tuple[str, ...]"  # i-... / mi-... directories the agent keeps state in
    data_dir: bool  # /var/lib/amazon/ssm exists
    problem: "Optional[str]" = None  # the registration file exists but could not be parsed


@value
class PluginInstallState:
    present: bool  # installstate exists
    state: "Optional[int]" = None
    state_name: str = ""
    version: "Optional[str]" = None
    last_installed_version: "Optional[str]" = None
    time: "Optional[str]" = None
    retry_count: int = 0
    versions: "Tuple[str, ...]" = ()  # version directories in the package directory
    problem: "Optional[str]" = None  # malformed file: what is wrong with it

    @property
    def failed(self) -> bool:
        return self.state_name in ("Failed", "RollbackUninstall", "RollbackInstall")


SSM_AGENT = Key("ssm.agent", SsmAgent, "the SSM agent's install and state")
SSM_REGISTRATION = Key("ssm.registration", SsmRegistration, "the SSM registration")
SSM_GUARDDUTY_PLUGIN = Key(
    "ssm.guardduty_plugin",
    PluginInstallState,
    "the Distributor install state of GuardDuty's package",
)
SSM_ASSOCIATION = Key("ssm.association", SsmAssociations, "the SSM association runs")
SSM_LOGS = Key("ssm.logs", SsmLogs, "the SSM agent's logs")
