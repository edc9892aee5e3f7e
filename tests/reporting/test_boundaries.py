"""Whether an alignment has territory shapes to hand over (GeoJSON, KML, the ZIP table) at all."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.data import schema
from territory.data.sample import load_sample
from territory.planning.geography import territory_shapes
from territory.reporting.boundaries import has_territory_shapes


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    return load_sample().accounts


def round_robin(accounts: pd.DataFrame, k: int = 20) -> pd.Series:
    """Accounts dealt to ``k`` owners in turn: every owner's accounts spread over the whole country."""
    return pd.Series([f"Owner {i % k:02d}" for i in range(len(accounts))], index=accounts.index)


def test_the_samples_own_territories_have_shapes_and_a_round_robin_by_owner_has_none(accounts):
    assert has_territory_shapes(accounts, accounts[schema.TERRITORY_ID])
    assert not has_territory_shapes(accounts, round_robin(accounts))
    assert not has_territory_shapes(accounts, round_robin(accounts, 4))


def test_it_agrees_with_the_shapes_the_maps_draw(accounts):
    """The maps draw no boundaries exactly when the downloads are not offered: the same test."""
    strips = pd.qcut(accounts[schema.LONGITUDE], 12, labels=False).map("S{:02d}".format)
    for labels in (accounts[schema.TERRITORY_ID], round_robin(accounts), strips):
        assert has_territory_shapes(accounts, labels) == territory_shapes(accounts, labels).geographic


def test_industry_teams_over_geographic_territories_still_have_shapes(accounts):
    """HC-1 and HC-2 hold every Healthcare account east and west of 95°W: they overlap the geographic
    territories by design and are left out of the test, as the shapes leave them out."""
    labels = accounts[schema.TERRITORY_ID].astype("string").copy()
    healthcare = (accounts[schema.INDUSTRY] == "Healthcare").to_numpy()
    east = (accounts[schema.LONGITUDE] > -95).to_numpy()
    labels[healthcare & east] = "HC-1"
    labels[healthcare & ~east] = "HC-2"
    assert has_territory_shapes(accounts, labels)


def test_accounts_without_a_territory_or_a_single_territory_do_not_hide_the_shapes(accounts):
    labels = accounts[schema.TERRITORY_ID].astype("string").copy()
    labels.iloc[:200] = pd.NA
    assert has_territory_shapes(accounts, labels)
    assert has_territory_shapes(accounts, pd.Series("T01", index=accounts.index))
