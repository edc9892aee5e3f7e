"""White space: the potential the territories do not capture yet, and where it lies ("where to hunt").

Per account, in USD/yr: **white space** = max(potential - captured, 0), where **captured** is the
account's trailing-4-quarter bookings when bookings are given (the review's penetration uses the
same figure, annualised the same way) and its revenue (USD/yr) otherwise. An account that books
more than its potential has no white space (it does not offset another's).

The white space is summed by territory, by industry and by **area**: the ZIP3 (first three digits of
a US ZIP code, the US Postal Service's sectional centre, about county-sized) where the account has a
ZIP, else its state, else "(no area)". **Where to hunt** ranks (area, industry) segments by their
white space, each with the territory that holds most of it, so a leader can point a rep (or a new
hire) at a concrete segment rather than at a territory total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema
from territory.planning.review import account_trailing_bookings, align_labels

NO_AREA = "(no area)"
NO_INDUSTRY = "(no industry)"
HUNT_ROWS = 20
"""Segments listed in "where to hunt"."""
SUMMARY_COLUMNS: tuple[str, ...] = ("accounts", "potential", "captured", "white_space", "penetration_pct",
                                    "white_space_share_pct")


def area_of(accounts: pd.DataFrame) -> pd.Series:
    """Area per account: "ZIP 021" for a US ZIP (5 digits, or ZIP+4), else the state, else "(no area)".

    >>> area_of(pd.DataFrame({"postal_code": ["02139", "2139", None], "state": ["MA", "MA", "TX"]})).tolist()
    ['ZIP 021', 'MA', 'TX']
    """
    area = pd.Series(NO_AREA, index=accounts.index, dtype=object)
    if schema.STATE in accounts.columns:
        state = accounts[schema.STATE].astype("string").str.strip().str.upper()
        area = area.where(state.isna() | (state == ""), state.astype(object))
    if schema.POSTAL_CODE in accounts.columns:
        zips = accounts[schema.POSTAL_CODE].astype("string").str.strip()
        five = zips.str.fullmatch(r"\d{5}(-\d{4})?").fillna(False).astype(bool)
        area = area.where(~five, "ZIP " + zips.str[:3])
    return area


def account_white_space(accounts: pd.DataFrame, bookings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per account (on ``accounts.index``): potential, captured and white_space (USD/yr).

    >>> accounts = pd.DataFrame({"account_id": ["a", "b"], "potential": [100.0, 50.0], "revenue": [30.0, 80.0]})
    >>> account_white_space(accounts)["white_space"].tolist()
    [70.0, 0.0]
    """
    def number(column: str) -> pd.Series:
        if column not in accounts.columns:
            return pd.Series(0.0, index=accounts.index)
        return pd.to_numeric(accounts[column], errors="coerce").fillna(0.0).clip(lower=0.0)

    potential = number(schema.POTENTIAL)
    if bookings is not None and len(bookings):
        captured = account_trailing_bookings(accounts, bookings).clip(lower=0.0)
    else:
        captured = number(schema.REVENUE)
    return pd.DataFrame({"potential": potential, "captured": captured,
                         "white_space": (potential - captured).clip(lower=0.0)}, index=accounts.index)


