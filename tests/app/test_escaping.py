"""Text from the data is never rendered as Markdown or chart HTML anywhere in the app (issue #18, item 1).

* The app's plotly figures, built from hostile IDs and names: no label holds a live tag.
* AppTest of every page on a dataset whose IDs, names, reps, regions, industries, file name,
  alignment and scenario names are hostile: no Markdown body or widget label holds an unescaped
  image, link, HTML tag, colour directive or maths, and the escaped text is there (the check is
  not vacuous). The helpers themselves are tested in tests/app/test_text.py.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from territory.data import schema
from territory.data.sample import load_sample
from territory.reporting.text import chart_escape, md_escape
from tests.app.apptest import open_page, open_with_dataset, uploaded
from tests.factories import ANCHOR, COLOUR, IMAGE, LINK, MATHS

TIMEOUT_S = 120.0


# --- the app's figures ----------------------------------------------------------------------------

LIVE_TAG = re.compile(r"<\s*(a|img)\b", re.IGNORECASE)


def figure_strings(figure) -> list[str]:
    """Every string a plotly figure (dict or Figure) can draw: categories, names, hover text and
    templates, titles, annotations; ``customdata`` only where a hover template shows it."""
    spec = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            shows_customdata = "%{customdata" in str(value.get("hovertemplate", ""))
            for key, item in value.items():
                if key != "customdata" or shows_customdata:
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif hasattr(value, "tolist"):
            walk(value.tolist())

    walk(spec)
    return found


def assert_no_live_tag(figure, must_show: str = ANCHOR) -> None:
    strings = figure_strings(figure)
    live = [s for s in strings if LIVE_TAG.search(s)]
    assert live == [], f"raw HTML in chart labels: {live[:3]}"
    assert any(chart_escape(must_show) in s for s in strings), "the hostile label did not reach the chart"


def hostile_ids() -> list[str]:
    return [ANCHOR, IMAGE, LINK, f"{COLOUR} {MATHS}"]


def test_shared_charts_escape_territory_ids_and_industries():
    from territory.ui.components import charts

    ids = hostile_ids()
    table = pd.DataFrame({schema.TERRITORY_ID: ids, schema.WORKLOAD_HOURS: [10.0, 12.0, 9.0, 11.0],
                          schema.CAPACITY_FTE: [1.0, 1.0, 0.5, 1.0]})
    assert_no_live_tag(charts.measure_bar(table, {ids[0]: "#123456"}, "workload"))
    matrix = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=[ANCHOR, "Retail"], columns=[ids[0], "T2"])
    assert_no_live_tag(charts.industry_heatmap(matrix, "revenue"))


def test_rebalance_charts_escape_ids_and_keep_raw_ids_for_the_selection():
    from territory.ui.components import rebalance_charts as rbc

    ids = hostile_ids()
    table = pd.DataFrame({schema.TERRITORY_ID: ids, "target": [10.0] * 4, "deviation_pct": [1.0, -2.0, 3.0, 0.0]})
    figure = rbc.distribution_figure(table, table, 0.05, {ids[0]: "#123456"}, "Workload (h/yr)")
    assert_no_live_tag(figure)
    assert figure.layout.xaxis.categoryarray == tuple(chart_escape(t) for t in sorted(ids))
    before = pd.Series([ids[0], ids[1], ids[2]])
    after = pd.Series([ids[1], ids[2], ids[0]])
    assert_no_live_tag(rbc.transfer_figure(rbc.transfer_matrix(before, after)))
    accounts = pd.DataFrame({schema.ACCOUNT_ID: [ANCHOR, "A2"], schema.NAME: [ANCHOR, IMAGE],
                             schema.LATITUDE: [40.0, 41.0], schema.LONGITUDE: [-74.0, -75.0]})
    figure = rbc.selection_figure(accounts, pd.Series([ids[0], ids[0]]), {})
    assert_no_live_tag(figure)
    assert list(figure.data[0].customdata) == [ANCHOR, "A2"]  # the selection still names the raw IDs
    assert "%{customdata" not in figure.data[0].hovertemplate  # ...which are never drawn


def assert_review_trend_charts_escape(ids: list[str]) -> None:
    """Small multiples, the focused territory with its imported quota and forecast, and the pipeline by stage."""
    from territory.planning.forecast import forecast_bookings
    from territory.planning.review import build_review
    from territory.ui import forecast as forecast_ui

    quarters = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    accounts = pd.DataFrame({schema.ACCOUNT_ID: [f"a{i}" for i in range(4)], schema.TERRITORY_ID: ids})
    bookings = pd.DataFrame({schema.ACCOUNT_ID: [f"a{i}" for i in range(4) for _ in quarters],
                             schema.QUARTER: quarters * 4, schema.AMOUNT: [100.0 + i for i in range(32)]})
    quotas = pd.DataFrame({schema.TERRITORY_ID: ids, schema.QUARTER: "2026Q3", "quota": 150.0})
    review = build_review(accounts, accounts[schema.TERRITORY_ID], bookings, quotas=quotas)
    forecast = forecast_bookings(review.bookings)
    assert_no_live_tag(forecast_ui.small_multiples(review, forecast, {}, {ids[1]: IMAGE}))
    assert_no_live_tag(forecast_ui.focus_chart(review, forecast, {}, ids[0]))
    pipeline = pd.DataFrame({schema.TERRITORY_ID: ids, "stage": [ANCHOR, IMAGE, LINK, "Open"],
                             "opportunities": [1] * 4, "amount": [10.0] * 4})
    assert_no_live_tag(forecast_ui.pipeline_chart(pipeline))


def test_review_and_scenario_charts_escape_ids():
    from territory.ui import review as review_ui
    from territory.ui import scenarios as scenarios_ui

    ids = hostile_ids()
    assert_review_trend_charts_escape(ids)
    table = pd.DataFrame({schema.TERRITORY_ID: ids, "quota": [1.0] * 4, "quota_share_pct": [25.0] * 4,
                          "quota_vs_last_pct": [100.0] * 4, "bookings_last_quarter": [1.0] * 4,
                          "attainment_pct": [90.0] * 4, "attainment_quota": [1.0] * 4})
    assert_no_live_tag(review_ui.quota_chart(table, {}, "2026Q2", "2026Q3"))
    assert_no_live_tag(review_ui.attainment_chart(table, {}, "2026Q2"))
    curves = pd.DataFrame({"scope": [ids[0], ids[0], "All accounts", "All accounts"],
                           "account_share": [0.5, 1.0, 0.5, 1.0], "value_share": [0.8, 1.0, 0.8, 1.0]})
    assert_no_live_tag(review_ui.pareto_figure(curves, {}))
    deviations = {ANCHOR: pd.DataFrame({schema.TERRITORY_ID: ids, "deviation_pct": [1.0, 2.0, 3.0, 4.0]})}
    assert_no_live_tag(scenarios_ui.deviation_strip(deviations, 0.05))


# --- the pages, on a hostile dataset --------------------------------------------------------------

UNSAFE_MARKDOWN = {
    "image or link": re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\("),
    "HTML tag": re.compile(r"(?<!\\)<\s*(?:a|img)\b", re.IGNORECASE),
    "autolink": re.compile(r"(?<!\\)<https?:|https?:(?!\u2060)//"),
    "colour directive": re.compile(r"(?<!\\):red(?:\\)?\["),
    "maths": re.compile(r"(?<!\\)\$x(?<!\\)\$"),
}


@pytest.fixture(scope="module")
def hostile():
    """About 1,500 sample accounts in 4 territories whose every text field is hostile."""

    sample = load_sample()
    keep = ["T01", "T02", "T03", "T04"]
    rename = dict(zip(keep, hostile_ids()))
    accounts = sample.accounts[sample.accounts[schema.TERRITORY_ID].isin(keep)].reset_index(drop=True)
    accounts[schema.TERRITORY_ID] = accounts[schema.TERRITORY_ID].map(rename).astype("string")
    accounts.loc[:9, schema.NAME] = IMAGE
    accounts.loc[10:19, schema.NAME] = ANCHOR
    accounts.loc[:99, schema.INDUSTRY] = f"{LINK} {MATHS}"
    territories = sample.territories[sample.territories[schema.TERRITORY_ID].isin(keep)].reset_index(drop=True)
    territories[schema.TERRITORY_ID] = territories[schema.TERRITORY_ID].map(rename)
    territories[schema.REP_NAME] = [LINK, IMAGE, ANCHOR, COLOUR]
    territories[schema.REGION] = [COLOUR, COLOUR, IMAGE, IMAGE]
    bookings = sample.bookings[sample.bookings[schema.ACCOUNT_ID].isin(set(accounts[schema.ACCOUNT_ID]))]
    bookings = bookings.reset_index(drop=True)
    return uploaded(f"{IMAGE}.csv", accounts, territories, bookings, alignment_name=LINK)


def open_hostile(hostile, page: str, prepare=None):
    """``page`` with the hostile dataset and alignment active (and ``prepare(at)`` applied)."""
    return open_with_dataset(page, *hostile, TIMEOUT_S, prepare)


def markdown_texts(at) -> list[str]:
    """Every body and label on the page that Streamlit renders as Markdown (sidebar included)."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        texts += [element.value for element in getattr(at, kind)]
    for kind in ("button", "expander", "tabs", "metric", "selectbox", "multiselect", "text_input", "text_area",
                 "toggle", "checkbox", "radio", "slider", "number_input"):
        for element in getattr(at, kind):
            texts += [t for t in (getattr(element, "label", None), getattr(element, "help", None)) if t]
    return [str(t) for t in texts]


