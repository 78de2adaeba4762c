"""The console issue catalogue and the kernel support matrix, kept as JSON data beside this
module so they can be reviewed against the GuardDuty documentation line by line."""

import functools
import json
import os
from typing import Any, Dict, Tuple

from ..model import Issue


def _load_json(name: str) -> Any:
    # This package's own loader reads its data from a directory and from inside the zipapp
    # alike, which is what pkgutil.get_data does, without importing pkgutil and importlib.util.
    loader: Any = __spec__.loader  # a SourceFileLoader, or the zipapp's zipimporter
    data = loader.get_data(os.path.join(os.path.dirname(__file__), name))
    return json.loads(data.decode("utf-8"))


@functools.lru_cache(maxsize=None)
def issues() -> "Dict[str, Issue]":
    """Every console issue by code, in precedence order."""
    data = _load_json("issues.json")
    items = sorted(data["issues"], key=lambda item: item["precedence"])
    return {
        item["code"]: Issue(
            code=item["code"],
            issue_type=item["issue_type"],
            issue_message=item["issue_message"],
            scope=item["scope"],
            precedence=item["precedence"],
            severity=item["severity"],
            summary=item["summary"],
            remediation=tuple(item["remediation"]),
            doc_url=item["doc_url"],
            aliases=tuple(item.get("aliases", ())),
        )
        for item in items
    }


def issue(code: str) -> Issue:
    return issues()[code]


@functools.lru_cache(maxsize=None)
def kernel_matrix() -> "Dict[str, Any]":
    return dict(_load_json("kernels.json"))


def find(term: str) -> "Tuple[Issue, ...]":
    """Issues whose code, type, alias or message matches ``term`` (case-insensitive)."""
    needle = term.strip().lower()
    hits = []
    for item in issues().values():
        names = (item.code, item.issue_type, item.issue_message, *item.aliases)
        if any(needle == name.lower() for name in names):
            return (item,)
        if any(needle in name.lower() for name in names if name):
            hits.append(item)
    return tuple(hits)
