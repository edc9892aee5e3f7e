"""Numbers that say whether an alignment is good: per-territory table and a one-dict scorecard.

Pure pandas/numpy (no Streamlit): the app, the CLI, the benchmarks and the quarterly review all
read these same numbers. Definitions (units in brackets; also in docs/metrics.md):

* **load** of a territory on a measure: the sum of its accounts' values (workload hours/year,
  revenue USD/year, potential USD/year, account count, or a dimensionless composite share).
* **capacity share**: ``capacity_fte / sum(capacity_fte)`` over the territories of the table
  (capacity defaults to 1.0 FTE).
* **target** [measure units]: total load of the assigned accounts x capacity share, so a 0.5 FTE
  rep's target is half a full-time rep's.
* **deviation_pct** [%]: ``(load / target - 1) x 100``; **max_deviation_pct** is the largest
  absolute deviation over territories.
* **capacity-adjusted load**: ``load / capacity share`` (equal for every territory when the
  alignment is perfectly balanced; territories with 0 FTE are left out of these statistics).
  **cv** = population standard deviation / mean of the
  capacity-adjusted loads; **gini** = Gini coefficient of the same (0 equal, towards 1 all in one);
  **max_min_ratio** = largest / smallest capacity-adjusted load, ``None`` when a territory's load is
  0 (an empty territory makes the ratio infinite; JSON has no infinity).
* **utilisation_pct** [%]: ``workload / (capacity_fte x mean workload per FTE) x 100``.
* **centre** of a territory (:func:`territory_centres`): the workload-weighted spherical centroid
  of its accounts (the normalised workload-weighted sum of their 3-D unit vectors; equal weights
  when the territory has no workload). It depends on the accounts and the labels only, never on
  which engine run (if any) produced the labels, the rep's home base or a territory's name, so a
  live result, a saved scenario, the report and the CLI give the same number for one alignment.
* **distance** [km] (:func:`account_distances`): great-circle distance from an account to its
  territory's centre. **mean_distance_km** is its plain mean per territory;
  **weighted_mean_distance_km** (per territory and in the scorecard) weights accounts by workload
  (:func:`weighted_mean_distance_km`).
* **industry_concentration**: Herfindahl index of the territory's revenue shares by industry
  (1 = a single industry, 1/k = k industries with equal revenue); account counts when the
  territory has no revenue.
* **pieces**: connected pieces of a territory on the spherical Delaunay graph of the accounts
  (:func:`territory.geo.count_pieces`); locked accounts are left out of the graph (a lock kept
  inside another territory's area is a decision, not a fragment) unless ``adjacency`` is given,
  and a piece on an island of the territory's own (accounts more than ``ISLAND_GAP_KM`` from any
  other territory's, such as Hawaii) is not a separate piece; **fragmented_territories** counts
  territories in more than one piece; **stray_workload_pct** [%] is the workload outside each territory's largest piece
  (largest by workload) as a share of the assigned workload. Accounts without coordinates are
  left out of piece counting.
* **moved_*** (:func:`moved_mask`): accounts whose label differs from a non-empty previous label.
  Accounts that had no previous territory are *newly assigned*, not moved (counted in
  ``newly_assigned_accounts``).
  ``moved_revenue_pct`` is moved revenue as % of the revenue of all accounts (None when no account
  has revenue: a file without a revenue column).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from territory.data import schema
from territory.data.measures import BalanceOn, column_values, measure_label, measure_values, normalize_balance_on
from territory.errors import ParameterError
from territory.geo import (
    ISLAND_GAP_KM,  # noqa: F401  (metrics.ISLAND_GAP_KM, as documented)
    haversine_km,
    island_pieces,
    piece_summary,
    shared_delaunay_neighbors,
    to_unit_vectors,
    weighted_centers,
)

__all__ = [
    "TABLE_COLUMNS",
    "account_distances",
    "industry_matrix",
    "moved_mask",
    "pareto_curve",
    "scorecard",
    "territory_centres",
    "territory_table",
    "top_share",
    "utilisation_pct",
    "weighted_mean_distance_km",
]

TABLE_COLUMNS: tuple[str, ...] = (
    schema.TERRITORY_ID,
    schema.REP_NAME,
    schema.REGION,
    "accounts",
    schema.REVENUE,
    schema.POTENTIAL,
    schema.WORKLOAD_HOURS,
    schema.CAPACITY_FTE,
    "value",
    "target",
    "deviation_pct",
    "utilisation_pct",
    "center_latitude",
    "center_longitude",
    "mean_distance_km",
    "weighted_mean_distance_km",
    "max_distance_km",
    "top_industry",
    "industry_concentration",
    "pieces",
)
"""Columns of :func:`territory_table`, in order. ``value`` is the load on the balance measure."""

_STATS = ("max_deviation_pct", "cv", "gini", "max_min_ratio")

MEAN_DISTANCE_HELP = (
    "Workload-weighted mean great-circle distance from each account to its territory's centre, the "
    "workload-weighted centroid of the territory's accounts (not the rep's home)."
)
"""The travel figure in one sentence, shown as help wherever the app shows it."""


def utilisation_pct(workload: Any, capacity: Any) -> np.ndarray:
    """Workload against the team's mean workload per FTE, in % (NaN where capacity is 0).

    The basis the engine balances on: 100% is exactly a fair share for the rep's FTE, whatever the
    hours mean, so derived (rule-estimated) workload reads the same as measured hours.

    >>> utilisation_pct([30.0, 70.0], [1.0, 0.5]).round(1).tolist()
    [45.0, 210.0]
    """
    work = np.asarray(workload, dtype=float)
    cap = np.asarray(capacity, dtype=float)
    per_fte = work.sum() / cap.sum() if cap.size and cap.sum() > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cap * per_fte > 0, work / (cap * per_fte) * 100, np.nan)


# --- measures ---------------------------------------------------------------------------------


def _measure_or_nan(accounts: pd.DataFrame, balance_on: BalanceOn) -> np.ndarray:
    """Like :func:`measure_values`, but NaN when the data lacks the measure's column (a table of
    revenue-only accounts still shows its revenue; its workload columns are simply empty)."""
    measure = normalize_balance_on(balance_on)  # an unknown name is still an error
    names = [measure] if isinstance(measure, str) else [name for name, _ in measure]
    for name in names:
        column = schema.MEASURE_COLUMN[name]
        if column is not None and column not in accounts.columns:
            return np.full(len(accounts), np.nan)
    return measure_values(accounts, measure)


# --- alignment helpers ------------------------------------------------------------------------


def _align_labels(accounts: pd.DataFrame, labels: Any, what: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """(codes, names): labels as codes into ``names`` (distinct label strings), -1 = unassigned.

    A Series indexed like the accounts (in any order) is aligned by index; anything else must
    have one value per account, in account order. Labels are compared as strings; empty strings
    and missing values mean unassigned.
    """
    if isinstance(labels, pd.Series) and not labels.index.equals(accounts.index):
        if labels.index.is_unique and accounts.index.isin(labels.index).all():
            labels = labels.reindex(accounts.index)
        elif len(labels) != len(accounts):
            raise ParameterError(f"{what} has {len(labels)} values for {len(accounts)} accounts")
    values = labels if isinstance(labels, pd.Series) else np.asarray(labels, dtype=object)
    if values.ndim != 1 or len(values) != len(accounts):
        raise ParameterError(f"{what} has {values.size} values for {len(accounts)} accounts")
    codes, uniques = pd.factorize(values)  # missing values get -1; only the distinct labels are cleaned
    codes = np.asarray(codes, dtype=np.int64)
    names = np.array([str(u).strip() for u in uniques], dtype=object)
    blank = np.array([len(name) == 0 for name in names], dtype=bool)
    merged, names = pd.factorize(names[~blank]) if (~blank).any() else (np.empty(0, np.int64), np.empty(0, object))
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
    lookup[np.flatnonzero(~blank)] = merged
    return lookup[codes], np.asarray(names, dtype=object)


def _label_array(codes: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Object array of label strings (None for unassigned) from :func:`_align_labels` output."""
    return np.append(names, None).astype(object)[np.where(codes >= 0, codes, len(names))]