def assert_inert(at, must_show: list[str]) -> list[str]:
    """No data-made construct in any Markdown on the page; each of ``must_show`` is there, escaped."""
    texts = markdown_texts(at)
    unsafe = [(name, text) for text in texts for name, pattern in UNSAFE_MARKDOWN.items() if pattern.search(text)]
    assert unsafe == [], f"data rendered as Markdown: {unsafe[:3]}"
    for text in must_show:
        assert any(md_escape(text) in t for t in texts), f"{md_escape(text)!r} not on the page: {texts}"
    return texts


def assert_charts_inert(at) -> None:
    charts = at.get("plotly_chart")
    assert charts, "no chart on the page"
    for chart in charts:
        live = [s for s in figure_strings(json.loads(chart.proto.spec)) if LIVE_TAG.search(s)]
        assert live == [], f"raw HTML in chart labels: {live[:3]}"


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/territories.py", "pages/data.py"])
def test_pages_show_hostile_names_as_text(hostile, page):
    at = open_hostile(hostile, page)
    # The sidebar and the page header name the dataset (a file name) and the alignment.
    assert_inert(at, [f"{IMAGE}.csv", LINK])
    if page != "pages/data.py":
        assert_charts_inert(at)


def test_territories_drill_down_charts_and_tabs_stay_inert(hostile):
    at = open_hostile(hostile, "pages/territories.py")
    at.selectbox(key="ts_territories_drill").set_value(ANCHOR).run()
    assert not at.exception
    assert_inert(at, [])
    assert_charts_inert(at)


