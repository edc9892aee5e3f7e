"""One page per rep: what the quarterly review knows about one territory, gathered in one place.

The Rep page of the app shows it; everything here is computed from the same functions as the review
(:mod:`territory.planning.review`), the forecast (:mod:`territory.planning.forecast`) and the metrics
(:mod:`territory.planning.metrics`), so the rep sees the figures the leader sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.measures import measure_label, usable_measures
from territory.errors import ParameterError
from territory.planning import metrics
from territory.planning.forecast import BookingsForecast
from territory.planning.hierarchy import level_path_header, level_paths
from territory.planning.review import QuarterlyReview, account_trailing_bookings, align_labels
from territory.planning.whitespace import WhiteSpace

TOP_ACCOUNTS = 10
"""Accounts listed as the territory's top accounts (largest revenue first)."""
HUNT_SEGMENTS = 5
"""The territory's own "where to hunt" segments listed (largest white space first)."""
ACCOUNT_COLUMNS: tuple[str, ...] = (schema.ACCOUNT_ID, schema.NAME, schema.INDUSTRY, schema.REVENUE,
                                    schema.POTENTIAL, schema.WORKLOAD_HOURS, "bookings_trailing_4q")
MOVE_COLUMNS: tuple[str, ...] = (schema.ACCOUNT_ID, schema.NAME, "from_territory", "to_territory", schema.REVENUE,
                                 "reason")


@dataclass(frozen=True)
class RepView:
    """One territory's page: load against its band, bookings, forecast, quota, top accounts and moves.

    ``figures`` is the territory's row of the review table (bookings, growth, quota, attainment, all
    in the units of :data:`territory.planning.review.TABLE_COLUMNS`); empty without bookings.
    """

    territory_id: str
    rep_name: str | None
    region: str | None
    accounts: int  # the accounts that carry load (``counted``), as the Territories table counts them
    load: dict[str, float]  # value, target, band_low, band_high (the balance measure's unit), deviation_pct (%)
    balance_on: str  # the measure ``load`` is in, with its unit (``measure_label``)
    figures: dict[str, Any]
    bookings: pd.Series  # quarter -> USD (empty without bookings)
    forecast: dict[str, Any] | None  # quarter, value, low, high (USD), method
    top_accounts: pd.DataFrame  # ACCOUNT_COLUMNS, largest ``top_by`` first; a measure the data lacks is NaN
    moved_in: pd.DataFrame  # MOVE_COLUMNS: accounts the plan gives this territory
    moved_out: pd.DataFrame  # MOVE_COLUMNS: accounts the plan takes away
    white_space: dict[str, Any] | None = None  # WhiteSpace.of_territory: potential, captured, white_space (USD/yr)
    hunt: pd.DataFrame | None = None  # its own segments by white space (WhiteSpace.hunt columns)
    level_path: str = ""  # where it sits: "West › Pacific" ("" when the territories file has no levels)
    level_header: str = ""  # the levels of the path: "Region › District"
    tolerance: float = 0.05  # the band of ``load``: +/- share of its target
    shown_apart: int = 0  # its accounts of types that carry no load (partners shown apart)
    top_by: str = schema.REVENUE  # what ranks the top accounts: revenue, or workload in a file without revenue

    @property
    def level_text(self) -> str:
        """``Region › District: West › Pacific`` for the page's heading ("" without levels)."""
        return f"{self.level_header}: {self.level_path}" if self.level_path else ""

    @property
    def within_band(self) -> bool:
        """True when the load is inside the tolerance band around its target."""
        return self.load["band_low"] <= self.load["value"] <= self.load["band_high"]


def _moves(accounts: pd.DataFrame, after: pd.Series, before: pd.Series, mask: np.ndarray,
           reasons: pd.Series | None) -> pd.DataFrame:
    rows = accounts[mask]
    frame = pd.DataFrame({
        schema.ACCOUNT_ID: rows[schema.ACCOUNT_ID].astype(str).to_numpy(),
        schema.NAME: rows[schema.NAME].astype("string").to_numpy() if schema.NAME in rows else pd.NA,
        "from_territory": before[mask].to_numpy(dtype=object),
        "to_territory": after[mask].to_numpy(dtype=object),
        schema.REVENUE: pd.to_numeric(rows.get(schema.REVENUE, pd.Series(np.nan, index=rows.index)),
                                      errors="coerce").to_numpy(dtype=float),
        "reason": reasons.reindex(accounts.index)[mask].fillna("").astype(str).to_numpy()
        if reasons is not None else "",
    }, columns=list(MOVE_COLUMNS))
    return frame.sort_values(schema.REVENUE, ascending=False, kind="stable").reset_index(drop=True)


def _top_accounts(accounts: pd.DataFrame, mine: np.ndarray, bookings: pd.DataFrame | None, top: int,
                  by: str) -> pd.DataFrame:
    """The territory's largest accounts by ``by``; revenue or potential the data lacks (a CRM file without
    them reads 0 for every account) is left NaN, not a column of zeros."""
    rows = accounts[mine]
    trailing = account_trailing_bookings(rows, bookings) if bookings is not None and len(bookings) else None
    frame = pd.DataFrame({
        column: (rows[column].to_numpy() if column in rows else pd.NA) for column in ACCOUNT_COLUMNS[:-1]
    }, columns=list(ACCOUNT_COLUMNS))
    frame["bookings_trailing_4q"] = trailing.to_numpy(dtype=float) if trailing is not None else np.nan
    usable = usable_measures(accounts)
    for column, measure in ((schema.REVENUE, "revenue"), (schema.POTENTIAL, "potential"),
                            (schema.WORKLOAD_HOURS, "workload")):
        frame[column] = pd.to_numeric(frame[column], errors="coerce") if measure in usable else np.nan
    return frame.sort_values(by, ascending=False, kind="stable").head(top).reset_index(drop=True)


