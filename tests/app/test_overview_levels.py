"""Overview map coloured by region or district (#15, item 1)."""

from __future__ import annotations

from territory.reporting.colors import level_colors
from territory.ui import keys
from territory.ui.components.maps import legend_html
from tests.app.apptest import open_page


def test_colour_by_region_gives_a_region_one_colour_and_a_legend_of_regions():
    at = open_page("pages/overview.py", timeout=180.0)
    assert any(b.key == keys.OVERVIEW_COLOR_BY for b in at.get("button_group"))
    at.session_state[keys.OVERVIEW_COLOR_BY] = "region"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    legends = [h.proto.body for h in at.get("html") if "Rep home base" in h.proto.body]
    assert legends and ">Region<" in legends[0] and "West" in legends[0] and "T01" not in legends[0]


def test_level_colours_and_their_legend():
    import pandas as pd

    reps = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "district": ["Coast", "Coast", "<b>Hills</b>"]})
    by_territory, groups = level_colors(reps, ["T1", "T2", "T3"], "district")
    assert by_territory["T1"] == by_territory["T2"] != by_territory["T3"]
    legend = legend_html(["T1", "T2", "T3"], by_territory, reps, groups=groups, groups_title="District")
    assert ">District<" in legend and "&lt;b&gt;Hills&lt;/b&gt;" in legend and "T1" not in legend
