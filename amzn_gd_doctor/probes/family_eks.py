"""An EKS node: its cluster, how it joined it, and whether GuardDuty's EKS add-on runs its agent
here (the DaemonSet aws-guardduty-agent in namespace amazon-guardduty).

Files only: nodeadm's cache (AL2023; a runtime file, so absent from a copy of the disk), the
kubelet's kubeconfig (AL2, AL2023 and Bottlerocket), and kubelet's pod log files, named after the
pod's namespace, name and container. nodeadm's cache is derived from the instance's user data:
only spec.cluster.name is taken from it, nothing else is kept or shown. Needs root for the
kubeconfig and the nodeadm cache; without it their problem is named, not raised.
"""

import json
from typing import TYPE_CHECKING, List, Optional, Tuple

from .. import lazy_re
from ..facts.family import ADDON_NAME, ADDON_NAMESPACE, FAMILY_EKS, EksNode
from ..host.protocols import FILES
from ..probing import probe
from .family_text import listing, read_text, value_of

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# awslabs/amazon-eks-ami (templates/al2023, nodeadm; AL2 at 0ab84280) and Bottlerocket's
# kubernetes packages (kubelet --kubeconfig /etc/kubernetes/kubelet/kubeconfig).
NODEADM_CACHE = "/run/eks/nodeadm/config.json"
NODEADM = "/usr/bin/nodeadm"
BOOTSTRAP = "/etc/eks/bootstrap.sh"
KUBECONFIGS = ("/var/lib/kubelet/kubeconfig", "/etc/kubernetes/kubelet/kubeconfig")
KUBELET_UNITS = (
    "/etc/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
)
# kubelet: /var/log/containers/<pod>_<namespace>_<container>-<id>.log links to
# /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restarts>.log.
CONTAINER_LOGS = "/var/log/containers"
POD_LOGS = "/var/log/pods"
# The nodeadm cache is a few KiB (the cluster's CA certificate is the largest field); kubelet's
# kubeconfig under 1 KiB (it names the CA by its file).
CACHE_LIMIT = 1024 * 1024
KUBECONFIG_LIMIT = 64 * 1024
# EKS cluster names: 1-100 characters, letters, digits, hyphens and underscores.
_NAME_RE = lazy_re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_ARG_RE = lazy_re.compile(r"""^\s*-\s+["']?([^"'\s]+)["']?\s*$""")
_ADDON_LOG_RE = lazy_re.compile(
    rf"^{ADDON_NAME}-[a-z0-9]+_{ADDON_NAMESPACE}_{ADDON_NAME}-[0-9a-f]+\.log$"
)
ADDON_POD_PREFIX = f"{ADDON_NAMESPACE}_{ADDON_NAME}-"
# Placeholders of the AMI templates, left when a bootstrap never ran.
PLACEHOLDERS = ("CLUSTER_NAME",)


def _name(text: object) -> "Optional[str]":
    name = str(text) if isinstance(text, str) else ""
    return name if _NAME_RE.match(name) and name not in PLACEHOLDERS else None


def parse_nodeadm_cache(data: str) -> "Optional[str]":
    """spec.cluster.name of nodeadm's JSON cache (``{"spec": {"cluster": {"name":
    "my-cluster", ...}}}``), and nothing else of it; None when it holds no valid name."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    for key in ("spec", "cluster"):
        doc = doc.get(key) if isinstance(doc, dict) else None
    return _name(doc.get("name")) if isinstance(doc, dict) else None


def parse_kubeconfig(text: str) -> "Optional[str]":
    """The cluster named in the kubelet's exec arguments: after ``--cluster-name`` (AL2023:
    ``aws eks get-token --cluster-name my-cluster``) or after ``-i`` (AL2 and Bottlerocket:
    ``aws-iam-authenticator token -i my-cluster``; on local Outposts, the cluster's id)."""
    args = [m[1] for m in map(_ARG_RE.match, text.splitlines()) if m]
    for flag in ("--cluster-name", "-i"):
        if flag in args[:-1]:
            found = _name(args[args.index(flag) + 1])
            if found:
                return found
    return None


def addon_files(containers: "Tuple[str, ...]", pods: "Tuple[str, ...]") -> "Tuple[str, ...]":
    """The add-on's pod log files and directories among kubelet's, e.g.
    ``aws-guardduty-agent-dc5z8_amazon-guardduty_aws-guardduty-agent-a8dc...0a10.log``."""
    logs = [f"{CONTAINER_LOGS}/{n}" for n in containers if _ADDON_LOG_RE.match(n)]
    dirs = [f"{POD_LOGS}/{n}" for n in pods if n.startswith(ADDON_POD_PREFIX)]
    return tuple(value_of(p) for p in logs + dirs)


def _cluster(files: "FilesPart", cached: bool, problems: "List[str]") -> "Tuple[str, str]":
    """The node's cluster: from the kubeconfig, else from nodeadm's cache, which is read only
    then (it is derived from the user data, so a recording never keeps it)."""
    for path in KUBECONFIGS:
        text = read_text(files, path, KUBECONFIG_LIMIT, problems)
        found = parse_kubeconfig(text) if text is not None else None
        if found:
            return found, path
    cache = read_text(files, NODEADM_CACHE, CACHE_LIMIT, problems) if cached else None
    found = parse_nodeadm_cache(cache) if cache is not None else None
    return (found, NODEADM_CACHE) if found else ("", "")


@probe(FAMILY_EKS, parts=(FILES,))
def eks(ctx: "ProbeContext", files: "FilesPart") -> EksNode:
    """Whether this is an EKS node, of which cluster, and whether the EKS add-on's agent runs."""
    problems: List[str] = []
    signs = tuple(p for p in (NODEADM_CACHE, NODEADM) + KUBECONFIGS if files.exists(p))
    if not signs and files.exists(BOOTSTRAP) and any(map(files.exists, KUBELET_UNITS)):
        signs = (BOOTSTRAP,)
    if not signs:
        return EksNode(False)
    cluster, source = _cluster(files, NODEADM_CACHE in signs, problems)
    nodeadm = NODEADM_CACHE in signs or NODEADM in signs
    bootstrap = "nodeadm" if nodeadm else "bootstrap.sh" if files.exists(BOOTSTRAP) else ""
    addon = addon_files(
        listing(files, CONTAINER_LOGS, problems), listing(files, POD_LOGS, problems)
    )
    return EksNode(True, cluster, source, bootstrap, addon, signs, tuple(problems))
