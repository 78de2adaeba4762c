"""The rpm and deb packages and the SSM document, installed and run for real in a Debian 12
tree made by debootstrap (scripts/debian_tree.sh amd64): dpkg installs and purges the .deb under
chroot; Debian's rpm installs and erases the .rpm with --root; lintian checks the .deb. The
document runs through the SSM agent's own code (`ssm-agent-doc run --chroot`, tests/ssm_run.py),
in a network namespace of its own, both with the .deb installed and with nothing installed but
the pyz served over HTTPS on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
from ssm_agent import CONSOLE_BYTES, ERROR_TITLE, agent_line, needs_agent
from support import REPO, ROOTS, exclusive

from amzn_gd_doctor import __version__

sys.path.insert(0, str(REPO / "scripts"))
from build_pyz import find_interpreters  # noqa: E402

DIST = REPO / "dist"
V = __version__
# One package per format: the payload is pure Python, for every architecture.
DEB = DIST / f"amzn-gd-doctor_{V}_all.deb"
RPM = DIST / f"amzn-gd-doctor-{V}-1.noarch.rpm"
# The modules and their bytecode (build/package-tree), beside the files below.
LIB = "usr/share/amzn-gd-doctor"
PACKAGE_TREE = REPO / "build" / "package-tree"
PAYLOAD = {
    DEB: [
        "usr/bin/amzn-gd-doctor",
        "usr/share/doc/amzn-gd-doctor/changelog.Debian.gz",
        "usr/share/doc/amzn-gd-doctor/copyright",
        "usr/share/lintian/overrides/amzn-gd-doctor",
        "usr/share/man/man1/amzn-gd-doctor.1.gz",
    ],
    RPM: [
        "usr/bin/amzn-gd-doctor",
        "usr/share/licenses/amzn-gd-doctor/copyright",
        "usr/share/man/man1/amzn-gd-doctor.1.gz",
    ],
}
# What lintian may still say of the .deb, each explained in packaging/README.md; and what the
# package overrides (packaging/nfpm/lintian-overrides, explained there and in the README).
LINTIAN_KEPT = {"initial-upload-closes-no-bugs"}
LINTIAN_OVERRIDDEN = {"package-installs-python-pycache-dir", "unusual-interpreter"}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KERNEL_LOW = (
    'amzn-gd-doctor: UNHEALTHY | Agent Not Provisioned | "Kernel version is lower than the '
    'supported version." | confirmed | instance id unknown\n'
)
# What installing and removing a package legitimately changes: the package managers' own
# records and logs.
BOOKKEEPING = ("var/lib/dpkg/", "var/log/", "var/lib/rpm", "usr/lib/sysimage/rpm", "var/cache/")

needs_tools = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("unshare"),
    reason="needs root, debootstrap (package debootstrap) and unshare (util-linux) for a "
    "Debian tree and a network namespace",
)


@pytest.fixture(scope="session")
def built() -> None:
    """The pyz, the two packages and the SSM document, built from this checkout as a user
    builds them: `./scripts/build.sh`, which makes or reuses its own build environment."""
    with exclusive("build"):
        subprocess.run([str(REPO / "scripts" / "build.sh")], check=True, cwd=str(REPO))


@pytest.fixture(scope="session")
def debian_tree() -> Path:
    tree = REPO / "build" / "debian12-tree"
    with exclusive("debian-tree"):
        proc = subprocess.run(
            [str(REPO / "scripts" / "debian_tree.sh"), "amd64", str(tree)], cwd=str(REPO)
        )
    if proc.returncode != 0:
        pytest.skip("debootstrap could not make a Debian 12 tree (Debian archive unreachable?)")
    return tree


@pytest.fixture
def tree(debian_tree: Path, tmp_path: Path) -> Path:
    """A scratch copy of the Debian tree that the test may change."""
    dest = tmp_path / "tree"
    subprocess.run(["cp", "-a", str(debian_tree), str(dest)], check=True)
    return dest


def chroot(
    tree: Path, *argv: str, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["chroot", str(tree), *argv],
        env={"PATH": PATH, "LANG": "C.UTF-8", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def files(tree: Path) -> Set[str]:
    found = set()
    for base, dirs, names in os.walk(str(tree)):
        for name in dirs + names:
            rel = os.path.relpath(os.path.join(base, name), str(tree))
            if not rel.startswith(BOOKKEEPING):
                found.add(rel)
    return found


def diagnose_in(tree: Path) -> str:
    """The installed doctor, on the tree's own python3, diagnoses a scenario copied in."""
    shutil.copytree(str(ROOTS / "al2-4.14"), str(tree / "srv/al2-4.14"), symlinks=True)
    version = chroot(tree, "amzn-gd-doctor", "--version")
    assert (version.returncode, version.stdout) == (0, f"amzn-gd-doctor {V}\n"), version.stderr
    env = {"AWS_EC2_METADATA_DISABLED": "true"}
    run = chroot(
        tree, "amzn-gd-doctor", "check", "-f", "summary", "--root", "/srv/al2-4.14", env=env
    )
    assert run.returncode == 1 and run.stderr == "", run.stderr
    shutil.rmtree(str(tree / "srv/al2-4.14"))
    return run.stdout


