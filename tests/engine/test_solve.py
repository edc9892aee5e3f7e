"""The global solve: the same input gives the same alignment, whatever the threads' timing."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import replace

import numpy as np

from territory.engine.params import BalanceParams
from territory.engine.prepare import prepare
from territory.engine.solve import _body_medians, resolve_graph
from tests.factories import strip_accounts


def test_centres_wait_for_a_triangulation_still_running_on_its_thread():
    accounts = strip_accounts((10, 10, 10))
    problem = prepare(accounts, BalanceParams(n_territories=3, stability=0.0), None).problem
    graph = resolve_graph(problem.adjacency)
    labels = np.repeat(np.arange(3), 100)
    labels[250:260] = 0  # a piece of T1 inside T3: its centre follows its main body only
    centres = np.zeros((3, 3))
    with_graph = _body_medians(replace(problem, adjacency=graph), labels, centres)

    pending: Future = Future()
    timer = threading.Timer(0.3, pending.set_result, args=(graph,))
    timer.start()
    try:
        waited = _body_medians(replace(problem, adjacency=pending), labels, centres)
    finally:
        timer.join()
    np.testing.assert_allclose(waited, with_graph)


def test_the_same_accounts_give_the_same_alignment_twice():
    from territory.balance import balance

    rng = np.random.default_rng(3)
    accounts = strip_accounts((12, 9, 9, 10), rows=12)
    accounts["workload_hours"] = rng.lognormal(0.0, 0.8, len(accounts))
    params = BalanceParams(n_territories=5, stability=0.0, seed=2)
    first = balance(accounts.drop(columns="territory_id"), params).labels
    second = balance(accounts.drop(columns="territory_id"), params).labels
    assert first.equals(second)