def rep_view(
    accounts: pd.DataFrame,
    labels: Any,
    territory_id: str,
    *,
    territories: pd.DataFrame | None = None,
    review: QuarterlyReview | None = None,
    forecast: BookingsForecast | None = None,
    bookings: pd.DataFrame | None = None,
    previous: Any = None,
    reasons: pd.Series | None = None,
    white: WhiteSpace | None = None,
    balance_on: Any = "workload",
    tolerance: float = 0.05,
    counted: np.ndarray | None = None,
    top: int = TOP_ACCOUNTS,
) -> RepView:
    """The page of ``territory_id`` under the alignment ``labels`` (see :func:`review.align_labels`).

    ``review`` and ``forecast`` are of the same labels; ``previous`` is the alignment the plan is
    compared with (moves in and out; none without it); ``reasons`` per account explain the moves;
    ``white`` is the white space of the same labels (its total and segments for this territory).
    ``counted`` (True per account) limits the load and its band to the accounts the balance counted
    (:mod:`territory.planning.basis`); the lists show every account of the territory.

    >>> accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "revenue": [5.0, 9.0, 1.0],
    ...                          "workload_hours": [10.0, 10.0, 20.0]})
    >>> view = rep_view(accounts, ["T1", "T1", "T2"], "T1", previous=["T1", "T2", "T2"])
    >>> view.accounts, view.top_accounts["account_id"].tolist(), view.moved_in["account_id"].tolist()
    (2, ['b', 'a'], ['b'])
    >>> view.load["deviation_pct"], view.within_band
    (0.0, True)
    """
    after = align_labels(accounts, labels)
    territory_id = str(territory_id)
    counted = np.ones(len(accounts), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    table = metrics.territory_table(accounts[counted], after[counted], territories=territories, balance_on=balance_on)
    row = table[table[schema.TERRITORY_ID].astype(str) == territory_id]
    if not len(row):
        raise ParameterError(f"territory {territory_id!r} is not in this alignment; pick one of "
                             f"{', '.join(table[schema.TERRITORY_ID].astype(str).head(10))}")
    row = row.iloc[0]
    target = float(row["target"])
    load = {"value": float(row["value"]), "target": target, "band_low": target * (1 - tolerance),
            "band_high": target * (1 + tolerance), "deviation_pct": float(row["deviation_pct"])}
    mine = (after == territory_id).fillna(False).to_numpy()
    top_by = schema.REVENUE if "revenue" in usable_measures(accounts) else schema.WORKLOAD_HOURS
    figures: dict[str, Any] = {}
    series = pd.Series(dtype=float)
    if review is not None and review.has_bookings:
        found = review.table[review.table[schema.TERRITORY_ID].astype(str) == territory_id]
        figures = found.iloc[0].to_dict() if len(found) else {}
        if territory_id in review.bookings.index:
            series = review.bookings.loc[territory_id].astype(float)
    predicted = None
    if forecast is not None and len(forecast.territories):
        found = forecast.territories[forecast.territories[schema.TERRITORY_ID].astype(str) == territory_id]
        if len(found):
            f = found.iloc[0]
            predicted = {"quarter": forecast.quarter, "value": float(f["value"]), "low": float(f["low"]),
                         "high": float(f["high"]), "method": forecast.method}
    moved_in = moved_out = pd.DataFrame(columns=list(MOVE_COLUMNS))
    if previous is not None:
        before = align_labels(accounts, previous)
        moved = metrics.moved_mask(accounts, after, before)[0]
        moved_in = _moves(accounts, after, before, moved & mine, reasons)
        moved_out = _moves(accounts, after, before, moved & (before == territory_id).fillna(False).to_numpy(), reasons)
    rep, region = row.get(schema.REP_NAME), row.get(schema.REGION)
    header = level_path_header(territories)
    return RepView(
        territory_id=territory_id,
        rep_name=rep if isinstance(rep, str) and rep.strip() else None,
        region=region if isinstance(region, str) and region.strip() else None,
        accounts=int((mine & counted).sum()),
        shown_apart=int((mine & ~counted).sum()),
        load=load,
        balance_on=measure_label(balance_on),
        figures=figures,
        bookings=series,
        forecast=predicted,
        top_accounts=_top_accounts(accounts, mine, bookings, top, top_by),
        moved_in=moved_in,
        moved_out=moved_out,
        white_space=white.of_territory(territory_id) if white is not None else None,
        hunt=white.hunt_in(territory_id, HUNT_SEGMENTS) if white is not None else None,
        level_path=level_paths(territories, [territory_id], include_territory=False).iloc[0] if header else "",
        level_header=header,
        tolerance=float(tolerance),
        top_by=top_by,
    )


def attainment_text(view: RepView) -> str:
    """'104% of $1.29M (imported quota)' for the page's caption (display only)."""
    pct, quota = view.figures.get("attainment_pct"), view.figures.get("attainment_quota")
    if pct is None or not math.isfinite(float(pct)):
        return "no attainment: no quota or no bookings for the latest quarter"
    source = "imported quota" if view.figures.get("quota_source") == "imported" else "the quota rule's share"
    return f"{float(pct):,.0f}% of ${float(quota):,.0f} ({source})"