def install_deb(tree: Path) -> None:
    shutil.copy(str(DEB), str(tree / "tmp/pkg.deb"))
    installed = chroot(tree, "dpkg", "-i", "/tmp/pkg.deb")
    assert installed.returncode == 0, installed.stderr
    (tree / "tmp/pkg.deb").unlink()


# -- the build ----------------------------------------------------------------------------------
def digests() -> Dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DIST.iterdir())}


@pytest.mark.usefixtures("built")
def test_a_second_build_reuses_its_environment_and_gives_the_same_bytes() -> None:
    first = digests()
    assert sorted(first) == sorted(["amzn-gd-doctor.pyz", DEB.name, RPM.name])
    with exclusive("build"):
        again = subprocess.run(
            [str(REPO / "scripts" / "build.sh")],
            capture_output=True, text=True, cwd=str(REPO), timeout=600,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "making the build environment" not in again.stdout
    assert digests() == first


# -- package contents ---------------------------------------------------------------------------
def elf_members(data: bytes) -> List[str]:
    """Names of ELF files in a payload: the file itself, or members of a zip."""
    found = ["<file>"] if data.startswith(b"\x7fELF") else []
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            found += [n for n in zf.namelist() if zf.read(n).startswith(b"\x7fELF")]
    return found


def payload(package: Path, tmp_path: Path) -> Dict[str, bytes]:
    out = tmp_path / package.name
    out.mkdir()
    if package.suffix == ".deb":
        subprocess.run(["dpkg-deb", "-x", str(package), str(out)], check=True)
    else:
        rpm2cpio = subprocess.run(["rpm2cpio", str(package)], check=True, capture_output=True)
        subprocess.run(["cpio", "-idm", "--quiet"], input=rpm2cpio.stdout, cwd=str(out), check=True)
    return {
        os.path.relpath(os.path.join(b, n), str(out)): Path(b, n).read_bytes()
        for b, _, names in os.walk(str(out))
        for n in names
    }


def lib_paths() -> Set[str]:
    """Every file and folder the packages install under /usr/share/amzn-gd-doctor, the folder
    included, as build/package-tree holds them."""
    found = {LIB}
    for base, dirs, names in os.walk(str(PACKAGE_TREE)):
        for name in dirs + names:
            found.add(LIB + "/" + os.path.relpath(os.path.join(base, name), str(PACKAGE_TREE)))
    return found


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("package", sorted(PAYLOAD), ids=lambda p: p.name)
def test_package_holds_the_compiled_modules_launcher_man_page_and_copyright(
    package: Path, tmp_path: Path
) -> None:
    """The modules and data of the pyz (less its own start and its licences, which the
    copyright file holds), a pyc of every module for each interpreter the pyz has bytecode for,
    named by its cache tag where Python looks for it (an interpreter's compiled patterns,
    `amzn_gd_doctor/_re_<tag>.py`, only for that one), the launcher, and no machine code."""
    import gzip

    contents = payload(package, tmp_path)
    lib = {n[len(LIB) + 1 :]: d for n, d in contents.items() if n.startswith(LIB + "/")}
    assert sorted(set(contents) - {LIB + "/" + n for n in lib}) == PAYLOAD[package]
    assert (
        contents["usr/bin/amzn-gd-doctor"]
        == (REPO / "packaging" / "nfpm" / "launcher.py").read_bytes()
    )
    with zipfile.ZipFile(str(DIST / "amzn-gd-doctor.pyz")) as zf:
        names = zf.namelist()
        with zipfile.ZipFile(io.BytesIO(zf.read("modules.zip"))) as modules:
            carried = {n: modules.read(n) for n in modules.namelist()}
    tags = sorted(n[len("__pycache__/") : -len(".bytecode")] for n in names if "bytecode" in n)
    assert len(tags) == len(find_interpreters())
    sources = {n: d for n, d in lib.items() if "__pycache__" not in n}
    assert sources == carried
    pycs = sorted(n for n in lib if n not in sources)
    expected = []
    for name in (n for n in carried if n.endswith(".py")):
        folder, _, base = name.rpartition("/")
        at = folder + "/__pycache__/" if folder else "__pycache__/"
        own = [t for t in tags if name == f"amzn_gd_doctor/_re_{t.replace('-', '_')}.py"]
        expected += [f"{at}{base[:-3]}.{tag}.pyc" for tag in own or tags]
    assert pycs == sorted(expected)
    assert sorted(n for n in sources if "/_re_" in n) == sorted(
        f"amzn_gd_doctor/_re_{t.replace('-', '_')}.py" for t in tags
    )
    assert all(elf_members(data) == [] for data in contents.values())
    page = gzip.decompress(contents["usr/share/man/man1/amzn-gd-doctor.1.gz"]).decode()
    assert page.startswith(".TH AMZN\\-GD\\-DOCTOR 1 ") and "\\-\\-deadline" in page
    copyright_file = next(data for name, data in contents.items() if name.endswith("/copyright"))
    assert copyright_file == (REPO / "packaging" / "copyright").read_bytes()


# Under `python -v`, the importer says where each module's code came from: "# code object from
# '<pyc>'" (quoted) for bytecode, "# code object from <source>" for a source it compiled.
CODE_FROM = re.compile(r"^# code object from '?(.+?)'?$")


def code_origins(stderr: str, lib: str) -> Dict[str, str]:
    """{module file under LIB: "bytecode <cache tag>" or "source"} from a `python -v` run."""
    out = {}
    for line in stderr.splitlines():
        found = CODE_FROM.match(line)
        if found and found.group(1).startswith(lib + "/"):
            path = found.group(1)
            if path.endswith(".pyc"):
                out[path] = "bytecode " + path.rsplit(".", 2)[-2]
            else:
                out[path] = "source"
    return out


@pytest.mark.usefixtures("built")
@pytest.mark.parametrize("minor", ["3.6", "3.13"])
def test_unpacked_package_runs_every_module_from_its_bytecode(tmp_path: Path, minor: str) -> None:
    """The .deb unpacked (dpkg-deb -x) and run by the launcher on the floor and the newest
    interpreter: every module of the doctor comes from the pyc of that interpreter, and nothing
    is written (every file and folder is as unpacked, time stamps included)."""
    pythons = find_interpreters()
    if minor not in pythons:
        pytest.skip(f"no Python {minor} here (pyenv or python{minor} on PATH)")
    payload(DEB, tmp_path)
    root = tmp_path / DEB.name
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    argv = [pythons[minor], "-v", str(root / "usr/bin/amzn-gd-doctor")]
    env = {"PATH": PATH, "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
    check = argv + ["check", "-f", "json", "--root", str(ROOTS / "agent-healthy")]
    run = subprocess.run(check + ["--dns-server", "127.0.0.1:9"], capture_output=True, text=True,
                         env=env, cwd="/", timeout=300)  # fmt: skip
    assert run.returncode == 3, run.stderr[-3000:]  # no IMDS: UNKNOWN, the tree's checks pass
    assert json.loads(run.stdout)["tool"]["version"] == V
    origins = code_origins(run.stderr, str(root / LIB))
    tag = "cpython-" + minor.replace(".", "")
    assert len(origins) >= 50 and set(origins.values()) == {"bytecode " + tag}
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    # The launcher's loader counts the time (amzn_gd_doctor/timed_imports.py): nothing compiled.
    timing = json.loads(run.stdout)["timing"]
    assert timing["compile_ms"] == 0 and timing["import_ms"] > 0


@pytest.mark.usefixtures("built")
def test_a_run_without_valid_pycs_says_how_long_it_spent_compiling(tmp_path: Path) -> None:
    """An optimised run (-O) looks for `.opt-1.pyc` files, which the package does not hold: as
    on an interpreter it holds no bytecode for, every module is compiled from source on every
    run, and the report's `timing.compile_ms` says so. The report itself is the same."""
    payload(DEB, tmp_path)
    launcher = str(tmp_path / DEB.name / "usr/bin/amzn-gd-doctor")
    env = {"PATH": PATH, "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
    check = ["check", "-f", "json", "--root", str(ROOTS / "agent-healthy")]
    check += ["--dns-server", "127.0.0.1:9"]
    reports = {}
    for flags in ((), ("-O",)):
        run = subprocess.run([sys.executable, *flags, launcher, *check], capture_output=True,
                             text=True, env=env, cwd="/", timeout=300)  # fmt: skip
        assert run.returncode == 3, run.stderr[-3000:]
        reports[flags] = json.loads(run.stdout)
    compiled, optimised = reports[()]["timing"], reports[("-O",)]["timing"]
    assert compiled["compile_ms"] == 0
    assert optimised["compile_ms"] > 20 and optimised["import_ms"] >= optimised["compile_ms"]
    assert [c["outcome"] for c in reports[()]["checks"]] == [
        c["outcome"] for c in reports[("-O",)]["checks"]
    ]


@pytest.mark.usefixtures("built")
def test_deb_control_and_changelog(tmp_path: Path) -> None:
    import gzip

    fields = subprocess.run(
        ["dpkg-deb", "-f", str(DEB), "Architecture", "Depends", "Recommends", "Version"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert fields == (
        f"Architecture: all\nDepends: python3 (>= 3.6)\nRecommends: python3-systemd\n"
        f"Version: {V}-1\n"
    )
    control = subprocess.run(
        ["dpkg-deb", "-I", str(DEB)], check=True, capture_output=True, text=True
    )
    assert "postinst" not in control.stdout and "preinst" not in control.stdout
    changelog = gzip.decompress(
        payload(DEB, tmp_path)["usr/share/doc/amzn-gd-doctor/changelog.Debian.gz"]
    ).decode()
    assert changelog.startswith(f"amzn-gd-doctor ({V}-1) ")


@pytest.mark.usefixtures("built")
def test_rpm_metadata() -> None:
    def query(*what: str) -> str:
        return subprocess.run(
            ["rpm", "-qp", *what, str(RPM)], check=True, capture_output=True, text=True
        ).stdout

    assert query("--qf", "%{ARCH}") == "noarch"
    assert [r for r in query("--requires").splitlines() if not r.startswith("rpmlib(")] == [
        "python3 >= 3.6"
    ]
    assert query("--suggests") == "python3-systemd\n"
    owned = ["/" + name for name in PAYLOAD[RPM]] + ["/usr/share/licenses/amzn-gd-doctor"]
    owned = sorted(owned + ["/" + name for name in lib_paths()])
    assert query("-l").splitlines() == owned
    assert query("-L") == "/usr/share/licenses/amzn-gd-doctor/copyright\n"
    assert query("--changelog").startswith("* ") and f" - {V}-1\n" in query("--changelog")
    assert query("--scripts") == ""


@pytest.mark.skipif(not shutil.which("lintian"), reason="needs lintian (Debian package lintian)")
@pytest.mark.usefixtures("built")
def test_lintian_finds_no_error_and_only_the_explained_warnings() -> None:
    proc = subprocess.run(
        ["lintian", "--pedantic", "--display-info", "--no-tag-display-limit", str(DEB)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    tags = [line.split()[2] for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert [line for line in proc.stdout.splitlines() if line.startswith("E:")] == []
    assert set(tags) <= LINTIAN_KEPT, proc.stdout
    explained = (REPO / "packaging" / "README.md").read_text()
    assert all(f"`{tag}`" in explained for tag in LINTIAN_KEPT | LINTIAN_OVERRIDDEN)
    overrides = (REPO / "packaging" / "nfpm" / "lintian-overrides").read_text()
    overridden = {line.split()[1] for line in overrides.splitlines() if line[:1] not in "# "}
    assert overridden == LINTIAN_OVERRIDDEN
    # Each override is used: none of them is stale.
    shown = subprocess.run(
        ["lintian", "--pedantic", "--show-overrides", str(DEB)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert {line.split()[2] for line in shown.stdout.splitlines() if line.startswith("O:")} == (
        LINTIAN_OVERRIDDEN
    )


# -- real installs ------------------------------------------------------------------------------
@needs_tools
@pytest.mark.usefixtures("built")
def test_deb_installs_runs_and_purges_clean(tree: Path) -> None:
    before = files(tree)
    install_deb(tree)
    status = chroot(tree, "dpkg-query", "-W", "-f", "${Status} ${Version}", "amzn-gd-doctor")
    assert status.stdout == f"install ok installed {V}-1"
    made = {*PAYLOAD[DEB], *lib_paths(), "usr/share/doc/amzn-gd-doctor"}
    made |= {"usr/share/lintian", "usr/share/lintian/overrides"} - before
    assert files(tree) - before == made
    assert diagnose_in(tree) == KERNEL_LOW
    # The runs wrote nothing (no bytecode either): purging leaves the tree as it was.
    purged = chroot(tree, "dpkg", "--purge", "amzn-gd-doctor")
    assert purged.returncode == 0, purged.stderr
    assert files(tree) == before
    assert chroot(tree, "dpkg-query", "-W", "amzn-gd-doctor").returncode != 0


@needs_tools
@pytest.mark.skipif(not shutil.which("rpm"), reason="needs Debian's rpm tool (package rpm)")
@pytest.mark.usefixtures("built")
def test_rpm_installs_runs_and_erases_clean(tree: Path) -> None:
    # On an RPM distribution the filesystem package owns /usr/share/licenses.
    (tree / "usr/share/licenses").mkdir()
    before = files(tree)

    def rpm(*args: str) -> subprocess.CompletedProcess:
        # Debian's rpm keeps its database under ~/.rpmdb; an RPM distribution keeps it here.
        argv = ["rpm", "--root", str(tree), "--dbpath", "/var/lib/rpm", *args]
        return subprocess.run(argv, capture_output=True, text=True)

    # The tree's python3 comes from dpkg, which rpm's database knows nothing of: --nodeps.
    installed = rpm("-i", "--nodeps", str(RPM))
    assert installed.returncode == 0, installed.stderr
    assert rpm("-q", "amzn-gd-doctor").stdout == f"amzn-gd-doctor-{V}-1.noarch\n"
    made = {*PAYLOAD[RPM], *lib_paths(), "usr/share/licenses/amzn-gd-doctor"}
    assert files(tree) - before == made
    assert diagnose_in(tree) == KERNEL_LOW
    erased = rpm("-e", "amzn-gd-doctor")
    assert erased.returncode == 0, erased.stderr
    assert files(tree) == before


@pytest.mark.usefixtures("built")
def test_the_launcher_finds_its_modules_through_a_link_and_in_isolated_mode(tmp_path: Path) -> None:
    """The launcher finds the folder beside its own real path: started through a link from
    another folder (as `alternatives` or a /usr/local/bin link would), and under `python3 -I`,
    where its own folder is not on sys.path."""
    payload(DEB, tmp_path)
    launcher = tmp_path / DEB.name / "usr/bin/amzn-gd-doctor"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gd").symlink_to(launcher)
    env = {"PATH": PATH, "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}
    for argv in (
        [sys.executable, str(tmp_path / "bin" / "gd")],
        [sys.executable, "-I", str(launcher)],
    ):
        for args, out in ((["--version"], f"amzn-gd-doctor {V}\n"), (["list"], "kernel_too_low")):
            run = subprocess.run(argv + args, capture_output=True, text=True, env=env, cwd="/")
            assert run.returncode == 0 and out in run.stdout, run.stderr[-2000:]


@needs_tools
@pytest.mark.usefixtures("built")
def test_installed_doctor_uses_its_bytecode_and_never_a_stale_one(tree: Path) -> None:
    """Installed by dpkg, run on Debian's python3: every module comes from the pyc of that
    interpreter. A source edited after install (to a text of the same size) is compiled from the
    edit, the other modules still come from their pycs, and nothing is written."""
    install_deb(tree)
    python = "cpython-" + chroot(tree, "python3", "-c", "import sys; print(sys.version_info[0], "
                                 "sys.version_info[1], sep='')").stdout.strip()  # fmt: skip
    env = {"AWS_EC2_METADATA_DISABLED": "true"}
    shutil.copytree(str(ROOTS / "agent-healthy"), str(tree / "srv/healthy"), symlinks=True)
    check = ["python3", "-v", "/usr/bin/amzn-gd-doctor", "check", "-f", "json"]
    check += ["--root", "/srv/healthy", "--dns-server", "127.0.0.1:9"]
    run = chroot(tree, *check, env=env)
    assert run.returncode == 3, run.stderr[-3000:]  # no IMDS: UNKNOWN
    origins = code_origins(run.stderr, "/" + LIB)
    assert len(origins) >= 50 and set(origins.values()) == {"bytecode " + python}

    init = tree / LIB / "amzn_gd_doctor" / "__init__.py"
    source = init.read_bytes()
    other = V[:-1] + ("8" if V[-1] == "9" else "9")
    edited = source.replace(f'"{V}"'.encode(), f'"{other}"'.encode())
    assert len(edited) == len(source) and edited != source
    init.write_bytes(edited)
    before = {p: p.stat().st_mtime_ns for p in (tree / LIB).rglob("*")}
    run = chroot(tree, *check, env=env)
    assert run.returncode == 3, run.stderr[-3000:]
    assert json.loads(run.stdout)["tool"]["version"] == other
    origins = code_origins(run.stderr, "/" + LIB)
    assert origins.pop("/" + LIB + "/amzn_gd_doctor/__init__.py") == "source"
    assert len(origins) >= 50 and set(origins.values()) == {"bytecode " + python}
    assert {p: p.stat().st_mtime_ns for p in (tree / LIB).rglob("*")} == before


# -- the SSM document, run by the SSM agent's own code ------------------------------------------
def run_document(
    tree: Path, values: Dict[str, str], serve: Optional[Dict[str, str]] = None
) -> Dict[str, Any]:
    """The agent's result for one run of the document in TREE (tests/ssm_run.py)."""
    spec = {
        "tree": str(tree),
        "command_id": str(uuid.uuid4()),
        "values": values,
        "serve": serve or {},
    }
    spec_file = tree.parent / "spec.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, str(REPO / "tests" / "ssm_run.py"), str(spec_file)],
        capture_output=True, text=True, timeout=900, cwd=str(REPO),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = dict(json.loads(proc.stdout))
    # The agent accepted the document and ran its one step; its Output fits the console.
    assert (result["agentExit"], result["ok"], len(result["steps"])) == (0, True, 1), result
    assert len(result["consoleOutput"].encode()) <= CONSOLE_BYTES
    return result


def tls_for_loopback(base: Path) -> Tuple[bytes, str, str]:
    """A test CA (PEM) and a certificate for 127.0.0.1 that it signed, with its key."""
    from cryptography.hazmat.primitives import serialization
    from network.conftest import _cert, _key

    ca_key, leaf_key = _key(), _key()
    issuer = "GD Doctor Test Download CA"
    ca = _cert(issuer, issuer, ca_key, ca_key, (), True)
    leaf = _cert("127.0.0.1", issuer, leaf_key, ca_key, ("127.0.0.1",), False)
    pem = serialization.Encoding.PEM
    (base / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (base / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca.public_bytes(pem), str(base / "leaf.pem"), str(base / "leaf.key")


@pytest.fixture
def pyz_server(tree: Path, tmp_path: Path) -> Dict[str, str]:
    pytest.importorskip("cryptography", reason="the cryptography package (test extra) is missing")
    ca, cert, key = tls_for_loopback(tmp_path)
    with open(tree / "etc/ssl/certs/ca-certificates.crt", "ab") as fh:  # the tree trusts the CA
        fh.write(ca)
    return {"file": str(DIST / "amzn-gd-doctor.pyz"), "cert": cert, "key": key}


# The doctor's deadline in the document runs: nothing in them waits for it (IMDS is refused at
# once in the run's own network namespace), so it is generous, for a loaded machine.
DOCUMENT_DEADLINE = "30"
# In its own network namespace IMDS cannot be reached: the identity document is missing.
NO_IDENTITY = (
    'amzn-gd-doctor: UNHEALTHY | Agent Not Provisioned | "Unable to retrieve instance '
    'identity document." | confirmed | instance id unknown'
)
# Where the SSM agent keeps each command's folder; the document itself leaves nothing else.
SSM_STATE = "var/lib/amazon"


def first_line(result: Dict[str, Any]) -> str:
    return str(result["stdout"]).splitlines()[0]


def left_behind(tree: Path, before: Set[str]) -> Set[str]:
    """What a run added to TREE, apart from the agent's own orchestration folders."""
    return {f for f in files(tree) - before if not f.startswith(SSM_STATE)}


@pytest.mark.parametrize("exit_status", ["report", "verdict"])
@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_runs_the_installed_package(tree: Path, exit_status: str) -> None:
    install_deb(tree)
    values = {"deadline": DOCUMENT_DEADLINE, "exitStatus": exit_status}
    text = run_document(tree, values)
    assert first_line(text) == NO_IDENTITY
    # What the console shows: the summary first, then the predicted issue and its fix.
    console = text["consoleOutput"]
    assert console.startswith(NO_IDENTITY + "\n")
    assert "\n  Issue type:    Agent Not Provisioned\n" in console
    assert "\n  How to fix:\n    1. Confirm this is an EC2 instance" in console
    if exit_status == "verdict":
        # Unhealthy: the step fails, and the agent adds its own line to stderr.
        assert (text["status"], text["exitCode"]) == ("Failed", 1)
        assert text["stderr"] == agent_line(1)
        assert console.endswith(ERROR_TITLE + agent_line(1))
    else:
        # A report was printed: the step succeeds whatever the verdict.
        assert (text["status"], text["exitCode"], text["stderr"]) == ("Success", 0, "")
    report = run_document(tree, {**values, "format": "json"})
    data = json.loads(report["stdout"])  # stdout is exactly one JSON report
    assert data["exit_code"] == 1
    assert report["exitCode"] == (1 if exit_status == "verdict" else 0)
    summary = run_document(tree, {**values, "format": "summary"})
    assert summary["stdout"] == NO_IDENTITY + "\n"


@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_downloads_verifies_and_runs_the_pyz(
    tree: Path, pyz_server: Dict[str, str]
) -> None:
    before = files(tree)
    assert not (tree / "usr/bin/amzn-gd-doctor").exists()
    digest = hashlib.sha256((DIST / "amzn-gd-doctor.pyz").read_bytes()).hexdigest()
    values = {"format": "text", "deadline": DOCUMENT_DEADLINE, "sha256": digest}
    result = run_document(tree, values, pyz_server)
    assert result["consoleOutput"].startswith(NO_IDENTITY + "\n")
    assert "How to fix:\n    1. " in result["consoleOutput"]
    assert (result["status"], result["exitCode"], result["stderr"]) == ("Success", 0, "")
    assert left_behind(tree, before) == set()


@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_refuses_a_pyz_with_the_wrong_sha256(
    tree: Path, pyz_server: Dict[str, str]
) -> None:
    before = files(tree)
    wrong = "0" * 64
    result = run_document(tree, {"sha256": wrong}, pyz_server)
    lines = str(result["stdout"]).splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"amzn-gd-doctor: sha256 mismatch: expected {wrong}, got "
    )
    # The URL is shown without its query (a presigned URL's signature is a credential).
    assert lines[0].endswith("/amzn-gd-doctor.pyz; nothing was run") and "X-Amz" not in lines[0]
    assert (result["status"], result["exitCode"]) == ("Failed", 2)
    assert result["consoleOutput"] == result["stdout"] + ERROR_TITLE + agent_line(2)
    assert left_behind(tree, before) == set()


@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_needs_the_sha256_with_a_url(tree: Path, pyz_server: Dict[str, str]) -> None:
    result = run_document(tree, {}, pyz_server)
    assert result["stdout"] == "amzn-gd-doctor: sha256 is required when source is a URL\n"
    assert (result["status"], result["exitCode"]) == ("Failed", 2)


@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_says_when_nothing_is_installed(tree: Path) -> None:
    result = run_document(tree, {"format": "json", "exitStatus": "report"})
    assert str(result["stdout"]).startswith("amzn-gd-doctor: not installed on this instance")
    # Could not run: a failure whatever exitStatus says.
    assert (result["status"], result["exitCode"]) == ("Failed", 2)


@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_falls_back_to_platform_python(tree: Path, pyz_server: Dict[str, str]) -> None:
    # Oracle Linux 8 without the python3 package: only /usr/libexec/platform-python.
    (tree / "usr/bin/python3").unlink()
    (tree / "usr/libexec").mkdir(exist_ok=True)
    (tree / "usr/libexec/platform-python").symlink_to("/usr/bin/python3.11")
    digest = hashlib.sha256((DIST / "amzn-gd-doctor.pyz").read_bytes()).hexdigest()
    values = {"format": "summary", "sha256": digest, "deadline": DOCUMENT_DEADLINE}
    result = run_document(tree, values, pyz_server)
    assert result["stdout"] == NO_IDENTITY + "\n"
    (tree / "usr/libexec/platform-python").unlink()
    result = run_document(tree, values, pyz_server)
    assert result["stdout"] == (
        "amzn-gd-doctor: no python3 on this instance (nor /usr/libexec/platform-python)\n"
    )
    assert (result["status"], result["exitCode"]) == ("Failed", 2)


# What Bottlerocket's control container shows a Run Command script: host-ctr mounts the host's
# os-release as /etc/bottlerocket-release, and the API client as /usr/local/bin/apiclient.
# The values are those of a public Bottlerocket os-release (VERSION_ID 1.47.0) moved to the
# versions the scenarios need.
BOTTLEROCKET_RELEASE = (
    "NAME=Bottlerocket\nID=bottlerocket\n"
    'VERSION="{v} ({variant})"\nPRETTY_NAME="Bottlerocket OS {v} ({variant})"\n'
    "VARIANT_ID={variant}\nVERSION_ID={v}\nBUILD_ID=6154605b\n"
)
# apiclient cannot run here (it talks to Bottlerocket's API server over /run/api.sock): this
# stand-in prints the JSON shape `apiclient get settings.host-containers.NAME` prints there.
APICLIENT = """#!/bin/sh
cat <<'JSON'
{"settings": {"host-containers": {"amazon-guardduty-agent": {"enabled": %s,
 "source": "593207742271.dkr.ecr.us-east-1.amazonaws.com/aws-guardduty-agent-ecs-ec2:v1.9.0",
 "superpowered": true}}}}
JSON
"""


@pytest.mark.parametrize(
    ("version", "variant", "enabled", "says"),
    [
        ("1.62.1", "aws-ecs-2", "true", "GuardDuty supports this variant and release"),
        ("1.47.0", "aws-ecs-2", "true", "from release 1.62.1: update the AMI"),
        ("1.64.0", "aws-k8s-1.34", "false", "an EKS variant, whose coverage is EKS Runtime"),
    ],
)
@needs_agent
@needs_tools
@pytest.mark.usefixtures("built")
def test_document_in_a_bottlerocket_control_container_says_what_it_sees(
    tree: Path, version: str, variant: str, enabled: str, says: str
) -> None:
    (tree / "usr/bin/python3").unlink()
    (tree / "etc/bottlerocket-release").write_text(
        BOTTLEROCKET_RELEASE.format(v=version, variant=variant)
    )
    apiclient = tree / "usr/local/bin/apiclient"
    apiclient.write_text(APICLIENT % enabled)
    apiclient.chmod(0o755)
    result = run_document(tree, {"format": "summary"})
    (line,) = str(result["stdout"]).splitlines()
    assert line.startswith(
        f"amzn-gd-doctor: Bottlerocket {version} ({variant}), seen from its control container: "
    )
    assert says in line
    host_container = "enabled" if enabled == "true" else "present but disabled"
    assert f"agent host container amazon-guardduty-agent: {host_container}." in line
    assert line.endswith("The doctor itself needs python3, which this container lacks.")
    assert (result["status"], result["exitCode"]) == ("Failed", 2)
