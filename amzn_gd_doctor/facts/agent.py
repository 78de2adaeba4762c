"""Facts about the GuardDuty agent: its package, unit, process, journal and log files."""

from enum import Enum
from typing import TYPE_CHECKING, Dict, Mapping, Optional, Tuple

from ..values import field, value
from . import Key
from .causes import ErrorGroup

if TYPE_CHECKING:
    from ..answers import ProcessInfo

PACKAGE = "amazon-guardduty-agent"
UNIT = "amazon-guardduty-agent.service"
LOG_DIR = "/var/log/amzn-guardduty-agent"
# What systemd logs when the main process dies of SIGKILL: all it sees of an OOM kill where
# it cannot read memory.events (cgroup v1), and of any other kill -9.
SIGKILL_EXIT = "killed, status=9/KILL"


@value
class PhraseHits:
    name: str
    category: str
    meaning: str
    count: int
    recent: int  # occurrences that are current (recent lines, or the last hour)
    sample: str  # the newest occurrence, shortened


# m, the span that tells a unit flapping now from one that restarted once: the rules' k
# (FLAP_RESTARTS) restarts inside the last 10 minutes. Ten minutes hold two restarts of any loop
# whose cycle is under five minutes (a cap reached at start-up dies in seconds, a slow leak
# under load in minutes), while a loop that stopped ten minutes ago no longer counts as now.
FLAP_WINDOW_S = 10 * 60


@value
class AgentJournal:
    backend: str
    source: str
    window_s: int
    window_end: float  # epoch seconds
    anchored_on: str  # "now", or "the newest entry" where the system has no present moment
    entries: int  # unit and PID 1 entries in the window
    kernel_entries: int
    truncated: bool = False
    problems: "Tuple[str, ...]" = ()
    starts: int = 0
    restarts: int = 0
    restarts_recent: int = 0
    restarts_flap: int = 0  # in the last FLAP_WINDOW_S
    flap_window_s: int = FLAP_WINDOW_S
    restart_counter: "Optional[int]" = None
    start_limit_hits: int = 0
    exits: "Mapping[str, int]" = field(default_factory=dict)  # "status=1/FAILURE": 12
    results: "Mapping[str, int]" = field(default_factory=dict)  # "oom-kill": 4
    oom_kills: int = 0
    oom_kills_recent: int = 0
    oom_cap_kills: int = 0  # kills inside the unit's memory cgroup (its MemoryMax)
    sigkills: int = 0  # main process exits by SIGKILL (code=killed, status=9/KILL)
    sigkills_recent: int = 0
    last_state: "Optional[str]" = None  # "started", "stopped" or "failed"
    last_state_age_s: "Optional[float]" = None
    phrases: "Tuple[PhraseHits, ...]" = ()
    last_agent_line: "Optional[str]" = None
    # The agent's error lines (by their text, or PRIORITY<=3) that no phrase class explains
    unexplained: "Tuple[ErrorGroup, ...]" = ()


@value
class LogFile:
    name: str
    size: int
    compressed: bool
    bytes_read: int
    lines: int
    error: "Optional[str]" = None


@value
class AgentLogs:
    directory: str
    exists: bool
    files: "Tuple[LogFile, ...]" = ()
    lines: int = 0
    levels: "Mapping[str, int]" = field(default_factory=dict)
    phrases: "Tuple[PhraseHits, ...]" = ()
    garbage_lines: int = 0
    last_failure: "Optional[str]" = None  # the newest warning-or-worse line, shortened
    # error and fatal lines that no phrase class explains, grouped
    unexplained: "Tuple[ErrorGroup, ...]" = ()

    @property
    def read_any(self) -> bool:
        return any(f.error is None for f in self.files)


# dpkg's one-letter abbreviations (dpkg-query ${db:Status-Abbrev}).
DPKG_WANT = {"unknown": "u", "install": "i", "hold": "h", "deinstall": "r", "purge": "p"}


DPKG_STATE = {
    "not-installed": "n",
    "config-files": "c",
    "half-installed": "H",
    "unpacked": "U",
    "half-configured": "F",
    "triggers-awaited": "W",
    "triggers-pending": "t",
    "installed": "i",
}


INSTALLED_STATES = ("installed", "triggers-pending", "triggers-awaited")


BROKEN_STATES = ("half-installed", "unpacked", "half-configured")


@value
class AgentPackage:
    # The database that recorded it, "dpkg" or "rpm"; None when no package database was read
    # and the agent's unit file is the only evidence (``notes`` say why none was read).
    manager: "Optional[str]"
    state: str  # dpkg's status word ("installed", "half-configured", ...) or "not-installed"
    version: "Optional[str]" = None
    status: str = ""  # dpkg's Status line or rpm's answer, as read
    files: "Tuple[str, ...]" = ()
    file_count: int = 0
    notes: "Tuple[str, ...]" = ()

    @property
    def installed(self) -> bool:
        return self.state in INSTALLED_STATES

    @property
    def from_database(self) -> bool:
        """Whether a package database said so, rather than the files the package installs."""
        return self.manager is not None

    @property
    def broken(self) -> bool:
        """Files partly on disk after an interrupted install or a failing maintainer script."""
        return self.state in BROKEN_STATES

    @property
    def abbrev(self) -> str:
        """dpkg's two letters, ``ii`` or ``iF``; empty for rpm."""
        parts = self.status.split()
        if self.manager != "dpkg" or len(parts) != 3:
            return ""
        flag = "R" if parts[1] == "reinstreq" else ""
        return DPKG_WANT.get(parts[0], "?") + DPKG_STATE.get(parts[2], "?") + flag


