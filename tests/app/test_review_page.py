"""AppTest of the Quarterly review page through the router (app.py): sample, quota blend, no bookings.

Expected figures are recomputed with territory.planning.review straight from the sample, not through the UI.
"""

from __future__ import annotations

import pandas as pd

from territory.data import schema
from territory.planning.review import ReviewSettings, build_review, default_quota_total, parse_usd
from tests.app.apptest import open_page, uploaded

TIMEOUT_S = 90.0
PAGE = "pages/review.py"


def review_page(prepare=None):
    return open_page(PAGE, prepare, TIMEOUT_S)


def quota_table(at) -> pd.DataFrame:
    tables = [df.value for df in at.dataframe if "Quota" in df.value.columns]
    assert len(tables) == 1, "expected exactly one quota table"
    return tables[0]


def metric(at, prefix: str) -> str:
    values = [m.value for m in at.metric if m.label.startswith(prefix)]
    assert values, f"no metric starting with {prefix!r}: {[m.label for m in at.metric]}"
    return values[0]


def test_review_page_renders_for_the_sample(sample):
    at = review_page()
    expected = build_review(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.bookings,
                            sample.territories, ReviewSettings())
    total = default_quota_total(expected.bookings)
    assert expected.quota_total == total
    quotas = quota_table(at)
    assert len(quotas) == len(sample.territories)
    assert int(quotas["Quota"].sum()) == total == int(parse_usd(at.text_input(key="ts_review_total").value))
    assert quotas.set_index("Territory")["Quota"].to_dict() == expected.table.set_index(
        schema.TERRITORY_ID)["quota"].to_dict()
    assert metric(at, "Flags") == f"{len(expected.flags):,}"
    # charts: quota, trend, attainment, 80/20; and the offline penetration map
    assert len(at.get("plotly_chart")) == 4
    deck = at.get("deck_gl_json_chart")
    assert deck, "no penetration map"
    spec = deck[0].proto.json.lower()
    assert "h3hexagonlayer" in spec and "carto" not in spec and "mapbox://" not in spec  # offline map
    assert not at.error


def test_moving_the_blend_changes_quotas_but_not_their_sum():
    at = review_page()
    total = int(parse_usd(at.text_input(key="ts_review_total").value))
    before = quota_table(at).set_index("Territory")["Quota"]
    at.slider(key="ts_review_blend").set_value(0).run()
    after = quota_table(at).set_index("Territory")["Quota"]
    assert not at.exception
    assert int(after.sum()) == total == int(before.sum())
    assert (after != before).sum() >= len(before) // 2, "a different blend should move most quotas"
    at.slider(key="ts_review_blend").set_value(100).run()
    only_potential = quota_table(at).set_index("Territory")["Quota"]
    assert int(only_potential.sum()) == total and not only_potential.equals(after)
    # a new total is split exactly too
    at.text_input(key="ts_review_total").set_value("1,000,001").run()
    assert int(quota_table(at)["Quota"].sum()) == 1_000_001
    assert metric(at, "Quota total") == "$1.00M"


def test_focus_filters_the_page_and_jumps_to_the_territories_page():
    at = review_page()
    at.selectbox(key="ts_review_focus").set_value("T04").run()  # T04 has a flag (one far account)
    assert quota_table(at)["Territory"].tolist() == ["T04"]
    flags = [df.value for df in at.dataframe if "Flag" in df.value.columns][0]
    assert set(flags["Territory"]) == {"T04"}
    at.button(key="ts_review_jump").click().run()
    assert not at.exception
    assert at.selectbox(key="ts_territories_drill").value == "T04"


