"""``python -m territory forecast``: the JSON shape, the figures it shares with the library, and
opportunities standing in for bookings."""

from __future__ import annotations

import json

import pytest

from territory.cli import main
from territory.data.sample import load_sample
from territory.planning.forecast import forecast_bookings
from territory.planning.review import bookings_by_territory
from tests.crm_files import opportunity_export


def run_json(capsys, *args: str) -> dict:
    assert main(["forecast", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_json_has_forecast_per_territory_and_backtest_wape_per_method(capsys):
    payload = run_json(capsys)
    assert payload["quarter"] == "2026Q4"
    assert len(payload["forecast"]) == 20
    assert set(payload["forecast"][0]) == {"territory_id", "quarter", "value", "low", "high"}
    assert all(row["low"] <= row["value"] <= row["high"] for row in payload["forecast"])
    assert set(payload["backtest"]["wape"]) == {"model", "seasonal_naive", "trailing_mean"}
    assert payload["backtest"]["origins"] == ["2026Q1", "2026Q2", "2026Q3"]
    assert [r["region"] for r in payload["regions"]][-1] == "All territories"
    sample = load_sample()
    by_quarter, _ = bookings_by_territory(sample.accounts, sample.accounts["territory_id"], sample.bookings,
                                          sample.territories)
    library = forecast_bookings(by_quarter, sample.territories)
    assert payload["backtest"]["wape"]["model"] == round(library.score("model"), 2)
    assert payload["method"] == library.method


def test_opportunities_stand_in_for_bookings(tmp_path, capsys):
    sample = load_sample()
    accounts = tmp_path / "accounts.csv"
    sample.accounts.to_csv(accounts, index=False)
    opportunities = tmp_path / "opportunities.csv"
    opportunity_export().to_csv(opportunities, index=False)
    from_opps = run_json(capsys, str(accounts), "--opportunities", str(opportunities))
    bookings = tmp_path / "bookings.csv"
    sample.bookings.to_csv(bookings, index=False)
    from_bookings = run_json(capsys, str(accounts), "--bookings", str(bookings))
    # the closed-won opportunities are exactly the sample's bookings (amounts rounded to the cent)
    assert from_opps["backtest"]["wape"] == pytest.approx(from_bookings["backtest"]["wape"], abs=0.01)
    assert [r["territory_id"] for r in from_opps["forecast"]] == [r["territory_id"] for r in from_bookings["forecast"]]


def test_no_bookings_is_one_line_not_a_traceback(tmp_path, capsys):
    accounts = tmp_path / "accounts.csv"
    load_sample().accounts.to_csv(accounts, index=False)
    assert main(["forecast", str(accounts)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No bookings to forecast") and "Traceback" not in err
    assert main(["forecast", "--bookings", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
