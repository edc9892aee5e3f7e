"""The quarterly review: how each territory performed, what it should carry next, what needs attention.

Pure pandas/numpy (no Streamlit): the Quarterly review page, the HTML report and the XLSX export all
read these numbers. Any alignment can be reviewed: pass the labels of the active alignment or of a
scenario, and every booking follows its *account* to the territory that alignment gives it, so a
leader sees how a proposed territory would have performed.

Definitions (units in brackets; also in docs/review.md)
---------------------------------------------------
* **bookings** [USD per quarter]: sum of ``amount`` of a territory's accounts in a calendar quarter
  (``2026Q3``). Quarters missing between the first and the last count as 0.
* **QoQ growth** [%]: ``(latest quarter / previous quarter - 1) x 100``; **YoY growth** [%]:
  ``(latest quarter / same quarter a year earlier - 1) x 100``. Undefined (blank) when the base is 0
  or outside the data.
* **trailing 4 quarters** [USD/year]: bookings of the latest 4 quarters (annualised as
  ``sum x 4 / n`` when only n < 4 quarters exist).
* **penetration** [%]: trailing-4-quarter bookings / potential (USD/year) x 100: the share of the
  territory's annual wallet it captures.
* **quota rule**: next quarter's quota of territory i is ``total x share_i`` with
  ``share_i = w x potential_i / sum(potential) + (1 - w) x recent_i / sum(recent)``, where ``w`` is
  the potential weight (0..1) and ``recent`` the trailing-4-quarter bookings (with a forecast weight f > 0,
  ``(1 - f) x`` their share ``+ f x`` the share of next quarter's forecast, territory.planning.forecast).
  When every potential (or every recent booking) is 0 the other part takes the whole weight; when both are 0 the total
  is split by capacity (FTE). Quotas are whole dollars and add up exactly to the total
  (largest-remainder rounding: round down, then hand the leftover dollars to the largest fractions).
* **quota / potential** [%]: quota / (potential / 4) x 100, the quota against one quarter of the
  wallet; **quota / last bookings** [%]: quota / bookings of the latest quarter x 100.
* **attainment** [%]: the latest quarter's bookings / the territory's imported quota for it
  (``build_review(quotas=...)``, ``quota_source`` "imported"); without one, against the quota the
  same rule would have set for the latest quarter (same weight, using only data up to the quarter
  before, total = what the team actually booked in it; "rule"): 100% means the territory booked
  exactly its fair share.

Flags (thresholds are :class:`ReviewSettings` fields; a flag needs the value strictly beyond the
threshold, so a value exactly at it does not flag):

* **over capacity**: utilisation > max_utilisation_pct, where utilisation [%] is the workload against
  the team's mean workload per FTE (``workload / (capacity_fte x total workload / total FTE) x 100``,
  :func:`territory.planning.metrics.utilisation_pct`): the basis the engine balances on, so an
  alignment balanced within its tolerance raises no capacity flag, and rule-estimated hours (a CRM
  file has none of its own) are read relative to the team, not as a count of hours;
* **under-covered potential**: potential > high_potential_ratio x the mean territory potential and
  penetration < low_penetration_pct;
* **too many accounts**: accounts > max_accounts_per_fte x capacity_fte;
* **far accounts**: accounts farther (great-circle) from the rep's home base than
  max(far_km, far_reach_factor x the territory's reach), the reach being the distance from the home
  within which 90% of the territory's workload lies: the engine's far rule (2 x radius, at least
  300 km), so a territory that is wide by design is not flagged for being wide, only for its outliers;
* **quota above potential**: quota / potential > max_quota_vs_potential_pct;
* **quota above recent bookings**: quota / last bookings > max_quota_vs_last_pct.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.spreadsheet import to_xlsx_bytes
from territory.errors import DataError, ParameterError
from territory.geo import haversine_km
from territory.planning.forecast import forecast_bookings
from territory.planning.hierarchy import largest_remainder, level_path_header, level_paths, split_top_down
from territory.planning.metrics import pareto_curve, top_share, utilisation_pct
from territory.planning.quarters import next_quarter, quarter_index, quarter_label

__all__ = [
    "FLAG_KINDS",
    "QuarterlyReview",
    "ReviewSettings",
    "align_labels",
    "backtest_attainment",
    "bookings_by_territory",
    "build_review",
    "default_capacity_ids",
    "default_quota_total",
    "far_accounts",
    "far_rule_text",
    "growth_table",
    "largest_remainder",
    "next_quarter",
    "parse_usd",
    "pareto_tables",
    "quarter_index",
    "quarter_label",
    "quota_shares",
    "review_flags",
    "review_sections_html",
    "review_xlsx_bytes",
    "suggest_quotas",
    "territory_reach_km",
]

OVER_CAPACITY = "Over capacity"
UNDER_COVERED = "Under-covered potential"
TOO_MANY_ACCOUNTS = "Too many accounts"
FAR_ACCOUNTS = "Accounts far from rep home"
QUOTA_VS_POTENTIAL = "Quota above potential"
QUOTA_VS_LAST = "Quota above recent bookings"
FLAG_KINDS: tuple[str, ...] = (
    OVER_CAPACITY,
    UNDER_COVERED,
    TOO_MANY_ACCOUNTS,
    FAR_ACCOUNTS,
    QUOTA_VS_POTENTIAL,
    QUOTA_VS_LAST,
)
FLAG_COLUMNS: tuple[str, ...] = (
    schema.TERRITORY_ID, schema.REP_NAME, "flag", "detail", "value", "threshold", "unit",
)
ALL_ACCOUNTS = "All accounts"



# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSettings:
    """Every choice of the review (frozen and hashable, so a UI can cache on it).

    ``quota_total`` None means :func:`default_quota_total` (same quarter last year + 10%).
    """

    quota_total: float | None = None  # USD for next quarter
    potential_weight: float = 0.5  # 0..1: weight of potential share in the quota blend
    max_utilisation_pct: float = 110.0  # workload per FTE above this % of the team's mean per FTE is flagged
    forecast_weight: float = 0.0  # 0..1: within the bookings side, weight of next quarter's forecast over recent
    max_accounts_per_fte: float = 300.0  # accounts one full-time rep can cover
    far_km: float = 300.0  # far = farther from the rep's home than max(far_km, far_reach_factor x reach)
    far_reach_factor: float = 2.0  # x the territory's reach (90% of its workload within it); 0 = far_km alone
    high_potential_ratio: float = 1.25  # potential above this x the mean territory potential is "high"
    low_penetration_pct: float = 15.0  # penetration below this % is "low"
    max_quota_vs_potential_pct: float = 40.0  # quota above this % of a quarter's potential is flagged
    max_quota_vs_last_pct: float = 175.0  # quota above this % of the latest quarter's bookings is flagged
    default_growth_pct: float = 10.0  # default total = same quarter last year x (1 + this %)

    def validate(self) -> ReviewSettings:
        """Self, or a ParameterError naming the setting and its allowed range."""
        if not 0.0 <= self.potential_weight <= 1.0 or not math.isfinite(self.potential_weight):
            raise ParameterError(f"potential_weight is {self.potential_weight}; use a value from 0 to 1")
        if not 0.0 <= self.forecast_weight <= 1.0 or not math.isfinite(self.forecast_weight):
            raise ParameterError(f"forecast_weight is {self.forecast_weight}; use a value from 0 to 1")
        if self.quota_total is not None and (not math.isfinite(self.quota_total) or self.quota_total < 0):
            raise ParameterError(f"quota total is {self.quota_total}; use a number of USD >= 0")
        for name in ("max_utilisation_pct", "max_accounts_per_fte", "far_km", "high_potential_ratio"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ParameterError(f"{name} is {value}; it must be a number > 0")
        if not math.isfinite(self.far_reach_factor) or self.far_reach_factor < 0:
            raise ParameterError(f"far_reach_factor is {self.far_reach_factor}; it must be a number >= 0 "
                                 "(0 = far_km alone)")
        for name in ("low_penetration_pct", "max_quota_vs_potential_pct", "max_quota_vs_last_pct"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ParameterError(f"{name} is {value}; it must be a percentage >= 0")
        return self


_USD_RE = re.compile(r"^\s*\$?\s*(\d[\d,]*(?:\.\d+)?|\.\d+)\s*([kKmMbB]?)\s*(?:USD)?\s*$")
_USD_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}


def parse_usd(text: str) -> float:
    """An amount typed as people write it: 31,192,503 / $31,192,503 / 31.2M / 450k (USD, >= 0).

    A text field instead of a number box, so the amount can show its thousands separators.

    >>> parse_usd("$31,192,503"), parse_usd("31.2M"), parse_usd(" 450k ")
    (31192503.0, 31200000.0, 450000.0)
    """
    match = _USD_RE.match(str(text))
    if not match or not re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?|[\d.]+", match.group(1)):
        raise ParameterError(f"{str(text).strip()!r} is not an amount in USD; write it like 31,192,503 or 31.2M")
    return float(match.group(1).replace(",", "")) * _USD_SCALE[match.group(2).lower()]


# --- quarters ---------------------------------------------------------------------------------


def _quarter_codes(quarters: pd.Series) -> np.ndarray:
    """quarter_index of every value, parsing each distinct spelling once; errors list examples."""
    text = quarters.astype("string").fillna("")
    uniques = pd.unique(text.to_numpy(dtype=object))
    codes: dict[str, int] = {}
    bad: list[str] = []
    for value in uniques:
        try:
            codes[value] = quarter_index(value)
        except DataError:
            bad.append(str(value))
    if bad:
        rows = int(text.isin(bad).sum())
        raise DataError(
            f"{rows:,} booking row(s) have an unreadable quarter (e.g. {', '.join(map(repr, bad[:3]))}); "
            "write quarters like 2026Q3"
        )
    return text.map(codes).to_numpy(dtype=np.int64)


# --- alignment --------------------------------------------------------------------------------


def align_labels(accounts: pd.DataFrame, labels: Any) -> pd.Series:
    """Territory per account as a string Series on ``accounts.index`` (<NA> = unassigned).

    Accepts a Series on the accounts' index (the app's active alignment), a Series indexed by
    ``account_id`` (``Scenario.labels()``; accounts it does not list keep their own
    ``territory_id``), or a plain sequence in account order.
    """
    if not isinstance(labels, pd.Series):
        values = list(labels)
        if len(values) != len(accounts):
            raise ParameterError(f"labels has {len(values)} values for {len(accounts)} accounts")
        out = pd.Series(values, index=accounts.index, dtype="string")
    elif labels.index.equals(accounts.index):
        out = labels.astype("string")
    else:
        ids = accounts[schema.ACCOUNT_ID].astype(str)
        by_id = labels.copy()
        by_id.index = by_id.index.astype(str)
        if by_id.index.isin(ids.to_numpy()).any():
            if not by_id.index.is_unique:
                raise ParameterError("labels list an account_id more than once; each account has one territory")
            out = pd.Series(ids.map(by_id).to_numpy(), index=accounts.index).astype("string")
            if schema.TERRITORY_ID in accounts.columns:
                out = out.fillna(accounts[schema.TERRITORY_ID].astype("string"))
        elif labels.index.is_unique and accounts.index.isin(labels.index).all():
            out = labels.reindex(accounts.index).astype("string")
        else:
            raise ParameterError(
                "labels match neither the accounts' index nor their account_id values; pass one "
                "territory per account"
            )
    out = out.str.strip()
    return out.mask(out == "").rename(schema.TERRITORY_ID)


def _territory_ids(labels: pd.Series, territories: pd.DataFrame | None) -> list[str]:
    ids = set(labels.dropna().astype(str))
    if territories is not None and schema.TERRITORY_ID in territories.columns:
        ids |= set(territories[schema.TERRITORY_ID].dropna().astype(str))
    return sorted(ids)


# --- bookings ---------------------------------------------------------------------------------


def _check_bookings(bookings: pd.DataFrame | None) -> pd.DataFrame:
    if bookings is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in schema.BOOKING_COLUMNS})
    missing = [c for c in schema.BOOKING_COLUMNS if c not in bookings.columns]
    if missing:
        raise DataError(
            f"the bookings table lacks column(s) {', '.join(missing)}; it needs account_id, quarter "
            "(like 2026Q3) and amount (USD)"
        )
    return bookings


def bookings_by_territory(
    accounts: pd.DataFrame,
    labels: Any,
    bookings: pd.DataFrame,
    territories: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """(table, notes): bookings in USD, one row per territory, one column per quarter (oldest first).

    Every booking follows its account to the territory ``labels`` gives it. Rows: every territory
    of ``territories`` plus every label (sorted). Quarters: every quarter from the first to the
    last (gaps filled with 0). Bookings of accounts that are unknown or unassigned are left out and
    counted in ``notes``.

    >>> accounts = pd.DataFrame({"account_id": ["a", "b"]})
    >>> bookings = pd.DataFrame({"account_id": ["a", "b", "b"], "quarter": ["2026Q1", "2026Q1", "2026Q3"],
    ...                          "amount": [10.0, 5.0, 7.0]})
    >>> bookings_by_territory(accounts, ["T1", "T2"], bookings)[0].to_dict("index")
    {'T1': {'2026Q1': 10.0, '2026Q2': 0.0, '2026Q3': 0.0}, 'T2': {'2026Q1': 5.0, '2026Q2': 0.0, '2026Q3': 7.0}}
    """
    bookings = _check_bookings(bookings)
    aligned = align_labels(accounts, labels)
    ids = _territory_ids(aligned, territories)
    notes: list[str] = []
    if len(bookings) == 0:
        return pd.DataFrame(index=pd.Index(ids, name=schema.TERRITORY_ID), dtype=float), notes
    amount = pd.to_numeric(bookings[schema.AMOUNT], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    blank = ~np.isfinite(amount)
    if blank.any():
        notes.append(f"{int(blank.sum()):,} booking row(s) without a readable amount were counted as 0 USD.")
        amount = np.where(blank, 0.0, amount)
    codes = _quarter_codes(bookings[schema.QUARTER])
    account_ids = bookings[schema.ACCOUNT_ID].astype("string").str.strip()
    territory_of = pd.Series(aligned.to_numpy(), index=accounts[schema.ACCOUNT_ID].astype(str).to_numpy())
    territory_of = territory_of[~territory_of.index.duplicated(keep="first")]
    territory = account_ids.map(territory_of)
    known = account_ids.isin(territory_of.index).to_numpy()
    if (~known).any():
        notes.append(
            f"{int((~known).sum()):,} booking row(s) ({_usd(amount[~known].sum())}) belong to accounts that are "
            "not in the dataset; they are left out."
        )
    unassigned = known & territory.isna().to_numpy()
    if unassigned.any():
        notes.append(
            f"{int(unassigned.sum()):,} booking row(s) ({_usd(amount[unassigned].sum())}) belong to accounts "
            "without a territory; they are left out."
        )
    first, last = int(codes.min()), int(codes.max())
    quarters = [quarter_label(q) for q in range(first, last + 1)]
    keep = known & ~unassigned
    frame = pd.DataFrame({
        "t": territory.to_numpy(dtype=object)[keep],
        "q": codes[keep] - first,
        "v": amount[keep],
    })
    table = pd.DataFrame(0.0, index=pd.Index(ids, name=schema.TERRITORY_ID), columns=quarters)
    if len(frame):
        sums = frame.groupby(["t", "q"], sort=False)["v"].sum()
        rows = table.index.get_indexer(sums.index.get_level_values(0))
        values = table.to_numpy(copy=True)
        np.add.at(values, (rows, sums.index.get_level_values(1).to_numpy()), sums.to_numpy())
        table = pd.DataFrame(values, index=table.index, columns=quarters)
    table.columns.name = schema.QUARTER
    return table, notes


def trailing_bookings(by_quarter: pd.DataFrame, quarters: int = 4, end: int | None = None) -> pd.Series:
    """Bookings of the ``quarters`` quarters ending at column ``end`` (default: latest), annualised
    to ``quarters`` quarters when fewer exist (USD per ``quarters`` quarters)."""
    n_cols = by_quarter.shape[1]
    end = n_cols - 1 if end is None else end
    if n_cols == 0 or end < 0:
        return pd.Series(np.nan, index=by_quarter.index, dtype=float)
    start = max(0, end - quarters + 1)
    window = by_quarter.iloc[:, start : end + 1]
    return window.sum(axis=1) * quarters / window.shape[1]


def _growth_pct(now: pd.Series, base: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (now / base - 1.0) * 100.0
    return out.where(base > 0)


def growth_table(by_quarter: pd.DataFrame) -> pd.DataFrame:
    """Per territory: latest, previous and year-ago quarter bookings (USD), QoQ and YoY growth (%),
    trailing-4-quarter bookings (USD/year).

    >>> by_q = pd.DataFrame({"2025Q1": [100.0], "2025Q2": [0.0], "2025Q3": [0.0], "2025Q4": [80.0],
    ...                      "2026Q1": [120.0]}, index=["T1"])
    >>> growth_table(by_q)[["qoq_pct", "yoy_pct"]].round(1).to_dict("records")
    [{'qoq_pct': 50.0, 'yoy_pct': 20.0}]
    """
    n = by_quarter.shape[1]
    nan = pd.Series(np.nan, index=by_quarter.index, dtype=float)
    last = by_quarter.iloc[:, -1] if n >= 1 else nan
    prev = by_quarter.iloc[:, -2] if n >= 2 else nan
    year_ago = by_quarter.iloc[:, -5] if n >= 5 else nan
    return pd.DataFrame({
        "bookings_last_quarter": last.astype(float),
        "bookings_previous_quarter": prev.astype(float),
        "qoq_pct": _growth_pct(last, prev),
        "bookings_year_ago": year_ago.astype(float),
        "yoy_pct": _growth_pct(last, year_ago),
        "trailing_4q": trailing_bookings(by_quarter, 4),
    }, index=by_quarter.index)


def growth_series(by_quarter: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(QoQ %, YoY %) for every territory and quarter (blank where the base is 0 or missing)."""
    qoq = _growth_pct(by_quarter, by_quarter.shift(1, axis=1))
    yoy = _growth_pct(by_quarter, by_quarter.shift(4, axis=1))
    return qoq, yoy


