"""The balancing engine: accounts in, balanced, compact, low-disruption territories out.

``balance()`` is a pure function (same input and seed, same result); ``TerritoryBalancer`` wraps
it in the scikit-learn shape. The stages are one module each; see :mod:`territory.engine.pipeline`
and docs/engine.md.

The shipped sample, kept as it is where the tolerance allows (stability 1): every territory ends
within +/-5% of its target, and what moves is close to the least any such alignment must move
when accounts only go to a bordering territory:

>>> from territory.data.sample import load_sample
>>> sample = load_sample()
>>> result = balance(sample.accounts, BalanceParams(stability=1.0), sample.territories)
>>> target = result.territories.set_index("territory_id")["target"]
>>> result.feasible, bool((result.load / target - 1).abs().max() <= 0.05)
(True, True)
>>> moved = sample.accounts["workload_hours"][result.assignment["moved"].to_numpy()].sum()
>>> bool(moved <= 1.1 * result.least_moved_nearby)
True
"""

from territory.engine.notes import Note
from territory.engine.params import BalanceParams, validate_params
from territory.engine.pipeline import TerritoryBalancer, balance
from territory.engine.result import MOVED, PREVIOUS_TERRITORY_ID, REASON, BalanceResult

__all__ = ["MOVED", "PREVIOUS_TERRITORY_ID", "REASON", "BalanceParams", "BalanceResult", "Note",
           "TerritoryBalancer", "balance", "validate_params"]
