"""AppTest of the Rep page through the router: the sample, a re-balanced plan with moves, the download.

Expected figures come from territory.planning (review, forecast, rep_view) straight from the sample.
"""

from __future__ import annotations

import pytest

from territory.balance import BalanceParams, balance
from territory.data import schema
from territory.data.sample import load_sample
from territory.planning.forecast import forecast_bookings
from territory.planning.rep import rep_view
from territory.planning.review import build_review
from territory.ui import review as review_ui
from tests.app.apptest import open_page, open_with_dataset

PAGE = "pages/rep.py"
TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def metrics_shown(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_rep_page_shows_the_territorys_figures(sample):
    at = open_page(PAGE, timeout=TIMEOUT_S)
    at.selectbox(key="ts_rep_territory").set_value("T07").run()
    assert not at.exception, [e.value for e in at.exception]
    labels = sample.accounts[schema.TERRITORY_ID]
    review = build_review(sample.accounts, labels, sample.bookings, sample.territories)
    forecast = forecast_bookings(review.bookings, sample.territories)
    row = review.table.set_index(schema.TERRITORY_ID).loc["T07"]
    shown = metrics_shown(at)
    assert shown["Accounts"] == f"{int((labels == 'T07').sum()):,}"
    assert shown[f"Quota {review.next_quarter}"] == review_ui.usd(row["quota"])
    assert shown[f"Bookings {review.latest_quarter}"] == review_ui.usd(row["bookings_last_quarter"])
    assert shown[f"Forecast {forecast.quarter}"] == review_ui.usd(
        forecast.territories.set_index(schema.TERRITORY_ID).loc["T07", "value"])
    assert "T07" in at.subheader[0].value and "Yuki Lopez" in at.subheader[0].value
    top = [df.value for df in at.dataframe if "Revenue (USD/yr)" in df.value.columns and "Why" not in df.value.columns]
    assert len(top) == 1 and len(top[0]) == 10
    assert top[0]["Revenue (USD/yr)"].is_monotonic_decreasing
    # white space: the territory's own segments, largest first, as territory.planning.whitespace ranks them
    from territory.planning.whitespace import white_space

    expected_hunt = white_space(sample.accounts, labels, sample.bookings).hunt_in("T07", 5)
    hunt = [df.value for df in at.dataframe if "White space (USD/yr)" in df.value.columns]
    assert len(hunt) == 1 and hunt[0]["Area"].tolist() == expected_hunt["area"].tolist()
    assert len(at.get("plotly_chart")) == 1 and at.get("deck_gl_json_chart")  # bookings chart and the map
    assert at.get("download_button"), "no printable page to download"


def test_rep_page_lists_the_moves_of_the_plan_in_use(sample):
    from territory.ui import state

    result = balance(sample.accounts, BalanceParams(tolerance=0.05, stability=0.5), sample.territories)
    labels = result.labels.astype("string")
    dataset = state.ActiveDataset("Built-in sample", sample.accounts, sample.territories, sample.bookings,
                                  state.frame_fingerprint(sample.accounts, sample.territories, sample.bookings),
                                  "sample")
    alignment = state.Alignment(labels, "Rebalanced 09:00", state.labels_fingerprint(labels), "09:00", result)
    at = open_with_dataset(PAGE, dataset, alignment, TIMEOUT_S)
    at.selectbox(key="ts_rep_territory").set_value("T07").run()
    assert not at.exception, [e.value for e in at.exception]
    expected = rep_view(sample.accounts, labels, "T07", territories=sample.territories,
                        previous=sample.accounts[schema.TERRITORY_ID])
    assert len(expected.moved_in) and len(expected.moved_out)  # the plan moves accounts both ways here
    moves = {df.value.iloc[0]["To"] == "T07": df.value for df in at.dataframe if "Why" in df.value.columns}
    assert moves[True]["Account"].tolist() == expected.moved_in["account_id"].tolist()
    assert moves[False]["Account"].tolist() == expected.moved_out["account_id"].tolist()
    assert moves[True]["Why"].str.len().gt(0).all()  # the engine's reason for each move


def test_rep_page_says_where_the_territory_sits():
    """#15: the heading names the territory's level path, Region › District."""
    at = open_page(PAGE, timeout=TIMEOUT_S)
    at.selectbox(key="ts_rep_territory").set_value("T18").run()
    assert not at.exception, [e.value for e in at.exception]
    headings = [h.value for h in at.subheader]
    assert any(h.startswith("T18 · Sofia Bennett · Region › District: East › Mid-Atlantic") for h in headings), headings
