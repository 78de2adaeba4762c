"""`collect` and `check --from`: a run recorded into an evidence bundle, and a bundle replayed
through the same engine with the capture time as "now"."""

import os
import socket
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from . import __version__, bundle, doctor, redact
from .host import Budget, recorded
from .model import DEFAULT_DEADLINE_S, MAX_DEADLINE_S, Replay, Report

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


# A capture time a replay accepts as "now": from 2000 to the end of year 9999, which every
# platform's gmtime formats (the doctor did not exist before; a later time is not a capture).
CAPTURED_MIN = 946684800.0
CAPTURED_MAX = 253402300799.0


def _text(raw: "Dict[str, Any]", name: str) -> "Optional[str]":
    found = raw.get(name)
    if found is None or found == "":
        return None
    if not isinstance(found, str):
        raise bundle.BundleError(f"manifest.json: options.{name} is not text")
    return found


def _number(found: object, what: str, low: float, high: float, meaning: str) -> float:
    """A finite number in [low, high]; BundleError otherwise (no bool, no NaN, no Infinity)."""
    if isinstance(found, bool) or not isinstance(found, (int, float)) or not low <= found <= high:
        shown = repr(found)[:40]
        raise bundle.BundleError(f"manifest.json: {what} is {shown}, not {meaning}")
    return float(found)


def options_from(manifest: "Dict[str, Any]") -> doctor.Options:
    """The options a bundle was collected with, each checked for its type and range: one that
    is not is a BundleError naming it."""
    raw = manifest.get("options")
    if not isinstance(raw, dict):
        raise bundle.BundleError("manifest.json names no options")
    servers = raw.get("dns_servers") or []
    if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
        raise bundle.BundleError("manifest.json: options.dns_servers is not a list of text")
    port = raw.get("endpoint_port", 443)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise bundle.BundleError("manifest.json: options.endpoint_port is not a TCP port")
    deadline = raw.get("deadline", DEFAULT_DEADLINE_S)
    return doctor.Options(
        deadline=_number(
            deadline, "options.deadline", 0.0, MAX_DEADLINE_S, f"seconds up to {MAX_DEADLINE_S:g}"
        ),
        root=_text(raw, "root"),
        imds_endpoint=_text(raw, "imds_endpoint"),
        region=_text(raw, "region"),
        dns_servers=tuple(servers),
        endpoint_port=port,
    )


def env_from(manifest: "Dict[str, Any]") -> "Dict[str, str]":
    env = manifest.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise bundle.BundleError("manifest.json: env is not a map of text to text")
    return env


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
            # A host name identifies the host: pseudonymized, the name falls back to "host".
            "" if pseudonymize else clean(socket.gethostname()),
            captured_at,
        )
    size = bundle.write(output, members, int(captured_at))
    return report, output, len(host.observations), size


def replay(path: str) -> Report:
    """The report a bundle's observations give, through the same engine."""
    found = bundle.read(path)
    try:
        return _replay(path, found)
    except bundle.BundleError as exc:
        raise bundle.BundleError(f"{path}: {exc}") from None


def _replay(path: str, found: bundle.Bundle) -> Report:
    options = options_from(found.manifest)
    if "captured_at_epoch" not in found.manifest:
        raise bundle.BundleError("manifest.json has no capture time")
    captured = _number(
        found.manifest["captured_at_epoch"],
        "captured_at_epoch",
        CAPTURED_MIN,
        CAPTURED_MAX,
        "a time from 2000 to 9999",
    )
    host = recorded.ReplayHost(
        found.observations,
        env_from(found.manifest),
        captured,
        rooted=bool(options.root),
        budget=Budget(options.run_deadline(time.monotonic())),
    )
    report = doctor.run(host, options)
    tool = found.manifest.get("tool")
    version = str(tool.get("version", "unknown"))[:64] if isinstance(tool, dict) else "unknown"
    stamp = found.manifest.get("captured_at")
    stamp = stamp if isinstance(stamp, str) and 0 < len(stamp) <= 64 else _iso(captured)
    from .values import replace

    return replace(report, replay=Replay(os.path.basename(path), stamp, version))
