"""Opportunity exports (territory.planning.opportunities): Salesforce columns, won/lost/open, closed-won
bookings, the open pipeline per territory, and every bad row named by row and field."""

from __future__ import annotations

import pandas as pd
import pytest

from territory.errors import DataError
from territory.planning import opportunities as O

SALESFORCE = (
    "Opportunity ID,Opportunity Name,Account ID,Amount,Close Date,Stage,Probability (%)\n"
    "006A,Renewal,A1,\"$12,500.00\",3/15/2026,Closed Won,100\n"      # 1 won 2026Q1
    "006B,Upsell,A1,2500,2026-02-01,Closed Won,100\n"               # 2 won 2026Q1
    "006C,New,A2,5000,2026-05-02,Prospecting,10\n"                  # 3 open
    "006D,Big,A2,,2026-11-02,Negotiation/Review,90\n"               # 4 open, blank amount -> 0 with a warning
    "006E,Lost,A3,900,2026-04-01,Closed Lost,0\n"                   # 5 lost
    "006F,No account,,100,2026-05-02,Closed Won,100\n"              # 6 rejected: account
    "006G,Bad amount,A1,lots,2026-05-02,Closed Won,100\n"           # 7 rejected: amount
    "006H,Bad date,A1,10,next week,Closed Won,100\n"                # 8 rejected: close date
    "006A,Copy,A1,1,3/15/2026,Closed Won,100\n"                     # 9 rejected: duplicate ID
    "006I,No stage,A1,1,3/15/2026,,0\n"                             # 10 rejected: stage
    "006J,Other,A9,700,2026-06-30,Qualification,20\n"               # 11 open, account not in the dataset
)


@pytest.fixture(scope="module")
def loaded():
    return O.load_opportunities(SALESFORCE.encode(), filename="opportunities.csv")


def test_every_row_is_loaded_or_rejected_with_its_row_and_field(loaded):
    report = loaded.report
    assert report.rows_read == 11 == report.rows_loaded + report.rows_rejected
    assert {i.row: i.field for i in report.rejected} == {6: "account_id", 7: "amount", 8: "close_date",
                                                        9: "opportunity_id", 10: "stage"}
    assert [(w.row, w.field) for w in report.warnings] == [(4, "amount")]
    assert report.mapping["close_date"] == "Close Date" and report.mapping["stage"] == "Stage"


def test_closed_won_opportunities_become_bookings(loaded):
    bookings = O.bookings_from_opportunities(loaded.opportunities)
    assert bookings.to_dict("records") == [{"account_id": "A1", "quarter": "2026Q1", "amount": 15000.0}]
    same, note = O.bookings_or_won(None, loaded.opportunities)
    assert same.equals(bookings) and "2 closed-won" in note
    given = pd.DataFrame({"account_id": ["A1"], "quarter": ["2026Q1"], "amount": [1.0]})
    assert O.bookings_or_won(given, loaded.opportunities) == (given, None)  # a bookings file wins


def test_won_flags_win_over_the_stage_name():
    text = ("Account ID,Amount,Close Date,Stage,Won,Closed\n"
            "A1,10,2026-01-05,Contract Signed,true,true\n"
            "A1,20,2026-01-05,Gone Quiet,false,true\n"
            "A1,30,2026-01-05,Demo,false,false\n")
    opps = O.load_opportunities(text.encode(), filename="o.csv").opportunities
    assert opps["status"].tolist() == ["won", "lost", "open"]


def test_open_pipeline_per_territory_in_stage_order(loaded):
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"]})
    pipeline, notes = O.pipeline_by_territory(accounts, ["T1", "T2", "T2"], loaded.opportunities)
    assert pipeline.to_dict("records") == [
        {"territory_id": "T2", "stage": "Prospecting", "opportunities": 1, "amount": 5000.0},
        {"territory_id": "T2", "stage": "Negotiation/Review", "opportunities": 1, "amount": 0.0},
    ]
    assert notes and "1 open opportunities ($700)" in notes[0]


def test_a_file_without_a_close_date_is_refused_with_its_columns():
    with pytest.raises(DataError, match="close_date.*'Account ID'"):
        O.load_opportunities(b"Account ID,Amount,Stage\nA1,1,Won\n", filename="o.csv")
