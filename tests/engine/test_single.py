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


def test_an_answer_with_a_far_account_is_repaired_last_but_still_kept_when_it_moves_least(monkeypatch):
    """Answers without a far account are repaired first (a far account's pull-back can cost seconds),
    but the repairs stop only once the kept one moves no more than any answer left: an answer with a
    far account that the repair settles cheaply still wins (the sample with T04 gone: 10,370 h of
    the other territories' accounts moved when the far answer was skipped, 9,317 h now)."""
    from territory.engine import single

    accounts = strip_accounts((12, 9, 9), rows=10)
    problem, _ = engine_problem(accounts, n_territories=3, stability=1.0, tolerance=0.05)

    def answer(columns: int) -> Solution:
        labels = problem.current.copy()
        labels[np.flatnonzero(problem.current == 0)[-10 * columns:]] = 1  # T1's last columns to T2
        return Solution(labels, np.zeros((problem.k, 3)), np.zeros(labels.size, dtype=np.int8), np.zeros(problem.k))

    far, near, nearer = answer(2), answer(4), answer(3)
    monkeypatch.setattr(single, "far_accounts", lambda _, labels: np.full(labels.size, labels is far.labels))
    monkeypatch.setattr(single, "_repaired", lambda *_: (0.0, 0.0))
    monkeypatch.setattr(single, "homeward", lambda _problem, _graph, labels, _how: labels)
    kept, score = _best_local(problem, [near, far, nearer])
    assert score == (0.0, 0.0) and kept is far
