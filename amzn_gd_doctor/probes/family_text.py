"""Small readers the host-family probes share: a bounded read that says why it could not read,
an os-release parser and printable, shortened values. Registers no probe.
"""

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..host import CouldNotLook
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import FilesPart

# A value shown from a host file (a cluster name, an image, a variant): EKS cluster names are at
# most 100 characters and image references a few hundred; 200 keeps any real one whole.
VALUE_LIMIT = 200
# Listings of log directories (/var/log/containers holds one link per container of every pod
# on the node, a few hundred): entries past this many are not looked at.
MAX_LISTED = 4096


def value_of(text: str, limit: int = VALUE_LIMIT) -> str:
    return clean(text.strip(), limit)


def read_text(files: "FilesPart", path: str, limit: int, problems: "List[str]") -> "Optional[str]":
    """The file as text, or None when it is absent; a file there but unreadable, larger than
    ``limit``, not UTF-8 or refused (a recording keeps only the files on its allow-list) is None
    too, with why added to ``problems`` (the rules say it)."""
    try:
        data = files.read_bytes(path, limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        problems.append(f"permission denied reading {path} (run as root)")
        return None
    except OSError as exc:
        problems.append(f"{path}: {value_of(exc.strerror or str(exc), 80).lower()}")
        return None
    except CouldNotLook as exc:
        problems.append(value_of(str(exc)))
        return None
    if len(data) > limit:
        problems.append(f"{path} is larger than {limit // 1024} KiB: not read")
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path} is not UTF-8 text: not read")
        return None


def listing(files: "FilesPart", path: str, problems: "List[str]") -> "Tuple[str, ...]":
    """The names in a directory (at most MAX_LISTED), or () when it is absent or unreadable."""
    try:
        return tuple(files.list_dir(path)[:MAX_LISTED])
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except PermissionError:
        problems.append(f"permission denied listing {path} (run as root)")
        return ()
    except OSError as exc:
        problems.append(f"{path}: {value_of(exc.strerror or str(exc), 80).lower()}")
        return ()
    except CouldNotLook as exc:
        problems.append(value_of(str(exc)))
        return ()


def parse_os_release(text: str) -> "Dict[str, str]":
    """``NAME=Bottlerocket\\nID=bottlerocket\\nVARIANT_ID=aws-ecs-2\\nVERSION_ID=1.62.1`` ->
    {"NAME": "Bottlerocket", "ID": "bottlerocket", ...}. Quotes around a value are removed, as
    Bottlerocket's own reader does; comments and lines without ``=`` are skipped."""
    found: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.strip().partition("=")
        if not sep or not key.isidentifier() or key.startswith("#"):
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        found.setdefault(key, value_of(raw))
    return found
