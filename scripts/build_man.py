"""Write the man page amzn-gd-doctor(1), made from the CLI's own help: the program's and each
command's description, and every option with its help text, as typer declares them.

Usage: python3 scripts/build_man.py OUT.1.gz
The page is gzip-compressed with no name and no timestamp, so the same source gives the same
bytes.
"""

import gzip
import io
import sys
from pathlib import Path
from typing import Any, List

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amzn_gd_doctor import __version__  # noqa: E402
from amzn_gd_doctor.cli_app import build_app  # noqa: E402


def roff(text: str) -> str:
    """Escape text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line if line[:1] in ".'" else line) for line in text.splitlines())


def options(command: Any) -> List[str]:
    lines = []
    for param in command.params:
        # typer vendors click in newer releases, so the parameter kind is read by name.
        if param.param_type_name != "option" or param.hidden:
            continue
        names = ", ".join(param.opts + param.secondary_opts)
        choices = getattr(param.type, "choices", None)
        shown = "|".join(str(c) for c in choices) if choices else param.metavar
        metavar = "" if param.is_flag else " " + (shown or param.name.upper())
        lines += [".TP", f"\\fB{roff(names)}\\fR{roff(metavar)}", roff(param.help or "")]
    return lines


def page() -> str:
    import typer

    group = typer.main.get_command(build_app())
    out = [
        f'.TH AMZN-GD-DOCTOR 1 "" "amzn-gd-doctor {__version__}" "User Commands"',
        ".SH NAME",
        "amzn\\-gd\\-doctor \\- explain why GuardDuty Runtime Monitoring coverage is Unhealthy",
        ".SH SYNOPSIS",
        "\\fBamzn\\-gd\\-doctor\\fR [\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        roff(group.help or "").replace("\n\n", "\n.PP\n"),
        ".SH OPTIONS",
        *options(group),
    ]
    for name, command in sorted(group.commands.items()):
        arguments = " ".join(
            f"\\fI{p.name.upper()}\\fR" for p in command.params if p.param_type_name == "argument"
        )
        out += [f".SH COMMAND: {name.upper()}", f"\\fBamzn\\-gd\\-doctor {name}\\fR {arguments}"]
        out += [".PP", roff(command.help or ""), *options(command)]
    out += [
        ".SH FILES",
        "Reads, never writes: /etc/os\\-release, /sys/kernel/btf/vmlinux, /var/lib/amazon/ssm/,",
        "/var/log/amazon/ssm/, /var/log/amzn\\-guardduty\\-agent/, the systemd journal and /proc.",
        ".SH SEE ALSO",
        "https://docs.aws.amazon.com/guardduty/latest/ug/gdu\\-assess\\-coverage\\-ec2.html",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    out = Path(sys.argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(page().encode("utf-8"))
    out.write_bytes(buf.getvalue())


if __name__ == "__main__":
    main()
