"""The command line proper, built with typer: maps flags to options, picks the host, runs the
engine and renders. Imported only once `cli.main` knows more than `--version` is asked.
"""

import enum
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn, Optional

from . import IMPORTED, __version__, lazy_re

_REGION_RE = lazy_re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class Format(str, enum.Enum):
    text = "text"
    json = "json"


class FleetFormat(str, enum.Enum):
    text = "text"
    json = "json"
    csv = "csv"
    html = "html"


class ColorMode(str, enum.Enum):
    auto = "auto"
    always = "always"
    never = "never"


def _use_color(mode: "ColorMode", output: "Optional[Path]") -> bool:
    """Colour as no-color.org and terminfo say: NO_COLOR set and not empty turns it off, and so
    does a dumb terminal; `always` forces it (a pager such as `less -R`), even into a file."""
    if mode is ColorMode.always:
        return True
    if mode is ColorMode.never or output is not None:
        return False
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def _text_width(output: "Optional[Path]") -> int:
    """The columns the text report is wrapped to: the terminal's, or the renderer's WIDTH when
    the report goes to a file or a pipe (and, from there, to a fleet's logs)."""
    from .render.text import WIDTH

    if output is None and sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size((WIDTH, 24)).columns
    return WIDTH


class CheckFormat(str, enum.Enum):
    text = "text"
    json = "json"
    summary = "summary"
    coverage = "coverage"
    eventbridge = "eventbridge"


def _check_deadline(value: float) -> float:
    import typer

    from .model import MAX_DEADLINE_S

    if not 0 < value <= MAX_DEADLINE_S:
        raise typer.BadParameter(f"must be more than 0 and at most {MAX_DEADLINE_S:g} seconds")
    return value


def _check_endpoint(value: Optional[str]) -> Optional[str]:
    import typer

    if value is not None and not re.match(r"^https?://[^/\s]+/?$", value):
        raise typer.BadParameter("expected a base URL such as http://169.254.169.254/")
    return value


def _check_region(value: Optional[str]) -> Optional[str]:
    import typer

    if value is not None and not _REGION_RE.match(value):
        raise typer.BadParameter("expected a region name such as us-east-1")
    return value


def _check_dns_servers(values: Optional[List[str]]) -> List[str]:
    import ipaddress

    import typer

    for value in values or []:
        host, port = value, "53"
        if value.startswith("["):  # [::1]:5353
            host, _, rest = value[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else "53"
        elif value.count(":") == 1:
            host, port = value.split(":")
        try:
            ipaddress.ip_address(host)
            if not 0 < int(port) < 65536:
                raise ValueError(port)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r}: expected an IP address with an optional "
                ":PORT, such as 127.0.0.1:5353 or [::1]:53"
            ) from None
    return list(values or [])


def _write_output(path: Path, write: "Callable[[Any], None]") -> None:
    """The only file the doctor writes, by outfile's rules; a failure is one line and exit 2."""
    import typer

    from .outfile import OutputError, write_output

    try:
        write_output(str(path), write)
    except OutputError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


def _deadline_option() -> Any:
    import typer

    from .model import DEFAULT_DEADLINE_S

    return typer.Option(
        DEFAULT_DEADLINE_S,
        "--deadline",
        metavar="SECONDS",
        callback=_check_deadline,
        help="Whole-run deadline; unfinished probes are reported as timed out.",
    )


def _root_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--root",
        metavar="DIR",
        exists=True,
        file_okay=False,
        dir_okay=True,
        readable=True,
        help="Read every host file under DIR (a mounted "
        "disk or a copied tree); commands are not run. In Bottlerocket's admin container the "
        "default is the host's root, /.bottlerocket/rootfs.",
    )


def _imds_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--imds-endpoint",
        metavar="URL",
        callback=_check_endpoint,
        help="IMDS base URL (default http://169.254.169.254/).",
    )


def _region_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--region",
        metavar="REGION",
        callback=_check_region,
        help="Region, when the identity document cannot say.",
    )


