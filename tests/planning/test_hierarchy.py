"""Levels (#15, item 1): level paths, roll-ups that add up, and the top-down quota split in which
every level sums exactly to its parent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.data.sample import load_sample
from territory.planning.hierarchy import largest_remainder, level_paths, levels_in, rollup, split_top_down

REPS = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["West", "West", "East"],
                     "district": ["Coast", "Coast", "North"]})


def test_top_down_gives_the_region_the_rounding_of_its_own_share():
    # A flat split of 1 over 0.3, 0.3, 0.4 gives it to East (0.4 is the largest remainder); top-down,
    # the West's share is 0.6, so the West gets it, then its first territory.
    weights = pd.Series({"T1": 0.3, "T2": 0.3, "T3": 0.4})
    assert largest_remainder(1, weights.to_numpy()).tolist() == [0, 0, 1]
    assert split_top_down(1, weights, REPS).tolist() == [1, 0, 0]


@pytest.mark.parametrize("seed", range(5))
def test_every_level_sums_exactly_to_its_parent_on_the_sample(seed):
    reps = load_sample().territories
    rng = np.random.default_rng(seed)
    weights = pd.Series(rng.gamma(1.0, size=len(reps)), index=reps["territory_id"].astype(str))
    total = int(rng.integers(1, 5_000_000))
    quota = split_top_down(total, weights, reps)
    assert quota.sum() == total and (quota >= 0).all()
    info = reps.set_index("territory_id")
    regions = info["region"].reindex(quota.index)
    region_share = weights.groupby(regions).sum()
    expected_regions = pd.Series(largest_remainder(total, region_share.to_numpy()), index=region_share.index)
    pd.testing.assert_series_equal(quota.groupby(regions).sum(), expected_regions, check_names=False)
    for region, region_quota in expected_regions.items():
        inside = regions == region
        districts = info["district"].reindex(quota.index)[inside]
        district_share = weights[inside].groupby(districts).sum()
        expected = largest_remainder(int(region_quota), district_share.to_numpy())
        assert quota[inside].groupby(districts).sum().tolist() == expected.tolist()


def test_rollups_add_up_to_the_company_at_every_level():
    reps = load_sample().territories
    table = pd.DataFrame({"territory_id": reps["territory_id"], "quota": np.arange(len(reps)) * 1000 + 7,
                          "accounts": np.arange(len(reps)) + 1})
    for level in levels_in(reps):
        rolled = rollup(table, reps, level, ["quota", "accounts"])
        assert rolled["quota"].sum() == table["quota"].sum()
        assert rolled["accounts"].sum() == table["accounts"].sum()
        assert rolled["territories"].sum() == len(table)
    districts = rollup(table, reps, "district", ["quota"])
    assert districts.columns.tolist()[:3] == ["region", "district", "territories"]
    pacific = districts.set_index("district").loc["Pacific"]
    assert (pacific["region"], pacific["territories"], pacific["quota"]) == ("West", 2, 7 + 1007)


def test_level_paths_name_every_level_top_first():
    assert level_paths(REPS, ["T3"]).tolist() == ["East › North › T3"]
    assert level_paths(REPS.drop(columns="district"), ["T1"]).tolist() == ["West › T1"]


def test_the_review_rolls_up_to_regions_and_districts_with_quotas_adding_up_exactly():
    from territory.planning.review import ReviewSettings, build_review, review_rollup

    sample = load_sample()
    review = build_review(sample.accounts, sample.accounts["territory_id"], sample.bookings, sample.territories,
                          ReviewSettings(quota_total=1_234_567))
    regions = review_rollup(review, sample.territories, "region")
    districts = review_rollup(review, sample.territories, "district")
    assert regions["quota"].sum() == districts["quota"].sum() == review.quota_total == 1_234_567
    for region, quota in regions.set_index("region")["quota"].items():
        assert districts.loc[districts["region"] == region, "quota"].sum() == quota
    west = regions.set_index("region").loc["West"]
    t = review.table.set_index("territory_id").loc[["T01", "T02", "T03", "T04", "T05"]]
    assert west["bookings_last_quarter"] == pytest.approx(t["bookings_last_quarter"].sum())
    assert west["attainment_pct"] == pytest.approx(t["bookings_last_quarter"].sum() / t["attainment_quota"].sum() * 100)


def test_the_report_gets_a_section_per_level_with_names_escaped():
    from territory.planning.review import ReviewSettings, build_review, review_sections_html

    sample = load_sample()
    reps = sample.territories.assign(region=sample.territories["region"].replace("West", "<script>W</script>"))
    review = build_review(sample.accounts, sample.accounts["territory_id"], sample.bookings, reps,
                          ReviewSettings(quota_total=1_000_000))
    sections = dict(review_sections_html(review, territories=reps))
    assert "Quarterly review: by region" in sections and "Quarterly review: by district" in sections
    assert "&lt;script&gt;W&lt;/script&gt;" in sections["Quarterly review: by region"]
    assert "<script>" not in sections["Quarterly review: by region"]
    assert "Quarterly review: by region" not in dict(review_sections_html(review))