def test_an_alignment_made_active_earlier_is_reviewed_with_its_own_assignment(sample):
    """Moving every T01 account to T02 leaves T01 without bookings or potential: its quota is 0."""
    from territory.planning.workspace import Step
    from territory.ui import keys

    file_labels = sample.accounts[schema.TERRITORY_ID].astype("string")
    moved = file_labels.replace("T01", "T02")

    def history(at):
        at.run()
        steps = [Step("Use the sample", file_labels, "Current alignment", "11:58"),
                 Step("Make active", moved, "All of T01 to T02", "12:00"),
                 Step("Back to the current alignment", file_labels, "Current alignment", "12:01")]
        at.session_state[keys.SESSION_HISTORY] = {"steps": steps, "position": 2}

    at = review_page(history)
    choice = at.selectbox(key="ts_review_alignment")
    assert "Made active earlier: All of T01 to T02" in choice.options
    assert not any("Current alignment" in option for option in choice.options[1:])  # it is the active one
    choice.set_value("Made active earlier: All of T01 to T02").run()
    assert not at.exception
    quotas = quota_table(at).set_index("Territory")["Quota"]
    assert quotas["T01"] == 0
    assert int(quotas.sum()) == int(parse_usd(at.text_input(key="ts_review_total").value))


def test_an_upload_without_bookings_explains_what_is_needed(sample):
    from territory.ui import state

    def upload_without_bookings(at):
        accounts = sample.accounts.copy()
        territories = state.territories_for(accounts, sample.territories)
        bookings = pd.DataFrame({c: pd.Series(dtype="string") for c in schema.BOOKING_COLUMNS})
        dataset, alignment = uploaded("accounts.csv (no bookings)", accounts, territories, bookings)
        at.session_state[state.DATASET_KEY] = dataset
        at.session_state[state.ALIGNMENT_KEY] = alignment
        at.session_state[state.INIT_KEY] = True

    at = review_page(upload_without_bookings)
    text = " ".join(i.value for i in at.info)
    assert "needs bookings" in text
    for column in ("**Account ID**", "**Quarter**", "**Amount**"):  # headers the bookings reader accepts
        assert column in text
    assert "Data" in text
    assert not at.exception and not at.error
    assert not at.get("plotly_chart")  # no empty charts


def test_downloads_and_the_html_report_include_the_review():
    at = review_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the review tables (XLSX)" in labels
    assert "Download the HTML report with this review" in labels

    from territory.ui import review as ui
    from territory.ui import state

    dataset = at.session_state[state.DATASET_KEY]
    active = at.session_state[state.ALIGNMENT_KEY]
    moved = active.labels.replace("T01", "T02")
    review = build_review(dataset.accounts, moved, dataset.bookings, dataset.territories, ReviewSettings())
    from territory.planning.basis import Basis

    html = ui.report_html(dataset, ui.ChosenAlignment(moved, "Scenario T01 into T02", Basis()), active, review)
    assert "Quarterly review: territories" in html and "Quarterly review: flags" in html
    assert "Scenario T01 into T02" in html


def test_a_stored_scenario_can_be_reviewed(sample, tmp_path):
    """A scenario from the store (the autouse fixture points it at tmp_path): T02's accounts go to T03."""
    from territory.planning.scenarios import Scenario, ScenarioStore

    assignment = pd.DataFrame({
        "account_id": sample.accounts["account_id"].astype(str),
        "territory_id": sample.accounts[schema.TERRITORY_ID].astype("string").replace("T02", "T03"),
    })
    ScenarioStore(tmp_path / "scenarios.sqlite").save(Scenario(name="West merge", assignment=assignment))
    at = review_page()
    at.selectbox(key="ts_review_alignment").set_value("Scenario: West merge").run()
    assert not at.exception
    quotas = quota_table(at).set_index("Territory")["Quota"]
    expected = build_review(sample.accounts, assignment.set_index("account_id")["territory_id"], sample.bookings,
                            sample.territories, ReviewSettings())
    assert quotas["T02"] == 0
    assert quotas.to_dict() == expected.table.set_index(schema.TERRITORY_ID)["quota"].to_dict()


