"""Opportunities from a CRM export (Salesforce Opportunity, HubSpot deals): closed-won bookings when
no bookings file is given, and the open pipeline by stage per territory.

An opportunity row needs an account (``Account ID``), an amount (``Amount``), a close date
(``Close Date``; ISO or US month/day/year) and a stage (``Stage``) or the ``Won``/``Closed`` flags.
Won and lost are read from the flags when the file has them, else from the stage's name ("Closed
Won", "Won", "Closed Lost", "Lost"; any other stage starting with "Closed" is closed, not won).
Every row is loaded or rejected with a reason naming the row and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.io import LoadReport, parse_flag, parse_money
from territory.planning.records import RowLedger, blank_rows, parse_dates, quote, read_mapped

OPPORTUNITY_ID = "opportunity_id"
OPPORTUNITY_NAME = "opportunity_name"
CLOSE_DATE = "close_date"
STAGE = "stage"
IS_WON = "is_won"
IS_CLOSED = "is_closed"
STATUS = "status"
WON, LOST, OPEN = "won", "lost", "open"

OPPORTUNITY_SYNONYMS: dict[str, tuple[str, ...]] = {
    OPPORTUNITY_ID: ("opportunity_id", "Opportunity ID", "Opportunity ID (18)", "OpportunityId", "Deal ID",
                     "Record ID", "Id"),
    schema.ACCOUNT_ID: ("account_id", "Account ID", "Account ID (18)", "AccountId", "Account ID (15)",
                        "Associated Company IDs", "Associated Company ID", "Company ID", "Customer ID"),
    OPPORTUNITY_NAME: ("opportunity_name", "Opportunity Name", "Deal Name", "Name"),
    schema.AMOUNT: ("amount", "Amount", "Amount (converted)", "Amount in company currency", "Deal Amount",
                    "Total Price", "Opportunity Amount"),
    CLOSE_DATE: ("close_date", "Close Date", "CloseDate", "Closed Date", "Expected Close Date"),
    STAGE: ("stage", "Stage", "StageName", "Stage Name", "Deal Stage", "Opportunity Stage", "Sales Stage"),
    IS_WON: ("is_won", "Won", "IsWon"),
    IS_CLOSED: ("is_closed", "Closed", "IsClosed"),
}
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    OPPORTUNITY_ID, schema.ACCOUNT_ID, OPPORTUNITY_NAME, schema.AMOUNT, CLOSE_DATE, schema.QUARTER, STAGE, STATUS,
)
"""Columns of a loaded opportunity table; ``status`` is won, lost or open."""

SALESFORCE_STAGES: tuple[str, ...] = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review",
)
"""Salesforce's default open stages in order; other stages follow in order of first appearance."""


@dataclass
class OpportunityLoad:
    """Loaded opportunities (``OPPORTUNITY_COLUMNS``) and the report of every row."""

    opportunities: pd.DataFrame
    report: LoadReport


def stage_status(stage: str) -> str:
    """won, lost or open from a stage's name.

    >>> [stage_status(s) for s in ("Closed Won", "closedwon", "Closed Lost", "Closed - No Decision", "Proposal")]
    ['won', 'won', 'lost', 'lost', 'open']
    """
    key = "".join(ch for ch in stage.casefold() if ch.isalnum())
    if key in ("closedwon", "won", "win"):
        return WON
    if key.startswith("closed") or key in ("lost", "closedlost"):
        return LOST
    return OPEN


def load_opportunities(
    source: str | Path | bytes | BinaryIO, filename: str | None = None, mapping: dict[str, str] | None = None
) -> OpportunityLoad:
    """Read an opportunity export; raises ``DataError`` only when the file cannot be read or lacks the
    account, amount, close date or stage (and won flag) columns."""
    from territory.errors import DataError

    table = read_mapped(source, filename, OPPORTUNITY_SYNONYMS, mapping, "opportunity file")
    needed = [schema.ACCOUNT_ID, schema.AMOUNT, CLOSE_DATE]
    missing = [c for c in needed if c not in table.mapping]
    if STAGE not in table.mapping and IS_WON not in table.mapping:
        missing.append(STAGE)
    if missing:
        shown = ", ".join(repr(c) for c in list(table.raw.columns)[:12])
        raise DataError(
            f"opportunity file has no {', '.join(missing)} column (columns: {shown}): a Salesforce Opportunity "
            "export has 'Account ID', 'Amount', 'Close Date' and 'Stage'"
        )
    return opportunities_from_table(table.raw, table.mapping, table.notes)


