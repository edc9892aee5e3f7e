"""Rebalance one region from the sidebar (#15, item 2): only the West's accounts move, among the
West's territories; the slider keeps the scope's count."""

from __future__ import annotations

from territory.ui import rebalance as rb
from tests.app.apptest import moved_table, open_page

WEST = {"T01", "T02", "T03", "T04", "T05"}


def test_a_scope_in_the_sidebar_moves_only_accounts_of_that_region_among_its_territories():
    at = open_page("pages/rebalance.py", timeout=180.0)
    scope = at.multiselect(key=rb.SETTING_KEYS["scope"])
    assert "Region: West" in scope.options and "District: Pacific" in scope.options
    everywhere = moved_table(at)
    assert not set(everywhere["From"]) <= WEST, "the company-wide what-if moves accounts outside the West"
    scope.set_value(["region=West"]).run()
    assert not at.exception, [e.value for e in at.exception]
    moved = moved_table(at)
    assert len(moved) > 0
    assert set(moved["From"]) <= WEST and set(moved["To"]) <= WEST
    assert any("Scope region=West: 5 territories" in c.value for c in at.caption)
    # "What if we hire one in the West": one more territory, carved from West accounts only.
    at.slider(key=rb.SETTING_KEYS["n_territories"]).set_value(21).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.info[0].value == "Headcount 20 → 21 territories: adds T21."
    moved = moved_table(at)
    assert set(moved["From"]) <= WEST and set(moved["To"]) <= WEST | {"T21"} and "T21" in set(moved["To"])


def test_scope_labels_read_as_level_and_name():
    assert rb.scope_label("district=New England") == "District: New England"


def test_balance_within_each_region_in_the_sidebar_keeps_regions_and_shows_each_region_s_deviation():
    """#15 item 3 in the app: the CLI's ``--within region`` as a sidebar choice, through the same
    planning function, and the deviation per region as ``balance --within --json`` reports it."""
    from territory.balance import BalanceParams
    from territory.data.sample import load_sample
    from territory.planning.hierarchy import level_names
    from territory.planning.scope import balance_within, within_deviations

    at = open_page("pages/rebalance.py", timeout=180.0)
    within = at.selectbox(key=rb.SETTING_KEYS["within"])
    assert within.options == ["No: across the whole company", "Region", "District"]
    within.set_value("region").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key=rb.SETTING_KEYS["n_territories"]).disabled
    assert at.multiselect(key=rb.SETTING_KEYS["scope"]).disabled
    sample = load_sample()
    region_of = level_names(sample.territories, "region", sorted(sample.territories["territory_id"]))
    moved = moved_table(at)
    assert len(moved) > 0 and (moved["From"].map(region_of) == moved["To"].map(region_of)).all()
    assert any("Balanced within each region: 4 regions" in c.value for c in at.caption)
    (shown,) = [d.value for d in at.dataframe if "max_deviation_pct" in d.value.columns]
    result = balance_within(sample.accounts, BalanceParams(), sample.territories, "region")
    after = result.assignment["territory_id"]
    want = within_deviations(sample.accounts, after, sample.accounts["territory_id"], sample.territories, "region")
    assert shown["name"].tolist() == ["Central", "East", "South", "West"] == want["name"].tolist()
    assert shown["max_deviation_pct"].round(6).tolist() == want["max_deviation_pct"].round(6).tolist()
    assert (shown["max_deviation_pct"] <= 5.0 + 1e-9).all() and shown["territories"].tolist() == [5, 5, 5, 5]
