"""The benchmark scripts must keep running: tiny sizes through the code path of docs/benchmarks.md."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_balance  # noqa: E402
import corpus  # noqa: E402
import corpus_check  # noqa: E402
import corpus_families  # noqa: E402
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


def test_rep_leaves_benchmark_prints_a_row_per_leaving_territory(capsys):
    import bench_events

    assert bench_events.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| T")]
    assert [row.split("|")[1].strip() for row in rows] == list(bench_events.QUICK)
    assert all(row.rstrip().endswith("| yes |") for row in rows)  # the sample's ripple meets the band
    assert "Mean reach after / today: median" in out and "a fresh alignment" in out


def test_repeated_runs_report_the_median_and_the_spread(capsys):
    code = bench_balance.main(["--in-process", "--sizes", "300", "--ks", "5", "--methods", "engine",
                               "--skip", "oracle,focus", "--warm-n", "300", "--warm-k", "5", "--repeat", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "median of 3 cold runs" in out
    engine_rows = [line for line in out.splitlines() if line.startswith(("| territory engine", "| engine"))]
    assert len(engine_rows) == 4  # the table row and the three warm/disruption rows
    assert all(", 3 runs)" in line for line in engine_rows)


# --- the robustness corpus (benchmarks/corpus.py) -------------------------------------------------------


def test_corpus_design_is_fixed_and_covers_every_cell():
    runs = corpus.design("default")
    assert [r.id for r in runs] == [r.id for r in corpus.design("default")]
    assert len(runs) >= 300 and len({r.id for r in runs}) == len(runs)
    assert {r.instance.family for r in runs} == set(corpus_families.FAMILIES)
    for family, (variants, _) in corpus.FAMILY_PLAN.items():  # every family sees every tail and variant
        pairs = {(r.instance.variant, r.instance.tail) for r in runs if r.instance.family == family}
        assert {t for _, t in pairs} == set(corpus_families.TAILS) and {v for v, _ in pairs} == set(variants)
        if len(variants) * len(corpus_families.TAILS) <= corpus.FAMILY_PLAN[family][1]:
            assert len(pairs) == len(variants) * len(corpus_families.TAILS)
    cells = {(r.start, r.stability) for r in runs if r.start != "none"}
    assert cells == {(s, x) for s in corpus_families.STARTS[1:] for x in corpus.STABILITIES}
    assert all(r.instance.n / r.instance.k >= corpus.MIN_ACCOUNTS_PER_TERRITORY for r in runs)
    assert min(r.instance.n for r in runs) == 2_000 and {5, 500} <= {r.instance.k for r in runs}
    assert all(corpus.RunSpec.from_id(r.id) == r for r in runs)
    assert 10 <= len(corpus.design("quick")) <= 20
    assert {(r.instance.n, r.instance.k) for r in corpus.design("full")} >= {(100_000, 100), (200_000, 500)}


@pytest.mark.parametrize("family", corpus_families.FAMILIES)
def test_quick_corpus_instances_are_deterministic(family):
    spec = next(r.instance for r in corpus.design("quick") if r.instance.family == family)
    accounts, facts = corpus_families.make_accounts(spec)
    again, _ = corpus_families.make_accounts(corpus_families.InstanceSpec.from_id(spec.id))
    pd.testing.assert_frame_equal(accounts, again)
    other, _ = corpus_families.make_accounts(corpus_families.InstanceSpec(**{**spec.__dict__, "seed": spec.seed + 1}))
    assert not np.allclose(accounts["latitude"], other["latitude"])
    workload = accounts["workload_hours"].to_numpy()
    assert len(accounts) == spec.n and accounts["account_id"].is_unique and (workload > 0).all()
    assert workload.max() <= facts["cap_hours"] * (1 + 1e-9) <= 0.4 * workload.sum() / spec.k * (1 + 1e-9)
    assert accounts["latitude"].between(-90, 90).all() and accounts["longitude"].between(-180, 180).all()


def test_corpus_families_have_their_features():
    spec = corpus_families.InstanceSpec("us_zip", "t30", 2_000, 10, "pareto", 1)
    accounts, facts = corpus_families.make_accounts(spec)
    assert facts["largest_pile"] >= 25  # office towers: many accounts at one exact point
    assert facts["top1_share"] == pytest.approx(0.25, abs=0.03)
    blocks = corpus_families.start_labels("blocks", spec, accounts)
    loads = accounts.groupby(blocks)["workload_hours"].sum() / (accounts["workload_hours"].sum() / spec.k)
    assert loads.min() < 0.3 and loads.max() > 2.0  # lopsided
    previous_k = corpus_families.k_pm3_start_k(spec)
    assert abs(previous_k - spec.k) == 3
    assert len(set(corpus_families.start_labels("k_pm3", spec, accounts))) == previous_k
    island = corpus_families.InstanceSpec("long_country", "island", 2_000, 10, "ln0.8", 1)
    accounts, _ = corpus_families.make_accounts(island)
    on_island = accounts["longitude"] < -100
    share = accounts.loc[on_island, "workload_hours"].sum() / (accounts["workload_hours"].sum() / island.k)
    assert on_island.sum() == corpus_families.island_accounts(island) and share == pytest.approx(0.25, rel=1e-6)


def test_reference_bisection_balances_a_heavy_tail():
    spec = corpus_families.InstanceSpec("metro", "t30", 2_000, 20, "pareto", 1)
    accounts, _ = corpus_families.make_accounts(spec)
    w = accounts["workload_hours"].to_numpy()
    labels = corpus_families.bisection_labels(accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy(), w, 20)
    assert corpus_check.max_deviation(w, labels, 20) < 0.01


def _quadrants():
    """A 20 x 20 grid over 10-30N, 0-20E (about 100 km apart), unit workloads, in four 10 x 10 quadrants."""
    lat, lon = np.meshgrid(np.arange(20) + 10.5, np.arange(20) + 0.5, indexing="ij")
    lat, lon = lat.ravel(), lon.ravel()
    labels = np.array([f"Q{1 + (a >= 20.0) * 2 + (b >= 10.0)}" for a, b in zip(lat, lon)], dtype=object)
    return lat, lon, np.ones(lat.size), labels


def _check(lat, lon, weights, labels, start, ids=None):
    from territory.geo import delaunay_neighbors, to_unit_vectors

    ids = sorted(set(labels)) if ids is None else ids
    return corpus_check.check_alignment(to_unit_vectors(lat, lon), delaunay_neighbors(lat, lon), weights, labels,
                                        ids, start, corpus.TOLERANCE)


def test_checker_passes_a_good_alignment_and_flags_round_robin_fragments():
    lat, lon, w, quadrants = _quadrants()
    good = _check(lat, lon, w, quadrants, None)
    assert good["balanceable"] and good["max_dev"] == 0.0
    assert good["fragmented_moved_territories"] == good["far_moves"] == good["empty_territories"] == 0
    round_robin = np.array([f"Q{1 + i % 4}" for i in range(lat.size)], dtype=object)
    fresh = _check(lat, lon, w, round_robin, None)  # no start: every account moved
    assert fresh["fragmented_moved_territories"] == 4 and fresh["max_dev"] == 0.0
    kept = _check(lat, lon, w, round_robin, round_robin)  # the user's own pieces, nothing moved
    assert kept["fragmented_territories"] == 4 and kept["fragmented_moved_territories"] == 0


def test_checker_flags_unbalanced_far_and_empty():
    lat, lon, w, quadrants = _quadrants()
    shifted = quadrants.copy()
    shifted[(lat < 20) & (lon > 8) & (lon < 10)] = "Q2"  # Q1's two columns next to Q2 (20 of its 100 accounts)
    result = _check(lat, lon, w, shifted, quadrants)
    assert result["max_dev"] == pytest.approx(0.2) and result["moved_accounts"] == 20
    assert result["far_moves"] == 0 and result["fragmented_moved_territories"] == 0
    row = corpus._with_failures({"status": "ok", "engine_s": 1.0, "kmeans_s": 1.0, "engine_feasible": False, **result})
    assert row["failures"] == "unbalanced"

    far = quadrants.copy()
    far[0] = "Q4"  # the south-west corner goes to the north-east quadrant, about 2,000 km from its centre
    result = _check(lat, lon, w, far, quadrants)
    assert result["far_moves"] == 1 and result["worst_far_km"] > 1_500
    assert result["fragmented_moved_territories"] == 1

    empty = _check(lat, lon, w, quadrants, None, ids=["Q1", "Q2", "Q3", "Q4", "Q5"])
    assert empty["empty_territories"] == 1 and empty["max_dev"] == pytest.approx(1.0)

    heavy = w.copy()
    heavy[0] = 200.0  # one account above target x 1.05: no alignment can be within tolerance
    assert not _check(lat, lon, heavy, quadrants, None)["balanceable"]


def test_checker_measures_how_far_territories_reach():
    """Four north-south strips reach further from their centres than four quadrants of the same grid;
    the summary's ratio compares a run with the same instance's run without a start."""
    from territory.geo import to_unit_vectors

    lat, lon, w, quadrants = _quadrants()
    compact = _check(lat, lon, w, quadrants, None)
    strips = np.array([f"Q{1 + int(b) // 5}" for b in lon], dtype=object)  # four strips, 5 columns wide
    stretched = _check(lat, lon, w, strips, quadrants)
    assert compact["max_dev"] == stretched["max_dev"] == 0.0
    assert stretched["reach_km_mean"] > 1.2 * compact["reach_km_mean"] > 0
    assert stretched["reach_km_max"] >= stretched["reach_km_mean"]
    table = pd.DataFrame({"run_id": ["g/none/0.5", "g/blocks/1", "h/blocks/1"], "instance_id": ["g", "g", "h"],
                          "start": ["none", "blocks", "blocks"], "stability": [0.5, 1.0, 1.0], "status": "ok",
                          "reach_km_mean": [compact["reach_km_mean"], stretched["reach_km_mean"], 500.0],
                          "start_reach_km_mean": [np.nan, compact["reach_km_mean"], 400.0]})
    ratio = corpus.reach_ratios(table)
    assert ratio[1] == pytest.approx(stretched["reach_km_mean"] / compact["reach_km_mean"]) and np.isnan(ratio[2])
    shape = "\n".join(corpus._shape_summary(table))
    assert f"| blocks | 1 | 1 | {ratio[1]:.2f} |" in shape
    assert shape.rstrip().endswith(f"({stretched['reach_km_mean']:,.0f} km)")
    assert corpus_check.reach_km(to_unit_vectors(lat, lon), w, strips)[0] == pytest.approx(stretched["reach_km_mean"])


def test_checker_lets_a_true_island_be():
    lat, lon, w, quadrants = _quadrants()
    lat, lon, w = np.r_[lat, 60.0, 60.1], np.r_[lon, 15.0, 15.1], np.r_[w, 1.0, 1.0]  # 3,000 km north
    labels = np.concatenate([quadrants, ["Q4", "Q4"]])
    result = _check(lat, lon, w, labels, np.concatenate([quadrants, ["Q1", "Q1"]]))
    assert result["far_moves"] == 0 and result["fragmented_moved_territories"] == 0


def test_disruption_lower_bound_by_hand():
    w = np.array([100.0, 50.0, 50.0, 100.0])
    # loads 150 / 50 / 100, target 100 +/-5%: 45 must leave the first and 45 must reach the second
    assert corpus_check.disruption_lower_bound(w, np.array(["A", "B", "A", "C"]), 3, 0.05) == pytest.approx(45.0)
    # K+1 start territories into K = 3: the lightest (D, 20) is dropped and all its load moves
    # (loads 150 / 50 / 80 / 20: excess 45 + 20 = 65, deficit 45 + 15 = 60)
    w = np.array([100.0, 50.0, 50.0, 80.0, 20.0])
    assert corpus_check.disruption_lower_bound(w, np.array(["A", "B", "A", "C", "D"]), 3, 0.05) == pytest.approx(65.0)


def test_corpus_runner_records_results_crashes_and_timeouts(monkeypatch):
    run = corpus.RunSpec(corpus_families.InstanceSpec("uniform", "box", 2_000, 5, "ln0.8", 1), "blocks", 0.5)
    table = corpus.run_corpus([run])
    row = table.iloc[0]
    assert row["status"] == "ok" and row["run_id"] == run.id and row["start_max_dev"] > 0.5
    assert 0 <= row["max_dev"] < 1 and row["kmeans_s"] > 0 and "| uniform | 1 |" in corpus.summary(table)
    # a selection of runs without a start (--only of the large no-start runs) has no disruption columns
    fresh = corpus.run_corpus([corpus.RunSpec(run.instance, "none", 0.5)])
    assert "disruption_lower_bound" not in fresh.columns and "| uniform | 1 |" in corpus.summary(fresh)

    def broken(self, start, stability):  # noqa: ARG001  same signature as the patched Instance.engine
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(corpus.Instance, "engine", broken)
    crashed = corpus.run_corpus([run]).iloc[0]
    assert crashed["status"] == "crash" and crashed["fail_crash"] and "engine exploded" in crashed["error"]

    def stuck(self, start, stability):  # noqa: ARG001  same signature as the patched Instance.engine
        time.sleep(5)

    monkeypatch.setattr(corpus.Instance, "engine", stuck)
    stalled = corpus.run_corpus([run], time_limit_s=0.3).iloc[0]
    assert stalled["status"] == "timeout" and stalled["fail_timeout"]


def test_every_corpus_option_is_documented():
    doc = (BENCHMARKS.parent / "docs" / "robustness.md").read_text(encoding="utf-8")
    options = [o for action in corpus.build_parser()._actions for o in action.option_strings if o.startswith("--")]
    assert len(options) > 5
    assert [o for o in options if o != "--help" and o not in doc] == []


def test_routing_benchmark_runs_and_reports_its_target(capsys):
    import bench_routing

    assert bench_routing.main(["--rows", "2000"]) == 0
    out = capsys.readouterr().out
    assert "| 2,000 | 2,854 |" in out and "met (<= 5 s)" in out  # the sample's ZIP-table rules
    assert "tester (where_would_it_land, 30 accounts of the file, one at a time): median" in out


def test_rounding_checks_reach_the_engine(monkeypatch, capsys):
    """--rounding-checks changes the rounding MIP's limit of work in every corpus run (and only then)."""
    import territory.engine.single as single

    monkeypatch.setattr(corpus, "ENGINE_CONFIG", None)  # restored after the test
    seen = []
    original = single.balance_single

    def spy(accounts, params, territories=None, config=single.DEFAULT):
        seen.append(config.rounding_checks)
        return original(accounts, params, territories, config=config)

    monkeypatch.setattr(single, "balance_single", spy)
    run_id = "uniform:box:n2000:k5:ln0.3:s1/none/0.5"
    assert corpus.main(["--only", run_id, "--rounding-checks", "7"]) == 0
    assert seen == [7]
    assert "| all runs | 1 |" in capsys.readouterr().out


def test_geography_benchmark_prints_its_table(capsys):
    import bench_geography

    assert bench_geography.main(["--sizes", "1500x6"]) == 0
    out = capsys.readouterr().out
    assert "cold s" in out and "ZIP table s" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("1,500"))
    assert len(row.split("|")) == 6  # accounts, cold, new alignment, cached, ZIP table, outside


def test_a_run_that_outlives_a_lost_alarm_is_recorded_as_a_timeout():
    """The alarm can be lost inside HiGHS (it lands as HiGHS calls back into Python); the run then goes
    on, and the time limit still records it as a timeout when it ends."""
    import time

    with pytest.raises(corpus.RunTimeout):
        with corpus.time_limit(0.2):
            try:
                time.sleep(1.0)
            except corpus.RunTimeout:  # swallowed, as HiGHS' C++ does
                time.sleep(0.05)
