"""New hire: the home base picked on a map (#15, item 4). The points are the accounts' ZIPs at the
centroids a typed ZIP gets; the real click is in test_home_map_browser.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from territory.data.geocode import zip_centroids
from territory.data.sample import load_sample
from territory.ui import keys
from territory.ui.components.rebalance_charts import home_base_figure, home_base_points
from tests.app.apptest import open_page


def test_home_base_points_are_the_accounts_zips_with_their_majority_territory() -> None:
    accounts = pd.DataFrame({"postal_code": ["02139", "02139", "02139", "94103", "", "99999"]})
    labels = pd.Series(["T2", "T1", "T2", "T3", "T3", "T3"])
    points = home_base_points(accounts, labels)
    assert points[["postal_code", "accounts", "territory_id"]].values.tolist() == [
        ["02139", 3, "T2"], ["94103", 1, "T3"]]  # no ZIP and an unknown ZIP (no centroid) are left out
    want = zip_centroids(pd.Series(["02139", "94103"]))
    where = ["latitude", "longitude"]
    assert np.allclose(points[where].to_numpy(float), want[where].to_numpy(float))


def test_the_figure_carries_each_zip_as_what_a_click_selects_and_rings_the_chosen_one() -> None:
    sample = load_sample()
    points = home_base_points(sample.accounts, sample.accounts["territory_id"])
    figure = home_base_figure(points, {"T19": "#123456"}, chosen_zip=points["postal_code"].iloc[7])
    zips, ring = figure.data[0], figure.data[1]
    assert list(zips.customdata) == points["postal_code"].tolist() and zips.type == "scatter"  # SVG: clickable
    assert list(ring.customdata) == [points["postal_code"].iloc[7]]
    t19 = (points["territory_id"] == "T19").to_numpy()
    assert {c for c, mine in zip(zips.marker.color, t19) if mine} == {"#123456"}


def test_the_rebalance_page_offers_the_map_with_point_selection() -> None:
    sample = load_sample()
    at = open_page("pages/rebalance.py", timeout=180.0)
    assert not at.exception, [e.value for e in at.exception]
    assert not [c for c in at.get("plotly_chart") if c.key == keys.REBALANCE_HIRE_MAP]  # lazy: closed
    at.session_state[keys.REBALANCE_HIRE_MAP_OPEN] = True
    at.run()
    (chart,) = [c for c in at.get("plotly_chart") if c.key == keys.REBALANCE_HIRE_MAP]
    assert list(chart.proto.selection_mode) == [0]  # points: a click selects one
    spec = json.loads(chart.proto.spec)
    zips = [trace for trace in spec["data"] if trace.get("name") == "ZIPs"][0]
    want = home_base_points(sample.accounts, sample.accounts["territory_id"])
    assert zips["customdata"] == want["postal_code"].tolist()
    assert any("Pick the home base on the map" in e.label for e in at.expander)
