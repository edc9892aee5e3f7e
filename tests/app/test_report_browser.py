"""The review report opens in a real browser with every non-local request blocked."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory.data.sample import load_sample, us_states_geojson
from territory.reporting.report import ReportInput, build_report

pytestmark = pytest.mark.browser


def test_report_renders_offline_in_chromium(browser, tmp_path: Path) -> None:
    sample = load_sample()
    accounts = sample.accounts
    after = accounts["territory_id"].copy()
    after.iloc[:25] = "T03"
    path = tmp_path / "review.html"
    path.write_text(
        build_report(
            ReportInput(accounts=accounts, labels_after=after, labels_before=accounts["territory_id"],
                        territories=sample.territories, boundaries=us_states_geojson(), scenario_name="offline")
        ),
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []

    def route(handle):
        url = handle.request.url
        if url.startswith("file://"):
            handle.continue_()
        else:
            requested.append(url)
            handle.abort()

    page.route("**/*", route)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 3  # workload, revenue, map
    assert page.locator("text=Moved accounts").count() == 1
    assert requested == [], f"the report asked the network for {requested}"
    assert errors == []
    page.close()
