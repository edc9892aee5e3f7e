"""How fast are territory shapes and the ZIP table? Prints seconds (wall and CPU) per size.

For each size, accounts are put at random located ZIP centroids of the offline table (seeded) and
split into contiguous territories by k-means on their coordinates (scikit-learn, seeded), as a
rebalanced alignment would be. Then, in a fresh Python process per size:

* **cold**: ``territory_shapes`` on a process that has loaded nothing: the offline ZIP table, the
  ZIP cells (Voronoi, once per process) and the shapes (the issue's target: 100,000 accounts and
  100 territories in 3 s); the "(ZIP table + cells)" column is the once-per-process part;
* **new alignment**: ``territory_shapes`` again with other labels (the cells already built): what
  each slider move on Rebalance costs before the app's cache;
* **cached**: the app's ``st.cache_data`` wrapper (``territory.ui.cached.territory_shapes``) asked
  again for the same key (it returns a copy: the unpickling);
* **ZIP table**: ``zip_territory_table`` of those shapes (target: 2 s), and the ZIP table cold: a fresh
  process from nothing to the table.

"CPU s" is user + system time of the process: when other work shares the machine, wall seconds grow
and CPU seconds barely move, so read both.

    .venv/bin/python benchmarks/bench_geography.py                      # 5k x 20, 100k x 100
    .venv/bin/python benchmarks/bench_geography.py --sizes 100000x100   # one size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = ("5000x20", "100000x100")
TARGET_SHAPES_S = 3.0
TARGET_ZIP_TABLE_S = 2.0

_CHILD = """
import json, os, sys, time, warnings
sys.path.insert(0, sys.argv[1])
n, k, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
warnings.filterwarnings("ignore")
import logging
logging.getLogger("streamlit").setLevel(logging.ERROR)

def cpu():
    t = os.times()
    return t.user + t.system

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from territory.data import schema
from territory.data.geocode import zip_table
from territory.planning import geography

def accounts_and_labels():
    table = zip_table()
    located = np.flatnonzero(np.isfinite(table.latitude))
    pick = np.random.default_rng(seed).choice(located, n)
    accounts = pd.DataFrame({schema.LATITUDE: table.latitude[pick], schema.LONGITUDE: table.longitude[pick]})
    xy = accounts[[schema.LONGITUDE, schema.LATITUDE]].to_numpy()
    labels = KMeans(k, n_init=1, max_iter=30, random_state=seed).fit_predict(xy)
    return accounts, labels

mode = sys.argv[5]
out = {}
if mode == "cold":
    # the inputs are built by a first process and read back here, so this one has loaded nothing
    frame = pd.read_pickle(sys.argv[6])
    accounts, labels = frame[[schema.LATITUDE, schema.LONGITUDE]], frame["t"]
    wall, c = time.perf_counter(), cpu()
    geography.zip_cells()
    out["setup_s"] = time.perf_counter() - wall
    shapes = geography.territory_shapes(accounts, labels)
    out["cold_s"], out["cold_cpu_s"] = time.perf_counter() - wall, cpu() - c
    wall = time.perf_counter()
    geography.zip_territory_table(shapes)
    out["zip_table_s"] = time.perf_counter() - wall
    out["geographic"], out["outside"] = shapes.geographic, shapes.accounts_outside
elif mode == "zipcold":
    frame = pd.read_pickle(sys.argv[6])
    wall, c = time.perf_counter(), cpu()
    shapes = geography.territory_shapes(frame[[schema.LATITUDE, schema.LONGITUDE]], frame["t"])
    table = geography.zip_territory_table(shapes)
    out["zip_cold_s"], out["zip_cold_cpu_s"], out["zips"] = time.perf_counter() - wall, cpu() - c, len(table)
elif mode == "make":
    accounts, labels = accounts_and_labels()
    frame = accounts.assign(t=pd.Series([f"T{i:03d}" for i in labels], dtype="string"))
    frame.to_pickle(sys.argv[6])
    geography.zip_cells()
    other = frame["t"].sample(frac=1.0, random_state=seed).reset_index(drop=True)  # another alignment
    other = pd.Series(np.where(np.arange(n) % 10 == 0, other, frame["t"]), dtype="string")
    wall, c = time.perf_counter(), cpu()
    geography.territory_shapes(accounts, other)
    out["new_s"], out["new_cpu_s"] = time.perf_counter() - wall, cpu() - c
    from territory.ui import cached
    cached.territory_shapes("bench", accounts, frame["t"])
    wall = time.perf_counter()
    cached.territory_shapes("bench", accounts, frame["t"])
    out["cached_s"] = time.perf_counter() - wall
print(json.dumps(out))
"""


def run_child(mode: str, n: int, k: int, seed: int, frame_path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(REPO), str(n), str(k), str(seed), mode, str(frame_path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_size(text: str) -> tuple[int, int]:
    accounts, _, territories = text.partition("x")
    return int(accounts), int(territories)


def measure(n: int, k: int, seed: int, workdir: Path) -> dict:
    frame_path = workdir / f"accounts_{n}_{k}.pkl"
    row = {"accounts": n, "territories": k}
    row.update(run_child("make", n, k, seed, frame_path))
    row.update(run_child("cold", n, k, seed, frame_path))
    row.update(run_child("zipcold", n, k, seed, frame_path))
    return row


def print_table(rows: list[dict]) -> None:
    print(f"{'accounts':>9} {'terr.':>5} | {'cold s':>7} {'CPU s':>6} {'(ZIP table + cells)':>20} | "
          f"{'new alignment s':>15} {'CPU s':>6} | {'cached s':>8} | {'ZIP table s':>11} {'cold s':>7} | outside")
    for r in rows:
        print(f"{r['accounts']:>9,} {r['territories']:>5} | {r['cold_s']:>7.2f} {r['cold_cpu_s']:>6.2f} "
              f"{r['setup_s']:>20.2f} | {r['new_s']:>15.2f} {r['new_cpu_s']:>6.2f} | {r['cached_s']:>8.3f} | "
              f"{r['zip_table_s']:>11.2f} {r['zip_cold_s']:>7.2f} | {r['outside']:,}")
    print(f"Targets (issue 13, item 6): shapes for 100,000 accounts x 100 territories <= {TARGET_SHAPES_S:.0f} s "
          f"cold, cached after; the ZIP table <= {TARGET_ZIP_TABLE_S:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="NxK",
                        help="accounts x territories, e.g. 100000x100 (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(*parse_size(size), args.seed, Path(tmp)) for size in args.sizes]
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
