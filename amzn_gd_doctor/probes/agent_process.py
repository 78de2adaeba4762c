"""The agent's running process: pid, memory (RSS), start time, its locked-memory limit
(/proc/<pid>/limits) and the proxy variables it runs with (/proc/<pid>/environ).

Live: psutil, by systemd's MainPID and by name. Under --root: the tree's /proc if one was
captured. limits is world-readable; environ needs root (without it the proxies are unknown).
"""

from typing import TYPE_CHECKING, Dict, Optional, Tuple

from ..host.processes import ProcessInfo
from ..registry import probe
from ..values import value
from .agent_common import PROCESS_PREFIX

if TYPE_CHECKING:
    from ..doctor import ProbeContext

# The agent's own processes: its name is cut to 15 characters in comm; a full command line
# (`/usr/bin/amazon-guardduty-agent`) starts with the same prefix.
NAMES = (PROCESS_PREFIX,)


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


@probe("agent.process", needs=("agent.unit",))
def process(ctx: "ProbeContext") -> AgentProcess:
    """Which agent processes run now, with their limits and proxy environment."""
    unit = ctx.fact("agent.unit")
    main_pid = getattr(unit.value, "main_pid", None) if unit.ok else None
    pids = (main_pid,) if main_pid else ()
    found = ctx.host.find_processes(NAMES, pids)
    return AgentProcess(found, main_pid)
