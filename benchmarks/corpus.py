"""Robustness corpus: the engine on data it was never tuned on, judged by an independent checker.

Issue #12, item 4. Six geography families (``corpus_families.py``) x workload tails x sizes x
starting alignments x stability, as a fixed seeded design (not the full product). Every run is
executed in this process, guarded by try/except and a time limit, and checked by
``corpus_check.py`` from the accounts alone. Prints a markdown summary; ``--csv`` keeps every run.

Usage::

    python benchmarks/corpus.py                 # the default corpus (320 runs, N 2k-50k)
    python benchmarks/corpus.py --quick         # 18 small runs, one instance per family (CI smoke)
    python benchmarks/corpus.py --full          # adds 100k x 100 and 200k x 500 instances
    python benchmarks/corpus.py --only 'us_zip:t15:n10000:k50:ln0.8:s1/blocks/0.9'   # one run alone
    python benchmarks/corpus.py --list          # print the design's run ids, run nothing
    python benchmarks/corpus.py --summarize corpus.csv    # the summary of an earlier --csv run
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from corpus_check import check_alignment, disruption_lower_bound, max_deviation, reach_km  # noqa: E402
from corpus_families import (  # noqa: E402
    STARTS,
    TAILS,
    InstanceSpec,
    bisection_labels,
    k_pm3_start_k,
    make_accounts,
    start_labels,
)

TOLERANCE = 0.05
STABILITIES = (0.0, 0.5, 0.9, 1.0)
NO_START_STABILITY = 0.5  # the engine's default; stability does nothing without a start
RUN_TIME_LIMIT_S = 300.0
ENGINE_CONFIG = None
"""The engine's settings when ``--rounding-checks`` changes them (None: the shipped defaults)."""
SLOW_FACTOR, SLOW_GRACE_S = 10.0, 1.0  # slow: engine > 10 x KMeans + 1 s
REPORT_SLOW_S = 60.0
DESIGN_SEED = 12  # issue #12

# family -> (variants, instances in the default design)
FAMILY_PLAN = {
    "us_zip": (("t0", "t5", "t15", "t30"), 16),
    "metro": (("t5", "t15", "t30"), 9),
    "long_country": (("island", "plain"), 10),
    "archipelago": (("japan", "indonesia"), 10),
    "europe": (("cities",), 10),
    "uniform": (("box",), 9),
}
DEFAULT_SIZES = {2_000: 0.25, 5_000: 0.30, 10_000: 0.26, 20_000: 0.16, 50_000: 0.03}  # share of instances
KS = (5, 10, 20, 25, 50, 100, 200, 500)
MIN_ACCOUNTS_PER_TERRITORY = 40
FULL_EXTRA = (  # the large instances of --full: (family, variant, N, K, tail)
    ("us_zip", "t15", 100_000, 100, "ln0.8"),
    ("long_country", "island", 100_000, 100, "ln0.8"),
    ("europe", "cities", 100_000, 100, "pareto"),
    ("us_zip", "t30", 200_000, 500, "ln1.2"),
    ("archipelago", "indonesia", 200_000, 500, "ln0.3"),
)
QUICK_PICKS = (  # one 2,000-account instance per family: (family, variant, K, tail)
    ("us_zip", "t30", 10, "pareto"),
    ("metro", "t15", 20, "ln0.8"),
    ("long_country", "island", 10, "ln1.2"),
    ("archipelago", "japan", 20, "ln0.3"),
    ("europe", "cities", 10, "ln0.8"),
    ("uniform", "box", 20, "pareto"),
)
FAILURES = ("unbalanced", "fragmented", "far_moves", "empty", "crash", "timeout", "slow")


@dataclass(frozen=True)
class RunSpec:
    """One engine run: an instance, a starting alignment and a stability."""

    instance: InstanceSpec
    start: str
    stability: float

    @property
    def id(self) -> str:
        return f"{self.instance.id}/{self.start}/{self.stability:g}"

    @classmethod
    def from_id(cls, text: str) -> RunSpec:
        instance, start, stability = text.strip().split("/")
        if start not in STARTS:
            raise ValueError(f"unknown start {start!r} in {text!r}; choose from {', '.join(STARTS)}")
        return cls(InstanceSpec.from_id(instance), start, float(stability))


