"""Build dist/amzn-gd-doctor.pyz: the doctor and its pure-Python dependencies in one file that
runs as `python3 amzn-gd-doctor.pyz ...` on CPython 3.6 to 3.13, on any architecture.

The same commit always gives the same bytes: the dependencies are pinned by hash
(packaging/pyz/requirements.txt), entries are written in sorted order with a fixed timestamp
and fixed permissions, and no compiled or cached file goes in.

Usage: python3 scripts/build_pyz.py [--out FILE] [--wheels DIR]
"""

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
PYZ = REPO / "packaging" / "pyz"
SHEBANG = b"#!/usr/bin/env python3\n"
# Zip timestamps cannot go below 1980; a fixed one keeps builds identical.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Only on Python 3.6 (see packaging/pyz/main.py).
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".pyi", ".exe")


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
    entries["__main__.py"] = (PYZ / "main.py").read_bytes()
    entries["certifi/__init__.py"] = (PYZ / "certifi.py").read_bytes()
    return entries


def write(out: Path, entries: Dict[str, bytes]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(SHEBANG)
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100644 & 0xFFFF) << 16
                info.create_system = 3  # Unix, whatever the build machine
                zf.writestr(info, entries[name])
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist" / "amzn-gd-doctor.pyz")
    parser.add_argument("--wheels", type=Path, default=REPO / "build" / "pyz-wheels")
    args = parser.parse_args()
    entries = own_entries()
    for name, wheel in sorted(fetch(args.wheels).items()):
        for path, data in wheel_entries(name, wheel).items():
            if path in entries:
                sys.exit(f"build_pyz: {path} from {wheel.name} is already in the archive")
            entries[path] = data
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, entries)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    size = args.out.stat().st_size
    print(f"{args.out}: {size} bytes, {len(entries)} files, sha256 {digest}")


if __name__ == "__main__":
    main()