def _dns_option() -> Any:
    import typer

    return typer.Option(
        None,
        "--dns-server",
        metavar="HOST[:PORT]",
        callback=_check_dns_servers,
        help="Resolver to ask instead of the host's (repeatable).",
    )


ENDPOINT_PORT = 443


def _port_option() -> Any:
    import typer

    return typer.Option(
        ENDPOINT_PORT,
        "--endpoint-port",
        min=1,
        max=65535,
        metavar="PORT",
        help="Port of the GuardDuty endpoint (1 to 65535).",
    )


# The options that say what to observe: with --from they come from the bundle.
OBSERVATION_OPTIONS = ("deadline", "root", "imds_endpoint", "region", "dns_server", "endpoint_port")


def _options(
    deadline: float,
    root: "Optional[Path]",
    imds_endpoint: "Optional[str]",
    region: "Optional[str]",
    dns_server: "Optional[List[str]]",
    endpoint_port: int,
    pseudonymize: bool = False,
) -> Any:
    from . import doctor

    return doctor.Options(
        deadline=deadline,
        root=str(root) if root else admin_rootfs(),
        imds_endpoint=imds_endpoint,
        region=region,
        dns_servers=tuple(dns_server or ()),
        endpoint_port=endpoint_port,
        origin=IMPORTED,
        pseudonymize=pseudonymize,
    )


def _diagnose(
    deadline: float,
    root: "Optional[Path]",
    imds_endpoint: "Optional[str]",
    region: "Optional[str]",
    dns_server: "Optional[List[str]]",
    endpoint_port: int,
    pseudonymize: bool,
) -> Any:
    """`check`'s report of this host, or of the tree at ``root``."""
    from . import doctor

    options = _options(
        deadline, root, imds_endpoint, region, dns_server, endpoint_port, pseudonymize
    )
    return doctor.run(_host(options), options)


# Bottlerocket's admin container is superpowered: host-ctr mounts the host's root file system
# there, read-only, beside the host's os-release as /etc/bottlerocket-release. Run in it
# without --root, the doctor reads the host there rather than the container (docs/families.md).
ADMIN_ROOTFS = "/.bottlerocket/rootfs"


def admin_rootfs(top: str = "/") -> "Optional[str]":
    """The host's root as Bottlerocket's admin container sees it, when the doctor runs in one
    (``top``: the file system to look at, this machine's by default); else None."""
    rootfs = os.path.join(top, ADMIN_ROOTFS.lstrip("/"))
    in_container = os.path.isfile(os.path.join(top, "etc", "bottlerocket-release"))
    return rootfs if in_container and os.path.isdir(rootfs) else None


def _host(options: Any) -> Any:
    """The host `--root` asks for: a tree read as if chrooted there, or this machine, its
    parts bounded by the run's deadline from the start."""
    import time

    from .host import LiveHost, RootedHost

    deadline = options.run_deadline(time.monotonic())
    if options.root:
        return RootedHost(options.root, deadline=deadline)
    return LiveHost(deadline=deadline)


def _refuse_observation_options(ctx: Any) -> None:
    """A replay observes nothing: options that say what to observe are the bundle's, and one
    given with --from is refused rather than silently ignored."""
    import typer

    given = [
        name
        for name in OBSERVATION_OPTIONS
        if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"
    ]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        typer.echo(
            f"Error: {flags} cannot be combined with --from: a replay uses the options the "
            "bundle was collected with.",
            err=True,
        )
        raise typer.Exit(2)


def _replay(path: Path) -> Any:
    import typer

    from . import bundle, evidence

    try:
        return evidence.replay(str(path))
    except bundle.BundleError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


def _refuse_existing(path: str) -> "NoReturn":
    import typer

    typer.echo(
        f"Error: {path} exists; collect never replaces a file. Choose another name.", err=True
    )
    raise typer.Exit(2)


