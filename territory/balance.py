"""The balancing engine's public API (kept here for existing imports; the engine lives in
:mod:`territory.engine`, one module per stage).

>>> import pandas as pd
>>> accounts = pd.DataFrame({
...     "account_id": ["A1", "A2", "A3", "A4"],
...     "latitude": [40.0, 40.1, 34.0, 34.1], "longitude": [-74.0, -74.1, -118.0, -118.1],
...     "workload_hours": [10.0, 10.0, 10.0, 10.0]})
>>> balance(accounts, BalanceParams(n_territories=2)).feasible
True
"""

from territory.engine import (
    MOVED,
    PREVIOUS_TERRITORY_ID,
    REASON,
    BalanceParams,
    BalanceResult,
    Note,
    TerritoryBalancer,
    balance,
    validate_params,
)
from territory.engine.params import ANCHORS, MEASURE_UNIT

__all__ = ["ANCHORS", "MEASURE_UNIT", "MOVED", "PREVIOUS_TERRITORY_ID", "REASON", "BalanceParams", "BalanceResult",
           "Note", "TerritoryBalancer", "balance", "validate_params"]
