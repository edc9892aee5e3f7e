"""AppTest tests of the app's pages (no browser): every page renders, KPIs are right, uploads are safe.

Expected numbers are recomputed here straight from ``territory.data.sample`` and ``territory.planning.metrics``
(not through the UI helpers), so a page that shows a wrong figure fails.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.planning import metrics
from tests.app import apptest
from tests.app.apptest import open_upload

TIMEOUT_S = 60.0
PAGES = [
    "pages/overview.py",
    "pages/data.py",
    "pages/territories.py",
    "pages/rebalance.py",
    "pages/scenarios.py",
    "pages/review.py",
    "pages/rep.py",
]
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_TERRITORY = "<b onmouseover=alert(2)>T9</b>"


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def errors_and_exceptions(at) -> list[str]:
    return [e.value for e in at.exception]


def deck_json(at) -> str:
    decks = at.get("deck_gl_json_chart")
    assert decks, "no pydeck map on the page"
    return decks[0].proto.json


# --- every page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = new_app().run()
    at.switch_page(page).run()
    assert not errors_and_exceptions(at), f"{page}: {errors_and_exceptions(at)}"
    assert at.title, f"{page} has no title"


def test_app_opens_on_overview_with_the_sample_active():
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    sidebar_text = " ".join(c.value for c in at.sidebar.caption)
    assert "Built-in sample" in sidebar_text
    assert "Current alignment" in sidebar_text


# --- Overview -------------------------------------------------------------------------------------


def test_overview_kpis_match_the_metrics_of_the_sample(sample):
    accounts, territories = sample.accounts, sample.territories
    labels = accounts[schema.TERRITORY_ID]
    score = metrics.scorecard(accounts, labels, territories=territories, balance_on="workload")
    expected_max_dev = score["workload_max_deviation_pct"]
    expected_cv_pct = score["workload_cv"] * 100

    at = new_app().run()
    shown = metric_values(at)
    assert shown["Accounts"] == f"{len(accounts):,}"
    assert shown["Territories"] == f"{labels.nunique():,}"
    assert shown["Revenue (USD/yr)"] == f"${accounts[schema.REVENUE].sum() / 1e6:,.1f}M"
    assert shown["Workload (h/yr)"] == f"{accounts[schema.WORKLOAD_HOURS].sum():,.0f} h"
    assert shown["Max deviation"] == f"{expected_max_dev:.1f}%"
    assert shown["Workload spread"] == f"{expected_cv_pct:.1f}%"


def test_region_filter_changes_the_kpis(sample):
    accounts, territories = sample.accounts, sample.territories
    region = territories[schema.REGION].iloc[0]
    in_region = set(territories.loc[territories[schema.REGION] == region, schema.TERRITORY_ID])
    expected_accounts = int(accounts[schema.TERRITORY_ID].isin(in_region).sum())
    assert 0 < expected_accounts < len(accounts)

    at = new_app().run()
    before = metric_values(at)
    at.multiselect(key="ts_overview_regions").set_value([region]).run()
    assert not at.exception
    after = metric_values(at)
    assert after["Accounts"] == f"{expected_accounts:,}"
    assert after["Territories"] == f"{len(in_region):,}"
    assert after["Revenue (USD/yr)"] != before["Revenue (USD/yr)"]


def test_heatmap_toggle_adds_an_h3_layer():
    at = new_app().run()
    layers = [layer["@@type"] for layer in json.loads(deck_json(at))["layers"]]
    assert "H3HexagonLayer" not in layers
    at.button_group(key="ts_overview_heatmap").set_value("workload").run()
    assert not at.exception
    layers = [layer["@@type"] for layer in json.loads(deck_json(at))["layers"]]
    assert "H3HexagonLayer" in layers
    assert "Workload per hexagon (h/yr)" in " ".join(h.proto.body for h in at.get("html"))


def test_overview_map_is_offline():
    spec = json.loads(deck_json(new_app().run()))
    assert spec.get("mapProvider") in (None, "")  # no basemap provider
    # pydeck's "style left unset" sentinel: the frontend then loads no style (a real one is fetched)
    assert spec.get("mapStyle", "__MAP_STYLE__") == "__MAP_STYLE__"


# --- Data -----------------------------------------------------------------------------------------


def new_app():
    return apptest.new_app(TIMEOUT_S)


def test_data_page_shows_a_bad_file_as_an_error_not_a_traceback():
    at = open_upload(new_app().run())
    at.file_uploader(key="ts_data_accounts_file").set_value(("broken.xlsx", b"PK\x03\x04 not a zip", "application/zip"))
    at.run()
    assert not at.exception
    assert at.error, "a bad file must give an st.error message"
    assert "broken.xlsx" in at.error[0].value


def _upload_csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


SMALL_ROWS = [
    {"Account ID": "X1", "Account Name": XSS_NAME, "Billing Zip/Postal Code": "10001",
     "Industry": "Retail", "Revenue": "$120,000", "territory_id": "N1"},
    {"Account ID": "X2", "Account Name": "Acme & Sons", "Billing Zip/Postal Code": "60601",
     "Industry": "Energy", "Revenue": "50000", "territory_id": "N1"},
    {"Account ID": "X3", "Account Name": "Nowhere Inc", "Billing Zip/Postal Code": "00000",
     "Industry": "Retail", "Revenue": "1000", "territory_id": "N2"},
    {"Account ID": "X4", "Account Name": "Golden Gate Co", "Billing Zip/Postal Code": "94105",
     "Industry": "Technology", "Revenue": "75000", "territory_id": "N2"},
]


def test_data_page_reports_rejected_rows_and_makes_the_upload_active():
    at = open_upload(new_app().run())
    at.file_uploader(key="ts_data_accounts_file").set_value(("crm.csv", _upload_csv(SMALL_ROWS), "text/csv")).run()
    assert not at.exception
    shown = metric_values(at)
    assert shown["Rows read"] == "4"
    assert shown["Rows loaded"] == "3"  # ZIP 00000 cannot be located
    assert shown["Rows rejected"] == "1"
    assert at.selectbox(key="ts_data_map_account_id_crm.csv:" + str(len(_upload_csv(SMALL_ROWS)))).value == "Account ID"
    at.button(key="ts_data_use_upload").click().run()
    assert not at.exception
    assert "crm.csv" in at.success[0].value
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert metric_values(at)["Accounts"] == "3"
    # back on the Data page, the page names the upload and opens on it, not on the sample (#16)
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert "crm.csv" in at.success[0].value
    assert at.radio(key="ts_data_source").value == "Upload a file"


def test_xss_names_are_shown_as_text_in_map_tooltips_and_legend():
    rows = [dict(r) for r in SMALL_ROWS]
    rows[3]["territory_id"] = XSS_TERRITORY  # lands in the legend (HTML) and in tooltips
    at = open_upload(new_app().run())
    at.file_uploader(key="ts_data_accounts_file").set_value(("crm.csv", _upload_csv(rows), "text/csv")).run()
    at.button(key="ts_data_use_upload").click().run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    deck = at.get("deck_gl_json_chart")[0]
    # Tooltips are written with innerText ("text"), never innerHTML ("html"): raw names are inert.
    tooltip = json.loads(deck.proto.tooltip)
    assert set(tooltip) == {"text", "style"} and tooltip["text"] == "{tip}"
    tips = [row["tip"] for layer in json.loads(deck.proto.json)["layers"] for row in layer.get("data") or []
            if isinstance(row, dict) and "tip" in row]
    assert any(XSS_NAME in tip for tip in tips)  # shown verbatim, as text
    legend = " ".join(h.proto.body for h in at.get("html"))
    assert XSS_TERRITORY not in legend
    assert html.escape(XSS_TERRITORY) in legend


def test_territories_page_lists_every_territory(sample):
    at = new_app().run()
    at.switch_page("pages/territories.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table[schema.TERRITORY_ID]) == sorted(sample.territories[schema.TERRITORY_ID])
    assert table["accounts"].sum() == len(sample.accounts)


def test_pages_explain_what_to_do_without_a_dataset():
    at = new_app()
    at.session_state["ts_initialised"] = True  # skip loading the sample: nothing is active
    at.run()
    assert not at.exception
    assert "No dataset is loaded yet" in at.info[0].value
    assert not at.metric


# --- UI helpers (no AppTest needed) ---------------------------------------------------------------


def test_territory_colours_are_deterministic_distinct_and_shared():
    from territory.reporting import colors

    ids = [f"T{i:02d}" for i in range(1, 31)]
    forward = colors.territory_colors(ids)
    backward = colors.territory_colors(list(reversed(ids)) + ["T01", None, ""])
    assert forward == backward  # depends on the sorted IDs only; blanks ignored
    assert len(set(forward.values())) == 30  # 26 hand-picked + generated, all different
    assert colors.territory_rgb(["T01"])["T01"] == colors.hex_to_rgb(forward["T01"])
    assert colors.UNASSIGNED_COLOR not in forward.values()


def _tiny_accounts(lat, lon, country="US"):
    n = len(lat)
    return pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n)], "name": [f"N{i}" for i in range(n)],
        "latitude": lat, "longitude": lon, "country": country, "revenue": 1000.0, "workload_hours": 10.0,
        "territory_id": ["T1" if i % 2 else "T2" for i in range(n)],
    })


def test_map_of_non_us_accounts_centres_on_them_without_state_outlines():
    from territory.ui.components import maps

    accounts = _tiny_accounts([48.1, 52.5, 50.1, 53.6], [11.6, 13.4, 8.7, 10.0], country="DE")
    view = maps.build_account_map(accounts, accounts["territory_id"], states_geojson={"type": "FeatureCollection",
                                                                                      "features": []})
    spec = json.loads(view.deck.to_json())
    assert "states" not in [layer["id"] for layer in spec["layers"]]
    centre = spec["initialViewState"]
    assert 49 < centre["latitude"] < 52 and 9 < centre["longitude"] < 13
    assert view.note is None


def test_map_samples_points_above_the_limit_and_says_so():
    from territory.ui.components import maps

    rng = np.random.default_rng(0)
    accounts = _tiny_accounts(rng.uniform(30, 45, 500), rng.uniform(-120, -75, 500))
    view = maps.build_account_map(accounts, accounts["territory_id"], max_points=100)
    assert view.points_total == 500 and view.points_shown == 100
    assert "Showing a random 100 of 500 accounts" in view.note
    assert "Showing a random 100 of 500 accounts" in view.legend_html


def test_heatmap_sums_the_measure_per_hexagon():
    from territory.ui.components import maps

    accounts = _tiny_accounts([40.0, 40.0001, 34.0], [-100.0, -100.0001, -118.0])
    accounts["workload_hours"] = [10.0, 5.0, 7.0]
    cells, _ = maps.heat_cells(accounts, "workload", resolution=5)
    assert sorted(cells["value"]) == [7.0, 15.0]
    assert cells["accounts"].sum() == 3


def test_overview_tolerance_slider_updates_the_shared_setting():
    at = new_app().run()
    at.slider(key="ts_overview_tolerance").set_value(12).run()
    assert not at.exception
    assert at.session_state["ts_settings"].tolerance == pytest.approx(0.12)
    assert "\u00b112%" in " ".join(c.value for c in at.caption)


def test_an_alignment_made_active_drives_overview_and_sidebar(sample):
    """What "make active" on Rebalance does (state.set_active_alignment with the engine's result)."""
    from territory.balance import BalanceParams, balance
    from territory.ui import state

    result = balance(sample.accounts, BalanceParams(seed=0), sample.territories)
    labels = result.assignment[schema.TERRITORY_ID].astype("string")
    expected = metrics.scorecard(sample.accounts, labels, territories=sample.territories, balance_on="workload")
    dataset = state.ActiveDataset(
        "Built-in sample", sample.accounts, sample.territories, sample.bookings,
        state.frame_fingerprint(sample.accounts, sample.territories, sample.bookings), "sample",
    )
    at = new_app()
    # Only AppTest's first run goes through app.py (later runs re-run the page file alone, because a
    # pages/ folder exists), so the state is put in place before it.
    at.session_state[state.INIT_KEY] = True
    at.session_state[state.DATASET_KEY] = dataset
    at.session_state[state.ALIGNMENT_KEY] = state.Alignment(
        labels, "Rebalanced 14:02", state.labels_fingerprint(labels), "14:02", result
    )
    at.run()
    assert not at.exception
    assert metric_values(at)["Max deviation"] == f"{expected['workload_max_deviation_pct']:.1f}%"
    assert "Rebalanced 14:02" in " ".join(c.value for c in at.sidebar.caption)
    assert at.sidebar.button(key="ts_sidebar_reset_alignment").label == "Back to current alignment"


def test_unmapping_a_suggested_column_on_the_data_page_sticks():
    at = open_upload(new_app().run())
    data = _upload_csv(SMALL_ROWS)
    at.file_uploader(key="ts_data_accounts_file").set_value(("crm.csv", data, "text/csv")).run()
    revenue_key = f"ts_data_map_revenue_crm.csv:{len(data)}"
    assert at.selectbox(key=revenue_key).value == "Revenue"
    at.selectbox(key=revenue_key).set_value("(not in file)").run()
    assert not at.exception
    assert at.selectbox(key=revenue_key).value == "(not in file)"
    at.button(key="ts_data_use_upload").click().run()
    assert not at.exception
    at.switch_page("pages/overview.py").run()
    assert metric_values(at)["Revenue (USD/yr)"] == "n/a"  # the unmapped column was not read after all: no revenue


def test_data_preview_columns_are_labelled_with_units(sample):
    from territory.ui.components import widgets

    config = widgets.schema_column_config(sample.accounts)
    assert config["revenue"]["label"] == "Revenue (USD/year)"
    assert config["workload_hours"]["label"] == "Workload (hours/year)"
    assert config["latitude"]["label"] == "Latitude (°)" and config["account_id"]["label"] == "Account ID"
    at = new_app().run()
    at.switch_page("pages/data.py").run()
    assert not errors_and_exceptions(at)


def test_map_legend_marks_territories_without_a_rep():
    from territory.ui.components.maps import legend_html

    territories = pd.DataFrame({schema.TERRITORY_ID: ["T01", "T21"], schema.REP_NAME: ["Laura Mitchell", pd.NA]})
    text = legend_html(["T01", "T21"], {"T01": "#1f77b4", "T21": "#ff7f0e"}, territories)
    assert "T01 &middot; Laura Mitchell" in text
    assert "T21 &middot; <span style='color:#888'>no rep yet</span>" in text


def test_territories_table_headers_fit_their_columns():
    """A fixed-width column shows its whole header, unit included: 95 px cut "Mean distance (km)" to
    "Mean distance" in the walk, while 115 px showed "Potential (USD/yr)" in full (about 5.8 px a
    character of the header plus 10 px of padding)."""
    at = new_app().run()
    at.switch_page("pages/territories.py").run()
    columns = json.loads(at.dataframe[0].proto.columns)
    narrow = {c["label"]: c["width"] for c in columns.values()
              if isinstance(c.get("width"), int) and c["width"] < 5.8 * len(c["label"]) + 10}
    assert narrow == {}


def test_territories_table_fits_a_1500_px_window_without_scrolling_sideways():
    """At 1500 px the table had 12 columns of 1,195 px in a 1,040-px main column: Top industry and
    Pieces were behind a horizontal scroll. Sample on workload and on revenue (a Deviation column),
    and an owner-based Salesforce upload (a Region column, most territories in several pieces)."""
    from dataclasses import replace

    from territory.ui import keys
    from territory.ui.components.widgets import MAIN_WIDTH_AT_1500_PX
    from tests.crm_files import salesforce_accounts

    def widths(at) -> int:
        columns = json.loads(at.dataframe[0].proto.columns)
        shown = at.dataframe[0].value.columns
        named = {"small": 75, "medium": 200, "large": 400}  # Streamlit's named widths in px
        return sum(named.get(columns[c]["width"], columns[c]["width"]) for c in shown)

    at = new_app().run()
    at.switch_page("pages/territories.py").run()
    assert widths(at) <= MAIN_WIDTH_AT_1500_PX
    assert {"utilisation_pct", "weighted_mean_distance_km"} <= set(at.dataframe[0].value.columns)
    at.session_state[keys.SETTINGS] = replace(at.session_state[keys.SETTINGS], balance_on="revenue")
    at.run()
    assert "deviation_pct" in at.dataframe[0].value.columns and widths(at) <= MAIN_WIDTH_AT_1500_PX
    upload = open_upload(new_app().run())
    upload.file_uploader(key=keys.DATA_ACCOUNTS_FILE).set_value(
        ("Salesforce accounts.csv", salesforce_accounts(600).to_csv(index=False).encode(), "text/csv")).run()
    upload.button(key=keys.DATA_USE_UPLOAD).click().run()
    upload.switch_page("pages/territories.py").run()
    assert not upload.exception, [e.value for e in upload.exception]
    assert widths(upload) <= MAIN_WIDTH_AT_1500_PX
    shown = upload.dataframe[0].value.columns
    if "pieces" not in shown:  # the fragmented territories are named above the table instead
        assert any("In more than one piece" in c.value for c in upload.caption)
