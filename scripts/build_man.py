"""Write the man page amzn-gd-doctor(1): every command and subcommand of the typer app with its
synopsis, help text and options as the CLI declares them, and what a host without a browser
needs besides to learn the tool: exit status, environment, files, examples, see also.

Commands and options are read from the app, so the page cannot fall behind the CLI; the exit
numbers come from ``model.ExitCode`` and the deadline bounds from ``model``. The prose sections
say what the code does today (cli_app, doctor, bundle, the probes and the recording host's
allow-list), so a change there is a change here. Prose is written like the help texts, with
`code` in backticks, and set in bold like them.

Usage: python3 scripts/build_man.py OUT.1.gz
The page is gzip-compressed with no name and no timestamp, so the same source gives the same
bytes. Runs with typer 0.9 to 0.28: newer typer vendors click under ``typer._click``, so
commands and parameters are told apart by attribute (``param_type_name``, ``commands``), never
by click's classes.
"""

import gzip
import io
import re
import sys
from pathlib import Path
from typing import Any, Iterator, List, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from amzn_gd_doctor import __version__  # noqa: E402
from amzn_gd_doctor.cli import _with_default_command  # noqa: E402
from amzn_gd_doctor.cli_app import build_app  # noqa: E402
from amzn_gd_doctor.model import DEFAULT_DEADLINE_S, MAX_DEADLINE_S, ExitCode  # noqa: E402

PROG = "amzn-gd-doctor"
# What `amzn-gd-doctor` alone runs, as cli.py decides it.
DEFAULT_COMMAND = _with_default_command([])[0]
GUIDE = "https://docs.aws.amazon.com/guardduty/latest/ug/"
DOC_URLS = (
    GUIDE + "gdu-assess-coverage-ec2.html",
    GUIDE + "prereq-runtime-monitoring-cpu-os-kernel-support.html",
    GUIDE + "validate-vpc-endpoint-config-runtime-monitoring.html",
    GUIDE + "runtime-monitoring-agent-release-history.html",
)
_CODE_RE = re.compile(r"`([^`]+)`")
_STRONG_RE = re.compile(r"\*\*([^*]+)\*\*")

CommandPath = Tuple[str, ...]


def roff(text: str) -> str:
    """Text made safe for roff, line by line: a backslash would start an escape, a leading dot
    a request; a bare hyphen may be set as a typographic one and ' as a curly quote, which
    breaks options and commands copied from the page; non-ASCII is spelt \\[u...] so that any
    formatter reads the page whatever its input encoding."""
    escaped = []
    for ch in text:
        if ch == "\\":
            escaped.append("\\e")
        elif ch == "-":
            escaped.append("\\-")
        elif ch == "'":
            escaped.append("\\(aq")
        elif ord(ch) > 127:
            escaped.append(f"\\[u{ord(ch):04X}]")
        else:
            escaped.append(ch)
    lines = "".join(escaped).split("\n")
    return "\n".join("\\&" + line if line.startswith(".") else line for line in lines)


def markup(text: str) -> str:
    """Help texts are written for a terminal, with Markdown-ish `code` and **strong**: both are
    bold on the page, code is not broken across lines (it is typed as one), and a stray
    backtick becomes a grave-accent glyph, never a literal one."""
    text = _CODE_RE.sub(lambda m: "\\fB" + m.group(1).replace(" ", "\\~") + "\\fR", roff(text))
    return _STRONG_RE.sub(r"\\fB\1\\fR", text).replace("`", "\\(ga")


def bold(text: str) -> str:
    return f"\\fB{roff(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{roff(text)}\\fR"


def paragraphs(text: str, separator: str = ".PP") -> List[str]:
    """A help text as filled roff paragraphs, under click's conventions: what follows a form
    feed is not help, and a paragraph opened by \\b keeps its lines as written. Indentation is
    dropped, since a leading space in fill mode forces a break."""
    out: List[str] = []
    for block in re.split(r"\n\s*\n", text.split("\f")[0].strip()):
        lines = [line.strip() for line in block.splitlines()]
        if lines and lines[0] == "\b":
            body = [".nf", *(markup(line) for line in lines[1:]), ".fi"]
        elif any(lines):
            body = [markup(" ".join(line for line in lines if line))]
        else:
            continue
        out += ([separator] if out else []) + body
    return out


def visible(params: Sequence[Any], kind: str) -> List[Any]:
    return [p for p in params if p.param_type_name == kind and not getattr(p, "hidden", False)]


