"""Masking must not eat evidence: every captured log line under fixtures/ (SSM agent logs, the
GuardDuty agent's logs, journal exports, the logs of every recorded root) passes through
redact.mask, and what the rules read from it survives. Each agent phrase class and SSM cause
that matched a line still matches it, with the same subject (the endpoint, the IAM action, the
account, the status code), and the identifiers a reader follows (instance ids, request ids,
ARNs, hashes of document ids, addresses) are all still there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest
from support import FIXTURES

from amzn_gd_doctor.catalog.phrases import phrase_classes
from amzn_gd_doctor.probes.ssm_log_patterns import CAUSES
from amzn_gd_doctor.redact import mask


def log_files() -> List[Path]:
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.is_symlink() or "canary" in str(path):
            continue
        name = path.name
        if name.endswith((".log", ".export")) or "/var/log/" in str(path) or "/logs/" in str(path):
            found.append(path)
    return found


LOGS = log_files()
# What a reader of a report follows from line to line, and must find masked or not.
EVIDENCE = re.compile(
    r"\bm?i-[0-9a-f]{8,17}\b"
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|status code: \d{3}"
    r"|arn:aws[\w:/+=,.@-]*"
    r"|\b[0-9a-f]{32,64}\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"
    r"|\b\d{12}\b"
    r"|no EC2 instance role found"
    r"|(?:ssm|ssmmessages|ec2messages|guardduty-data)\.[a-z0-9-]+\.amazonaws\.com"
)


def test_there_are_real_logs_to_check() -> None:
    assert len(LOGS) >= 40
    lines = sum(len(p.read_text(errors="replace").splitlines()) for p in LOGS)
    assert lines >= 1000


@pytest.mark.parametrize("path", LOGS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_masking_keeps_what_the_rules_read(path: Path) -> None:
    text = path.read_text(errors="replace")
    masked = mask(text)
    original_lines, masked_lines = text.splitlines(), masked.splitlines()
    assert len(masked_lines) == len(original_lines)
    classes = phrase_classes()
    for before, after in zip(original_lines, masked_lines):
        if before == after:
            continue
        for cls in classes:
            if cls.pattern.search(before.lower()):
                assert cls.pattern.search(after.lower()), (cls.name, before, after)
        for cause in CAUSES:
            if cause.match.search(before):
                assert cause.match.search(after), (cause.cause, before, after)
                if cause.subject is not None:
                    old, new = cause.subject.search(before), cause.subject.search(after)
                    assert (old and old.groups()) == (new and new.groups()), (before, after)
        for token in EVIDENCE.findall(before):
            assert token in after, (token, before, after)


def test_only_planted_secrets_change_a_log() -> None:
    """The logs hold no secret but the proxy passwords planted on purpose: anything else that
    changes is a false positive."""
    changed = sorted(
        str(p.relative_to(FIXTURES))
        for p in LOGS
        if mask(p.read_text(errors="replace")) != p.read_text(errors="replace")
    )
    assert changed == []


@pytest.mark.parametrize("path", LOGS[::4], ids=lambda p: str(p.relative_to(FIXTURES)))
def test_a_secret_on_an_evidence_line_takes_only_itself(path: Path) -> None:
    """A secret written on the same line as the evidence (appended, as a log line's fields
    are) is masked alone: the rest of the line is kept byte for byte."""
    for line in path.read_text(errors="replace").splitlines()[:400]:
        for secret, shown in (
            (" token=c4nary0123", " token=[REDACTED:token]"),
            (" AKIAIOSFODNN7EXAMPLE", " [REDACTED:aws-access-key-id]"),
        ):
            assert mask(line + secret) == line + shown, line
