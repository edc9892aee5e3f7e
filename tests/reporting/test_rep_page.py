"""The rep's printable page: self-contained, escaped, and with the rep view's figures."""

from __future__ import annotations

import re

import pandas as pd

from territory.planning.rep import rep_view
from territory.reporting.rep_page import MAX_MOVES_LISTED, build_rep_page

XSS = "<img src=x onerror=alert(1)>"


def test_rep_page_is_self_contained_escaped_and_lists_moves() -> None:
    n = MAX_MOVES_LISTED + 3
    accounts = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(n + 1)], "name": [XSS] + [f"Account {i}" for i in range(1, n + 1)],
        "latitude": [40.0 + 0.01 * i for i in range(n + 1)], "longitude": [-74.0] * (n + 1),
        "industry": ["Retail"] * (n + 1), "revenue": [float(100 + i) for i in range(n + 1)],
        "workload_hours": [10.0] * (n + 1), "territory_id": ["T2"] * n + ["T1"]})
    territories = pd.DataFrame({"territory_id": ["T1", "T2"], "rep_name": [XSS, "Bo"], "region": ["East", "East"],
                                "district": ["Harbour", "Harbour"]})
    labels = pd.Series(["T1"] * (n + 1), index=accounts.index)  # every account of T2 moves to T1
    from territory.planning.whitespace import white_space

    accounts["potential"] = 1000.0
    view = rep_view(accounts, labels, "T1", territories=territories, previous=accounts["territory_id"],
                    white=white_space(accounts, labels))
    page = build_rep_page(view, accounts, labels)
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    assert f"Accounts the plan moves in ({n})" in page and "3 more (smaller) in the assignment export" in page
    assert "Accounts the plan moves out: none" in page
    assert "Where to hunt" in page and "White space" in page
    assert "Region › District: East › Harbour" in page  # where the territory sits (#15)
