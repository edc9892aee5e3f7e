"""The assignment export keeps every account, with its old and new territory, and stays formula-safe."""

from __future__ import annotations

import pandas as pd

from territory.data.spreadsheet import to_csv_bytes
from territory.reporting import export
from territory.reporting.export import assignment_table


def test_assignment_table_has_old_and_new_territory_rep_and_reason() -> None:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["=evil()", "Good"],
            "territory_id": ["T1", "T1"],
            "crm_owner_email": ["a@x.com", "b@x.com"],
        }
    )
    assignment = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "territory_id": ["T2", "T1"],
            "previous_territory_id": ["T1", "T1"],
            "moved": [True, False],
            "reason": ["T1 was 20% over target", ""],
        }
    )
    territories = pd.DataFrame({"territory_id": ["T1", "T2"], "rep_name": ["Ana", "Bo"]})
    table = assignment_table(accounts, assignment, territories)
    assert table.columns.tolist()[:7] == list(export.ASSIGNMENT_EXPORT_COLUMNS)
    assert table["rep_name"].tolist() == ["Bo", "Ana"]
    assert table["crm_owner_email"].tolist() == ["a@x.com", "b@x.com"]  # carried through
    csv_text = to_csv_bytes(table).decode("utf-8-sig")
    assert "'=evil()" in csv_text



def test_assignment_table_from_an_engine_result_keeps_every_account() -> None:
    from territory.balance import BalanceParams, balance
    from territory.data.sample import load_sample

    sample = load_sample()
    result = balance(sample.accounts, BalanceParams(stability=0.9), sample.territories)
    table = assignment_table(sample.accounts, result.assignment, sample.territories)
    assert len(table) == len(sample.accounts)
    assert table["account_id"].tolist() == sample.accounts["account_id"].tolist()
    moved = table["previous_territory_id"] != table["territory_id"]
    assert (table["moved"] == moved).all()
    assert (table.loc[table["moved"], "reason"].str.len() > 0).all()  # every move says why
    assert table["rep_name"].notna().all()
