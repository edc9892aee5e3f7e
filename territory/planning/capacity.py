"""Capacity planning: how many reps each region and district needs at a target utilisation.

A rep has ``hours_per_fte`` selling hours a year, of which a share ``utilisation`` should be
spent on the accounts (the rest is travel, admin, training). A group of territories with W hours
of account workload a year then needs ``W / (hours_per_fte x utilisation)`` FTE. Against the FTE
it has today, the gap says where to hire (a positive gap: under-staffed) and where the reps have
room (negative: over-staffed). Levels: the company, each region, each district (when the
territories table has them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from territory.data import schema
from territory.errors import ParameterError
from territory.planning.headcount import alignment_territories

LEVELS: tuple[str, ...] = ("company", schema.REGION, schema.DISTRICT)
COMPANY = "All territories"
NO_NAME = "(none)"  # territories whose region or district is blank
STAFFING_SLACK_FTE = 0.05
"""A gap within +/-0.05 FTE (two hours a week at 1,600 h) is "on target", not a hiring signal."""


@dataclass(frozen=True)
class CapacityPlan:
    """One row per level and name (``levels``) for a given ``hours_per_fte`` and ``utilisation``."""

    levels: pd.DataFrame  # level, name, territories, workload_hours, fte, fte_needed, gap, status
    hours_per_fte: float
    utilisation: float
    unassigned_workload_hours: float  # workload of accounts with no territory (in no level)

    def to_dict(self) -> dict:
        """The JSON form: ``levels`` (list of dicts) and ``hours_per_fte``, ``utilisation``."""
        rows = self.levels.to_dict(orient="records")
        for row in rows:
            row["territories"] = int(row["territories"])
            for key in ("workload_hours", "fte", "fte_needed", "gap"):
                row[key] = round(float(row[key]), 4)
        return {"hours_per_fte": self.hours_per_fte, "utilisation": self.utilisation,
                "unassigned_workload_hours": round(self.unassigned_workload_hours, 4), "levels": rows}


def _check(hours_per_fte: float, utilisation: float) -> tuple[float, float]:
    try:
        hours, share = float(hours_per_fte), float(utilisation)
    except (TypeError, ValueError):
        raise ParameterError(f"hours per FTE and utilisation must be numbers, got {hours_per_fte!r}, "
                             f"{utilisation!r}.") from None
    if not (math.isfinite(hours) and 0 < hours <= 8760):
        raise ParameterError(f"hours per FTE must be above 0 and at most 8,760 (a year), got {hours_per_fte}.")
    if not (math.isfinite(share) and 0 < share <= 1):
        raise ParameterError(f"utilisation must be above 0 and at most 1 (0.85 = 85%), got {utilisation}.")
    return hours, share


def status_of(gap: float) -> str:
    """"under-staffed" (needs reps), "over-staffed" (has room) or "on target" (within the slack)."""
    if gap > STAFFING_SLACK_FTE:
        return "under-staffed"
    if gap < -STAFFING_SLACK_FTE:
        return "over-staffed"
    return "on target"


def capacity_plan(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None,
    hours_per_fte: float,
    utilisation: float = 1.0,
) -> CapacityPlan:
    """The reps each level needs at ``utilisation`` of ``hours_per_fte`` (see the module docstring).

    >>> accounts = pd.DataFrame({"workload_hours": [800.0, 400.0, 300.0]})
    >>> reps = pd.DataFrame({"territory_id": ["A", "B"], "region": ["West", "East"], "capacity_fte": [1.0, 0.5]})
    >>> plan = capacity_plan(accounts, pd.Series(["A", "A", "B"]), reps, hours_per_fte=1000, utilisation=0.8)
    >>> plan.levels[["level", "name", "fte", "fte_needed", "gap"]].values.tolist()
    [['company', 'All territories', 1.5, 1.875, 0.375], ['region', 'East', 0.5, 0.375, -0.125], \
['region', 'West', 1.0, 1.5, 0.5]]
    """
    hours, share = _check(hours_per_fte, utilisation)
    if schema.WORKLOAD_HOURS not in accounts:
        raise ParameterError("capacity planning needs a workload_hours column (hours per account and year).")
    labels = pd.Series(labels).astype("string").reindex(accounts.index)
    table = territories if territories is not None else pd.DataFrame({schema.TERRITORY_ID: pd.Series(dtype="string")})
    table = alignment_territories(table, labels, None)
    table = table.assign(**{schema.TERRITORY_ID: table[schema.TERRITORY_ID].astype(str)})
    table = table[table[schema.TERRITORY_ID].isin(set(labels.dropna()))].drop_duplicates(schema.TERRITORY_ID)
    workload = pd.to_numeric(accounts[schema.WORKLOAD_HOURS], errors="coerce").fillna(0.0).clip(lower=0.0)
    per_territory = workload.groupby(labels.to_numpy()).sum()
    table["workload_hours"] = table[schema.TERRITORY_ID].map(per_territory).fillna(0.0).astype(float)
    fte = table[schema.CAPACITY_FTE] if schema.CAPACITY_FTE in table else pd.Series(np.nan, index=table.index)
    table["fte"] = pd.to_numeric(fte, errors="coerce").fillna(schema.DEFAULT_CAPACITY_FTE)
    table["company"] = COMPANY
    rows = []
    for level in LEVELS:
        if level not in table:
            continue
        names = table[level].astype("string").str.strip().fillna(NO_NAME).replace("", NO_NAME)
        if level != "company" and (names == NO_NAME).all():
            continue  # the file has the column but no values: no level to plan
        grouped = table.groupby(names.to_numpy(), sort=True)
        for name, group in grouped:
            needed = float(group["workload_hours"].sum()) / (hours * share)
            have = float(group["fte"].sum())
            rows.append({"level": level, "name": str(name), "territories": len(group),
                         "workload_hours": float(group["workload_hours"].sum()), "fte": have,
                         "fte_needed": needed, "gap": needed - have, "status": status_of(needed - have)})
    unassigned = float(workload[labels.isna().to_numpy()].sum())
    return CapacityPlan(pd.DataFrame(rows, columns=["level", "name", "territories", "workload_hours", "fte",
                                                     "fte_needed", "gap", "status"]), hours, share, unassigned)
