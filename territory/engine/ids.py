"""Territory IDs: natural order, fresh IDs for new territories, and keeping today's IDs (T07
stays T07) by matching the solver's territories to today's."""

from __future__ import annotations

import re

import numpy as np
from scipy.optimize import linear_sum_assignment


def natural_key(text: str) -> tuple:
    """Sort key that puts T2 before T10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def new_ids(existing: list[str], count: int) -> list[str]:
    """``count`` fresh IDs 'Tnn' after the highest existing Tnn (T01, T02, ... when none).

    >>> new_ids(["T01", "T07", "West"], 2)
    ['T08', 'T09']
    """
    numbers = [int(m.group(1)) for t in existing if (m := re.fullmatch(r"T(\d+)", t))]
    width = max([2] + [len(m.group(1)) for t in existing if (m := re.fullmatch(r"T(\d+)", t))])
    start = max(numbers, default=0) + 1
    width = max(width, len(str(start + count - 1)))
    taken = set(existing)
    out: list[str] = []
    number = start
    while len(out) < count:
        candidate = f"T{number:0{width}d}"
        if candidate not in taken:
            out.append(candidate)
        number += 1
    return out


def match(score: np.ndarray, capacity: np.ndarray, locked: np.ndarray) -> np.ndarray:
    """perm[cluster] = ID slot maximising the total ``score`` (k x k: cluster x slot, e.g. the
    load they share), only between equal capacities; a cluster holding accounts locked to a slot
    (``locked``: slot per account, -1 free, the clusters being the slots before the match) keeps it."""
    k = capacity.size
    big = float(np.abs(score).sum()) + 1.0
    cost = -np.asarray(score, dtype=float) + big * (np.abs(capacity[:, None] - capacity[None, :]) > 1e-9)
    forced = np.unique(locked[locked >= 0])
    cost[forced, :] += big
    cost[forced, forced] -= big
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(k, dtype=np.int64)
    perm[rows] = cols
    return perm
