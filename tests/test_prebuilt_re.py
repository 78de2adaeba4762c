"""Regular expressions compiled at build time (amzn_gd_doctor/lazy_re.py, scripts/build_pyz.py).

The one file and the packages carry, for each interpreter the build had, what that interpreter's
regular expression compiler hands its engine for every pattern the doctor makes. Each interpreter
here is run on the built folder and proves, with its own compiler, that every stored pattern is
exactly what it would compile now, that every pattern the modules make is stored, and that each
is then built with its compiler never called. Without a module, with one made for another engine,
or with code the engine refuses, patterns compile as before.

The socket module IDNA-encodes a host given as a str, which imports three modules on its first
use: an ASCII name goes as the bytes the codec would have made (host/http.py, ``socket_name``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from support import REPO, exclusive

from amzn_gd_doctor import lazy_re, redact
from amzn_gd_doctor.host.http import socket_name

sys.path.insert(0, str(REPO / "scripts"))
from build_pyz import MINORS, find_interpreters  # noqa: E402

PYTHONS = find_interpreters()
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}

# Run by each interpreter on the built folder: every pattern the modules make (they are imported,
# nothing is run), compared with what this interpreter's compiler gives for it now, caught on its
# way to the engine; then each built from the module with the compiler made to fail if called.
PROVE = r"""
import importlib, json, pkgutil, re, sys
try:
    import re._compiler as compiler
except ImportError:
    import sre_compile as compiler
import _sre
import amzn_gd_doctor
from amzn_gd_doctor import lazy_re, redact

module = importlib.import_module(lazy_re.prebuilt_module())
table = lazy_re._table()
for info in pkgutil.walk_packages(amzn_gd_doctor.__path__, "amzn_gd_doctor."):
    if not info.name.endswith("__main__") and "._re_" not in info.name:
        importlib.import_module(info.name)
from amzn_gd_doctor.catalog.phrases import phrase_classes
phrase_classes()
made = sorted(set(lazy_re.MADE), key=repr)

caught = []
class Engine(object):
    def __getattr__(self, name):
        return getattr(_sre, name)
    def compile(self, *args):
        caught.append(args)
        return _sre.compile(*args)
compiler._sre = Engine()
same, differ, missing = 0, [], []
for pattern, flags in made:
    entry = table.get((pattern, flags))
    if entry is None:
        missing.append(repr(pattern)[:80])
        continue
    del caught[:]
    re.purge()
    re.compile(pattern, flags)
    _, final, code, groups, groupindex, indexgroup = caught[0]
    fresh = (final, [int(c) for c in code], groups, dict(groupindex), indexgroup)
    if fresh == (entry[0], list(entry[1]), entry[2], dict(entry[3]), entry[4]):
        same += 1
    else:
        differ.append(repr(pattern)[:80])
compiler._sre = _sre

real_compile = compiler.compile
def refuse(*args, **kwargs):
    raise AssertionError("the compiler ran")
