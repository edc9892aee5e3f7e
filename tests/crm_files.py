"""Salesforce-shaped files made from the sample, for the tests of the quota and opportunity imports
(not a test module)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory.data.sample import load_sample

QUARTER_END = {"1": "3/15", "2": "6/14", "3": "9/15", "4": "12/15"}


def opportunity_export(max_accounts: int | None = None) -> pd.DataFrame:
    """A Salesforce Opportunity report of the sample: every booking a Closed Won opportunity (closed in
    the middle of the quarter's last month, US dates), plus open and lost ones (seeded)."""
    sample = load_sample()
    bookings = sample.bookings
    if max_accounts is not None:
        keep = sample.accounts["account_id"].head(max_accounts)
        bookings = bookings[bookings["account_id"].isin(keep)]
    won = pd.DataFrame({
        "Account ID": bookings["account_id"].to_numpy(),
        "Amount": bookings["amount"].round(2).to_numpy(),
        "Close Date": [f"{QUARTER_END[q[-1]]}/{q[:4]}" for q in bookings["quarter"]],
        "Stage": "Closed Won",
    })
    rng = np.random.default_rng(19)
    ids = sample.accounts["account_id"].to_numpy()
    n = 600 if max_accounts is None else 30
    stages = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
              "Closed Lost"]
    others = pd.DataFrame({
        "Account ID": rng.choice(ids if max_accounts is None else ids[:max_accounts], n),
        "Amount": rng.integers(5, 200, n) * 1000.0,
        "Close Date": [f"{m}/{d}/2026" for m, d in zip(rng.integers(10, 13, n), rng.integers(1, 29, n))],
        "Stage": rng.choice(stages, n),
    })
    out = pd.concat([won, others], ignore_index=True)
    out.insert(0, "Opportunity ID", [f"006{i:012d}" for i in range(len(out))])
    out.insert(1, "Opportunity Name", [f"Deal {i}" for i in range(len(out))])
    return out
