"""The one file's bytecode (packaging/pyz/importer.py, scripts/build_pyz.py): every interpreter from
3.6 to 3.13 that is here loads the doctor from the bytecode the build compiled for it, and no
bytecode that is stale (its source member changed) or foreign (another interpreter's) is ever
loaded: the source is compiled instead, and the run gives the same report.

Which module came from where is read from the importer's own account under `python -v` (a line
`# amzn-gd-doctor: <module> from bytecode` or `... compiled from source: <why>` each), and from
the report's `timing` (`import_ms`, `compile_ms`)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Mapping, Tuple

import pytest
from support import REPO, ROOTS, exclusive

sys.path.insert(0, str(REPO / "scripts"))
from build_pyz import MINORS, find_interpreters  # noqa: E402

BUILD = [sys.executable, str(REPO / "scripts" / "build_pyz.py")]
WHEELS = REPO / "build" / "pyz-wheels"
PYTHONS = find_interpreters()
FLOOR, NEWEST = MINORS[0], MINORS[-1]
# A check of a fixture tree with no network: IMDS off, the resolver a refused loopback port.
# A generous deadline: a run that compiles every module on a loaded machine must still finish
# its probes, so that only where the code came from differs between runs (nothing in a --root
# run waits on the network).
CHECK = ["check", "--root", str(ROOTS / "agent-healthy"), "-f", "json", "--deadline", "120"]
CHECK += ["--dns-server", "127.0.0.1:9"]
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
ACCOUNT = re.compile(r"^# amzn-gd-doctor: (\S+) (from bytecode|compiled from source: (.*))$")
# A check loads about a hundred of the file's modules; fewer would mean the run went elsewhere.
AT_LEAST = 50


def python(minor: str) -> str:
    if minor not in PYTHONS:
        pytest.skip(f"no Python {minor} here (pyenv or python{minor} on PATH)")
    return PYTHONS[minor]


def tag(minor: str) -> str:
    return "cpython-" + minor.replace(".", "")


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "amzn-gd-doctor.pyz"
    with exclusive("build"):
        subprocess.run([*BUILD, "--out", str(out), "--wheels", str(WHEELS)], check=True)
    return out


def run(
    interpreter: str, pyz: Path, *args: str, flags: Tuple[str, ...] = ("-v",)
) -> Tuple[subprocess.CompletedProcess, Dict[str, str]]:
    """The run, and {module: "bytecode" or why it was compiled} from the importer's account."""
    proc = subprocess.run(
        [interpreter, *flags, str(pyz), *args], env=ENV, capture_output=True, text=True, cwd="/"
    )
    assert proc.returncode in (0, 1, 3), proc.stderr[-3000:]
    loaded = {}
    for line in proc.stderr.splitlines():
        found = ACCOUNT.match(line)
        if found:
            loaded[found.group(1)] = found.group(3) or "bytecode"
    return proc, loaded


# What differs from run to run of one tree: the free space of the file system the tree is on,
# which the disk check reads for real (other processes write to it meanwhile).
VOLATILE = {"host.disk_not_full", "host.disk_space"}


def report(proc: subprocess.CompletedProcess) -> dict:
    """The JSON report, less what differs from run to run (timings, free space)."""
    out = json.loads(proc.stdout)
    out["timing"] = {key: 0 for key in out["timing"]}
    out["elapsed_ms"] = 0
    out["checks"] = [
        {k: v for k, v in c.items() if k != "duration_ms"}
        for c in out["checks"]
        if c["id"] not in VOLATILE
    ]
    out["facts"] = [
        {k: v for k, v in f.items() if k != "duration_ms"}
        for f in out["facts"]
        if f["id"] not in VOLATILE
    ]
    return out


