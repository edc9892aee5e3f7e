"""Quotas the company assigned, read from a file, so attainment is measured against them and not
against the quota the tool's own rule would have set.

A quota file has one row per territory (or rep) and quarter: ``territory_id`` or a rep's name,
``quarter`` (2026Q3, Q3 2026, or a date in the quarter such as a Salesforce ``StartDate``) and
``quota`` (USD). A row naming a rep goes to that rep's territory. Every row is loaded or rejected
with a reason naming the row and the field; nothing is merged silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.io import LoadReport, parse_money
from territory.planning.records import RowLedger, blank_rows, quarters_of, quote, read_mapped

QUOTA = "quota"
REP = schema.REP_NAME
QUOTA_COLUMNS: tuple[str, ...] = (schema.TERRITORY_ID, schema.QUARTER, QUOTA)
"""Columns of a loaded quota table: territory, quarter like 2026Q3, quota in USD."""

QUOTA_SYNONYMS: dict[str, tuple[str, ...]] = {
    schema.TERRITORY_ID: ("territory_id", "Territory", "Territory ID", "Territory Name", "Territory Code"),
    REP: ("rep_name", "Rep", "Rep Name", "Sales Rep", "Quota Owner", "QuotaOwner", "Owner", "Owner Name",
          "Account Owner", "User", "Full Name"),
    schema.QUARTER: ("quarter", "Fiscal Quarter", "Period", "Quarter", "Start Date", "StartDate", "Period Start"),
    QUOTA: ("quota", "Quota", "Quota Amount", "QuotaAmount", "Quota (USD)", "Target", "Amount"),
}


@dataclass
class QuotaLoad:
    """Loaded quotas (``QUOTA_COLUMNS``) and the report of every row."""

    quotas: pd.DataFrame
    report: LoadReport


def empty_quotas() -> pd.DataFrame:
    """A quota table with no rows."""
    return pd.DataFrame({schema.TERRITORY_ID: pd.Series(dtype="string"), schema.QUARTER: pd.Series(dtype="string"),
                         QUOTA: pd.Series(dtype="float64")})


def load_quotas(
    source: str | Path | bytes | BinaryIO,
    filename: str | None = None,
    territories: pd.DataFrame | None = None,
    mapping: dict[str, str] | None = None,
) -> QuotaLoad:
    """Read a quota file; ``territories`` (territory_id, rep_name) checks the IDs and resolves reps.

    Without ``territories`` every territory ID is accepted and rep rows are rejected (nothing to
    resolve them against). Raises ``DataError`` only when the file cannot be read or has neither a
    territory nor a rep column, or no quarter or quota column.
    """
    from territory.errors import DataError

    table = read_mapped(source, filename, QUOTA_SYNONYMS, mapping, "quota file")
    shown = ", ".join(repr(c) for c in list(table.raw.columns)[:12])
    if schema.TERRITORY_ID not in table.mapping and REP not in table.mapping:
        raise DataError(f"quota file has no territory_id or rep column (columns: {shown}): name one 'territory_id' "
                        "or 'Rep Name'")
    missing = [c for c in (schema.QUARTER, QUOTA) if c not in table.mapping]
    if missing:
        raise DataError(f"quota file has no {' or '.join(missing)} column (columns: {shown}): it needs territory_id "
                        "(or rep), quarter and quota")
    return quotas_from_table(table.raw, table.mapping, table.notes, territories)


def _rep_index(territories: pd.DataFrame | None) -> tuple[set[str] | None, dict[str, list[str]]]:
    if territories is None or schema.TERRITORY_ID not in territories:
        return None, {}
    ids = territories[schema.TERRITORY_ID].dropna().astype(str)
    reps: dict[str, list[str]] = {}
    if REP in territories:
        for tid, rep in zip(territories[schema.TERRITORY_ID].astype("string"), territories[REP].astype("string")):
            if pd.notna(rep) and pd.notna(tid) and str(rep).strip():
                reps.setdefault(str(rep).strip().casefold(), []).append(str(tid))
    return set(ids), reps


def quotas_from_table(
    raw: pd.DataFrame, mapping: dict[str, str], notes: Iterable[str] = (), territories: pd.DataFrame | None = None
) -> QuotaLoad:
    """The checks of :func:`load_quotas` on a raw all-text table whose columns are already matched."""
    n = len(raw)

    def text(canonical: str) -> pd.Series:
        return raw[mapping[canonical]].str.strip() if canonical in mapping else pd.Series("", index=raw.index,
                                                                                         dtype="str")

    tid, rep = text(schema.TERRITORY_ID), text(REP)
    ledger = RowLedger(n, tid.where(tid != "", rep))
    ledger.reject(blank_rows(raw), "row", "row is empty (every cell blank): delete it or fill it in")
    known, reps = _rep_index(territories)
    # territory: the territory_id cell, else the rep's territory
    resolved = tid.copy()
    by_rep = (tid == "") & (rep != "")
    ledger.reject(((tid == "") & (rep == "")).to_numpy(), schema.TERRITORY_ID,
                  "territory_id and rep are both blank: name the territory (or its rep)")
    if by_rep.any():
        reasons = []
        for position, name in zip(np.flatnonzero(by_rep), rep[by_rep]):
            owned = reps.get(name.casefold(), [])
            if len(owned) == 1:
                resolved.iloc[position] = owned[0]
                reasons.append("")
            elif known is not None and name in known:  # an owner-based alignment: the owner is the territory
                resolved.iloc[position] = name
                reasons.append("")
            elif owned:
                reasons.append(f"rep {quote([name])[0]} owns {len(owned)} territories ({', '.join(owned)}): "
                               "give the territory_id instead")
            else:
                reasons.append(f"rep {quote([name])[0]} is not the rep of any territory: check the spelling or "
                               "give the territory_id")
        bad = np.zeros(n, dtype=bool)
        texts = np.full(n, "", dtype=object)
        for position, reason in zip(np.flatnonzero(by_rep), reasons):
            bad[position] = bool(reason)
            texts[position] = reason
        ledger.reject(bad, REP, texts)
    if known is not None:
        unknown = ((resolved != "") & ~resolved.isin(known) & ~by_rep).to_numpy()
        ledger.reject(unknown, schema.TERRITORY_ID,
                      np.array([f"territory_id {q} is not a territory of the dataset: check the ID" for q in
                                quote(resolved)], dtype=object))
    quarter_text = text(schema.QUARTER)
    quarter = quarters_of(quarter_text)
    ledger.reject(quarter.isna().to_numpy(), schema.QUARTER,
                  np.array([f"quarter {q} is not readable: write quarters like 2026Q3 (or a date in the quarter)"
                            for q in quote(quarter_text)], dtype=object))
    quota_text = text(QUOTA)
    amount, unreadable = parse_money(quota_text)
    ledger.reject((quota_text == "").to_numpy(), QUOTA, "quota is blank: fill it in (USD) or delete the row")
    ledger.reject(unreadable | np.isnan(amount), QUOTA,
                  np.array([f"quota {q} is not a number of USD: write quotas like 250000" for q in quote(quota_text)],
                           dtype=object))
    ledger.reject(np.nan_to_num(amount, nan=0.0) < 0, QUOTA, "quota is negative: a quota is USD >= 0")
    # the same territory and quarter twice: the first row counts, later ones are rejected (never summed)
    key = resolved + "|" + quarter.fillna("").astype("str")
    alive = pd.Series(~ledger.rejected, index=raw.index)
    first_row = pd.Series(np.arange(n) + 1, index=raw.index).where(alive).groupby(key.where(alive)).transform("min")
    repeated = (alive & (first_row < np.arange(n) + 1)).to_numpy()
    ledger.reject(repeated, QUOTA,
                  np.array([f"a second quota for {k.replace('|', ' ')} (first in row {r:.0f}): one quota per "
                            "territory and quarter; delete this row or fix its quarter"
                            for k, r in zip(key, first_row.fillna(0))], dtype=object))
    keep = ~ledger.rejected
    quotas = pd.DataFrame({
        schema.TERRITORY_ID: resolved[keep].astype("string").to_numpy(),
        schema.QUARTER: quarter[keep].astype("string").to_numpy(),
        QUOTA: amount[keep].astype(float),
    })
    return QuotaLoad(quotas=quotas, report=ledger.report(mapping, list(notes)))


def quota_table(quotas: pd.DataFrame | None, territory_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Imported quotas as territory x quarter (USD; NaN where the file has none), quarters oldest first.

    >>> q = pd.DataFrame({"territory_id": ["T1", "T2", "T1"], "quarter": ["2026Q2", "2026Q2", "2026Q1"],
    ...                   "quota": [10.0, 20.0, 5.0]})
    >>> quota_table(q).to_dict("index")
    {'T1': {'2026Q1': 5.0, '2026Q2': 10.0}, 'T2': {'2026Q1': nan, '2026Q2': 20.0}}
    """
    if quotas is None or len(quotas) == 0:
        index = pd.Index(list(territory_ids or []), name=schema.TERRITORY_ID)
        return pd.DataFrame(index=index, dtype=float)
    wide = quotas.pivot_table(index=schema.TERRITORY_ID, columns=schema.QUARTER, values=QUOTA, aggfunc="first")
    wide = wide.reindex(sorted(wide.columns), axis=1)
    if territory_ids is not None:
        wide = wide.reindex(list(territory_ids))
    wide.index = wide.index.astype(str).rename(schema.TERRITORY_ID)
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = schema.QUARTER
    return wide.astype(float)


def quotas_for(quotas: pd.DataFrame | None, quarter: str | None, territory_ids: Iterable[str]) -> pd.Series:
    """The imported quota of each territory in ``quarter`` (USD; NaN where the file has none)."""
    ids = list(territory_ids)
    table = quota_table(quotas, ids)
    if quarter is None or quarter not in table.columns:
        return pd.Series(np.nan, index=ids, dtype=float)
    return table[quarter].reindex(ids).astype(float)


def quota_notes(quotas: pd.DataFrame | None, quarter: str | None, territory_ids: Mapping | Iterable[str]) -> list[str]:
    """What the quota file covers for ``quarter``: how many territories it leaves to the rule."""
    ids = list(territory_ids)
    if quotas is None or len(quotas) == 0 or quarter is None:
        return []
    have = quotas_for(quotas, quarter, ids).notna()
    if have.all():
        return []
    if not have.any():
        return [f"The quota file has no quota for {quarter}: attainment is measured against the rule's quota."]
    missing = [t for t, ok in have.items() if not ok]
    return [f"The quota file has no {quarter} quota for {len(missing):,} of {len(ids):,} territories "
            f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}): they are measured against the rule's "
            "quota."]
