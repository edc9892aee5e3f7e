"""The balancing engine: accounts in, balanced, compact, low-disruption territories out.

``balance()`` is a pure function (same input and seed, same result); ``TerritoryBalancer`` wraps
it in the scikit-learn shape (parameters in the constructor, ``fit`` returns self, learned state
ends in ``_``). The numerical core lives in :mod:`territory._assign`; this module turns tables
into arrays, keeps territory IDs stable, checks feasibility and writes the explanations.

>>> import pandas as pd
>>> accounts = pd.DataFrame({
...     "account_id": ["A1", "A2", "A3", "A4"],
...     "latitude": [40.0, 40.1, 34.0, 34.1], "longitude": [-74.0, -74.1, -118.0, -118.1],
...     "workload_hours": [10.0, 10.0, 10.0, 10.0]})
>>> result = balance(accounts, BalanceParams(n_territories=2))
>>> result.assignment.groupby("territory_id").size().tolist()
[2, 2]
>>> result.feasible
True
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from territory import _assign
from territory._focus import MOVED_BY_FOCUS
from territory._multi import MOVED_BY_SECONDARY
from territory.errors import ParameterError
from territory.schema import (
    ACCOUNT_ID,
    CAPACITY_FTE,
    DEFAULT_CAPACITY_FTE,
    HOME_LATITUDE,
    HOME_LONGITUDE,
    INDUSTRY,
    LATITUDE,
    LOCKED,
    LONGITUDE,
    MEASURE_COLUMN,
    MEASURES,
    REGION,
    REP_NAME,
    REVENUE,
    TERRITORY_ID,
)

ANCHORS = ("free", "home")
PREVIOUS_TERRITORY_ID = "previous_territory_id"
MOVED = "moved"
REASON = "reason"
MEASURE_UNIT = {"workload": "h", "revenue": "USD", "potential": "USD", "accounts": "accounts"}


@dataclass(frozen=True)
class BalanceParams:
    """Every knob of the engine; ranges are checked by :func:`validate_params`."""

    n_territories: int | None = None  # None: keep the current number (or rows in territories)
    balance_on: str | tuple[tuple[str, float], ...] = "workload"  # measure or weighted composite
    tolerance: float = 0.05  # hard band around each territory's target (0.05 = +/-5%)
    stability: float = 0.5  # 0..1: 1 keeps every account whose move is not needed for balance
    compactness: float = 0.5  # 0..1: weight of travel against stability, focus and exact balance
    anchor: str = "free"  # "free" centres or "home" (rep home bases fixed)
    move_budget_accounts: int | None = None  # at most this many accounts change territory
    move_budget_revenue_pct: float | None = None  # at most this % of revenue changes territory
    industry_teams: tuple[str, ...] = ()  # industries with specialist territories (territory.industry)
    industry_team_sizes: tuple[tuple[str, int], ...] = ()  # optional fixed team sizes
    industry_focus: float = 0.0  # 0..1: make territories specialise in fewer industries
    also_balance: tuple[str, ...] = ()  # further measures to bring within the tolerance too
    seed: int = 0


@dataclass(frozen=True)
class BalanceResult:
    """An alignment plus what a leader needs to defend it."""

    assignment: pd.DataFrame  # index of accounts; account_id, territory_id, previous_territory_id, moved, reason
    centers: pd.DataFrame  # territory_id, latitude, longitude
    territories: pd.DataFrame  # territory_id, rep_name, region, capacity_fte, target (measure units)
    feasible: bool
    messages: tuple[str, ...]
    params: BalanceParams
    seconds: float
    n_iter: int = 0  # Lloyd iterations used (the estimator's n_iter_)
    load: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # balance measure per territory

    @property
    def labels(self) -> pd.Series:
        """Territory ID per account (index aligned with the input accounts)."""
        return self.assignment[TERRITORY_ID]


# --- validation -------------------------------------------------------------------------------


def _composite(balance_on: Any) -> dict[str, float]:
    """{measure: weight} for a measure name, a tuple of (measure, weight) pairs or a mapping."""
    if isinstance(balance_on, str):
        spec = {balance_on: 1.0}
    elif isinstance(balance_on, Mapping):
        spec = {str(k): v for k, v in balance_on.items()}
    else:
        try:
            spec = {str(m): w for m, w in balance_on}
        except (TypeError, ValueError):
            raise ParameterError(
                f"balance_on must be one of {', '.join(MEASURES)} or pairs like "
                f"(('workload', 0.7), ('potential', 0.3)); got {balance_on!r}") from None
    if not spec:
        raise ParameterError("balance_on is empty: name a measure such as 'workload'.")
    for measure, weight in spec.items():
        if measure not in MEASURES:
            raise ParameterError(
                f"balance_on measure {measure!r} is unknown; choose from {', '.join(MEASURES)}.")
        try:
            ok = float(weight) > 0 and np.isfinite(float(weight))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(f"balance_on weight for {measure!r} must be a positive number, got {weight!r}.")
    return {m: float(w) for m, w in spec.items()}


def _number(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}.") from None
    if not np.isfinite(x):
        raise ParameterError(f"{name} must be a finite number, got {value!r}.")
    return x


def validate_params(params: BalanceParams, n_accounts: int | None = None) -> None:
    """Raise ParameterError with a clear message for any out-of-range parameter."""
    if not isinstance(params, BalanceParams):
        raise ParameterError(f"params must be a BalanceParams, got {type(params).__name__}.")
    k = params.n_territories
    if k is not None:
        if isinstance(k, bool) or not float(_number("n_territories", k)).is_integer():
            raise ParameterError(f"n_territories must be a whole number, got {k!r}.")
        if int(k) < 1:
            raise ParameterError(f"n_territories must be at least 1, got {k}.")
        if n_accounts is not None and int(k) > n_accounts:
            raise ParameterError(
                f"n_territories={k} is more than the {n_accounts:,} accounts: every territory needs "
                f"at least one account. Use at most {n_accounts:,} territories.")
    tol = _number("tolerance", params.tolerance)
    if not 0 < tol < 1:
        raise ParameterError(f"tolerance must be between 0 and 1 (0.05 means +/-5%), got {params.tolerance}.")
    for name in ("stability", "compactness", "industry_focus"):
        value = _number(name, getattr(params, name))
        if not 0 <= value <= 1:
            raise ParameterError(f"{name} must be between 0 and 1, got {getattr(params, name)}.")
    if params.anchor not in ANCHORS:
        raise ParameterError(f"anchor must be 'free' or 'home', got {params.anchor!r}.")
    if params.move_budget_accounts is not None:
        b = _number("move_budget_accounts", params.move_budget_accounts)
        if b < 0 or not b.is_integer():
            raise ParameterError(
                f"move_budget_accounts must be a whole number >= 0, got {params.move_budget_accounts}.")
    if params.move_budget_revenue_pct is not None:
        b = _number("move_budget_revenue_pct", params.move_budget_revenue_pct)
        if not 0 <= b <= 100:
            raise ParameterError(
                f"move_budget_revenue_pct must be between 0 and 100 (percent), got {params.move_budget_revenue_pct}.")
    _composite(params.balance_on)
    _also_measures(params)
    if not isinstance(params.seed, (int, np.integer)) or isinstance(params.seed, bool):
        raise ParameterError(f"seed must be an integer, got {params.seed!r}.")


def _also_measures(params: BalanceParams) -> tuple[str, ...]:
    """The further measures of ``also_balance``, checked: known, and not the main measure itself."""
    also = params.also_balance
    if isinstance(also, str):
        also = (also,)
    try:
        names = tuple(str(m).strip() for m in also)
    except TypeError:
        raise ParameterError(f"also_balance must be a list of measures such as ('revenue',), got {also!r}.") from None
    main = _composite(params.balance_on)
    for name in names:
        if name not in MEASURES:
            raise ParameterError(f"also_balance measure {name!r} is unknown; choose from {', '.join(MEASURES)}.")
        if len(main) == 1 and name in main:
            raise ParameterError(f"also_balance names {name!r}, which is already the main balance measure; "
                                 "name a different one (for example 'revenue').")
    return tuple(dict.fromkeys(names))


# --- measures ---------------------------------------------------------------------------------


def _measure_values(accounts: pd.DataFrame, balance_on: Any) -> np.ndarray:
    """Balance measure per account (>= 0); composites sum each measure's share of its total."""
    spec = _composite(balance_on)
    for measure in spec:
        column = MEASURE_COLUMN[measure]
        if column is not None and column not in accounts.columns:
            raise ParameterError(
                f"balance_on={measure!r} needs a {column!r} column, but the accounts have none; "
                f"add it or balance on another measure ({', '.join(MEASURES)}).")
    try:
        from territory.metrics import measure_values
    except ImportError:
        measure_values = None
    if measure_values is not None:
        arg: Any = next(iter(spec)) if len(spec) == 1 else spec
        values = np.asarray(measure_values(accounts, arg), dtype=float)
    else:
        values = np.zeros(len(accounts))
        total_weight = sum(spec.values())
        for measure, weight in spec.items():
            column = MEASURE_COLUMN[measure]
            if column is None:
                v = np.ones(len(accounts))
            else:
                v = pd.to_numeric(accounts[column], errors="coerce").to_numpy(dtype=float)
            v = np.clip(np.nan_to_num(v, nan=0.0), 0.0, None)
            if len(spec) == 1:
                values = v
            else:
                total = v.sum()
                values = values + (weight / total_weight) * (v / total if total > 0 else 0.0)
    return np.clip(np.nan_to_num(values, nan=0.0), 0.0, None)