def rewritten(pyz: Path, dest: Path, members: Mapping[str, bytes]) -> Path:
    """A copy of PYZ with MEMBERS' contents replaced, each keeping its name and compression
    (zipfile writes its new CRC-32 and size, as any tool that changes a member does): a member
    of the file itself, or of modules.zip, the stored zip of its modules inside it."""

    def copy(zin: zipfile.ZipFile, zout: zipfile.ZipFile, new: Mapping[str, bytes]) -> None:
        for info in zin.infolist():
            zout.writestr(info, new.get(info.filename, zin.read(info)))

    with zipfile.ZipFile(str(pyz)) as zin:
        own = set(zin.namelist())
        inner = {n: d for n, d in members.items() if n not in own}
        outer = {n: d for n, d in members.items() if n in own}
        if inner:
            modules = io.BytesIO()
            with zipfile.ZipFile(io.BytesIO(zin.read("modules.zip"))) as mzin:
                assert set(inner) <= set(mzin.namelist())
                with zipfile.ZipFile(modules, "w") as mzout:
                    copy(mzin, mzout, inner)
            outer["modules.zip"] = modules.getvalue()
        with open(dest, "wb") as fh:
            fh.write(b"#!/usr/bin/env python3\n")
            with zipfile.ZipFile(fh, "w") as zout:
                copy(zin, zout, outer)
    return dest


def another_version(source: bytes, pattern: bytes) -> Tuple[bytes, str]:
    """SOURCE with the version that PATTERN finds changed in its last digit, so that the text
    keeps its size and only its content tells; and that other version."""
    found = re.search(pattern, source)
    assert found is not None
    version = found.group(1)
    other = version[:-1] + (b"8" if version[-1:] == b"9" else b"9")
    changed = source.replace(b'"' + version + b'"', b'"' + other + b'"')
    assert len(changed) == len(source) and changed != source
    return changed, other.decode()


@pytest.mark.parametrize("minor", MINORS)
def test_each_interpreter_loads_the_doctor_from_its_bytecode(pyz: Path, minor: str) -> None:
    proc, loaded = run(python(minor), pyz, *CHECK)
    compiled = {module: why for module, why in loaded.items() if why != "bytecode"}
    assert compiled == {}
    assert len(loaded) >= AT_LEAST and "amzn_gd_doctor.cli" in loaded
    timing = json.loads(proc.stdout)["timing"]
    assert timing["compile_ms"] == 0 and timing["import_ms"] > 0


def test_the_file_holds_bytecode_for_every_interpreter_here(pyz: Path) -> None:
    names = set(zipfile.ZipFile(str(pyz)).namelist())
    for minor in PYTHONS:
        assert f"__pycache__/{tag(minor)}.bytecode" in names


@pytest.mark.parametrize("minor,other", [(NEWEST, FLOOR), (FLOOR, NEWEST)])
def test_another_interpreters_bytecode_is_never_loaded(
    pyz: Path, tmp_path: Path, minor: str, other: str
) -> None:
    """The running interpreter's bytecode member replaced by another interpreter's, under the
    running one's name: every module is compiled from source, and the report is the same. (The
    running interpreter's compiled patterns, which only it compiles, have no bytecode there.)"""
    interpreter = python(minor)
    python(other)
    with zipfile.ZipFile(str(pyz)) as zf:
        foreign = zf.read(f"__pycache__/{tag(other)}.bytecode")
    swapped = rewritten(
        pyz, tmp_path / "swapped.pyz", {f"__pycache__/{tag(minor)}.bytecode": foreign}
    )
    proc, loaded = run(interpreter, swapped, *CHECK)
    assert len(loaded) >= AT_LEAST
    patterns = "amzn_gd_doctor._re_" + tag(minor).replace("-", "_")
    assert loaded.pop(patterns) == "no bytecode for this module"
    assert set(loaded.values()) == {"bytecode of another interpreter or kind"}
    assert json.loads(proc.stdout)["timing"]["compile_ms"] > 0
    expected, _ = run(interpreter, pyz, *CHECK)
    assert report(proc) == report(expected)


