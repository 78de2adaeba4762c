"""The fleet's HTML page in a real browser: Playwright driving Debian's chromium, offline.

What is asserted is what a person sees: visible text, where things are on the screen (the
bounding boxes of each chart's counts inside their SVG, labels not cut, nothing off-screen at
phone width), and what happens after a click, a choice or a keystroke. Screenshots at 1400 and
390 px are kept under the test's tmp_path for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from support import doctor_env, run_cli

from amzn_gd_doctor.fleet import summary as fleet_summary
from amzn_gd_doctor.fleet.parse import Row
from amzn_gd_doctor.render import fleet_html

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = "https://docs.aws.amazon.com/guardduty/latest/ug/"
WIDE, PHONE = 1400, 390

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright (PyPI package) is not installed"
)
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} is missing (Debian package chromium: apt-get install -y chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium driven by Playwright's driver, which keeps the browser's profile in a folder
    of this module's (its TMPDIR), not in the machine's /tmp."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(tmp_path_factory.mktemp("browser")))
        with sync_api.sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield launched
            finally:
                launched.close()


def open_page(browser: Any, path: Path, width: int = WIDE) -> Any:
    """The page at ``path`` in a fresh context of ``width`` px, every request other than the
    file itself refused and remembered (the page must fetch nothing), script errors kept."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.fetched = []
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url == path.as_uri() or url.startswith(path.as_uri() + "#"):
            request_route.continue_()
        else:
            page.fetched.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_function("document.getElementById('shown').textContent !== '0'")
    return page


