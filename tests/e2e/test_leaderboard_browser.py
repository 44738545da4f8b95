"""The leaderboard page in a real browser (Debian's chromium driven by Playwright): every task
section and the claims table with the CSVs' row counts, sorting, filtering, the widths it must
read well at, and a screenshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from leaderboard import render

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "leaderboard"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system chromium (apt-get install "
                                "chromium; the nox session installs it as root)")
WIDTHS = (1024, 1280, 1440, 1920)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("site")
    for name in ("results.csv", "claims.csv", "metrics.csv", "bench.json"):
        shutil.copy(BOARD / name, out / name)
    render.write_all(out / "results.csv", out, REPO / "figures")
    return (out / "index.html").as_uri()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _expected_sections() -> int:
    return len(render.build_sections(pd.read_csv(BOARD / "results.csv")))


def test_every_task_section_and_the_claims_are_on_the_page(browser, page_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_url)
    assert page.locator("section[data-filterable]").count() == _expected_sections()
    assert page.locator("#overview tbody tr").count() == _expected_sections()
    claims = pd.read_csv(BOARD / "claims.csv")
    assert page.locator("#claims tbody tr").count() == len(claims)
    first = page.locator("section[data-filterable]").first
    assert first.locator("img").count() >= 1  # its figures sit next to its table
    href = first.locator("tbody tr td a").first.get_attribute("href")
    assert href and href.endswith(".py") and (Path(page_url[7:]).parent / href).resolve().is_file()


def test_a_column_header_click_sorts_the_rows(browser, page_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_url)
    table = page.locator("section[data-filterable] table").first
    header = table.locator("th", has_text="LDS (Spearman)")
    header.click()
    assert header.get_attribute("aria-sort") == "descending"
    values = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => parseFloat(r.cells[2].textContent))")
    finite = [v for v in values if v == v]
    assert finite == sorted(finite, reverse=True) and len(finite) >= 2
    header.click()
    values = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => parseFloat(r.cells[2].textContent))")
    finite = [v for v in values if v == v]
    assert finite == sorted(finite)


def test_filters_keep_only_what_they_select(browser, page_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_url)
    page.select_option("#f-regime", "fine-tuned")
    visible = page.locator("section[data-filterable]:not([hidden])")
    assert visible.count() >= 1
    assert set(visible.evaluate_all("els => els.map(e => e.dataset.regime)")) == {"fine-tuned"}
    sections = render.build_sections(pd.read_csv(BOARD / "results.csv"))
    assert visible.count() == sum(s.regime == "fine-tuned" for s in sections)
    page.select_option("#f-regime", "")
    page.select_option("#f-method", "kernel_sm")
    rows = page.locator("section[data-filterable]:not([hidden]) tbody tr:not([hidden])")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.method)")) == {"kernel_sm"}


@pytest.mark.parametrize("width", WIDTHS)
def test_no_sideways_scrolling_at_common_widths(browser, page_url, width, tmp_path):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(page_url)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    wide = page.locator(".scroll").first  # a wide table scrolls inside its own box
    assert wide.evaluate("e => e.clientWidth <= window.innerWidth")
    sticky = page.locator("table.methods td:first-child").first
    assert sticky.evaluate("e => getComputedStyle(e).position") == "sticky"
    if width == 1280:
        page.screenshot(path=str(tmp_path / "leaderboard-1280.png"), full_page=False)
        assert (tmp_path / "leaderboard-1280.png").stat().st_size > 10_000