def opportunities_from_table(raw: pd.DataFrame, mapping: dict[str, str], notes: Any = ()) -> OpportunityLoad:
    """The checks of :func:`load_opportunities` on a raw all-text table whose columns are already matched."""
    n = len(raw)

    def text(canonical: str) -> pd.Series:
        return raw[mapping[canonical]].str.strip() if canonical in mapping else pd.Series("", index=raw.index,
                                                                                         dtype="str")

    opp_id, account = text(OPPORTUNITY_ID), text(schema.ACCOUNT_ID)
    ledger = RowLedger(n, opp_id.where(opp_id != "", account))
    ledger.reject(blank_rows(raw), "row", "row is empty (every cell blank): delete it or fill it in")
    ledger.reject((account == "").to_numpy(), schema.ACCOUNT_ID,
                  "account_id is blank: every opportunity belongs to an account")
    if OPPORTUNITY_ID in mapping:
        alive = pd.Series(~ledger.rejected, index=raw.index) & (opp_id != "")
        first = pd.Series(np.arange(n) + 1, index=raw.index).where(alive).groupby(opp_id.where(alive)).transform("min")
        repeated = (alive & (first < np.arange(n) + 1)).to_numpy()
        ledger.reject(repeated, OPPORTUNITY_ID,
                      np.array([f"opportunity {q} appears again (first in row {r:.0f}): rows are never merged; "
                                "delete the copy" for q, r in zip(quote(opp_id), first.fillna(0))], dtype=object))
    amount_text = text(schema.AMOUNT)
    amount, unreadable = parse_money(amount_text)
    ledger.reject(unreadable, schema.AMOUNT,
                  np.array([f"amount {q} is not a number of USD: write amounts like 12500.00" for q in
                            quote(amount_text)], dtype=object))
    blank_amount = np.isnan(amount) & ~unreadable
    ledger.warn(blank_amount, schema.AMOUNT, "amount is blank: counted as 0 USD")
    amount = np.where(np.isnan(amount), 0.0, amount)
    date_text = text(CLOSE_DATE)
    dates = parse_dates(date_text)
    ledger.reject(dates.isna().to_numpy(), CLOSE_DATE,
                  np.array([f"close date {q} is not a date: write dates like 2026-03-31 or 3/31/2026" for q in
                            quote(date_text)], dtype=object))
    stage = text(STAGE)
    status = pd.Series([stage_status(s) for s in stage], index=raw.index, dtype="object")
    if IS_WON in mapping:
        won_text = text(IS_WON)
        won, bad_won = parse_flag(won_text)
        closed = None
        if IS_CLOSED in mapping:
            closed_text = text(IS_CLOSED)
            closed, bad_closed = parse_flag(closed_text)
            ledger.reject(bad_closed, IS_CLOSED, np.array([f"closed {q} is not true/false" for q in
                                                           quote(closed_text)], dtype=object))
        ledger.reject(bad_won, IS_WON, np.array([f"won {q} is not true/false" for q in quote(won_text)], dtype=object))
        from_flags = np.where(won, WON, np.where(closed if closed is not None else (status != OPEN).to_numpy(),
                                                 LOST, OPEN))
        status = pd.Series(from_flags, index=raw.index, dtype="object")
    else:
        ledger.reject((stage == "").to_numpy(), STAGE, "stage is blank: give the stage (e.g. Closed Won, Prospecting)")
    keep = ~ledger.rejected
    date_kept = dates[keep]
    frame = pd.DataFrame({
        OPPORTUNITY_ID: opp_id[keep].where(opp_id[keep] != "").astype("string").to_numpy(),
        schema.ACCOUNT_ID: account[keep].astype("string").to_numpy(),
        OPPORTUNITY_NAME: text(OPPORTUNITY_NAME)[keep].astype("string").to_numpy(),
        schema.AMOUNT: amount[keep].astype(float),
        CLOSE_DATE: date_kept.to_numpy(),
        schema.QUARTER: (date_kept.dt.year.astype("Int64").astype("string") + "Q"
                         + date_kept.dt.quarter.astype("Int64").astype("string")).to_numpy(),
        STAGE: stage[keep].where(stage[keep] != "", status[keep].str.capitalize()).astype("string").to_numpy(),
        STATUS: status[keep].to_numpy(dtype=object),
    })
    notes = list(notes)
    if len(frame):
        counts = frame[STATUS].value_counts()
        notes.append(f"{counts.get(WON, 0):,} won, {counts.get(LOST, 0):,} lost and {counts.get(OPEN, 0):,} open "
                     "opportunities.")
    return OpportunityLoad(opportunities=frame, report=ledger.report(mapping, notes))


