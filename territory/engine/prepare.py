"""The prepare stage: tables in, a :class:`territory.engine.solve.Problem` out.

It decides which territory IDs the result has (kept, dropped, added), each territory's capacity
and target, which accounts are locked or have no coordinates, what stability and compactness
mean in the solver's units, and where the solve starts: today's alignment when it is drawn on a
map, otherwise a balanced recursive bisection (matched to today's IDs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from territory.data.schema import (
    CAPACITY_FTE,
    DEFAULT_CAPACITY_FTE,
    HOME_LATITUDE,
    HOME_LONGITUDE,
    LATITUDE,
    LOCKED,
    LONGITUDE,
    MAX_CAPACITY_FTE,
    REGION,
    REP_NAME,
    REVENUE,
    TERRITORY_ID,
)
from territory.engine import codes, ids
from territory.engine import seed as seeding
from territory.engine.centres import centroids
from territory.engine.config import DEFAULT, EngineConfig
from territory.engine.notes import Note
from territory.engine.params import BalanceParams, measure_name, measure_values, unit_of
from territory.engine.solve import AccountLimit, Problem
from territory.errors import ParameterError


@dataclass
class _Plan:
    ids: list[str]
    capacity: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    rep_name: list[Any]
    region: list[Any]
    notes: list[Note]
    dropped: list[str]
    from_table: bool


def _clean_ids(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _plan_territories(params: BalanceParams, territories: pd.DataFrame | None, current: pd.Series,
                      locked: np.ndarray, weight: np.ndarray) -> _Plan:
    """Which territory IDs the result has (and their capacity, home, rep), before solving."""
    notes: list[Note] = []
    has_table = territories is not None and len(territories) > 0
    if has_table:
        if TERRITORY_ID not in territories.columns:
            raise ParameterError("the territories table needs a territory_id column.")
        table = territories.copy()
        table[TERRITORY_ID] = _clean_ids(table[TERRITORY_ID])
        table = table[table[TERRITORY_ID].notna()].drop_duplicates(TERRITORY_ID)
        base_ids = table[TERRITORY_ID].astype(str).tolist()
        cap = (pd.to_numeric(table[CAPACITY_FTE], errors="coerce") if CAPACITY_FTE in table
               else pd.Series(DEFAULT_CAPACITY_FTE, index=table.index))
        cap = cap.fillna(DEFAULT_CAPACITY_FTE).to_numpy(dtype=float)
        if (cap > MAX_CAPACITY_FTE).any():
            bad = [t for t, c in zip(base_ids, cap) if c > MAX_CAPACITY_FTE]
            raise ParameterError(
                f"capacity_fte must be at most {MAX_CAPACITY_FTE:g} (full-time reps); {', '.join(bad[:5])} "
                f"have {cap[cap > MAX_CAPACITY_FTE][0]:g}. Use 1.0 for full time, 0.5 for half.")
        if (cap <= 0).any():
            bad = [t for t, c in zip(base_ids, cap) if c <= 0]
            raise ParameterError(
                f"capacity_fte must be above 0; {', '.join(bad[:5])} have {cap[cap <= 0][0]:g}. "
                "Remove the territory instead, or give it a capacity such as 0.5.")
        hl = (pd.to_numeric(table[HOME_LATITUDE], errors="coerce").to_numpy(float) if HOME_LATITUDE in table
              else np.full(len(table), np.nan))
        ho = (pd.to_numeric(table[HOME_LONGITUDE], errors="coerce").to_numpy(float) if HOME_LONGITUDE in table
              else np.full(len(table), np.nan))
        reps = table[REP_NAME].tolist() if REP_NAME in table else [pd.NA] * len(table)
        regions = table[REGION].tolist() if REGION in table else [pd.NA] * len(table)
    else:
        base_ids = sorted(current.dropna().astype(str).unique().tolist(), key=ids.natural_key)
        cap = np.full(len(base_ids), DEFAULT_CAPACITY_FTE)
        hl = np.full(len(base_ids), np.nan)
        ho = np.full(len(base_ids), np.nan)
        reps = [pd.NA] * len(base_ids)
        regions = [pd.NA] * len(base_ids)
    k = params.n_territories
    if k is None:
        if not base_ids:
            raise ParameterError(
                "n_territories is not set and there is no current alignment (territory_id) or "
                "territories table to take it from; set n_territories (e.g. 10).")
        k = len(base_ids)
    k = int(k)
    dropped: list[str] = []
    if has_table:
        dropped, orphan_notes = _closed_by_table(current, base_ids)
        notes.extend(orphan_notes)
    if k < len(base_ids):
        # keep territories holding locked accounts first, then the most loaded, then table order
        cur = current.astype("string")
        locked_ids = set(cur[locked].dropna().astype(str))
        load = pd.Series(weight, index=current.index).groupby(cur.to_numpy()).sum()
        order = sorted(range(len(base_ids)), key=lambda j: (
            base_ids[j] not in locked_ids, -float(load.get(base_ids[j], 0.0)), j))
        if len([t for t in base_ids if t in locked_ids]) > k:
            n_locked = len([t for t in base_ids if t in locked_ids])
            raise ParameterError(
                f"{n_locked} territories hold locked accounts but n_territories={k}: locked accounts "
                f"cannot move, so use at least {n_locked} territories or unlock some accounts.")
        keep = sorted(order[:k])
        removed = [base_ids[j] for j in sorted(order[k:])]
        dropped = dropped + removed
        notes.append(Note(
            codes.TERRITORIES_REMOVED,
            f"{len(removed)} territor{'y' if len(removed) == 1 else 'ies'} removed to reach "
            f"{k} (from {len(base_ids)}): {', '.join(removed[:10])}{' ...' if len(removed) > 10 else ''}; "
            "their accounts were shared among neighbours.", data={"removed": tuple(removed), "from": len(base_ids),
                                                                   "to": k}))
        base_ids = [base_ids[j] for j in keep]
        cap, hl, ho = cap[keep], hl[keep], ho[keep]
        reps = [reps[j] for j in keep]
        regions = [regions[j] for j in keep]
    extra = k - len(base_ids)
    if extra > 0:
        everything = base_ids + dropped + current.dropna().astype(str).unique().tolist()
        new = ids.new_ids(everything, extra)
        if base_ids:
            notes.append(Note(codes.TERRITORIES_ADDED,
                              f"{extra} new territor{'y' if extra == 1 else 'ies'} added: {', '.join(new[:10])}"
                              f"{' ...' if extra > 10 else ''} (capacity 1.0 FTE).", data={"added": tuple(new)}))
        base_ids = base_ids + new
        cap = np.r_[cap, np.full(extra, DEFAULT_CAPACITY_FTE)]
        hl = np.r_[hl, np.full(extra, np.nan)]
        ho = np.r_[ho, np.full(extra, np.nan)]
        reps = reps + [pd.NA] * extra
        regions = regions + [pd.NA] * extra
    return _Plan(base_ids, cap, hl, ho, reps, regions, notes, dropped, has_table)



def _closed_by_table(current: pd.Series, base_ids: list[str]) -> tuple[list[str], list[Note]]:
    """Territories of today's alignment that the table no longer lists (closed on purpose, or a
    table older than the alignment): dissolved like removed ones, and said so, never silently."""
    listed = set(base_ids)
    orphans = sorted({t for t in current.dropna().astype(str) if t not in listed}, key=ids.natural_key)
    if not orphans:
        return [], []
    return orphans, [Note(
        codes.TERRITORIES_REMOVED,
        f"{len(orphans)} territor{'y' if len(orphans) == 1 else 'ies'} of today's alignment closed (not in "
        f"the territories table): {', '.join(orphans[:10])}{' ...' if len(orphans) > 10 else ''}; "
        "their accounts were shared among neighbours.",
        data={"removed": tuple(orphans), "from": len(base_ids) + len(orphans), "to": len(base_ids)})]


def _current_and_locked(accounts: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    if TERRITORY_ID in accounts.columns:
        current = _clean_ids(accounts[TERRITORY_ID])
    else:
        current = pd.Series(pd.NA, index=accounts.index, dtype="string")
    if LOCKED in accounts.columns:
        locked = accounts[LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        locked = np.zeros(len(accounts), dtype=bool)
    return current, locked




# --- stability and compactness in the solver's units -------------------------------------------


def aim_fraction(params: BalanceParams, per_territory: float, has_current: bool) -> float:
    """Share of the tolerance the LP aims for (its soft band). Compactness 0.5 aims for 1/5 of
    the band when territories hold 500+ accounts (+/-1% at +/-5%) and 2/5 below; more
    compactness uses more of the band for shorter travel. High stability uses more of it too:
    nothing moves that the tolerance does not need. The rest of the band is the room in which the
    LP's split accounts are made whole (small territories need it most: aiming at 90% of the band
    at 40 accounts per territory left the rounding so little room that it scattered accounts)."""
    size = 0.2 if per_territory >= 500 else 0.4
    frac = size * 2 * params.compactness
    if has_current:
        frac = max(frac, params.stability ** 3)
    return min(max(frac, 0.0), AIM_CAP)


AIM_CAP = 0.8
"""The aim stays inside this share of the tolerance: the LP splits a few accounts, and making them
whole needs room (heavy accounts at 40 per territory could not be rounded at 90% of the band)."""


def stay_bonus(stability: float) -> float:
    """Cost of leaving the current territory, in mean distances to the nearest centre: 0 at
    stability 0, 0.25 at 0.5, 20 at 0.9; stability 1 is handled as a strict priority instead."""
    if stability >= 0.999:
        return 0.0
    return 0.25 * (stability / (1.0 - stability)) ** 2


def distance_weight(compactness: float) -> float:
    """How much travel counts against the stay-bonus (0.2 at compactness 0, 1.8 at 1)."""
    return 0.2 + 1.6 * compactness


# --- the stage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """The problem for the solver plus the bookkeeping to turn its labels back into a table."""

    problem: Problem
    plan: _Plan
    accounts: pd.DataFrame
    params: BalanceParams
    weight: np.ndarray  # (N,) balance measure of every account
    unit: str
    target: np.ndarray  # (k,)
    current: pd.Series  # today's territory ID per account (string, NA when none)
    cur_idx: np.ndarray  # (N,) today's territory as an index into plan.ids, -1 when none or dropped
    locked: np.ndarray  # (N,) bool
    geo: np.ndarray  # (N,) bool: the accounts of ``problem`` (usable coordinates)
    lat: np.ndarray
    lon: np.ndarray
    no_geo_fixed: np.ndarray  # (N,) bool: no coordinates, stays in its current territory
    no_geo_free: np.ndarray  # (N,) bool: no coordinates, no current territory: placed where there is room
    notes: tuple[Note, ...]
    has_current: bool
    start_matched: bool  # the start is today's alignment (or matched to it): IDs already mean today's


def prepare(accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None,
            config: EngineConfig = DEFAULT) -> Prepared:
    """Validate the tables and build the solver's problem (see the module docstring)."""
    from territory.geo import shared_delaunay_neighbors, to_unit_vectors

    n = len(accounts)
    weight = measure_values(accounts, params.balance_on)
    unit = unit_of(params.balance_on)
    current, locked_flag = _current_and_locked(accounts)
    notes: list[Note] = []
    unlockable = locked_flag & current.isna().to_numpy()
    if unlockable.any():
        notes.append(Note(codes.LOCKED_WITHOUT_TERRITORY,
                          f"{int(unlockable.sum()):,} locked accounts have no current territory_id, so "
                          "there is nothing to lock them to; they were balanced like the others.",
                          data={"accounts": int(unlockable.sum())}))
        locked_flag = locked_flag & ~unlockable
    plan = _plan_territories(params, territories, current, locked_flag, weight)
    notes += plan.notes
    orphan = locked_flag & ~current.isin(plan.ids).fillna(False).to_numpy(dtype=bool)
    if orphan.any():
        missing = sorted(set(current[orphan].astype(str)), key=ids.natural_key)
        raise ParameterError(
            f"{int(orphan.sum()):,} locked accounts belong to {', '.join(missing[:5])}, which "
            f"{'is' if len(missing) == 1 else 'are'} not among the territories of the result; add "
            f"{'it' if len(missing) == 1 else 'them'} to the territories table or unlock those accounts.")
    k = len(plan.ids)
    id_index = {t: j for j, t in enumerate(plan.ids)}
    cur_idx = current.map(id_index).astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
    locked_idx = np.where(locked_flag, cur_idx, -1)
    has_current = bool((cur_idx >= 0).any())

    lat = pd.to_numeric(accounts[LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[LONGITUDE], errors="coerce").to_numpy(dtype=float)
    geo = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 360)
    total = float(weight.sum())
    if total <= 0 or not np.isfinite(total):
        weight = np.ones(n)
        total = float(n)
        notes.append(Note(codes.ZERO_MEASURE, f"Every account has zero {measure_name(params.balance_on)}; "
                          "balanced on account count instead."))
        unit = "accounts"
    target = total * plan.capacity / plan.capacity.sum()
    no_geo_fixed = ~geo & (cur_idx >= 0)
    no_geo_free = ~geo & (cur_idx < 0)
    fixed_load = np.bincount(cur_idx[no_geo_fixed], weights=weight[no_geo_fixed], minlength=k)
    share = plan.capacity / plan.capacity.sum()
    solve_target = target - weight[no_geo_free].sum() * share
    if (~geo).any():
        notes.append(Note(
            codes.NO_COORDINATES,
            f"{int((~geo).sum()):,} accounts have no usable coordinates: {int(no_geo_fixed.sum()):,} stay in "
            f"their current territory and {int(no_geo_free.sum()):,} were placed where there was most room.",
            data={"accounts": int((~geo).sum()), "kept": int(no_geo_fixed.sum()), "placed": int(no_geo_free.sum())}))
    if not geo.any():
        raise ParameterError("no account has usable latitude/longitude, so territories cannot be drawn; "
                             "check the coordinates or postal codes.")

    g = np.flatnonzero(geo)
    xyz = to_unit_vectors(lat[g], lon[g])
    w_g = weight[g]
    cur_g = cur_idx[g]
    locked_g = locked_idx[g]
    anchored = np.zeros(k, dtype=bool)
    anchor_centres = np.zeros((k, 3))
    if params.anchor == "home":
        has_home = np.isfinite(plan.home_lat) & np.isfinite(plan.home_lon)
        if has_home.any():
            anchor_centres[has_home] = to_unit_vectors(plan.home_lat[has_home], plan.home_lon[has_home])
            anchored = has_home.copy()
        if not has_home.all():
            missing = [t for t, h in zip(plan.ids, has_home) if not h]
            notes.append(Note(
                codes.ANCHOR_WITHOUT_HOME,
                f"anchor='home' but {len(missing)} territor{'y has' if len(missing) == 1 else 'ies have'} "
                f"no home_latitude/home_longitude ({', '.join(missing[:5])}); their centres are free.",
                data={"territories": tuple(missing)}))

    if params.only_fix_outside and not has_current:
        raise ParameterError("only_fix_outside needs today's alignment (a territory_id column): it moves accounts "
                             "only out of the territories outside the band.")
    strict = has_current and (params.stability >= 0.999 or params.only_fix_outside)
    adjacency = shared_delaunay_neighbors(lat[g], lon[g]) if k > 1 and g.size > 3 else None
    start, fallback, today, matched, geographic = _start(xyz, w_g, cur_g, locked_g, plan.capacity, anchored,
                                                         anchor_centres, has_current, strict, params.stability,
                                                         adjacency)
    if has_current and not geographic:
        notes.append(Note(codes.NOT_GEOGRAPHIC,
                          "Today's alignment is not drawn on a map (territories share the same areas, as "
                          "when accounts are assigned by owner); " + (
                              "stability 1 keeps it and moves only what the tolerance needs."
                              if strict else "the new territories are drawn from scratch and matched to "
                              "today's IDs to keep as many accounts as possible with their owner."),
                          data={"strict": strict}))
    new_territories = int((np.bincount(cur_g[cur_g >= 0], minlength=k) == 0).sum()) if has_current else 0
    if not has_current or params.stability <= 0 or not geographic:
        moves = config.centre_moves
    elif strict:
        moves = 0
    elif params.stability < 0.5:
        moves = config.centre_moves
    else:
        moves = 2 if new_territories else 0
    limits = _move_limits(accounts, params, g)
    per = n / max(k, 1)
    aim = params.tolerance * aim_fraction(params, per, has_current)
    problem = Problem(
        xyz=xyz, weight=w_g, target=solve_target, fixed_load=fixed_load, locked=locked_g, current=cur_g,
        start=start, fallback=fallback, today=today, anchored=anchored,
        dissolved=_dissolved(current, plan.dropped, g) if plan.dropped else None,
        local=bool(has_current and (params.only_fix_outside or strict or (geographic
                                                                          and params.stability >= LOCAL_FROM))),
        fix_outside_only=bool(params.only_fix_outside),
        anchor_centres=anchor_centres,
        tolerance=params.tolerance, aim=aim,
        distance_weight=distance_weight(params.compactness),
        # an alignment not drawn on a map is redrawn below stability 1: a bonus for staying would
        # keep owners scattered and hand the moved accounts to territories far from them
        stay_bonus=stay_bonus(params.stability) if has_current and (geographic or strict) else 0.0,
        strict=strict, centre_moves=moves,
        limits=limits, adjacency=adjacency,
        repair_contiguity=True, keep_today_pieces=has_current and params.stability > 0,
        today_on_map=bool(has_current and geographic), seed=params.seed,
        config=config)
    return Prepared(problem=problem, plan=plan, accounts=accounts, params=params, weight=weight, unit=unit,
                    target=target, current=current, cur_idx=cur_idx, locked=locked_flag, geo=geo, lat=lat, lon=lon,
                    no_geo_fixed=no_geo_fixed, no_geo_free=no_geo_free, notes=tuple(notes),
                    has_current=has_current, start_matched=matched)


