"""One instance's Run Command output, wherever it was read from (a folder or S3).

Run Command writes each step's output to
``<prefix>/<command-id>/<instance-id>/awsrunShellScript/<step-name>/stdout``; the instance id
and the command come from that path, the content from the file.
"""

from typing import Optional, Tuple

from ..values import value

# A text report is a few KiB and a JSON report under 100 KiB; what a summary needs is at the
# start. A larger output is read up to this bound and marked truncated.
OUTPUT_LIMIT = 1024 * 1024
PLUGIN_DIR = "awsrunShellScript"


@value
class Output:
    """One ``stdout`` object: where it came from, and its first OUTPUT_LIMIT bytes."""

    instance_id: str
    command_id: str
    step: str
    data: bytes
    truncated: bool = False
    location: str = ""  # the file path or s3:// URL, for messages
    # When it was written (seconds since the epoch): S3's LastModified, or the file's mtime. Of
    # an instance's several outputs (several runs under one source), the newest counts.
    mtime: float = 0.0


def layout_parts(parts: "Tuple[str, ...]") -> "Optional[Tuple[str, str, str]]":
    """The (command id, instance id, step) of a path's last five components
    ``<command-id>/<instance-id>/awsrunShellScript/<step>/stdout``, or None if it is not one."""
    if len(parts) < 5 or parts[-1] != "stdout" or parts[-3] != PLUGIN_DIR:
        return None
    command_id, instance_id, _, step, _ = parts[-5:]
    return command_id, instance_id, step
