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


# --- territory colours on a map: neighbours never alike ---------------------------------------------

import itertools  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from territory.planning.geography import territory_shapes  # noqa: E402
from territory.reporting.colors import (  # noqa: E402
    HUES,
    MIN_HUE_DISTANCE,
    UNASSIGNED_COLOR,
    alignment_colors,
    color_distance,
    neighbour_colors,
    preferred_hue,
)
from tests.factories import clustered_alignment, shape_borders  # noqa: E402


def test_the_hues_are_far_apart_and_none_is_the_unassigned_grey():
    for a, b in itertools.combinations([*HUES, UNASSIGNED_COLOR], 2):
        assert color_distance(a, b) >= MIN_HUE_DISTANCE, (a, b)


@pytest.mark.parametrize("k", [20, 50, 100])
def test_no_two_territories_that_share_a_border_share_a_colour(sample, k):
    labels = sample.accounts["territory_id"] if k == 20 else clustered_alignment(sample.accounts, k)
    colors = alignment_colors(sample.accounts, labels, sample.territories if k == 20 else None)
    borders = shape_borders(territory_shapes(sample.accounts, labels))
    assert len(colors) == k and len(borders) >= k
    for a, b in borders:
        assert color_distance(colors[a], colors[b]) >= MIN_HUE_DISTANCE, (a, b, colors[a], colors[b])
    assert set(colors.values()) <= set(HUES)


def test_colours_depend_on_the_alignment_alone(sample):
    labels = sample.accounts["territory_id"]
    shuffled = sample.accounts.sample(frac=1.0, random_state=3)
    assert alignment_colors(sample.accounts, labels) == alignment_colors(shuffled, labels.loc[shuffled.index])
    # a territory without accounts (in the territories table only) changes no one else's colour
    extra = pd.concat([sample.territories, sample.territories.iloc[[0]].assign(territory_id="T99")])
    with_extra = alignment_colors(sample.accounts, labels, extra)
    assert with_extra.pop("T99") == preferred_hue("T99")
    assert with_extra == alignment_colors(sample.accounts, labels, sample.territories)


def test_a_small_change_of_the_alignment_keeps_almost_every_colour(sample):
    labels = clustered_alignment(sample.accounts, 50)
    before = alignment_colors(sample.accounts, labels)
    # a neighbour takes over part of a territory: a third of T001's accounts, those nearest to T002's centre
    after_labels = labels.copy()
    own = sample.accounts[labels == "T001"]
    centre = sample.accounts.loc[labels == "T002", ["latitude", "longitude"]].mean()
    nearest = ((own[["latitude", "longitude"]] - centre) ** 2).sum(axis=1).nsmallest(len(own) // 3).index
    after_labels.loc[nearest] = "T002"
    after = alignment_colors(sample.accounts, after_labels)
    changed = [t for t in before if before[t] != after[t]]
    assert len(changed) <= 3, changed
    assert before == alignment_colors(sample.accounts, labels, previous=before)  # given as previous: unchanged


def test_a_clash_goes_to_the_territory_with_fewer_constraints_and_the_farthest_free_hue():
    # T01 and T10 both prefer the first hue; T01 has more neighbours, so T10 gives way
    pairs = [("T01", "T10"), ("T01", "T02"), ("T01", "T03")]
    others = [f"T{i}" for i in range(20, 27)]  # more territories than hues: only neighbours must differ
    colors = neighbour_colors(["T01", "T02", "T03", "T10", *others], pairs)
    assert colors["T01"] == HUES[0] == preferred_hue("T10")
    assert colors["T10"] != HUES[0]
    assert colors["T10"] == max((h for h in HUES if h != HUES[0]), key=lambda h: color_distance(h, HUES[0]))


def test_up_to_nine_territories_get_a_hue_each():
    owners = ["Laura Mitchell", "Brian O'Brien", "Marcus Zimmerman", "Mei Quinn", "Derek Robinson", "Sofia Bennett"]
    assert len({preferred_hue(o) for o in owners}) < len(owners)  # their preferences collide...
    assert len(set(neighbour_colors(owners, []).values())) == len(owners)  # ...the colours do not


def test_interleaved_territories_beyond_the_hues_get_the_least_used_hue():
    ids = [f"T{i:02d}" for i in range(1, 12)]  # eleven territories, every one next to every other
    colors = neighbour_colors(ids, itertools.combinations(ids, 2))
    counts = pd.Series(colors).value_counts()
    assert len(counts) == len(HUES) and counts.max() == 2  # nine hues used, no hue more than twice
