"""The balancing engine: accounts in, balanced, compact, low-disruption territories out.

``balance()`` is a pure function (same input and seed, same result); ``TerritoryBalancer`` wraps
it in the scikit-learn shape. The stages are one module each; see :mod:`territory.engine.pipeline`
and docs/engine.md.
"""

from territory.engine.notes import Note
from territory.engine.params import BalanceParams, validate_params
from territory.engine.pipeline import TerritoryBalancer, balance
from territory.engine.result import MOVED, PREVIOUS_TERRITORY_ID, REASON, BalanceResult

__all__ = ["MOVED", "PREVIOUS_TERRITORY_ID", "REASON", "BalanceParams", "BalanceResult", "Note",
           "TerritoryBalancer", "balance", "validate_params"]
