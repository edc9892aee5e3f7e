"""What an alignment's figures count (territory.planning.basis): read back from saved parameters, and
the comparison and rep figures scored on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.planning import metrics
from territory.planning.basis import Basis, basis_from_params
from territory.planning.rep import rep_view
from territory.planning.scenarios import compare_scenarios

FALLBACK = Basis("revenue", 0.07, ("Customer",))


@pytest.fixture
def typed() -> pd.DataFrame:
    """Six accounts on two territories; the partners carry most of the workload."""
    return pd.DataFrame({
        schema.ACCOUNT_ID: [f"a{i}" for i in range(6)],
        schema.ACCOUNT_TYPE: ["Customer", "Customer", "Partner", "Customer", "Customer", "Partner"],
        schema.WORKLOAD_HOURS: [10.0, 10.0, 500.0, 10.0, 30.0, 5.0],
        schema.REVENUE: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        schema.LATITUDE: [40.0, 40.1, 40.2, 41.0, 41.1, 41.2],
        schema.LONGITUDE: [-100.0, -100.1, -100.2, -101.0, -101.1, -101.2],
        schema.TERRITORY_ID: ["T1", "T1", "T1", "T2", "T2", "T2"],
    })


def test_a_basis_survives_its_round_trip_through_json_params():
    for basis in (Basis(), Basis("accounts", 0.2, None), Basis((("workload", 0.7), ("potential", 0.3)), 0.1,
                                                                 ("Customer", "No type"))):
        assert basis_from_params(basis.params(), FALLBACK) == basis


@pytest.mark.parametrize("params", [
    None, {}, "not a mapping", {"balance_on": "sales"}, {"balance_on": [["workload", -1]]},
    {"balance_on": [["workload"]]}, {"balance_on": []}, {"tolerance": float("nan")}, {"tolerance": 0},
    {"tolerance": 3}, {"tolerance": "five"},
])
def test_what_saved_params_do_not_say_or_cannot_say_comes_from_the_fallback(params):
    """A scenario saved before its types were kept, or a hand-edited file, reads as the session's basis."""
    assert basis_from_params(params, FALLBACK) == FALLBACK


def test_saved_types_override_the_fallback_and_null_counts_every_account(typed):
    assert basis_from_params({"counted_types": ["Partner"]}, FALLBACK).mask(typed).tolist() == [
        False, False, True, False, False, True]
    assert basis_from_params({"counted_types": None}, FALLBACK).mask(typed).all()
    assert basis_from_params({"counted_types": [1, 2]}, FALLBACK).counted_types is None  # unreadable: all count


def test_compare_scores_each_scenario_on_its_own_basis(typed):
    labels = typed[schema.TERRITORY_ID]
    customers = Basis("workload", 0.05, ("Customer",))
    table = compare_scenarios(typed, {"all": labels, "customers": labels},
                              bases={"all": Basis(), "customers": customers})
    counted = typed[schema.ACCOUNT_TYPE] == "Customer"
    own = metrics.scorecard(typed[counted], labels[counted], previous=labels[counted], balance_on="workload")
    every = metrics.scorecard(typed, labels, previous=labels, balance_on="workload")
    row = "Max deviation from target (%)"
    assert table.loc[row, "customers"] == pytest.approx(own["max_deviation_pct"])
    assert table.loc[row, "all"] == pytest.approx(every["max_deviation_pct"])
    assert own["max_deviation_pct"] != pytest.approx(every["max_deviation_pct"])  # the partners weigh on T1


def test_the_rep_load_counts_the_counted_accounts_and_lists_every_account(typed):
    counted = (typed[schema.ACCOUNT_TYPE] == "Customer").to_numpy()
    view = rep_view(typed, typed[schema.TERRITORY_ID], "T1", counted=counted, tolerance=0.1)
    assert view.load["value"] == pytest.approx(20.0)  # the partner's 500 hours are shown apart
    assert view.load["target"] == pytest.approx(30.0)  # half of the customers' 60 hours
    # counted as the Territories table counts them; the partner is shown apart (and still listed)
    assert (view.accounts, view.shown_apart, view.tolerance) == (2, 1, 0.1)
    assert np.isclose(rep_view(typed, typed[schema.TERRITORY_ID], "T1").load["value"], 520.0)


def test_a_scenario_from_a_typed_file_scores_every_account_of_a_file_without_types(typed):
    """Walking the app: a scenario saved on a Salesforce file (customers and prospects) compared on the
    sample (no types) counted no account and the Compare tab failed."""
    labels = typed[schema.TERRITORY_ID]
    untyped = typed.drop(columns=schema.ACCOUNT_TYPE)
    table = compare_scenarios(untyped, {"saved": labels}, bases={"saved": Basis(counted_types=("Customer",))})
    every = metrics.scorecard(untyped, labels, previous=labels, balance_on="workload")
    assert table.loc["Max deviation from target (%)", "saved"] == pytest.approx(every["max_deviation_pct"])
    only_partners = typed.assign(account_type="Partner")
    assert Basis(counted_types=("Customer",)).mask(only_partners).all()
