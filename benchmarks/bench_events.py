"""Every rep of the sample leaving, one at a time: what moves and how far the territories reach.

A rep leaving is the what-if a sales leader tries first, and the one where load passes from
neighbour to neighbour along chains (``planning.events.rep_leaves`` hands the territory over, then
re-balances at stability 1). The far rule grows with each territory, so it passes a territory
stretched from Virginia to Alabama; this table measures the stretch instead. Per leaving territory:
accounts moved, the workload of the other territories' accounts that moved (and of the leaving
territory's own, all of which move), the engine's proven least load the others must move for the
same staged input (the leaving accounts unowned, every territory within the band), and the mean and
worst reach of the territories left (the 90th percentile distance from each territory's centre, as
``corpus_check`` measures it) against the same territories today and against a fresh alignment of
the same territories (stability 0).

    python benchmarks/bench_events.py            # all 20 territories of the sample
    python benchmarks/bench_events.py --quick    # two of them (the smoke run the tests use)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_check import reach_km  # noqa: E402

QUICK = ("T06", "T13")


def leave(sample, territory_id: str) -> dict:
    """One rep leaving: the facts of one table row."""
    from territory.data.measures import measure_values
    from territory.engine import BalanceParams, balance
    from territory.geo import to_unit_vectors
    from territory.planning.events import rep_leaves

    accounts, territories = sample.accounts, sample.territories
    params = BalanceParams()
    weights = measure_values(accounts, params.balance_on)
    xyz = to_unit_vectors(accounts["latitude"].to_numpy(float), accounts["longitude"].to_numpy(float))
    today = accounts["territory_id"].astype(str).to_numpy()
    started = time.perf_counter()
    result = rep_leaves(accounts, accounts["territory_id"], territory_id, territories=territories, params=params)
    seconds = time.perf_counter() - started
    after = result.assignment["territory_id"].astype(str).to_numpy()
    moved = after != today
    # the engine's bounds for the ripple's own input: the leaving territory's accounts unowned
    staged = accounts.assign(territory_id=accounts["territory_id"].where(accounts["territory_id"] != territory_id))
    remaining = territories[territories["territory_id"].astype(str) != territory_id].reset_index(drop=True)
    ripple = balance(staged, BalanceParams(stability=1.0, n_territories=len(remaining)), remaining)
    fresh = balance(staged, BalanceParams(stability=0.0, n_territories=len(remaining)), remaining)
    stays = today != territory_id
    before_reach = reach_km(xyz[stays], weights[stays], today[stays])
    after_reach = reach_km(xyz, weights, after)
    fresh_reach = reach_km(xyz, weights, fresh.assignment["territory_id"].astype(str).to_numpy())
    return {
        "territory": territory_id,
        "seconds": seconds,
        "moved_accounts": int(moved.sum()),
        "others_hours": float(weights[moved & stays].sum()),
        "own_hours": float(weights[~stays].sum()),
        "least_others_hours": ripple.least_moved,
        "reach_today_km": before_reach[0],
        "reach_km": after_reach[0],
        "reach_fresh_km": fresh_reach[0],
        "worst_reach_today_km": before_reach[1],
        "worst_reach_km": after_reach[1],
        "feasible": bool(result.feasible),
    }


def table(rows: list[dict]) -> str:
    """The markdown table of :func:`leave` rows, with the medians below it."""
    lines = ["| leaves | s | moved accounts | others' moved h (its own h) | least others' h | mean reach km: "
             "today -> after (fresh) | worst reach km: today -> after | within band |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['territory']} | {r['seconds']:.1f} | {r['moved_accounts']:,} | {r['others_hours']:,.0f} "
            f"({r['own_hours']:,.0f}) | {r['least_others_hours'] or 0:,.0f} | "
            f"{r['reach_today_km']:,.0f} -> {r['reach_km']:,.0f} ({r['reach_fresh_km']:,.0f}) | "
            f"{r['worst_reach_today_km']:,.0f} -> "
            f"{r['worst_reach_km']:,.0f} | {'yes' if r['feasible'] else 'no'} |")
    ratio = np.array([r["reach_km"] / r["reach_today_km"] for r in rows])
    worst = np.array([r["worst_reach_km"] / r["worst_reach_today_km"] for r in rows])
    fresh = np.array([r["reach_km"] / r["reach_fresh_km"] for r in rows])
    lines += ["", f"Mean reach after / today: median {np.median(ratio):.2f}, max {ratio.max():.2f}; after / a fresh "
                  f"alignment of the same territories (stability 0): median {np.median(fresh):.2f}, max "
                  f"{fresh.max():.2f}; worst territory's reach after / today's worst: median {np.median(worst):.2f}, "
                  f"max {worst.max():.2f}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {' and '.join(QUICK)} leave")
    args = parser.parse_args(argv)
    from territory.data.sample import load_sample
    from territory.engine import BalanceParams

    sample = load_sample()
    ids = sorted(sample.territories["territory_id"].astype(str))
    rows = [leave(sample, t) for t in (QUICK if args.quick else ids)]
    tolerance = 100 * BalanceParams().tolerance
    print(f"## Every rep of the sample leaving (stability 1 ripple, tolerance +/-{tolerance:g}%)\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
