"""One alignment, one set of colours: Overview, Rebalance (before), the Quarterly review and the report
colour every territory alike, with the neighbour colours of ``territory.reporting.colors``."""

from __future__ import annotations

import json
import re

from territory.reporting import colors as tcolors
from territory.reporting import report
from territory.reporting.report import ReportInput
from tests.app.apptest import open_page


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def layer_colours(at, layer_id: str, colour_field: str = "color") -> dict[str, str]:
    """Territory -> colour of a deck layer's objects, the territory read from each object's tooltip."""
    for deck in at.get("deck_gl_json_chart"):
        for layer in json.loads(deck.proto.json)["layers"]:
            if layer["id"] == layer_id:
                found: dict[str, set[str]] = {}
                for row in layer["data"]:
                    territory = re.search(r"Territory:? (\S+)", row["tip"]).group(1)
                    found.setdefault(territory, set()).add(_hex(row[colour_field]))
                assert all(len(c) == 1 for c in found.values()), found  # one colour per territory
                return {t: c.pop() for t, c in found.items()}
    raise AssertionError(f"no layer {layer_id}")


def test_every_page_and_the_report_colour_the_active_alignment_alike(sample):
    expected = tcolors.alignment_colors(sample.accounts, sample.accounts["territory_id"], sample.territories)
    assert len(set(expected.values())) < len(expected)  # nine hues for twenty territories: the test can tell

    overview = open_page("pages/overview.py")
    assert layer_colours(overview, "accounts") == expected
    rebalance = open_page("pages/rebalance.py")
    assert layer_colours(rebalance, "before-accounts") == expected
    review = open_page("pages/review.py")
    assert layer_colours(review, "review-homes") == expected

    # the report draws its map and charts in its pack's colours
    pack = report._pack(ReportInput(accounts=sample.accounts, labels_after=sample.accounts["territory_id"],
                                    territories=sample.territories))
    assert pack.colors == expected
