"""The agent's running process: pid, memory (RSS), start time, its locked-memory limit
(/proc/<pid>/limits) and the proxy variables it runs with (/proc/<pid>/environ).

Live: psutil, by systemd's MainPID and by name. Under --root: the tree's /proc if one was
captured. limits is world-readable; environ needs root (without it the proxies are unknown).
"""

from typing import TYPE_CHECKING

from ..facts.agent import AGENT_PROCESS, AGENT_UNIT, AgentProcess
from ..host.protocols import PROCESSES
from ..probing import probe
from .agent_common import PROCESS_PREFIX

if TYPE_CHECKING:
    from ..host.protocols import ProcessesPart
    from ..probing import ProbeContext

# The agent's own processes: its name is cut to 15 characters in comm; a full command line
# (`/usr/bin/amazon-guardduty-agent`) starts with the same prefix.
NAMES = (PROCESS_PREFIX,)


@probe(AGENT_PROCESS, parts=(PROCESSES,), needs=(AGENT_UNIT,))
def process(ctx: "ProbeContext", processes: "ProcessesPart") -> AgentProcess:
    """Which agent processes run now, with their limits and proxy environment."""
    unit = ctx.observed(AGENT_UNIT)
    main_pid = unit.main_pid if unit is not None else None
    pids = (main_pid,) if main_pid else ()
    found = processes.find_processes(NAMES, pids)
    return AgentProcess(found, main_pid)
