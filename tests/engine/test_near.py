"""Far accounts to a nearer territory by an exact re-solve (territory.engine.near)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.engine import near
from territory.engine.polish import far_accounts, far_limits, unit_km
from territory.engine.repair import graph_edges, stray_accounts
from territory.engine.solve import outside_band
from territory.geo import count_pieces
from tests.factories import engine_problem as _problem
from tests.factories import tentacle_accounts as _tentacle_accounts


@pytest.mark.parametrize("tolerance", [0.01, 0.05])
def test_far_accounts_on_a_border_leave_in_one_round_and_the_band_holds(tolerance):
    """T1's one-row tentacle runs 1,700 km along T2's edge: its far end joins T2, and T2 hands back
    as much load along the border, so both stay within the band and in one piece."""
    accounts = _tentacle_accounts()
    labels = accounts.pop("t").to_numpy().astype(np.int64)
    problem, graph = _problem(accounts, n_territories=2, stability=0.0, tolerance=tolerance)
    far = far_accounts(problem, labels)
    assert far.sum() > 6
    centres, limit = far_limits(problem, labels)
    out = near.bring_near(problem, graph, labels, far, 1.0)
    assert out is not None
    assert not far_accounts(problem, out).any()
    assert outside_band(problem, out).sum() == 0
    assert count_pieces(graph, out).max() == 1
    moved = np.flatnonzero(out != labels)
    # every account that moved lands near the centre it was sent to
    assert (unit_km(problem.xyz[moved], centres[out[moved]]) <= near.MARGIN * limit[out[moved]] + 1e-6).all()


@pytest.mark.parametrize("seed", range(4))
def test_a_round_never_cuts_off_an_account_that_stays_by_a_move_it_could_undo(seed):
    """Four strips of accounts (some piled on one point), and a handful of the east strip's
    accounts set down in the west strip, far from their territory: they leave, and no move that
    did not have to happen cuts an account that stays off its territory."""
    rng = np.random.default_rng(seed)
    n = 800
    lat = rng.uniform(30, 45, n)
    lon = rng.uniform(-110, -80, n)
    pile = rng.random(n) < 0.1
    lat[pile], lon[pile] = 38.0, -95.0
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "latitude": lat, "longitude": lon,
                             "workload_hours": rng.lognormal(0, 0.6, n)})
    problem, graph = _problem(accounts, n_territories=4, stability=0.0, tolerance=0.05)
    labels = np.searchsorted(np.quantile(lon, [0.25, 0.5, 0.75]), lon).astype(np.int64)
    west = np.flatnonzero((labels == 0) & ~pile & (lon < -106))[:12]
    labels[west] = 3
    far = far_accounts(problem, labels)
    assert far[west].all()
    out = near.bring_near(problem, graph, labels, far, 1.0)
    if out is None:  # the band could not be met with moves along the borders: nothing changes
        return
    before, _ = stray_accounts(problem, graph, labels)
    after, _ = stray_accounts(problem, graph, out)
    cut = after & (out == labels) & ~before
    # an account that stays is cut off only behind an account that had to leave (a far lobe's tip)
    src, dst = graph_edges(graph)
    took_away = cut[src] & (out[dst] != labels[dst]) & (labels[dst] == labels[src])
    assert far[dst[took_away]].all()
    assert far_accounts(problem, out).sum() < far.sum()
    assert outside_band(problem, out).sum() <= outside_band(problem, labels).sum() + 1e-9


def test_nothing_far_means_no_change_and_same_answer_twice():
    accounts = _tentacle_accounts()
    labels = accounts.pop("t").to_numpy().astype(np.int64)
    problem, graph = _problem(accounts, n_territories=2, stability=0.0, tolerance=0.05)
    far = far_accounts(problem, labels)
    first = near.bring_near(problem, graph, labels, far, 1.0)
    second = near.bring_near(problem, graph, labels, far, 1.0)
    assert (first == second).all()
    assert not far_accounts(problem, first).any()
    assert near.bring_near(problem, graph, first, far_accounts(problem, first), 1.0) is None
