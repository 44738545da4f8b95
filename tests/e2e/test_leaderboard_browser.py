"""The leaderboard page in a real browser (Debian's chromium driven by Playwright): the claims
scorecard, every task section with the CSVs' row counts, sorting, filtering, the widths it must
read well at (390, 1024, 1280, 1920 px), its height once every image has loaded, figures that
belong to their section and are wide enough to read, whole captions, and screenshots (into
``$LEADERBOARD_SCREENSHOTS`` where set, else pytest's temporary folder)."""

from __future__ import annotations

import json
import os
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
WIDTHS = (390, 1024, 1280, 1920)
LEGIBLE_PX = 300  # the narrowest a figure may be drawn on the page
# Page height at 1280 px once every image has loaded: the top matter (scorecard, overview,
# ranking: about 9,000 px for 7 claims and 40 tasks) plus per task section its table of
# headline methods (about 550 px) and its own two figures side by side (about 650 px). The page
# before per-task figures was 555,216 px: every section embedded every suite-wide figure.
TOP_PX, SECTION_PX = 12_000, 1_500


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


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("LEADERBOARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser, url: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    return page


def _load_every_image(page, details: bool = False) -> None:
    """Open the closed drill-downs (with ``details``), make every image eager, scroll to the
    bottom and wait until each image drawn on the page has loaded."""
    if details:
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("Array.from(document.images).filter(i => i.offsetParent)"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=120_000)
    page.evaluate("window.scrollTo(0, 0)")


def _sections() -> list:
    return render.build_sections(pd.read_csv(BOARD / "results.csv"))


def test_every_task_section_and_every_claim_check_are_on_the_page(browser, page_url):
    page = _open(browser, page_url, 1280)
    assert page.locator("section[data-filterable]").count() == len(_sections())
    assert page.locator("#overview tbody tr").count() == len(_sections())
    claims = pd.read_csv(BOARD / "claims.csv")
    assert page.locator("#scorecard details tbody tr").count() == len(claims)
    first = page.locator("section[data-filterable]").first
    assert first.locator("img").count() >= 1  # its figures sit next to its table
    href = first.locator("tbody tr th a").first.get_attribute("href")
    assert href and href.endswith(".py") and (Path(page_url[7:]).parent / href).resolve().is_file()
    page.click("#scorecard table.scorecard a[href='#claim-quick-C2']")
    assert page.locator("#claim-quick-C2").evaluate("d => d.open")  # the link opens the checks


def test_a_column_header_click_sorts_the_rows(browser, page_url):
    page = _open(browser, page_url, 1280)
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
    page = _open(browser, page_url, 1280)
    page.select_option("#f-regime", "fine-tuned")
    visible = page.locator("section[data-filterable]:not([hidden])")
    assert visible.count() >= 1
    assert set(visible.evaluate_all("els => els.map(e => e.dataset.regime)")) == {"fine-tuned"}
    assert visible.count() == sum(s.regime == "fine-tuned" for s in _sections())
    page.select_option("#f-regime", "")
    page.select_option("#f-method", "kernel_sm")
    rows = page.locator("section[data-filterable]:not([hidden]) tbody tr:not([hidden])")
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.method)")) == {"kernel_sm"}


def test_the_variants_checkbox_shows_the_hidden_rows(browser, page_url):
    page = _open(browser, page_url, 1280)
    section = page.locator("section[data-filterable]", has=page.locator("label.variants")).first
    variants = section.locator("tr.variant")
    assert variants.count() >= 1 and not variants.first.is_visible()
    section.locator("label.variants input").check()
    assert variants.first.is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_width_reads_without_sideways_scrolling(browser, page_url, width, shots):
    page = _open(browser, page_url, width)
    _load_every_image(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
    boxes = page.locator(".scroll")
    assert boxes.evaluate_all("bs => bs.every(b => b.clientWidth <= window.innerWidth)")
    if width >= 1280:  # every column in view: no table scrolls inside its box
        wide = boxes.evaluate_all("bs => bs.filter(b => b.offsetParent && "
                                  "b.scrollWidth > b.clientWidth + 1).map(b => "
                                  "b.closest('section').id)")
        assert wide == [], f"tables wider than the page at {width}px: {wide}"
    sticky = page.locator("table.methods tbody th").first
    assert sticky.evaluate("e => getComputedStyle(e).position") == "sticky"
    page.screenshot(path=str(shots / f"leaderboard-{width}.png"), full_page=False)
    assert (shots / f"leaderboard-{width}.png").stat().st_size > 10_000


def test_the_page_height_is_bounded_once_every_image_has_loaded(browser, page_url, shots):
    page = _open(browser, page_url, 1280)
    _load_every_image(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    bound = TOP_PX + SECTION_PX * len(_sections())
    assert height <= bound, f"the page is {height}px tall at 1280px (bound {bound}px)"
    page.screenshot(path=str(shots / "leaderboard-1280-top.png"), full_page=False)


def test_each_sections_images_belong_to_its_task(browser, page_url):
    page = _open(browser, page_url, 1280)
    manifest = json.loads((REPO / "figures" / "figures.json").read_text())
    pairs = page.locator("section[data-task] img").evaluate_all(
        "imgs => imgs.map(i => [i.closest('section').dataset.task, i.getAttribute('src')])")
    assert pairs
    for task, src in pairs:
        assert manifest[src.split("figures/", 1)[1]]["tasks"] == [task], (task, src)


@pytest.mark.parametrize("width", (390, 1280))
def test_every_figure_is_legible_linked_and_captioned(browser, page_url, width):
    page = _open(browser, page_url, width)
    _load_every_image(page, details=True)
    widths = page.locator("img").evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('src'), i.getBoundingClientRect().width])")
    narrow = [(src, round(w)) for src, w in widths if w < LEGIBLE_PX]
    assert widths and not narrow, f"figures drawn narrower than {LEGIBLE_PX}px: {narrow}"
    links = page.locator("img").evaluate_all(
        "imgs => imgs.every(i => i.parentElement.tagName === 'A' && "
        "i.parentElement.getAttribute('href') === i.getAttribute('src'))")
    assert links  # each image opens its full-size file
    captions = page.locator("figcaption").evaluate_all("cs => cs.map(c => c.textContent.trim())")
    assert len(captions) == len(widths) and all(c.endswith(".") for c in captions)


def test_on_a_phone_every_table_keeps_its_first_numeric_column_in_view(browser, page_url,
                                                                       shots):
    page = _open(browser, page_url, 390)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    hidden = page.locator("table").evaluate_all("""ts => ts.filter(t => t.offsetParent)
        .map(t => {
          const th = t.querySelector('thead th.num');
          if (!th) return null;
          const r = th.getBoundingClientRect(), first = t.querySelector('thead th')
            .getBoundingClientRect();
          const ok = r.left >= first.right - 1 && r.right <= window.innerWidth + 0.5;
          return ok ? null : [t.closest('section, details').id, th.textContent, r.left, r.right];
        }).filter(x => x)""")
    assert hidden == [], f"first numeric column out of view at 390px: {hidden[:5]}"
    assert page.locator("table").evaluate_all(
        "ts => ts.filter(t => t.offsetParent).every(t => t.querySelector('thead th.num'))")
    page.screenshot(path=str(shots / "leaderboard-390-tables.png"), full_page=False)