@value
class AgentProcess:
    processes: "Tuple[ProcessInfo, ...]"
    main_pid: "Optional[int]"  # systemd's MainPID, when systemd said

    @property
    def running(self) -> bool:
        return bool(self.processes)

    @property
    def pid(self) -> "Optional[int]":
        return self.main.pid if self.main else None

    @property
    def proxy_env(self) -> "Dict[str, str]":
        """Proxy variables of the main process (credentials redacted); empty when its environ
        could not be read (not root) or it does not run."""
        return dict(self.main.proxy_env) if self.main else {}

    @property
    def main(self) -> "Optional[ProcessInfo]":
        """systemd's main process if it is among them, else the oldest one."""
        for proc in self.processes:
            if proc.pid == self.main_pid:
                return proc
        return self.processes[0] if self.processes else None


Memlock = Tuple[Optional[int], Optional[int]]


class Systemd(str, Enum):
    """Where a unit's state comes from: systemd asked, no systemd to ask, or the unit's files."""

    RUNNING = "running"  # systemd is PID 1 and answered `systemctl show`
    NOT_RUNNING = "not-running"  # systemd is not PID 1 here (a container): nothing to ask
    UNIT_FILES = "unit-files"  # systemd was not asked: the unit's files were read, its runtime
    # state (active, restarts, main pid) is unknown


@value
class AgentUnit:
    systemd: Systemd
    load_state: "Optional[str]" = None  # loaded, not-found, masked, bad-setting, error
    active_state: "Optional[str]" = None  # None when unknown (read from unit files)
    sub_state: "Optional[str]" = None
    result: "Optional[str]" = None
    n_restarts: "Optional[int]" = None  # None before systemd 235 or from unit files
    exec_main_code: "Optional[str]" = None  # exited, killed, dumped
    exec_main_status: "Optional[int]" = None
    main_pid: "Optional[int]" = None
    started: "Optional[str]" = None
    memory_current: "Optional[int]" = None
    memory_max: "Optional[int]" = None  # None: no cap
    memory_limit: "Optional[int]" = None
    cpu_quota_per_sec_us: "Optional[int]" = None
    unit_file_state: "Optional[str]" = None
    fragment_path: "Optional[str]" = None
    environment: "Mapping[str, str]" = field(default_factory=dict)  # the unit's Environment=
    memlock: "Optional[Memlock]" = None  # (soft, hard) systemd gives the unit; None unknown
    memlock_source: str = ""
    detail: str = ""

    @property
    def proxy_env(self) -> "Dict[str, str]":
        """The proxy variables of its Environment=, credentials masked."""
        # Imported here: the redaction is needed only when a rule reads the proxies.
        from ..redact import proxy_variables

        return proxy_variables(self.environment)

    @property
    def memory_cap(self) -> "Optional[int]":
        caps = [c for c in (self.memory_max, self.memory_limit) if c is not None]
        return min(caps) if caps else None


@value
class AgentEvidence:
    """The agent's own lines from its log files and the journal together (a derived fact)."""

    logs: "Optional[AgentLogs]"  # None: the log files could not be read
    journal: "Optional[AgentJournal]"  # None: not read, or it saw nothing (files unreadable)
    phrases: "Tuple[PhraseHits, ...]" = ()  # both sources merged by class, in finding order

    @property
    def readable(self) -> bool:
        return (self.logs is not None and self.logs.read_any) or self.journal is not None

    def hits(self, categories: "Tuple[str, ...]") -> "Tuple[PhraseHits, ...]":
        return tuple(h for h in self.phrases if h.category in categories)

    @property
    def unexplained(self) -> "Tuple[Tuple[str, ErrorGroup], ...]":
        """Error lines no phrase class explains, with their source ("log", "journal")."""
        logs = self.logs.unexplained if self.logs is not None else ()
        journal = self.journal.unexplained if self.journal is not None else ()
        return tuple(("log", g) for g in logs) + tuple(("journal", g) for g in journal)


AGENT_PACKAGE = Key("agent.package", AgentPackage, "the GuardDuty agent's package record")
AGENT_UNIT = Key("agent.unit", AgentUnit, "the agent's systemd unit")
AGENT_PROCESS = Key("agent.process", AgentProcess, "the agent's process")
AGENT_JOURNAL = Key("agent.journal", AgentJournal, "the agent's journal")
AGENT_LOGS = Key("agent.logs", AgentLogs, "the agent's log files")
AGENT_EVIDENCE = Key("agent.evidence", AgentEvidence, "the agent's logs and journal")
