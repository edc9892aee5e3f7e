"""Levels of the sales organisation: company > region > district > territory.

The territories/reps file gives each territory a ``region`` and, optionally, a ``district``. Here:
the level path of a territory (``West › Pacific › T01``), roll-ups of a per-territory table to a
level (sums, so every level adds up to the company), and a top-down split of a whole-dollar total
(company -> region -> district -> territory) in which every level sums exactly to its parent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from territory.data import schema
from territory.errors import ParameterError

LEVELS: tuple[str, ...] = (schema.REGION, schema.DISTRICT)
NO_NAME = "(none)"
PATH_SEPARATOR = " › "


def levels_in(territories: pd.DataFrame | None) -> list[str]:
    """The levels the territories table fills in (region, district), top first."""
    if territories is None:
        return []
    out = []
    for level in LEVELS:
        if level in territories and territories[level].astype("string").str.strip().replace("", pd.NA).notna().any():
            out.append(level)
    return out


def level_names(territories: pd.DataFrame | None, level: str, ids: Sequence[str]) -> pd.Series:
    """The ``level`` name of each territory in ``ids`` ("(none)" where the table has none)."""
    if territories is None or not len(territories):
        return pd.Series(NO_NAME, index=list(ids), name=level, dtype=object)
    table = territories.assign(**{schema.TERRITORY_ID: territories[schema.TERRITORY_ID].astype(str)})
    table = table.drop_duplicates(schema.TERRITORY_ID).set_index(schema.TERRITORY_ID)
    values = table[level].astype("string").str.strip() if level in table else pd.Series(dtype="string")
    names = values.reindex(list(ids)).replace("", pd.NA).fillna(NO_NAME)
    return pd.Series(names.to_numpy(dtype=object), index=list(ids), name=level)


def level_paths(territories: pd.DataFrame, ids: Sequence[str], include_territory: bool = True) -> pd.Series:
    """Each territory's level path, top first: ``West › Pacific › T01`` (levels the table lacks left
    out; without ``include_territory``, ``West › Pacific``).

    >>> reps = pd.DataFrame({"territory_id": ["T1", "T2"], "region": ["West", None], "district": ["Coast", None]})
    >>> level_paths(reps, ["T1", "T2"]).tolist()
    ['West › Coast › T1', '(none) › (none) › T2']
    """
    ids = [str(t) for t in ids]
    parts = [level_names(territories, level, ids) for level in levels_in(territories)]
    if not include_territory and not parts:
        return pd.Series("", index=ids, dtype=object, name="level_path")
    paths = pd.Series(ids, index=ids, dtype=object) if include_territory else parts.pop()
    for names in reversed(parts):
        paths = names + PATH_SEPARATOR + paths
    return paths.rename("level_path")


def level_path_header(territories: pd.DataFrame | None) -> str:
    """The heading of a level-path column: ``Region › District`` (the levels the table fills in; ""
    without any).

    >>> level_path_header(pd.DataFrame({"territory_id": ["T1"], "region": ["West"], "district": [None]}))
    'Region'
    """
    return PATH_SEPARATOR.join(level.capitalize() for level in levels_in(territories))


def rollup(table: pd.DataFrame, territories: pd.DataFrame, level: str, columns: Sequence[str]) -> pd.DataFrame:
    """Sum the per-territory ``table`` (one row per ``territory_id``) up to ``level``: one row per
    region or district with its territories and the sums of ``columns`` (a district row also names
    its region). Every territory is in exactly one row, so the rows add up to the table's totals.

    >>> reps = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["W", "W", "E"]})
    >>> t = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "quota": [5, 7, 4]})
    >>> rollup(t, reps, "region", ["quota"]).values.tolist()
    [['E', 1, 4], ['W', 2, 12]]
    """
    ids = table[schema.TERRITORY_ID].astype(str).tolist()
    keys = [level_names(territories, level, ids).to_numpy(dtype=object)]
    names = [level]
    if level == schema.DISTRICT and schema.REGION in levels_in(territories):
        keys.insert(0, level_names(territories, schema.REGION, ids).to_numpy(dtype=object))
        names.insert(0, schema.REGION)
    present = [c for c in columns if c in table]
    grouped = table.reset_index(drop=True).groupby(keys, sort=True)
    out = grouped[present].sum(numeric_only=True) if present else grouped.size().to_frame().iloc[:, :0]
    out.insert(0, "territories", grouped.size())
    out.index.names = names
    return out.reset_index()


def largest_remainder(total: int, shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """Whole numbers proportional to ``shares`` that add up exactly to ``total``.

    Floors ``total x share``, then gives the leftover units one by one to the largest fractional
    parts (ties to the earlier position). Shares are normalised; all-zero shares split equally.

    >>> largest_remainder(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    total = int(total)
    if total < 0:
        raise ParameterError(f"total is {total}; it must be >= 0")
    weights = np.clip(np.nan_to_num(np.asarray(shares, dtype=float)), 0, None)
    if weights.size == 0:
        if total:
            raise ParameterError(f"cannot split {total:,} over no territories")
        return np.zeros(0, dtype=np.int64)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    raw = total * weights / weights.sum()
    whole = np.floor(raw).astype(np.int64)
    left = total - int(whole.sum())
    if left:
        order = np.argsort(-(raw - whole), kind="stable")
        whole[order[:left]] += 1
    return whole


def split_top_down(total: int, weights: pd.Series, territories: pd.DataFrame | None) -> pd.Series:
    """Split a whole-number ``total`` over territories by ``weights`` (territory_id -> weight), level
    by level: the company's total over the regions by their summed weights, each region's over its
    districts, each district's over its territories, with largest-remainder rounding at each step,
    so every level sums exactly to its parent (a flat split sums to the company only).

    >>> reps = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["W", "W", "E"]})
    >>> split_top_down(100, pd.Series({"T1": 1.0, "T2": 1.0, "T3": 1.0}), reps).to_dict()
    {'T1': 34, 'T2': 33, 'T3': 33}
    """
    ids = [str(t) for t in weights.index]
    w = np.clip(np.nan_to_num(pd.to_numeric(weights, errors="coerce").to_numpy(dtype=float)), 0, None)
    groups = [level_names(territories, level, ids).to_numpy(dtype=object) for level in levels_in(territories)]
    out = np.zeros(len(ids), dtype=np.int64)

    def split(amount: int, members: np.ndarray, depth: int) -> None:
        if depth == len(groups):
            out[members] = largest_remainder(amount, w[members])
            return
        names = list(dict.fromkeys(groups[depth][members]))
        shares = [w[members[groups[depth][members] == name]].sum() for name in names]
        if sum(shares) <= 0:  # no weight anywhere below: split by number of territories, as at the bottom
            shares = [float((groups[depth][members] == name).sum()) for name in names]
        for name, part in zip(names, largest_remainder(amount, shares)):
            split(int(part), members[groups[depth][members] == name], depth + 1)

    if ids:
        split(int(total), np.arange(len(ids)), 0)
    return pd.Series(out, index=weights.index)
