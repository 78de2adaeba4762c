"""Build dist/amzn-gd-doctor.pyz: the doctor and its pure-Python dependencies in one file that
runs as `python3 amzn-gd-doctor.pyz ...` on CPython 3.6 to 3.13, on any architecture.

The file is a zip of few names: its `__main__.py`, its importer (`_amzn_gd_doctor_pyz.py`), the
licences, one bytecode member per interpreter, and `modules.zip`, a stored zip of every module
and data file it carries (the interpreter reads the whole directory of a zipapp before running
it, about 5 us a name on 3.13; see packaging/pyz/importer.py). Beside the sources, the file
holds bytecode for each interpreter from 3.6 to 3.13 that the build
finds (pyenv's newest of each minor, else python3.X on PATH, else the build's own interpreter),
compiled by that interpreter: one member per interpreter, `__pycache__/<cache tag>.bytecode`.
The file's importer (packaging/pyz/importer.py) loads a module's bytecode when it is valid for the
running interpreter and for the source beside it, and compiles the source otherwise; an
interpreter the build did not find gets no bytecode and runs from the sources, as before. The
build prints which cache tags it holds, and the modules an interpreter could not compile.

The same commit and the same interpreters always give the same bytes: the dependencies are
pinned by hash (packaging/pyz/requirements.txt), entries are written in sorted order with a
fixed timestamp and fixed permissions, and each interpreter compiles every module in one
process, in sorted order, with PYTHONHASHSEED=0 (marshal's output depends on set order and on
reference counts, both fixed that way).

Each interpreter also compiles the doctor's regular expressions, every pattern its modules make
through lazy_re: what its compiler hands the engine goes into `amzn_gd_doctor/_re_<cache
tag>.py`, in the file and in the folder below, and only that interpreter compiles that module
to bytecode (see amzn_gd_doctor/lazy_re.py, which reads it, and COLLECT_PATTERNS below).

With --tree DIR, the build also writes what the deb and rpm install under
/usr/share/amzn-gd-doctor: the same sources as a plain folder, with each interpreter's bytecode
beside them where Python's own importer looks for it (`__pycache__/<module>.<cache tag>.pyc`).
Those pycs are the ones the pyz carries with the header Python's importer checks against a
source's time stamp and size: the time stamp is SOURCE_DATE_EPOCH (default: the commit's time),
which every file of the folder gets, and which the packages give every file they install. An
edited source no longer matches its pyc and is compiled instead; an interpreter loads only the
pycs named with its own cache tag. See packaging/nfpm/launcher.py.

Usage: python3 scripts/build_pyz.py [--out FILE] [--wheels DIR] [--python PY ...] [--no-bytecode]
                                    [--tree DIR]
"""

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
PYZ = REPO / "packaging" / "pyz"
SHEBANG = b"#!/usr/bin/env python3\n"
# Zip timestamps cannot go below 1980; a fixed one keeps builds identical.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Only on Python 3.6 (see packaging/pyz/importer.py).
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".pyi", ".exe")
# The first line of each interpreter's bytecode member (see packaging/pyz/importer.py).
BUNDLE_HEAD = b"amzn-gd-doctor bytecode 1\n"
# Cache tag -> (the interpreter's version, {member: pyc as COMPILER writes it}).
Compiled = Dict[str, Tuple[str, Dict[str, bytes]]]
# The interpreters the one file runs on, and so the ones whose bytecode it carries.
MINORS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
# Run by each interpreter, from 3.6 on: reads [[member, base64 source], ...] on stdin and
# writes its cache tag, version and {member: base64 pyc} on stdout. The pyc is what py_compile
# writes for a checked hash-based pyc (PEP 552): magic number, flags 0b11,
# importlib.util.source_hash of the source, the marshalled code; 3.6 has no source_hash and
# gets the source's CRC-32 and size instead. The code is compiled from the source as zipimport
# compiles it (CRLF made LF, no inherited future flags), under the member's name; the importer
# puts the archive's path in front of that at run time, so tracebacks name the file in the
# archive. A module this interpreter cannot compile gets no bytecode (its source fails as it
# would have).
COMPILER = r"""
import base64, importlib.util, json, marshal, struct, sys, warnings, zlib
warnings.simplefilter("ignore")
out = {}
for member, encoded in json.loads(sys.stdin.buffer.read().decode("ascii")):
    source = base64.b64decode(encoded)
    try:
        source_lf = source.replace(b"\r\n", b"\n")
        code = compile(source_lf, member, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        continue
    if hasattr(importlib.util, "source_hash"):
        key = importlib.util.source_hash(source)
    else:
        key = struct.pack("<II", zlib.crc32(source) & 0xFFFFFFFF, len(source) & 0xFFFFFFFF)
    pyc = importlib.util.MAGIC_NUMBER + struct.pack("<I", 3) + key + marshal.dumps(code)
    out[member] = base64.b64encode(pyc).decode("ascii")
    del code
version = "%d.%d.%d" % sys.version_info[:3]
json.dump({"tag": sys.implementation.cache_tag, "version": version, "pycs": out}, sys.stdout)
"""