def test_rebalance_messages_event_and_manual_moves_are_escaped(hostile):
    from territory.ui import rebalance as rb

    dataset, _ = hostile

    def prepare(at):
        at.session_state[rb.DATASET_KEY] = dataset.fingerprint  # else a first visit clears the event
        at.session_state[rb.EVENT_KEY] = ("rep_leaves", ANCHOR)
        at.session_state["ts_rebalance_tab"] = "Manual moves"
        at.session_state["ts_rebalance_pick_codes"] = f"{LINK}, {COLOUR} {MATHS}"  # pasted codes no account has

    at = open_hostile(hostile, "pages/rebalance.py", prepare)
    texts = assert_inert(at, [LINK, COLOUR, MATHS])  # "Before:" the alignment's name; the unknown codes
    assert any(t.startswith(f"**Applied:** the rep of {md_escape(ANCHOR)} leaves") for t in texts)
    assert f"Move 0 accounts to {md_escape(IMAGE)}" in texts  # IMAGE sorts first
    assert_charts_inert(at)
    for tab in ("Load per territory", "Account flows"):
        at.session_state["ts_rebalance_tab"] = tab
        at.run()
        assert not at.exception
        assert_inert(at, [])
        assert_charts_inert(at)


def test_review_focus_flags_and_jump_are_escaped(hostile):
    at = open_hostile(hostile, "pages/review.py")
    assert_charts_inert(at)
    at.selectbox(key="ts_review_focus").set_value(ANCHOR).run()
    assert not at.exception
    texts = assert_inert(at, [ANCHOR])  # "Open ... on the Territories page", the 80/20 caption
    assert f"Open {md_escape(ANCHOR)} on the Territories page" in texts
    assert_charts_inert(at)


