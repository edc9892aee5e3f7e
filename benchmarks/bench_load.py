"""How fast does a CRM export load? Prints rows, seconds, peak memory and rows/s per file size.

Writes a deterministic Salesforce-style CSV (ZIP-only locations, no workload or potential columns,
so both are derived; a few ZIP+4, Excel-mangled ZIPs, formatted money and duplicates) into a
temporary folder, then loads it with ``territory.data.io.load_accounts`` in a fresh Python process per
size so each peak-memory figure (``ru_maxrss``) belongs to that load alone. The time includes
loading the offline ZIP table once (about 2 s; the "(setup)" column). "CPU s" is user + system
time of the loading process: when other work shares the machine, wall seconds grow but CPU seconds
barely move, so read both.

    .venv/bin/python benchmarks/bench_load.py                 # 10k, 100k, 1M rows
    .venv/bin/python benchmarks/bench_load.py --rows 50000    # one size

Target (issue 2): 1,000,000 rows in under 20 s and under 3 GB peak memory on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from territory.data.geocode import zip_table  # noqa: E402
from territory.data.workload import INDUSTRIES  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 3072.0

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
start = time.perf_counter()
from territory.data.io import load_accounts
from territory.data.geocode import zip_table
from territory.data.workload import is_metro
import pandas as pd
zip_table(), is_metro(pd.Series([40.0]), pd.Series([-74.0]))  # the offline ZIP data, once per process
setup = time.perf_counter() - start
result = load_accounts(sys.argv[1])
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
r = result.report
print(json.dumps({"seconds": seconds, "setup": setup, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024, "read": r.rows_read, "loaded": r.rows_loaded,
                  "rejected": r.rows_rejected, "warnings": len(r.warnings)}))
"""


def make_export(rows: int, path: Path, seed: int = 0) -> None:
    """A Salesforce-like account export with ZIP-only locations (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    table = zip_table()
    located = np.flatnonzero(np.isfinite(table.latitude))
    zips = located[rng.integers(0, len(located), rows)]
    zip_text = pd.Series(zips).astype(str).str.zfill(5)
    plus4 = rng.random(rows) < 0.03
    zip_text[plus4] = zip_text[plus4] + "-" + pd.Series(rng.integers(1000, 9999, rows)).astype(str)[plus4]
    dropped = (rng.random(rows) < 0.01) & (zips < 10_000)
    zip_text[dropped] = pd.Series(zips[dropped]).astype(str).to_numpy()

    revenue = np.round(rng.lognormal(11.5, 1.2, rows), 2)
    revenue_text = pd.Series(revenue).map("{:.2f}".format)
    dollars = rng.random(rows) < 0.1
    revenue_text[dollars] = pd.Series(revenue[dollars]).map("${:,.2f}".format).to_numpy()

    ids = pd.Series(np.arange(rows)).map("001A{:08d}".format)
    duplicate = rng.random(rows) < 0.001
    ids[duplicate] = ids.shift(1, fill_value="001A00000000")[duplicate]
    owners = np.array([f"Rep {i:02d}" for i in range(40)])
    frame = pd.DataFrame(
        {
            "Account ID": ids,
            "Account Name": "Company " + pd.Series(np.arange(rows)).astype(str),
            "Billing Zip/Postal Code": zip_text,
            "Billing City": "",
            "Billing State/Province": "",
            "Billing Country": np.where(rng.random(rows) < 0.5, "United States", "US"),
            "Industry": np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), rows)],
            "Annual Revenue": revenue_text,
            "Account Owner": owners[rng.integers(0, len(owners), rows)],
            "Type": np.where(rng.random(rows) < 0.7, "Customer", "Prospect"),
        }
    )
    frame.to_csv(path, index=False)


def measure(path: Path) -> dict:
    """Load ``path`` in a fresh process; returns seconds, peak MB and the report's counts."""
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(REPO)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="file size(s) in rows (default 10k, 100k, 1M)")
    args = parser.parse_args(argv)
    sizes = args.rows or list(SIZES)
    print(
        f"{'rows':>10} {'file MB':>8} {'seconds':>8} {'(setup)':>8} {'CPU s':>7} {'peak MB':>8} {'rows/s':>10} "
        f"{'loaded':>10} {'rejected':>9} {'warnings':>9}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            path = Path(folder) / f"accounts_{rows}.csv"
            make_export(rows, path)
            figures = measure(path)
            size_mb = path.stat().st_size / 2**20
            print(
                f"{rows:>10,} {size_mb:>8.1f} {figures['seconds']:>8.2f} {figures['setup']:>8.2f} "
                f"{figures['cpu']:>7.2f} {figures['peak_mb']:>8.0f} "
                f"{rows / figures['seconds']:>10,.0f} {figures['loaded']:>10,} {figures['rejected']:>9,} "
                f"{figures['warnings']:>9,}",
                flush=True,
            )
            if rows >= 1_000_000:
                ok = figures["seconds"] < TARGET_SECONDS and figures["peak_mb"] < TARGET_PEAK_MB
                target = f"<{TARGET_SECONDS:.0f} s, <{TARGET_PEAK_MB:.0f} MB"
                print(f"target for 1M rows ({target}): {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
