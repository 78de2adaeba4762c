"""Bottlerocket: its release and variant, where the doctor reads it from, its host containers
(GuardDuty's agent runs as the host container amazon-guardduty-agent on the ECS variants) and
where its control container keeps the SSM agent's state.

The host containers are read from the env file Bottlerocket writes for each of them (its image
and whether it is enabled), not from host-containers.toml, which also holds their user data:
the doctor neither reads nor records what may carry a container's credentials.

Files only, so it works wherever the doctor can see Bottlerocket: under --root on a copy of its
disk, on the host's root that the admin container sees at /.bottlerocket/rootfs, and live
inside the control container (where host-ctr mounts the host's os-release as
/etc/bottlerocket-release and the container's own storage as
/.bottlerocket/host-containers/current). /etc/host-containers (mode 0750) and
/local/host-containers (0700) need root; without it their problem is named, not raised.
"""

from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ..facts.family import (
    CONTAINER_VIEW,
    CONTROL_CONTAINER,
    CONTROL_VIEW,
    FAMILY_BOTTLEROCKET,
    HOST_VIEW,
    Bottlerocket,
    HostContainer,
)
from ..host.protocols import FILES
from ..probing import probe
from .family_text import listing, parse_os_release, read_text, value_of

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# host-ctr's mounts in every host container (bottlerocket-core-kit, host-ctr main.go).
CONTAINER_RELEASE = "/etc/bottlerocket-release"
CONTAINER_STORAGE = "/.bottlerocket/host-containers"
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
# The host's own: one env file per configured container, written by the host-containers
# service from the API's settings, and the containers' persistent storage
# (bottlerocket-core-kit, sources/api/host-containers).
ENV_DIR = "/etc/host-containers"
STORAGE_DIR = "/local/host-containers"
# An os-release is under 1 KiB; an env file is three settings and a comment, under 1 KiB. A host
# runs a handful of host containers (admin, control, GuardDuty's, a few of the user's): past 64
# a directory is not such a list.
RELEASE_LIMIT = 16 * 1024
ENV_LIMIT = 16 * 1024
MAX_CONTAINERS = 64


def parse_env(text: str, name: str, seen_in: str) -> HostContainer:
    """/etc/host-containers/NAME.env::

        CTR_SUPERPOWERED=false
        CTR_SOURCE=328549459982.dkr.ecr.us-west-2.amazonaws.com/bottlerocket-control:v0.7.17
        # CTR_ENABLED=true

    (the last line is a comment "just for reference") -> HostContainer(NAME, True, ...)."""
    values = parse_os_release(text.replace("# CTR_ENABLED=", "CTR_ENABLED="))
    return HostContainer(
        name, _boolean(values.get("CTR_ENABLED")), values.get("CTR_SOURCE", ""), seen_in
    )


def _boolean(text: "Optional[str]") -> "Optional[bool]":
    return {"true": True, "false": False}.get((text or "").strip().lower())


def _release(files: "FilesPart", problems: "List[str]") -> "Tuple[str, Dict[str, str]]":
    """The os-release that says Bottlerocket, and its keys; ("", {}) on another system."""
    for path in (CONTAINER_RELEASE,) + OS_RELEASE_FILES:
        text = read_text(files, path, RELEASE_LIMIT, problems)
        if text is not None:
            keys = parse_os_release(text)
            if keys.get("ID") == "bottlerocket":
                return path, keys
            if path == CONTAINER_RELEASE:
                continue
            return "", {}
    return "", {}


def _host_containers(
    files: "FilesPart", problems: "List[str]"
) -> "Tuple[Tuple[HostContainer, ...], Tuple[str, ...]]":
    """The host's view: each container's env file, then any container whose storage alone is
    there (a copy of the disk has /local but not the tmpfs /etc)."""
    containers: Dict[str, HostContainer] = {}
    read = []
    names = listing(files, ENV_DIR, problems)
    for entry in [n for n in names if n.endswith(".env") and n != ".env"][:MAX_CONTAINERS]:
        path, name = f"{ENV_DIR}/{entry}", value_of(entry[: -len(".env")], 100)
        env = read_text(files, path, ENV_LIMIT, problems)  # unreadable: configured, state unknown
        containers[name] = (
            parse_env(env, name, path) if env else HostContainer(name, None, "", path)
        )
    if names:  # the directory was read: a container without an env file is not configured
        read.append(ENV_DIR)
    for entry in listing(files, STORAGE_DIR, problems)[:MAX_CONTAINERS]:
        if entry not in containers:
            containers[entry] = HostContainer(value_of(entry, 100), None, "", STORAGE_DIR)
    return tuple(containers[n] for n in sorted(containers)), tuple(read)


@probe(FAMILY_BOTTLEROCKET, parts=(FILES,))
def bottlerocket(ctx: "ProbeContext", files: "FilesPart") -> Bottlerocket:
    """Whether this is Bottlerocket, seen from where, and its host containers."""
    problems: List[str] = []
    path, keys = _release(files, problems)
    if not path:
        return Bottlerocket(False, problems=tuple(problems))
    base = Bottlerocket(
        True,
        release_file=path,
        variant_id=keys.get("VARIANT_ID", ""),
        version_id=keys.get("VERSION_ID", ""),
        build_id=keys.get("BUILD_ID", ""),
    )
    if path == CONTAINER_RELEASE and files.is_dir(CONTAINER_STORAGE):
        names = [n for n in listing(files, CONTAINER_STORAGE, problems) if n != "current"]
        ours = CONTROL_CONTAINER in names
        return _inside(files, base, CONTROL_VIEW if ours else CONTAINER_VIEW, problems)
    containers, read = _host_containers(files, problems)
    ssm = f"{STORAGE_DIR}/{CONTROL_CONTAINER}/ssm"
    return _with(base, HOST_VIEW, containers, read, ssm if files.is_dir(ssm) else "", problems)


def _inside(
    files: "FilesPart", base: Bottlerocket, view: str, problems: "List[str]"
) -> Bottlerocket:
    """Inside a host container only the container's own storage is seen: in the control
    container, the SSM agent's state (its /var/lib/amazon/ssm links there)."""
    ssm = f"{CONTAINER_STORAGE}/current/ssm"
    mine = (HostContainer(CONTROL_CONTAINER, True, "", "this container"),)
    if view != CONTROL_VIEW:
        return _with(base, view, (), (), "", problems)
    return _with(base, view, mine, (), ssm if files.is_dir(ssm) else "", problems)


def _with(
    base: Bottlerocket,
    view: str,
    containers: "Tuple[HostContainer, ...]",
    read: "Tuple[str, ...]",
    ssm: str,
    problems: "List[str]",
) -> Bottlerocket:
    return Bottlerocket(
        True,
        view,
        base.release_file,
        base.variant_id,
        base.version_id,
        base.build_id,
        containers,
        read,
        ssm,
        tuple(problems),
    )