LOCAL_FROM = 0.75
"""From this stability (and at 1), a map-drawn alignment is re-balanced locally: least load across
today's borders (territory.engine.local), the global solve only when the borders cannot carry it."""


def _dissolved(current: pd.Series, dropped: list[str], g: np.ndarray) -> np.ndarray:
    """(n,) for the accounts of territories the plan dissolves, which of them; -1 for the rest."""
    index = {t: j for j, t in enumerate(dropped)}
    return current.iloc[g].map(index).astype("Float64").fillna(-1).to_numpy(dtype=np.int64)


def _move_limits(accounts: pd.DataFrame, params: BalanceParams, g: np.ndarray) -> tuple[AccountLimit, ...]:
    limits = []
    if params.move_budget_accounts is not None:
        limits.append(AccountLimit(np.ones(g.size), float(params.move_budget_accounts)))
    if params.move_budget_revenue_pct is not None:
        revenue = (pd.to_numeric(accounts[REVENUE], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)
                   if REVENUE in accounts.columns else np.zeros(len(accounts)))
        revenue = np.nan_to_num(revenue, nan=0.0, posinf=0.0)
        # accounts without coordinates never move, so the budget is a share of all revenue
        limits.append(AccountLimit(revenue[g], float(params.move_budget_revenue_pct) / 100.0 * revenue.sum()))
    return tuple(limits)