# --- quota ------------------------------------------------------------------------------------


def quota_shares(
    potential: pd.Series, recent: pd.Series, potential_weight: float, capacity: pd.Series | None = None
) -> pd.Series:
    """Blend of potential share and recent-bookings share (fractions adding up to 1); see the module
    docstring for the fall-backs when a side is all zero.

    >>> quota_shares(pd.Series([3.0, 1.0]), pd.Series([1.0, 1.0]), 0.5).tolist()
    [0.625, 0.375]
    """
    if not 0.0 <= potential_weight <= 1.0:
        raise ParameterError(f"potential weight is {potential_weight}; use a value from 0 to 1")
    pot = np.clip(np.nan_to_num(pd.to_numeric(potential, errors="coerce").to_numpy(dtype=float)), 0, None)
    rec = np.clip(np.nan_to_num(pd.to_numeric(recent, errors="coerce").to_numpy(dtype=float)), 0, None)
    weight = float(potential_weight)
    if pot.sum() <= 0 and rec.sum() <= 0:
        cap = np.ones(len(pot)) if capacity is None else np.clip(np.nan_to_num(capacity.to_numpy(dtype=float)), 0, None)
        share = cap / cap.sum() if cap.sum() > 0 else np.full(len(pot), 1.0 / max(len(pot), 1))
        return pd.Series(share, index=potential.index)
    if pot.sum() <= 0:
        weight = 0.0
    elif rec.sum() <= 0:
        weight = 1.0
    share = np.zeros(len(pot))
    if weight > 0:
        share += weight * pot / pot.sum()
    if weight < 1:
        share += (1 - weight) * rec / rec.sum()
    return pd.Series(share, index=potential.index)


