"""The machine-readable report: a versioned JSON envelope (schema in schema/report-v1.json).

Fact values are not included: they can hold secrets (the IMDS token) and their shape is
internal. Everything a consumer needs is in verdict, diagnoses, checks and host.
"""

import json
import time
from typing import Any, Dict

from ..model import Diagnosis, Report
from ..sanitize import printable

# 1.1: timing; 1.2: verdict.not_ec2; 1.3: replay, host.agent_version; 1.4: timing.import_ms and
# timing.compile_ms; 1.5: verdict.covered_elsewhere, host.family
SCHEMA_VERSION = "1.5"


def diagnosis_dict(d: Diagnosis) -> "Dict[str, Any]":
    return {
        "code": d.issue.code,
        "issue_type": d.issue.issue_type,
        "issue_message": d.issue.issue_message,
        "scope": d.issue.scope,
        "confidence": d.confidence.value,
        "summary": d.summary,
        "remediation": list(d.remediation),
        "evidence": list(d.evidence),
        "findings": list(d.findings),
        "doc_url": d.issue.doc_url,
    }


def report_dict(report: Report) -> "Dict[str, Any]":
    began = time.monotonic()
    primary = report.primary
    host = report.host
    out = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "amzn-gd-doctor", "version": report.tool_version},
        "verdict": {
            "coverage_status": report.coverage_status.value,
            "issue_type": primary.issue.issue_type if primary else None,
            "issue_message": primary.issue.issue_message if primary else None,
            "code": primary.issue.code if primary else None,
            "confidence": primary.confidence.value if primary else None,
            "not_ec2": report.not_ec2,
            "covered_elsewhere": report.covered_elsewhere,
        },
        "diagnoses": [diagnosis_dict(d) for d in report.diagnoses],
        "checks": [
            {
                "id": f.rule_id,
                "title": f.title,
                "area": f.area,
                "outcome": f.outcome.value,
                "summary": f.summary,
                "issue": f.issue,
                "confidence": f.confidence.value if f.issue else None,
                "blocked_by": f.blocked_by,
                "evidence": list(f.evidence),
                "fix": list(f.fix),
                "duration_ms": f.duration_ms,
            }
            for f in report.findings
        ],
        "facts": [
            {
                "id": fact.probe_id,
                "status": fact.status.value,
                "reason": fact.reason,
                "blocked_by": fact.blocked_by,
                "duration_ms": fact.duration_ms,
            }
            for fact in report.facts
        ],
        "host": {
            "instance_id": host.instance_id,
            "region": host.region,
            "account_id": host.account_id,
            "instance_type": host.instance_type,
            "kernel": host.kernel,
            "os": host.os,
            "arch": host.arch,
            "vpc_id": host.vpc_id,
            "subnet_id": host.subnet_id,
            "vpc_cidrs": list(host.vpc_cidrs),
            "agent_version": host.agent_version,
            "family": host.family,
        },
        "incomplete": [{"id": i.id, "reason": i.reason} for i in report.incomplete],
        "exit_code": int(report.exit_code),
        "deadline_s": report.deadline_s,
        "elapsed_ms": report.elapsed_ms,
        "replay": (
            {
                "bundle": report.replay.bundle,
                "captured_at": report.replay.captured_at,
                "tool_version": report.replay.tool_version,
            }
            if report.replay
            else None
        ),
    }
    t = report.timing
    out["timing"] = {
        "startup_ms": t.startup_ms,
        "probes_ms": t.probes_ms,
        "rules_ms": t.rules_ms,
        "import_ms": t.import_ms,
        "compile_ms": t.compile_ms,
        # Building this document; writing it out is one call more.
        "render_ms": int((time.monotonic() - began) * 1000),
    }
    return out


def _printable(item: Any) -> Any:
    """Every string as the text report shows it: host text with control or bidi characters
    (ESC, U+009B, U+202E) reaches no consumer raw, whichever format it reads."""
    if isinstance(item, str):
        return printable(item)
    if isinstance(item, dict):
        return {key: _printable(v) for key, v in item.items()}
    if isinstance(item, list):
        return [_printable(v) for v in item]
    return item


def render(report: Report) -> str:
    return json.dumps(_printable(report_dict(report)), indent=2, ensure_ascii=False) + "\n"