def pinned() -> List[Tuple[str, str, str]]:
    """(name, version, sha256) from the requirements file."""
    out = []
    for line in (PYZ / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, _, digest = line.partition(" --hash=sha256:")
        name, _, version = spec.partition("==")
        out.append((name, version, digest.strip()))
    return out


def fetch(wheels: Path) -> Dict[str, Path]:
    """The pinned wheels, downloaded once into WHEELS and checked against their hashes."""
    wheels.mkdir(parents=True, exist_ok=True)
    wanted = pinned()

    def present() -> Dict[str, Path]:
        """Pinned name -> the wheel in WHEELS whose sha256 is the pinned one."""
        by_digest = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in wheels.glob("*.whl")}
        return {name: by_digest[digest] for name, _, digest in wanted if digest in by_digest}

    found = present()
    if len(found) < len(wanted):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.6", "--implementation", "cp",
             "--abi", "none", "--platform", "any", "--require-hashes",
             "-r", str(PYZ / "requirements.txt"), "-d", str(wheels)],
            check=True,
        )  # fmt: skip
        found = present()
    missing = [name for name, _, _ in wanted if name not in found]
    if missing:
        sys.exit(f"build_pyz: no wheel with the pinned hash for: {', '.join(missing)}")
    return found


def wheel_entries(name: str, wheel: Path) -> Dict[str, bytes]:
    """Importable files of one wheel, plus its licence; metadata and caches are left out."""
    entries = {}
    with zipfile.ZipFile(str(wheel)) as zf:
        for info in zf.infolist():
            path = info.filename
            if info.is_dir() or path.endswith(SKIPPED_SUFFIXES) or "__pycache__" in path:
                continue
            top = path.split("/", 1)[0]
            if top.endswith(".dist-info"):
                base = path.rsplit("/", 1)[-1]
                if base.upper().startswith(("LICENSE", "LICENCE", "COPYING")):
                    entries[f"_licenses/{name}/{base}"] = zf.read(info)
                continue
            if top.endswith(".data"):
                continue
            entries[path] = zf.read(info)
    return entries