def test_penetration_map_tooltips_are_plain_text_shown_as_typed(sample):
    """The penetration map's tooltip is written with innerText, like every other map: no markup in the
    hexagons' tips (Streamlit 1.67 escapes values put into an "html" template, so <b> showed as typed),
    and rep names as typed, neither escaped (a pre-escaped '&' showed as '&amp;') nor live."""
    import json

    from territory.ui import review as review_ui
    from territory.ui import state

    hostile, ampersand = "<img src=x onerror=alert(1)>", "Smith & Co"
    territories = sample.territories.assign(
        **{schema.REP_NAME: [hostile, ampersand] + sample.territories[schema.REP_NAME].tolist()[2:]})
    dataset = state.ActiveDataset(name="x", accounts=sample.accounts, territories=territories,
                                  bookings=sample.bookings, fingerprint="fp-xss-review")
    labels = sample.accounts[schema.TERRITORY_ID].astype("string")
    view = review_ui.penetration_map(dataset, labels, {})
    spec = json.loads(view.deck.to_json())
    tooltip = view.deck._tooltip
    assert set(tooltip) == {"text", "style"} and tooltip["text"] == "{tip}"
    layer = {layer["id"]: layer for layer in spec["layers"]}
    cells = [row["tip"] for row in layer["review-penetration"]["data"]]
    assert cells and not any("<" in tip or "&" in tip for tip in cells)
    assert cells[0].startswith(("Penetration ", "No potential recorded\n"))
    assert any(tip.endswith("\n1 account in this hexagon") for tip in cells)
    homes = [row["tip"] for row in layer["review-homes"]["data"]]
    assert f"Home base\nRep: {hostile}\nTerritory: T01" in homes
    assert f"Home base\nRep: {ampersand}\nTerritory: T02" in homes


def test_growth_rounding_to_zero_reads_0_not_minus_0(sample):
    """T19's bookings fell 0.007% on the quarter: the table showed "-0.0%"."""
    import numpy as np

    from territory.ui import review as review_ui

    review = build_review(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.bookings,
                          sample.territories, ReviewSettings())
    raw = review.table.set_index(schema.TERRITORY_ID)["qoq_pct"]
    assert -0.05 < raw["T19"] < 0  # the case itself (-0.007)
    frame = review_ui.performance_frame(review).set_index("Territory")
    for column in ("QoQ", "YoY"):
        values = frame[column].to_numpy(dtype=float)
        assert not (np.signbit(values) & (values == 0)).any(), f"{column} holds -0.0"
    assert frame.loc["T19", "QoQ"] == 0.0


def test_pareto_table_reads_like_the_other_tables():
    """The 80/20 table cut its first row to "All acco" and wrote 5000 where every other table of the
    app writes 5,000 (Streamlit's "localized" number format)."""
    import json

    at = review_page()
    table = next(frame for frame in at.dataframe if "top_share_pct" in frame.value)
    columns = json.loads(table.proto.columns)
    assert columns["accounts"]["type_config"]["format"] == "localized"
    assert columns["scope"]["width"] >= 7.5 * len("All accounts")


def test_quota_total_shows_thousands_separators_and_explains_a_typo():
    at = review_page()
    shown = at.text_input(key="ts_review_total").value
    assert "," in shown, shown  # 31192503 was shown without separators
    total = int(parse_usd(shown))
    at.text_input(key="ts_review_total").set_value("31,2 million").run()
    assert not at.exception
    assert any("is not an amount in USD" in e.value for e in at.error)
    assert int(quota_table(at)["Quota"].sum()) == total  # the quota stays where it was


def test_white_space_ranks_where_to_hunt_and_colours_the_map(sample):
    """#19, item 3: the hunting list is territory.planning.whitespace's, and the map's hexagons switch to
    white space (its tooltips lead with it, its legend names it)."""
    import json

    from territory.planning.whitespace import white_space
    from territory.ui import review as review_ui

    at = review_page()
    expected = white_space(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.bookings)
    hunt = [df.value for df in at.dataframe if "Largest opening" in df.value.columns]
    assert len(hunt) == 1
    assert hunt[0][["Area", "Industry", "Territory"]].values.tolist() == \
        expected.hunt[["area", "industry", "territory_id"]].values.tolist()
    assert hunt[0]["White space (USD/yr)"].is_monotonic_decreasing

    def hexagon_tips() -> list[str]:
        spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        layer = next(layer for layer in spec["layers"] if layer["id"] == "review-penetration")
        return [row["tip"] for row in layer["data"]]

    assert hexagon_tips()[0].startswith(("Penetration ", "No potential"))
    at.radio(key="ts_review_map_layer").set_value("White space").run()
    assert not at.exception, [e.value for e in at.exception]
    assert all(tip.startswith("White space $") for tip in hexagon_tips())
    assert review_ui.white_space_edges(expected.accounts["white_space"].to_numpy())[0] == 0.0

    at.selectbox(key="ts_review_focus").set_value("T07").run()
    focused = [df.value for df in at.dataframe if "Largest opening" in df.value.columns][0]
    assert set(focused["Territory"]) == {"T07"}
    assert focused["Area"].tolist() == expected.hunt_in("T07")["area"].tolist()