def bookings_from_opportunities(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Closed-won amounts as bookings (``schema.BOOKING_COLUMNS``): one row per account and quarter of
    the close date (USD).

    >>> opps = pd.DataFrame({"account_id": ["a", "a", "b"], "quarter": ["2026Q1", "2026Q1", "2026Q2"],
    ...                      "amount": [10.0, 5.0, 7.0], "status": ["won", "won", "open"]})
    >>> bookings_from_opportunities(opps).to_dict("records")
    [{'account_id': 'a', 'quarter': '2026Q1', 'amount': 15.0}]
    """
    won = opportunities[opportunities[STATUS] == WON]
    grouped = won.groupby([schema.ACCOUNT_ID, schema.QUARTER], sort=True, as_index=False)[schema.AMOUNT].sum()
    return pd.DataFrame({
        schema.ACCOUNT_ID: grouped[schema.ACCOUNT_ID].astype("string"),
        schema.QUARTER: grouped[schema.QUARTER].astype("string"),
        schema.AMOUNT: grouped[schema.AMOUNT].astype("float64"),
    })


def stage_order(stages: pd.Series) -> list[str]:
    """Open stages in pipeline order: Salesforce's defaults first, then the others as they appear."""
    seen = list(dict.fromkeys(str(s) for s in stages.dropna()))
    known = [s for s in SALESFORCE_STAGES if s in seen]
    return known + [s for s in seen if s not in known]


def pipeline_by_territory(
    accounts: pd.DataFrame, labels: Any, opportunities: pd.DataFrame | None, territories: pd.DataFrame | None = None  # noqa: ARG001  the signature callers use; the pipeline needs no territory table yet
) -> tuple[pd.DataFrame, list[str]]:
    """(pipeline, notes): open opportunities per territory and stage, following each account to the
    territory ``labels`` gives it.

    ``pipeline`` columns: territory_id, stage, opportunities (count), amount (USD), in pipeline order.
    Open opportunities of accounts not in the dataset or without a territory are left out and counted
    in ``notes``.
    """
    from territory.planning.review import align_labels

    columns = [schema.TERRITORY_ID, STAGE, "opportunities", schema.AMOUNT]
    if opportunities is None or len(opportunities) == 0:
        return pd.DataFrame(columns=columns), []
    open_opps = opportunities[opportunities[STATUS] == OPEN]
    aligned = align_labels(accounts, labels)
    territory_of = pd.Series(aligned.to_numpy(), index=accounts[schema.ACCOUNT_ID].astype(str).to_numpy())
    territory_of = territory_of[~territory_of.index.duplicated(keep="first")]
    territory = open_opps[schema.ACCOUNT_ID].astype(str).map(territory_of)
    notes = []
    lost = territory.isna().to_numpy()
    if lost.any():
        notes.append(f"{int(lost.sum()):,} open opportunities (${open_opps[schema.AMOUNT][lost].sum():,.0f}) belong "
                     "to accounts not in the dataset or without a territory; they are left out of the pipeline.")
    kept = open_opps[~lost].assign(**{schema.TERRITORY_ID: territory[~lost].astype(str)})
    if kept.empty:
        return pd.DataFrame(columns=columns), notes
    table = kept.groupby([schema.TERRITORY_ID, STAGE], sort=False).agg(
        opportunities=(schema.AMOUNT, "size"), amount=(schema.AMOUNT, "sum")).reset_index()
    order = {s: i for i, s in enumerate(stage_order(kept[STAGE]))}
    table = table.assign(_o=table[STAGE].map(order)).sort_values([schema.TERRITORY_ID, "_o"], kind="stable")
    return table.drop(columns="_o").reset_index(drop=True)[columns], notes


def bookings_or_won(bookings: pd.DataFrame | None, opportunities: pd.DataFrame | None) -> tuple[pd.DataFrame | None,
                                                                                              str | None]:
    """(bookings, note): the bookings given, else the closed-won opportunities as bookings (with a note
    saying so), else None. A bookings file always wins over opportunities."""
    if bookings is not None and len(bookings):
        return bookings, None
    if opportunities is None or len(opportunities) == 0:
        return bookings, None
    won = bookings_from_opportunities(opportunities)
    count = int((opportunities[STATUS] == WON).sum())
    return won, (f"Bookings are the {count:,} closed-won opportunities (amount in the quarter of their close date): "
                 "no bookings file was given.")