def _territory_frame(names: np.ndarray, territories: pd.DataFrame | None) -> pd.DataFrame:
    """Territories of the table: the ``territories`` rows (in their order) plus any other label."""
    seen = sorted(names.tolist())
    if territories is None or len(territories) == 0:
        frame = pd.DataFrame({schema.TERRITORY_ID: pd.Series(seen, dtype=object)})
    else:
        if schema.TERRITORY_ID not in territories.columns:
            raise ParameterError(f"the territories table needs a {schema.TERRITORY_ID!r} column")
        frame = territories.copy()
        frame[schema.TERRITORY_ID] = frame[schema.TERRITORY_ID].astype(str)
        frame = frame.drop_duplicates(schema.TERRITORY_ID)
        extra = [t for t in seen if t not in set(frame[schema.TERRITORY_ID])]
        if extra:
            frame = pd.concat([frame, pd.DataFrame({schema.TERRITORY_ID: extra})], ignore_index=True)
    frame = frame.reset_index(drop=True)
    for column in (schema.REP_NAME, schema.REGION):
        if column not in frame.columns:
            frame[column] = pd.NA
    if schema.CAPACITY_FTE in frame.columns:
        capacity = pd.to_numeric(frame[schema.CAPACITY_FTE], errors="coerce").astype(float)
        capacity = capacity.fillna(schema.DEFAULT_CAPACITY_FTE)
    else:
        capacity = pd.Series(schema.DEFAULT_CAPACITY_FTE, index=frame.index, dtype=float)
    if (capacity < 0).any():
        bad = frame.loc[capacity < 0, schema.TERRITORY_ID].tolist()
        raise ParameterError(f"capacity_fte must be >= 0; negative for {', '.join(bad)}")
    if len(frame) and capacity.sum() <= 0:
        raise ParameterError("the territories' capacity_fte adds up to 0; give at least one rep capacity > 0")
    frame[schema.CAPACITY_FTE] = capacity.astype(float)
    return frame