def test_the_forecast_weight_slider_moves_the_quotas_to_the_forecasts_shares(sample):
    at = review_page()
    before = quota_table(at).set_index("Territory")["Quota"]
    at.slider(key="ts_review_forecast_weight").set_value(100).run()
    assert not at.exception, [e.value for e in at.exception]
    after = quota_table(at).set_index("Territory")["Quota"]
    expected = build_review(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.bookings,
                            sample.territories, ReviewSettings(forecast_weight=1.0))
    assert after.to_dict() == expected.table.set_index(schema.TERRITORY_ID)["quota"].to_dict()
    assert after.sum() == before.sum() and not after.equals(before)  # same total, split by the forecast


def test_every_territory_table_of_the_review_names_its_level_path(sample):
    """#15: quota, performance and flags tables list where each territory sits (Region › District)."""
    from territory.planning.hierarchy import level_paths

    at = review_page()
    assert not at.exception, [e.value for e in at.exception]
    want = level_paths(sample.territories, sample.territories[schema.TERRITORY_ID], include_territory=False)
    listing = [df.value for df in at.dataframe if "Territory" in df.value.columns]
    by_name = {name: [t for t in listing if name in t.columns] for name in ("Quota", "Attainment", "Flag")}
    assert all(len(tables) == 1 for tables in by_name.values()), {k: len(v) for k, v in by_name.items()}
    for name, (table,) in by_name.items():
        shown = table.set_index("Territory")["Region › District"]
        assert shown.to_dict() == want.reindex(shown.index).to_dict(), name
    assert want["T01"] == "West › Pacific"


def test_the_quota_table_sits_under_its_chart_and_fits_a_laptop_window(sample):
    """At 1280 px the quota table beside its chart (half the page, 402 px) scrolled sideways: its columns
    needed 572 px once the level path was in it. Under the chart, across the page, every column has a
    pixel width, units in its title, and they add up to less than the page's width at 1280 px."""
    import json

    from territory.ui.components.widgets import MAIN_WIDTH_AT_1280_PX

    at = review_page()
    assert not at.exception, [e.value for e in at.exception]
    element = next(df for df in at.dataframe if "Quota" in df.value.columns)
    assert not any("Quota" in df.value.columns for column in at.columns for df in column.dataframe)
    config = {name: c for name, c in json.loads(element.proto.columns).items() if not c.get("hidden")}
    assert set(config) == set(element.value.columns)
    assert {c["label"] for c in config.values()} == {"Territory", "Region › District", "Quota 2026Q4 (USD)",
                                                     "Share (%)", "vs potential (%)", "vs 2026Q3 (%)"}
    assert sum(c["width"] for c in config.values()) <= MAIN_WIDTH_AT_1280_PX
    assert len(element.value) == len(sample.territories)


def test_text_columns_are_wide_enough_for_the_longest_name():
    """Walking the app at 1,500 px: "Marcus Zimmerman" showed as "Marcus Zimmerma" in the review tables."""
    from territory.ui.components.widgets import table_height, text_width, with_text_widths

    frame = pd.DataFrame({"Rep": ["Marcus Zimmerman", "Ana"], "Accounts": [1, 2]})
    config = with_text_widths(frame, {"Accounts": "kept"})
    assert config["Accounts"] == "kept" and config["Rep"]["width"] == text_width(["Marcus Zimmerman"], "Rep")
    assert text_width(["Marcus Zimmerman"]) >= 7.5 * len("Marcus Zimmerman")
    assert table_height(20) == 35 * 21 + 3  # no empty row under the last territory
