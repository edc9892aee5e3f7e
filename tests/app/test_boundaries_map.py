"""Territory boundaries on the maps and in the report: the geographic shapes, not convex hulls."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from territory.data import schema
from territory.data.sample import load_sample
from territory.planning.geography import territory_shapes
from territory.reporting.report import ReportInput, build_report
from territory.ui.components import maps


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def drawn_shapes(view: maps.MapView, layer_id: str = "outlines") -> dict[str, shapely.Geometry]:
    """Territory -> union of the polygons a map draws for it (read back from the deck's JSON)."""
    spec = json.loads(view.deck.to_json())
    layer = next((lay for lay in spec["layers"] if lay["id"] == layer_id), None)
    if layer is None:
        return {}
    polygons: dict[str, list] = {}
    for row in layer["data"]:
        tid = row["tip"].split("\n")[0].removeprefix("Territory ")
        polygons.setdefault(tid, []).append(shapely.Polygon(row["polygon"][0], row["polygon"][1:]))
    return {tid: shapely.union_all(parts) for tid, parts in polygons.items()}


def test_the_map_draws_territories_that_do_not_overlap(sample):
    accounts = sample.accounts
    view = maps.build_account_map(accounts, accounts[schema.TERRITORY_ID], sample.territories)
    shapes = drawn_shapes(view)
    assert len(shapes) == 20
    ids = sorted(shapes)
    overlap = sum(shapely.intersection(shapes[a], shapes[b]).area for i, a in enumerate(ids) for b in ids[i + 1:])
    total = sum(shape.area for shape in shapes.values())
    assert overlap < 1e-4 * total  # convex hulls of the sample overlapped by 2% of their area


def test_an_owner_based_alignment_shows_points_without_boundaries(sample):
    accounts = sample.accounts
    owners = pd.Series([f"Owner {i % 12}" for i in range(len(accounts))], index=accounts.index)
    view = maps.build_account_map(accounts, owners)
    assert drawn_shapes(view) == {}
    assert maps.NOT_GEOGRAPHIC_NOTE in view.note


def test_a_filtered_view_keeps_the_borders_of_the_whole_alignment(sample):
    """Shapes from all accounts, drawn for the West's territories only: the same borders as on the
    full map, not West territories stretched over the whole country."""
    accounts, labels = sample.accounts, sample.accounts[schema.TERRITORY_ID]
    whole = territory_shapes(accounts, labels)
    west_ids = set(sample.territories.loc[sample.territories[schema.REGION] == "West", schema.TERRITORY_ID])
    keep = labels.isin(west_ids).to_numpy()
    view = maps.build_account_map(accounts[keep], labels[keep], sample.territories, shapes=whole)
    drawn = drawn_shapes(view)
    assert set(drawn) == west_ids
    full = drawn_shapes(maps.build_account_map(accounts, labels, sample.territories))
    for tid in west_ids:
        assert drawn[tid].symmetric_difference(full[tid]).area < 1e-6


def test_the_report_map_fills_each_territory_and_says_when_it_cannot(sample):
    accounts = sample.accounts
    report = build_report(ReportInput(accounts=accounts, labels_after=accounts[schema.TERRITORY_ID],
                                      territories=sample.territories))
    assert report.count('"fill":"toself"') == 20
    owners = pd.Series(np.array([f"O{i % 8}" for i in range(len(accounts))]), index=accounts.index)
    report = build_report(ReportInput(accounts=accounts, labels_after=owners))
    assert '"fill":"toself"' not in report
    assert "not a geographic alignment, so no boundaries are drawn" in report


def test_territories_page_offers_the_geography_downloads():
    from tests.app.apptest import new_app

    at = new_app().run()
    at.switch_page("pages/territories.py").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    for label, _ in maps.widgets.GEOGRAPHY_BUTTONS.values():
        assert label in labels


def test_overview_names_the_worst_territory_and_colours_by_load(sample):
    from territory.planning.metrics import territory_table
    from territory.reporting import colors as tcolors
    from tests.app.apptest import new_app

    table = territory_table(sample.accounts, sample.accounts[schema.TERRITORY_ID], territories=sample.territories)
    worst = table.loc[table["deviation_pct"].abs().idxmax()]
    at = new_app().run()
    metric = next(m for m in at.metric if m.label == "Max deviation")
    assert metric.proto.delta == f"{worst[schema.TERRITORY_ID]}: {worst['deviation_pct']:+.1f}%"

    def point_colours() -> set[tuple[int, ...]]:
        spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        return {tuple(row["color"]) for row in next(lay for lay in spec["layers"] if lay["id"] == "accounts")["data"]}

    assert point_colours() == {tuple(tcolors.hex_to_rgb(c)) for c in tcolors.HUES}  # neighbour colours, 9 hues
    at.button_group(key="ts_overview_color_by").set_value("load").run()
    assert not at.exception
    load = {tuple(tcolors.hex_to_rgb(c)) for c in tcolors.LOAD_OVER + tcolors.LOAD_UNDER + (tcolors.LOAD_NEUTRAL,)}
    assert point_colours() <= load
    assert "Colour: workload against target" in " ".join(h.proto.body for h in at.get("html"))