def placeholder(param: Any) -> str:
    return italic(param.metavar or param.name.upper())


def argument_usage(param: Any) -> str:
    """An argument as usage writes it: optional ones in brackets, repeatable ones with ..."""
    word = placeholder(param) + ("..." if param.nargs == -1 else "")
    return word if param.required else f"[{word}]"


def option_tag(param: Any) -> str:
    """Names and value of an option as a user types them. Choices are listed, since they are
    the literal words the option accepts."""
    names = ", ".join(bold(name) for name in [*param.opts, *param.secondary_opts])
    if param.is_flag:
        return names
    choices = getattr(param.type, "choices", None)
    if choices:
        return names + " " + "|".join(bold(str(getattr(c, "value", c))) for c in choices)
    return names + " " + placeholder(param)


def option_notes(param: Any) -> List[str]:
    """What --help leaves to the option's type: its default, a numeric range, an environment
    variable that sets it."""
    notes = []
    default = getattr(param.default, "value", param.default)
    if not param.is_flag and default not in (None, "", (), []) and not callable(default):
        shown = format(default, "g") if isinstance(default, float) else str(default)
        notes.append(f"Default: {bold(shown)}.")
    low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
    if low is not None and high is not None:
        notes.append(f"From {low} to {high}.")
    envvar = getattr(param, "envvar", None)
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        notes.append("Also set by " + ", ".join(bold(n) for n in names) + ".")
    return [" ".join(notes)] if notes else []


def parameters(command: Any) -> List[str]:
    """Arguments, then options, each as a tagged paragraph."""
    out: List[str] = []
    for param in visible(command.params, "argument"):
        out += [".TP", placeholder(param), *paragraphs(getattr(param, "help", None) or "", ".IP")]
    for param in visible(command.params, "option"):
        body = paragraphs(param.help or "", ".IP") + option_notes(param)
        out += [".TP", option_tag(param), *(body or ["\\&"])]
    return out


def walk(command: Any, path: CommandPath = ()) -> Iterator[Tuple[CommandPath, Any]]:
    """Every visible command below ``command``, each group before its subcommands, in the order
    the app registers them (the default command first)."""
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield (*path, name), sub
            yield from walk(sub, (*path, name))


def usage(path: CommandPath, command: Any) -> str:
    """One synopsis line; the default command is shown optional, as cli.py makes it."""
    words = [bold(PROG)]
    if path == (DEFAULT_COMMAND,):
        words.append(f"[{bold(DEFAULT_COMMAND)}]")
    else:
        words.append(bold(" ".join(path)))
    if hasattr(command, "commands"):
        words.append(italic("COMMAND"))
    if visible(command.params, "option"):
        words.append(f"[{italic('OPTIONS')}]")
    words += [argument_usage(p) for p in visible(command.params, "argument")]
    return " ".join(words)


def help_names(group: Any) -> List[str]:
    """The help option is click's, not a declared parameter: its names are the context's."""
    settings = getattr(group, "context_settings", None) or {}
    return list(settings.get("help_option_names", ["--help"]))


def alternatives(names: Sequence[str]) -> str:
    return " | ".join(bold(n) for n in names)


def synopsis(group: Any) -> List[str]:
    lines = [usage(path, cmd) for path, cmd in walk(group) if not hasattr(cmd, "commands")]
    lines += [f"{bold(PROG)} {alternatives(p.opts)}" for p in visible(group.params, "option")]
    lines.append(f"{bold(PROG)} [{italic('COMMAND')}] {alternatives(help_names(group))}")
    return [".SH SYNOPSIS", *[x for line in lines for x in (".br", line)][1:]]


def description(group: Any) -> List[str]:
    prose = (
        f"`{PROG}` reads what an expert would read by hand (the kernel, IMDS and the identity "
        "document, the exclusion tag, the SSM agent and GuardDuty's association, the agent's "
        "unit, journal and logs, the DNS and network path to the GuardDuty endpoint) and "
        "predicts what the console shows: the issue type and message, the evidence on this "
        "host, and the steps that fix it.",
        "Run it as root: the SSM state, the agent's logs and /proc/<pid>/* of other users are "
        "root-only. Without root it still runs, and every check that could not read its input "
        "is reported `inconclusive, because ...` instead of guessing.",
        "The whole run, start-up included, ends within `--deadline` seconds (default "
        f"{DEFAULT_DEADLINE_S:g}, at most {MAX_DEADLINE_S:g}); probes still running then are "
        "reported as timed out and the report is printed anyway.",
    )
    return [
        ".SH DESCRIPTION",
        *paragraphs(group.help or ""),
        *[x for text in prose for x in (".PP", markup(text))],
        ".SH OPTIONS",
        markup("Options of the program itself; each command's own are under COMMANDS."),
        *parameters(group),
        ".TP",
        ", ".join(bold(n) for n in help_names(group)),
        markup("Show the program's or a command's usage and options, and exit."),
    ]


