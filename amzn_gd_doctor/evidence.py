"""`collect` and `check --from`: a run recorded into an evidence bundle, and a bundle replayed
through the same engine with the capture time as "now"."""

import os
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from . import __version__, bundle, doctor, redact
from .host import Budget, recorded
from .model import DEFAULT_DEADLINE_S, Replay, Report

if TYPE_CHECKING:
    from .host import Host


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def options_dict(options: doctor.Options) -> "Dict[str, Any]":
    return {
        "deadline": options.deadline,
        "root": options.root,
        "imds_endpoint": options.imds_endpoint,
        "region": options.region,
        "dns_servers": list(options.dns_servers),
        "endpoint_port": options.endpoint_port,
    }


def options_from(manifest: "Dict[str, Any]") -> doctor.Options:
    raw = manifest.get("options")
    if not isinstance(raw, dict):
        raise bundle.BundleError("manifest.json names no options")
    try:
        return doctor.Options(
            deadline=float(raw.get("deadline", DEFAULT_DEADLINE_S)),
            root=str(raw["root"]) if raw.get("root") else None,
            imds_endpoint=str(raw["imds_endpoint"]) if raw.get("imds_endpoint") else None,
            region=str(raw["region"]) if raw.get("region") else None,
            dns_servers=tuple(str(s) for s in raw.get("dns_servers") or ()),
            endpoint_port=int(raw.get("endpoint_port", 443)),
        )
    except (TypeError, ValueError) as exc:
        raise bundle.BundleError(f"manifest.json has unusable options ({exc})") from None


def collect(
    inner: "Host",
    options: doctor.Options,
    render: "Callable[[Report], Tuple[str, str]]",
    pseudonymize: bool = False,
    output: "Optional[str]" = None,
) -> "Tuple[Report, str, int, int]":
    """Run the doctor through a recording host and write the bundle: at ``output``, or under
    the default name in the current folder. Returns the report, the bundle's path, the number
    of observations and the bundle's size. FileExistsError when the name is taken."""
    captured_at = time.time()
    # One Pseudonymizer for the observations and the report: an id has one pseudonym throughout.
    pseudonymizer = redact.Pseudonymizer() if pseudonymize else None
    host = recorded.RecordingHost(inner, pseudonymizer)
    report = doctor.run(host, options, pseudonymizer=pseudonymizer)
    clean = host.clean
    report_json, report_txt = render(report)
    manifest = {
        "format": bundle.FORMAT,
        "format_version": bundle.FORMAT_VERSION,
        "tool": {"name": "amzn-gd-doctor", "version": __version__},
        "captured_at": _iso(captured_at),
        "captured_at_epoch": captured_at,
        "options": {
            k: (clean(v) if isinstance(v, str) else v) for k, v in options_dict(options).items()
        },
        "env": dict(host.env),
        "root": clean(options.root) if options.root else None,
        "pseudonymized": pseudonymize,
        "observations": len(host.observations),
        "observations_dropped": host.dropped,
        "refused": sum(host.refused.values()),
        "refused_by_method": dict(sorted(host.refused.items())),
        "elapsed_ms": report.elapsed_ms,
        "exit_code": int(report.exit_code),
        "probes": [
            {"id": f.probe_id, "status": f.status.value, "duration_ms": f.duration_ms}
            for f in report.facts
        ],
    }
    # The report is masked and pseudonymized once, by doctor.run, with the recording's
    # Pseudonymizer: passing it through clean again would give a pseudonym a pseudonym.
    members = bundle.encode_members(manifest, host.observations, report_json, report_txt)
    if output is None:
        output = bundle.default_name(
            report.host.instance_id,
            clean(socket.gethostname()),
            captured_at,
        )
    size = bundle.write(output, members, int(captured_at))
    return report, output, len(host.observations), size


def replay(path: str) -> Report:
    """The report a bundle's observations give, through the same engine."""
    found = bundle.read(path)
    options = options_from(found.manifest)
    captured = found.manifest.get("captured_at_epoch")
    if not isinstance(captured, (int, float)):
        raise bundle.BundleError("manifest.json has no capture time")
    env = found.manifest.get("env")
    host = recorded.ReplayHost(
        found.observations,
        env if isinstance(env, dict) else {},
        float(captured),
        rooted=bool(options.root),
        budget=Budget(options.run_deadline(time.monotonic())),
    )
    report = doctor.run(host, options)
    tool = found.manifest.get("tool")
    version = str(tool.get("version", "unknown")) if isinstance(tool, dict) else "unknown"
    stamp = str(found.manifest.get("captured_at") or _iso(float(captured)))
    from .values import replace

    return replace(report, replay=Replay(os.path.basename(path), stamp, version))