def _without_islands(graph: sp.spmatrix, codes: np.ndarray, rank: np.ndarray, counted: pd.Series,
                     lat: np.ndarray, lon: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """(pieces per code, piece rank) with true islands taken out: a stray piece whose accounts all
    sit on groups of accounts that the territory has to itself, cut off from every other account by
    a gap of more than ISLAND_GAP_KM (no other territory's accounts in between), counts as part
    of the territory, not as a fragment (issue #3: "apart from true islands")."""
    if not (rank > 0).any():
        return counted, rank
    island = island_pieces(graph, to_unit_vectors(lat, lon), codes, rank)
    if not island.any():
        return counted, rank
    base = int(rank.max()) + 1
    island_keys = np.unique(codes[island].astype(np.int64) * base + rank[island])
    rank = np.where(island, 0, rank)
    fewer = pd.Series(island_keys // base).value_counts()
    counted = counted.sub(fewer.reindex(counted.index, fill_value=0), fill_value=0).astype(counted.dtype)
    return counted, rank


def _locked_mask(accounts: pd.DataFrame) -> np.ndarray:
    """True for accounts marked locked (a missing column or blank cell means not locked)."""
    if schema.LOCKED not in accounts.columns:
        return np.zeros(len(accounts), dtype=bool)
    return accounts[schema.LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _neighbour_graph(lat: np.ndarray, lon: np.ndarray) -> sp.csr_matrix:
    """Delaunay graph of these coordinates, shared with the engine and memoised by their content.

    The app scores the same accounts many times (before and after, table and scorecard, every
    slider move); the graph depends only on the coordinates, so it is built once per data set
    (:func:`territory.geo.shared_delaunay_neighbors`, keyed by a hash of the coordinate bytes).
    """
    return shared_delaunay_neighbors(lat, lon).result()


def _coordinates(accounts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    if schema.LATITUDE not in accounts.columns or schema.LONGITUDE not in accounts.columns:
        return None
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return lat, lon


def _centre_weights(codes: np.ndarray, k: int, workload: np.ndarray | None, located: np.ndarray) -> np.ndarray:
    """Weight of each account in its territory's centre: its workload (negative counts as 0), or 1
    for every account of a territory whose located accounts carry no workload at all (or when the
    data has no workload column). 0 for unassigned or unlocated accounts."""
    use = (codes >= 0) & located
    if workload is None:
        return use.astype(float)
    w = np.where(use, np.clip(workload, 0.0, None), 0.0)
    empty = _sum_by(codes, w, k) <= 0
    return np.where(use & empty[np.where(codes >= 0, codes, 0)], 1.0, w)


def _travel(
    codes: np.ndarray, k: int, coords: tuple[np.ndarray, np.ndarray] | None, workload: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre latitude, centre longitude) per territory code and the distance [km] per account.

    The one place that defines a territory's centre and an account's distance to it (see the
    module docstring); NaN where a territory has no located account, or for an account that is
    unassigned or has no coordinates.
    """
    clat = np.full(k, np.nan)
    clon = np.full(k, np.nan)
    distance = np.full(codes.size, np.nan)
    if coords is None or k == 0:
        return clat, clon, distance
    lat, lon = coords
    located = np.isfinite(lat) & np.isfinite(lon)
    weights = _centre_weights(codes, k, workload, located)
    use = weights > 0
    centres = weighted_centers(lat[use], lon[use], codes[use], weights[use])
    at = centres.index.to_numpy(dtype=np.int64)
    clat[at] = centres["latitude"].to_numpy()
    clon[at] = centres["longitude"].to_numpy()
    assigned = codes >= 0
    distance[assigned] = haversine_km(lat[assigned], lon[assigned], clat[codes[assigned]], clon[codes[assigned]])
    return clat, clon, distance


def _mean_distance(distance: np.ndarray, workload: np.ndarray | None, codes: np.ndarray) -> float | None:
    """Workload-weighted mean of the assigned accounts' distances (plain mean when no located
    account carries workload); None when no assigned account has a distance."""
    located = (codes >= 0) & np.isfinite(distance)
    if not located.any():
        return None
    w = np.where(located, np.clip(workload, 0.0, None), 0.0) if workload is not None else located.astype(float)
    if w.sum() <= 0:
        w = located.astype(float)
    return _plain(float(w @ np.where(located, distance, 0.0) / w.sum()))


def _codes_of(accounts: pd.DataFrame, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes into names, names) with names sorted: the territories of ``labels`` alone."""
    codes, names = _align_labels(accounts, labels)
    order = np.argsort(names.astype(str), kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return np.where(codes >= 0, rank[np.where(codes >= 0, codes, 0)], -1), names[order]


def _workload_or_none(accounts: pd.DataFrame) -> np.ndarray | None:
    return column_values(accounts, "workload") if schema.WORKLOAD_HOURS in accounts.columns else None


def territory_centres(accounts: pd.DataFrame, labels: Any) -> pd.DataFrame:
    """Centre of each territory of ``labels``: the workload-weighted spherical centroid of its accounts.

    Columns ``territory_id``, ``latitude``, ``longitude`` (degrees), one row per label (sorted).
    The centre is computed from the accounts and the labels alone (no engine centres, no rep
    homes), so every page, export, the CLI and the report measure distance to the same point.

    >>> accounts = pd.DataFrame({"latitude": [0.0, 0.0], "longitude": [0.0, 4.0], "workload_hours": [3.0, 1.0]})
    >>> territory_centres(accounts, ["T", "T"]).round(6).to_dict("records")
    [{'territory_id': 'T', 'latitude': 0.0, 'longitude': 0.999695}]
    """
    codes, names = _codes_of(accounts, labels)
    clat, clon, _ = _travel(codes, len(names), _coordinates(accounts), _workload_or_none(accounts))
    return pd.DataFrame({schema.TERRITORY_ID: pd.array(names.astype(str), dtype="string"),
                         schema.LATITUDE: clat, schema.LONGITUDE: clon})


def account_distances(accounts: pd.DataFrame, labels: Any) -> np.ndarray:
    """Great-circle distance [km] from each account to its territory's centre (:func:`territory_centres`);
    NaN for unassigned accounts and accounts without coordinates.

    >>> accounts = pd.DataFrame({"latitude": [0.0, 0.0], "longitude": [0.0, 2.0]})
    >>> account_distances(accounts, ["T", "T"]).round(1).tolist()
    [111.2, 111.2]
    """
    codes, names = _codes_of(accounts, labels)
    return _travel(codes, len(names), _coordinates(accounts), _workload_or_none(accounts))[2]


def weighted_mean_distance_km(accounts: pd.DataFrame, labels: Any) -> float | None:
    """The scorecard's travel figure: workload-weighted mean of :func:`account_distances` over the
    assigned accounts with coordinates (plain mean when none carries workload; None without any).

    >>> accounts = pd.DataFrame({"latitude": [0.0, 0.0], "longitude": [0.0, 2.0], "workload_hours": [1.0, 1.0]})
    >>> round(weighted_mean_distance_km(accounts, ["T", "T"]), 1)
    111.2
    """
    codes, names = _codes_of(accounts, labels)
    workload = _workload_or_none(accounts)
    return _mean_distance(_travel(codes, len(names), _coordinates(accounts), workload)[2], workload, codes)


# --- the per-territory table --------------------------------------------------------------------


def _sum_by(codes: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    ok = codes >= 0
    return np.bincount(codes[ok], weights=values[ok], minlength=k)[:k]


def _max_by(codes: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    result = np.full(k, -np.inf)
    ok = (codes >= 0) & np.isfinite(values)
    np.maximum.at(result, codes[ok], values[ok])
    return np.where(np.isfinite(result), result, np.nan)


def _build(
    accounts: pd.DataFrame,
    labels: Any,
    territories: pd.DataFrame | None,
    balance_on: BalanceOn,
    adjacency: sp.spmatrix | None,
) -> dict[str, Any]:
    """Everything the table and the scorecard share, computed once, vectorised over accounts."""
    label_codes, names = _align_labels(accounts, labels)
    frame = _territory_frame(names, territories)
    ids = frame[schema.TERRITORY_ID].to_numpy(dtype=object)
    k = len(ids)
    position = np.append(pd.Index(ids).get_indexer(names), -1)  # every name is in ids by construction
    codes = position[np.where(label_codes >= 0, label_codes, len(names))].astype(np.int64)
    workload = _workload_or_none(accounts)
    revenue = column_values(accounts, "revenue") if schema.REVENUE in accounts.columns else None
    potential = column_values(accounts, "potential") if schema.POTENTIAL in accounts.columns else None
    value = _measure_or_nan(accounts, balance_on)
    coords = _coordinates(accounts)
    work_or_one = workload if workload is not None else np.ones(len(accounts))
    clat, clon, distance = _travel(codes, k, coords, workload)
    pieces = np.full(k, np.nan)
    stray = np.zeros(len(accounts), dtype=bool)
    if coords is not None:
        # accounts without coordinates have no place on the map: left out of piece counting
        placed = np.where(np.isfinite(coords[0]) & np.isfinite(coords[1]), codes, -1)
        locked = _locked_mask(accounts)
        if adjacency is None and locked.all():
            present = np.unique(placed[placed >= 0])
            counted, rank = pd.Series(1, index=present), np.zeros(len(accounts), dtype=np.int64)
        elif adjacency is None and locked.any():
            # A locked account kept in its territory inside another's area is a decision, not a
            # fragment (issue #3): pieces are counted on the graph of the unlocked accounts.
            free = ~locked
            sub_graph = _neighbour_graph(coords[0][free], coords[1][free])
            counted, sub_rank = piece_summary(sub_graph, placed[free], weights=work_or_one[free])
            counted, sub_rank = _without_islands(sub_graph, placed[free], sub_rank, counted,
                                                 coords[0][free], coords[1][free])
            rank = np.zeros(len(accounts), dtype=sub_rank.dtype)
            rank[free] = sub_rank
            only_locked = np.setdiff1d(np.unique(placed[locked & (placed >= 0)]), counted.index.to_numpy())
            counted = pd.concat([counted, pd.Series(1, index=only_locked)])  # all-locked: one piece
        else:
            if adjacency is None:
                adjacency = _neighbour_graph(*coords)
            elif adjacency.shape != (len(accounts), len(accounts)):
                rows, cols = adjacency.shape
                raise ParameterError(f"adjacency is {rows} x {cols} but there are {len(accounts)} accounts")
            counted, rank = piece_summary(adjacency, placed, weights=work_or_one)  # code -1: left out
            counted, rank = _without_islands(adjacency, placed, rank, counted, *coords)
        pieces = np.zeros(k)
        pieces[counted.index.to_numpy(dtype=np.int64)] = counted.to_numpy()
        stray = rank > 0
    return {
        "frame": frame,
        "codes": codes,
        "k": k,
        "value": value,
        "workload": workload,
        "revenue": revenue,
        "potential": potential,
        "coords": coords,
        "center_lat": clat,
        "center_lon": clon,
        "distance": distance,
        "pieces": pieces,
        "stray": stray,
        "work_or_one": work_or_one,
    }


def _industry_codes(accounts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(codes, names) of the industry column; blank or missing industries are 'Other'."""
    if schema.INDUSTRY not in accounts.columns:
        return np.zeros(len(accounts), dtype=np.int64), np.array(["Other"], dtype=object)
    codes, uniques = pd.factorize(accounts[schema.INDUSTRY])
    names = [str(u).strip() or "Other" for u in uniques] + ["Other"]
    merged, distinct = pd.factorize(pd.Series(names, dtype=object), sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    return merged[np.where(codes >= 0, codes, len(uniques))].astype(np.int64), np.asarray(distinct, dtype=object)


def _industry_stats(accounts: pd.DataFrame, codes: np.ndarray, revenue: np.ndarray | None, k: int):
    """(top industry by revenue, Herfindahl index of revenue shares) per territory."""
    top = np.full(k, None, dtype=object)
    hhi = np.full(k, np.nan)
    assigned = codes >= 0
    if schema.INDUSTRY not in accounts.columns or not assigned.any():
        return top, hhi
    ind_codes, ind_names = _industry_codes(accounts)
    ind_codes = ind_codes[assigned]
    m = len(ind_names)
    cell = codes[assigned] * m + ind_codes
    rev = np.clip(revenue[assigned], 0, None) if revenue is not None else np.zeros(assigned.sum())
    by_revenue = np.bincount(cell, weights=rev, minlength=k * m).reshape(k, m)
    by_count = np.bincount(cell, minlength=k * m).reshape(k, m).astype(float)
    use = np.where(by_revenue.sum(axis=1, keepdims=True) > 0, by_revenue, by_count)
    totals = use.sum(axis=1)
    has = totals > 0
    shares = use[has] / totals[has, None]
    hhi[has] = (shares**2).sum(axis=1)
    # top by revenue; ties (and revenue-less territories) by account count, then by name
    best = np.lexsort((-np.arange(m)[None, :].repeat(k, 0), by_count, use), axis=1)[:, -1]
    top[has] = np.asarray(ind_names, dtype=object)[best[has]]
    return top, hhi


def territory_table(
    accounts: pd.DataFrame,
    labels: Any,
    territories: pd.DataFrame | None = None,
    balance_on: BalanceOn = "workload",
    adjacency: sp.spmatrix | None = None,
) -> pd.DataFrame:
    """One row per territory (``TABLE_COLUMNS``): loads, target, deviation, utilisation, travel,
    industry mix and contiguity, in the schema's units.

    Every territory of ``territories`` appears, also with no accounts; labels not in
    ``territories`` are added with 1.0 FTE. Unassigned accounts (empty label) are left out.
    ``value`` and ``target`` are in the balance measure's unit. ``pieces`` is <NA> when the
    accounts have no coordinates; pass ``adjacency`` (from :func:`territory.geo.delaunay_neighbors`)
    to reuse a graph across calls.

    >>> accounts = pd.DataFrame({"workload_hours": [90.0, 110.0], "revenue": [1.0, 1.0]})
    >>> table = territory_table(accounts, ["T1", "T2"])
    >>> table["territory_id"].tolist(), table["target"].tolist(), table["deviation_pct"].tolist()
    (['T1', 'T2'], [100.0, 100.0], [-10.0, 10.0])
    """
    built = _build(accounts, labels, territories, balance_on, adjacency)
    return _table_from(accounts, built)


def _table_from(accounts: pd.DataFrame, b: dict[str, Any]) -> pd.DataFrame:
    frame, codes, k = b["frame"], b["codes"], b["k"]
    capacity = frame[schema.CAPACITY_FTE].to_numpy(dtype=float)
    share = capacity / capacity.sum() if k else capacity
    count = np.bincount(codes[codes >= 0], minlength=k)[:k]
    value = _sum_by(codes, b["value"], k)
    target = value.sum() * share
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(target > 0, (value - target) / target * 100.0, np.nan)
    table = pd.DataFrame({schema.TERRITORY_ID: frame[schema.TERRITORY_ID].astype(str)})
    table[schema.REP_NAME] = frame[schema.REP_NAME].to_numpy(dtype=object)
    table[schema.REGION] = frame[schema.REGION].to_numpy(dtype=object)
    table["accounts"] = count.astype(int)
    for column, values in (
        (schema.REVENUE, b["revenue"]),
        (schema.POTENTIAL, b["potential"]),
        (schema.WORKLOAD_HOURS, b["workload"]),
    ):
        table[column] = _sum_by(codes, values, k) if values is not None else np.nan
    table[schema.CAPACITY_FTE] = capacity
    table["value"] = value
    table["target"] = target
    table["deviation_pct"] = deviation
    if b["workload"] is not None:
        table["utilisation_pct"] = utilisation_pct(table[schema.WORKLOAD_HOURS], capacity)
    else:
        table["utilisation_pct"] = np.nan
    table["center_latitude"] = b["center_lat"]
    table["center_longitude"] = b["center_lon"]
    distance = b["distance"]
    located = (codes >= 0) & np.isfinite(distance)
    n_located = np.bincount(codes[located], minlength=k)[:k]
    w = np.clip(b["work_or_one"], 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["mean_distance_km"] = np.where(
            n_located > 0, _sum_by(codes, np.where(located, distance, 0.0), k) / n_located, np.nan
        )
        # per territory, the same weighted mean as the scorecard's (plain mean without workload)
        w_loc = np.where(located, w, 0.0)
        w_sum = _sum_by(codes, w_loc, k)
        wmean = _sum_by(codes, w_loc * np.where(located, distance, 0.0), k) / w_sum
        table["weighted_mean_distance_km"] = np.where(w_sum > 0, wmean, table["mean_distance_km"])
    table["max_distance_km"] = _max_by(codes, distance, k)
    top, hhi = _industry_stats(accounts, codes, b["revenue"], k)
    table["top_industry"] = top
    table["industry_concentration"] = hhi
    table["pieces"] = (
        pd.array(np.where(np.isnan(b["pieces"]), pd.NA, b["pieces"]), dtype="Int64")
        if k
        else (pd.array([], dtype="Int64"))
    )
    return table.loc[:, list(TABLE_COLUMNS)]


# --- the scorecard ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values: mean absolute difference / (2 x mean)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return float("nan") if n == 0 else 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) @ x) / (n * x.sum()))


def _balance_stats(loads: np.ndarray, capacity: np.ndarray) -> dict[str, float | None]:
    """max deviation %, cv, gini and max/min of capacity-adjusted loads (see module docstring)."""
    if loads.size == 0 or capacity.sum() <= 0:
        return dict.fromkeys(_STATS)
    share = capacity / capacity.sum()
    active = share > 0
    adjusted = loads[active] / share[active]  # equal for all territories when perfectly balanced
    mean = adjusted.mean()
    target = loads.sum() * share[active]
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.abs(loads[active] - target) / target * 100.0 if loads.sum() > 0 else np.zeros(adjusted.size)
        cv = adjusted.std() / mean if mean > 0 else float("nan")
    low = adjusted.min()
    return {
        "max_deviation_pct": _plain(float(np.max(deviation))),
        "cv": _plain(float(cv)),
        "gini": _plain(_gini(adjusted)),
        "max_min_ratio": _plain(float(adjusted.max() / low)) if low > 0 else None,
    }


def scorecard(
    accounts: pd.DataFrame,
    labels: Any,
    previous: Any = None,
    territories: pd.DataFrame | None = None,
    balance_on: BalanceOn = "workload",
    adjacency: sp.spmatrix | None = None,
) -> dict[str, Any]:
    """One JSON-ready dict that scores an alignment (plain ints/floats; None where undefined).

    Keys: ``territories``, ``accounts``, ``assigned_accounts``, ``balance_on`` (label);
    for the balance measure ``max_deviation_pct``, ``cv``, ``gini``, ``max_min_ratio``;
    for every measure in ``schema.MEASURES`` the same four under ``measures[measure]`` and flat as
    ``f"{measure}_{stat}"``; ``weighted_mean_distance_km``, ``fragmented_territories``,
    ``contiguous_territories_pct``, ``stray_workload_pct``; ``compared_with_previous``,
    ``moved_accounts``, ``moved_accounts_pct``, ``moved_workload_hours``, ``moved_revenue``,
    ``moved_revenue_pct``, ``newly_assigned_accounts``. See the module docstring for definitions.

    >>> accounts = pd.DataFrame({"workload_hours": [90.0, 110.0], "revenue": [50.0, 50.0]})
    >>> card = scorecard(accounts, ["T1", "T2"], previous=["T1", "T1"])
    >>> card["max_deviation_pct"], card["cv"], card["gini"], card["moved_accounts"]
    (10.0, 0.1, 0.05, 1)
    """
    b = _build(accounts, labels, territories, balance_on, adjacency)
    frame, codes, k = b["frame"], b["codes"], b["k"]
    capacity = frame[schema.CAPACITY_FTE].to_numpy(dtype=float)
    assigned = codes >= 0
    card: dict[str, Any] = {
        "territories": int(k),
        "accounts": int(len(accounts)),
        "assigned_accounts": int(assigned.sum()),
        "balance_on": measure_label(balance_on),
    }
    value = b["value"]
    card.update(
        _balance_stats(_sum_by(codes, value, k), capacity) if np.isfinite(value).all() else dict.fromkeys(_STATS)
    )
    measures: dict[str, dict[str, float | None]] = {}
    for measure in schema.MEASURES:
        column = schema.MEASURE_COLUMN[measure]
        if column is not None and column not in accounts.columns:
            measures[measure] = dict.fromkeys(_STATS)
        else:
            measures[measure] = _balance_stats(_sum_by(codes, column_values(accounts, measure), k), capacity)
        for stat, number in measures[measure].items():
            card[f"{measure}_{stat}"] = number
    card["measures"] = measures

    w = b["work_or_one"]
    card["weighted_mean_distance_km"] = _mean_distance(b["distance"], b["workload"], codes)
    if b["coords"] is not None and k:
        pieces = b["pieces"]
        card["fragmented_territories"] = int((pieces > 1).sum())
        with_accounts = pieces > 0
        card["contiguous_territories_pct"] = (
            _plain(float((pieces[with_accounts] == 1).mean() * 100)) if with_accounts.any() else None
        )
        total_w = np.clip(w[assigned], 0, None).sum()
        stray_w = np.clip(w[b["stray"]], 0, None).sum()
        card["stray_workload_pct"] = _plain(float(stray_w / total_w * 100)) if total_w > 0 else 0.0
    else:
        card["fragmented_territories"] = None
        card["contiguous_territories_pct"] = None
        card["stray_workload_pct"] = None

    card.update(_moves(accounts, labels, previous, b))
    return card


def moved_mask(accounts: pd.DataFrame, labels: Any, previous: Any) -> tuple[np.ndarray, np.ndarray]:
    """(moved, newly_assigned) boolean arrays, one value per account.

    *Moved*: the account had a non-empty previous territory and now has a different, non-empty
    one. *Newly assigned*: it had none and now has one. Labels are compared as :func:`scorecard`
    compares them (strings, stripped; blank or missing = unassigned), aligned like ``labels``.
    Every moved count (scorecard, Rebalance tables, report, scenarios, exports) comes from here.

    >>> moved, newly = moved_mask(pd.DataFrame(index=range(4)), ["T1", "T2", "T2", None], ["T1", "T1", None, "T1"])
    >>> moved.tolist(), newly.tolist()
    ([False, True, False, False], [False, False, True, False])
    """
    now_codes, now_names = _align_labels(accounts, labels)
    before_codes, before_names = _align_labels(accounts, previous, what="previous")
    common = pd.Index(now_names).append(pd.Index(before_names)).unique()
    now = np.append(common.get_indexer(now_names), -1)[np.where(now_codes >= 0, now_codes, len(now_names))]
    before = np.append(common.get_indexer(before_names), -1)[
        np.where(before_codes >= 0, before_codes, len(before_names))
    ]
    had, has = before >= 0, now >= 0
    return had & has & (now != before), ~had & has


def _moves(accounts: pd.DataFrame, labels: Any, previous: Any, b: dict[str, Any]) -> dict[str, Any]:
    n = len(accounts)
    result: dict[str, Any] = {"compared_with_previous": previous is not None}
    if previous is None:
        moved = np.zeros(n, dtype=bool)
        newly = moved
    else:
        moved, newly = moved_mask(accounts, labels, previous)
    revenue = b["revenue"] if b["revenue"] is not None else np.zeros(n)
    workload = b["workload"] if b["workload"] is not None else np.zeros(n)
    total_revenue = revenue.sum()
    result.update(
        moved_accounts=int(moved.sum()),
        moved_accounts_pct=_plain(float(moved.mean() * 100)) if n else 0.0,
        moved_workload_hours=_plain(float(workload[moved].sum())),
        moved_revenue=_plain(float(revenue[moved].sum())),
        moved_revenue_pct=_plain(float(revenue[moved].sum() / total_revenue * 100)) if total_revenue > 0 else None,
        newly_assigned_accounts=int(newly.sum()),
    )
    return result


# --- industry mix and 80/20 -------------------------------------------------------------------


def industry_matrix(accounts: pd.DataFrame, labels: Any, value: str = "revenue") -> pd.DataFrame:
    """Industry x territory totals of ``value`` (a measure name or a numeric column).

    Rows are industries (largest total first; blank industry is 'Other'), columns the territory
    labels (sorted); unassigned accounts are left out. 'accounts' counts accounts.

    >>> accounts = pd.DataFrame({"industry": ["Retail", "Energy", "Retail"], "revenue": [1.0, 5.0, 2.0]})
    >>> industry_matrix(accounts, ["T1", "T1", "T2"]).to_dict()
    {'T1': {'Energy': 5.0, 'Retail': 1.0}, 'T2': {'Energy': 0.0, 'Retail': 2.0}}
    """
    label_values = _label_array(*_align_labels(accounts, labels))
    if value in schema.MEASURES:
        values = column_values(accounts, value)
    elif value in accounts.columns:
        values = np.nan_to_num(pd.to_numeric(accounts[value], errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    else:
        raise ParameterError(f"unknown value {value!r}: use a measure ({', '.join(schema.MEASURES)}) or a column")
    ind_codes, ind_names = _industry_codes(accounts)
    long = pd.DataFrame({"industry": ind_names[ind_codes], "territory": label_values, "v": values})
    long = long[long["territory"].notna()]
    matrix = long.pivot_table(index="industry", columns="territory", values="v", aggfunc="sum", fill_value=0.0)
    matrix = matrix.astype(float)
    order = matrix.sum(axis=1).sort_values(ascending=False, kind="stable").index
    matrix = matrix.loc[order, sorted(matrix.columns)]
    matrix.index.name = schema.INDUSTRY
    matrix.columns.name = schema.TERRITORY_ID
    return matrix


def pareto_curve(values: Iterable[float]) -> pd.DataFrame:
    """80/20 curve: accounts sorted by value, largest first; cumulative shares from 0 to 1.

    Columns ``accounts`` (how many top accounts), ``account_share`` and ``value_share``
    (fractions 0..1), starting with the (0, 0) point. Missing and negative values count as 0.

    >>> pareto_curve([1.0, 3.0]).to_dict("list")
    {'accounts': [0, 1, 2], 'account_share': [0.0, 0.5, 1.0], 'value_share': [0.0, 0.75, 1.0]}
    """
    x = np.clip(np.nan_to_num(np.asarray(pd.Series(values, dtype=float), dtype=float)), 0, None)
    x = np.sort(x)[::-1]
    n = x.size
    total = x.sum()
    cumulative = np.r_[0.0, np.cumsum(x)]
    return pd.DataFrame(
        {
            "accounts": np.arange(n + 1),
            "account_share": np.arange(n + 1) / n if n else np.zeros(1),
            "value_share": cumulative / total if total > 0 else np.zeros(n + 1),
        }
    )


def top_share(values: Iterable[float], fraction: float = 0.2) -> float:
    """Share (0..1) of the total held by the top ``fraction`` of accounts (linear in between).

    >>> top_share([10, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    1.0
    >>> top_share([1, 1, 1, 1, 1])
    0.2
    """
    if not 0 <= fraction <= 1:
        raise ParameterError(f"fraction must be between 0 and 1, got {fraction}")
    curve = pareto_curve(values)
    if len(curve) == 1 or curve["value_share"].iloc[-1] == 0:
        return float("nan")
    return float(np.interp(fraction, curve["account_share"], curve["value_share"]))
