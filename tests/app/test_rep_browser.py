"""The Rep page in Chromium: it renders offline with its map and chart (screenshot), and its printable
page prints on US Letter with every non-local request blocked (#19, item 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.app import test_browser as tb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_rep_page_renders_and_its_printable_page_prints_offline(streamlit_server, browser, tmp_path: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1700}, accept_downloads=True)
    page = context.new_page()
    try:
        blocked = tb.open_app_offline(page, streamlit_server)
        tb.open_nav(page, "Rep page")
        page.wait_for_selector("text=Top 10 accounts", timeout=tb.RERUN_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stDeckGlJsonChart"]', timeout=tb.RERUN_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=tb.RERUN_TIMEOUT_MS)
        page.wait_for_timeout(tb.PAINT_MS)
        assert page.locator(tb.EXCEPTION_BOX).count() == 0
        assert page.get_by_text("T01 · Laura Mitchell · Region › District: West › Pacific").count() == 1
        tb.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(tb.SCREENSHOT_DIR / "rep-page.png"))
        with page.expect_download() as download:
            page.get_by_role("button", name="Download this page to print").click()
        printable = tmp_path / "rep.html"
        download.value.save_as(printable)
        assert blocked == [], f"the app asked the network for {blocked}"
    finally:
        context.close()

    sheet = browser.new_page()
    outside: list[str] = []
    sheet.route("**/*", lambda handle: handle.continue_() if handle.request.url.startswith("file://")
                else (outside.append(handle.request.url), handle.abort()))
    sheet.goto(printable.as_uri())
    sheet.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert sheet.locator(".js-plotly-plot").count() == 2  # the territory's map and its bookings
    pdf = sheet.pdf(format="Letter", print_background=True)
    sheet.screenshot(path=str(tb.SCREENSHOT_DIR / "rep-printable.png"), full_page=True)
    sheet.close()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert outside == []
    assert pages == 1, f"the rep's page prints on {pages} Letter pages"  # no moves in the file's own alignment
