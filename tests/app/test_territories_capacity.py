"""Territories page, Capacity planning tab (#15, item 5): the plan per level, and "what if we hire 2
in the West" handed to the Rebalance page, where the engine carves them inside the West."""

from __future__ import annotations

from territory.ui import keys
from territory.ui import rebalance as rb
from territory.ui.capacity import DEFAULT_HOURS_PER_FTE
from tests.app.apptest import moved_table, open_page

WEST = {"T01", "T02", "T03", "T04", "T05"}


def capacity_table(at):
    tables = [d.value for d in at.dataframe if "fte_needed" in d.value.columns]
    assert len(tables) == 1
    return tables[0].set_index(["level", "name"])


def test_capacity_tab_shows_reps_needed_per_level_and_follows_the_inputs():
    at = open_page("pages/territories.py", timeout=180.0)
    table = capacity_table(at)
    assert at.number_input(key=keys.TERRITORIES_HOURS_PER_FTE).value == DEFAULT_HOURS_PER_FTE
    west = table.loc[("Region", "West")]
    # The sample's West: 8,109 h of workload, 4.5 FTE; at 1,800 h x 90% = 1,620 h per FTE it needs 5.01.
    assert round(west["workload_hours"]) == 8109 and west["fte"] == 4.5
    assert abs(west["fte_needed"] - 8109 / 1620) < 0.01
    assert any("Most short: Central" in m.value for m in at.markdown)
    at.slider(key=keys.TERRITORIES_UTILISATION).set_value(100).run()
    assert abs(capacity_table(at).loc[("Region", "West"), "fte_needed"] - 8109 / 1800) < 0.01


def test_hire_in_a_region_opens_rebalance_with_the_scope_and_the_new_count():
    at = open_page("pages/territories.py", timeout=180.0)
    at.number_input(key=keys.TERRITORIES_HIRE_COUNT).set_value(2)
    at.selectbox(key=keys.TERRITORIES_HIRE_SCOPE).set_value("region=West")
    at.button(key=keys.TERRITORIES_HIRE_GO).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[rb.SETTING_KEYS["scope"]] == ["region=West"]
    assert at.slider(key=rb.SETTING_KEYS["n_territories"]).value == 22
    assert at.info[0].value == "Headcount 20 → 22 territories: adds T21, T22."
    at.switch_page("pages/rebalance.py").run()  # AppTest re-runs the page it was opened on otherwise
    assert at.slider(key=rb.SETTING_KEYS["n_territories"]).value == 22, "the settings survive a page change"
    moved = moved_table(at)
    assert set(moved["From"]) <= WEST and set(moved["To"]) <= WEST | {"T21", "T22"}


def test_the_industry_mix_maps_list_the_industries_in_one_order():
    """Walking the app: each heatmap sorted the industries by its own total, so the rows did not line up."""
    import json

    at = open_page("pages/territories.py", timeout=180.0)
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    rows = [spec["data"][0]["y"] for spec in charts.values()
            if spec["data"] and spec["data"][0].get("type") == "heatmap"]
    assert len(rows) == 2 and rows[0] == rows[1]
