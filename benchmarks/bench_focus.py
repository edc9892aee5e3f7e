"""Benchmark: what the industry-focus setting buys (concentration) and costs (travel, time).

Runs ``territory.balance`` at focus 0, 0.25, 0.5, 0.75 and 1 on the same generated accounts
(``benchmarks/generate.py``) and prints one markdown table (paste it into docs/benchmarks.md):

* seconds and CPU s: wall and process CPU time of ``balance()`` (best of ``--repeat`` runs, after
  one untimed warm-up run that builds the memoised Delaunay graph, so every row is a warm re-run;
  CPU time is steadier on a shared machine);
* weighted mean distance km: workload-weighted great-circle distance from each account to its
  territory's workload-weighted spherical centre (as in ``bench_balance.py``), and its change
  against focus 0;
* mean HHI and mean top-industry share: ``territory.planning.industry.industry_concentration`` by workload,
  averaged over territories (HHI is 1/8 for an even split over eight industries, 1 for one);
* max deviation %: largest |load / target - 1| (the tolerance is +/-5%);
* fragmented: territories in more than one piece on the accounts' Delaunay graph (focus trades
  accounts into a neighbour's area, so specialised territories overlap by design);
* moved %: accounts whose territory differs from focus 0.

Usage::

    python benchmarks/bench_focus.py                    # N=10,000, K=25
    python benchmarks/bench_focus.py --n 100000 --k 100
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from generate import generate_accounts  # noqa: E402

TOLERANCE = 0.05
FOCUS_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(accounts: pd.DataFrame, labels: np.ndarray, adjacency) -> dict[str, float]:
    """Distance, deviation, fragmentation and concentration of one alignment (labels: IDs)."""
    from territory.geo import count_pieces, haversine_km, weighted_centers
    from territory.planning.industry import industry_concentration

    workload = accounts["workload_hours"].to_numpy(dtype=float)
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    codes, uniques = pd.factorize(pd.Series(labels, dtype=object), sort=True)
    loads = np.bincount(codes, weights=workload, minlength=len(uniques))
    target = workload.sum() / len(uniques)
    centres = weighted_centers(lat, lon, codes, workload)
    clat = centres["latitude"].reindex(range(len(uniques))).to_numpy()[codes]
    clon = centres["longitude"].reindex(range(len(uniques))).to_numpy()[codes]
    conc = industry_concentration(accounts, pd.Series(labels, index=accounts.index))
    return {
        "distance": float(np.average(haversine_km(lat, lon, clat, clon), weights=workload)),
        "deviation": 100.0 * float(np.max(np.abs(loads / target - 1.0))),
        "fragmented": int((count_pieces(adjacency, codes) > 1).sum()),
        "hhi": float(conc["industry_hhi"].mean()),
        "top": float(conc["top_industry_share"].mean()),
    }


def run(n: int, k: int, seed: int, repeat: int, levels=FOCUS_LEVELS, out=sys.stdout) -> list[dict]:
    from territory.balance import BalanceParams, balance
    from territory.geo import delaunay_neighbors

    accounts = generate_accounts(n, seed=seed)
    adjacency = delaunay_neighbors(accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy())
    print(f"Industry focus: cost in travel vs concentration (N={n:,}, K={k}, tolerance +/-{100 * TOLERANCE:g}%; "
          "HHI and top-industry share by workload, averaged over territories).\n", file=out)
    print("| industry focus | seconds | CPU s | weighted mean distance km | distance vs focus 0 | mean HHI "
          "| mean top-industry share | max deviation % | fragmented | moved vs focus 0 % |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", file=out, flush=True)
    # one untimed run first: the engine memoises the accounts' Delaunay graph, so every row is warm
    balance(accounts, BalanceParams(n_territories=k, tolerance=TOLERANCE, seed=seed))
    rows: list[dict] = []
    base_labels = base_distance = None
    for focus in levels:
        params = BalanceParams(n_territories=k, tolerance=TOLERANCE, seed=seed, industry_focus=focus)
        best = best_cpu = np.inf
        for _ in range(max(repeat, 1)):
            started, cpu_started = time.perf_counter(), _cpu_seconds()
            result = balance(accounts, params)
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, _cpu_seconds() - cpu_started)
        labels = result.assignment["territory_id"].astype(str).to_numpy()
        q = measure(accounts, labels, adjacency)
        if base_labels is None:
            base_labels, base_distance = labels, q["distance"]
        moved = 100.0 * float((labels != base_labels).mean())
        row = {"focus": focus, "seconds": best, "cpu_seconds": best_cpu, "moved": moved, **q}
        rows.append(row)
        print(f"| {focus:.2f} | {best:.2f} | {best_cpu:.2f} | {q['distance']:,.1f} | "
              f"{100.0 * (q['distance'] / base_distance - 1.0):+.1f}% | {q['hhi']:.3f} | {q['top']:.1%} | "
              f"{q['deviation']:.2f} | {q['fragmented']} | {moved:.1f} |", file=out, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="accounts (default 10,000)")
    parser.add_argument("--k", type=int, default=25, help="territories (default 25)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per focus level; the best time is shown")
    args = parser.parse_args(argv)
    run(args.n, args.k, args.seed, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
