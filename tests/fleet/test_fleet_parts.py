"""The fleet summary's parts on their own: reading one output, walking the layout, the spooled
runs, the streamed JSON writer and the parsers' shortcuts, each held to the slow, plain way of
doing the same thing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from amzn_gd_doctor.fleet import parse as fleet_parse
from amzn_gd_doctor.fleet import runs as fleet_runs
from amzn_gd_doctor.fleet import summary as fleet_summary
from amzn_gd_doctor.fleet.source import OUTPUT_LIMIT, Output
from amzn_gd_doctor.fleet.walk import read_limited, scope_of, walk
from amzn_gd_doctor.render.fleet import stream_json

from .conftest import report


@pytest.mark.parametrize(
    ("size", "truncated"),
    [(0, False), (1, False), (OUTPUT_LIMIT - 1, False), (OUTPUT_LIMIT, False),
     (OUTPUT_LIMIT + 1, True), (3 * OUTPUT_LIMIT, True)],
)  # fmt: skip
def test_read_limited_reads_up_to_the_limit(tmp_path: Path, size: int, truncated: bool) -> None:
    path = tmp_path / "stdout"
    data = bytes(n % 251 for n in range(size))
    path.write_bytes(data)
    assert read_limited(str(path)) == (data[:OUTPUT_LIMIT], truncated)


def test_read_limited_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "stdout"
    os.mkfifo(fifo)  # opened without blocking, and refused before any read
    with pytest.raises(OSError, match="not a regular file"):
        read_limited(str(fifo))
    with pytest.raises(OSError, match="not a regular file"):
        read_limited(str(tmp_path))


def _outputs(top: Path) -> list[tuple[str, str, str, bytes]]:
    parts = os.path.abspath(top).split(os.sep)[-2:]  # as read_folder starts a walk
    return sorted((o.command_id, o.instance_id, o.step, o.data) for o in walk(str(top), parts))


def test_walk_finds_outputs_at_any_depth_and_nothing_else(tmp_path: Path) -> None:
    top = tmp_path / "bucket"
    for parts in (
        ("prefix", "cmd-a", "i-1"),
        ("prefix", "deeper", "cmd-b", "i-2"),
        ("cmd-c", "i-3"),
    ):
        step = top.joinpath(*parts, "awsrunShellScript", "diagnose")
        step.mkdir(parents=True)
        (step / "stdout").write_bytes(parts[-1].encode())
    # Not outputs: a plugin "folder" that is a file, a step without stdout, a stray file.
    (top / "cmd-c" / "i-4").mkdir()
    (top / "cmd-c" / "i-4" / "awsrunShellScript").write_bytes(b"x")
    (top / "cmd-c" / "i-3" / "awsrunShellScript" / "silent").mkdir()
    (top / "cmd-c" / "notes.txt").write_bytes(b"x")
    # A second step of one instance is a second output.
    second = top / "cmd-c" / "i-3" / "awsrunShellScript" / "again"
    second.mkdir()
    (second / "stdout").write_bytes(b"again")
    assert _outputs(top) == [
        ("cmd-a", "i-1", "diagnose", b"i-1"),
        ("cmd-b", "i-2", "diagnose", b"i-2"),
        ("cmd-c", "i-3", "again", b"again"),
        ("cmd-c", "i-3", "diagnose", b"i-3"),
    ]
    # Pointed at a command's folder, or at one instance's, it finds the same outputs there.
    assert _outputs(top / "cmd-c") == _outputs(top)[2:]
    assert _outputs(top / "cmd-c" / "i-3") == _outputs(top)[2:]


def test_walk_follows_a_plugin_folder_link_only_inside_the_source(tmp_path: Path) -> None:
    """A linked plugin folder is listed where it points when that is inside the source (a link
    to a folder is never walked further: no cycle can form); one that points outside is
    reported, not read, unless links are to be followed."""
    real = tmp_path / "elsewhere" / "diagnose"
    real.mkdir(parents=True)
    (real / "stdout").write_bytes(b"linked")
    instance = tmp_path / "top" / "cmd" / "i-1"
    instance.mkdir(parents=True)
    os.symlink(real.parent, instance / "awsrunShellScript")
    top = tmp_path / "top"
    parts = os.path.abspath(top).split(os.sep)[-2:]
    (refused,) = walk(str(top), parts)
    assert (refused.instance_id, refused.command_id) == ("i-1", "cmd")
    assert refused.data == (
        b"cannot read awsrunShellScript: a link outside SOURCE, not followed "
        b"(--follow-links reads it)"
    )
    followed = walk(str(top), parts, scope=scope_of(str(top), follow_links=True))
    assert [(o.instance_id, o.data) for o in followed] == [("i-1", b"linked")]
    inside = top / "kept" / "diagnose"
    inside.mkdir(parents=True)
    (inside / "stdout").write_bytes(b"inside")
    (instance / "awsrunShellScript").unlink()
    os.symlink(inside.parent, instance / "awsrunShellScript")
    assert _outputs(top) == [("cmd", "i-1", "diagnose", b"inside")]


def test_walk_shares_split_a_folder_without_overlap(tmp_path: Path) -> None:
    top = tmp_path / "cmd"
    for n in range(50):
        step = top / f"i-{n:03}" / "awsrunShellScript" / "s"
        step.mkdir(parents=True)
        (step / "stdout").write_bytes(b"x")
    shares = [{o.instance_id for o in walk(str(top), ["x", "cmd"], share=(n, 3))} for n in range(3)]
    assert sum(len(s) for s in shares) == 50
    assert set.union(*shares) == {f"i-{n:03}" for n in range(50)}


@pytest.mark.parametrize("run_records", [fleet_runs.RUN_CHUNK * 3 + 7, 5])
def test_spooled_runs_give_back_every_record_in_order(tmp_path: Path, run_records: int) -> None:
    """Records written in chunks of RUN_CHUNK, in several runs, come back merged and whole."""
    records = [
        [f"i-{(n * 7919) % 1000:04}", "cmd", f"/p/{n}", "reason é\n\x00", [f"a.b: {n}"], n]
        for n in range(1000)
    ]
    tally = fleet_summary.Tally(str(tmp_path), keep_rows=False, run_records=run_records)
    for record in records:
        tally._hold(fleet_summary.UNDECIDED, record)
    runs = tally.result()[1]
    listing = fleet_summary.Listing(keep_rows=False)
    try:
        listing.add(runs)
        assert len(listing.runs[fleet_summary.UNDECIDED]) == -(-1000 // run_records)
        assert list(listing.records(fleet_summary.UNDECIDED)) == sorted(
            records, key=lambda r: (r[0], r[1], r[2])
        )
    finally:
        listing.close()


VALUES = [
    {},
    [],
    "plain",
    'ünïcode \u2028 "quoted" \\ \n\t\x00',
    0,
    -3,
    1.5,
    None,
    True,
    False,
    {"a": [], "b": {}, "c": [1, "x", None, [2, [3, {}]]], "d": {"e": {"f": "g"}}},
    [["x"], ("y", "z"), {"k": ("t",)}],
    {"instances": ["i-1", "i-2"], "n": 2, "nested": [{"id": "a.b", "inputs": ["x: y"]}]},
]


@pytest.mark.parametrize("indent", [2, None])
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_stream_json_writes_what_json_dumps_writes(value: object, indent: int | None) -> None:
    """What json.dumps writes, but for characters that are not printable and that json.dumps
    keeps raw (here U+2028): fleet_safe escapes them."""
    expected = json.dumps(value, indent=indent, ensure_ascii=False).replace("\u2028", "\\u2028")
    assert "".join(stream_json(value, indent=indent)) == expected


@pytest.mark.parametrize("indent", [2, None])
def test_stream_json_streams_iterators_as_lists(indent: int | None) -> None:
    """Lists inside may be iterators (read from the listing as written), in batches: the
    output is json.dumps of the same value with lists."""
    ids = [f"i-{n:05}" for n in range(1000)]
    rows = [{"instance_id": i, "reason": "r", "inputs": ["a.b: c"]} for i in ids[:300]]
    value = {
        "by_issue": [{"type": "T", "instances": ids, "count": 1000}, {"instances": []}],
        "undecided": rows,
        "empty": [],
    }
    streamed = {
        "by_issue": [
            {"type": "T", "instances": iter(ids), "count": 1000},
            {"instances": iter([])},
        ],
        "undecided": (r for r in rows),
        "empty": iter(()),
    }
    pieces = list(stream_json(streamed, indent=indent))
    assert "".join(pieces) == json.dumps(value, indent=indent, ensure_ascii=False)
    assert len(pieces) < 100  # members joined in batches, not one piece each


UNKNOWN_TREE = "al2023-6.1"  # undecided under --root: IMDS and the running agent are unseen


@pytest.fixture(scope="module")
def unknown_reports() -> dict[str, str]:
    return {fmt: report(UNKNOWN_TREE, fmt).decode() for fmt in ("json", "text")}


def test_json_undecided_count_matches_the_decoded_checks(unknown_reports: dict[str, str]) -> None:
    text = unknown_reports["json"]
    checks = json.loads(text)["checks"]
    decoded = fleet_parse._undecided_count(text, checks)
    assert decoded > 0
    assert fleet_parse._undecided_count(text, None) == decoded
    # Re-indented by some tool: the marks are gone, the whole document is decoded, and the
    # row is the same.
    compact = json.dumps(json.loads(text)).encode()
    rows = [fleet_parse.parse(Output("i-1", "cmd", "s", data)) for data in (text.encode(), compact)]
    assert rows[0] == rows[1]
    assert rows[0].reason == f"could not decide: {decoded} checks inconclusive"


def test_text_undecided_list_ends_at_the_first_other_line(unknown_reports: dict[str, str]) -> None:
    text = unknown_reports["text"]
    listed = fleet_parse._undecided_lines(text)
    assert listed and all(": " in item and not item.startswith(" ") for item in listed)
    at = text.rindex(fleet_parse.INCOMPLETE_TITLE) + len(fleet_parse.INCOMPLETE_TITLE)
    items: list[str] = []
    for line in text[at:].split("\n"):  # an item, and its continuations if the report wraps
        if line.startswith("  - "):
            items.append(line[len("  - ") :])
        elif line.startswith("    ") and items:
            items[-1] += " " + line.strip()
        else:
            break
    assert tuple(items) == listed
    cut = text[:at] + "  - a.b: first\n  - not an id: x\n  - c.d: after\n"
    assert fleet_parse._undecided_lines(cut) == ("a.b: first",)
    assert fleet_parse._undecided_lines(text[:at] + "  - a.b: last, no newline") == (
        "a.b: last, no newline",
    )
    assert fleet_parse._undecided_lines("amzn-gd-doctor: UNKNOWN | x\n") == ()


def test_text_undecided_list_of_a_wrapped_report_is_joined_again() -> None:
    """A report wrapped to a width continues an item on lines indented under its text."""
    text = (
        "amzn-gd-doctor: UNKNOWN | could not decide: 2 checks inconclusive | i-1\n"
        + fleet_parse.INCOMPLETE_TITLE
        + "  - agent.journal: error: no journal files under\n"
        + "    /var/log/journal: the tree has no persistent journal\n"
        + "  - imds.identity: unsupported: IMDS is off  (two spaces kept)\n"
        + "\nNext section\n"
    )
    assert fleet_parse._undecided_lines(text) == (
        "agent.journal: error: no journal files under /var/log/journal: the tree has no "
        "persistent journal",
        "imds.identity: unsupported: IMDS is off  (two spaces kept)",
    )


HEADERS = [
    "amzn-gd-doctor 0.1.0: GuardDuty Runtime Monitoring on i-0abc",
    "amzn-gd-doctor 1:2: GuardDuty Runtime Monitoring on this host",
    "amzn-gd-doctor 0.1\t0: GuardDuty Runtime Monitoring on x",
    "amzn-gd-doctor 0.1\u00a00: GuardDuty Runtime Monitoring on x",
    "amzn-gd-doctor 0.1\x000: GuardDuty Runtime Monitoring on x",
    "amzn-gd-doctor : GuardDuty Runtime Monitoring on x",
    "amzn-gd-doctor 0.1.0 GuardDuty Runtime Monitoring on x",
    "amzn-gd-doctor 0.1.0: GuardDuty Runtime Monitoring on ",
    "Amzn-gd-doctor 0.1.0: GuardDuty Runtime Monitoring on x",
]


@pytest.mark.parametrize("header", HEADERS)
def test_text_header_version_is_read_as_the_pattern_says(header: str) -> None:
    """The doctor's version is the run of non-space characters the header pattern names."""
    import re

    match = re.match(r"amzn-gd-doctor (\S+): GuardDuty Runtime Monitoring on ", header)
    expected = match.group(1) if match else ""  # as it is: each view escapes it
    text = f"amzn-gd-doctor: HEALTHY | no issue predicted | i-1\n{header}\nHost: Debian 12\n"
    row = fleet_parse.parse(Output("i-1", "cmd", "s", text.encode()))
    assert (row.status, row.doctor_version, row.os) == ("HEALTHY", expected, "Debian 12")


