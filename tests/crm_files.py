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


SALESFORCE_OWNERS = ("Ana Ortiz", "Marcus Zimmerman", "Priya Raman", "Derek O'Neil", "Sofia Bennett", "Tom Hale",
                     "Mei Quinn", "Luis Navarro", "Grace Kim", "Omar Haddad", "Julia Novak", "Ben Carter")
HUBSPOT_INDUSTRY = {"Technology": "COMPUTER_SOFTWARE", "Healthcare": "HOSPITAL_HEALTH_CARE",
                    "Financial Services": "BANKING", "Retail": "RETAIL", "Manufacturing": "MACHINERY",
                    "Energy": "OIL_ENERGY", "Education": "HIGHER_EDUCATION", "Government": "GOVERNMENT_ADMINISTRATION"}


def _owners_by_industry(accounts: pd.DataFrame, owners: tuple[str, ...]) -> list[str]:
    """Owners dealt round robin within each industry (a book of business, not an area)."""
    rank = accounts.groupby("industry").cumcount()
    return [owners[i % len(owners)] for i in rank]


def salesforce_accounts(n: int = 3000) -> pd.DataFrame:
    """A Salesforce Accounts report of the first ``n`` sample accounts as a user exports it: Account
    Owner (12 owners, no territories file), Type, Annual Revenue (the customer's own revenue), and a
    Billing Zip that a spreadsheet turned into a number (02139 -> 2139)."""
    accounts = load_sample().accounts.head(n).reset_index(drop=True)
    rng = np.random.default_rng(16)
    return pd.DataFrame({
        "Account ID": [f"001{i:012d}" for i in range(len(accounts))],
        "Account Name": accounts["name"],
        "Account Owner": _owners_by_industry(accounts, SALESFORCE_OWNERS),
        "Type": rng.choice(["Customer - Direct", "Customer - Channel", "Prospect", "Channel Partner / Reseller"],
                           len(accounts), p=[0.4, 0.25, 0.2, 0.15]),
        "Industry": accounts["industry"],
        "Annual Revenue": rng.integers(1, 5000, len(accounts)) * 100_000,
        "Billing City": accounts["city"],
        "Billing State/Province": accounts["state"],
        "Billing Zip/Postal Code": pd.to_numeric(accounts["postal_code"], errors="coerce").astype("Int64"),
    })


def hubspot_companies(n: int = 2000) -> pd.DataFrame:
    """A HubSpot companies export of ``n`` sample accounts: Company owner, Lifecycle Stage, Industry as
    HubSpot's enum codes (COMPUTER_SOFTWARE), Annual Revenue, and a Postal Code that lost its zeros."""
    accounts = load_sample().accounts.tail(n).reset_index(drop=True)
    rng = np.random.default_rng(17)
    return pd.DataFrame({
        "Record ID": [str(9_000_000 + i) for i in range(len(accounts))],
        "Company name": accounts["name"],
        "Company owner": _owners_by_industry(accounts, SALESFORCE_OWNERS[:8]),
        "Lifecycle Stage": rng.choice(["customer", "opportunity", "lead", "evangelist"], len(accounts)),
        "Industry": accounts["industry"].map(HUBSPOT_INDUSTRY),
        "Annual Revenue": rng.integers(1, 5000, len(accounts)) * 100_000,
        "City": accounts["city"],
        "State/Region": accounts["state"],
        "Postal Code": pd.to_numeric(accounts["postal_code"], errors="coerce").astype("Int64"),
    })
