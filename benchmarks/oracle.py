"""Quality oracle: the exact balanced p-median for a small instance, solved with HiGHS (highspy).

The engine is a heuristic; on a small instance (N = 100 accounts, K = 5) the exact optimum of the
same problem (assign every account to one of K medians, every territory's workload within the
+/-5% band, minimise workload x great-circle km) tells how far from optimal it is.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np
import pandas as pd

TOLERANCE = 0.05


@contextlib.contextmanager
def _quiet_stdout():
    """Silence output written straight to file descriptor 1 (C/C++ code) for a moment."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (captured by a test runner): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def p_median_mip(
    accounts: pd.DataFrame, k: int, tolerance: float = TOLERANCE, time_limit: float = 300.0
) -> tuple[float, np.ndarray, float, str]:
    """Exact p-median with a +/-tolerance workload band (HiGHS): (cost, labels, seconds, status).

    Facilities are the accounts themselves; cost = sum of workload x great-circle km from each
    account to its territory's median. x_ij = 1 assigns account i to median j; y_j opens j.
    """
    import highspy
    import scipy.sparse as sp

    from territory.engine.mip import highs_model
    from territory.geo import haversine_km

    n = len(accounts)
    w = accounts["workload_hours"].to_numpy(dtype=float)
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    mean = w.sum() / k
    nx = n * n
    cost = np.concatenate([(w[:, None] * d).ravel(), np.zeros(n)])
    x_index = np.arange(nx).reshape(n, n)
    rows, cols, vals, lower, upper = [], [], [], [], []
    r = 0
    # each account assigned once
    for i in range(n):
        rows += [r] * n
        cols += list(x_index[i])
        vals += [1.0] * n
        lower.append(1.0)
        upper.append(1.0)
        r += 1
    # x_ij <= y_j
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    link_rows = r + np.arange(nx)
    rows += list(link_rows) + list(link_rows)
    cols += list(x_index.ravel()) + list(nx + jj.ravel())
    vals += [1.0] * nx + [-1.0] * nx
    lower += [-highspy.kHighsInf] * nx
    upper += [0.0] * nx
    r += nx
    # exactly k medians
    rows += [r] * n
    cols += list(nx + np.arange(n))
    vals += [1.0] * n
    lower.append(float(k))
    upper.append(float(k))
    r += 1
    # workload band at each open median: (1-t) m y_j <= sum_i w_i x_ij <= (1+t) m y_j
    for j in range(n):
        for bound in ("upper", "lower"):
            rows += [r] * (n + 1)
            cols += list(x_index[:, j]) + [nx + j]
            if bound == "upper":
                vals += list(w) + [-(1 + tolerance) * mean]
                lower.append(-highspy.kHighsInf)
                upper.append(0.0)
            else:
                vals += list(w) + [-(1 - tolerance) * mean]
                lower.append(0.0)
                upper.append(highspy.kHighsInf)
            r += 1
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(r, nx + n))

    with _quiet_stdout():  # HiGHS prints a copyright banner from C++ on construction
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    lp = highs_model(cost, matrix, np.array(lower, dtype=float), np.array(upper, dtype=float), np.zeros(nx + n),
                     np.ones(nx + n), np.ones(nx + n, dtype=bool))
    h.passModel(lp)
    started = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - started
    status = h.modelStatusToString(h.getModelStatus())
    solution = np.asarray(h.getSolution().col_value)
    x = solution[:nx].reshape(n, n)
    labels = x.argmax(axis=1).astype(str)
    return float(h.getInfo().objective_function_value), labels, seconds, status


def p_median_cost(accounts: pd.DataFrame, labels: np.ndarray) -> float:
    """Cost of a partition with each territory served from its best median (any account)."""
    from territory.geo import haversine_km

    w = accounts["workload_hours"].to_numpy(dtype=float)
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    total = 0.0
    for label in np.unique(labels):
        members = labels == label
        total += float(np.min(w[members] @ d[members]))
    return total