def test_walked_outputs_are_whole_values(tmp_path: Path) -> None:
    step = tmp_path / "cmd" / "i-1" / "awsrunShellScript" / "s"
    step.mkdir(parents=True)
    (step / "stdout").write_bytes(b"x")
    (found,) = walk(str(tmp_path / "cmd"), ["x", "cmd"])
    mtime = os.stat(step / "stdout").st_mtime
    expected = Output("i-1", "cmd", "s", b"x", False, str(step / "stdout"), mtime)
    assert found == expected
    assert hash(found) == hash(expected)


def test_remembered_lists_follow_each_report(unknown_reports: dict[str, str]) -> None:
    """Undecided lists are remembered by their text: a report whose list differs gets its own."""
    first = unknown_reports["json"]
    doc = json.loads(first)
    doc["incomplete"] = doc["incomplete"][:1] + [{"id": "x.y", "reason": "changed"}]
    second = json.dumps(doc, indent=2)
    text = unknown_reports["text"]
    changed_text = text.replace(
        "\nCould not observe or decide:\n", "\nCould not observe or decide:\n  - x.y: changed\n"
    )
    rows = [
        fleet_parse.parse(Output("i-1", "cmd", "s", data.encode()))
        for data in (first, second, first, text, changed_text, text)
    ]
    assert rows[0].undecided == rows[2].undecided == rows[3].undecided == rows[5].undecided
    assert rows[1].undecided == (rows[0].undecided[0], "x.y: changed")
    assert rows[4].undecided == ("x.y: changed",) + rows[3].undecided