# `check` given only these options, each at most once and with a value written plainly, runs
# without typer: importing typer and click is 24 to 33 ms, a fifth of a live check. That covers
# the Run Command document's `check --no-color --format F --deadline N` and an operator's
# `amzn-gd-doctor`, `amzn-gd-doctor -v`. Anything else (another option, one given twice, a value
# written otherwise, `--help`, every mistake) goes to typer, which parses it, and refuses what
# it refuses, as it always has; tests/test_cli_plain.py holds the two to the same options.
_PLAIN_FLAGS = {
    "--verbose": "verbose",
    "-v": "verbose",
    "--no-color": "no_color",
    "--pseudonymize": "pseudonymize",
}
_PLAIN_VALUES = {"--format": "fmt", "-f": "fmt", "--color": "color_mode", "--deadline": "deadline"}
# The variable click reads to answer shell completion instead of running the command.
_COMPLETION_VARIABLE = "_AMZN_GD_DOCTOR_COMPLETE"


def _plain_value(key: str, value: str) -> Any:
    """``value`` as typer would pass it for ``key``, or None when typer is to judge it."""
    from .model import MAX_DEADLINE_S

    if key == "fmt":
        return CheckFormat(value) if value in {f.value for f in CheckFormat} else None
    if key == "color_mode":
        return ColorMode(value) if value in {m.value for m in ColorMode} else None
    # --deadline: digits with at most one point (what float() reads alike everywhere), in range.
    digits = value.replace(".", "", 1)
    if not digits or digits.strip("0123456789"):
        return None
    seconds = float(value)
    return seconds if 0 < seconds <= MAX_DEADLINE_S else None


def plain_check(args: "List[str]") -> "Optional[Dict[str, Any]]":
    """The options of ``args`` (``check`` first) as `check` takes them, when they are plain (see
    above); None when typer is to parse them."""
    if not args or args[0] != "check" or os.environ.get(_COMPLETION_VARIABLE):
        return None
    found: Dict[str, Any] = {}
    rest = args[1:]
    while rest:
        arg, rest = rest[0], rest[1:]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _PLAIN_FLAGS and not eq:
            key, given = _PLAIN_FLAGS[name], True
        elif name in _PLAIN_VALUES:
            if not eq:
                if not rest:
                    return None
                value, rest = rest[0], rest[1:]
            key, given = _PLAIN_VALUES[name], _plain_value(_PLAIN_VALUES[name], value)
            if given is None:
                return None
        else:
            return None
        if key in found:
            return None
        found[key] = given
    return found


def run_plain_check(found: "Dict[str, Any]") -> int:
    """`check` of this host with the options ``plain_check`` found; the exit code."""
    from .model import DEFAULT_DEADLINE_S

    report = _diagnose(
        found.get("deadline", DEFAULT_DEADLINE_S),
        None,
        None,
        None,
        None,
        ENDPOINT_PORT,
        found.get("pseudonymize", False),
    )
    return render_check(
        report,
        found.get("fmt", CheckFormat.text),
        verbose=found.get("verbose", False),
        color_mode=found.get("color_mode", ColorMode.auto),
        no_color=found.get("no_color", False),
    )


def build_app(only: "Optional[str]" = None) -> Any:
    """The typer app. ``only`` names the one command this run invokes: the others are then not
    registered, since typer inspects every registered command's options before it runs one
    (2 to 5 ms of a `check`). `--help` gets them all."""
    import typer

    app = typer.Typer(
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        help="Explain, on an EC2 instance, why GuardDuty Runtime Monitoring coverage is "
        "Unhealthy. Without a command, runs `check`.\n\nExit codes: 0 healthy, 1 unhealthy "
        "predicted, 2 usage error, 3 could not decide.",
    )

    @app.callback()
    def _main(
        version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit."),
    ) -> None:
        if version:
            typer.echo(f"amzn-gd-doctor {__version__}")
            raise typer.Exit(0)

    # Each command is made only when registered: typer reads every registered command's options.
    commands: Dict[str, Callable[[], Callable[..., None]]] = {
        "check": _check_command,
        "collect": _collect_command,
        "explain": _explain_command,
        "list": _list_issues_command,
    }
    for name, make in commands.items():
        if only is None or name == only:
            app.command(name)(make())
    if only in (None, "fleet"):
        fleet = typer.Typer(
            add_completion=False,
            rich_markup_mode=None,
            help="Read the doctor's Run Command outputs of many instances back.",
        )
        fleet.command("summarize")(_fleet_summarize_command())
        app.add_typer(fleet, name="fleet")
    return app