def own_entries() -> Dict[str, bytes]:
    entries = {}
    package = REPO / "amzn_gd_doctor"
    for path in sorted(package.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        entries[path.relative_to(REPO).as_posix()] = path.read_bytes()
    main = (PYZ / "main.py").read_bytes()
    version = re.search(rb'^__version__ = "([^"]+)"$', (package / "__init__.py").read_bytes(), re.M)
    line = b"\nVERSION = None  #"
    if version is None or main.count(line) != 1:
        sys.exit(
            "build_pyz: no version in amzn_gd_doctor/__init__.py, or no place for it in main.py"
        )
    entries["__main__.py"] = main.replace(line, b'\nVERSION = "' + version.group(1) + b'"  #')
    entries["_amzn_gd_doctor_pyz.py"] = (PYZ / "importer.py").read_bytes()
    entries["certifi/__init__.py"] = (PYZ / "certifi.py").read_bytes()
    return entries


# Run by the build's own interpreter with the repository on its path: every pattern the doctor's
# modules make through lazy_re (the modules are imported, nothing is run), as
# [["s" or "b", text or base64 bytes, flags], ...].
COLLECT_PATTERNS = r"""
import base64, importlib, json, pkgutil, sys
import amzn_gd_doctor
from amzn_gd_doctor import lazy_re
for info in pkgutil.walk_packages(amzn_gd_doctor.__path__, "amzn_gd_doctor."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from amzn_gd_doctor.catalog.phrases import phrase_classes
phrase_classes()  # the phrase classes' patterns are made on first use
out = set()
for pattern, flags in lazy_re.MADE:
    if isinstance(pattern, bytes):
        out.add(("b", base64.b64encode(pattern).decode("ascii"), flags))
    else:
        out.add(("s", pattern, flags))
json.dump(sorted(out), sys.stdout)
"""
# Run by each interpreter, from 3.6 on: reads COLLECT_PATTERNS' list on stdin and writes what its
# regular expression compiler hands the engine for each, `_sre.compile(pattern, flags, code,
# groups, groupindex, indexgroup)`, caught on the way, with what that code depends on (see
# amzn_gd_doctor/lazy_re.py). A pattern this interpreter cannot compile is left out.
REGEX_COMPILER = r"""
import base64, json, re, sys, warnings
warnings.simplefilter("ignore")
try:
    import re._compiler as compiler
except ImportError:
    import sre_compile as compiler
import _sre
caught = []
class Engine(object):
    def __getattr__(self, name):
        return getattr(_sre, name)
    def compile(self, *args):
        caught.append(args)
        return _sre.compile(*args)
compiler._sre = Engine()
out = []
for kind, text, flags in json.loads(sys.stdin.read()):
    pattern = base64.b64decode(text) if kind == "b" else text
    del caught[:]
    re.purge()
    try:
        re.compile(pattern, flags)
    except Exception:
        continue
    if len(caught) != 1 or len(caught[0]) != 6 or caught[0][0] != pattern:
        continue
    _, final, code, groups, groupindex, indexgroup = caught[0]
    out.append([kind, text, flags, int(final), [int(c) for c in code], int(groups),
                dict(groupindex), list(indexgroup), isinstance(indexgroup, tuple)])
engine = [_sre.MAGIC, _sre.CODESIZE, _sre.MAXREPEAT, _sre.MAXGROUPS, sys.byteorder]
version = "%d.%d.%d" % sys.version_info[:3]
json.dump({"tag": sys.implementation.cache_tag, "version": version, "engine": engine,
           "patterns": out}, sys.stdout)
"""
# The module of one interpreter's compiled patterns, amzn_gd_doctor/_re_<cache tag>.py.
REGEX_MODULE = "amzn_gd_doctor/_re_{}.py"


def collect_patterns() -> List[list]:
    """Every pattern the doctor's modules make through lazy_re (COLLECT_PATTERNS)."""
    environ = {
        "PATH": "/usr/bin:/bin",
        "LC_ALL": "C",
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = subprocess.run(
        [sys.executable, "-s", "-c", COLLECT_PATTERNS],
        stdout=subprocess.PIPE,
        env=environ,
        cwd=str(REPO),
        check=True,
    )
    return json.loads(proc.stdout)


def regex_module(result: dict) -> bytes:
    """REGEX_COMPILER's answer as a module for lazy_re: ENGINE, and PATTERNS, {(pattern,
    flags): (flags, code, groups, groupindex, indexgroup)}, in sorted order."""
    lines = [
        f'"""The doctor\'s regular expressions as CPython {result["version"]} compiles them, made',
        'by scripts/build_pyz.py for lazy_re; taken only by the engine that ENGINE names."""',
        "",
        f"ENGINE = {tuple(result['engine'])!r}",
        "PATTERNS = {",
    ]
    for kind, text, flags, final, code, groups, groupindex, indexgroup, as_tuple in sorted(
        result["patterns"], key=lambda e: (e[0], e[1], e[2])
    ):
        pattern = base64.b64decode(text) if kind == "b" else text
        index = tuple(indexgroup) if as_tuple else list(indexgroup)
        value = (final, tuple(code), groups, dict(sorted(groupindex.items())), index)
        lines.append(f"    {(pattern, flags)!r}: {value!r},")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


# How the build runs an interpreter's compiler: -s -S, no site, so nothing outside the standard
# library is imported; a clean environment with PYTHONHASHSEED=0 (which -E or -I would ignore).
SCRIPT_ENV = {"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def run_script(python: str, script: str, data: bytes) -> bytes:
    """What SCRIPT, run by PYTHON as SCRIPT_ENV says, writes given DATA on its standard input."""
    return subprocess.run(
        [python, "-s", "-S", "-c", script],
        input=data,
        stdout=subprocess.PIPE,
        env=SCRIPT_ENV,
        cwd="/",
        check=True,
    ).stdout


def compile_regexes(python: str, patterns: List[list]) -> Optional[Tuple[str, str, bytes]]:
    """(cache tag, member, module source) of PYTHON's compiled PATTERNS, or None when it gave
    none (see REGEX_COMPILER)."""
    try:
        result = json.loads(run_script(python, REGEX_COMPILER, json.dumps(patterns).encode()))
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        print(f"build_pyz: {python} gave no compiled patterns: {exc}", file=sys.stderr)
        return None
    tag = result["tag"]
    member = REGEX_MODULE.format(tag.replace("-", "_"))
    print(
        f"build_pyz: {member}: {len(result['patterns'])} of {len(patterns)} patterns "
        f"(Python {result['version']})"
    )
    return tag, member, regex_module(result)


def regex_modules(pythons: List[str]) -> Dict[str, Tuple[str, bytes]]:
    """Member -> (the interpreter that made it, source) of each interpreter's compiled
    patterns (the first of a tag wins, as for bytecode)."""
    patterns = collect_patterns()
    out: Dict[str, Tuple[str, bytes]] = {}
    for python in pythons:
        made = compile_regexes(python, patterns)
        if made is not None and made[1] not in out:
            out[made[1]] = (python, made[2])
    return out


def version_key(path: Path) -> Tuple[int, ...]:
    """3.11.7 -> (3, 11, 7); a pre-release or other suffix sorts as its release's number."""
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)[:3])


def find_interpreters() -> Dict[str, str]:
    """Minor -> an interpreter of it: pyenv's newest release of that minor, else python3.X on
    PATH, else this interpreter when it is of that minor."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = {}
    for minor in MINORS:
        pattern = re.compile(re.escape(minor) + r"\.\d+$")
        candidates = sorted(
            (
                p
                for p in root.glob(f"versions/{minor}.*/bin/python3")
                if pattern.match(p.parent.parent.name)
            ),
            key=version_key,
        )
        on_path = shutil.which(f"python{minor}")
        if candidates:
            found[minor] = str(candidates[-1])
        elif on_path:
            found[minor] = on_path
        elif f"{sys.version_info[0]}.{sys.version_info[1]}" == minor:
            found[minor] = sys.executable
    return found


def compile_with(
    python: str, sources: Dict[str, bytes]
) -> Optional[Tuple[str, str, Dict[str, bytes]]]:
    """(cache tag, version, {member: pyc}) from PYTHON, or None when it is not a CPython that
    can run the compiler (run as run_script runs it)."""
    jobs = [[name, base64.b64encode(sources[name]).decode("ascii")] for name in sorted(sources)]
    check = "import sys; sys.exit(sys.implementation.name != 'cpython')"
    try:
        if subprocess.run(
            [python, "-s", "-S", "-c", check], env=SCRIPT_ENV, check=False
        ).returncode:
            return None
        out = run_script(python, COMPILER, json.dumps(jobs).encode("ascii"))
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"build_pyz: {python} gave no bytecode: {exc}", file=sys.stderr)
        return None
    result = json.loads(out)
    pycs = {name: base64.b64decode(data) for name, data in result["pycs"].items()}
    return result["tag"], result["version"], pycs


def bundle(pycs: Dict[str, bytes], sources: Dict[str, bytes]) -> bytes:
    """One interpreter's bytecode as packaging/pyz/importer.py reads it: BUNDLE_HEAD, the index's
    length (4 bytes, little-endian), the index (`<source member> <offset> <length> <CRC-32>
    <size>` a line: offsets from the end of the index, then the CRC-32 and size of the source
    it was compiled from) and each module's pyc compressed with zlib."""
    index, blobs, offset = [], [], 0
    for member in sorted(pycs):
        blob = zlib.compress(pycs[member], 9)
        source = sources[member]
        index.append(f"{member} {offset} {len(blob)} {zlib.crc32(source)} {len(source)}\n")
        blobs.append(blob)
        offset += len(blob)
    text = "".join(index).encode("utf-8")
    return BUNDLE_HEAD + len(text).to_bytes(4, "little") + text + b"".join(blobs)


def compile_all(
    sources: Dict[str, bytes], pythons: List[str], own: "Optional[Dict[str, str]]" = None
) -> Compiled:
    """Cache tag -> (version, {member: pyc}) from each of PYTHONS (the first of a tag wins);
    prints which tags the build holds and which it lacks. OWN: member -> the one interpreter
    that compiles it (an interpreter's compiled patterns, which only it reads)."""
    out: Compiled = {}
    for python in pythons:
        mine = {m: d for m, d in sources.items() if (own or {}).get(m, python) == python}
        compiled = compile_with(python, mine)
        if compiled is None:
            continue
        tag, version, pycs = compiled
        if tag in out:
            continue  # two interpreters of one minor: the first found wins
        out[tag] = (version, pycs)
        what = f"Python {version}, {len(pycs)} of {len(mine)} modules"
        if len(pycs) < len(mine):
            what += "; not compiled: " + ", ".join(sorted(set(mine) - set(pycs)))
        print(f"build_pyz: bytecode for {tag} ({what})")
    missing = [t for t in ("cpython-" + m.replace(".", "") for m in MINORS) if t not in out]
    if missing:
        print(f"build_pyz: no interpreter for {', '.join(missing)}: those compile the sources")
    return out


# The one file's own start: zipimport loads them, before the doctor's importer is in place, from
# their pyc when it is the running interpreter's (start_pycs).
PYZ_ONLY = ("__main__.py", "_amzn_gd_doctor_pyz.py")
PYZ_ONLY_PYCS = tuple(name + "c" for name in PYZ_ONLY)
# The stored member that holds every module and data file (packaging/pyz/importer.py).
MODULES = "modules.zip"


def modules(entries: Dict[str, bytes]) -> Dict[str, bytes]:
    """The sources the build compiles: every module but the one file's own start."""
    return {n: d for n, d in entries.items() if n.endswith(".py") and n not in PYZ_ONLY}


def start_pycs(compiled: Compiled) -> Dict[str, bytes]:
    """`__main__.pyc` and `_amzn_gd_doctor_pyz.pyc` of the newest interpreter compiled (3.7 or
    later), taken out of COMPILED. zipimport loads the file's own start, and looks for one
    `<module>.pyc` beside each `<module>.py`: it uses it when it has the running interpreter's
    magic number and, being a checked hash-based pyc, the hash of the source beside it, and
    compiles the source otherwise. So the newest interpreter runs no compiler at all (the first
    compile in a process costs about 1.5 ms on 3.13, more than the rest of `--version`); the
    others compile the two small sources, as before."""
    out: Dict[str, bytes] = {}
    newest = max(compiled, key=lambda t: version_tuple(compiled[t][0]), default=None)
    for tag, (version, pycs) in compiled.items():
        for name in PYZ_ONLY:
            pyc = pycs.pop(name, None)
            if tag == newest and pyc is not None and version_tuple(version) >= (3, 7):
                out[name + "c"] = pyc
    return out


def version_tuple(version: str) -> Tuple[int, ...]:
    return tuple(int(n) for n in version.split(".")[:3])


def bytecode(compiled: Compiled, sources: Dict[str, bytes]) -> Dict[str, bytes]:
    """`__pycache__/<tag>.bytecode` members for the one file, one per interpreter compiled."""
    return {
        f"__pycache__/{tag}.bytecode": bundle(pycs, sources) for tag, (_, pycs) in compiled.items()
    }


def timestamp_pyc(pyc: bytes, version: str, source: bytes, mtime: int) -> bytes:
    """PYC (as COMPILER writes it: magic, flags, key, code) with the header of a pyc that
    Python's own importer checks against its source's time stamp and size: magic, flags 0 and
    both (3.7 and later, PEP 552), or magic and both (3.6)."""
    stamp = struct.pack("<II", mtime & 0xFFFFFFFF, len(source) & 0xFFFFFFFF)
    flags = b"" if version.startswith("3.6.") else b"\0\0\0\0"
    return pyc[:4] + flags + stamp + pyc[16:]


def tree_files(entries: Dict[str, bytes], compiled: Compiled, mtime: int) -> Dict[str, bytes]:
    """What the packages install under /usr/share/amzn-gd-doctor: the one file's modules and
    data (not its own start, its bytecode members, nor the licences, which the packages' copyright
    file holds) and each interpreter's pyc of every module, where Python looks for it."""
    files = {
        name: data
        for name, data in entries.items()
        if name not in PYZ_ONLY + PYZ_ONLY_PYCS
        and not name.startswith(("__pycache__/", "_licenses/"))
    }
    for tag, (version, pycs) in compiled.items():
        for member, pyc in pycs.items():
            folder, _, base = member.rpartition("/")
            name = f"{folder}/__pycache__/{base[:-3]}.{tag}.pyc".lstrip("/")
            files[name] = timestamp_pyc(pyc, version, entries[member], mtime)
    return files


def write_tree(dest: Path, files: Dict[str, bytes], mtime: int) -> None:
    """FILES under DEST (made anew: beside it, then renamed over it), every file 0644 and every
    folder 0755, each with the time stamp MTIME."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(str(tmp), ignore_errors=True)
    for name in sorted(files):
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        path.chmod(0o644)
    folders = [tmp] + [p for p in tmp.rglob("*") if p.is_dir()]
    for path in [p for p in tmp.rglob("*") if p.is_file()] + folders:
        if path.is_dir():
            path.chmod(0o755)
        os.utime(str(path), (mtime, mtime))
    shutil.rmtree(str(dest), ignore_errors=True)
    os.replace(str(tmp), str(dest))


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH, else the commit's time, else a fixed one (as build_packages.sh)."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], cwd=str(REPO), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, check=True,
        ).stdout  # fmt: skip
        return int(out.decode().strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 1796601600


def zip_of(entries: Dict[str, bytes], stored: Tuple[str, ...] = ()) -> bytes:
    """A zip of ENTRIES in sorted order, with one fixed time stamp and fixed permissions; the
    names in STORED (and those ending in `.bytecode`) uncompressed, the rest deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            # Bytecode and modules.zip are read in place (packaging/pyz/importer.py), and
            # __main__ stored spares `--version` importing zlib.
            plain = name in stored or name.endswith(".bytecode")
            info.compress_type = zipfile.ZIP_STORED if plain else zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # Unix, whatever the build machine
            # Names are UTF-8 (general purpose flag bit 11): zipimport on 3.6 and 3.7
            # otherwise decodes them as cp437, whose codec costs 2 ms to import.
            info.flag_bits |= 0x800
            zf.writestr(info, entries[name])
    return out.getvalue()


def write(out: Path, entries: Dict[str, bytes]) -> None:
    """The file: the shebang, then a zip of the file's own start, the licences and the bytecode,
    with every other entry in its stored member modules.zip."""
    own = [
        n
        for n in entries
        if n in PYZ_ONLY + PYZ_ONLY_PYCS or n.startswith(("__pycache__/", "_licenses/"))
    ]
    outer = {name: entries[name] for name in own}
    outer[MODULES] = zip_of({n: d for n, d in entries.items() if n not in own})
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(SHEBANG)
        fh.write(zip_of(outer, stored=("__main__.py", MODULES, *PYZ_ONLY_PYCS)))
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "amzn-gd-doctor.pyz")
    parser.add_argument("--wheels", type=Path, default=REPO / "build" / "pyz-wheels")
    parser.add_argument(
        "--python",
        action="append",
        help="an interpreter whose bytecode the file carries (repeatable; default: one of each "
        "minor from 3.6 to 3.13 that is found)",
    )
    parser.add_argument("--no-bytecode", action="store_true", help="carry the sources only")
    parser.add_argument(
        "--tree", type=Path, help="also write the packages' folder (sources and pycs) here"
    )
    args = parser.parse_args()
    entries = own_entries()
    for name, wheel in sorted(fetch(args.wheels).items()):
        for path, data in wheel_entries(name, wheel).items():
            if path in entries:
                sys.exit(f"build_pyz: {path} from {wheel.name} is already in the archive")
            entries[path] = data
    packages = {n.rpartition("/")[0] for n in entries if n.endswith(".py") and "/" in n}
    loose = sorted(p for p in packages if p + "/__init__.py" not in entries)
    if loose:  # the importer serves regular packages only (packaging/pyz/importer.py)
        sys.exit(f"build_pyz: folders of modules without an __init__.py: {', '.join(loose)}")
    compiled: Compiled = {}
    if not args.no_bytecode:
        pythons = args.python or list(find_interpreters().values())
        start = {name: entries[name] for name in PYZ_ONLY}
        own = regex_modules(pythons)
        for member, (_, source) in own.items():
            entries[member] = source
        compiled = compile_all(
            {**modules(entries), **start}, pythons, {m: p for m, (p, _) in own.items()}
        )
        entries.update(start_pycs(compiled))
    if args.tree:
        mtime = source_date_epoch()
        files = tree_files(entries, compiled, mtime)
        write_tree(args.tree, files, mtime)
        print(f"{args.tree}: {len(files)} files, {sum(map(len, files.values()))} bytes")
    entries.update(bytecode(compiled, modules(entries)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, entries)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    size = args.out.stat().st_size
    print(f"{args.out}: {size} bytes, {len(entries)} files, sha256 {digest}")


if __name__ == "__main__":
    main()
