"""Headcount made explicit: which territories a result adds or closes, and the territories table
that goes with an alignment.

A what-if that changes the number of territories changes people's jobs, so it must never do so
silently: :func:`headcount_change` compares the territory IDs before and after (from the labels
alone, whatever produced them) and says which were added and which closed. An alignment made
active from a new-hire result holds a territory the dataset's territories file does not list;
:func:`alignment_territories` gives the table that matches the alignment, so the next what-if
starts from its real headcount instead of dissolving the new territory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from territory.data import schema


def _natural_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def territory_ids(labels: pd.Series) -> tuple[str, ...]:
    """The territory IDs an alignment uses, in natural order (T2 before T10)."""
    return tuple(sorted(set(pd.Series(labels).dropna().astype(str)), key=_natural_key))


@dataclass(frozen=True)
class HeadcountChange:
    """The territories before and after a what-if, and which were added or closed."""

    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def added(self) -> tuple[str, ...]:
        known = set(self.before)
        return tuple(t for t in self.after if t not in known)

    @property
    def closed(self) -> tuple[str, ...]:
        kept = set(self.after)
        return tuple(t for t in self.before if t not in kept)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.closed)

    def message(self) -> str:
        """One sentence for the user ("" when the territories are the same).

        >>> HeadcountChange(("T1", "T2", "T3"), ("T1", "T3", "T4", "T5")).message()
        'Headcount 3 → 4 territories: adds T4, T5; closes T2.'
        """
        if not self.changed:
            return ""
        parts = []
        if self.added:
            parts.append(f"adds {', '.join(self.added)}")
        if self.closed:
            parts.append(f"closes {', '.join(self.closed)}")
        return f"Headcount {len(self.before)} → {len(self.after)} territories: {'; '.join(parts)}."


def headcount_change(before: pd.Series, after: pd.Series) -> HeadcountChange:
    """The :class:`HeadcountChange` between two alignments (territory_id per account)."""
    return HeadcountChange(territory_ids(before), territory_ids(after))


def alignment_territories(
    table: pd.DataFrame, labels: pd.Series, result_territories: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The territories table of an alignment: the dataset's rows for the territories the
    alignment uses, plus rows for territories the table does not list (a new hire made active),
    taken from the result that produced the alignment (``result_territories``) when it has them,
    else at the default capacity. Territories of the table that the alignment no longer uses are
    kept only when the alignment did not come from a result (an empty territory in a file is a
    vacancy; one closed by a what-if is gone).

    >>> table = pd.DataFrame({"territory_id": ["T1", "T2"], "capacity_fte": [1.0, 0.5]})
    >>> extra = pd.DataFrame({"territory_id": ["T3"], "rep_name": ["New hire"], "capacity_fte": [0.8]})
    >>> labels = pd.Series(["T1", "T3", "T3"])
    >>> alignment_territories(table, labels, extra)[["territory_id", "capacity_fte"]].values.tolist()
    [['T1', 1.0], ['T3', 0.8]]
    """
    ids = territory_ids(labels)
    out = table.copy()
    listed = out[schema.TERRITORY_ID].astype(str)
    if result_territories is not None:
        out = out[listed.isin(ids).to_numpy()]
        listed = out[schema.TERRITORY_ID].astype(str)
    missing = [t for t in ids if t not in set(listed)]
    if not missing:
        return out.reset_index(drop=True)
    rows = pd.DataFrame({schema.TERRITORY_ID: missing})
    if result_territories is not None and len(result_territories):
        source = result_territories.assign(
            **{schema.TERRITORY_ID: result_territories[schema.TERRITORY_ID].astype(str)}
        ).drop_duplicates(schema.TERRITORY_ID)
        columns = [c for c in out.columns if c in source.columns and c != schema.TERRITORY_ID]
        rows = rows.merge(source[[schema.TERRITORY_ID, *columns]], on=schema.TERRITORY_ID, how="left")
    if schema.CAPACITY_FTE in out.columns:
        capacity = rows[schema.CAPACITY_FTE] if schema.CAPACITY_FTE in rows else pd.Series(pd.NA, index=rows.index)
        rows[schema.CAPACITY_FTE] = pd.to_numeric(capacity, errors="coerce").fillna(schema.DEFAULT_CAPACITY_FTE)
    combined = pd.concat([out, rows], ignore_index=True)
    combined[schema.TERRITORY_ID] = combined[schema.TERRITORY_ID].astype("string")
    return combined