def _check_command() -> "Callable[..., None]":
    """`check`: diagnose this host (or a tree, or a bundle) and render the report."""
    import typer

    def check(
        ctx: typer.Context,
        fmt: CheckFormat = typer.Option(
            CheckFormat.text,
            "--format",
            "-f",
            help="Output format: the report as text or JSON, its one-line summary, or GuardDuty's"
            " own shapes for this instance (coverage: a ListCoverage CoverageResource;"
            " eventbridge: the Runtime Protection Healthy/Unhealthy event).",
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show evidence and facts."),
        color_mode: ColorMode = typer.Option(
            ColorMode.auto,
            "--color",
            metavar="WHEN",
            help="Colour in the text report: auto (on a terminal, unless NO_COLOR is set and not "
            "empty, or TERM is dumb), always (e.g. for `less -R`), or never.",
        ),
        no_color: bool = typer.Option(False, "--no-color", help="The same as --color never."),
        deadline: float = _deadline_option(),
        root: Optional[Path] = _root_option(),
        imds_endpoint: Optional[str] = _imds_option(),
        region: Optional[str] = _region_option(),
        dns_server: Optional[List[str]] = _dns_option(),
        endpoint_port: int = _port_option(),
        output: Optional[Path] = typer.Option(
            None,
            "--output",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="Write the report to FILE instead of standard output.",
        ),
        pseudonymize: bool = typer.Option(
            False,
            "--pseudonymize",
            help="Replace account ids, instance ids and IP addresses by pseudonyms, the same "
            "for the same value within the report (secrets are always masked).",
        ),
        from_bundle: Optional[Path] = typer.Option(
            None,
            "--from",
            metavar="BUNDLE",
            dir_okay=False,
            help="Replay an evidence bundle written by `collect` instead of observing this "
            "host; the bundle's options and capture time are used.",
        ),
    ) -> None:
        """Diagnose this host and predict the console's coverage issue (the default)."""
        if output is not None and not output.resolve().parent.is_dir():
            raise typer.BadParameter(f"directory of {output} does not exist", param_hint="--output")
        if from_bundle is not None:
            _refuse_observation_options(ctx)
            report = _replay(from_bundle)
        else:
            report = _diagnose(
                deadline, root, imds_endpoint, region, dns_server, endpoint_port, pseudonymize
            )
        raise typer.Exit(render_check(report, fmt, verbose, color_mode, no_color, output))

    return check


def render_check(
    report: Any,
    fmt: CheckFormat,
    verbose: bool = False,
    color_mode: ColorMode = ColorMode.auto,
    no_color: bool = False,
    output: "Optional[Path]" = None,
) -> int:
    """Write `check`'s report in ``fmt`` to ``output`` or standard output; the exit code."""
    if fmt is CheckFormat.json:
        from .render import json as render_json

        text = render_json.render(report)
    elif fmt is CheckFormat.summary:
        from .render import text as render_text

        text = render_text.summary_line(report) + "\n"
    elif fmt in (CheckFormat.coverage, CheckFormat.eventbridge):
        import time

        from .render import guardduty

        try:
            if fmt is CheckFormat.coverage:
                text = guardduty.render_coverage(report, time.time())
                reason = guardduty.undecided(report)
                if reason:
                    sys.stderr.write(reason + "\n")
            else:
                text = guardduty.render_event(report, time.time())
        except guardduty.NoEvent as error:
            sys.stderr.write(f"{error}\n")
            return int(report.exit_code)
    else:
        from .render import text as render_text

        color = _use_color(ColorMode.never if no_color else color_mode, output)
        text = render_text.render(report, verbose=verbose, color=color, width=_text_width(output))
    if output is not None:
        _write_output(output, lambda fh: fh.write(text))
    else:
        sys.stdout.write(text)
    return int(report.exit_code)


def _collect_command() -> "Callable[..., None]":
    """`collect`: run `check` and write what it observed into an evidence bundle."""
    import typer

    def collect(
        deadline: float = _deadline_option(),
        root: Optional[Path] = _root_option(),
        imds_endpoint: Optional[str] = _imds_option(),
        region: Optional[str] = _region_option(),
        dns_server: Optional[List[str]] = _dns_option(),
        endpoint_port: int = _port_option(),
        output: Optional[Path] = typer.Option(
            None,
            "--output",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="Write the bundle to FILE (never replaced if it exists); default "
            "amzn-gd-doctor-<instance id or hostname>-<UTC time>.tar.gz here.",
        ),
        pseudonymize: bool = typer.Option(
            False,
            "--pseudonymize",
            help="Replace account ids, instance ids and IP addresses by pseudonyms, the same "
            "throughout the bundle (it still replays).",
        ),
    ) -> None:
        """Run `check` and write what it observed and concluded to one .tar.gz for AWS
        Support or a colleague; `check --from FILE` replays it. Exits 0 when the bundle is
        written, whatever the host's verdict (on stderr and in the bundle), 2 when it is not."""
        from . import bundle, evidence
        from .render import json as render_json
        from .render import text as render_text

        if output is not None:
            if not output.resolve().parent.is_dir():
                raise typer.BadParameter(
                    f"directory of {output} does not exist", param_hint="--output"
                )
            if os.path.lexists(str(output)):
                _refuse_existing(str(output))
        options = _options(
            deadline, root, imds_endpoint, region, dns_server, endpoint_port, pseudonymize
        )
        try:
            report, path, count, size = evidence.collect(
                _host(options),
                options,
                lambda r: (render_json.render(r), render_text.render(r, verbose=True)),
                pseudonymize=pseudonymize,
                output=str(output) if output is not None else None,
            )
        except FileExistsError as exc:  # os.link names the new name second
            _refuse_existing(str(exc.filename2 or output))
        except (OSError, bundle.BundleError) as exc:
            folder = os.path.dirname(os.path.abspath(str(output or "bundle")))
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            typer.echo(f"Error: could not write the bundle in {folder}: {reason}", err=True)
            raise typer.Exit(2) from None
        # The bundle is written: exit 0, so `collect && upload` sends it whatever the verdict,
        # which the one-line summary gives here and the bundle holds.
        line = render_text.summary_line(report)
        prefix = "amzn-gd-doctor: "
        verdict = line[len(prefix) :] if line.startswith(prefix) else line
        typer.echo(
            f"wrote {path} ({count} observations, {size} bytes); the host: {verdict}", err=True
        )
        raise typer.Exit(0)

    return collect


def _explain_command() -> "Callable[..., None]":
    """`explain CODE`: one console issue, or every issue of one console type."""
    import typer

    def explain(
        code: str = typer.Argument(..., help="Issue code, issue type or message (see `list`)."),
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    ) -> None:
        """Explain one console issue: what it means and how to fix it."""
        from . import catalog
        from .render import catalog as render_catalog

        hits = catalog.find(code)
        if not hits:
            near = catalog.near(code)
            hint = f" Did you mean: {'; '.join(repr(n) for n in near)}?" if near else ""
            typer.echo(
                f"Error: no console issue matches {code!r}.{hint} "
                "`amzn-gd-doctor list` shows them all.",
                err=True,
            )
            raise typer.Exit(2)
        if fmt is Format.json:
            sys.stdout.write(render_catalog.render_json(hits))
        elif len(hits) > 1 and code.strip().lower() != hits[0].issue_type.lower():
            typer.echo(
                f"Error: {code!r} matches {len(hits)} issues: " + ", ".join(i.code for i in hits),
                err=True,
            )
            raise typer.Exit(2)
        else:  # one issue, or every issue of one console type
            head = f"{hits[0].issue_type}: {len(hits)} console issues\n\n" if len(hits) > 1 else ""
            sys.stdout.write(head + "\n".join(render_catalog.render_explain(h) for h in hits))

    return explain


def _list_issues_command() -> "Callable[..., None]":
    """`list`: every console issue the doctor knows."""
    import typer

    def list_issues(
        fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    ) -> None:
        """List every console issue the doctor knows, in provisioning order."""
        from . import catalog
        from .render import catalog as render_catalog

        issues = catalog.issues().values()
        if fmt is Format.json:
            sys.stdout.write(render_catalog.render_json(issues))
        else:
            sys.stdout.write(render_catalog.render_list(issues))

    return list_issues


def _fleet_summarize_command() -> "Callable[..., None]":
    """`fleet summarize SOURCE`: many Run Command outputs as counts."""
    import typer

    def fleet_summarize(
        source: str = typer.Argument(
            ..., metavar="SOURCE", help="A folder or s3://bucket/prefix in Run Command's layout."
        ),
        fmt: FleetFormat = typer.Option(FleetFormat.text, "--format", "-f", help="Output format."),
        output: Optional[Path] = typer.Option(
            None,
            "--output",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="Write the summary to FILE instead of standard output.",
        ),
        command_ids: List[str] = typer.Option(
            [],
            "--command-id",
            metavar="ID",
            help="Count only the outputs of this run (Run Command's command id); repeatable.",
        ),
        follow_links: bool = typer.Option(
            False,
            "--follow-links",
            help="Read a stdout that is a link to a file outside SOURCE (by default it is "
            "counted UNREADABLE, not read).",
        ),
    ) -> None:
        """Count the doctor's outputs over a fleet by instance, status and console issue."""
        from .fleet import reading as fleet_reading
        from .fleet import summary as fleet_summary
        from .render.fleet_progress import Progress

        if output is not None and not output.resolve().parent.is_dir():
            raise typer.BadParameter(f"directory of {output} does not exist", param_hint="--output")
        # Only the CSV and HTML views list every instance's row.
        keep_rows = fmt in (FleetFormat.csv, FleetFormat.html)
        progress = Progress(sys.stderr, live=sys.stderr.isatty())
        progress.start(source)
        try:
            with fleet_reading.terminate_cleanly():
                summary = fleet_reading.read_source(
                    source,
                    keep_rows=keep_rows,
                    progress=progress.reading if progress.live else None,
                    follow_links=follow_links,
                    command_ids=tuple(command_ids),
                )
                with summary.listing:
                    _fleet_write(summary, fmt, output, progress)
        except (fleet_summary.SourceError, fleet_summary.SpoolError) as err:
            progress.clear()
            typer.echo(f"Error: {err}", err=True)
            raise typer.Exit(2) from None

    return fleet_summarize


def _fleet_write(summary: Any, fmt: FleetFormat, output: Optional[Path], progress: Any) -> None:
    """The fleet summary's view, to stdout or to FILE (then ``wrote FILE`` on stderr)."""
    from .render import fleet as render_fleet

    if fmt is FleetFormat.json:
        write = render_fleet.write_json
    elif fmt is FleetFormat.csv:
        write = render_fleet.write_csv
    elif fmt is FleetFormat.html:
        from .render import fleet_html

        write = fleet_html.write_html
    else:
        write = render_fleet.write_text
    note = render_fleet.repeats_note(summary)
    if note and fmt is not FleetFormat.text:  # the text view says it itself
        progress.note(note)
    if output is None:
        progress.clear()
        write(summary, sys.stdout)
        return
    progress.writing(str(output), summary.instances)
    _write_output(output, lambda fh: write(summary, fh))
    progress.wrote(str(output))
