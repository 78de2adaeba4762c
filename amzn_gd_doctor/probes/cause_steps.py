"""What SSM documents' steps wrote, read for host causes: the stdout and stderr the agent keeps
for each run under /var/lib/amazon/ssm/<instance-id>/document/orchestration/<run-id>/..., and
the output of the failed runs still in its state files. Each line that shows a cause (exit
126 or 127, a package manager's lock, a plugin not found, no space left, the worker timing
out) becomes a sign, tied to GuardDuty when its run is GuardDuty's.

Root-only, like the rest of /var/lib/amazon/ssm. Bounded in runs, files and bytes. Honours
--root.
"""

from typing import TYPE_CHECKING, List, Set, Tuple

from ..facts.causes import SSM_STEP_OUTPUTS, StepOutputs, StepSign
from ..facts.ssm import GD_DOCUMENT, GD_PACKAGE, SSM_ASSOCIATION, SSM_LOGS
from ..host.protocols import FILES
from ..probing import probe
from .cause_step_signs import find_signs
from .ssm_common import SSM_DATA_DIR, denied, is_instance_dir

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# The agent keeps a folder per run until it cleans them up (days); the newest runs say what
# happens now, and GuardDuty's association runs every 10 minutes.
MAX_RUNS = 48
MAX_INSTANCE_DIRS = 4
# A run's outputs sit two to four folders down (plugin, step, Distributor's action).
MAX_DEPTH = 5
MAX_FILES = 192
# The end of an output says how it ended ("failed to run commands: exit status 126"); the
# console itself keeps 2,500 bytes of a step's output.
TAIL_BYTES = 8 * 1024
OUTPUT_NAMES = ("stdout", "stderr")
# Signs kept: a few of each kind over the newest runs say what happens; the rest repeat them.
MAX_SIGNS = 32


def _output_files(files: "FilesPart", run_dir: str) -> "List[str]":
    """stdout and stderr files under one run's folder, at most MAX_DEPTH folders down."""
    found: List[str] = []
    pending = [(run_dir, 0)]
    while pending and len(found) < MAX_FILES:
        path, depth = pending.pop()
        try:
            names = files.list_dir(path)
        except (NotADirectoryError, FileNotFoundError):
            continue
        for name in names:
            child = f"{path}/{name}"
            if name in OUTPUT_NAMES and not files.is_dir(child):
                found.append(child)
            elif depth < MAX_DEPTH and files.is_dir(child):
                pending.append((child, depth + 1))
    return found


def _runs(files: "FilesPart") -> "List[Tuple[float, str, str]]":
    """(mtime, run id, folder) of the newest runs of every instance directory."""
    runs = []
    for inst in [n for n in files.list_dir(SSM_DATA_DIR) if is_instance_dir(n)][:MAX_INSTANCE_DIRS]:
        base = f"{SSM_DATA_DIR}/{inst}/document/orchestration"
        for name in files.list_dir(base) if files.is_dir(base) else []:
            if not name.startswith(".") and files.is_dir(f"{base}/{name}"):
                runs.append((files.mtime(f"{base}/{name}"), name, f"{base}/{name}"))
    return sorted(runs, reverse=True)


@probe(SSM_STEP_OUTPUTS, parts=(FILES,), needs=(SSM_ASSOCIATION, SSM_LOGS))
def step_outputs(ctx: "ProbeContext", files: "FilesPart") -> StepOutputs:
    """Steps write why they failed ("sh: 1: ...: Permission denied", "dpkg frontend lock was
    locked by another process with pid 1426"): the host cause, seen (docs/causes.md)."""
    assoc, logs = ctx.observed(SSM_ASSOCIATION), ctx.observed(SSM_LOGS)
    gd_runs: Set[str] = set(logs.guardduty_runs) if logs is not None else set()
    signs: List[StepSign] = []
    for run in assoc.guardduty if assoc is not None else ():
        gd_runs.update(x for x in (run.association_id, run.file) if x)
        for failure in run.plugin_failures:
            signs += find_signs(
                failure.replace(" | ", "\n"), f"state/{run.folder}/{run.file}", True
            )
    if not files.is_dir(SSM_DATA_DIR):
        return StepOutputs(0, 0, tuple(signs))
    try:
        runs = _runs(files)
        read = 0
        for _, run_id, folder in runs[:MAX_RUNS]:
            for path in _output_files(files, folder)[: max(0, MAX_FILES - read)]:
                read += 1
                text = files.read_bytes(path, TAIL_BYTES, tail=True).decode("utf-8", "replace")
                gd = run_id.split(".")[0] in gd_runs or GD_PACKAGE in text or GD_DOCUMENT in text
                signs += find_signs(text, run_id, gd)
    except PermissionError as exc:
        raise denied(
            exc.filename or SSM_DATA_DIR, f"sudo ls -R {SSM_DATA_DIR}/*/document/orchestration"
        ) from exc
    cut = len(runs) > MAX_RUNS or read >= MAX_FILES
    once = {(s.sign, s.run): s for s in reversed(signs)}  # a run's stdout and stderr: once
    kept = [s for s in signs if once[(s.sign, s.run)] is s][:MAX_SIGNS]
    return StepOutputs(min(len(runs), MAX_RUNS), read, tuple(kept), cut or len(once) > MAX_SIGNS)
