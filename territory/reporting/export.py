"""The assignment export: one row per account with its old and new territory, for sales ops.

The cells go through the formula-safe writers of :mod:`territory.data.spreadsheet`.
"""

from __future__ import annotations

import pandas as pd

from territory.data import schema
from territory.planning.metrics import moved_mask

ASSIGNMENT_EXPORT_COLUMNS: tuple[str, ...] = (
    schema.ACCOUNT_ID,
    schema.NAME,
    "previous_territory_id",
    schema.TERRITORY_ID,
    schema.REP_NAME,
    "moved",
    "reason",
)


def assignment_table(
    accounts: pd.DataFrame, assignment: pd.DataFrame, territories: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per account: id, name, old and new territory, rep, moved, reason (for sales ops).

    ``assignment`` is a ``BalanceResult.assignment`` (or any frame with account_id and
    territory_id, aligned with ``accounts``); extra account columns are carried through after.
    """
    out = pd.DataFrame(index=accounts.index)
    out[schema.ACCOUNT_ID] = accounts[schema.ACCOUNT_ID].astype("string")
    out[schema.NAME] = accounts[schema.NAME] if schema.NAME in accounts.columns else pd.NA
    if "previous_territory_id" in assignment.columns:
        previous = assignment["previous_territory_id"]
    else:
        previous = accounts.get(schema.TERRITORY_ID, pd.Series(pd.NA, index=accounts.index))
    out["previous_territory_id"] = previous.astype("string").to_numpy()
    out[schema.TERRITORY_ID] = assignment[schema.TERRITORY_ID].astype("string").to_numpy()
    reps = {}
    if territories is not None and schema.REP_NAME in territories.columns:
        reps = dict(zip(territories[schema.TERRITORY_ID].astype(str), territories[schema.REP_NAME]))
    out[schema.REP_NAME] = out[schema.TERRITORY_ID].map(reps).astype("string")
    if "moved" in assignment.columns:
        out["moved"] = assignment["moved"].fillna(False).astype(bool).to_numpy()
    else:
        out["moved"] = moved_mask(out, out[schema.TERRITORY_ID], out["previous_territory_id"])[0]
    out["reason"] = (
        assignment["reason"].fillna("").astype(str).to_numpy() if "reason" in assignment.columns else ""
    )
    extras = [c for c in accounts.columns if c not in out.columns and c not in schema.ACCOUNT_COLUMNS]
    for column in extras:
        out[column] = accounts[column]
    return out.reset_index(drop=True)
