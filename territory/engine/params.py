"""The engine's parameters and the measure being balanced: validated up front, with messages a
sales-ops user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from territory.data.measures import measure_values as values_of
from territory.data.measures import potential_unknown_share
from territory.data.schema import ACCOUNT_ID, MAX_AMOUNT, MEASURE_COLUMN, MEASURES, POTENTIAL
from territory.errors import ParameterError

ANCHORS = ("free", "home")
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
    industry_teams: tuple[str, ...] = ()  # industries with specialist territories (planning.industry)
    industry_team_sizes: tuple[tuple[str, int], ...] = ()  # optional fixed team sizes
    industry_focus: float = 0.0  # 0..1: make territories specialise in fewer industries
    also_balance: tuple[str, ...] = ()  # further measures to bring within the tolerance too
    seed: int = 0
    only_fix_outside: bool = False  # move accounts only out of territories outside the band, into neighbours


# --- validation -------------------------------------------------------------------------------


def composite(balance_on: Any) -> dict[str, float]:
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
    composite(params.balance_on)
    also_measures(params)
    if not isinstance(params.only_fix_outside, (bool, np.bool_)):
        raise ParameterError(f"only_fix_outside must be True or False, got {params.only_fix_outside!r}.")
    if not isinstance(params.seed, (int, np.integer)) or isinstance(params.seed, bool):
        raise ParameterError(f"seed must be an integer, got {params.seed!r}.")


def also_measures(params: BalanceParams) -> tuple[str, ...]:
    """The further measures of ``also_balance``, checked: known, and not the main measure itself."""
    also = params.also_balance
    if isinstance(also, str):
        also = (also,)
    try:
        names = tuple(str(m).strip() for m in also)
    except TypeError:
        raise ParameterError(f"also_balance must be a list of measures such as ('revenue',), got {also!r}.") from None
    main = composite(params.balance_on)
    for name in names:
        if name not in MEASURES:
            raise ParameterError(f"also_balance measure {name!r} is unknown; choose from {', '.join(MEASURES)}.")
        if len(main) == 1 and name in main:
            raise ParameterError(f"also_balance names {name!r}, which is already the main balance measure; "
                                 "name a different one (for example 'revenue').")
    return tuple(dict.fromkeys(names))


# --- measures ---------------------------------------------------------------------------------


def measure_values(accounts: pd.DataFrame, balance_on: Any) -> np.ndarray:
    """Balance measure per account (>= 0); composites sum each measure's share of its total."""
    spec = composite(balance_on)
    for measure in spec:
        column = MEASURE_COLUMN[measure]
        if column is not None and column not in accounts.columns:
            raise ParameterError(
                f"balance_on={measure!r} needs a {column!r} column, but the accounts have none; "
                f"add it or balance on another measure ({', '.join(MEASURES)}).")
        if column == POTENTIAL and len(accounts) and potential_unknown_share(accounts) == 1.0:
            # its zeros are not data: balancing on them would only look like balancing
            raise ParameterError(
                "cannot balance on potential: it is unknown for every account (the file has neither a potential "
                "nor a revenue column); map one of them, or balance on workload or accounts.")
    for measure in spec:
        column = MEASURE_COLUMN[measure]
        if column is None:
            continue
        raw = pd.to_numeric(accounts[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        absurd = np.isinf(raw) | (np.abs(raw) > MAX_AMOUNT)
        if absurd.any():
            where = np.flatnonzero(absurd)[:3]
            names = (accounts[ACCOUNT_ID].iloc[where].astype(str).tolist() if ACCOUNT_ID in accounts.columns
                     else [f"row {i + 1}" for i in where])
            raise ParameterError(
                f"{column} is not a usable number for {int(absurd.sum()):,} accounts ({', '.join(names)}: "
                f"{', '.join(f'{v:g}' for v in raw[where])}); it must be finite and at most {MAX_AMOUNT:g}. "
                "Fix it in the data or leave it blank.")
    values = np.asarray(values_of(accounts, next(iter(spec)) if len(spec) == 1 else spec), dtype=float)
    return np.clip(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def unit_of(balance_on: Any) -> str:
    spec = composite(balance_on)
    return MEASURE_UNIT[next(iter(spec))] if len(spec) == 1 else "points"


def fmt(value: float, unit: str) -> str:
    if unit == "USD":
        return f"${value:,.0f}"
    if unit == "accounts":
        return f"{value:,.0f} accounts"
    if unit == "points":  # composite measures are shares of the whole book (they sum to 1)
        return f"{100 * value:.2f}% of the total mix"
    return f"{value:,.0f} {unit}"


def measure_name(balance_on: Any) -> str:
    spec = composite(balance_on)
    if len(spec) == 1:
        return next(iter(spec))
    total = sum(spec.values())
    return " + ".join(f"{100 * w / total:.0f}% {m}" for m, w in spec.items())