@pytest.mark.parametrize("minor", [FLOOR, NEWEST])
def test_stale_bytecode_is_never_loaded(pyz: Path, tmp_path: Path, minor: str) -> None:
    """A source member changed after the build (to a text of the same size: only its content
    tells) and its bytecode not: that module is compiled from the new source, the others still
    come from bytecode."""
    interpreter = python(minor)
    with zipfile.ZipFile(str(pyz)) as zf, zipfile.ZipFile(io.BytesIO(zf.read("modules.zip"))) as m:
        source = m.read("amzn_gd_doctor/__init__.py")
    changed, other = another_version(source, rb'__version__ = "([^"]+)"')
    stale = rewritten(pyz, tmp_path / "stale.pyz", {"amzn_gd_doctor/__init__.py": changed})
    proc, loaded = run(interpreter, stale, *CHECK)
    assert json.loads(proc.stdout)["tool"]["version"] == other
    assert loaded["amzn_gd_doctor"] == "bytecode of another source"
    assert loaded["amzn_gd_doctor.cli"] == "bytecode"


@pytest.mark.parametrize("minor", [FLOOR, NEWEST])
def test_an_optimised_run_compiles_the_sources(pyz: Path, minor: str) -> None:
    """-O wants bytecode without asserts, which the file does not hold."""
    proc, loaded = run(python(minor), pyz, "list", flags=("-O", "-v"))
    assert "kernel_too_low" in proc.stdout
    assert len(loaded) >= 10 and set(loaded.values()) == {
        "an optimised run, or an interpreter without a cache tag"
    }


def test_a_file_without_bytecode_runs_from_the_sources(tmp_path: Path) -> None:
    bare = tmp_path / "bare.pyz"
    with exclusive("build"):
        subprocess.run(
            [*BUILD, "--no-bytecode", "--out", str(bare), "--wheels", str(WHEELS)], check=True
        )
    assert not [n for n in zipfile.ZipFile(str(bare)).namelist() if "__pycache__" in n]
    proc, loaded = run(python(NEWEST), bare, *CHECK)
    assert set(loaded.values()) == {f"no bytecode for {tag(NEWEST)}"}
    assert json.loads(proc.stdout)["timing"]["compile_ms"] > 0


# Run in place of the doctor once the importer is in: what a module loaded by it looks like.
# A traceback's lines come from linecache, which asks the module's loader for its source.
PROBE = """
import inspect, json, linecache, pkgutil
import amzn_gd_doctor, amzn_gd_doctor.catalog, amzn_gd_doctor.cli, amzn_gd_doctor.probes
cli = amzn_gd_doctor.cli
code = cli.main.__code__
print(json.dumps({
    "file": cli.__file__,
    "code": code.co_filename,
    "source": inspect.getsource(cli.main).splitlines()[0],
    "traceback": linecache.getline(code.co_filename, code.co_firstlineno, cli.__dict__),
    "path": list(amzn_gd_doctor.__path__),
    "probes": len(list(pkgutil.iter_modules(amzn_gd_doctor.probes.__path__))),
    "issues": len(amzn_gd_doctor.catalog.issues()),
}))
"""


@pytest.mark.parametrize("minor", [FLOOR, NEWEST])
def test_modules_from_bytecode_are_as_zipimport_makes_them(
    pyz: Path, tmp_path: Path, minor: str
) -> None:
    """__file__, __path__, code and traceback file names all name the file in the archive, as
    zipimport names them; the source is there for inspect and tracebacks; pkgutil lists a
    package's modules, and the doctor reads its data beside its modules."""
    boot = "import _amzn_gd_doctor_pyz\n" + PROBE  # as the file's __main__ puts it in place
    probed = rewritten(pyz, tmp_path / "probe.pyz", {"__main__.py": boot.encode()})
    proc, loaded = run(python(minor), probed)
    assert loaded["amzn_gd_doctor.cli"] == "bytecode"
    seen = json.loads(proc.stdout)
    archive = str(probed)
    assert seen["file"] == seen["code"] == f"{archive}/amzn_gd_doctor/cli.py"
    assert seen["source"].startswith("def main(")
    assert seen["traceback"].startswith("def main(")
    assert seen["path"] == [f"{archive}/amzn_gd_doctor"]
    assert seen["probes"] > 10 and seen["issues"] > 5


