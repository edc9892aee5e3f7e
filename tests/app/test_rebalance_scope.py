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
