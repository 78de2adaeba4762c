"""Shared pieces of the SSM probes: where the SSM agent keeps its state, and how host text is
made safe to show (no control characters or escape sequences reach a terminal).

Registers no probe. Reads nothing by itself.
"""

import json
from typing import TYPE_CHECKING, Any, Optional, Tuple

from .. import lazy_re
from ..host import CouldNotLook
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import FilesPart

SSM_DATA_DIR = "/var/lib/amazon/ssm"
SSM_LOG_DIR = "/var/log/amazon/ssm"
# The agent's own JSON state files are a few hundred bytes to a few KiB (document states hold
# at most 2400 characters of output per plugin); 1 MiB is far beyond any real one.
STATE_FILE_LIMIT = 1024 * 1024


_INSTANCE_DIR_RE = lazy_re.compile(r"^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{8,17})$")


def is_instance_dir(name: str) -> bool:
    """``i-0abc...`` (EC2) or ``mi-0abc...`` (hybrid) directories under the data dir."""
    return bool(_INSTANCE_DIR_RE.match(name))


def denied(path: str, by_hand: str) -> CouldNotLook:
    return CouldNotLook(
        f"permission denied reading {path} (it is root-only): run the doctor "
        f"as root, or by hand: `{by_hand}`"
    )


def read_state_file(files: "FilesPart", path: str) -> "Tuple[Optional[Any], Optional[str]]":
    """(parsed JSON, None) or (None, what is wrong with it); missing files raise
    FileNotFoundError, unreadable ones PermissionError."""
    data = files.read_bytes(path, STATE_FILE_LIMIT + 1)
    return parse_state_json(data)


def parse_state_json(data: bytes) -> "Tuple[Optional[Any], Optional[str]]":
    """``{"name": "AmazonGuardDuty-RuntimeMonitoringSsmPlugin", "state": 8}`` -> (dict, None);
    oversize, non-UTF-8 or invalid JSON -> (None, reason)."""
    if len(data) > STATE_FILE_LIMIT:
        return None, f"larger than {STATE_FILE_LIMIT // 1024} KiB, not an SSM state file"
    try:
        return json.loads(data.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except ValueError as exc:
        return None, f"not valid JSON ({clean(str(exc), 80)})"
    except RecursionError:
        return None, "JSON nested too deeply"
