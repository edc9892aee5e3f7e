"""Move whole units from the Rebalance sidebar (#13, item 2): the choice reaches the engine and the
what-if keeps every unit in one territory."""

from __future__ import annotations

import pandas as pd

from territory.data.sample import load_sample
from territory.ui import rebalance as rb
from tests.app.apptest import moved_table, open_page


def after_labels(at, accounts: pd.DataFrame) -> pd.Series:
    """The what-if's territory per account: today's, with the moved-accounts table's moves applied."""
    moved = moved_table(at).set_index("Account")["To"]
    ids = accounts["account_id"].astype(str)
    return ids.map(moved).fillna(accounts["territory_id"]).astype(str)


def test_zip3_units_in_the_sidebar_keep_every_zip3_whole():
    accounts = load_sample().accounts
    zip3 = accounts["postal_code"].str[:3]
    at = open_page("pages/rebalance.py", timeout=180.0)
    units = at.selectbox(key=rb.SETTING_KEYS["units"])
    assert units.value == "account" and list(units.options) == [rb.UNIT_CHOICES[u] for u in rb.UNITS]
    assert after_labels(at, accounts).groupby(zip3).nunique().max() > 1, "by account, some ZIP3 is split"
    units.set_value("zip3").run()
    assert not at.exception, [e.value for e in at.exception]
    assert after_labels(at, accounts).groupby(zip3).nunique().max() == 1
    assert any("Balanced 608 whole ZIP3s (5,000 accounts)" in c.value for c in at.caption)
    assert at.session_state[rb.keys.REBALANCE_SETTINGS][rb.SETTING_KEYS["units"]] == "zip3"  # kept for a reload
    assert "whole ZIP3s" in rb.describe(rb.RebalanceSettings(n_territories=20, units="zip3"), None)
