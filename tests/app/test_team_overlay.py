"""Industry-team territories on the maps: an overlay on the geographic territories, by design.

A Healthcare team (HC-1..HC-3) holds every Healthcare account of the country, so its territories lie
over the geographic ones. Drawn as one more tessellation they lost most of their ZIPs to the
geographic territories (or, with one team territory, made the alignment read as owner-based); the map
must show the geographic shapes and the team's territories as outlines over them, and say why.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from territory.balance import BalanceParams, balance
from territory.data import schema
from territory.data.sample import load_sample
from territory.ui import state
from territory.ui.components import maps
from tests.app.apptest import open_with_dataset, uploaded


@pytest.fixture(scope="module")
def team_alignment():
    """The sample as an upload whose territories are a Healthcare team (3) over 19 geographic ones."""
    sample = load_sample()
    params = BalanceParams(n_territories=22, industry_teams=("Healthcare",),
                           industry_team_sizes=(("Healthcare", 3),), seed=0)
    result = balance(sample.accounts, params, sample.territories)
    accounts = sample.accounts.copy()
    accounts[schema.TERRITORY_ID] = result.assignment[schema.TERRITORY_ID].astype("string")
    territories = state.territories_for(accounts, pd.concat([sample.territories, result.territories])
                                        .drop_duplicates(schema.TERRITORY_ID).reset_index(drop=True))
    return uploaded("Healthcare team.csv", accounts, territories, sample.bookings)


def deck_layers(at) -> dict[str, dict]:
    return {layer["id"]: layer for deck in at.get("deck_gl_json_chart")
            for layer in json.loads(deck.proto.json)["layers"]}


def test_overview_draws_the_team_as_outlines_over_the_geographic_shapes(team_alignment):
    at = open_with_dataset("pages/overview.py", *team_alignment, 180.0)
    layers = deck_layers(at)
    assert {"outlines", "outline-lines", "team-outlines"} <= set(layers)
    tips = " ".join(row["tip"] for row in layers["outlines"]["data"])
    assert "Territory T01" in tips and "HC-" not in tips  # the fills are the geographic territories only
    team_colours = {tuple(row["color"]) for row in layers["team-outlines"]["data"]}
    assert len(team_colours) == 3  # each team territory outlined in its own colour
    legend = " ".join(h.proto.body for h in at.get("html") if "Territory" in h.proto.body)
    assert "Industry teams (overlap by design)" in legend
    for tid in ("HC-1", "HC-2", "HC-3"):
        assert f"{tid}" in legend and legend.index(tid) > legend.index("Industry teams")
    note = maps.team_note({"HC-1": "Healthcare", "HC-2": "Healthcare", "HC-3": "Healthcare"})
    assert note in legend and not any(note in caption.value for caption in at.caption)  # said once
    assert maps.NOT_GEOGRAPHIC_NOTE not in legend


def test_rebalance_with_a_team_draws_it_over_the_after_map():
    """Industry teams chosen in the Rebalance sidebar: the after copy outlines the team's territory over
    its geographic fills (the before copy, the file's alignment, has no team) and its legend names it."""
    from territory.ui import rebalance as rb
    from tests.app.apptest import open_page

    at = open_page("pages/rebalance.py", timeout=180.0)
    at.multiselect(key=rb.SETTING_KEYS["industry_teams"]).set_value(["Energy"]).run()
    assert not at.exception, [e.value for e in at.exception]
    layers = deck_layers(at)
    assert "after-team-outlines" in layers and "before-team-outlines" not in layers
    assert "after-outlines" in layers and "NRG-1" not in " ".join(r["tip"] for r in layers["after-outlines"]["data"])
    legend = " ".join(h.proto.body for h in at.get("html") if "Territory" in h.proto.body)
    assert "Industry teams (overlap by design)" in legend and "NRG-1" in legend