def _unit(balance_on: Any) -> str:
    spec = _composite(balance_on)
    return MEASURE_UNIT[next(iter(spec))] if len(spec) == 1 else "points"


def _fmt(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value:,.0f}"
    if unit == "accounts":
        return f"{value:,.0f} accounts"
    if unit == "points":  # composite measures are shares of the whole book (they sum to 1)
        return f"{100 * value:.2f}% of the total mix"
    return f"{value:,.0f} {unit}"


def _measure_name(balance_on: Any) -> str:
    spec = _composite(balance_on)
    if len(spec) == 1:
        return next(iter(spec))
    total = sum(spec.values())
    return " + ".join(f"{100 * w / total:.0f}% {m}" for m, w in spec.items())


# --- territory IDs ----------------------------------------------------------------------------


def _natural_key(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _new_ids(existing: list[str], count: int) -> list[str]:
    """``count`` fresh IDs 'Tnn' after the highest existing Tnn (T01, T02, ... when none)."""
    numbers = [int(m.group(1)) for t in existing if (m := re.fullmatch(r"T(\d+)", t))]
    width = max([2] + [len(m.group(1)) for t in existing if (m := re.fullmatch(r"T(\d+)", t))])
    start = max(numbers, default=0) + 1
    width = max(width, len(str(start + count - 1)))
    taken = set(existing)
    out: list[str] = []
    number = start
    while len(out) < count:
        candidate = f"T{number:0{width}d}"
        if candidate not in taken:
            out.append(candidate)
        number += 1
    return out


@dataclass
class _Plan:
    ids: list[str]
    capacity: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    rep_name: list[Any]
    region: list[Any]
    messages: list[str]
    dropped: list[str]
    from_table: bool


def _clean_ids(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _plan_territories(params: BalanceParams, territories: pd.DataFrame | None, current: pd.Series,
                      locked: np.ndarray, weight: np.ndarray) -> _Plan:
    """Which territory IDs the result has (and their capacity, home, rep), before solving."""
    messages: list[str] = []
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
        base_ids = sorted(current.dropna().astype(str).unique().tolist(), key=_natural_key)
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
        dropped = [base_ids[j] for j in sorted(order[k:])]
        messages.append(
            f"{len(dropped)} territor{'y' if len(dropped) == 1 else 'ies'} removed to reach "
            f"{k} (from {len(base_ids)}): {', '.join(dropped[:10])}{' ...' if len(dropped) > 10 else ''}; "
            "their accounts were shared among neighbours.")
        base_ids = [base_ids[j] for j in keep]
        cap, hl, ho = cap[keep], hl[keep], ho[keep]
        reps = [reps[j] for j in keep]
        regions = [regions[j] for j in keep]
    extra = k - len(base_ids)
    if extra > 0:
        everything = base_ids + dropped + current.dropna().astype(str).unique().tolist()
        new = _new_ids(everything, extra)
        if base_ids:
            messages.append(f"{extra} new territor{'y' if extra == 1 else 'ies'} added: {', '.join(new[:10])}"
                            f"{' ...' if extra > 10 else ''} (capacity 1.0 FTE).")
        base_ids = base_ids + new
        cap = np.r_[cap, np.full(extra, DEFAULT_CAPACITY_FTE)]
        hl = np.r_[hl, np.full(extra, np.nan)]
        ho = np.r_[ho, np.full(extra, np.nan)]
        reps = reps + [pd.NA] * extra
        regions = regions + [pd.NA] * extra
    return _Plan(base_ids, cap, hl, ho, reps, regions, messages, dropped, has_table)


# --- the engine -------------------------------------------------------------------------------


def _aim(params: BalanceParams, n: int, k: int, has_current: bool) -> tuple[float, float]:
    """(aim, goal_fraction): the band the prices aim for, tighter than the tolerance.

    Compactness 0.5 aims for 1/5 of the tolerance when territories hold 500+ accounts (the
    quality target: 1% at +/-5%), 2/5 at 50-500 and most of it for tiny territories, where whole
    accounts cannot be split finely. More compactness uses more of the band for shorter travel;
    high stability uses all of it (nothing moves that the tolerance does not need)."""
    per = n / max(k, 1)
    size = 0.2 if per >= 500 else 0.4 if per >= 50 else 0.9
    frac = size * 2 * params.compactness
    goal = 0.5
    if has_current:
        frac = max(frac, params.stability**3)
        if params.stability >= 0.999:
            frac, goal = 1.0, 0.9
    frac = min(max(frac, 0.05), 1.0 if frac >= 1.0 else 0.95)
    return params.tolerance * frac, goal


def _lloyd_budget(params: BalanceParams, share_with_current: float, new_territories: int = 0) -> int:
    """Centre moves allowed. Today's territories' centres are already good starting points: with
    stability >= 0.5 the prices alone rebalance (a slider re-run is one solve); lower stability
    lets the centres move, fully at 0 (a fresh optimum). Territories without accounts today (new
    hires) start from seeds carved out of the busiest territories, which prices alone could not
    settle: 20 -> 36 reps on the sample at stability 0.5 ended with 18 territories outside +/-5%
    (up to +25%); two centre moves balance every count from 22 to 38 at 0.5 and 0.8."""
    if share_with_current <= 0.9:
        return _assign.MAX_LLOYD
    if params.stability >= 0.5:
        return 2 if new_territories else 0
    return 2 if params.stability > 0 else _assign.MAX_LLOYD


def _stay_bonus(stability: float) -> float:
    """Stay-bonus in units of the mean distance to the nearest centre. (It was 0.5 (s/(1-s))^2 in
    units of the mean squared distance; near a boundary at distance r, d^2 ~ 2 r d, so half of it
    keeps the calibration. At full strength prices stalled and the repair did the moving: the
    sample moved more accounts at stability 0.8 than at 0.5.)"""
    if stability >= 0.999:
        return _assign.STRICT_PENALTY
    return 0.25 * (stability / (1.0 - stability)) ** 2


def balance(accounts: pd.DataFrame, params: BalanceParams = BalanceParams(),
            territories: pd.DataFrame | None = None) -> BalanceResult:
    """Align accounts to territories balanced on ``params.balance_on`` within ``params.tolerance``.

    ``accounts`` uses the canonical columns (territory.schema); ``territory_id`` (current
    alignment) and ``locked`` are optional. ``territories`` optionally gives IDs, reps, capacity
    and home bases. Never raises for an infeasible tolerance: the result says why, with numbers.
    """
    started = time.perf_counter()
    validate_params(params)
    if params.industry_teams:
        from territory.industry import balance_with_teams

        return balance_with_teams(accounts, params, territories)
    if not isinstance(accounts, pd.DataFrame):
        raise ParameterError(f"accounts must be a pandas DataFrame, got {type(accounts).__name__}.")
    for column in (ACCOUNT_ID, LATITUDE, LONGITUDE):
        if column not in accounts.columns:
            raise ParameterError(f"accounts need a {column!r} column (see territory.schema).")
    n = len(accounts)
    if n == 0:
        raise ParameterError("there are no accounts to balance.")
    validate_params(params, n_accounts=n)
    result = _balance_once(accounts, params, territories, started)
    if _over_budget(result, accounts, params):
        result = _enforce_budget(accounts, params, territories, result, started)
    return result


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


def _balance_once(accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None,
                  started: float, stay_multiplier: float = 1.0) -> BalanceResult:
    n = len(accounts)
    weight = _measure_values(accounts, params.balance_on)
    unit = _unit(params.balance_on)
    current, locked_flag = _current_and_locked(accounts)
    messages: list[str] = []
    unlockable = locked_flag & current.isna().to_numpy()
    if unlockable.any():
        messages.append(f"{int(unlockable.sum()):,} locked accounts have no current territory_id, so "
                        "there is nothing to lock them to; they were balanced like the others.")
        locked_flag = locked_flag & ~unlockable
    plan = _plan_territories(params, territories, current, locked_flag, weight)
    messages += plan.messages
    orphan = locked_flag & ~current.isin(plan.ids).fillna(False).to_numpy(dtype=bool)
    if orphan.any():
        missing = sorted(set(current[orphan].astype(str)), key=_natural_key)
        raise ParameterError(
            f"{int(orphan.sum()):,} locked accounts belong to {', '.join(missing[:5])}, which "
            f"{'is' if len(missing) == 1 else 'are'} not among the territories of the result; add "
            f"{'it' if len(missing) == 1 else 'them'} to the territories table or unlock those accounts.")
    ids = plan.ids
    k = len(ids)
    id_index = {t: j for j, t in enumerate(ids)}
    cur_idx = current.map(id_index).astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
    locked_idx = np.where(locked_flag, cur_idx, -1)
    has_current = bool((cur_idx >= 0).any())

    lat = pd.to_numeric(accounts[LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[LONGITUDE], errors="coerce").to_numpy(dtype=float)
    geo = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90)
    total = float(weight.sum())
    if total <= 0:
        weight = np.ones(n)
        total = float(n)
        messages.append(f"Every account has zero {_measure_name(params.balance_on)}; "
                        "balanced on account count instead.")
        unit = "accounts"
    target = total * plan.capacity / plan.capacity.sum()

    # accounts without coordinates: stay in their current territory, or fill the emptiest later
    no_geo_fixed = ~geo & (cur_idx >= 0)
    no_geo_free = ~geo & (cur_idx < 0)
    fixed_load = np.bincount(cur_idx[no_geo_fixed], weights=weight[no_geo_fixed], minlength=k)
    solve_target = target - weight[no_geo_free].sum() * plan.capacity / plan.capacity.sum()
    if (~geo).any():
        messages.append(
            f"{int((~geo).sum()):,} accounts have no usable coordinates: {int(no_geo_fixed.sum()):,} stay in "
            f"their current territory and {int(no_geo_free.sum()):,} were placed where there was most room.")
    if not geo.any():
        raise ParameterError("no account has usable latitude/longitude, so territories cannot be drawn; "
                             "check the coordinates or postal codes.")

    g = np.flatnonzero(geo)
    xyz = _geo_unit_vectors(lat[g], lon[g])
    w_g = weight[g]
    rng = np.random.default_rng(params.seed)

    # initial centres: rep homes (anchor home), current territories' centres, then k-means++
    init = np.full((k, 3), np.nan)
    anchored = np.zeros(k, dtype=bool)
    if params.anchor == "home":
        has_home = np.isfinite(plan.home_lat) & np.isfinite(plan.home_lon)
        if has_home.any():
            init[has_home] = _geo_unit_vectors(plan.home_lat[has_home], plan.home_lon[has_home])
            anchored = has_home.copy()
        if not has_home.all():
            missing = [t for t, h in zip(ids, has_home) if not h]
            messages.append(f"anchor='home' but {len(missing)} territor{'y has' if len(missing) == 1 else 'ies have'} "
                            f"no home_latitude/home_longitude ({', '.join(missing[:5])}); their centres are free.")
    cur_g = cur_idx[g]
    if has_current:
        have = cur_g >= 0
        sums = np.column_stack([np.bincount(cur_g[have], weights=(w_g[have] + 1e-9) * xyz[have, d], minlength=k)
                                for d in range(3)])
        norms = np.linalg.norm(sums, axis=1)
        use = ~np.isfinite(init[:, 0]) & (norms > 1e-12)
        # (their centroids: starting from the medians kept 6% more travel and 3 territories in
        # pieces on the sample at stability 0.5, measured 2026-11-27)
        init[use] = sums[use] / norms[use, None]
    missing = ~np.isfinite(init[:, 0])
    new_territories = int(missing.sum()) if has_current else 0
    if missing.all():
        sample = g.size > _assign.SUBSAMPLE_ABOVE
        pick = np.sort(rng.choice(g.size, _assign.SUBSAMPLE_ABOVE, replace=False)) if sample else slice(None)
        init = _assign.bisection_seeds(xyz[pick], w_g[pick], plan.capacity)
    elif missing.any():
        # new territories are carved out of the busiest existing ones (like a new hire)
        init = _assign.split_seeds(xyz, w_g, init, plan.capacity)

    # industry focus is a post-pass (territory._focus) after the solve: an industry term in the
    # solver's cost barely moved a flat mix, and the contiguity repair undid what it did
    focus_codes = None
    if params.industry_focus > 0:
        if INDUSTRY in accounts.columns:
            codes, _ = pd.factorize(accounts[INDUSTRY].astype("string").fillna("Other"), sort=True)
            focus_codes = codes[g].astype(np.int64)
        else:
            messages.append("industry_focus is set but the accounts have no industry column, so it was ignored.")

    aim, goal = _aim(params, n, k, has_current)
    stay = _stay_bonus(params.stability) * stay_multiplier if has_current else 0.0
    strict = has_current and (params.stability >= 0.999 or stay >= _assign.STRICT_PENALTY)
    adjacency = _neighbour_graph(lat[g], lon[g]) if k > 1 and g.size > 3 else None
    problem = _assign.Problem(
        xyz=xyz, weight=w_g, target=solve_target, fixed_load=fixed_load,
        locked=locked_idx[g], current=cur_g, init_centres=init, anchored=anchored,
        distance_scale=0.2 + 1.6 * params.compactness, stay_bonus=stay, aim=aim,
        tolerance=params.tolerance, goal_fraction=goal, adjacency=adjacency,
        repair_contiguity=not strict, seed=params.seed,
        # centres from today's alignment are already good: a couple of centre moves suffice
        max_lloyd=_lloyd_budget(params, (cur_g >= 0).mean(), new_territories))
    solution = _assign.solve(problem)
    # re-solves when the result is outside the tolerance (never inside the move-budget loop, whose
    # raised stay-bonus trades balance for fewer moves); each is kept only when better balanced
    retry_allowed = not strict and stay_multiplier == 1.0

    def off_balance(trial: _assign.Solution) -> float:
        return _assign.worst_deviation(trial.labels, problem)

    if retry_allowed and problem.max_lloyd < _assign.MAX_LLOYD and off_balance(solution) > params.tolerance:
        # prices and a couple of centre moves fell short of the band (many new territories, say:
        # 40 reps instead of 20 on the sample at stability 0.5 ended 6.6% off); the full centre
        # search usually reaches it, and a balanced alignment beats a stable unbalanced one
        retry = _assign.solve(replace(problem, max_lloyd=_assign.MAX_LLOYD))
        solution = min(solution, retry, key=off_balance)
    if retry_allowed and not anchored.any() and adjacency is not None and off_balance(solution) > params.tolerance:
        # clusters far apart (Perth, New Zealand) that started with the wrong number of
        # territories: prices cannot move load between them, so seed each its share
        seeds = _assign.island_seeds(xyz, w_g, _assign.resolve_graph(adjacency), plan.capacity, solution.labels)
        if seeds is not None:
            retry = _assign.solve(replace(problem, init_centres=seeds, max_lloyd=_assign.MAX_LLOYD))
            solution = min(solution, retry, key=off_balance)
    if not has_current and not anchored.any() and g.size <= RESTARTS_UP_TO and 1 < k <= RESTARTS_MAX_K:
        # small problems: a few extra seedings (like sklearn's n_init), keep the best feasible one
        best = _solution_score(solution, problem)
        for _ in range(N_RESTARTS):
            seeds = _assign.kmeans_plus_plus(xyz, w_g, k, rng)
            trial = _assign.solve(replace(problem, init_centres=seeds))
            score = _solution_score(trial, problem)
            if score < best:
                best, solution = score, trial
    also = _also_measures(params)
    if also and adjacency is not None:
        solution = _balance_also(accounts, params, also, plan.capacity, solution, g, w_g, solve_target,
                                 fixed_load, cur_idx, no_geo_fixed, no_geo_free, adjacency, xyz, locked_idx[g])
    if focus_codes is not None and k > 1:
        # industry focus trades last (the also_balance pass keeps territories whole and would undo
        # them); every trade keeps the main and the also_balance measures within their band
        from territory import _focus

        focus_also = (_further_measures(accounts, also, plan.capacity, g, cur_idx, no_geo_fixed, no_geo_free)
                      if also else None)
        messages.append(_focus.apply(solution, problem, focus_codes, params.industry_focus, strict, focus_also))

    labels = np.full(n, -1, dtype=np.int64)
    labels[g] = solution.labels
    labels[no_geo_fixed] = cur_idx[no_geo_fixed]
    labels = _place_without_coordinates(labels, no_geo_free, weight, target, k)
    how = np.full(n, _assign.MOVED_BY_PRICE, dtype=np.int8)
    how[g] = solution.how
    centres = solution.centres

    # keep IDs stable: match clusters to IDs by overlap with the current alignment
    if has_current and params.anchor == "free":
        perm = _match_ids(labels, cur_idx, weight, locked_idx, plan.capacity, k)
        labels = perm[labels]
        inverse = np.empty(k, dtype=np.int64)
        inverse[perm] = np.arange(k)
        centres = centres[inverse]

    return _build_result(accounts, params, plan, labels, cur_idx, current, locked_flag, how, centres,
                         anchored, weight, target, unit, messages, solution.n_iter, started, lat, lon, geo)


def _further_measures(accounts, also, capacity, g, cur_idx, no_geo_fixed, no_geo_free):
    """(values of the geo-located accounts (n_g, m), solve targets (k, m), fixed load (k, m)) of
    the ``also_balance`` measures, with the same bookkeeping as the main measure: targets follow
    capacity, accounts without coordinates are fixed load (or leave room when unassigned)."""
    k = capacity.size
    share = capacity / capacity.sum()
    values = [_measure_values(accounts, measure) for measure in also]
    return (np.column_stack([v[g] for v in values]),
            np.column_stack([v.sum() * share - v[no_geo_free].sum() * share for v in values]),
            np.column_stack([np.bincount(cur_idx[no_geo_fixed], weights=v[no_geo_fixed], minlength=k)
                             for v in values]))


def _balance_also(accounts, params, also, capacity, solution, g, w_g, solve_target, fixed_load, cur_idx,
                  no_geo_fixed, no_geo_free, adjacency, xyz, locked_g):
    """Bring the ``also_balance`` measures within the tolerance too (territory._multi), on the
    geo-located accounts, with the same target/fixed-load bookkeeping as the main measure."""
    from territory import _multi
    from territory.geo import to_lat_lon

    k = capacity.size
    values, further_targets, further_fixed = _further_measures(accounts, also, capacity, g, cur_idx, no_geo_fixed,
                                                               no_geo_free)
    measures = np.column_stack([w_g, values])
    targets = np.column_stack([solve_target, further_targets])
    fixed = np.column_stack([fixed_load, further_fixed])
    # a little inside the hard band, like the main solve, so rounding never tips a territory out
    band = 0.8 * params.tolerance
    labels = solution.labels.copy()
    free = locked_g < 0
    if free.all():
        graph = _assign.resolve_graph(adjacency)
    else:
        # locked accounts are fixed load, and territories are kept whole on the graph of the free
        # accounts: the same graph territory.metrics counts pieces on (a lock is not a fragment)
        fixed = fixed + np.column_stack([np.bincount(labels[~free], weights=measures[~free, j], minlength=k)
                                         for j in range(measures.shape[1])])
        lat, lon = to_lat_lon(xyz[free])
        graph = _assign.resolve_graph(_neighbour_graph(lat, lon))
    new, changed = _multi.balance_measures(labels[free], measures[free], targets, fixed, graph, xyz[free],
                                           solution.centres, np.ones(int(free.sum()), dtype=bool), band)
    labels[free] = new
    how = solution.how.copy()
    how[np.flatnonzero(free)[changed]] = _multi.MOVED_BY_SECONDARY
    return replace(solution, labels=labels, how=how)


def _neighbour_graph(lat: np.ndarray, lon: np.ndarray) -> Any:
    """Delaunay graph of the accounts as a Future (territory.geo.shared_delaunay_neighbors): the
    triangulation runs on a background thread while the prices are solved (``_assign.solve``
    waits for it only before the repair), and a re-run on the same accounts, or the metrics of
    the result, reuse it."""
    from territory.geo import shared_delaunay_neighbors

    return shared_delaunay_neighbors(lat, lon)


RESTARTS_UP_TO = 500
RESTARTS_MAX_K = 20
N_RESTARTS = 7


def _solution_score(solution: Any, problem: Any) -> tuple[int, float]:
    """(territories outside the band, workload-weighted distance): lower is better."""
    k = problem.target.size
    load = np.bincount(solution.labels, weights=problem.weight, minlength=k) + problem.fixed_load
    dev = np.abs(load - problem.target) / np.maximum(problem.target, 1e-12)
    outside = int((dev > problem.tolerance + 1e-9).sum())
    # travel to each territory's median (the point of least travel), as the engine minimises it
    centres = _assign.medians(problem.xyz, problem.weight, solution.labels, k, solution.centres)
    chord = np.sqrt(((problem.xyz - centres[solution.labels]) ** 2).sum(axis=1))
    return outside, float(problem.weight @ chord)


def _geo_unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    from territory.geo import to_unit_vectors

    return to_unit_vectors(lat, lon)


def _place_without_coordinates(labels: np.ndarray, free: np.ndarray, weight: np.ndarray,
                               target: np.ndarray, k: int) -> np.ndarray:
    """Accounts with no coordinates and no current territory go where there is most room."""
    if not free.any():
        return labels
    load = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=k)
    for i in np.flatnonzero(free)[np.argsort(-weight[free], kind="stable")]:
        j = int(np.argmax(target - load))
        labels[i] = j
        load[j] += weight[i]
    return labels


def _match_ids(labels: np.ndarray, cur_idx: np.ndarray, weight: np.ndarray, locked_idx: np.ndarray,
               capacity: np.ndarray, k: int) -> np.ndarray:
    """perm[cluster] = ID slot maximising overlap (Hungarian), among equal capacities; clusters
    with locked accounts keep their slot."""
    from scipy.optimize import linear_sum_assignment

    have = cur_idx >= 0
    overlap = np.bincount(labels[have] * k + cur_idx[have], weights=weight[have] + 1e-6,
                          minlength=k * k).reshape(k, k)
    cost = -overlap
    big = overlap.sum() + 1.0
    cost = cost + big * (np.abs(capacity[:, None] - capacity[None, :]) > 1e-9)
    has_lock = np.zeros(k, dtype=bool)
    has_lock[locked_idx[locked_idx >= 0]] = True
    forced = np.flatnonzero(has_lock)
    cost[forced, :] += big
    cost[forced, forced] -= big
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(k, dtype=np.int64)
    perm[rows] = cols
    return perm


# --- result, reasons and messages ------------------------------------------------------------


def _build_result(accounts, params, plan, labels, cur_idx, current, locked_flag, how, centres, anchored,
                  weight, target, unit, messages, n_iter, started, lat, lon, geo) -> BalanceResult:
    from territory.geo import haversine_km, to_lat_lon

    ids = np.asarray(plan.ids, dtype=object)
    k = len(ids)
    new_id = pd.array(ids[labels], dtype="string")
    previous = current.astype("string")
    moved = previous.notna().to_numpy() & (previous.fillna("").to_numpy(dtype=object) != ids[labels])
    clat, clon = to_lat_lon(centres)
    if anchored.any():
        clat[anchored], clon[anchored] = plan.home_lat[anchored], plan.home_lon[anchored]
    load = np.bincount(labels, weights=weight, minlength=k)
    dev = (load - target) / np.maximum(target, 1e-12)

    reason = _reasons(plan, labels, cur_idx, current, moved, how, clat, clon, lat, lon, weight, target,
                      haversine_km, " and ".join((_measure_name(params.balance_on),) + _also_measures(params)))
    assignment = pd.DataFrame(
        {ACCOUNT_ID: accounts[ACCOUNT_ID].astype("string").to_numpy(), TERRITORY_ID: new_id,
         PREVIOUS_TERRITORY_ID: previous.to_numpy(), MOVED: moved, REASON: reason},
        index=accounts.index)
    assignment[PREVIOUS_TERRITORY_ID] = assignment[PREVIOUS_TERRITORY_ID].astype("string")
    centers = pd.DataFrame({TERRITORY_ID: pd.array(ids, dtype="string"), LATITUDE: clat, LONGITUDE: clon})
    table = pd.DataFrame({
        TERRITORY_ID: pd.array(ids, dtype="string"),
        REP_NAME: pd.array(plan.rep_name, dtype="string"),
        REGION: pd.array(plan.region, dtype="string"),
        CAPACITY_FTE: plan.capacity,
        "target": target,
    })

    feasible, explain = _feasibility(accounts, params, plan, labels, locked_flag, cur_idx, weight, target,
                                     dev, unit)
    summary = _summary(params, ids, dev, target, load, unit, moved, accounts, weight)
    also_ok, also_explain, also_summary = _also_report(accounts, params, plan, labels)
    feasible = feasible and also_ok
    all_messages = tuple(explain + also_explain + messages + summary + also_summary)
    return BalanceResult(
        assignment=assignment, centers=centers, territories=table, feasible=feasible,
        messages=all_messages, params=params, seconds=time.perf_counter() - started, n_iter=n_iter,
        load=pd.Series(load, index=pd.Index(ids, name=TERRITORY_ID), name="load"))


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _feasibility(accounts, params, plan, labels, locked_flag, cur_idx, weight, target, dev, unit):
    """(feasible, messages): within tolerance everywhere, and if not, why, with numbers."""
    tol = params.tolerance
    ids = plan.ids
    k = len(ids)
    explain: list[str] = []
    equal = np.allclose(target, target[0])
    target_text = (f"target {_fmt(target[0], unit)} each" if equal else
                   f"targets {_fmt(target.min(), unit)} to {_fmt(target.max(), unit)} by capacity")
    head = f"Requested {k} territories within +/-{100 * tol:g}% ({target_text})"
    upper = target.max() * (1 + tol)
    big = np.flatnonzero(weight > upper)
    if big.size:
        i = big[np.argmax(weight[big])]
        explain.append(
            f"{head}, but account {accounts[ACCOUNT_ID].iloc[i]} alone is {_fmt(weight[i], unit)} "
            f"({100 * weight[i] / target.max():.0f}% of target)"
            + (f"; {big.size - 1} more accounts also exceed the band" if big.size > 1 else "")
            + ". Raise the tolerance, split the account, or give it a dedicated territory.")
    if locked_flag.any():
        lk = np.where(locked_flag & (cur_idx >= 0), cur_idx, -1)
        locked_load = np.bincount(lk[lk >= 0], weights=weight[lk >= 0], minlength=k)
        over = np.flatnonzero(locked_load > target * (1 + tol))
        for j in over[:5]:
            explain.append(
                f"Locked accounts in {ids[j]} already total {_fmt(locked_load[j], unit)}, "
                f"{100 * locked_load[j] / target[j]:.0f}% of its target {_fmt(target[j], unit)} "
                f"(upper bound {_fmt(target[j] * (1 + tol), unit)}); unlock some to balance it.")
    positive = int((weight > 0).sum())
    if positive < k:
        explain.append(
            f"{head}, but only {positive:,} accounts have a positive {_measure_name(params.balance_on)}: "
            f"at least {k - positive} territories cannot reach their target. Use fewer territories.")
    feasible = bool(np.all(np.abs(dev) <= tol + 1e-9))
    band = 2 * tol * target.min()
    if not feasible and not big.size and weight.max() > band:
        coarse = int((weight > band).sum())
        explain.append(
            f"Accounts are coarse for this band: {coarse:,} of them are larger than the whole "
            f"+/-{100 * tol:g}% band ({_fmt(band, unit)}), the largest {_fmt(weight.max(), unit)}; whole "
            "accounts cannot always add up to within the band. Raise the tolerance or use fewer territories.")
    if not feasible:
        bad = np.flatnonzero(np.abs(dev) > tol + 1e-9)
        bad = bad[np.argsort(-np.abs(dev[bad]))]
        load = target * (1 + dev)
        detail = "; ".join(f"{ids[j]} {_pct(dev[j])} ({_fmt(load[j], unit)} vs target {_fmt(target[j], unit)})"
                           for j in bad[:5])
        explain.append(
            f"Best balance found leaves {bad.size} of {k} territories outside +/-{100 * tol:g}%: {detail}"
            + (" ..." if bad.size > 5 else "") + ".")
    return feasible, explain


def _also_report(accounts, params, plan, labels) -> tuple[bool, list[str], list[str]]:
    """(all within tolerance, why not, summary) for the ``also_balance`` measures."""
    ok, explain, summary = True, [], []
    tol = params.tolerance
    ids = plan.ids
    k = len(ids)
    for measure in _also_measures(params):
        values = _measure_values(accounts, measure)
        unit = MEASURE_UNIT[measure]
        target = values.sum() * plan.capacity / plan.capacity.sum()
        load = np.bincount(labels, weights=values, minlength=k)
        dev = (load - target) / np.maximum(target, 1e-12)
        bad = np.flatnonzero(np.abs(dev) > tol + 1e-9)
        j = int(np.argmax(np.abs(dev)))
        summary.append(f"Also balanced on {measure}: worst {ids[j]} {_pct(dev[j])} of target "
                       f"(tolerance +/-{100 * tol:g}%).")
        if bad.size:
            ok = False
            bad = bad[np.argsort(-np.abs(dev[bad]))]
            detail = "; ".join(f"{ids[t]} {_pct(dev[t])} ({_fmt(load[t], unit)} vs target {_fmt(target[t], unit)})"
                               for t in bad[:5])
            explain.append(
                f"{measure.capitalize()} could not be brought within +/-{100 * tol:g}% as well: {bad.size} of {k} "
                f"territories are outside ({detail}{' ...' if bad.size > 5 else ''}). Moving boundary accounts "
                f"between neighbours is not enough when {measure} per unit of {_measure_name(params.balance_on)} "
                "differs this much between areas; raise the tolerance or balance on a composite measure instead.")
    return ok, explain, summary


def _summary(params, ids, dev, target, load, unit, moved, accounts, weight) -> list[str]:
    j = int(np.argmax(np.abs(dev)))
    out = [f"Balanced {len(ids)} territories on {_measure_name(params.balance_on)}: worst {ids[j]} "
           f"{_pct(dev[j])} of target (tolerance +/-{100 * params.tolerance:g}%)."]
    n_moved = int(moved.sum())
    if n_moved or (TERRITORY_ID in accounts.columns):
        rev = (pd.to_numeric(accounts[REVENUE], errors="coerce").fillna(0.0).to_numpy(float)
               if REVENUE in accounts.columns else np.zeros(len(accounts)))
        total_rev = rev.sum()
        pct = 100 * rev[moved].sum() / total_rev if total_rev > 0 else 0.0
        out.append(f"{n_moved:,} of {len(moved):,} accounts change territory "
                   f"({_fmt(weight[moved].sum(), unit)} of {_measure_name(params.balance_on)}, {pct:.1f}% of revenue).")
    return out


def _reasons(plan, labels, cur_idx, current, moved, how, clat, clon, lat, lon, weight, target, haversine_km,
             also_text: str = "the other measures"):
    """One short sentence per moved account ('' for the others), vectorised over moved accounts."""
    n = labels.size
    out = np.full(n, "", dtype=object)
    idx = np.flatnonzero(moved)
    if idx.size == 0:
        return pd.array(out, dtype="string")
    ids = np.asarray(plan.ids, dtype=object)
    k = ids.size
    prev_ids = current.iloc[idx].astype(object).to_numpy()
    new = labels[idx]
    new_ids = ids[new]
    prev = cur_idx[idx]
    # deviation of each ID in the previous alignment, against the new targets
    have = cur_idx >= 0
    prev_load = np.bincount(cur_idx[have], weights=weight[have], minlength=k)
    prev_dev = (prev_load - target) / np.maximum(target, 1e-12)
    d_new = haversine_km(lat[idx], lon[idx], clat[new], clon[new])
    safe_prev = np.where(prev >= 0, prev, 0)
    d_old = haversine_km(lat[idx], lon[idx], clat[safe_prev], clon[safe_prev])
    closer = np.nan_to_num(d_old - d_new, nan=0.0)
    closer_txt = np.char.mod("%d", np.round(np.abs(closer)).astype(np.int64)).astype(object)
    pd_txt = np.char.mod("%d", np.round(100 * np.abs(prev_dev[safe_prev])).astype(np.int64)).astype(object)
    nd_txt = np.char.mod("%d", np.round(100 * np.abs(prev_dev[new])).astype(np.int64)).astype(object)
    dn_txt = np.char.mod("%d", np.round(np.nan_to_num(d_new)).astype(np.int64)).astype(object)
    prev_existing = set(current.dropna().unique().tolist())
    is_new_territory = np.array([t not in prev_existing for t in ids])[new]

    prev_safe_ids = np.where(prev >= 0, prev_ids, "its old territory")
    geo_part = np.where(closer >= 1, closer_txt + " km closer to " + new_ids + "'s centre than to "
                        + prev_safe_ids + "'s",
                        np.where(closer <= -1, new_ids + "'s centre is " + dn_txt + " km away (" + closer_txt
                                 + " km farther, nearest with room)", "about as close to " + new_ids + "'s centre"))
    over_prev = (prev >= 0) & (prev_dev[safe_prev] > 0.005)
    under_new = prev_dev[new] < -0.005
    text = np.where(over_prev, prev_ids + " was " + pd_txt + "% over target; " + geo_part,
                    np.where(under_new, new_ids + " was " + nd_txt + "% under target; " + geo_part,
                             geo_part + " (more compact)"))
    text = np.where(is_new_territory, new_ids + " is a new territory; " + geo_part, text)
    text = np.where(prev < 0, prev_ids + " is no longer a territory; " + new_ids + "'s centre is " + dn_txt
                    + " km away", text)
    text = np.where(how[idx] == MOVED_BY_SECONDARY,
                    "evens out " + also_text + " between " + prev_safe_ids + " and " + new_ids + "; " + geo_part, text)
    text = np.where(how[idx] == MOVED_BY_FOCUS,
                    "industry focus: " + new_ids + " specialises in this account's industry in this area and takes "
                    "it over from " + prev_safe_ids + " (specialised territories overlap here)", text)
    text = np.where(how[idx] == _assign.MOVED_BY_CONTIGUITY,
                    "joins " + new_ids + "'s contiguous area (it would be an isolated piece of "
                    + np.where(prev >= 0, prev_ids, "its territory") + ")", text)
    out[idx] = text
    return pd.array(out, dtype="string")


# --- move budget ------------------------------------------------------------------------------


def _moves(result: BalanceResult, accounts: pd.DataFrame) -> tuple[int, float]:
    moved = result.assignment[MOVED].to_numpy(dtype=bool)
    rev = (pd.to_numeric(accounts[REVENUE], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)
           if REVENUE in accounts.columns else np.zeros(len(accounts)))
    total = rev.sum()
    return int(moved.sum()), (100 * rev[moved].sum() / total if total > 0 else 0.0)


def _over_budget(result: BalanceResult, accounts: pd.DataFrame, params: BalanceParams) -> bool:
    if params.move_budget_accounts is None and params.move_budget_revenue_pct is None:
        return False
    count, pct = _moves(result, accounts)
    return ((params.move_budget_accounts is not None and count > params.move_budget_accounts)
            or (params.move_budget_revenue_pct is not None and pct > params.move_budget_revenue_pct + 1e-9))


def _enforce_budget(accounts, params, territories, result, started) -> BalanceResult:
    """Raise the stay-bonus until the moves fit the budget; if even the minimal-move alignment
    does not fit, keep the most needed moves and say what the budget stopped."""
    first_count, first_pct = _moves(result, accounts)
    for multiplier in (4.0, 16.0, 100.0, 1e4):
        trial = _balance_once(accounts, params, territories, started, stay_multiplier=multiplier)
        if not _over_budget(trial, accounts, params):
            return _with_messages(trial, [
                f"Move budget: the unconstrained result moved {first_count:,} accounts ({first_pct:.1f}% of "
                f"revenue); stability was raised until {_moves(trial, accounts)[0]:,} moves fit the budget."])
    strict = _balance_once(accounts, replace(params, stability=1.0), territories, started)
    if not _over_budget(strict, accounts, params):
        return _with_messages(strict, ["Move budget: only the moves needed to reach the tolerance were made."])
    return _truncate(accounts, params, territories, strict, started)


def _with_messages(result: BalanceResult, extra: list[str]) -> BalanceResult:
    return replace(result, messages=tuple(extra) + result.messages,
                   seconds=result.seconds)


def _truncate(accounts, params, territories, result, started) -> BalanceResult:
    """Keep the moves out of the most over-loaded territories first, within the budget."""
    a = result.assignment
    moved = np.flatnonzero(a[MOVED].to_numpy(dtype=bool))
    weight = _measure_values(accounts, params.balance_on)
    rev = (pd.to_numeric(accounts[REVENUE], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)
           if REVENUE in accounts.columns else np.zeros(len(accounts)))
    target = result.territories.set_index(TERRITORY_ID)["target"]
    prev = a[PREVIOUS_TERRITORY_ID].astype(object).to_numpy()
    prev_load = pd.Series(weight).groupby(prev).sum()
    prev_dev = ((prev_load.reindex(target.index).fillna(0.0) - target) / target)
    src_dev = pd.Series(prev[moved]).map(prev_dev).fillna(np.inf).to_numpy(float)
    # most needed first: out of the most over-loaded territories, biggest balance effect per unit of budget
    effect = weight[moved] if params.move_budget_accounts is not None else weight[moved] / (rev[moved] + 1e-9)
    order = moved[np.lexsort((-effect, -src_dev))]
    keep = np.ones(order.size, dtype=bool)
    if params.move_budget_accounts is not None:
        keep &= np.arange(order.size) < int(params.move_budget_accounts)
    if params.move_budget_revenue_pct is not None and rev.sum() > 0:
        keep &= np.cumsum(rev[order]) / rev.sum() * 100 <= params.move_budget_revenue_pct + 1e-9
    revert = order[~keep]
    new = a.copy()
    new.loc[new.index[revert], TERRITORY_ID] = new[PREVIOUS_TERRITORY_ID].iloc[revert].to_numpy()
    new.loc[new.index[revert], MOVED] = False
    new.loc[new.index[revert], REASON] = ""
    ids = result.territories[TERRITORY_ID].astype(str).tolist()
    labels = new[TERRITORY_ID].astype(str).map({t: j for j, t in enumerate(ids)}).to_numpy()
    load = np.bincount(labels, weights=weight, minlength=len(ids))
    tgt = target.to_numpy(float)
    dev = (load - tgt) / tgt
    unit = _unit(params.balance_on)
    bad = np.flatnonzero(np.abs(dev) > params.tolerance + 1e-9)
    count, pct = int(new[MOVED].sum()), 0.0
    if rev.sum() > 0:
        pct = 100 * rev[new[MOVED].to_numpy(bool)].sum() / rev.sum()
    budget = " and ".join(x for x in (
        f"{params.move_budget_accounts:,} accounts" if params.move_budget_accounts is not None else "",
        f"{params.move_budget_revenue_pct:g}% of revenue" if params.move_budget_revenue_pct is not None else "")
        if x)
    msg = [f"Move budget ({budget}) stopped balancing: {count:,} accounts moved ({pct:.1f}% of revenue), "
           f"{order.size - count:,} further needed moves were not made."]
    if bad.size:
        worst = bad[np.argsort(-np.abs(dev[bad]))][:5]
        msg.append(f"{bad.size} territories remain outside +/-{100 * params.tolerance:g}%: " + "; ".join(
            f"{ids[j]} {_pct(dev[j])} ({_fmt(load[j], unit)} vs target {_fmt(tgt[j], unit)})" for j in worst) + ".")
    kept = tuple(m for m in result.messages
                 if not (m.startswith("Best balance") or m.startswith("Balanced ") or "change territory (" in m))
    summary = _summary(params, ids, dev, tgt, load, unit, new[MOVED].to_numpy(bool), accounts, weight)
    return replace(result, assignment=new, feasible=bool(bad.size == 0),
                   messages=tuple(msg) + kept + tuple(summary),
                   load=pd.Series(load, index=result.load.index, name="load"),
                   seconds=time.perf_counter() - started)


# --- scikit-learn shaped wrapper ----------------------------------------------------------------


class TerritoryBalancer:
    """Scikit-learn-shaped estimator over :func:`balance`.

    Parameters are those of :class:`BalanceParams` (stored untouched by ``__init__``); ``fit``
    validates them, runs the engine and sets ``labels_`` (territory ID per account), ``centers_``,
    ``result_``, ``feasible_`` and ``n_iter_``.
    """

    def __init__(self, n_territories: int | None = None,
                 balance_on: str | tuple[tuple[str, float], ...] = "workload", tolerance: float = 0.05,
                 stability: float = 0.5, compactness: float = 0.5, anchor: str = "free",
                 move_budget_accounts: int | None = None, move_budget_revenue_pct: float | None = None,
                 industry_teams: tuple[str, ...] = (), industry_team_sizes: tuple[tuple[str, int], ...] = (),
                 industry_focus: float = 0.0, also_balance: tuple[str, ...] = (), seed: int = 0) -> None:
        self.n_territories = n_territories
        self.balance_on = balance_on
        self.tolerance = tolerance
        self.stability = stability
        self.compactness = compactness
        self.anchor = anchor
        self.move_budget_accounts = move_budget_accounts
        self.move_budget_revenue_pct = move_budget_revenue_pct
        self.industry_teams = industry_teams
        self.industry_team_sizes = industry_team_sizes
        self.industry_focus = industry_focus
        self.also_balance = also_balance
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(BalanceParams)}

    def set_params(self, **params: Any) -> TerritoryBalancer:
        valid = {f.name for f in fields(BalanceParams)}
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(f"unknown parameter {name!r}; valid: {', '.join(sorted(valid))}.")
            setattr(self, name, value)
        return self

    def _params(self) -> BalanceParams:
        values = self.get_params()
        if isinstance(values["balance_on"], Mapping):
            values["balance_on"] = tuple(values["balance_on"].items())
        values["industry_teams"] = tuple(values["industry_teams"])
        values["industry_team_sizes"] = tuple(tuple(x) for x in values["industry_team_sizes"])
        return BalanceParams(**values)

    def fit(self, accounts: pd.DataFrame, territories: pd.DataFrame | None = None, y: Any = None) -> TerritoryBalancer:
        """Balance ``accounts``; returns self."""
        params = self._params()
        validate_params(params, n_accounts=len(accounts) if hasattr(accounts, "__len__") else None)
        self.result_ = balance(accounts, params, territories)
        self.labels_ = self.result_.assignment[TERRITORY_ID]
        self.centers_ = self.result_.centers
        self.feasible_ = self.result_.feasible
        self.n_iter_ = self.result_.n_iter
        return self

    def fit_predict(self, accounts: pd.DataFrame, territories: pd.DataFrame | None = None, y: Any = None) -> pd.Series:
        return self.fit(accounts, territories).labels_

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != getattr(BalanceParams(), k)}
        return f"TerritoryBalancer({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
