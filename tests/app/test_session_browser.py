"""A browser refresh keeps the work (#16, item 6): in Chromium, upload a Salesforce-style file, make it
active, reload the page, and find the upload still active, named on the Data page, with the session
key in the URL. Also times a reload of the sample and of the upload (target: 3 s for the sample),
written to screenshots/session-timings.json and not asserted: on a shared machine under load the same
reload took 6.8 s alone and 27 s during a full test run."""

from __future__ import annotations

import io
import json
import time

import pytest

from tests.app import test_browser as tb
from tests.crm_files import salesforce_accounts

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
SIDEBAR = '[data-testid="stSidebar"]'


def _reload(page) -> float:
    started = time.monotonic()
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector(f'{tb.APP_ROOT}[data-test-script-state="notRunning"]', timeout=tb.RERUN_TIMEOUT_MS)
    page.locator(SIDEBAR).get_by_text("Active dataset").wait_for(timeout=tb.RERUN_TIMEOUT_MS)
    return time.monotonic() - started


def test_a_reload_keeps_the_upload_active(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    page = context.new_page()
    try:
        blocked = tb.open_app_offline(page, streamlit_server)
        sample_reload_s = _reload(page)
        assert "session=" in page.url
        buffer = io.BytesIO()
        salesforce_accounts(600).to_csv(buffer, index=False)
        tb.upload_dataset(page, [("Salesforce accounts.csv", buffer.getvalue())])
        key = page.url.split("session=")[1].split("&")[0]
        tb.open_nav(page, "Territories")
        upload_reload_s = _reload(page)
        assert "session=" in page.url and f"session={key}" not in page.url  # a copy under a fresh key
        sidebar = page.locator(SIDEBAR).inner_text()
        assert "Restored your session" in sidebar and "Salesforce accounts.csv" in sidebar
        tb.open_nav(page, "Data")
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "Active: Salesforce accounts.csv" in main  # the Data page names the upload, not the sample
        assert not page.locator(tb.EXCEPTION_BOX).count()
        assert not blocked, blocked
        tb.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        (tb.SCREENSHOT_DIR / "session-timings.json").write_text(json.dumps(
            {"sample_reload_s": round(sample_reload_s, 2), "upload_reload_s": round(upload_reload_s, 2)}))
    finally:
        context.close()


def test_a_saved_scenario_s_notes_do_not_go_with_the_next_one(streamlit_server, browser):
    """Walking the app: after a save the notes stayed in the browser's form (AppTest showed it blank), so
    the next scenario silently took the first one's notes."""
    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    page = context.new_page()
    try:
        tb.open_app_offline(page, streamlit_server)
        tb.open_nav(page, "Scenarios")
        page.get_by_text("Save the alignment in use").first.click()
        page.get_by_label("Scenario name").first.fill("Notes check")
        page.get_by_label("Notes (optional)").first.fill("only for the first")
        page.get_by_role("button", name="Save scenario").first.click()
        tb._wait_for_rerun(page)
        page.get_by_text("Saved scenario").first.wait_for(timeout=tb.RERUN_TIMEOUT_MS)
        assert page.get_by_label("Notes (optional)").first.input_value() == ""
        assert not page.get_by_label("Overwrite a scenario with the same name").first.is_checked()
    finally:
        context.close()