def commands(group: Any) -> List[str]:
    out = [".SH COMMANDS"]
    for path, command in walk(group):
        out += [f".SS {roff(' '.join(path))}", usage(path, command), ".PP"]
        out += paragraphs(command.help or "")
        if path == (DEFAULT_COMMAND,):
            out += [".PP", markup(f"`{PROG}` without a command runs this one.")]
        subs = [" ".join((*path, name)) for name in getattr(command, "commands", {})]
        if subs:
            out += [".PP", "Commands: " + ", ".join(bold(s) for s in subs) + "."]
        out += parameters(command)
    return out


def tagged(tag: str, text: str) -> List[str]:
    return [".TP", tag, markup(text)]


def exit_status() -> List[str]:
    ok, bad, usage_error, unknown = (
        int(ExitCode.HEALTHY),
        int(ExitCode.UNHEALTHY),
        int(ExitCode.USAGE),
        int(ExitCode.UNDECIDED),
    )
    return [
        ".SH EXIT STATUS",
        markup(f"`check` (and `{PROG}` without a command):"),
        *tagged(
            bold(str(ok)),
            "Coverage predicted HEALTHY: every check was decided and none names a console issue.",
        ),
        *tagged(
            bold(str(bad)),
            "Coverage predicted UNHEALTHY: at least one console issue is diagnosed, confirmed, "
            "likely or suspected.",
        ),
        *tagged(
            bold(str(usage_error)),
            "Usage error: an unknown option or a bad value, an `--output` whose folder does "
            "not exist, `--from` with an option that says what to observe, or a bundle that "
            "cannot be read. Nothing is diagnosed.",
        ),
        *tagged(
            bold(str(unknown)),
            "Could not decide (UNKNOWN): no console issue was found but a check could not "
            "observe its input (permission denied, timed out, crashed), or the machine is not "
            "an EC2 instance, where GuardDuty's EC2 coverage does not apply.",
        ),
        ".PP",
        markup(
            f"`collect` exits {ok} once the bundle is written, whatever the verdict (on "
            f"standard error and in the bundle), and {usage_error} when it is not: the name "
            "exists, its folder is missing or cannot be written, or a usage error."
        ),
        ".PP",
        markup(
            f"`explain`, `list` and `fleet summarize` exit {ok} on success and {usage_error} "
            f"on a usage error; `explain` also exits {usage_error} when no issue matches CODE "
            "(or, in text format, more than one does), and `fleet summarize` when SOURCE cannot "
            "be read or holds no outputs."
        ),
        ".PP",
        markup(
            f"Any command exits {bad} when the reader of its standard output goes away (a "
            f"closed pipe): a script that pipes the report should not take that {bad} for "
            "UNHEALTHY."
        ),
    ]