def test_review_error_quoting_a_cell_is_escaped(hostile):
    dataset, alignment = hostile
    bookings = dataset.bookings.copy()
    bookings[schema.QUARTER] = bookings[schema.QUARTER].astype("string")
    bookings.loc[0, schema.QUARTER] = IMAGE  # unreadable quarter: the error quotes the cell
    broken = (dataset.__class__(dataset.name, dataset.accounts, dataset.territories, bookings,
                                dataset.fingerprint + "-bad-quarter", dataset.source), alignment)
    at = open_hostile(broken, "pages/review.py")
    assert at.error, "an unreadable quarter must give an st.error message"
    assert_inert(at, [IMAGE])


def test_scenario_names_and_notes_are_escaped(hostile, scenario_db):
    from territory.planning.scenarios import ScenarioStore, build_scenario

    dataset, alignment = hostile
    other = alignment.labels.copy()
    other.iloc[:40] = ANCHOR
    store = ScenarioStore(scenario_db)
    store.save(build_scenario(IMAGE, dataset.accounts, alignment.labels, notes=f"{LINK} {COLOUR} {MATHS}"))
    store.save(build_scenario(ANCHOR, dataset.accounts, other))
    at = open_hostile(hostile, "pages/scenarios.py")
    at.selectbox(key="ts_scn_open").set_value(IMAGE).run()
    texts = assert_inert(at, [LINK, f"{LINK} {COLOUR} {MATHS}"])  # "Save the alignment in use (...)"; notes
    assert f"Notes: {md_escape(f'{LINK} {COLOUR} {MATHS}')}" in texts
    at.button(key="ts_scn_activate").click().run()
    assert not at.exception
    assert_inert(at, [IMAGE])  # the flash message and the new alignment's name
    at.session_state["ts_scn_tab"] = "Compare"
    at.run()
    assert not at.exception
    at.multiselect(key="ts_scn_compare").set_value([IMAGE, ANCHOR]).run()
    assert not at.exception
    assert_inert(at, [IMAGE, ANCHOR])  # the map captions
    assert_charts_inert(at)


def test_data_page_errors_quote_the_file_name_escaped():
    at = open_page("pages/data.py", timeout=TIMEOUT_S)
    at.radio(key="ts_data_source").set_value("Upload a file").run()
    at.file_uploader(key="ts_data_accounts_file").set_value((f"{IMAGE}.xlsx", b"PK\x03\x04 not a zip",
                                                         "application/zip")).run()
    assert not at.exception
    assert at.error, "a bad file must give an st.error message"
    assert_inert(at, [f"{IMAGE}.xlsx"])


def test_routing_page_shows_hostile_ids_as_text(hostile):
    dataset, _ = hostile
    at = open_hostile(hostile, "pages/routing.py")
    assert_inert(at, [LINK])  # "Rules for <alignment name>"
    new = dataset.accounts.head(30).assign(account_id=lambda f: IMAGE + f["account_id"])
    at.file_uploader(key="ts_routing_new_accounts").set_value(("new.csv", new.to_csv(index=False).encode(),
                                                            "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert_inert(at, [LINK])
    assert_charts_inert(at)


def test_rep_page_shows_hostile_ids_reps_and_regions_as_text(hostile):
    at = open_hostile(hostile, "pages/rep.py")
    at.selectbox(key="ts_rep_territory").set_value(ANCHOR).run()
    assert not at.exception, [e.value for e in at.exception]
    assert_inert(at, [ANCHOR, LINK, COLOUR])  # the territory, its rep and its region in the heading
    assert_charts_inert(at)
