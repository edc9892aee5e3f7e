"""Imported quotas (territory.planning.quotas): every row loaded or rejected with its row and field,
reps resolved to their territory, and attainment in the review measured against them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.errors import DataError
from territory.planning import review as R
from territory.planning.quotas import load_quotas, quota_table

TERRITORIES = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "rep_name": ["Ann Lee", "Bo Chen", "Bo Chen"]})


def load(text: str, territories=TERRITORIES):
    return load_quotas(text.encode(), filename="quotas.csv", territories=territories)


def test_good_rows_load_and_bad_rows_name_their_row_and_field():
    result = load(
        "Territory,Rep Name,Quarter,Quota\n"
        "T1,,2026Q3,\"$250,000\"\n"       # 1 ok
        ",Ann Lee,Q2 2026,100000\n"        # 2 ok: Ann Lee -> T1
        "T9,,2026Q3,5\n"                   # 3 unknown territory
        ",Bo Chen,2026Q3,5\n"              # 4 Bo Chen owns T2 and T3
        ",Nobody,2026Q3,5\n"               # 5 unknown rep
        "T2,,someday,5\n"                  # 6 quarter
        "T2,,2026Q3,lots\n"                # 7 quota not a number
        "T2,,2026Q3,-1\n"                  # 8 negative
        "T1,,2026-08-01,7\n"               # 9 a second T1 2026Q3 (a date in the quarter)
        "T3,,2026Q3,\n"                    # 10 blank quota
        "T2,,7/1/2026,300\n"               # 11 ok: US date in 2026Q3
    )
    report = result.report
    assert report.rows_read == 11 == report.rows_loaded + report.rows_rejected
    assert report.rows_loaded == 3
    rejected = {issue.row: issue.field for issue in report.rejected}
    assert rejected == {3: "territory_id", 4: "rep_name", 5: "rep_name", 6: "quarter", 7: "quota", 8: "quota",
                        9: "quota", 10: "quota"}
    reasons = {issue.row: issue.reason for issue in report.rejected}
    assert "'T9'" in reasons[3] and "T2, T3" in reasons[4] and "'Nobody'" in reasons[5]
    assert "first in row 1" in reasons[9]
    assert result.quotas.to_dict("records") == [
        {"territory_id": "T1", "quarter": "2026Q3", "quota": 250000.0},
        {"territory_id": "T1", "quarter": "2026Q2", "quota": 100000.0},
        {"territory_id": "T2", "quarter": "2026Q3", "quota": 300.0},
    ]


def test_a_file_without_a_quota_column_is_refused_with_its_columns():
    with pytest.raises(DataError, match="no quota column.*'Territory'"):
        load("Territory,Quarter\nT1,2026Q3\n")


def test_quota_table_is_territory_by_quarter():
    quotas = load("territory_id,quarter,quota\nT2,2026Q3,5\nT1,2026Q2,3\n").quotas
    table = quota_table(quotas, ["T1", "T2", "T3"])
    assert list(table.columns) == ["2026Q2", "2026Q3"]
    assert table.loc["T1", "2026Q2"] == 3 and np.isnan(table.loc["T3", "2026Q3"])


# --- attainment in the review ---------------------------------------------------------------------


@pytest.fixture
def review_inputs():
    """T1 books 150, 150, 100, 100, 250; T2 10, 20, 130, 140, 150 (tests/test_review.py's numbers)."""
    accounts = pd.DataFrame({"account_id": ["a1", "a2"], "territory_id": ["T1", "T2"],
                             "potential": [1000.0, 1000.0], "workload_hours": [1.0, 1.0], "revenue": [1.0, 1.0]})
    quarters = ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    bookings = pd.DataFrame({
        "account_id": ["a1"] * 5 + ["a2"] * 5, "quarter": quarters * 2,
        "amount": [150.0, 150.0, 100.0, 100.0, 250.0, 10.0, 20.0, 130.0, 140.0, 150.0],
    })
    return accounts, bookings


def test_imported_quotas_override_the_rule(review_inputs):
    accounts, bookings = review_inputs
    rule = R.build_review(accounts, accounts["territory_id"], bookings).table.set_index("territory_id")
    assert (rule["quota_source"] == "rule").all()
    quotas = pd.DataFrame({"territory_id": ["T1"], "quarter": ["2026Q3"], "quota": [200.0]})
    review = R.build_review(accounts, accounts["territory_id"], bookings, quotas=quotas)
    table = review.table.set_index("territory_id")
    # T1 booked 250 in 2026Q3 against an imported quota of 200: 125%
    assert table.loc["T1", "attainment_pct"] == pytest.approx(125.0)
    assert table.loc["T1", "attainment_quota"] == 200.0 and table.loc["T1", "quota_source"] == "imported"
    assert table.loc["T1", "attainment_pct"] != pytest.approx(rule.loc["T1", "attainment_pct"])
    # T2 has no imported quota: still the rule's back-tested quota, and a note says so
    assert table.loc["T2", "quota_source"] == "rule"
    assert table.loc["T2", "attainment_pct"] == pytest.approx(rule.loc["T2", "attainment_pct"])
    assert review.imported_quotas == 1
    assert any("no 2026Q3 quota for 1 of 2 territories (T2)" in note for note in review.notes)
    assert review.quota_history.loc["T1", "2026Q3"] == 200.0


def test_quotas_of_other_quarters_leave_attainment_to_the_rule(review_inputs):
    accounts, bookings = review_inputs
    quotas = pd.DataFrame({"territory_id": ["T1", "T2"], "quarter": ["2026Q2", "2026Q2"], "quota": [1.0, 1.0]})
    review = R.build_review(accounts, accounts["territory_id"], bookings, quotas=quotas)
    assert (review.table["quota_source"] == "rule").all()
    assert any("no quota for 2026Q3" in note for note in review.notes)