def environment() -> List[str]:
    return [
        ".SH ENVIRONMENT",
        *tagged(
            bold("NO_COLOR"),
            "When set, to anything, the text report has no colour. Colour is also off with "
            "`--no-color`, with `--output`, and when standard output is not a terminal.",
        ),
        *tagged(
            bold("AWS_EC2_METADATA_DISABLED"),
            "`true`: IMDS is not asked; the checks that need it are inconclusive. This and the "
            "next five are read as botocore reads them. IMDS is never asked through a proxy, "
            "nor for credentials.",
        ),
        *tagged(
            bold("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            "IMDS base URL; `--imds-endpoint` wins over it.",
        ),
        *tagged(
            bold("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
            "`ipv4` (the default, http://169.254.169.254/) or `ipv6` (http://[fd00:ec2::254]/).",
        ),
        *tagged(
            bold("AWS_EC2_METADATA_V1_DISABLED"),
            "`true`: no IMDSv1 fallback when IMDS refuses the IMDSv2 token request.",
        ),
        *tagged(bold("AWS_METADATA_SERVICE_TIMEOUT"), "Seconds per IMDS request (default 1)."),
        *tagged(
            bold("AWS_METADATA_SERVICE_NUM_ATTEMPTS"),
            "Attempts per IMDS request (default 1, at most 5).",
        ),
        *tagged(
            f"{bold('SSL_CERT_FILE')}, {bold('SSL_CERT_DIR')}",
            "The trust store the TLS check verifies the GuardDuty endpoint against, as OpenSSL "
            "reads them; unset, OpenSSL's compiled-in defaults (never certifi's bundle).",
        ),
        *tagged(
            bold("PATH"),
            "Where `systemctl`, `journalctl`, `dpkg-query`, `dpkg` and `rpm` are found "
            "(/usr/sbin:/usr/bin:/sbin:/bin when unset). They run with this PATH, LC_ALL=C and "
            "nothing else of the environment.",
        ),
        *tagged(
            bold("TMPDIR"),
            "Where `fleet summarize` keeps its temporary folder (default /tmp).",
        ),
        ".PP",
        markup(
            "`check` and `collect` do not use the proxy variables (http_proxy, https_proxy, "
            "no_proxy, all_proxy and their upper-case forms): IMDS, the resolvers and the "
            "endpoint are asked directly. The proxy the network checks judge is the GuardDuty "
            "agent's, read from its process (/proc/<pid>/environ) and its unit's Environment=."
        ),
        ".PP",
        markup(
            "`fleet summarize` with an s3:// source reads S3 through boto3, which reads its "
            "standard variables in this process, among them AWS_PROFILE, AWS_DEFAULT_REGION, "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, "
            "AWS_ENDPOINT_URL_S3, HTTPS_PROXY, HTTP_PROXY and NO_PROXY."
        ),
    ]


def files() -> List[str]:
    read = (
        ("/etc/os-release, /usr/lib/os-release, /etc/debian_version", "The OS."),
        (
            "/proc/sys/kernel/osrelease, /proc/stat, /proc/sys/crypto/fips_enabled",
            "The kernel release, the boot time and FIPS mode.",
        ),
        (
            "/proc/<pid>/{comm,cmdline,status,stat,limits,environ}",
            "The GuardDuty and SSM agents' processes: memory, start time, locked-memory limit "
            "and proxy variables (environ needs root).",
        ),
        ("/sys/kernel/btf/vmlinux", "Whether the kernel carries BTF, which the agent needs."),
        (
            "/sys/class/dmi/id/, /sys/hypervisor/uuid",
            "Whether this is an EC2 instance (product_uuid needs root).",
        ),
        ("/etc/resolv.conf, /run/systemd/resolve/resolv.conf", "The DNS resolvers."),
        (
            "/etc/systemd/system/, /run/systemd/system/, /usr/lib/systemd/system/, "
            "/lib/systemd/system/, /etc/systemd/system.conf, /etc/systemd/system.conf.d/, "
            "/usr/lib/systemd/system.conf.d/",
            "The agents' units, their drop-ins and enablement links, and the manager's "
            "DefaultLimitMEMLOCK; on a live host also `systemctl show`.",
        ),
        (
            "/var/log/journal/, /run/log/journal/",
            "The systemd journal (root, or the systemd-journal or adm group), through "
            "systemd-python when it is installed, else `journalctl -o json`.",
        ),
        (
            "/var/lib/dpkg/status, /var/lib/dpkg/info/, /var/lib/rpm/, /usr/lib/sysimage/rpm/",
            "The package databases; on a live host through `dpkg-query -W`, `dpkg -L`, "
            "`rpm -q` and `rpm -ql`.",
        ),
        (
            "/var/lib/amazon/ssm/",
            "The SSM agent's registration, association documents and packages (root; never "
            "its Vault).",
        ),
        ("/var/log/amazon/ssm/", "The SSM agent's logs (root)."),
        (
            "/snap/amazon-ssm-agent/current, /usr/bin/amazon-ssm-agent",
            "How the SSM agent is installed.",
        ),
        ("/var/log/amzn-guardduty-agent/", "The GuardDuty agent's logs (root)."),
    )
    written = (
        (
            "-o FILE of check and of fleet summarize",
            "Replaced whole through a temporary file beside it, created mode 0600; a device or "
            "FIFO (such as /dev/null) is written into, never replaced.",
        ),
        (
            "the bundle of collect",
            "`-o` FILE, by default amzn-gd-doctor-<instance id or hostname>-<UTC time>.tar.gz "
            "in the current folder: created mode 0600 beside its name, then linked to it; an "
            "existing file is never replaced.",
        ),
        (
            "$TMPDIR/amzn-gd-doctor-fleet-*/",
            "`fleet summarize`'s per-instance records while it runs, removed when it ends.",
        ),
    )
    return [
        ".SH FILES",
        markup(
            "Read (with `--root` DIR, the same paths inside DIR, and no command is run but "
            "`journalctl` on the tree's journal files; with `--from` BUNDLE, only the bundle):"
        ),
        *[x for path, text in read for x in tagged(italic(path), text)],
        ".PP",
        "Written, and nothing else:",
        *[x for path, text in written for x in tagged(italic(path), text)],
    ]


def example(text: str, *lines: str) -> List[str]:
    return [".PP", markup(text), ".PP", ".RS 4", ".nf", *(roff(x) for x in lines), ".fi", ".RE"]


def examples() -> List[str]:
    return [
        ".SH EXAMPLES",
        *example(
            "Diagnose this host, then again with the evidence and the raw facts:",
            "sudo amzn-gd-doctor",
            "sudo amzn-gd-doctor check -v",
        ),
        *example(
            "Over SSH, across a few hosts:",
            "ssh web-1 sudo amzn-gd-doctor --no-color",
            'for h in web-1 web-2; do ssh "$h" sudo amzn-gd-doctor --no-color; done',
        ),
        *example(
            "The JSON report, to a file here or from another host:",
            "sudo amzn-gd-doctor check --format json -o report.json",
            "ssh web-1 sudo amzn-gd-doctor --format json > web-1.json",
        ),
        *example(
            "Every console issue the doctor knows, and one explained (by code, issue type or "
            "message):",
            "amzn-gd-doctor list",
            "amzn-gd-doctor explain kernel_too_low",
        ),
        *example(
            "Across a fleet with SSM Run Command: create the document once (it is "
            "packaging/ssm/AmznGdDoctor-Check.json in the source), then run it by tag with the "
            "output in S3. `--max-errors 100%`: an Unhealthy instance exits 1, which SSM counts "
            "as Failed, and the run must go on.",
            "aws ssm create-document --name AmznGdDoctor-Check --document-type Command \\",
            "    --document-format JSON --content file://AmznGdDoctor-Check.json",
            "CMD=$(aws ssm send-command --document-name AmznGdDoctor-Check \\",
            "    --query Command.CommandId --output text \\",
            "    --targets Key=tag:GuardDutyManaged,Values=true \\",
            '    --parameters \'{"format":["json"]}\' \\',
            "    --output-s3-bucket-name my-bucket --output-s3-key-prefix amzn-gd-doctor \\",
            "    --max-concurrency 50 --max-errors 100%)",
        ),
        *example(
            "The fleet's outputs read back as counts by status and console issue:",
            'aws s3 sync "s3://my-bucket/amzn-gd-doctor/$CMD/" results/',
            "amzn-gd-doctor fleet summarize results/",
            "amzn-gd-doctor fleet summarize results/ -f html -o fleet.html",
            'amzn-gd-doctor fleet summarize "s3://my-bucket/amzn-gd-doctor/$CMD/" -f json',
        ),
        *example(
            "An evidence bundle for AWS Support or a colleague, replayed elsewhere:",
            "sudo amzn-gd-doctor collect -o b.tgz",
            "amzn-gd-doctor check --from b.tgz",
        ),
        *example(
            "A stopped instance's root volume, mounted at /mnt/broken:",
            "sudo amzn-gd-doctor check --root /mnt/broken",
        ),
    ]


def see_also() -> List[str]:
    refs = f"{bold('systemctl')}(1), {bold('journalctl')}(1)"
    # No fill for the URLs: one wider than the terminal stays whole, to be copied, rather than
    # broken where a reader cannot tell.
    return [".SH SEE ALSO", refs, ".nf", *(roff(url) for url in DOC_URLS), ".fi"]


def page() -> str:
    import typer

    group = typer.main.get_command(build_app())
    out = [
        f'.TH AMZN\\-GD\\-DOCTOR 1 "" "{roff(PROG)} {roff(__version__)}" "User Commands"',
        # No hyphenation and a ragged right margin: option names and paths are copied from the
        # page, and a hyphen groff inserts (U+2010) is not one the shell accepts.
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{roff(PROG)} \\- explain why GuardDuty Runtime Monitoring coverage is Unhealthy",
        *synopsis(group),
        *description(group),
        *commands(group),
        *exit_status(),
        *environment(),
        *files(),
        *examples(),
        *see_also(),
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    out = Path(sys.argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(page().encode("ascii"))
    out.write_bytes(buf.getvalue())


if __name__ == "__main__":
    main()
