"""Association documents the SSM agent keeps on disk, and which of them run GuardDuty's
document AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin, with their status and output.

Reads /var/lib/amazon/ssm/<instance-id>/document/{state,association} (root-only). Bounded in
directories, files and bytes. Honours --root.
"""

from typing import TYPE_CHECKING, Any, List, Optional

from ..facts.ssm import GD_DOCUMENT, SSM_ASSOCIATION, DocumentRun, SsmAssociations
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean
from .ssm_common import SSM_DATA_DIR, denied, is_instance_dir, read_state_file

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

STATE_FOLDERS = ("pending", "current", "corrupt")
# A host keeps state for one instance id, two after a re-registration; more is clutter.
MAX_INSTANCE_DIRS = 4
# Pending/current folders hold the documents in flight, a few at a time; 200 bounds a backlog.
MAX_DOCUMENTS = 200
OUTPUT_CHARS = 400


def parse_document_state(doc: Any, folder: str, name: str) -> "Optional[DocumentRun]":
    """``{"DocumentInformation": {"DocumentName": "AmazonGuardDuty-Configure...",
    "DocumentStatus": "Failed", "AssociationID": "...", "CreatedDate": "..."},
    "DocumentType": "Association", "InstancePluginsInformation": [{"Name":
    "aws:configurePackage", "Result": {"status": "Failed", "code": 1, "output": "..."}}]}``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("DocumentInformation"), dict):
        return None
    info = doc["DocumentInformation"]

    def text(key: str, limit: int = 120) -> "Optional[str]":
        value = info.get(key)
        return clean(value, limit) if isinstance(value, str) and value else None

    failures: List[str] = []
    plugins = doc.get("InstancePluginsInformation")
    for plugin in plugins if isinstance(plugins, list) else []:
        result = plugin.get("Result") if isinstance(plugin, dict) else None
        if not isinstance(result, dict) or result.get("status") not in ("Failed", "TimedOut"):
            continue
        output = result.get("output")
        output = " | ".join(str(output or "").split("\n"))  # one line per evidence item
        failures.append(
            f"{clean(str(plugin.get('Name') or '?'), 60)}: {result['status']} "
            f"(code {clean(str(result.get('code')), 12)}): "
            f"{clean(output.strip(' |'), OUTPUT_CHARS)}"
        )
    return DocumentRun(
        folder,
        name,
        text("DocumentName") or "?",
        text("DocumentStatus") or "?",
        text("AssociationID"),
        text("CreatedDate", 40),
        tuple(failures),
    )


def parse_instance_document(doc: Any) -> "Optional[str]":
    """``{"AssociationID": "b6d5..."}`` (older agents: ``{"DocumentID": "..."}``)."""
    if isinstance(doc, dict):
        for key in ("AssociationID", "DocumentID"):
            if isinstance(doc.get(key), str) and doc[key]:
                return clean(doc[key], 120)
    return None


def _last_association(files: "FilesPart", base: str) -> "Optional[str]":
    try:
        doc, _ = read_state_file(files, f"{base}/association/InstanceDocument.json")
    except FileNotFoundError:
        return None
    return parse_instance_document(doc)


@probe(SSM_ASSOCIATION, parts=(FILES,))
def association(ctx: "ProbeContext", files: "FilesPart") -> SsmAssociations:
    """The agent's record of association runs: GuardDuty's failed run names what went wrong."""
    if not files.is_dir(SSM_DATA_DIR):
        return SsmAssociations((), 0, ())
    try:
        dirs = [n for n in files.list_dir(SSM_DATA_DIR) if is_instance_dir(n)][:MAX_INSTANCE_DIRS]
        runs: List[DocumentRun] = []
        skipped: List[str] = []
        seen, last = 0, None
        for inst in dirs:
            base = f"{SSM_DATA_DIR}/{inst}/document"
            last = _last_association(files, base) or last
            for folder in STATE_FOLDERS:
                path = f"{base}/state/{folder}"
                names = [
                    n
                    for n in (files.list_dir(path) if files.is_dir(path) else [])
                    if not n.startswith(".")
                ]
                for name in names[: max(0, MAX_DOCUMENTS - seen)]:
                    seen += 1
                    try:
                        doc, problem = read_state_file(files, f"{path}/{name}")
                    except (FileNotFoundError, IsADirectoryError):
                        continue  # finished and removed while we looked, or not a file
                    run = parse_document_state(doc, folder, clean(name, 120))
                    if problem or run is None:
                        skipped.append(f"{folder}/{clean(name, 80)}: {problem or 'not a state'}")
                        continue
                    if run.document == GD_DOCUMENT:
                        runs.append(run)
    except PermissionError as exc:
        raise denied(
            exc.filename or SSM_DATA_DIR, f"sudo ls -R {SSM_DATA_DIR}/*/document/state"
        ) from exc
    return SsmAssociations(
        tuple(dirs), seen, tuple(runs), last, tuple(skipped[:10]), seen >= MAX_DOCUMENTS
    )
