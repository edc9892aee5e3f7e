"""Spreadsheet files that are safe to open: CSV/XLSX bytes whose text cells never run as formulas.

CRM data is user-typed: an account named ``=HYPERLINK("http://evil", "click")`` would run as a
formula when sales ops open the export in Excel (OWASP "CSV injection"). Every text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised:

* CSV: prefixed with a single quote, the convention spreadsheets honour;
* XLSX: written as a typed text cell (never a formula) with the value unchanged, and also
  quote-prefixed in the cell style so Excel shows it as text when the cell is edited. Numbers stay
  numbers, shown with thousands separators and two decimals (:func:`number_format`); a CSV keeps
  ``CSV_DECIMALS`` decimals.

Every file Territory Studio writes goes through here: the assignment export
(:mod:`territory.reporting.export`), the review workbook, scenario files (reversibly, as they are
read back) and the tables the pages offer for download.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _edit_text_cells(frame: pd.DataFrame, which, edit) -> pd.DataFrame:
    """A copy where ``edit(text)`` replaces every text cell for which ``which(strings)`` is True."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not _is_text(series):
            continue
        text = series.astype("string")
        chosen = which(text).fillna(False).to_numpy(dtype=bool)
        if chosen.any():
            values = series.astype(object).to_numpy(copy=True)
            values[chosen] = [edit(str(v)) for v in text[chosen]]
            out[column] = values
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as spreadsheet formulas (numbers are left alone).

    >>> neutralise_formulas(pd.DataFrame({"name": ["=1+1", "Acme", "-x"], "n": [-1, 2, 3]}))
        name  n
    0  '=1+1 -1
    1   Acme  2
    2    '-x  3
    """
    return _edit_text_cells(frame, lambda text: text.str.startswith(FORMULA_TRIGGERS), lambda v: "'" + v)


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Like :func:`neutralise_formulas`, but exactly reversible by :func:`unescape_formulas`: a text
    cell that starts with a formula trigger *or with a single quote* gets one more leading quote.
    Used for files Territory Studio reads back (scenario files), which must round-trip exactly.

    >>> cells = pd.DataFrame({"name": ["=1+1", "'s-Hertogenbosch", "Acme", "'"]})
    >>> escape_formulas(cells)["name"].tolist()
    ["'=1+1", "''s-Hertogenbosch", 'Acme', "''"]
    >>> unescape_formulas(escape_formulas(cells)).equals(cells)
    True
    """
    return _edit_text_cells(frame, lambda text: text.str.startswith(FORMULA_TRIGGERS + ("'",)), lambda v: "'" + v)


def unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`escape_formulas`: drop one leading quote where a trigger or a quote follows it."""
    return _edit_text_cells(
        frame, lambda text: text.str.startswith("'") & text.str[1:].str.startswith(FORMULA_TRIGGERS + ("'",)),
        lambda v: v[1:])


CSV_DECIMALS = 6
"""Decimals a CSV keeps: coordinates to about 0.1 m, and no float noise (6984295.840000003, 1.2e-12)."""


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (Excel on Windows reads it correctly), formulas neutralised, floats to
    ``CSV_DECIMALS`` decimals."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    frame = frame.assign(**{c: frame[c].round(CSV_DECIMALS) + 0.0 for c in floats}) if floats else frame
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One workbook with a sheet per entry; text cells are typed text, never formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title=_sheet_title(title))
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        columns = [frame[c] for c in frame.columns]
        text_columns = [_is_text(c) for c in columns]
        formats = [number_format(c) for c in columns]
        for row_number, row in enumerate(zip(*[c.to_numpy(dtype=object) for c in columns]), start=2):
            for col_number, (value, is_text, shown_as) in enumerate(zip(row, text_columns, formats), start=1):
                cell = sheet.cell(row=row_number, column=col_number)
                if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                    continue
                if isinstance(value, np.generic):
                    value = value.item()
                if is_text or isinstance(value, str):
                    text = str(value)
                    cell.value = text
                    cell.data_type = "s"  # a string cell: Excel never evaluates it
                    if text.startswith(FORMULA_TRIGGERS):
                        cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
                else:
                    cell.value = value
                    if shown_as is not None:
                        cell.number_format = shown_as  # 6,984,295.84, not 6984295.840000003
        sheet.freeze_panes = "A2"
        for col_number, column in enumerate(frame.columns, start=1):
            width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200).tolist()])
            sheet.column_dimensions[sheet.cell(row=1, column=col_number).column_letter].width = min(
                60, max(8, width + 2)
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


COORDINATE_COLUMNS = frozenset({"latitude", "longitude", "home_latitude", "home_longitude"})


def number_format(series: pd.Series) -> str | None:
    """Excel number format of a numeric column (the cells keep their exact values): thousands
    separators from 1,000 up, no decimals for whole numbers, two otherwise (five for coordinates).
    None for text, booleans and whole numbers under 1,000 (Excel's General shows them as they are).

    >>> number_format(pd.Series([31192503.0, 12.0])), number_format(pd.Series([6984295.840000003]))
    ('#,##0', '#,##0.00')
    >>> number_format(pd.Series([4.42146214945697])), number_format(pd.Series([42.36], name="latitude"))
    ('0.00', '0.00000')
    >>> number_format(pd.Series([12, 480])) is None, number_format(pd.Series(["1000"])) is None
    (True, True)
    """
    if _is_text(series) or pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return None
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    whole = bool(np.all(values == np.round(values)))
    if str(series.name) in COORDINATE_COLUMNS and not whole:
        return "0.00000"
    if np.abs(values).max() < 1000:
        return None if whole else "0.00"
    return "#,##0" if whole else "#,##0.00"


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in str(title) if ch not in '[]:*?/\\')
    return (cleaned or "Sheet")[:31]