# --- the design -----------------------------------------------------------------------------------------


def runs_of(instance: InstanceSpec, index: int, starts: tuple[str, ...] = STARTS) -> list[RunSpec]:
    """The instance's runs: no start, then each start at a stability that rotates with ``index``
    (a Latin square: four consecutive instances give every start every stability)."""
    runs = []
    for position, start in enumerate(starts):
        if start == "none":
            runs.append(RunSpec(instance, start, NO_START_STABILITY))
        else:
            runs.append(RunSpec(instance, start, STABILITIES[(index + position) % len(STABILITIES)]))
    return runs


def _tail_index(i: int, n_variants: int) -> int:
    """Tail of a family's i-th instance, so that (variant i mod V, tail) walks every pair: with V
    coprime to the number of tails, i mod 4 does; otherwise the tail also steps once per round of V."""
    if math.gcd(n_variants, len(TAILS)) == 1:
        return i % len(TAILS)
    return (i + i // n_variants) % len(TAILS)


def default_instances(seed: int = DESIGN_SEED) -> list[InstanceSpec]:
    """64 instances: per family, every (variant, tail) pair in turn; sizes are dealt from fixed quotas (shuffled
    with a fixed seed), K is drawn among 5..500 with at least 40 accounts per territory."""
    rng = np.random.default_rng(seed)
    count = sum(planned for _, planned in FAMILY_PLAN.values())
    quota = np.array(list(DEFAULT_SIZES.values())) * count
    whole = np.floor(quota).astype(int)
    whole[np.argsort(whole - quota)[: count - whole.sum()]] += 1  # largest remainders
    sizes = rng.permutation(np.repeat(list(DEFAULT_SIZES), whole))
    instances = []
    for family, (variants, planned) in FAMILY_PLAN.items():
        for i in range(planned):
            n = int(sizes[len(instances)])
            ks = [k for k in KS if n / k >= MIN_ACCOUNTS_PER_TERRITORY]
            instances.append(InstanceSpec(family, variants[i % len(variants)], n, int(rng.choice(ks)),
                                          TAILS[_tail_index(i, len(variants))], int(rng.integers(1, 3))))
    return instances


def design(mode: str) -> list[RunSpec]:
    """The fixed run list of a mode: 'quick', 'default' or 'full' (default plus the large instances)."""
    if mode == "quick":
        runs = []
        for index, (family, variant, k, tail) in enumerate(QUICK_PICKS):
            instance = InstanceSpec(family, variant, 2_000, k, tail, 1)
            chosen = ("none", STARTS[1 + 2 * (index % 2)], STARTS[2 + 2 * (index % 2)])  # own+owners / blocks+k_pm3
            runs += runs_of(instance, index, chosen)
        return runs
    runs = [run for index, instance in enumerate(default_instances()) for run in runs_of(instance, index)]
    if mode == "full":
        for index, (family, variant, n, k, tail) in enumerate(FULL_EXTRA):
            runs += runs_of(InstanceSpec(family, variant, n, k, tail, 1), index)
    return runs


# --- running one instance --------------------------------------------------------------------------------


class RunTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` inside the engine eats it."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Abort the block after ``seconds`` (SIGALRM; a no-op where there is none or off the main thread).
    An alarm that lands as HiGHS calls back into Python is lost inside HiGHS (the search ends, the
    run goes on), so a block that outlives its alarm raises the timeout when it ends."""
    usable = hasattr(signal, "setitimer") and seconds > 0
    if usable:
        try:
            previous = signal.signal(signal.SIGALRM, _raise_timeout)
        except ValueError:  # not the main thread
            usable = False
    if usable:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.perf_counter()
    try:
        yield
    finally:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if usable and time.perf_counter() - started >= seconds:
        raise RunTimeout()


def _raise_timeout(signum, frame):  # noqa: ARG001  signal handler signature
    raise RunTimeout()


def _forget_cached_graphs() -> None:
    """Time every engine run cold, like a fresh CLI call: the engine memoises the neighbour graph by
    coordinates, and later runs on the same instance would otherwise skip the triangulation."""
    import territory.geo as geo

    cache = getattr(geo, "_SHARED", None)
    if hasattr(cache, "clear"):
        cache.clear()


class Instance:
    """Accounts of one instance and what every run on it shares: the neighbour graph, the reference
    bisection, the KMeans time and (lazily) the engine's own no-start result."""

    def __init__(self, spec: InstanceSpec):
        from territory.geo import delaunay_neighbors, island_groups, to_unit_vectors

        self.spec = spec
        self.accounts, self.facts = make_accounts(spec)
        self.lat = self.accounts["latitude"].to_numpy()
        self.lon = self.accounts["longitude"].to_numpy()
        self.weights = self.accounts["workload_hours"].to_numpy()
        self.xyz = to_unit_vectors(self.lat, self.lon)
        self.graph = delaunay_neighbors(self.lat, self.lon)
        self.island_groups = island_groups(self.graph, self.xyz)[1]
        reference = bisection_labels(self.lat, self.lon, self.weights, spec.k)
        self.facts["reference_max_dev"] = max_deviation(self.weights, reference, spec.k)
        self.facts["kmeans_s"] = self._kmeans_seconds()
        self.own: np.ndarray | None = None

    def _kmeans_seconds(self) -> float:
        from sklearn.cluster import KMeans

        started = time.perf_counter()
        KMeans(n_clusters=self.spec.k, n_init=1, random_state=self.spec.seed).fit(self.xyz, sample_weight=self.weights)
        return time.perf_counter() - started

    def engine(self, start: np.ndarray | None, stability: float):
        """(result, seconds) of the engine on this instance from ``start``."""
        from territory.balance import BalanceParams, balance

        accounts = self.accounts if start is None else self.accounts.assign(territory_id=start)
        params = BalanceParams(n_territories=self.spec.k, tolerance=TOLERANCE, stability=stability,
                               seed=self.spec.seed)
        _forget_cached_graphs()
        started = time.perf_counter()
        if ENGINE_CONFIG is None:
            result = balance(accounts, params)
        else:  # the corpus never asks for industry teams, so the pipeline is one balance_single
            from territory.engine.single import balance_single

            result = balance_single(accounts, params, None, config=ENGINE_CONFIG)
        return result, time.perf_counter() - started

    def own_start(self) -> np.ndarray:
        """The engine's own output from a no-start run (computed once, untimed when not in the design)."""
        if self.own is None:
            result, _ = self.engine(None, NO_START_STABILITY)
            self.own = result.labels.astype(str).to_numpy()
        return self.own


def execute(run: RunSpec, instance: Instance, time_limit_s: float = RUN_TIME_LIMIT_S) -> dict:
    """One run, never raising: its row of facts and failures (crash and timeout included)."""
    spec = instance.spec
    row = {"run_id": run.id, "instance_id": spec.id, "family": spec.family, "variant": spec.variant, "n": spec.n,
           "k": spec.k, "tail": spec.tail, "seed": spec.seed, "start": run.start, "stability": run.stability,
           "start_k": k_pm3_start_k(spec) if run.start == "k_pm3" else (spec.k if run.start != "none" else 0)}
    row.update(instance.facts)
    row.update(status="ok", error="", engine_s=math.nan, start_max_dev=math.nan)
    try:  # the 'own' start needs an engine run of its own when the design has no 'none' run before it
        with time_limit(time_limit_s):
            own = instance.own_start() if run.start == "own" else None
        start = start_labels(run.start, spec, instance.accounts, own)
    except RunTimeout:
        row.update(status="timeout", error=f"start: no result after {time_limit_s:.0f} s", engine_s=time_limit_s)
        return _with_failures(row)
    except Exception as error:  # noqa: BLE001 - a crash is a finding, not a reason to stop the corpus
        row.update(status="crash", error=f"start: {type(error).__name__}: {error}"[:300])
        return _with_failures(row)
    if start is not None:
        codes, _ = pd.factorize(start)
        row["start_max_dev"] = max_deviation(instance.weights, codes, codes.max() + 1)
        row["disruption_lower_bound"] = disruption_lower_bound(instance.weights, start, spec.k, TOLERANCE)
        row["start_reach_km_mean"] = reach_km(instance.xyz, instance.weights, start)[0]
    try:
        with time_limit(time_limit_s):
            result, seconds = instance.engine(start, run.stability)
    except RunTimeout:
        row.update(status="timeout", error=f"no result after {time_limit_s:.0f} s", engine_s=time_limit_s)
        return _with_failures(row)
    except Exception as error:  # noqa: BLE001 - a crash is a finding, not a reason to stop the corpus
        row.update(status="crash", error=f"{type(error).__name__}: {error}"[:300])
        traceback.print_exc(file=sys.stderr)
        return _with_failures(row)
    labels = result.labels.astype(str).to_numpy()
    if run.start == "none" and instance.own is None:
        instance.own = labels
    row["engine_s"] = seconds
    row["engine_feasible"] = bool(result.feasible)
    row.update(check_alignment(instance.xyz, instance.graph, instance.weights, labels,
                               result.territories["territory_id"].astype(str).to_numpy(), start, TOLERANCE,
                               instance.island_groups))
    if start is not None and row["disruption_lower_bound"] > 0:
        row["disruption_ratio"] = row["moved_workload"] / row["disruption_lower_bound"]
    # the engine's own bound when every moved account goes to a territory bordering its own (an LP)
    nearby = getattr(result, "least_moved_nearby", None)
    if start is not None and nearby is not None and nearby > 0:
        row["nearby_bound"] = float(nearby)
        row["disruption_ratio_nearby"] = row["moved_workload"] / float(nearby)
    return _with_failures(row)


def _nearby_summary(strict: pd.DataFrame) -> str:
    """The moved workload against the engine's bound for moves to bordering territories (where the
    engine computed one), as a sentence for the summary."""
    if "disruption_ratio_nearby" not in strict.columns or not strict["disruption_ratio_nearby"].notna().any():
        return ""
    ratio = strict["disruption_ratio_nearby"].dropna()
    return (f" Against the bound for moves to bordering territories ({len(ratio)} runs with one): median "
            f"{ratio.median():.2f}, p95 {ratio.quantile(0.95):.2f}, max {ratio.max():.2f}; above 1.1 in "
            f"{int((ratio > 1.1).sum())}.")


def reach_ratios(ok: pd.DataFrame) -> pd.Series:
    """Per run with a start: its territories' mean reach (the 90th percentile distance from their
    centres) over that of the same instance's fresh alignment (its ``none`` run); NaN without one."""
    if "reach_km_mean" not in ok.columns:
        return pd.Series(np.nan, index=ok.index)
    fresh = ok[ok["start"] == "none"].set_index("instance_id")["reach_km_mean"]
    return ok["reach_km_mean"] / ok["instance_id"].map(fresh).where(lambda r: r > 0)


def _shape_summary(ok: pd.DataFrame) -> list[str]:
    """How far the territories reach from a start, against a fresh alignment of the same accounts."""
    ratio = reach_ratios(ok)[ok["start"] != "none"].dropna()
    if ratio.empty:
        return []
    if "start_reach_km_mean" in ok.columns:
        to_start = (ok["reach_km_mean"] / ok["start_reach_km_mean"].where(lambda r: r > 0))[ratio.index]
    else:
        to_start = pd.Series(np.nan, index=ratio.index)
    rows = ["| start | stability | runs | median | p95 | max | above 1.25 | median against the start's |",
            "|---|---|---|---|---|---|---|---|"]
    keys = [ok.loc[ratio.index, "start"], ok.loc[ratio.index, "stability"]]
    for (start, stability), group in ratio.groupby(keys):
        rows.append(f"| {start} | {stability:g} | {len(group)} | {group.median():.2f} | {group.quantile(0.95):.2f} | "
                    f"{group.max():.2f} | {int((group > 1.25).sum())} | {to_start[group.index].median():.2f} |")
    # an owner-based start kept at stability 1 keeps its owners' scattered territories, by design
    geographic = ratio[~((ok.loc[ratio.index, "start"] == "owners") & (ok.loc[ratio.index, "stability"] == 1.0))]
    worst = geographic.sort_values(ascending=False).head(5)
    return (["", "### Shape: territory reach against a fresh alignment", "",
             "Mean over territories of the 90th percentile distance from the centre, over the same figure "
             "for the instance's run without a start (owner-based starts kept at stability 1 keep their owners' "
             "scattered territories by design); the last column divides by the start's own reach instead.", ""]
            + rows + ["", "Most stretched, owners at 1 aside:", ""]
            + [f"- `{ok.loc[i, 'run_id']}`: {r:.2f}x ({ok.loc[i, 'reach_km_mean']:,.0f} km)" for i, r in worst.items()])


def _with_failures(row: dict) -> dict:
    """Add the failure flags (one column each) and their ';'-joined list."""
    ok = row["status"] == "ok"
    flags = {
        "unbalanced": ok and row["balanceable"] and row["max_dev"] > TOLERANCE + 1e-9,
        "fragmented": ok and row["fragmented_moved_territories"] > 0,
        "far_moves": ok and row["far_moves"] > 0,
        "empty": ok and row["empty_territories"] > 0,
        "crash": row["status"] == "crash",
        "timeout": row["status"] == "timeout",
        "slow": row["status"] != "crash" and row["engine_s"] > SLOW_FACTOR * row["kmeans_s"] + SLOW_GRACE_S,
    }
    row["time_ratio"] = row["engine_s"] / row["kmeans_s"] if row["kmeans_s"] > 0 else math.nan
    row["feasible_claim_wrong"] = ok and row["engine_feasible"] and flags["unbalanced"]
    row.update({f"fail_{name}": bool(value) for name, value in flags.items()})
    row["failures"] = ";".join(name for name, value in flags.items() if value)
    return row


def run_corpus(runs: list[RunSpec], progress=None, time_limit_s: float = RUN_TIME_LIMIT_S) -> pd.DataFrame:
    """Every run, grouped by instance (each instance generated once), as one table."""
    rows = []
    by_instance: dict[InstanceSpec, list[RunSpec]] = {}
    for run in runs:
        by_instance.setdefault(run.instance, []).append(run)
    done = 0
    for spec, instance_runs in by_instance.items():
        try:
            instance = Instance(spec)
        except Exception as error:  # noqa: BLE001 - a generator bug must not hide the other runs
            traceback.print_exc(file=sys.stderr)
            for run in instance_runs:
                rows.append({"run_id": run.id, "instance_id": spec.id, "family": spec.family, "start": run.start,
                             "stability": run.stability, "status": "crash", "failures": "crash",
                             "error": f"instance: {type(error).__name__}: {error}"[:300], "fail_crash": True})
            continue
        for run in sorted(instance_runs, key=lambda r: r.start != "none"):  # the no-start run gives 'own'
            row = execute(run, instance, time_limit_s)
            rows.append(row)
            done += 1
            if progress:
                progress(done, len(runs), row)
    return pd.DataFrame(rows)


# --- the summary -----------------------------------------------------------------------------------------


def _pct(series: pd.Series) -> str:
    return f"{100 * series.mean():.1f}" if len(series) else ""


def failure_table(table: pd.DataFrame, by: str | None) -> str:
    """Markdown: failure rate (% of runs) per kind, overall or per value of ``by``."""
    ordered = by in ("tail", "n", "stability")  # families and starts keep the design's order
    groups = [("all runs", table)] if by is None else list(table.groupby(by, sort=ordered))
    head = f"| {by or 'corpus'} | runs | " + " | ".join(f"{name} %" for name in FAILURES) + " | any failure % |"
    lines = [head, "|---" + "|---:" * (len(FAILURES) + 2) + "|"]
    for name, group in groups:
        cells = [_pct(group[f"fail_{kind}"].fillna(False).astype(bool)) for kind in FAILURES]
        any_failure = group["failures"].fillna("").astype(str) != ""
        label = f"{name:g}" if isinstance(name, float) else str(name)
        lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + f" | {_pct(any_failure)} |")
    return "\n".join(lines)


def summary(table: pd.DataFrame, wall_seconds: float | None = None) -> str:
    """The printed markdown summary: failure rates, time ratios, disruption, worst cases."""
    out = [f"## Robustness corpus: {len(table)} runs on {table['instance_id'].nunique()} instances"]
    out.append((f"Wall time {wall_seconds / 60:.1f} min. " if wall_seconds is not None else "")
               + f"Tolerance +/-{100 * TOLERANCE:.0f}%, slow = engine > {SLOW_FACTOR:g} x KMeans + {SLOW_GRACE_S:g} s.")
    out += ["", "### Failure rate per kind", "", failure_table(table, None)]
    for by in ("family", "start", "tail", "n"):
        out += ["", f"### Per {by}", "", failure_table(table, by)]
    with_start = table[table["start"] != "none"]
    out += ["", "### Per stability (runs with a start)", "", failure_table(with_start, "stability")]
    ok = table[table["status"] == "ok"]
    if len(ok):
        ratio = ok["time_ratio"]
        out += ["", "### Time", "",
                f"engine / KMeans time ratio: p50 {ratio.quantile(0.5):.1f}, p95 {ratio.quantile(0.95):.1f}, "
                f"max {ratio.max():.1f}; engine seconds p50 {ok['engine_s'].quantile(0.5):.2f}, "
                f"p95 {ok['engine_s'].quantile(0.95):.2f}, max {ok['engine_s'].max():.2f}.",
                f"Reference bisection max deviation over instances: median "
                f"{100 * ok.drop_duplicates('instance_id')['reference_max_dev'].median():.2f}%, "
                f"max {100 * ok.drop_duplicates('instance_id')['reference_max_dev'].max():.2f}%.",
                f"Engine said 'feasible' for a result outside tolerance: {int(ok['feasible_claim_wrong'].sum())} runs."]
        at_one = ok[(ok["stability"] == 1.0) & (ok["start"] != "none")]
        if "disruption_lower_bound" not in at_one.columns:  # no run with a start (--only of no-start runs)
            at_one = at_one.assign(disruption_lower_bound=np.nan, disruption_ratio=np.nan)
        strict = at_one[at_one["disruption_lower_bound"] > 0]
        if len(strict):
            within = strict[~strict["fail_unbalanced"].astype(bool)]
            ratio = strict["disruption_ratio"]
            out += ["", "### Disruption at stability 1", "",
                    f"{len(strict)} of the {len(at_one)} starts at stability 1 had to move something. Moved "
                    f"workload / lower bound: median {ratio.median():.2f}, p95 {ratio.quantile(0.95):.2f}, "
                    f"max {ratio.max():.2f}; "
                    f"above 1.1 in {int((within['disruption_ratio'] > 1.1).sum())} of the {len(within)} of them that "
                    f"ended within tolerance.{_nearby_summary(strict)} Starts already within tolerance: "
                    f"{int((at_one['disruption_lower_bound'] == 0).sum())}, of which "
                    f"{int((at_one[at_one['disruption_lower_bound'] == 0]['moved_accounts'] > 0).sum())} still moved "
                    f"accounts."]
        out += _shape_summary(ok)
        worst = [
            ("max deviation (balanceable runs)", ok[ok["balanceable"].astype(bool)], "max_dev",
             lambda r: f"{100 * r['max_dev']:.1f}%"),
            ("far moves", ok[ok["far_moves"] > 0], "worst_far_km",
             lambda r: f"{r['far_moves']} accounts, worst {r['worst_far_km']:,.0f} km"),
            ("fragments holding moved accounts", ok[ok["fragmented_moved_territories"] > 0],
             "fragmented_moved_territories",
             lambda r: f"{r['fragmented_moved_territories']} territories ({r['fragment_moved_workload_pct']:.2f}% of "
                       f"workload)"),
            ("engine seconds", ok, "engine_s", lambda r: f"{r['engine_s']:.1f} s ({r['time_ratio']:.0f}x KMeans)"),
        ]
        for title, rows, column, describe in worst:
            top = rows.sort_values(column, ascending=False).head(8)
            if len(top):
                out += ["", f"### Worst by {title}", ""] + [f"- `{r['run_id']}`: {describe(r)}"
                                                            for _, r in top.iterrows()]
    bad = table[table["status"] != "ok"]
    out += ["", "### Crashes and timeouts", ""]
    out += [f"- `{r['run_id']}`: {r['status']}: {r['error']}" for _, r in bad.iterrows()] or ["none"]
    long_runs = ok[ok["engine_s"] > REPORT_SLOW_S] if len(ok) else ok
    out += ["", f"### Runs over {REPORT_SLOW_S:.0f} s", ""]
    out += [f"- `{r['run_id']}`: {r['engine_s']:.1f} s" for _, r in long_runs.iterrows()] or ["none"]
    return "\n".join(out)


BOOLEAN_COLUMNS = ("balanceable", "engine_feasible", "feasible_claim_wrong", *(f"fail_{kind}" for kind in FAILURES))


def read_table(path: Path) -> pd.DataFrame:
    """A table written by ``--csv``, with its flags as booleans again (a crash row leaves some empty)."""
    table = pd.read_csv(path, dtype={"error": str, "failures": str})
    for column in BOOLEAN_COLUMNS:
        if column in table:
            table[column] = table[column].map({True: True, False: False, "True": True, "False": False})
    table[["failures", "error"]] = table[["failures", "error"]].fillna("")
    return table


def build_parser() -> argparse.ArgumentParser:
    """The command line (every option is documented in docs/robustness.md; a test checks)."""
    parser = argparse.ArgumentParser(description="Run the robustness corpus (prints a markdown summary).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="18 small runs, one instance per family (CI smoke)")
    mode.add_argument("--full", action="store_true", help="add the 100k x 100 and 200k x 500 instances")
    mode.add_argument("--only", action="append", metavar="RUN_ID", help="run only this run id (repeatable)")
    parser.add_argument("--csv", type=Path, help="write every run's row to this CSV file")
    parser.add_argument("--list", action="store_true", help="print the run ids of the design and stop")
    parser.add_argument("--summarize", type=Path, metavar="CSV",
                        help="print the summary of an earlier --csv and stop (runs nothing)")
    parser.add_argument("--time-limit", type=float, default=RUN_TIME_LIMIT_S, help="seconds before a run is aborted")
    parser.add_argument("--rounding-checks", type=int, metavar="N",
                        help="HiGHS progress checks of the engine's rounding MIP (default: the engine's), "
                             "for measuring what a longer or shorter search changes")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    if args.summarize:
        print(summary(read_table(args.summarize)))
        return 0
    if args.rounding_checks is not None:
        from dataclasses import replace

        from territory.engine.config import DEFAULT

        global ENGINE_CONFIG
        ENGINE_CONFIG = replace(DEFAULT, rounding_checks=args.rounding_checks)
    if args.only:
        runs = [RunSpec.from_id(text) for text in args.only]
    else:
        runs = design("quick" if args.quick else "full" if args.full else "default")
    if args.list:
        print("\n".join(run.id for run in runs))
        return 0

    def progress(done: int, total: int, row: dict) -> None:
        flag = row.get("failures") or "ok"
        dev = row.get("max_dev", math.nan)
        print(f"[{done}/{total}] {row['run_id']}: {row.get('engine_s', math.nan):.2f} s, "
              f"max dev {100 * dev:.1f}%, {flag}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    table = run_corpus(runs, progress, args.time_limit)
    wall = time.perf_counter() - started
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(summary(table, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
