"""The engine's MIPs stop after a limit of work, so the same program gets the same answer."""

import itertools

import numpy as np
import scipy.sparse as sp

from territory.engine import mip


def _assignment(n_items: int, n_bins: int, slack: float, seed: int):
    """Items to bins (each item in one bin), every bin's load within [0, capacity]: (cost, matrix,
    lower, upper, weights)."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(5, 40, n_items).astype(float)
    cost = rng.uniform(1, 100, (n_items, n_bins)).ravel()
    item = np.repeat(np.arange(n_items), n_bins)
    binn = np.tile(np.arange(n_bins), n_items)
    columns = np.arange(n_items * n_bins)
    one = sp.csr_matrix((np.ones(columns.size), (item, columns)), shape=(n_items, columns.size))
    load = sp.csr_matrix((weight[item], (binn, columns)), shape=(n_bins, columns.size))
    capacity = np.full(n_bins, weight.sum() / n_bins * (1 + slack))
    lower = np.r_[np.ones(n_items), np.zeros(n_bins)]
    upper = np.r_[np.ones(n_items), capacity]
    return cost, sp.vstack([one, load]), lower, upper, weight


def _solve(program, work):
    cost, matrix, lower, upper, _ = program
    n = cost.size
    return mip.solve(cost, matrix, lower, upper, np.zeros(n), np.ones(n), np.ones(n, dtype=bool), work)


def _feasible(program, x) -> bool:
    _, matrix, lower, upper, _ = program
    row = matrix @ x
    return bool(np.all(row >= lower - 1e-6) and np.all(row <= upper + 1e-6) and np.allclose(x, np.round(x)))


def test_a_small_program_is_solved_to_its_optimum():
    program = _assignment(6, 2, 0.3, seed=1)
    cost, _, _, upper, weight = program
    result = _solve(program, mip.Work(checks=50, gap=0.0))
    best = min(sum(cost[i * 2 + b] for i, b in enumerate(choice))
               for choice in itertools.product(range(2), repeat=6)
               if all(weight[[i for i, b in enumerate(choice) if b == j]].sum() <= upper[6 + j] for j in range(2)))
    assert result.ended == "optimal" and _feasible(program, result.x)
    assert np.isclose(cost @ result.x, best)


def test_an_impossible_program_has_no_answer():
    cost, matrix, lower, upper, weight = _assignment(5, 2, 0.0, seed=2)
    upper = upper.copy()
    upper[5:] = weight.sum() / 4  # both bins together hold half the items' weight
    result = _solve((cost, matrix, lower, upper, weight), mip.Work(checks=10, gap=0.0))
    assert result.x is None and result.ended == "infeasible"


def test_a_hard_program_stops_at_its_budget_with_the_same_answer_every_time():
    program = _assignment(120, 12, 0.01, seed=3)
    first = _solve(program, mip.Work(checks=6, gap=0.0))
    assert first.ended == "work" and first.checks == 7 and _feasible(program, first.x)
    for _ in range(2):
        again = _solve(program, mip.Work(checks=6, gap=0.0))
        assert again.checks == first.checks and np.array_equal(again.x, first.x)
    longer = _solve(program, mip.Work(checks=60, gap=0.0))
    assert _feasible(program, longer.x) and program[0] @ longer.x <= program[0] @ first.x + 1e-9


def test_solving_prints_nothing_on_stdout():
    """HiGHS' banner would land in the CLI's JSON on stdout; a fresh process shows it is not printed."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import numpy as np, scipy.sparse as sp; from territory.engine import mip; "
            "r = mip.solve(np.array([1.0, 2.0]), sp.csr_matrix([[1.0, 1.0]]), np.ones(1), np.ones(1), "
            "np.zeros(2), np.ones(2), np.ones(2, dtype=bool), mip.Work(checks=4, gap=0.0)); "
            "assert r.ended == 'optimal' and r.x.tolist() == [1.0, 0.0]")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_an_interrupt_during_the_search_stops_it():
    """Ctrl-C (or the corpus's alarm) arriving while HiGHS searches stops the search at once. It reaches
    the caller when it lands inside the callback's body; at the callback's first instruction Python
    raises it into HiGHS' C++, where it is lost, and the program ends with no answer ("error")."""
    import signal
    import time

    class Alarm(BaseException):
        pass

    def ring(signum, frame):  # noqa: ARG001  signal handler signature
        raise Alarm()

    program = _assignment(200, 20, 0.005, seed=4)  # 20 s of search (its guard) when nothing stops it
    previous = signal.signal(signal.SIGALRM, ring)
    started = time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            result = _solve(program, mip.Work(checks=1_000_000, gap=0.0, guard_seconds=20.0))
            assert result.ended == "error" and result.x is None
        except Alarm:
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - started < 5.0


def test_a_large_program_gets_fewer_checks_but_never_fewer_than_the_floor():
    assert mip.scaled_checks(64, 128_000, 100) == 64
    assert mip.scaled_checks(64, 128_000, 8_000) == 16
    assert mip.scaled_checks(64, 128_000, 1_000_000) == mip.FEWEST_CHECKS
    assert mip.scaled_checks(64, 128_000, 0) == 64