@pytest.fixture(scope="module")
def fleet_page(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page of the real outputs (conftest's fleet), written by the CLI."""
    page = tmp_path_factory.mktemp("html") / "fleet.html"
    env = doctor_env(TMPDIR=str(tmp_path_factory.mktemp("spool")))
    result = run_cli("fleet", "summarize", str(fleet_dir), "-f", "html", "-o", str(page), env=env)
    assert result.returncode == 0, result.stderr
    return page


def _row(n: int, status: str, **fields: Any) -> Row:
    instance = fields.pop("instance_id", f"i-{n:017x}")
    command = fields.pop("command_id", "cmd-1")
    location = f"/runs/{command}/{instance}/awsrunShellScript/s/stdout"
    return Row(instance, command, status, location=location, **fields)


LONG_TYPE = "Agent Not Provisioned"
LONG_MESSAGE = (
    "A console message that goes on and on, much longer than any chart's label column, "
    "so that a page which cuts labels at a fixed width would lose its end: THE-END"
)
# Kernels that sort one way as text (4.19, 5.10, 5.15, 5.4) and another as versions.
KERNELS = (
    "5.4.0-1103-aws",
    "5.10.228-219.884.amzn2.x86_64",
    "4.19.0-27-cloud-amd64",
    "5.15.0-1051-aws",
)


@pytest.fixture(scope="module")
def big_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page of 9,009 healthy instances and a few others: counts of four digits, a console
    message longer than a label column, kernels that sort differently as text and as
    versions, and fields a forged report could carry."""
    healthy = "6.1.115-126.197.amzn2023.x86_64"
    rows = [_row(n, "HEALTHY", kernel=healthy, os="Amazon Linux 2023") for n in range(9009)]
    rows += [
        _row(
            10000 + n,
            "UNHEALTHY",
            issue_type=LONG_TYPE,
            issue_message=LONG_MESSAGE,
            kernel=KERNELS[n % 4],
            root_causes=("platform.kernel_supported",),
        )
        for n in range(40)
    ]
    rows += [
        _row(
            20000,
            "UNHEALTHY",
            issue_type="x<!--<script>",
            issue_message="</script><script>document.title='owned'</script>",
            instance_id="i-forged\x1b[2J\u202eevil",
            command_id="cmd-\x9b31m",
        ),
        _row(20001, "UNKNOWN", reason="could not decide: 3 checks inconclusive"),
    ]
    folder = tmp_path_factory.mktemp("big")
    summary = fleet_summary.summarize(rows, keep_rows=True)
    with summary.listing:
        page = folder / "fleet.html"
        page.write_text(fleet_html.render_html(summary), encoding="utf-8")
    return page


def visible_rows(page: Any) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#instances tbody tr",
        "trs => trs.map(tr => [...tr.children].map(td => td.innerText.trim()))",
    )


def column(page: Any, name: str) -> int:
    heads = page.eval_on_selector_all("#instances thead th", "ths => ths.map(t => t.innerText)")
    return next(n for n, text in enumerate(heads) if text.startswith(name))


def test_page_fetches_nothing_and_has_a_viewport(browser: Any, fleet_page: Path) -> None:
    text = fleet_page.read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<link" not in text and " src=" not in text
    page = open_page(browser, fleet_page)
    assert page.fetched == [] and page.errors == []
    assert page.inner_text("#shown") == "22"
    assert page.inner_text("#count-UNREADABLE") == "9\nUNREADABLE"
    page.context.close()


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_counts_stay_inside_their_bars_box_and_labels_are_whole(
    browser: Any, big_page: Path, tmp_path: Path, width: int
) -> None:
    """Each chart's longest bar has its count (9009) whole inside its SVG, at desktop and at
    phone width; a long console message is shown to its end, not cut; nothing is wider than
    the screen."""
    page = open_page(browser, big_page, width)
    assert page.errors == []
    boxes = page.eval_on_selector_all(
        "figure.chart svg",
        """svgs => svgs.map(svg => {
            const s = svg.getBoundingClientRect(), t = svg.querySelector('text');
            const b = t.getBoundingClientRect();
            return {text: t.textContent, svg: [s.left, s.right], label: [b.left, b.right],
                    rendered: t.getComputedTextLength()};
        })""",
    )
    assert any(b["text"] == "9009" for b in boxes)
    for box in boxes:
        left, right = box["svg"]
        assert left - 0.5 <= box["label"][0] and box["label"][1] <= right + 0.5, box
        assert box["rendered"] > 0
    label = page.locator("#chart-issues .label", has_text="THE-END")
    assert label.is_visible()
    assert label.inner_text().endswith('THE-END"')
    clipped = page.eval_on_selector_all(
        "figure.chart .label", "ls => ls.filter(l => l.scrollWidth > l.clientWidth + 1).length"
    )
    assert clipped == 0
    width_used = page.evaluate("document.scrollingElement.scrollWidth")
    assert width_used <= width
    for chart in ("#chart-status", "#chart-issues", "#chart-kernel"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
    page.screenshot(path=str(tmp_path / f"fleet-{width}.png"), full_page=True)
    assert (tmp_path / f"fleet-{width}.png").stat().st_size > 10_000
    page.context.close()


def test_status_selector_and_filter_match_whole_statuses(browser: Any, fleet_page: Path) -> None:
    page = open_page(browser, fleet_page)
    status = column(page, "Status")
    page.fill("#filter", "healthy")
    rows = visible_rows(page)
    assert [r[status] for r in rows] == ["HEALTHY", "HEALTHY"]
    assert page.inner_text("#shown") == "2"
    page.fill("#filter", "")
    page.select_option("#status", "UNREADABLE")
    rows = visible_rows(page)
    assert len(rows) == 9 and {r[status] for r in rows} == {"UNREADABLE"}
    page.fill("#filter", "not found")  # words of the reason, within the chosen status
    assert [r[0] for r in visible_rows(page)] == ["i-000000000000000j2"]
    page.select_option("#status", "")
    page.fill("#filter", "unhealthy waiting for ssm")  # a status word and words of the issue
    assert [r[0] for r in visible_rows(page)] == ["i-000000000000000b1", "i-000000000000000b2"]
    page.context.close()


def test_headers_sort_with_a_visible_direction_and_kernels_as_versions(
    browser: Any, big_page: Path
) -> None:
    page = open_page(browser, big_page)
    kernel = column(page, "Kernel")
    head = page.locator("#instances thead th").nth(kernel)
    assert head.get_attribute("aria-sort") == "none"
    page.select_option("#status", "UNHEALTHY")

    def versions() -> list[str]:
        kernels = [r[kernel] for r in visible_rows(page) if r[kernel]]
        return [k.split("-")[0] for k in dict.fromkeys(kernels)]

    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "ascending"
    assert "\u25b2" in head.inner_text()
    # As text, 5.10 and 5.15 would come before 5.4.
    assert versions() == ["4.19.0", "5.4.0", "5.10.228", "5.15.0"]
    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "descending"
    assert "\u25bc" in head.inner_text()
    assert versions() == ["5.15.0", "5.10.228", "5.4.0", "4.19.0"]
    other = page.locator("#instances thead th").nth(0)
    assert other.get_attribute("aria-sort") == "none"
    page.context.close()


def test_rows_link_to_their_fix_and_show_cause_and_run(browser: Any, fleet_page: Path) -> None:
    page = open_page(browser, fleet_page)
    for name in ("Root causes", "Command id", "Fix"):
        column(page, name)
    page.fill("#filter", "i-000000000000000c1")
    (row,) = visible_rows(page)
    assert row[column(page, "Root causes")] == "platform.kernel_supported"
    assert row[column(page, "Command id")] == "5e1b7f0c-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
    page.locator("#instances tbody a", has_text="how to fix").click()
    assert re.search(r"#fix-\d+$", page.url)
    target = page.locator(":target")
    assert target.is_visible()
    text = target.inner_text()
    assert text.startswith(
        'Agent Not Provisioned / "Kernel version is lower than the supported version."'
    )
    box = target.bounding_box()
    assert box is not None and -1 <= box["y"] < 900  # scrolled to it
    link = target.locator("a", has_text="Documentation")
    href = DOCS + "prereq-runtime-monitoring-cpu-os-kernel-support.html"
    assert link.get_attribute("href") == href
    # The console issue with an empty message shows its type alone.
    labels = page.locator("#chart-issues .label").all_inner_texts()
    assert "No Agent Reporting" in labels and not any(t.endswith("/") for t in labels)
    page.context.close()


def test_forged_fields_stay_data(browser: Any, big_page: Path) -> None:
    """``<!--<script>`` and ``</script>`` in fields neither end the data nor run; control and
    bidi characters are shown as escapes; the table holds every instance."""
    page = open_page(browser, big_page)
    assert page.errors == [] and page.title() == "amzn-gd-doctor fleet summary"
    assert page.inner_text("#shown") == "9051"
    page.fill("#filter", "forged")
    (row,) = visible_rows(page)
    assert row[0] == "i-forged\\x1b[2J\\u202eevil"
    assert row[column(page, "Command id")] == "cmd-\\x9b31m"
    assert row[column(page, "Console issue")].startswith("x<!--<script> / </script><script>")
    body = page.inner_text("body")
    assert "\u202e" not in body and "\x1b" not in body and "\x9b" not in body
    page.context.close()


def test_phone_width_shows_charts_and_rows_on_screen(
    browser: Any, fleet_page: Path, tmp_path: Path
) -> None:
    page = open_page(browser, fleet_page, PHONE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE
    chart = page.locator("#chart-status").bounding_box()
    assert chart is not None and chart["x"] >= 0 and chart["x"] + chart["width"] <= PHONE
    page.fill("#filter", "i-000000000000000c1")
    row = page.locator("#instances tbody tr").first.bounding_box()
    assert row is not None and row["x"] >= 0 and row["x"] + row["width"] <= PHONE
    # Each cell says what it is, as the column headers are not beside it.
    cell = page.locator("#instances tbody td").nth(column(page, "Root causes"))
    before = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert before == '"Root causes"'
    assert cell.inner_text() == "platform.kernel_supported"
    page.screenshot(path=str(tmp_path / "fleet-390.png"), full_page=True)
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.screenshot(path=str(tmp_path / "fleet-1400.png"), full_page=True)
    page.context.close()
