"""Command line entry: answers `--version` before anything heavy is imported, runs a `check`
given only plain options without typer (``cli_app.plain_check``), hands every other command to
the typer app in ``cli_app``, and exits without the interpreter's teardown.
"""

import os
import sys

from . import __version__

# Annotations only: `typing` costs 14 ms to import on Python 3.6, a third of `--version`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, NoReturn, Optional, Sequence

COMMANDS = ("check", "collect", "explain", "list", "fleet")


def _fast_path(args: "Sequence[str]") -> "Optional[int]":
    if list(args) in (["--version"], ["-V"]):
        sys.stdout.write(f"amzn-gd-doctor {__version__}\n")
        sys.stdout.flush()
        return 0
    return None


class _ClosedOutput:
    """Standard output when the doctor was started with it closed (`>&-`): writing to it fails
    as writing to a closed file does, and the failure is reported as any other."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        import errno

        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass  # nothing is ever buffered: every write fails

    def isatty(self) -> bool:
        return False


def _cannot_write(error: OSError) -> "NoReturn":
    """The output could not be written (a full disk, a closed standard output): one line and
    exit 2, as when the --output file cannot be written."""
    import contextlib

    # Without a standard error either, the exit status is all that is left to say it.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.write(f"amzn-gd-doctor: cannot write the output: {error.strerror or error}\n")
    _exit(2, flush=False)


def _with_default_command(args: "Sequence[str]") -> "List[str]":
    """`amzn-gd-doctor [OPTIONS]` means `amzn-gd-doctor check [OPTIONS]`. A first word that is
    not an option names a command, since `check` takes no argument: an unknown one is refused
    with the nearest command, rather than handed to `check` as a stray argument."""
    if not args:
        return ["check"]
    if args[0] in COMMANDS or args[0] in ("--help", "-h"):
        return list(args)
    if not args[0].startswith("-"):
        import difflib

        near = difflib.get_close_matches(args[0], COMMANDS, n=1, cutoff=0.5)
        hint = f" Did you mean '{near[0]}'?" if near else ""
        sys.stderr.write(
            f"Error: no command {args[0]!r}.{hint} Commands: {', '.join(COMMANDS)}; "
            "`amzn-gd-doctor --help` says more.\n"
        )
        _exit(2)
    return ["check", *args]


class Terminated(SystemExit):
    """SIGTERM or SIGINT (Ctrl-C), raised in the main thread as a SystemExit: the ``finally``
    blocks on the way out run (a bundle's or a report's temporary file is removed), then the
    process exits 128 + the signal's number, as a process the signal ended: 143 and 130. A
    KeyboardInterrupt would instead end as the installed click ends it (click 8.0 prints
    `Aborted!` and exits 1, newer typer exits 130); a SystemExit passes through click."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(128 + signum)


def _on_signals_exit() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():  # only it may install one
        signal.signal(signal.SIGTERM, _terminate)
        # A SIGINT the doctor was started ignoring (`nohup`, a shell's background job) stays so.
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _terminate)


def main(argv: "Optional[Sequence[str]]" = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    try:
        fast = _fast_path(args)
        if fast is not None:
            _exit(fast)
        _on_signals_exit()
        from .cli_app import build_app, plain_check, run_plain_check

        full = _with_default_command(args)
        plain = plain_check(full)
        if plain is not None:
            _exit(run_plain_check(plain))
        only = full[0] if full[0] in COMMANDS else None  # --help lists them all
        build_app(only)(args=full, prog_name="amzn-gd-doctor")
    except SystemExit as stop:
        code = stop.code
        _exit(code if isinstance(code, int) else 0 if code is None else 1)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        _exit(1)
    except OSError as error:
        _cannot_write(error)
    _exit(0)


def _exit(code: int, flush: bool = True) -> "NoReturn":
    """Flush the output, then leave without the interpreter's teardown (tens of milliseconds
    of module and thread clean-up that a one-shot command does not need). The report is
    complete by then; probes still running past the deadline are daemon threads that nothing
    waits for."""
    for stream in (sys.stdout, sys.stderr) if flush else ():
        try:
            stream.flush()
        except BrokenPipeError:  # a reader that went away
            code = code or 1
        except (OSError, ValueError, AttributeError) as error:  # a full disk, a closed stream
            if isinstance(error, OSError) and stream is sys.stdout:
                _cannot_write(error)
            code = code or 1
    os._exit(code)
