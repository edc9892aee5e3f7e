"""One group end to end (territory.engine.single): how the attempts' answers are kept."""

from __future__ import annotations

import numpy as np

from territory.engine.centres import medians
from territory.engine.single import _best_local, _moved_load
from territory.engine.solve import Solution
from tests.factories import engine_problem, strip_accounts


def test_a_local_answer_is_kept_with_the_territory_ids_that_move_least():
    """An answer in today's indices where two territories traded every account (what a lopsided
    start's local re-balance can hand back): matched to today by shared load, nothing moved; the
    better of the two is kept, not the one the solver happened to number."""
    accounts = strip_accounts((10, 10, 10), rows=10)
    problem, _ = engine_problem(accounts, n_territories=3, stability=1.0, tolerance=0.05)
    swapped = np.array([1, 0, 2])[problem.current]
    centres = medians(problem.xyz, problem.weight, swapped, problem.k, problem.anchor_centres)
    solution = Solution(swapped.copy(), centres, np.zeros(swapped.size, dtype=np.int8), np.zeros(problem.k))
    assert _moved_load(problem, swapped) > 0
    kept, score = _best_local(problem, [solution])
    assert score == (0.0, 0.0)
    assert (kept.labels == problem.current).all() and _moved_load(problem, kept.labels) == 0
