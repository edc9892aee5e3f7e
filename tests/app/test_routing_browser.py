"""The Routing page in headless Chromium (#14, item 4): edit a rule in the rules table and see the
tester's answer change; upload a file of new accounts, see the routed table and download it.

The expected answers are computed here straight from ``territory.planning.routing`` on the sample;
the browser must show the same. The rules table and the results are glide data grids (a canvas), so
cells are edited by clicking at their position and typing, as a user would, and read through the
grid's accessible table. Screenshots land in tests/app/screenshots/ (git-ignored).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.app import test_browser as tb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

HEADER_PX = 35  # the glide grid's header and row height at the default theme
ROW_PX = 35
TERRITORY_COLUMN = 0.87  # the centre of the rules table's Territory column, as a share of its width
NEW_ACCOUNTS = 40


def _metric(page, label: str, expected: str | None = None, timeout_ms: int = 20_000) -> str:
    """The value of the metric labelled ``label``; given ``expected``, the value once it shows that
    (or, after ``timeout_ms``, whatever it shows then, for the assertion to report).

    A button that calls ``st.rerun()`` runs the script twice; the page can look idle between the two
    runs, so the test waits for the answer a user would wait for instead of trusting the run state.
    """
    box = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True)).first
    value = box.locator('[data-testid="stMetricValue"]')
    shown = value.inner_text().strip()
    waited = 0
    while expected is not None and shown != expected and waited < timeout_ms:
        page.wait_for_timeout(250)
        waited += 250
        shown = value.inner_text().strip()
    return shown


def _set_first_rule_territory(page, territory: str) -> None:
    """Click the first rule's Territory cell, open its list with Enter, type ``territory``, click it."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * TERRITORY_COLUMN, box["y"] + HEADER_PX + ROW_PX / 2)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    page.keyboard.type(territory, delay=50)  # the list filters as it is typed
    option = page.get_by_role("option", name=territory, exact=True)
    option.wait_for(timeout=5_000)
    page.screenshot(path=str(tb.SCREENSHOT_DIR / "routing-rule-picking.png"))
    option.click()
    tb._wait_for_rerun(page)


def test_routing_page_edit_a_rule_then_route_a_file_and_download_it(streamlit_server, browser, tmp_path):
    from territory.data.sample import load_sample
    from territory.planning import routing as R
    from territory.ui.routing import rule_text

    sample = load_sample()
    labels = sample.accounts["territory_id"]
    base = R.routing_base(sample.accounts, labels, sample.territories)
    rules = R.default_rules(sample.accounts, labels)
    first = rules.rules[0]  # zip 01258 (Berkshires, MA: drawn in New York's territory, not its prefix's)
    assert first.kind == "zip"
    zip_code = first.value
    before = R.where_would_it_land(base, rules, postal_code=zip_code, revenue=250_000.0)
    # the territory with the most room, so the capacity guard lets the account stay where the rule says
    other = base.territory_ids[int((base.load / base.share).argmin())]
    edited = rules.to_frame()
    edited.loc[0, "territory_id"] = other
    after = R.where_would_it_land(base, R.parse_rules(edited, base.territory_ids), postal_code=zip_code,
                                  revenue=250_000.0)
    assert (after["territory_id"], after["reason_code"]) == (other, R.MATCHED) != (before["territory_id"], R.MATCHED)

    new = sample.accounts.sample(NEW_ACCOUNTS, random_state=14)
    new = new.assign(account_id="NEW-" + new["account_id"]).drop(columns="territory_id")
    expected = R.routed_table(new, R.route(new, rules, base))

    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page = context.new_page()
    try:
        blocked = tb.open_app_offline(page, streamlit_server)
        tb.open_nav(page, "Routing")
        zip_box = page.get_by_label("ZIP", exact=True)
        zip_box.fill(zip_code)
        zip_box.press("Enter")
        tb._wait_for_rerun(page)
        assert (_metric(page, "Territory", before["territory_id"]), _metric(page, "Rule", rule_text(before))) == (
            before["territory_id"], rule_text(before))
        tb._screenshot(page, "routing-tester")

        _set_first_rule_territory(page, other)
        assert page.locator(tb.EXCEPTION_BOX).count() == 0
        assert (_metric(page, "Territory", other), _metric(page, "Rule", rule_text(after))) == (
            other, rule_text(after))  # the answer changed
        tb._screenshot(page, "routing-rule-edited")

        page.get_by_role("button", name="Back to the default rules").click()
        tb._wait_for_rerun(page)
        assert _metric(page, "Territory", before["territory_id"]) == before["territory_id"]

        uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="New accounts")
        uploader.locator('input[type="file"]').set_input_files(
            files=[{"name": "new_accounts.csv", "mimeType": "text/csv", "buffer": new.to_csv(index=False).encode()}])
        tb._wait_for_rerun(page)
        page.wait_for_timeout(tb.PAINT_MS)
        assert page.locator(tb.EXCEPTION_BOX).count() == 0
        assert (_metric(page, "Rows read", str(NEW_ACCOUNTS)), _metric(page, "Assigned", str(len(expected))),
                _metric(page, "Rejected", "0")) == (
            str(NEW_ACCOUNTS), str(len(expected)), "0")
        redirected = int((expected["reason_code"] == R.REDIRECTED).sum())
        assert _metric(page, "Redirected by the capacity guard", str(redirected)) == str(redirected)
        routed_grid = page.locator('[data-testid="stDataFrame"]').nth(2)  # rules, load per territory, routed
        routed_grid.scroll_into_view_if_needed()
        shown_ids = [cell.inner_text() for cell in routed_grid.locator("tr td:first-child").all()]
        assert shown_ids[:5] == expected["account_id"].head(5).tolist()
        tb._screenshot(page, "routing-routed")

        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the routed accounts (CSV)").click()
        path = tmp_path / "routed.csv"
        download_info.value.save_as(path)
        downloaded = pd.read_csv(io.BytesIO(path.read_bytes()), dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig")
        assert downloaded.columns[:6].tolist() == list(R.OUTPUT_COLUMNS)
        assert downloaded["account_id"].tolist() == expected["account_id"].tolist()
        assert downloaded["territory_id"].tolist() == expected["territory_id"].astype(str).tolist()
        assert blocked == [], f"requests left the machine: {blocked}"
    finally:
        context.close()
