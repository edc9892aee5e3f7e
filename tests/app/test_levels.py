"""Levels in the app (#15, item 1): the Territories page shows each territory's level path and
roll-ups by region and district; the Quarterly review rolls quotas up so that they add up."""

from __future__ import annotations

from territory.ui import keys
from tests.app.apptest import open_page


def test_territories_page_shows_level_paths_and_district_rollups():
    at = open_page("pages/territories.py", timeout=180.0)
    per_territory = next(d.value for d in at.dataframe if "level_path" in d.value.columns)
    assert per_territory.set_index("territory_id").loc["T01", "level_path"] == "West › Pacific"
    regions = next(d.value for d in at.dataframe if d.value.columns[0] == "region" and "district" not in d.value)
    assert regions["accounts"].sum() == 5000 and len(regions) == 4
    at.radio(key=keys.TERRITORIES_ROLLUP_LEVEL).set_value("district").run()
    districts = next(d.value for d in at.dataframe if "district" in d.value.columns and "region" in d.value.columns
                     and "accounts" in d.value.columns)
    assert districts["accounts"].sum() == 5000 and districts["territories"].sum() == 20
    assert len(districts) == 13


def rollup_table(at):
    return next(d.value for d in at.dataframe if d.value.columns[0] == "region" and "attainment_pct" in d.value)


def test_review_rolls_quotas_up_by_level_and_they_add_up_to_the_total():
    at = open_page("pages/review.py", timeout=180.0)
    rollup = rollup_table(at)
    quotas = next(d.value for d in at.dataframe if "Quota" in d.value.columns and "Territory" in d.value.columns)
    assert list(rollup["region"]) == ["Central", "East", "South", "West"]
    assert rollup["quota"].sum() == quotas["Quota"].sum() > 0
    at.radio(key=keys.REVIEW_ROLLUP_LEVEL).set_value("district").run()
    districts = rollup_table(at)
    assert "district" in districts and districts["quota"].sum() == rollup["quota"].sum()
    per_region = districts.groupby("region")["quota"].sum()
    assert per_region.to_dict() == rollup.set_index("region")["quota"].to_dict()
