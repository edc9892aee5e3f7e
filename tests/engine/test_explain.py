"""The engine's own notes (territory.engine.explain)."""

from __future__ import annotations

from tests.factories import strip_accounts


def test_the_moves_note_gives_no_revenue_share_without_revenue():
    from territory.balance import BalanceParams, balance
    from territory.engine import codes

    accounts = strip_accounts((12, 10, 8), rows=10)  # no revenue column; T1 above its band
    note = balance(accounts, BalanceParams(n_territories=3, tolerance=0.05, stability=1.0)).note(codes.MOVES)
    assert note.data["accounts"] > 0 and note.data["revenue_pct"] is None
    assert "revenue" not in note.text
    accounts["revenue"] = 1000.0
    note = balance(accounts, BalanceParams(n_territories=3, tolerance=0.05, stability=1.0)).note(codes.MOVES)
    assert note.data["revenue_pct"] > 0 and "% of revenue" in note.text