def _summary(frame: pd.DataFrame, key: str, total: float) -> pd.DataFrame:
    grouped = frame.groupby(key, sort=False).agg(accounts=("white_space", "size"), potential=("potential", "sum"),
                                                 captured=("captured", "sum"), white_space=("white_space", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        grouped["penetration_pct"] = np.where(grouped["potential"] > 0,
                                              grouped["captured"] / grouped["potential"] * 100.0, np.nan)
    grouped["white_space_share_pct"] = grouped["white_space"] / total * 100.0 if total > 0 else np.nan
    return (grouped.sort_values("white_space", ascending=False, kind="stable").reset_index()
            .loc[:, [key, *SUMMARY_COLUMNS]])


def _hunt(frame: pd.DataFrame, total: float, rows: int) -> pd.DataFrame:
    """(area, industry) segments by white space, with the territory holding most of each and its largest account."""
    segments = frame.groupby(["area", schema.INDUSTRY], sort=False).agg(
        accounts=("white_space", "size"), potential=("potential", "sum"), captured=("captured", "sum"),
        white_space=("white_space", "sum"))
    segments = segments[segments["white_space"] > 0].sort_values("white_space", ascending=False, kind="stable")
    segments = segments.head(rows)
    keys = ["area", schema.INDUSTRY]
    owner = (frame.groupby([*keys, schema.TERRITORY_ID], sort=False)["white_space"].sum().reset_index()
             .sort_values("white_space", ascending=False, kind="stable").drop_duplicates(keys))
    largest = frame.sort_values("white_space", ascending=False, kind="stable").drop_duplicates(keys)
    out = (segments.reset_index()
           .merge(owner[[*keys, schema.TERRITORY_ID]], on=keys, how="left")
           .merge(largest[[*keys, "label"]].rename(columns={"label": "top_account"}), on=keys, how="left"))
    out["white_space_share_pct"] = out["white_space"] / total * 100.0 if total > 0 else np.nan
    return out.loc[:, ["area", schema.INDUSTRY, schema.TERRITORY_ID, "accounts", "potential", "captured",
                       "white_space", "white_space_share_pct", "top_account"]]


@dataclass(frozen=True)
class WhiteSpace:
    """White space per account and summed by territory, industry and area, with the hunting list."""

    accounts: pd.DataFrame  # per account: account_id, territory_id, industry, area, label, potential, captured,
    # white_space (USD/yr)
    by_territory: pd.DataFrame  # territory_id + SUMMARY_COLUMNS, largest white space first
    by_industry: pd.DataFrame  # industry + SUMMARY_COLUMNS
    by_area: pd.DataFrame  # area + SUMMARY_COLUMNS
    hunt: pd.DataFrame  # area, industry, territory_id, accounts, potential, captured, white_space, share, top_account
    captured_from: str  # "bookings" (trailing 4 quarters) or "revenue"
    total: float  # USD/yr

    def of_territory(self, territory_id: str) -> dict[str, Any]:
        """One territory's row of ``by_territory`` (zeros when it has no accounts)."""
        row = self.by_territory[self.by_territory[schema.TERRITORY_ID] == str(territory_id)]
        if len(row):
            return row.iloc[0].to_dict()
        return {schema.TERRITORY_ID: str(territory_id), "accounts": 0, "potential": 0.0, "captured": 0.0,
                "white_space": 0.0, "penetration_pct": math.nan, "white_space_share_pct": 0.0}

    def hunt_in(self, territory_id: str, rows: int = HUNT_ROWS) -> pd.DataFrame:
        """Where to hunt inside one territory: its own (area, industry) segments, as ``hunt``."""
        mine = self.accounts[self.accounts[schema.TERRITORY_ID] == str(territory_id)]
        return _hunt(mine, self.total, rows)


def white_space(accounts: pd.DataFrame, labels: Any, bookings: pd.DataFrame | None = None,
                hunt_rows: int = HUNT_ROWS) -> WhiteSpace:
    """White space of the alignment ``labels`` (see :func:`territory.planning.review.align_labels`).

    Unassigned accounts count under no territory but still in the industry and area tables.

    >>> accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "potential": [100.0, 50.0, 40.0],
    ...                          "revenue": [30.0, 80.0, 0.0], "industry": ["Retail", "Retail", "Energy"],
    ...                          "state": ["TX", "TX", "OK"]})
    >>> ws = white_space(accounts, ["T1", "T1", "T2"])
    >>> ws.by_territory[["territory_id", "white_space"]].values.tolist()
    [['T1', 70.0], ['T2', 40.0]]
    >>> ws.hunt[["area", "industry", "territory_id", "white_space"]].values.tolist()
    [['TX', 'Retail', 'T1', 70.0], ['OK', 'Energy', 'T2', 40.0]]
    """
    aligned = align_labels(accounts, labels)
    values = account_white_space(accounts, bookings)
    industry = (accounts[schema.INDUSTRY].astype("string").str.strip().replace("", pd.NA).fillna(NO_INDUSTRY)
                if schema.INDUSTRY in accounts.columns else pd.Series(NO_INDUSTRY, index=accounts.index))
    names = accounts[schema.NAME].astype("string") if schema.NAME in accounts.columns else None
    ids = accounts[schema.ACCOUNT_ID].astype("string")
    label = (names.fillna(ids) + " (" + ids + ")") if names is not None else ids
    frame = pd.DataFrame({schema.ACCOUNT_ID: ids.to_numpy(), schema.TERRITORY_ID: aligned.to_numpy(dtype=object),
                          schema.INDUSTRY: industry.to_numpy(dtype=object),
                          "area": area_of(accounts).to_numpy(dtype=object), "label": label.to_numpy(dtype=object),
                          **{c: values[c].to_numpy(dtype=float) for c in values.columns}}, index=accounts.index)
    total = float(frame["white_space"].sum())
    assigned = frame[frame[schema.TERRITORY_ID].notna()]
    return WhiteSpace(
        accounts=frame,
        by_territory=_summary(assigned, schema.TERRITORY_ID, total),
        by_industry=_summary(frame, schema.INDUSTRY, total),
        by_area=_summary(frame, "area", total),
        hunt=_hunt(assigned, total, hunt_rows),
        captured_from="bookings" if bookings is not None and len(bookings) else "revenue",
        total=total,
    )


@dataclass(frozen=True)
class HomeSuggestion:
    """Where a new hire could start: a ZIP inside the largest white-space segment."""

    postal_code: str
    area: str  # the segment's area as the hunt names it ("ZIP 770", or a state)
    industry: str
    territory_id: str | None  # the territory holding most of the segment's white space
    white_space: float  # the segment's, USD/yr


def suggested_home_base(accounts: pd.DataFrame, ws: WhiteSpace) -> HomeSuggestion | None:
    """The ZIP of the largest opening in the first "where to hunt" segment that has a ZIP: how the
    review's white space feeds the new-hire placement (the hire grows a territory from that ZIP).
    None when no segment has an account with a 5-digit ZIP.

    >>> accounts = pd.DataFrame({"account_id": ["a", "b", "c"], "potential": [100.0, 50.0, 40.0],
    ...                          "revenue": [30.0, 0.0, 0.0], "industry": ["Retail", "Retail", "Energy"],
    ...                          "state": ["TX", "TX", "OK"], "postal_code": ["75001", "75002", "73001"]})
    >>> suggested_home_base(accounts, white_space(accounts, ["T1", "T1", "T2"]))
    HomeSuggestion(postal_code='75001', area='ZIP 750', industry='Retail', territory_id='T1', white_space=120.0)
    """
    if not len(ws.hunt) or schema.POSTAL_CODE not in accounts.columns:
        return None
    zips = accounts[schema.POSTAL_CODE].astype("string").str.strip().reindex(ws.accounts.index)
    usable = zips.str.fullmatch(r"\d{5}").fillna(False).to_numpy(dtype=bool)
    for _, segment in ws.hunt.iterrows():
        inside = usable & (ws.accounts["area"] == segment["area"]).to_numpy() & (
            ws.accounts[schema.INDUSTRY] == segment[schema.INDUSTRY]).to_numpy()
        if inside.any():
            best = ws.accounts.loc[inside, "white_space"].idxmax()
            owner = segment[schema.TERRITORY_ID]
            return HomeSuggestion(str(zips[best]), str(segment["area"]), str(segment[schema.INDUSTRY]),
                                  None if pd.isna(owner) else str(owner), float(segment["white_space"]))
    return None