@pytest.mark.parametrize("minor", [FLOOR, NEWEST])
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_is_answered_before_anything_is_imported(pyz: Path, minor: str, flag: str) -> None:
    """The file's __main__ answers as amzn_gd_doctor.cli does, with the version the build wrote
    in, and neither the importer nor any module of the doctor is loaded (`python -v` lists every
    import)."""
    from amzn_gd_doctor import __version__

    proc, loaded = run(python(minor), pyz, flag)
    assert (proc.returncode, proc.stdout) == (0, f"amzn-gd-doctor {__version__}\n")
    assert loaded == {}
    imported = [line for line in proc.stderr.splitlines() if line.startswith("import ")]
    assert imported and not [i for i in imported if "amzn_gd_doctor" in i or "zlib" in i]
    for redirect, why in (("> /dev/full", "No space left on device"), (">&-", "closed")):
        failed = subprocess.run(
            f"{python(minor)} {pyz} {flag} {redirect}", shell=True, stderr=subprocess.PIPE
        )
        assert failed.returncode == 2
        assert failed.stderr.decode().startswith("amzn-gd-doctor: cannot write the output: ")
        assert why in failed.stderr.decode()


# Runs the file as the interpreter runs a zipapp (runpy, with the file first on sys.path) under an
# audit hook that reports every compile() of a source in the file (Python 3.8 and later).
AUDITED = """
import runpy, sys
pyz = sys.argv[1]
def hook(event, args):
    if event == "compile" and isinstance(args[1], str) and args[1].startswith(pyz):
        sys.stderr.write("# compiled " + args[1][len(pyz) + 1 :] + "\\n")
        sys.stderr.flush()
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
sys.path.insert(0, pyz)
runpy.run_path(pyz, run_name="__main__")
"""


def compiled_sources(interpreter: str, pyz: Path, *args: str) -> Tuple[str, list]:
    proc = subprocess.run(
        [interpreter, "-c", AUDITED, str(pyz), *args],
        env=ENV, capture_output=True, text=True, cwd="/", timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, 1, 3), proc.stderr[-3000:]
    found = [line[len("# compiled ") :] for line in proc.stderr.splitlines()]
    return proc.stdout, [name for name in found if name]


@pytest.mark.parametrize("args", [["--version"], ["list"], CHECK], ids=["version", "list", "check"])
def test_the_newest_interpreter_compiles_nothing(pyz: Path, args: list) -> None:
    """On the newest interpreter the file's own start comes from its pyc (zipimport's
    `__main__.pyc` and `_amzn_gd_doctor_pyz.pyc`) and every module from the bytecode member: no
    source in the file is compiled. An older one compiles only the two small sources of the
    start (3.8: the oldest with audit hooks, which see every compile)."""
    _, compiled = compiled_sources(python(NEWEST), pyz, *args)
    assert compiled == []
    _, compiled = compiled_sources(python("3.8"), pyz, *args)
    start = {"__main__.py"} if args == ["--version"] else {"__main__.py", "_amzn_gd_doctor_pyz.py"}
    assert set(compiled) == start


def test_a_stale_start_pyc_is_never_loaded(pyz: Path, tmp_path: Path) -> None:
    """`__main__.py` changed after the build (the same size, another version) and its pyc not:
    the newest interpreter compiles the changed source (the pyc is a checked hash-based one)."""
    with zipfile.ZipFile(str(pyz)) as zf:
        main = zf.read("__main__.py")
    changed, other = another_version(main, rb'VERSION = "([^"]+)"')
    stale = rewritten(pyz, tmp_path / "stale.pyz", {"__main__.py": changed})
    out, compiled = compiled_sources(python(NEWEST), stale, "--version")
    assert (out, set(compiled)) == (f"amzn-gd-doctor {other}\n", {"__main__.py"})
