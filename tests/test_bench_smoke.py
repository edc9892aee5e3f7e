"""The benchmark scripts must keep running: tiny sizes through the same code path as the README table."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_balance  # noqa: E402
from generate import generate_accounts  # noqa: E402
from oracle import p_median_cost, p_median_mip  # noqa: E402


def test_generator_is_deterministic_and_canonical():
    first, second = generate_accounts(500, seed=3), generate_accounts(500, seed=3)
    assert first.equals(second)
    assert not first.equals(generate_accounts(500, seed=4))
    assert first["account_id"].is_unique
    assert first["latitude"].between(18, 72).all() and first["longitude"].between(-170, -60).all()
    assert (first["workload_hours"] > 0).all()
    # lognormal workload: a long right tail
    assert first["workload_hours"].mean() > first["workload_hours"].median()


def test_oracle_matches_brute_force_on_a_tiny_instance():
    accounts = generate_accounts(10, seed=5)
    workload = accounts["workload_hours"].to_numpy()
    cost, labels, _, status = p_median_mip(accounts, 2, tolerance=0.25)
    assert status == "Optimal"
    best = np.inf
    for bits in itertools.product((0, 1), repeat=len(accounts)):
        split = np.array(bits)
        if split.min() == split.max():
            continue
        loads = np.array([workload[split == g].sum() for g in (0, 1)])
        if np.all(np.abs(loads / loads.mean() - 1) <= 0.25 + 1e-9):
            best = min(best, p_median_cost(accounts, split.astype(str)))
    assert cost == pytest.approx(best, rel=1e-6)
    assert p_median_cost(accounts, labels) == pytest.approx(cost, rel=1e-6)


def test_quick_benchmark_prints_every_section(capsys):
    code = bench_balance.main(
        ["--quick", "--in-process", "--sizes", "300", "--ks", "5", "--oracle-n", "20", "--oracle-k", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| method | N | K | seconds | CPU s | max deviation % |" in out
    for label in ("territory engine", "sklearn KMeans", "k-means-constrained", "engine warm re-run"):
        assert f"| {label}" in out
    assert "Quality oracle: N=20, K=2" in out
    assert "| exact MIP |" in out
    assert "Industry focus" in out


def test_seed_comparison_prints_a_ratio_per_dataset(capsys):
    import bench_seeds

    assert bench_seeds.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| 1,000 | 5 |")]
    assert len(rows) == 2
    ratios = [float(line.split("|")[6]) for line in rows]
    assert all(0.5 < r < 2.0 for r in ratios)
    assert "K = 5: engine / k-means-constrained travel, mean" in out


def test_repeated_runs_report_the_median_and_the_spread(capsys):
    code = bench_balance.main(["--in-process", "--sizes", "300", "--ks", "5", "--methods", "engine",
                               "--skip", "oracle,focus", "--warm-n", "300", "--warm-k", "5", "--repeat", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "median of 3 cold runs" in out
    engine_rows = [line for line in out.splitlines() if line.startswith(("| territory engine", "| engine"))]
    assert len(engine_rows) == 4  # the table row and the three warm/disruption rows
    assert all(", 3 runs)" in line for line in engine_rows)
