"""Shared plumbing of the quota and opportunity imports: columns mapped like the accounts import, and
every row accounted for (rows read = loaded + rejected), each rejection naming its row and field.

The accounts importer (``territory.data.io``) does the reading (encoding, delimiter, XLSX) and the name
matching; this module only adds the per-row bookkeeping that small planning files need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from territory.data.io import LoadReport, RowIssue, _as_text_frame, _resolve_mapping, _suggest, read_table
from territory.errors import DataError


@dataclass(frozen=True)
class MappedTable:
    """A raw table (all cells text) and which file column holds each canonical column."""

    raw: pd.DataFrame
    mapping: dict[str, str]
    notes: tuple[str, ...]

    def text(self, canonical: str) -> pd.Series:
        """The stripped text of a canonical column ('' everywhere when the file lacks it)."""
        if canonical in self.mapping:
            return self.raw[self.mapping[canonical]].str.strip()
        return pd.Series("", index=self.raw.index, dtype="str")


def read_mapped(
    source: str | Path | bytes | BinaryIO,
    filename: str | None,
    synonyms: dict[str, tuple[str, ...]],
    mapping: dict[str, str] | None,
    what: str,
) -> MappedTable:
    """Read a CSV/XLSX file and match its columns against ``synonyms`` (overridden by ``mapping``,
    where '' unmaps a column). Raises ``DataError`` naming ``what`` when the file cannot be read."""
    try:
        raw = read_table(source, filename)
    except DataError as error:
        raise DataError(f"{what}: {error}") from None
    notes = tuple(raw.attrs.get("notes", []))
    raw = _as_text_frame(raw)
    columns = [str(c) for c in raw.columns]
    resolved = _resolve_mapping(columns, mapping, list(synonyms), _suggest(columns, synonyms))
    return MappedTable(raw=raw, mapping=resolved, notes=notes)


class RowLedger:
    """Which rows are rejected and why (first reason wins), and warnings on rows that load."""

    def __init__(self, n_rows: int, ids: pd.Series) -> None:
        self.rejected = np.zeros(n_rows, dtype=bool)
        self._ids = ids
        self._rejects: list[RowIssue] = []
        self._warnings: list[RowIssue] = []

    def reject(self, mask: np.ndarray | pd.Series, field_name: str, reasons: str | Sequence[str]) -> None:
        """Reject the rows of ``mask`` not rejected yet; ``reasons`` is one text or one per row of the mask."""
        mask = np.asarray(mask, dtype=bool)
        per_row = None if isinstance(reasons, str) else np.asarray(list(reasons), dtype=object)
        for position in np.flatnonzero(mask & ~self.rejected):
            reason = reasons if per_row is None else str(per_row[position])
            self._rejects.append(RowIssue(int(position) + 1, self._id(position), field_name, str(reason)))
        self.rejected |= mask

    def warn(self, mask: np.ndarray | pd.Series, field_name: str, reason: str) -> None:
        """A warning on every row of ``mask`` that is (still) loaded."""
        for position in np.flatnonzero(np.asarray(mask, dtype=bool) & ~self.rejected):
            self._warnings.append(RowIssue(int(position) + 1, self._id(position), field_name, reason))

    def _id(self, position: int) -> str | None:
        value = str(self._ids.iloc[position]) if len(self._ids) else ""
        return value or None

    def report(self, mapping: dict[str, str], notes: Sequence[str]) -> LoadReport:
        """The load report; warnings of rows rejected later are dropped."""
        rejects = sorted(self._rejects, key=lambda issue: issue.row)
        warnings = sorted((w for w in self._warnings if not self.rejected[w.row - 1]), key=lambda issue: issue.row)
        n = len(self.rejected)
        return LoadReport(
            rows_read=n, rows_loaded=int(n - self.rejected.sum()), rows_rejected=int(self.rejected.sum()),
            rejected=rejects, warnings=warnings, notes=list(notes), mapping=dict(mapping),
        )


def blank_rows(raw: pd.DataFrame) -> np.ndarray:
    """True for rows whose every cell is blank."""
    if raw.shape[1] == 0:
        return np.ones(len(raw), dtype=bool)
    return np.logical_and.reduce([(raw[c].str.strip() == "").to_numpy() for c in raw.columns])


def quote(values: pd.Series | np.ndarray, limit: int = 40) -> list[str]:
    """Cell texts shortened and quoted for a one-line message."""
    out = []
    for value in values:
        text = str(value).replace("\n", "\\n")
        out.append(repr(text if len(text) <= limit else text[: limit - 3] + "..."))
    return out


def parse_dates(text: pd.Series) -> pd.Series:
    """Dates from ISO text ('2026-03-31', with or without a time) or US text ('3/31/2026', as a
    Salesforce report writes them); NaT where neither reads.

    >>> parse_dates(pd.Series(["2026-03-31", "3/31/2026", "2026-03-31 00:00:00", "31.03.2026", ""])).dt.day.tolist()
    [31.0, 31.0, 31.0, nan, nan]
    """
    text = text.astype("str").str.strip()
    iso = pd.to_datetime(text.where(text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}")), format="ISO8601", errors="coerce")
    us = pd.to_datetime(text.where(text.str.match(r"^\d{1,2}/\d{1,2}/\d{4}$")), format="%m/%d/%Y", errors="coerce")
    return iso.fillna(us)


def quarters_of(text: pd.Series) -> pd.Series:
    """'2026Q3' from a quarter ('2026Q3', 'Q3 2026', '2026-Q3') or a date in it (see :func:`parse_dates`);
    <NA> where neither reads.

    >>> quarters_of(pd.Series(["Q3 2026", "2026-08-15", "8/15/2026", "soon"])).tolist()
    ['2026Q3', '2026Q3', '2026Q3', <NA>]
    """
    text = text.astype("str").str.strip()
    match = text.str.upper().str.extract(r"^(?:(\d{4})\s*[-_/ ]?\s*Q([1-4])|Q([1-4])\s*[-_/ ]?\s*(\d{4}))$")
    year = match[0].fillna(match[3])
    quarter = match[1].fillna(match[2])
    out = (year + "Q" + quarter).astype("string")
    dates = parse_dates(text.where(out.isna(), ""))
    from_dates = (dates.dt.year.astype("Int64").astype("string") + "Q"
                  + dates.dt.quarter.astype("Int64").astype("string"))
    return out.fillna(from_dates)
