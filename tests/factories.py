"""Small hand-made inputs shared by tests of several modules."""

from __future__ import annotations

import pandas as pd


def make_accounts(**columns) -> pd.DataFrame:
    """Accounts A0, A1, ... with the given columns (``make_accounts(revenue=[1.0, 2.0])``)."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)]})
    for name, values in columns.items():
        frame[name] = values
    return frame
