"""One page per rep: the territory's figures, top accounts and the moves of the plan, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.errors import ParameterError
from territory.planning.forecast import forecast_bookings
from territory.planning.rep import rep_view
from territory.planning.review import build_review


@pytest.fixture
def accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": ["a", "b", "c", "d"],
        "name": ["Alpha", "Beta", "Gamma", "Delta"],
        "industry": ["Retail", "Energy", "Retail", "Energy"],
        "revenue": [50.0, 90.0, 10.0, 30.0],
        "potential": [100.0, 100.0, 100.0, 100.0],
        "workload_hours": [10.0, 10.0, 30.0, 30.0],
        "territory_id": ["T1", "T1", "T2", "T2"],
    })


@pytest.fixture
def bookings() -> pd.DataFrame:
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    return pd.DataFrame([{"account_id": a, "quarter": q, "amount": base + 5.0 * i}
                         for a, base in (("a", 100.0), ("b", 10.0), ("c", 50.0), ("d", 20.0))
                         for i, q in enumerate(quarters)])


def test_moves_in_and_out_are_the_plans_against_the_previous_alignment(accounts) -> None:
    plan = ["T1", "T2", "T1", "T2"]  # b leaves T1 for T2, c comes to T1 from T2
    reasons = pd.Series(["", "T1 over target", "closer to T1", ""], index=accounts.index)
    view = rep_view(accounts, plan, "T1", previous=accounts["territory_id"], reasons=reasons)
    assert view.moved_in[["account_id", "from_territory", "to_territory", "reason"]].values.tolist() == [
        ["c", "T2", "T1", "closer to T1"]]
    assert view.moved_out[["account_id", "to_territory", "reason"]].values.tolist() == [["b", "T2", "T1 over target"]]
    assert view.accounts == 2 and view.top_accounts["account_id"].tolist() == ["a", "c"]  # revenue 50, then 10
    # workload 40 of 80 on 1 FTE of 2: exactly on target, inside the 5% band
    assert view.load["value"] == 40.0 and view.load["target"] == 40.0 and view.within_band
    assert rep_view(accounts, plan, "T1").moved_in.empty  # no previous alignment, no moves


def test_bookings_quota_and_forecast_are_the_territorys_own(accounts, bookings) -> None:
    labels = accounts["territory_id"]
    review = build_review(accounts, labels, bookings)
    forecast = forecast_bookings(review.bookings)
    view = rep_view(accounts, labels, "T2", review=review, forecast=forecast, bookings=bookings)
    assert view.bookings.to_dict() == {q: 70.0 + 10.0 * i for i, q in enumerate(review.quarters)}  # c + d
    assert view.figures["bookings_last_quarter"] == 120.0
    assert view.figures["quota"] == review.table.set_index("territory_id").loc["T2", "quota"]
    t2 = forecast.territories.set_index("territory_id").loc["T2"]
    assert view.forecast["value"] == pytest.approx(t2["value"]) and view.forecast["quarter"] == "2026Q3"
    # trailing 4 quarters of c: 60 + 65 + 70 + 75
    assert view.top_accounts.set_index("account_id").loc["c", "bookings_trailing_4q"] == 270.0


def test_white_space_is_the_territorys_own(accounts) -> None:
    from territory.planning.whitespace import white_space

    labels = accounts["territory_id"]
    view = rep_view(accounts, labels, "T1", white=white_space(accounts, labels))
    # potential 100 each, captured = revenue: a 50, b 90 -> 50 + 10
    assert view.white_space["white_space"] == 60.0
    assert view.hunt["territory_id"].unique().tolist() == ["T1"] and view.hunt["white_space"].sum() == 60.0


def test_an_unknown_territory_is_named(accounts) -> None:
    with pytest.raises(ParameterError, match="'T9' is not in this alignment"):
        rep_view(accounts, accounts["territory_id"], "T9")


def test_the_rep_view_says_where_the_territory_sits(accounts) -> None:
    territories = pd.DataFrame({"territory_id": ["T1", "T2"], "region": ["West", "West"],
                                "district": ["Pacific", None]})
    assert rep_view(accounts, accounts["territory_id"], "T1", territories=territories).level_text == (
        "Region › District: West › Pacific")
    assert rep_view(accounts, accounts["territory_id"], "T2", territories=territories).level_text == (
        "Region › District: West › (none)")
    assert rep_view(accounts, accounts["territory_id"], "T1").level_text == ""  # no territories file, no levels