compiler.compile = refuse
re.purge()
built = [lazy_re.compile_now(p, f) for p, f in made]
assert all(b.pattern == p for b, (p, _) in zip(built, made))
compiler.compile = real_compile  # the masking below also uses re directly
secret = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY key AKIAIOSFODNN7EXAMPLE"
print(json.dumps({
    "tag": sys.implementation.cache_tag, "engine": list(module.ENGINE) == list(lazy_re.engine()),
    "stored": len(table), "made": len(made), "same": same, "differ": differ,
    "missing": missing, "built": len(built), "masked": redact.mask(secret),
}))
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' folder, as scripts/build.sh has build_pyz.py write it."""
    base = tmp_path_factory.mktemp("prebuilt")
    build = [sys.executable, str(REPO / "scripts" / "build_pyz.py")]
    with exclusive("build"):
        subprocess.run(
            [*build, "--out", str(base / "x.pyz"), "--wheels", str(REPO / "build" / "pyz-wheels"),
             "--tree", str(base / "tree")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return base / "tree"


@pytest.mark.parametrize("minor", MINORS)
def test_each_interpreter_builds_every_pattern_from_what_it_would_compile(
    folder: Path, minor: str
) -> None:
    if minor not in PYTHONS:
        pytest.skip(f"no Python {minor} here (pyenv or python{minor} on PATH)")
    tag = "cpython-" + minor.replace(".", "")
    assert (folder / f"amzn_gd_doctor/_re_{tag.replace('-', '_')}.py").is_file()
    # Only the interpreter that made a module compiles it: no other cache tag's pyc of it.
    pycs = sorted(p.name for p in (folder / "amzn_gd_doctor/__pycache__").glob("_re_*.pyc"))
    assert f"_re_{tag.replace('-', '_')}.{tag}.pyc" in pycs
    assert all(p.split(".")[0] == "_re_" + p.split(".")[1].replace("-", "_") for p in pycs)
    proc = subprocess.run(
        [PYTHONS[minor], "-B", "-c", PROVE],
        env={**ENV, "PYTHONPATH": str(folder)},
        capture_output=True, text=True, cwd="/", check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["tag"] == tag and result["engine"]
    assert result["made"] > 150 and result["stored"] == result["made"]
    assert (result["missing"], result["differ"]) == ([], [])
    assert result["same"] == result["built"] == result["made"]
    assert result["masked"] == (
        "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key] key [REDACTED:aws-access-key-id]"
    )


@pytest.fixture
def fresh_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """lazy_re with its table not yet read, and the real one back afterwards."""
    monkeypatch.setattr(lazy_re, "_PREBUILT", [])
    yield


def install(monkeypatch: pytest.MonkeyPatch, engine: Any, patterns: Dict[Any, Any]) -> None:
    """A module of compiled patterns for this interpreter, as a build would leave one."""
    module = type(sys)(lazy_re.prebuilt_module())
    module.ENGINE = engine  # type: ignore[attr-defined]
    module.PATTERNS = patterns  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)


@pytest.mark.usefixtures("fresh_table")
def test_a_checkout_has_no_module_and_compiles() -> None:
    with pytest.raises(ImportError):
        __import__(lazy_re.prebuilt_module())
    assert lazy_re._table() == {}
    pattern = lazy_re.compile_now("a(?P<b>b+)c")
    assert pattern.fullmatch("abbc").group("b") == "bb"  # type: ignore[union-attr]


def caught_args(pattern: str, flags: int = 0) -> Any:
    """What this interpreter's compiler hands the engine for PATTERN."""
    import re

    compiler: Any = sys.modules["re._compiler" if sys.version_info >= (3, 11) else "sre_compile"]
    real = compiler._sre
    caught = []

    class Engine:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def compile(self, *args: Any) -> Any:
            caught.append(args)
            return real.compile(*args)

    compiler._sre = Engine()
    try:
        re.purge()
        re.compile(pattern, flags)
    finally:
        compiler._sre = real
    _, final, code, groups, groupindex, indexgroup = caught[0]
    return (final, tuple(int(c) for c in code), groups, dict(groupindex), indexgroup)


@pytest.mark.usefixtures("fresh_table")
def test_a_module_for_this_engine_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code of another pattern stored under this one's key is what gets built: proof that
    the stored code, not the compiler, made it (a real build stores each pattern's own)."""
    install(monkeypatch, lazy_re.engine(), {("x+", 0): caught_args("y+")})
    built = lazy_re.compile_now("x+")
    assert (built.pattern, built.fullmatch("yy") is not None, built.search("xx")) == (
        "x+",
        True,
        None,
    )


@pytest.mark.usefixtures("fresh_table")
def test_a_module_for_another_engine_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = list(lazy_re.engine())
    engine[-1] = "big" if engine[-1] == "little" else "little"  # made on the other byte order
    install(monkeypatch, tuple(engine), {("x+", 0): caught_args("y+")})
    assert lazy_re._table() == {}
    assert lazy_re.compile_now("x+").fullmatch("xx") is not None


@pytest.mark.usefixtures("fresh_table")
def test_code_the_engine_refuses_is_compiled_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    final, code, groups, groupindex, indexgroup = caught_args("x+")
    broken = (final, code[:-3] + (99999,), groups, groupindex, indexgroup)
    install(monkeypatch, lazy_re.engine(), {("x+", 0): broken, ("y+", 0): ("not", "an entry")})
    assert lazy_re.compile_now("x+").fullmatch("xx") is not None
    assert lazy_re.compile_now("y+").fullmatch("yy") is not None


def test_every_pattern_the_build_collects_is_made_through_lazy_re() -> None:
    """The union of the redaction kinds, the slowest to compile, is among them."""
    assert (redact._ANY_KIND._args[0], 0) in lazy_re.MADE  # type: ignore[attr-defined]


NAMES = [
    "169.254.169.254",
    "fd00:ec2::254",
    "guardduty-data.us-east-1.amazonaws.com",
    "guardduty-data.us-east-1.amazonaws.com.",
    "UPPER.Example.COM",
    "",
    "a" * 63 + ".com",
    "a" * 64 + ".com",
    "a" * 64,
    "a" * 300,
    "a..b",
    ".leading",
    "bücher.example",
    "１２７.0.0.1",
]


@pytest.mark.parametrize("name", NAMES)
def test_socket_name_is_what_the_idna_codec_makes_or_the_name_itself(name: str) -> None:
    given = socket_name(name)
    if isinstance(given, bytes):
        assert given == name.encode("idna")
    else:
        assert given == name
        try:
            encoded = name.encode("idna")
        except UnicodeError:
            return  # the codec refuses it, as the socket module will
        assert encoded != name.encode("utf-8")  # non-ASCII: the codec's work is needed


# A request to a loopback server with the real socket module: the codec is never imported.
NO_CODEC = r"""
import socket, sys, threading
from amzn_gd_doctor.host.http import plain_request
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
def answer():
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    conn.close()
threading.Thread(target=answer, daemon=True).start()
url = "http://127.0.0.1:%d/latest/api/token" % server.getsockname()[1]
response = plain_request("GET", url, {}, 5.0, 100)
print(response.status, response.body.decode(), "encodings.idna" in sys.modules)
"""


def test_a_request_to_an_address_imports_no_idna_codec() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_CODEC],
        env={**ENV, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, cwd="/", timeout=60, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (0, "200 ok False\n"), proc.stderr[-2000:]
