"""plain_check against typer's own parser, on whatever amzn_gd_doctor and typer the running
interpreter imports (tests/test_cli_plain.py runs it in the suite, and under each pip-installed
package's interpreter with that package's typer and click). As a script it prints the result as
JSON.

Every argument list of up to three words from VOCABULARY is given to plain_check and to click's
parser of the app's real `check` command (`make_context`: it parses and runs the options'
callbacks, and runs no command). A mismatch is a list plain_check takes that typer refuses, or
takes with other values (every option plain_check does not set must be at typer's default).
Runs on Python 3.6.
"""

import io
import itertools
import json
import sys
from contextlib import redirect_stdout
from typing import Any, Dict, List, Optional

# Words that make up the argument lists: each plain option in each of its spellings, values
# typer takes and values it refuses or reads otherwise, and options plain_check leaves alone.
VOCABULARY = [
    "-v", "--verbose", "--verbose=1", "--no-color", "--pseudonymize",
    "--format", "-f", "--format=json", "-fjson", "json", "summary", "JSON",
    "--color", "--color=never", "always",
    "--deadline", "--deadline=5", "5", "0", ".5", "1.", "300", "300.5", "1e1", "1_0", "-1", "nan",
    "--endpoint-port", "--", "--help", "check",
]  # fmt: skip
# What the Run Command document runs, and what operators type: plain_check must take them.
EVERYDAY = [
    [],
    ["-v"],
    ["--format", "json"],
    ["--no-color", "--format", "json", "--deadline", "60"],
    ["--no-color", "--format", "summary", "--deadline", "10"],
    ["--format=coverage", "--pseudonymize"],
]


def defaults() -> Dict[str, Any]:
    """Every option of `check` when the command line gives none."""
    from amzn_gd_doctor.cli_app import ENDPOINT_PORT, CheckFormat, ColorMode
    from amzn_gd_doctor.model import DEFAULT_DEADLINE_S

    return {
        "fmt": CheckFormat.text,
        "verbose": False,
        "color_mode": ColorMode.auto,
        "no_color": False,
        "deadline": DEFAULT_DEADLINE_S,
        "pseudonymize": False,
        "root": None,
        "imds_endpoint": None,
        "region": None,
        "dns_server": [],
        "endpoint_port": ENDPOINT_PORT,
        "output": None,
        "from_bundle": None,
    }


def compare() -> Dict[str, Any]:
    """{"typer": version, "taken": n, "refused": n, "mismatches": [up to 5 descriptions]}."""
    import typer
    import typer.main

    from amzn_gd_doctor import cli_app

    group: Any = typer.main.get_command(cli_app.build_app("check"))
    command = group.get_command(None, "check")
    # typer's own click: click itself (typer 0.9) or the copy newer typer carries.
    click_error: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

    def typer_params(args: List[str]) -> Optional[Dict[str, Any]]:
        try:
            # `--help` prints the help.
            with redirect_stdout(io.StringIO()), command.make_context("check", list(args)) as ctx:
                return dict(ctx.params)
        except (click_error, typer.Exit):
            return None

    base = defaults()
    taken = refused = 0
    mismatches: List[str] = []
    corpus = [list(w) for n in range(4) for w in itertools.product(VOCABULARY, repeat=n)]
    for args in corpus + EVERYDAY:
        plain = cli_app.plain_check(["check"] + args)
        params = typer_params(args)
        if params is None and args not in EVERYDAY:
            refused += 1
        if plain is None:
            if args in EVERYDAY:
                mismatches.append(f"plain_check leaves {args!r} to typer")
            continue
        taken += 1
        expected = dict(base, **plain)
        if params != expected:
            mismatches.append(f"{args!r}: plain_check {plain!r}, typer {params!r}")
    return {
        "typer": typer.__version__,
        "taken": taken,
        "refused": refused,
        "mismatches": mismatches[:5],
    }


if __name__ == "__main__":
    print(json.dumps(compare()))
    sys.exit(0)