def suggest_quotas(
    potential: pd.Series,
    recent: pd.Series,
    total: float,
    potential_weight: float = 0.5,
    capacity: pd.Series | None = None,
) -> pd.Series:
    """Next-quarter quota per territory in whole USD; they add up exactly to ``round(total)``.

    >>> suggest_quotas(pd.Series([3.0, 1.0], index=["T1", "T2"]), pd.Series([1.0, 1.0], index=["T1", "T2"]),
    ...                1001, 0.5).to_dict()
    {'T1': 626, 'T2': 375}
    """
    if total is None or not math.isfinite(float(total)) or float(total) < 0:
        raise ParameterError(f"quota total is {total}; use a number of USD >= 0")
    shares = quota_shares(potential, recent, potential_weight, capacity)
    return pd.Series(largest_remainder(int(round(float(total))), shares.to_numpy()), index=potential.index)


def default_quota_total(by_quarter: pd.DataFrame, growth_pct: float = 10.0) -> int:
    """A starting total for next quarter: bookings of the same quarter a year earlier (seasonality)
    x (1 + growth), or the latest quarter's when the data hold less than 4 quarters; whole USD."""
    n = by_quarter.shape[1]
    if n == 0:
        return 0
    base = by_quarter.iloc[:, n - 4].sum() if n >= 4 else by_quarter.iloc[:, -1].sum()
    return int(round(float(base) * (1 + growth_pct / 100.0)))


