"""Balance measures: one value per account, composites without units, CLI spellings."""

from __future__ import annotations

import numpy as np
import pytest

from territory.data.measures import measure_label, measure_values, normalize_balance_on, parse_balance_on
from territory.errors import ParameterError
from tests.factories import make_accounts


def test_accounts_measure_counts_one_per_account():
    assert measure_values(make_accounts(revenue=[5.0, 7.0, 9.0]), "accounts").tolist() == [1.0, 1.0, 1.0]


def test_missing_values_count_as_zero():
    assert measure_values(make_accounts(workload_hours=[1.0, np.nan]), "workload").tolist() == [1.0, 0.0]


def test_composite_weights_are_normalised_and_units_cancel():
    accounts = make_accounts(workload_hours=[10.0, 30.0], potential=[1e6, 3e6])
    composite = measure_values(accounts, {"workload": 7, "potential": 3})
    assert composite.tolist() == pytest.approx([0.25, 0.75])  # both measures split 25/75
    in_thousands = accounts.assign(potential=accounts["potential"] / 1000)
    assert measure_values(in_thousands, (("workload", 0.7), ("potential", 0.3))) == pytest.approx(composite)
    assert composite.sum() == pytest.approx(1.0)


def test_single_measure_composite_keeps_its_unit():
    accounts = make_accounts(revenue=[100.0, 300.0])
    assert measure_values(accounts, (("revenue", 5.0),)).tolist() == [100.0, 300.0]


def test_unknown_measure_and_bad_weights_raise_parameter_error():
    with pytest.raises(ParameterError, match="unknown balance measure 'profit'"):
        normalize_balance_on("profit")
    with pytest.raises(ParameterError, match=">= 0"):
        normalize_balance_on({"workload": -1.0, "revenue": 2.0})
    with pytest.raises(ParameterError, match="positive weight"):
        normalize_balance_on({"workload": 0.0})


def test_missing_measure_column_names_the_column():
    with pytest.raises(ParameterError, match="no 'potential' column"):
        measure_values(make_accounts(revenue=[1.0]), "potential")


def test_parse_balance_on_reads_cli_spellings():
    assert parse_balance_on("revenue") == "revenue"
    assert parse_balance_on("workload:0.7,potential:0.3") == (("workload", 0.7), ("potential", 0.3))
    with pytest.raises(ParameterError, match="needs a weight"):
        parse_balance_on("workload,potential=1")


def test_measure_label_has_units():
    assert measure_label("workload") == "Workload (hours/year)"
    assert measure_label({"workload": 0.7, "potential": 0.3}) == "70% workload + 30% potential (share of total)"
