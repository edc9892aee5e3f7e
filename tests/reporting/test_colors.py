"""Load-against-target colours: the band is neutral, over is red, under is blue, darker further out."""

from __future__ import annotations

from territory.reporting.colors import LOAD_NEUTRAL, LOAD_OVER, LOAD_UNDER, load_colors, load_legend_text


def test_the_band_is_neutral_and_its_edge_included():
    colors = load_colors({"in": 4.9, "edge": -5.0, "zero": 0.0}, 5.0)
    assert set(colors.values()) == {LOAD_NEUTRAL}


def test_over_is_red_under_is_blue_darker_further_out():
    colors = load_colors({"a": 6.0, "b": 15.0, "c": 30.0, "d": 90.0, "e": -6.0, "f": -90.0}, 5.0)
    assert [colors[t] for t in "abcd"] == list(LOAD_OVER)  # 1.2, 3, 6 and 18 tolerances
    assert colors["e"] == LOAD_UNDER[0] and colors["f"] == LOAD_UNDER[-1]


def test_the_legend_names_the_band_and_the_steps():
    assert load_legend_text(5.0) == ("Colour: workload against target. Grey within ±5%; red above, blue below, "
                                     "darker beyond 10%, 20%, 40%.")