def backtest_attainment(
    by_quarter: pd.DataFrame, potential: pd.Series, potential_weight: float, capacity: pd.Series | None = None
) -> pd.DataFrame:
    """Latest-quarter bookings against the quota the rule would have set for it (see module docstring).

    Columns: ``backtest_quota`` (USD), ``attainment_pct`` (%). Blank with fewer than 2 quarters.
    """
    index = by_quarter.index
    if by_quarter.shape[1] < 2:
        return pd.DataFrame({"backtest_quota": np.nan, "attainment_pct": np.nan}, index=index)
    actual = by_quarter.iloc[:, -1]
    recent = trailing_bookings(by_quarter, 4, end=by_quarter.shape[1] - 2)
    quota = suggest_quotas(potential.reindex(index), recent, float(actual.sum()), potential_weight, capacity)
    with np.errstate(divide="ignore", invalid="ignore"):
        attainment = (actual / quota * 100.0).where(quota > 0)
    return pd.DataFrame({"backtest_quota": quota.astype(float), "attainment_pct": attainment}, index=index)


# --- 80/20 ------------------------------------------------------------------------------------


def pareto_tables(
    accounts: pd.DataFrame, labels: Any, value: str = schema.REVENUE, fraction: float = 0.2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, summary) of the 80/20 of ``value`` by account, overall and per territory.

    ``curves``: scope ("All accounts" or a territory), account_share, value_share (fractions).
    ``summary``: scope, accounts, value total, top_share_pct (share of the top ``fraction`` of
    accounts, %). Reuses :func:`territory.planning.metrics.pareto_curve` and
    :func:`~territory.planning.metrics.top_share`.
    """
    aligned = align_labels(accounts, labels)
    values = (
        pd.to_numeric(accounts[value], errors="coerce").fillna(0.0)
        if value in accounts.columns
        else pd.Series(0.0, index=accounts.index)
    )
    curves, rows = [], []
    groups = [(ALL_ACCOUNTS, values)] + [
        (str(t), values[(aligned == t).fillna(False).to_numpy()]) for t in sorted(aligned.dropna().unique())
    ]
    for scope, vals in groups:
        curve = pareto_curve(vals)
        curves.append(curve.assign(scope=scope))
        share = top_share(vals, fraction) if len(vals) else float("nan")
        rows.append({"scope": scope, "accounts": int(len(vals)), value: float(vals.clip(lower=0).sum()),
                     "top_share_pct": share * 100 if math.isfinite(share) else np.nan})
    curves_frame = pd.concat(curves, ignore_index=True)[["scope", "accounts", "account_share", "value_share"]]
    return curves_frame, pd.DataFrame(rows)


# --- geography --------------------------------------------------------------------------------


REACH_QUANTILE = 0.9
"""A territory's reach holds this share of its workload: the engine's radius quantile
(``territory/engine/polish.py``), so "far" on the review means what it means to a rebalance."""


def territory_reach_km(distance_km: Any, territory: Any, workload: Any,
                       quantile: float = REACH_QUANTILE) -> pd.Series:
    """Per territory (sorted), the smallest distance with at least ``quantile`` of its workload at or
    below it: how far from the home the territory's work reaches, ignoring its last tenth.

    Workload that is missing or negative weighs 0; a territory whose workload is all 0 takes every
    account alike, so its reach stays defined. Accounts without a distance are left out.

    >>> territory_reach_km([100.0, 200.0, 900.0], ["T1", "T1", "T1"], [5.0, 4.0, 1.0]).to_dict()
    {'T1': 200.0}
    """
    distance = np.asarray(distance_km, dtype=float)
    weight = pd.to_numeric(pd.Series(np.asarray(workload)), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    weight = np.where(np.isfinite(weight) & (weight > 0), weight, 0.0)
    groups = pd.Series(np.asarray(territory, dtype=object)).astype("string")
    keep = np.isfinite(distance) & groups.notna().to_numpy()
    codes, names = pd.factorize(groups[keep], sort=True)
    distance, weight = distance[keep], weight[keep]
    order = np.lexsort((distance, codes))
    codes, distance, weight = codes[order], distance[order], weight[order]
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    out = np.zeros(len(names))
    for j in range(len(names)):
        d, w = distance[bounds[j]:bounds[j + 1]], weight[bounds[j]:bounds[j + 1]]
        running = np.cumsum(w if w.sum() > 0 else np.ones_like(w))
        at = int(np.searchsorted(running, quantile * running[-1] * (1 - 1e-12)))
        out[j] = d[min(at, d.size - 1)]
    return pd.Series(out, index=pd.Index(names.astype(str), name=schema.TERRITORY_ID), dtype=float)


def far_accounts(
    accounts: pd.DataFrame, labels: Any, territories: pd.DataFrame | None, far_km: float,
    far_reach_factor: float = ReviewSettings.far_reach_factor, counted: Any = None,
) -> pd.DataFrame:
    """Accounts farther from their rep's home base than their territory's limit, farthest first.

    limit = max(``far_km``, ``far_reach_factor`` x the territory's reach, :func:`territory_reach_km`
    with the accounts' workload; ``counted``: the accounts that carry load, the others weigh 0).
    Columns: account_id, name, territory_id, distance_km, reach_km, limit_km. Empty when homes or
    coordinates are missing.
    """
    columns = [schema.ACCOUNT_ID, schema.NAME, schema.TERRITORY_ID, "distance_km", "reach_km", "limit_km"]
    needed = (schema.HOME_LATITUDE, schema.HOME_LONGITUDE)
    if (
        territories is None
        or any(c not in territories.columns for c in needed)
        or schema.LATITUDE not in accounts.columns
        or schema.LONGITUDE not in accounts.columns
    ):
        return pd.DataFrame(columns=columns)
    aligned = align_labels(accounts, labels)
    homes = territories.assign(**{schema.TERRITORY_ID: territories[schema.TERRITORY_ID].astype(str)})
    homes = homes.drop_duplicates(schema.TERRITORY_ID).set_index(schema.TERRITORY_ID)
    def home(column: str) -> np.ndarray:
        return pd.to_numeric(aligned.map(homes[column]), errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    hlat, hlon = home(schema.HOME_LATITUDE), home(schema.HOME_LONGITUDE)
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        distance = haversine_km(lat, lon, hlat, hlon)
    workload = (pd.to_numeric(accounts[schema.WORKLOAD_HOURS], errors="coerce").to_numpy(dtype=float, na_value=0.0)
                if schema.WORKLOAD_HOURS in accounts.columns else np.zeros(len(accounts)))
    if counted is not None:
        workload = np.where(np.asarray(counted, dtype=bool), workload, 0.0)
    reach_by_territory = territory_reach_km(distance, aligned.to_numpy(dtype=object), workload)
    reach = aligned.map(reach_by_territory).to_numpy(dtype=float, na_value=np.nan)
    limit = np.maximum(far_km, far_reach_factor * np.nan_to_num(reach))
    far = np.isfinite(distance) & (distance > limit)
    names = accounts[schema.NAME] if schema.NAME in accounts.columns else pd.Series(pd.NA, index=accounts.index)
    out = pd.DataFrame({
        schema.ACCOUNT_ID: accounts[schema.ACCOUNT_ID].astype("string").to_numpy()[far],
        schema.NAME: names.astype("string").to_numpy()[far],
        schema.TERRITORY_ID: aligned.to_numpy()[far],
        "distance_km": distance[far],
        "reach_km": reach[far],
        "limit_km": limit[far],
    })
    return out.sort_values("distance_km", ascending=False, kind="stable").reset_index(drop=True)


# --- flags ------------------------------------------------------------------------------------


def _flag(row: pd.Series, kind: str, detail: str, value: float, threshold: float, unit: str) -> dict[str, Any]:
    return {
        schema.TERRITORY_ID: str(row[schema.TERRITORY_ID]),
        schema.REP_NAME: row.get(schema.REP_NAME),
        "flag": kind,
        "detail": detail,
        "value": float(value),
        "threshold": float(threshold),
        "unit": unit,
    }


def _far_reason(settings: ReviewSettings, reach: Any) -> str:
    """Why a territory's far limit is what it is, in brackets ("" when far_km alone applies)."""
    factor = settings.far_reach_factor
    try:
        reach = float(reach)
    except (TypeError, ValueError):
        return ""
    if factor <= 0 or not math.isfinite(reach):
        return ""
    if factor * reach > settings.far_km:
        return f" ({factor:g} x this territory's reach of {reach:,.0f} km; at least {settings.far_km:,.0f} km)"
    return f" (the floor: {factor:g} x this territory's reach of {reach:,.0f} km is less)"


def review_flags(table: pd.DataFrame, settings: ReviewSettings, far: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (territory, problem): ``FLAG_COLUMNS``; ``detail`` names the territory and the numbers.

    ``table`` is :attr:`QuarterlyReview.table` (any frame with its columns works); ``far`` is
    :func:`far_accounts` output.
    """
    rows: list[dict[str, Any]] = []
    mean_potential = float(table[schema.POTENTIAL].mean()) if len(table) else float("nan")
    far_groups = far.groupby(schema.TERRITORY_ID, sort=False) if far is not None and len(far) else None
    for _, row in table.iterrows():
        tid = str(row[schema.TERRITORY_ID])
        rep = row.get(schema.REP_NAME)
        who = f"{tid}" + (f" ({rep})" if isinstance(rep, str) and rep else "")
        capacity = float(row[schema.CAPACITY_FTE])
        utilisation = float(row["utilisation_pct"])
        if math.isfinite(utilisation) and utilisation > settings.max_utilisation_pct:
            workload = float(row[schema.WORKLOAD_HOURS])
            rows.append(_flag(row, OVER_CAPACITY,
                              f"{who}: workload {workload:,.0f} h/yr on {capacity:g} FTE is {utilisation:,.0f}% of "
                              f"the team's average per FTE (threshold {settings.max_utilisation_pct:g}%).",
                              utilisation, settings.max_utilisation_pct, "%"))
        potential = float(row[schema.POTENTIAL])
        penetration = float(row["penetration_pct"])
        high = settings.high_potential_ratio * mean_potential
        if potential > high and math.isfinite(penetration) and penetration < settings.low_penetration_pct:
            rows.append(_flag(row, UNDER_COVERED,
                              f"{who}: potential {_usd(potential)}/yr is {potential / mean_potential:.2f}x the "
                              f"average territory (threshold {settings.high_potential_ratio:g}x) but penetration "
                              f"is only {penetration:.1f}% (threshold {settings.low_penetration_pct:g}%).",
                              penetration, settings.low_penetration_pct, "%"))
        n_accounts = int(row["accounts"])
        max_accounts = settings.max_accounts_per_fte * capacity
        if n_accounts > max_accounts:
            rows.append(_flag(row, TOO_MANY_ACCOUNTS,
                              f"{who}: {n_accounts:,} accounts for {capacity:g} FTE is above the limit of "
                              f"{max_accounts:,.0f} ({settings.max_accounts_per_fte:,.0f} per FTE).",
                              n_accounts, max_accounts, "accounts"))
        if far_groups is not None and tid in far_groups.groups:
            group = far_groups.get_group(tid)
            top = group.iloc[0]
            name = top[schema.NAME] if pd.notna(top[schema.NAME]) else top[schema.ACCOUNT_ID]
            limit = float(group["limit_km"].max()) if "limit_km" in group else settings.far_km
            rows.append(_flag(row, FAR_ACCOUNTS,
                              f"{who}: {len(group):,} account(s) farther from the rep's home than {limit:,.0f} km"
                              f"{_far_reason(settings, top.get('reach_km'))}; farthest {name} "
                              f"({top[schema.ACCOUNT_ID]}) at {top['distance_km']:,.0f} km.",
                              float(group["distance_km"].max()), limit, "km"))
        vs_potential = float(row["quota_vs_potential_pct"])
        if math.isfinite(vs_potential) and vs_potential > settings.max_quota_vs_potential_pct:
            rows.append(_flag(row, QUOTA_VS_POTENTIAL,
                              f"{who}: quota {_usd(row['quota'])} is {vs_potential:.1f}% of a quarter's potential "
                              f"({_usd(potential / 4)}); threshold {settings.max_quota_vs_potential_pct:g}%.",
                              vs_potential, settings.max_quota_vs_potential_pct, "%"))
        elif potential <= 0 and float(row["quota"]) > 0:
            rows.append(_flag(row, QUOTA_VS_POTENTIAL,
                              f"{who}: quota {_usd(row['quota'])} with no recorded potential.",
                              float("inf"), settings.max_quota_vs_potential_pct, "%"))
        vs_last = float(row["quota_vs_last_pct"])
        if math.isfinite(vs_last) and vs_last > settings.max_quota_vs_last_pct:
            rows.append(_flag(row, QUOTA_VS_LAST,
                              f"{who}: quota {_usd(row['quota'])} is {vs_last:.0f}% of its latest quarter's "
                              f"bookings ({_usd(row['bookings_last_quarter'])}); threshold "
                              f"{settings.max_quota_vs_last_pct:g}%.",
                              vs_last, settings.max_quota_vs_last_pct, "%"))
        elif float(row.get("bookings_last_quarter", np.nan) or 0) <= 0 and float(row["quota"]) > 0:
            rows.append(_flag(row, QUOTA_VS_LAST,
                              f"{who}: quota {_usd(row['quota'])} but no bookings in the latest quarter.",
                              float("inf"), settings.max_quota_vs_last_pct, "%"))
    return pd.DataFrame(rows, columns=list(FLAG_COLUMNS))


# --- the whole review -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterlyReview:
    """Everything the review shows, for one alignment and one set of settings."""

    table: pd.DataFrame  # one row per territory (see build_review)
    bookings: pd.DataFrame  # territory x quarter, USD
    flags: pd.DataFrame  # FLAG_COLUMNS
    far_accounts: pd.DataFrame  # account_id, name, territory_id, distance_km, reach_km, limit_km
    pareto_curves: pd.DataFrame  # scope, accounts, account_share, value_share
    pareto_summary: pd.DataFrame  # scope, accounts, revenue, top_share_pct
    quarters: tuple[str, ...]
    next_quarter: str | None
    quota_total: int
    settings: ReviewSettings
    notes: tuple[str, ...] = ()
    alignment_name: str = ""
    extra: dict = field(default_factory=dict)
    quota_history: pd.DataFrame | None = None  # imported quotas, territory x quarter (USD), empty without a file
    default_capacity: tuple[str, ...] = ()  # territories counted at 1 FTE because no capacity was given
    level_header: str = ""  # "Region › District": the heading of table["level_path"]; "" without levels

    @property
    def imported_quotas(self) -> int:
        """How many territories are measured against an imported quota."""
        return int((self.table["quota_source"] == "imported").sum())

    @property
    def has_bookings(self) -> bool:
        return len(self.quarters) > 0

    @property
    def latest_quarter(self) -> str | None:
        return self.quarters[-1] if self.quarters else None


TABLE_COLUMNS: tuple[str, ...] = (
    schema.TERRITORY_ID, schema.REP_NAME, schema.REGION, "level_path", schema.CAPACITY_FTE, "accounts",
    schema.REVENUE, schema.POTENTIAL, schema.WORKLOAD_HOURS, "utilisation_pct", "bookings_last_quarter",
    "bookings_previous_quarter", "qoq_pct", "bookings_year_ago", "yoy_pct", "trailing_4q", "penetration_pct",
    "quota_share_pct", "quota", "quota_vs_potential_pct", "quota_vs_last_pct", "backtest_quota", "attainment_pct",
    "attainment_quota", "quota_source",
)
"""Columns of :attr:`QuarterlyReview.table`, in order. ``level_path`` is where the territory sits,
``West › Pacific`` (:func:`territory.planning.hierarchy.level_paths`; "" without levels)."""


def default_capacity_ids(territories: pd.DataFrame | None, territory_ids: Sequence[str]) -> tuple[str, ...]:
    """The territories of ``territory_ids`` whose capacity is not given (no territories table, no
    capacity_fte column, a blank value or no row), which therefore count as 1 FTE: a CRM export
    names owners, not their FTE, and the user should see that assumption.

    >>> default_capacity_ids(pd.DataFrame({"territory_id": ["T1", "T2"], "capacity_fte": [0.5, None]}),
    ...                      ["T1", "T2", "T3"])
    ('T2', 'T3')
    """
    ids = [str(t) for t in territory_ids]
    if territories is None or schema.TERRITORY_ID not in territories or schema.CAPACITY_FTE not in territories:
        return tuple(ids)
    given = pd.to_numeric(territories[schema.CAPACITY_FTE], errors="coerce")
    known = set(territories.loc[given.notna().to_numpy(), schema.TERRITORY_ID].astype(str))
    return tuple(t for t in ids if t not in known)
def _bookings_side(recent: pd.Series, by_quarter: pd.DataFrame, territories: pd.DataFrame | None,
                   forecast_weight: float) -> pd.Series:
    """The bookings side of the quota blend: recent (trailing-4-quarter) bookings, or with a forecast weight
    f > 0 the blend (1 - f) x recent share + f x next quarter's forecast share (shares of their totals;
    recent alone when there is no forecast)."""
    if forecast_weight <= 0 or recent.sum() <= 0:
        return recent
    forecast = forecast_bookings(by_quarter, territories)
    if not len(forecast.territories):
        return recent
    predicted = forecast.territories.set_index(schema.TERRITORY_ID)["value"].reindex(recent.index).fillna(0.0)
    predicted = predicted.clip(lower=0.0)
    if predicted.sum() <= 0:
        return recent
    return (1 - forecast_weight) * recent / recent.sum() + forecast_weight * predicted / predicted.sum()


def _sum_by(accounts: pd.DataFrame, aligned: pd.Series, column: str, ids: list[str]) -> pd.Series:
    if column not in accounts.columns:
        return pd.Series(0.0, index=ids)
    values = pd.to_numeric(accounts[column], errors="coerce").fillna(0.0)
    return values.groupby(aligned.to_numpy()).sum().reindex(ids, fill_value=0.0).astype(float)


def build_review(
    accounts: pd.DataFrame,
    labels: Any,
    bookings: pd.DataFrame | None,
    territories: pd.DataFrame | None = None,
    settings: ReviewSettings = ReviewSettings(),
    alignment_name: str = "",
    quotas: pd.DataFrame | None = None,
    counted: Any = None,
) -> QuarterlyReview:
    """The quarterly review of one alignment: per-territory performance, quotas, flags and 80/20.

    ``labels``: see :func:`align_labels`. ``bookings`` may be empty or None: the table then has no
    performance columns filled (``has_bookings`` is False) and only the workload/geography flags.
    ``quotas`` (territory_id, quarter, quota: ``territory.planning.quotas.load_quotas``): a territory
    with an imported quota for the latest quarter is measured against it (``quota_source``
    "imported"), the others against the rule's back-tested quota ("rule"). ``counted`` (one bool per
    account): the accounts that carry load (the types the alignment was balanced with); account counts,
    workload and utilisation count only them, bookings, revenue and potential every account.
    """
    from territory.planning.quotas import quota_notes, quota_table, quotas_for

    settings = settings.validate()
    aligned = align_labels(accounts, labels)
    bookings = _check_bookings(bookings)
    by_quarter, notes = bookings_by_territory(accounts, aligned, bookings, territories)
    ids = list(by_quarter.index)
    table = pd.DataFrame({schema.TERRITORY_ID: ids}, index=pd.Index(ids))
    info = territories.assign(**{schema.TERRITORY_ID: territories[schema.TERRITORY_ID].astype(str)}).drop_duplicates(
        schema.TERRITORY_ID).set_index(schema.TERRITORY_ID) if territories is not None and len(territories) else None
    for column in (schema.REP_NAME, schema.REGION):
        known = info is not None and column in info
        table[column] = info[column].reindex(ids).to_numpy(dtype=object) if known else None
    capacity = (
        pd.to_numeric(info[schema.CAPACITY_FTE], errors="coerce").reindex(ids)
        if info is not None and schema.CAPACITY_FTE in info
        else pd.Series(np.nan, index=ids)
    )
    table[schema.CAPACITY_FTE] = capacity.fillna(schema.DEFAULT_CAPACITY_FTE).astype(float).to_numpy()
    table["level_path"] = (level_paths(territories, ids, include_territory=False).to_numpy(dtype=object)
                           if territories is not None else "")
    carries = np.ones(len(accounts), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    table["accounts"] = aligned[carries].value_counts().reindex(ids, fill_value=0).astype(int).to_numpy()
    for column in (schema.REVENUE, schema.POTENTIAL):
        table[column] = _sum_by(accounts, aligned, column, ids).to_numpy()
    table[schema.WORKLOAD_HOURS] = _sum_by(accounts[carries], aligned[carries], schema.WORKLOAD_HOURS, ids).to_numpy()
    table["utilisation_pct"] = utilisation_pct(table[schema.WORKLOAD_HOURS], table[schema.CAPACITY_FTE])
    growth = growth_table(by_quarter)
    for column in growth.columns:
        table[column] = growth[column].reindex(ids).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["penetration_pct"] = np.where(
            table[schema.POTENTIAL] > 0, table["trailing_4q"] / table[schema.POTENTIAL] * 100.0, np.nan
        )
    quarters = tuple(str(q) for q in by_quarter.columns)
    total = (
        int(round(settings.quota_total))
        if settings.quota_total is not None
        else default_quota_total(by_quarter, settings.default_growth_pct)
    )
    recent = _bookings_side(table["trailing_4q"].fillna(0.0), by_quarter, territories, settings.forecast_weight)
    shares = quota_shares(table[schema.POTENTIAL], recent, settings.potential_weight, table[schema.CAPACITY_FTE])
    table["quota_share_pct"] = shares.to_numpy() * 100.0
    # company -> region -> district -> territory, each level summing exactly to its parent
    table["quota"] = split_top_down(total, pd.Series(shares.to_numpy(), index=ids), territories).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["quota_vs_potential_pct"] = np.where(
            table[schema.POTENTIAL] > 0, table["quota"] / (table[schema.POTENTIAL] / 4.0) * 100.0, np.nan
        )
        last = table["bookings_last_quarter"]
        table["quota_vs_last_pct"] = np.where(last > 0, table["quota"] / last * 100.0, np.nan)
    backtest = backtest_attainment(by_quarter, table[schema.POTENTIAL], settings.potential_weight,
                                   table[schema.CAPACITY_FTE])
    table["backtest_quota"] = backtest["backtest_quota"].reindex(ids).to_numpy(dtype=float)
    table["attainment_pct"] = backtest["attainment_pct"].reindex(ids).to_numpy(dtype=float)
    imported = quotas_for(quotas, quarters[-1] if quarters else None, ids).to_numpy(dtype=float)
    has_imported = np.isfinite(imported)
    table["attainment_quota"] = np.where(has_imported, imported, table["backtest_quota"].to_numpy(dtype=float))
    table["quota_source"] = np.where(has_imported, "imported", "rule")
    with np.errstate(divide="ignore", invalid="ignore"):
        table["attainment_pct"] = np.where(
            has_imported, np.where(imported > 0, table["bookings_last_quarter"] / imported * 100.0, np.nan),
            table["attainment_pct"])
    if quarters:
        notes.extend(quota_notes(quotas, quarters[-1], ids))
    table = table.reset_index(drop=True).loc[:, list(TABLE_COLUMNS)]
    if not quarters:
        # Without bookings there is nothing to split or compare: keep the table, blank the quota.
        for column in ("quota_share_pct", "quota", "quota_vs_potential_pct", "quota_vs_last_pct"):
            table[column] = np.nan
        total = 0
    far = far_accounts(accounts, aligned, territories, settings.far_km, settings.far_reach_factor, carries)
    flag_table = table if quarters else table.assign(quota=0.0, quota_vs_potential_pct=np.nan,
                                                     quota_vs_last_pct=np.nan, bookings_last_quarter=np.nan)
    flags = review_flags(flag_table, settings, far)
    if not quarters:
        flags = flags[~flags["flag"].isin([QUOTA_VS_POTENTIAL, QUOTA_VS_LAST])].reset_index(drop=True)
    curves, summary = pareto_tables(accounts, aligned, schema.REVENUE)
    return QuarterlyReview(
        table=table,
        bookings=by_quarter,
        flags=flags,
        far_accounts=far,
        pareto_curves=curves,
        pareto_summary=summary,
        quarters=quarters,
        next_quarter=next_quarter(quarters[-1]) if quarters else None,
        quota_total=int(total),
        settings=settings,
        notes=tuple(notes),
        alignment_name=alignment_name,
        quota_history=quota_table(quotas, ids),
        default_capacity=default_capacity_ids(territories, ids),
        level_header=level_path_header(territories),
    )


def review_rollup(review: QuarterlyReview, territories: pd.DataFrame | None, level: str) -> pd.DataFrame:
    """The review summed up to regions or districts: territories, potential, bookings of the latest
    quarter, trailing 4 quarters, next quarter's quota (top-down, so a level's quota is exactly the
    sum of its territories'), and attainment of the latest quarter against the summed quota it was
    measured on. Every row sums its territories, so the rows add up to the whole team."""
    from territory.planning.hierarchy import rollup

    columns = [schema.POTENTIAL, "bookings_last_quarter", "trailing_4q", "quota", "attainment_quota"]
    out = rollup(review.table.fillna({c: 0 for c in columns}), territories, level, columns)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment_pct"] = np.where(out["attainment_quota"] > 0,
                                         out["bookings_last_quarter"] / out["attainment_quota"] * 100.0, np.nan)
    out["quota"] = out["quota"].astype("int64") if review.quarters else np.nan
    return out.drop(columns="attainment_quota")


# --- report and export ------------------------------------------------------------------------


def _usd(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(number):
        return "-"
    return f"${number:,.0f}"


def _pct(value: Any, decimals: int = 1) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{number:,.{decimals}f}%" if math.isfinite(number) else "-"


def _html_table(frame: pd.DataFrame, formats: Mapping[str, Any], numeric: Sequence[str] = ()) -> str:
    """An escaped HTML table: every header and cell goes through html.escape."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            text = formats[column](value) if column in formats else ("" if pd.isna(value) else str(value))
            style = " style='text-align:right'" if column in numeric else ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def display_table(review: QuarterlyReview) -> pd.DataFrame:
    """The per-territory review table with readable headers (units in brackets)."""
    t = review.table
    levels = {review.level_header: t["level_path"]} if review.level_header else {}
    return pd.DataFrame({
        "Territory": t[schema.TERRITORY_ID],
        "Rep": t[schema.REP_NAME],
        **levels,
        "Accounts": t["accounts"],
        f"Bookings {review.latest_quarter or ''} (USD)".replace("  ", " "): t["bookings_last_quarter"],
        "QoQ growth (%)": t["qoq_pct"],
        "YoY growth (%)": t["yoy_pct"],
        "Trailing 4Q bookings (USD)": t["trailing_4q"],
        "Potential (USD/yr)": t[schema.POTENTIAL],
        "Penetration (%)": t["penetration_pct"],
        f"Quota {review.next_quarter or ''} (USD)".replace("  ", " "): t["quota"],
        "Quota / quarter potential (%)": t["quota_vs_potential_pct"],
        "Quota / last bookings (%)": t["quota_vs_last_pct"],
        "Workload (h/yr)": t[schema.WORKLOAD_HOURS],
        "Capacity (FTE)": t[schema.CAPACITY_FTE],
        "Workload / team average per FTE (%)": t["utilisation_pct"],
        "Attainment (%)": t["attainment_pct"],
        "Attainment quota (USD)": t["attainment_quota"],
        "Quota source": t["quota_source"],
    })


