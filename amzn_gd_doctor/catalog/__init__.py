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
    """Issues that ``term`` names (case-insensitive): the one whose code it is; else every issue
    whose type, message or alias it is (an issue type names several: "No Agent Reporting");
    else every issue where it appears inside one of those."""
    needle = term.strip().lower()
    if not needle:
        return ()
    items = list(issues().values())
    for item in items:
        if needle == item.code.lower():
            return (item,)

    def names(item: Issue) -> "Tuple[str, ...]":
        return tuple(n.lower() for n in (item.issue_type, item.issue_message, *item.aliases) if n)

    exact = tuple(item for item in items if needle in names(item))
    if exact:
        return exact
    return tuple(
        item for item in items if any(needle in n for n in (item.code.lower(),) + names(item))
    )


def near(term: str, limit: int = 3) -> "Tuple[str, ...]":
    """Codes, types and messages spelled like ``term``: what a typo probably meant."""
    import difflib

    items = issues().values()
    words = sorted({w for i in items for w in (i.code, i.issue_type, i.issue_message) if w})
    by_lower = {w.lower(): w for w in words}
    close = difflib.get_close_matches(term.strip().lower(), list(by_lower), n=limit, cutoff=0.6)
    return tuple(by_lower[w] for w in close)