def _start(xyz: np.ndarray, weight: np.ndarray, current: np.ndarray, locked: np.ndarray, capacity: np.ndarray,
           anchored: np.ndarray, anchor_centres: np.ndarray, has_current: bool, strict: bool, stability: float,
           adjacency) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, bool, bool]:
    """(start, fallback start, today's alignment completed, matched to today's IDs, today's
    alignment is drawn on a map).

    Today's alignment, completed (accounts of a dropped territory or without one go to the
    nearest remaining centre, new territories are carved out of the busiest), is the start when
    it is drawn on a map, with a recursive bisection (balanced by construction, parts matched to
    today's IDs) as the fallback in case the band cannot be reached from it; at stability 1 there
    is no fallback (it would move everything). An alignment not drawn on a map, or none, starts
    from the bisection (matched to today's territories, or to the reps' home bases)."""
    k = capacity.size
    if not has_current:
        return _bisection_start(xyz, weight, current, locked, capacity, anchored, anchor_centres), None, None, \
            False, False
    have = current >= 0
    today = centroids(xyz[have], weight[have], current[have], k, np.full((k, 3), np.nan))
    known = np.isfinite(today[:, 0])
    from territory.engine.solve import resolve_graph

    graph = resolve_graph(adjacency)
    geographic = graph is not None and seeding.is_geographic(graph, weight, current)
    labels = current.copy()
    if not have.all():
        labels[~have] = np.flatnonzero(known)[seeding.nearest(xyz[~have], today[known])]
    empty = np.flatnonzero(np.bincount(labels, minlength=k) == 0)
    if empty.size:
        labels = seeding.carve(xyz, weight, labels, empty, capacity)
    labels[locked >= 0] = locked[locked >= 0]
    # the balanced fallback serves every stability, 1 included: the band is a hard constraint,
    # and a start the borders cannot balance must still end within it
    bisection = _bisection_start(xyz, weight, current, locked, capacity, anchored, anchor_centres)
    regions = np.where(current >= 0, labels, -1)  # accounts of dissolved territories belong to none yet
    if strict or (geographic and stability > 0):
        return labels, bisection, regions, True, geographic
    return bisection, None, regions, True, geographic


def _bisection_start(xyz: np.ndarray, weight: np.ndarray, current: np.ndarray, locked: np.ndarray,
                     capacity: np.ndarray, anchored: np.ndarray, anchor_centres: np.ndarray) -> np.ndarray:
    """Recursive bisection by capacity, its parts matched to today's territories by shared load
    (or to the reps' home bases by distance)."""
    k = capacity.size
    labels = seeding.bisect(xyz, weight, capacity, fill=True)
    have = current >= 0
    if have.any():
        overlap = np.bincount(labels[have] * k + current[have], weights=weight[have] + 1e-9,
                              minlength=k * k).reshape(k, k)
        labels = ids.match(overlap, capacity, np.empty(0, dtype=np.int64))[labels]
    elif anchored.any():
        part_centres = centroids(xyz, weight, labels, k, np.zeros((k, 3)))
        closeness = -np.sqrt(((part_centres[:, None, :] - anchor_centres[None, :, :]) ** 2).sum(axis=2))
        closeness[:, ~anchored] = 0.0
        labels = ids.match(closeness, capacity, np.empty(0, dtype=np.int64))[labels]
    labels[locked >= 0] = locked[locked >= 0]
    return labels