def default_capacity_note(default_ids: Sequence[str], n_territories: int) -> str:
    """One sentence saying which territories count as 1 FTE because the data give no capacity."""
    n = len(default_ids)
    which = f"all {n_territories:,} territories" if n == n_territories else f"{n:,} of {n_territories:,} territories"
    return (f"No capacity is given for {which}, so each counts as 1 FTE (one full-time rep). Capacity "
            "flags compare workload per FTE with the team's average, as the balancing does; a territories "
            "file with each rep's capacity (FTE) changes it.")


def far_rule_text(s: ReviewSettings) -> str:
    """The far threshold in words, as the report and the page state it."""
    if s.far_reach_factor <= 0:
        return f"{s.far_km:,.0f} km"
    return (f"{s.far_reach_factor:g} x the territory's reach (the distance holding {REACH_QUANTILE:.0%} of its "
            f"workload), and at least {s.far_km:,.0f} km")


def review_sections_html(review: QuarterlyReview, max_flags: int = 200,
                         territories: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """(title, trusted HTML) sections: the report's appendix (``territory.reporting.report``) shows them;
    with ``territories`` (regions, districts) also a roll-up per level.

    Every value is escaped here, so account or rep names cannot inject markup into the report.
    """
    s = review.settings
    sections: list[tuple[str, str]] = []
    intro = (
        f"<p>Alignment: {html.escape(review.alignment_name or 'as given')}. "
        + (f"Quarters {html.escape(review.quarters[0])} to {html.escape(review.quarters[-1])}; "
           f"quota for {html.escape(review.next_quarter or '')}: total {html.escape(_usd(review.quota_total))}, "
           f"{s.potential_weight:.0%} potential share + {1 - s.potential_weight:.0%} recent-bookings share.</p>"
           if review.has_bookings else "The dataset has no bookings: performance and quota are not available.</p>")
    )
    table = display_table(review)
    usd_cols = [c for c in table.columns if "(USD" in c]
    pct_cols = [c for c in table.columns if "(%)" in c]
    formats: dict[str, Any] = {c: _usd for c in usd_cols}
    formats.update({c: _pct for c in pct_cols})
    formats["Workload (h/yr)"] = lambda v: "-" if pd.isna(v) else f"{float(v):,.0f}"
    formats["Capacity (FTE)"] = lambda v: "-" if pd.isna(v) else f"{float(v):g}"
    formats["Accounts"] = lambda v: f"{int(v):,}"
    numeric = [c for c in table.columns if c not in ("Territory", "Rep", review.level_header)]
    if review.default_capacity:
        intro += f"<p>{html.escape(default_capacity_note(review.default_capacity, len(review.table)))}</p>"
    sections.append(("Quarterly review: territories", intro + _html_table(table, formats, numeric)))
    sections.extend(_level_sections(review, territories))
    if review.has_bookings:
        by_q = review.bookings.reset_index().rename(columns={schema.TERRITORY_ID: "Territory"})
        by_q.columns = ["Territory"] + [f"{q} (USD)" for q in review.quarters]
        sections.append((
            "Quarterly review: bookings by territory and quarter",
            _html_table(by_q, {c: _usd for c in by_q.columns[1:]}, list(by_q.columns[1:])),
        ))
    flags = review.flags.head(max_flags)
    flag_view = pd.DataFrame(
        {"Territory": flags[schema.TERRITORY_ID], "Flag": flags["flag"], "Detail": flags["detail"]}
    )
    thresholds = (
        f"<p>Thresholds: workload per FTE above {s.max_utilisation_pct:g}% of the team's average; at most "
        f"{s.max_accounts_per_fte:,.0f} accounts per "
        f"FTE; accounts farther from the rep's home than {far_rule_text(s)}; under-covered when potential is above "
        f"{s.high_potential_ratio:g}x the average and penetration below {s.low_penetration_pct:g}%; quota above "
        f"{s.max_quota_vs_potential_pct:g}% of a quarter's potential or {s.max_quota_vs_last_pct:g}% of the latest "
        "quarter's bookings.</p>"
    )
    body = _html_table(flag_view, {}) if len(flag_view) else "<p>No territory is flagged.</p>"
    if len(review.flags) > max_flags:
        body += f"<p>Showing {max_flags} of {len(review.flags):,} flags; the XLSX export lists them all.</p>"
    sections.append(("Quarterly review: flags", thresholds + body))
    summary = review.pareto_summary.rename(columns={
        "scope": "Scope", "accounts": "Accounts", schema.REVENUE: "Revenue (USD/yr)",
        "top_share_pct": "Top 20% of accounts: share of revenue (%)",
    })
    sections.append((
        "Quarterly review: 80/20 of revenue",
        _html_table(summary, {"Accounts": lambda v: f"{int(v):,}", "Revenue (USD/yr)": _usd,
                              "Top 20% of accounts: share of revenue (%)": _pct},
                    ["Accounts", "Revenue (USD/yr)", "Top 20% of accounts: share of revenue (%)"]),
    ))
    return sections


def _level_sections(review: QuarterlyReview, territories: pd.DataFrame | None) -> list[tuple[str, str]]:
    """The review by region and by district (the levels the territories file has), as report sections."""
    from territory.planning.hierarchy import levels_in

    sections = []
    for level in levels_in(territories):
        rolled = review_rollup(review, territories, level)
        names = {"region": "Region", "district": "District", "territories": "Territories",
                 schema.POTENTIAL: "Potential (USD/yr)", "trailing_4q": "Trailing 4 quarters (USD)",
                 "bookings_last_quarter": f"Bookings {review.latest_quarter or ''} (USD)",
                 "quota": f"Quota {review.next_quarter or ''} (USD)",
                 "attainment_pct": f"Attainment {review.latest_quarter or ''} (%)"}
        view = rolled.rename(columns=names)
        numeric = [names[c] for c in rolled.columns if c not in ("region", "district")]
        formats: dict[str, Any] = {c: _usd for c in numeric if "(USD" in c}
        formats.update({c: _pct for c in numeric if "(%)" in c})
        formats["Territories"] = lambda v: f"{int(v):,}"
        note = ("<p>Each row sums its territories; quotas are split top-down, so every level adds up exactly "
                "to its parent.</p>")
        sections.append((f"Quarterly review: by {level}", note + _html_table(view, formats, numeric)))
    return sections


def review_sheets(review: QuarterlyReview) -> dict[str, pd.DataFrame]:
    """The review tables as sheets (raw numbers, units in the headers)."""
    t = review.table.rename(columns={
        "utilisation_pct": "workload_vs_team_average_per_fte_pct", schema.REVENUE: "revenue_usd_per_year",
        schema.POTENTIAL: "potential_usd_per_year", schema.WORKLOAD_HOURS: "workload_hours_per_year",
        "bookings_last_quarter": f"bookings_{review.latest_quarter or 'last'}_usd",
        "quota": f"quota_{review.next_quarter or 'next'}_usd",
    })
    by_q = review.bookings.reset_index()
    by_q.columns = [schema.TERRITORY_ID] + [f"{q}_usd" for q in review.quarters]
    # numbers stay numbers (a text column of "0.5" and "None" was the sheet before); a setting left to
    # its default says so in the note
    chosen = asdict(review.settings)
    settings = pd.DataFrame({
        "setting": list(chosen) + ["quota_total_used_usd", "alignment"],
        "value": [np.nan if v is None else float(v) for v in chosen.values()] + [float(review.quota_total), np.nan],
        "note": ["not set: the quota total used below (same quarter last year + the default growth)"
                 if v is None else "" for v in chosen.values()] + ["", review.alignment_name],
    })
    return {
        "Territories": t,
        "Bookings by quarter": by_q,
        "Flags": review.flags,
        "Far accounts": review.far_accounts,
        "80-20 summary": review.pareto_summary,
        "Settings": settings,
    }


def review_xlsx_bytes(review: QuarterlyReview) -> bytes:
    """The review tables as one XLSX workbook (text cells neutralised against formulas)."""
    return to_xlsx_bytes(review_sheets(review))


def account_trailing_bookings(accounts: pd.DataFrame, bookings: pd.DataFrame | None, quarters: int = 4) -> pd.Series:
    """Per account (on ``accounts.index``): bookings of the latest ``quarters`` quarters of the data
    (USD; annualised like :func:`trailing_bookings` when fewer quarters exist). For penetration maps."""
    bookings = _check_bookings(bookings)
    out = pd.Series(0.0, index=accounts.index)
    if len(bookings) == 0:
        return out
    codes = _quarter_codes(bookings[schema.QUARTER])
    last = int(codes.max())
    n_available = min(quarters, last - int(codes.min()) + 1)
    recent = codes > last - n_available
    amount = pd.to_numeric(bookings[schema.AMOUNT], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    ids = bookings[schema.ACCOUNT_ID].astype("string").str.strip().to_numpy()[recent]
    sums = pd.Series(amount[recent]).groupby(ids).sum() * quarters / n_available
    mapped = accounts[schema.ACCOUNT_ID].astype(str).map(sums)
    return pd.Series(mapped.fillna(0.0).to_numpy(dtype=float), index=accounts.index)
