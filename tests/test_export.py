"""Exports are safe to open in a spreadsheet and keep every account."""

from __future__ import annotations

import doctest
import io

import openpyxl
import pandas as pd
import pytest

from territory import export
from territory.export import assignment_table, neutralise_formulas, to_csv_bytes, to_xlsx_bytes

DANGEROUS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def risky_frame() -> pd.DataFrame:
    names = DANGEROUS + ["Acme Inc.", "Café Müller"]
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(names))],
            "name": names,
            "revenue": [-5.0] + [1.0] * (len(names) - 1),
        }
    )


@pytest.mark.parametrize("text", DANGEROUS)
def test_every_formula_trigger_is_neutralised_in_csv(text: str) -> None:
    frame = pd.DataFrame({"name": [text]})
    data = to_csv_bytes(frame).decode("utf-8-sig")
    read_back = pd.read_csv(io.StringIO(data), dtype=str, keep_default_na=False)
    assert read_back.loc[0, "name"] == "'" + text


def test_numbers_and_safe_text_are_untouched() -> None:
    out = neutralise_formulas(risky_frame())
    assert out["revenue"].iloc[0] == -5.0  # a negative number is a number, not a formula
    assert out["name"].tolist()[-2:] == ["Acme Inc.", "Café Müller"]


def test_xlsx_cells_are_text_never_formulas() -> None:
    frame = risky_frame()
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"Assignment": frame})))
    sheet = workbook["Assignment"]
    assert [c.value for c in sheet[1]] == ["account_id", "name", "revenue"]
    for row_number, text in enumerate(frame["name"], start=2):
        cell = sheet.cell(row=row_number, column=2)
        assert cell.data_type == "s", f"row {row_number} would run as a formula"
        # The value survives unchanged (XML itself turns a carriage return into a line feed).
        assert cell.value == text.replace("\r", "\n")
        assert cell.quotePrefix == text.startswith(export.FORMULA_TRIGGERS)
    assert sheet.cell(row=2, column=3).value == -5.0


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


def test_docstring_examples() -> None:
    assert doctest.testmod(export).failed == 0


def test_assignment_table_from_an_engine_result_keeps_every_account() -> None:
    from territory.balance import BalanceParams, balance
    from territory.sample import load_sample

    sample = load_sample()
    result = balance(sample.accounts, BalanceParams(stability=0.9), sample.territories)
    table = assignment_table(sample.accounts, result.assignment, sample.territories)
    assert len(table) == len(sample.accounts)
    assert table["account_id"].tolist() == sample.accounts["account_id"].tolist()
    moved = table["previous_territory_id"] != table["territory_id"]
    assert (table["moved"] == moved).all()
    assert (table.loc[table["moved"], "reason"].str.len() > 0).all()  # every move says why
    assert table["rep_name"].notna().all()
