"""Spreadsheet files are safe to open: no text cell runs as a formula."""

from __future__ import annotations

import doctest
import io

import openpyxl
import pandas as pd
import pytest

from territory.data import spreadsheet
from territory.data.spreadsheet import neutralise_formulas, to_csv_bytes, to_xlsx_bytes

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
        assert cell.quotePrefix == text.startswith(spreadsheet.FORMULA_TRIGGERS)
    assert sheet.cell(row=2, column=3).value == -5.0


def test_xlsx_numbers_of_a_thousand_or_more_show_thousands_separators() -> None:
    """The exports showed 6984295.840000003 and 31192503 in Excel's General format (#16, item 4)."""
    frame = pd.DataFrame({"revenue": [6984295.840000003, 950.5], "accounts": [5000, 12],
                          "latitude": [42.3601, 40.7128], "fte": [1.0, 0.5], "zip": ["02139", "10001"]})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"Territories": frame})))["Territories"]
    formats = {sheet.cell(row=1, column=i).value: sheet.cell(row=2, column=i).number_format for i in range(1, 6)}
    # and the walk found 4.42146214945697 and 2029.276315789474 in smaller columns: two decimals there
    assert formats == {"revenue": "#,##0.00", "accounts": "#,##0", "latitude": "0.00000", "fte": "0.00",
                       "zip": "General"}
    assert sheet.cell(row=2, column=1).value == 6984295.840000003  # the value itself is exact
    assert sheet.cell(row=3, column=2).number_format == "#,##0"  # 12, in the same column as 5,000


def test_csv_floats_carry_no_noise_and_no_scientific_notation() -> None:
    frame = pd.DataFrame({"revenue": [6984295.840000003], "distance_km": [1.234369325576571e-12],
                          "latitude": [42.36012345678], "accounts": [5000]})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    assert text.splitlines()[1] == "6984295.84,0.0,42.360123,5000"


def test_docstring_examples() -> None:
    assert doctest.testmod(spreadsheet).failed == 0
