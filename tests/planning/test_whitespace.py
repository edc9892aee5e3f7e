"""White space by hand: potential minus captured, never below 0, summed by territory, industry and area."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.planning.whitespace import NO_AREA, account_white_space, area_of, white_space


@pytest.fixture
def accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": ["a", "b", "c", "d", "e"],
        "name": ["Alpha", "Beta", "Gamma", "Delta", "Echo"],
        "industry": ["Retail", "Retail", "Energy", "Energy", None],
        "postal_code": ["75201", "75202", "73301", "10001-1234", None],
        "state": ["TX", "TX", "TX", "NY", ""],
        "potential": [1000.0, 500.0, 800.0, 300.0, 200.0],
        "revenue": [200.0, 600.0, 100.0, 0.0, 50.0],
    })


def test_areas_are_zip3_then_state_then_none(accounts) -> None:
    assert area_of(accounts).tolist() == ["ZIP 752", "ZIP 752", "ZIP 733", "ZIP 100", NO_AREA]


def test_captured_is_revenue_without_bookings_and_over_potential_gives_no_white_space(accounts) -> None:
    values = account_white_space(accounts)
    assert values["white_space"].tolist() == [800.0, 0.0, 700.0, 300.0, 150.0]  # b books 600 of 500: 0, not -100


def test_captured_is_the_trailing_four_quarters_of_bookings_when_given(accounts) -> None:
    bookings = pd.DataFrame({"account_id": ["a"] * 5, "quarter": ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"],
                             "amount": [999.0, 100.0, 100.0, 100.0, 100.0]})  # 2025Q1 is outside the 4 quarters
    values = account_white_space(accounts, bookings)
    assert values.loc[0, "captured"] == 400.0 and values.loc[0, "white_space"] == 600.0
    assert values.loc[1, "white_space"] == 500.0  # no bookings: nothing captured
    assert white_space(accounts, ["T1"] * 5, bookings).captured_from == "bookings"


def test_sums_by_territory_industry_area_and_the_hunting_list(accounts) -> None:
    labels = ["T1", "T1", "T2", "T2", None]  # e is unassigned
    ws = white_space(accounts, labels)
    assert ws.total == 1950.0 and ws.captured_from == "revenue"
    by_territory = ws.by_territory.set_index("territory_id")
    assert by_territory["white_space"].to_dict() == {"T2": 1000.0, "T1": 800.0}  # largest first
    assert by_territory.loc["T1", "penetration_pct"] == pytest.approx(800 / 1500 * 100)
    assert ws.by_industry.set_index("industry")["white_space"].to_dict() == {
        "Energy": 1000.0, "Retail": 800.0, "(no industry)": 150.0}  # e counts here, not under a territory
    assert ws.by_area.iloc[0][["area", "white_space"]].tolist() == ["ZIP 752", 800.0]
    hunt = ws.hunt[["area", "industry", "territory_id", "white_space", "top_account"]].values.tolist()
    assert hunt == [["ZIP 752", "Retail", "T1", 800.0, "Alpha (a)"], ["ZIP 733", "Energy", "T2", 700.0, "Gamma (c)"],
                    ["ZIP 100", "Energy", "T2", 300.0, "Delta (d)"]]
    assert ws.of_territory("T9")["white_space"] == 0.0
    assert ws.hunt_in("T2")[["area", "white_space"]].values.tolist() == [["ZIP 733", 700.0], ["ZIP 100", 300.0]]
    assert ws.hunt_in("T9").empty


def test_the_hunting_list_names_the_territory_holding_most_of_a_segment(accounts) -> None:
    accounts = accounts.assign(industry="Retail", postal_code="75201")
    ws = white_space(accounts, ["T1", "T2", "T2", "T2", "T2"])  # T1: 800; T2: 0 + 700 + 300 + 150
    assert ws.hunt[["territory_id", "white_space", "accounts"]].values.tolist() == [["T2", 1950.0, 5]]
