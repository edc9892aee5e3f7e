"""Benchmark: several measures within tolerance at once (``BalanceParams.also_balance``).

For each size, balances the generated accounts (``benchmarks/generate.py``) on workload alone and
on workload with revenue also within +/-5%, and prints one markdown table: engine seconds, the max
deviation of each measure, fragmented territories (Delaunay pieces) and the accounts the extra
pass changed. The shipped sample is included as the hard case (revenue per workload hour differs
about twofold between its regions).

Usage::

    python benchmarks/bench_multi.py                 # sample, 10,000 x 25, 100,000 x 100
    python benchmarks/bench_multi.py --pairs 1000:10
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from generate import generate_accounts  # noqa: E402

from territory.balance import BalanceParams, balance  # noqa: E402
from territory.data.sample import load_sample  # noqa: E402
from territory.planning.metrics import scorecard  # noqa: E402


def _row(name: str, accounts, territories, k: int | None) -> list[str]:
    cells = [name]
    labels = {}
    for also in ((), ("revenue",)):
        started = time.perf_counter()
        result = balance(accounts, BalanceParams(n_territories=k, also_balance=also), territories)
        seconds = time.perf_counter() - started
        card = scorecard(accounts, result.labels, territories=result.territories)
        labels[also] = result.labels
        cells += [f"{seconds:.2f}", f"{card['workload_max_deviation_pct']:.1f}",
                  f"{card['revenue_max_deviation_pct']:.1f}", str(card["fragmented_territories"])]
    changed = int((labels[()] != labels[("revenue",)]).sum())
    return cells + [f"{changed:,}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="10000:25,100000:100", help="comma list of N:K of generated accounts")
    parser.add_argument("--no-sample", action="store_true", help="skip the shipped sample")
    args = parser.parse_args(argv)
    header = ["accounts x territories",
              "workload only: s", "workload max dev %", "revenue max dev %", "fragmented",
              "+ revenue: s", "workload max dev %", "revenue max dev %", "fragmented", "accounts changed"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    # warm the imports and the graph code once so the first row is not charged for them
    balance(generate_accounts(500, seed=0), BalanceParams(n_territories=5, also_balance=("revenue",)))
    if not args.no_sample:
        data = load_sample()
        print("| " + " | ".join(_row("sample 5,000 x 20", data.accounts, data.territories, None)) + " |")
    for pair in args.pairs.split(","):
        n, k = (int(x) for x in pair.split(":"))
        accounts = generate_accounts(n, seed=1)
        print("| " + " | ".join(_row(f"generated {n:,} x {k}", accounts, None, k)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
