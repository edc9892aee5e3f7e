"""Every territory is named on the map: labels inside the shapes, moved (with a leader line) rather than
left out where they would collide, at 20, 50 and 100 territories, and on the owner-based alignment."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from territory.data import schema
from territory.planning.geography import territory_shapes
from territory.reporting import colors as tcolors
from territory.ui.components import maps
from tests.factories import clustered_alignment


def label_layer(spec: dict, layer_id: str = "territory-labels") -> list[dict]:
    return next(layer for layer in spec["layers"] if layer["id"] == layer_id)["data"]


def label_boxes(rows: list[dict], zoom: float) -> np.ndarray:
    """Each label's box on screen at ``zoom`` (x0, y0, x1, y1), as the placement sizes it."""
    x, y = maps._world_px(np.array([r["label_lat"] for r in rows]), np.array([r["label_lon"] for r in rows]), zoom)
    half_w = np.array([maps.LABEL_CHAR_PX * len(r["label"]) + 6 for r in rows]) / 2
    return np.column_stack([x - half_w, y - maps.LABEL_HEIGHT_PX / 2, x + half_w, y + maps.LABEL_HEIGHT_PX / 2])


@pytest.mark.parametrize("k", [20, 50, 100])
def test_every_territory_is_named_once_and_no_two_labels_overlap(sample, k):
    labels = sample.accounts[schema.TERRITORY_ID] if k == 20 else clustered_alignment(sample.accounts, k)
    territories = sample.territories if k == 20 else None
    view = maps.build_account_map(sample.accounts, labels, territories,
                                  colors=tcolors.alignment_colors(sample.accounts, labels, territories))
    spec = json.loads(view.deck.to_json())
    rows = label_layer(spec)
    assert sorted(r["territory_id"] for r in rows) == sorted(set(labels.dropna()))
    if k == 20:  # few territories: the rep's name too
        assert {"T01 \u00b7 Mitchell"} <= {r["label"] for r in rows}
    boxes = label_boxes(rows, spec["initialViewState"]["zoom"])
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], "two labels overlap"
    # a label left on its anchor lies inside its own territory's shape
    shapes = territory_shapes(sample.accounts, labels)
    leaders = {tuple(line["t"]) for line in label_layer(spec, "label-leaders")} if any(
        layer["id"] == "label-leaders" for layer in spec["layers"]) else set()
    on_anchor = [r for r in rows if (r["label_lon"], r["label_lat"]) not in leaders]
    inside = [shapes.shape(r["territory_id"]).buffer(0.05).contains(shapely.Point(r["label_lon"], r["label_lat"]))
              for r in on_anchor]
    assert on_anchor and np.mean(inside) >= 0.9
    assert len(leaders) == len(rows) - len(on_anchor)  # every moved label has its leader line


def test_text_is_pixel_sized_literal_strings(sample):
    view = maps.build_account_map(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.territories)
    text = next(layer for layer in json.loads(view.deck.to_json())["layers"] if layer["id"] == "territory-labels")
    assert text["@@type"] == "TextLayer"
    # literal strings, not pydeck expressions ("@@=pixels" made deck.gl size the text in metres)
    assert text["sizeUnits"] == "pixels" and text["getTextAnchor"] == "middle"


def test_a_crowd_of_labels_is_spread_out_with_leader_lines_never_dropped():
    # thirty territories anchored on one spot: every label is placed, each clear of the others
    anchors = pd.DataFrame({"territory_id": [f"T{i:02d}" for i in range(30)], "lon": -98.0, "lat": 39.0,
                            "label": [f"T{i:02d}" for i in range(30)]})
    placed = maps.place_labels(anchors, zoom=4.0)
    assert len(placed) == 30 and placed["leader"].sum() >= 28
    boxes = label_boxes(placed.to_dict("records"), 4.0)
    overlaps = sum(not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])
                   for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert overlaps == 0


@pytest.mark.parametrize("show_outlines", [True, False])
def test_owner_based_alignment_names_every_owner_in_the_legend_not_stacked_on_the_map(sample, show_outlines):
    # owners interleaved in the same areas: each owner's accounts span the country, so a label amid them
    # sat at its middle, every owner's stacked there with leader lines; the legend names them instead
    owners = pd.Series(np.array(["Ann Lee", "Bo Chen", "Cy Diaz"])[np.arange(len(sample.accounts)) % 3],
                       index=sample.accounts.index)
    view = maps.build_account_map(sample.accounts, owners, show_outlines=show_outlines)
    ids = [layer["id"] for layer in json.loads(view.deck.to_json())["layers"]]
    assert "territory-labels" not in ids and "label-leaders" not in ids
    assert all(name in view.legend_html for name in ("Ann Lee", "Bo Chen", "Cy Diaz"))
    # a geographic alignment keeps its labels with the boundaries switched off (amid its accounts)
    geographic = maps.build_account_map(sample.accounts, sample.accounts[schema.TERRITORY_ID],
                                        show_outlines=show_outlines)
    assert len(label_layer(json.loads(geographic.deck.to_json()))) == 20
