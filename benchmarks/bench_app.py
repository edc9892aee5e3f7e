"""How fast does every page of the app render in a real browser? Prints seconds per page.

Starts ``streamlit run app.py`` headless on a local port and drives Debian's Chromium through
playwright (``executable_path=/usr/bin/chromium``; never ``playwright install``). For each dataset
size it opens a fresh browser session, loads the data the way a user does (the built-in sample is
active on start; larger sizes are uploaded on the Data page: the sample scaled up, each account
copied with its coordinates jittered, plus the sample's territories and bookings), then visits every
page through the sidebar ``--rounds`` times. A page counts as rendered when Streamlit is idle (no
"Running..." status) and its maps and Plotly charts are drawn (canvas / SVG present, two animation
frames later). Round 1 is the first visit (cold caches, includes any engine run); the "warm" column
is the median of the later rounds. On the sample it also times Rebalance slider steps: "new" is a
setting not computed yet (one engine run), "back" is a setting already computed (cached).

    .venv/bin/python benchmarks/bench_app.py                        # sample and 100,000 accounts
    .venv/bin/python benchmarks/bench_app.py --sizes 100000 --rounds 3 --screenshots /tmp/shots

Target (issue 4): with 100,000 accounts every page renders in under 5 s; a Rebalance slider step
on the sample shows the new before/after in under 1 s. Browser timings depend on the machine's
load (software WebGL): the script prints ``uptime`` first.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
APP_ROOT = '[data-testid="stApp"]'
NAV_LINKS = '[data-testid="stSidebarNav"] a'
TIMEOUT_MS = 180_000
TARGET_PAGE_S = 5.0
TARGET_SLIDER_S = 1.0


def scaled_sample(n: int, folder: Path) -> dict[str, Path]:
    """The sample copied ``ceil(n / 5000)`` times (jittered coordinates, new IDs), cut to ``n`` rows."""
    from territory.data.sample import load_sample

    sample = load_sample()
    copies = -(-n // len(sample.accounts))
    rng = np.random.default_rng(7)
    accounts, bookings = [], []
    for r in range(copies):
        a = sample.accounts.drop(columns=["locked"], errors="ignore").copy()
        suffix = f"-{r:02d}"
        a["account_id"] = a["account_id"].astype(str) + suffix
        if r:
            a["latitude"] = a["latitude"] + rng.normal(0, 0.08, len(a))
            a["longitude"] = a["longitude"] + rng.normal(0, 0.08, len(a))
            a["name"] = a["name"].astype(str) + f" #{r}"
        accounts.append(a)
        b = sample.bookings.copy()
        b["account_id"] = b["account_id"].astype(str) + suffix
        bookings.append(b)
    acc = pd.concat(accounts, ignore_index=True).head(n)
    keep = set(acc["account_id"])
    book = pd.concat(bookings, ignore_index=True)
    book = book[book["account_id"].isin(keep)]
    paths = {"accounts": folder / f"accounts_{n}.csv", "territories": folder / "territories.csv",
             "bookings": folder / f"bookings_{n}.csv"}
    acc.to_csv(paths["accounts"], index=False)
    sample.territories.to_csv(paths["territories"], index=False)
    book.to_csv(paths["bookings"], index=False)
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, db: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "TERRITORY_STUDIO_DB": str(db)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:  # noqa: S310
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    raise RuntimeError("streamlit did not start")


@contextmanager
def served_app(port: int, db: Path) -> Iterator[Any]:
    """``streamlit run app.py`` on ``port`` (scenario store ``db``) and a headless Chromium: yields the
    browser, then closes both."""
    from playwright.sync_api import sync_playwright

    server = start_server(port, db)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def load_line() -> str:
    """``uptime``, printed before and after a run: browser timings depend on the machine's load."""
    return "load: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wait_idle(page, start_timeout_ms: int = 1_500) -> None:
    """The script run an action triggered has ended, the status widget is gone, and charts are drawn."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_selector(f'{APP_ROOT}[data-test-script-state="running"]', timeout=start_timeout_ms)
    except PlaywrightTimeoutError:
        pass
    page.wait_for_selector(f'{APP_ROOT}[data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=TIMEOUT_MS)
    # Every deck.gl map has its canvas and every Plotly chart its SVG; then two animation frames.
    page.wait_for_function(
        """() => {
            const decks = [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')];
            const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            return decks.every(d => d.querySelector('canvas'))
                && plots.every(p => p.querySelector('.main-svg'));
        }""",
        timeout=TIMEOUT_MS,
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def nav_labels(page) -> list[str]:
    links = page.locator(NAV_LINKS)
    return [links.nth(i).inner_text().strip().splitlines()[-1].strip() for i in range(links.count())]


def visit(page, labels: list[str], label: str) -> float:
    started = time.monotonic()
    page.locator(NAV_LINKS).nth(labels.index(label)).click()
    wait_idle(page)
    return time.monotonic() - started


def upload(page, labels: list[str], files: dict[str, Path]) -> float:
    visit(page, labels, "Data")
    page.get_by_text("Upload a file", exact=True).click()
    wait_idle(page)
    started = time.monotonic()
    inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    inputs.nth(0).set_input_files(str(files["accounts"]))
    page.get_by_role("button", name=re.compile(r"Use this dataset")).wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    inputs.nth(1).set_input_files(str(files["territories"]))
    wait_idle(page)
    inputs.nth(2).set_input_files(str(files["bookings"]))
    page.get_by_text(re.compile(r"Bookings file: [\d,]+ rows")).wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.get_by_role("button", name=re.compile(r"Use this dataset")).click()
    page.get_by_text(re.compile(r"Active: .*accounts_")).wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    return time.monotonic() - started


def slider_steps(page, labels: list[str], steps: int) -> tuple[list[float], list[float]]:
    """Seconds from a key press on "Number of territories" until the after-KPIs change.

    Walks K -> K+1 (new) -> K (back, cached) -> K+1 (back) -> K+2 (new) -> ...: "new" needs an engine
    run, "back" is a setting computed before. A step whose KPIs did not change within 30 s is skipped.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    visit(page, labels, "Rebalance")
    after = ".st-key-ts_rebalance_after_kpis"
    slider = page.get_by_role("slider", name="Number of territories")
    new, back = [], []

    def step(key: str) -> float | None:
        old = page.locator(after).inner_text()
        slider.focus()
        started = time.monotonic()
        slider.press(key)
        try:
            page.wait_for_function(
                "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
                arg=[after, old], timeout=30_000, polling=10,
            )
            seconds = time.monotonic() - started
        except PlaywrightTimeoutError:
            print(f"    ({key}: the after-KPIs did not change within 30 s; step skipped)")
            seconds = None
        wait_idle(page)
        return seconds

    for _ in range(steps):
        for key, bucket in (("ArrowRight", new), ("ArrowLeft", back), ("ArrowRight", back)):
            seconds = step(key)
            if seconds is not None:
                bucket.append(seconds)
    return new, back


def run_size(browser, base_url: str, n: int | None, rounds: int, shots: Path | None, steps: int,
             folder: Path, verbose: bool = False) -> dict:
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url
               or not route.request.url.startswith("http") else route.abort())
    page.goto(base_url, wait_until="domcontentloaded")
    page.wait_for_selector(NAV_LINKS, timeout=TIMEOUT_MS)
    wait_idle(page)
    labels = nav_labels(page)
    result: dict = {"pages": {label: [] for label in labels}}
    if n is not None:
        result["upload_s"] = upload(page, labels, scaled_sample(n, folder))
    tag = "sample" if n is None else f"{n}"
    for r in range(rounds):
        for label in labels:
            seconds = visit(page, labels, label)
            result["pages"][label].append(seconds)
            if verbose:
                print(f"    round {r + 1} {label}: {seconds:.2f} s", flush=True)
            errors = page.locator('[data-testid="stException"]').count()
            if errors:
                print(f"  ! exception on {label}: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
            if shots is not None and r == 0:
                page.wait_for_timeout(800)
                page.screenshot(path=str(shots / f"{tag}_{re.sub(r'[^a-z]+', '_', label.lower())}.png"))
    if steps:
        if verbose:
            print("    slider steps...", flush=True)
        result["slider"] = slider_steps(page, labels, steps)
    context.close()
    return result


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(n: int | None, res: dict) -> None:
    title = "sample (5,000 accounts)" if n is None else f"{n:,} accounts"
    upload_s = f": upload + validation {res['upload_s']:.1f} s" if "upload_s" in res else ""
    print(f"\n{title}{upload_s}")
    print(f"  {'page':<18} {'first s':>8} {'warm s':>8}  (target {TARGET_PAGE_S:.0f} s)")
    for label, secs in res["pages"].items():
        warm = _median(secs[1:])
        flag = "" if max(secs) < TARGET_PAGE_S else "  over"
        print(f"  {label:<18} {secs[0]:8.2f} {warm:8.2f}{flag}")
    if "slider" in res:
        new, back = res["slider"]
        print(f"  Rebalance slider step, new setting: median {_median(new):.2f} s "
              f"({', '.join(f'{s:.2f}' for s in new)})")
        print(f"  Rebalance slider step, back to a computed one: median {_median(back):.2f} s "
              f"({', '.join(f'{s:.2f}' for s in back)}) (target {TARGET_SLIDER_S:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="sample,100000", help="comma list: 'sample' and/or account counts")
    parser.add_argument("--rounds", type=int, default=3, help="visits of every page per size (round 1 = cold)")
    parser.add_argument("--slider-steps", type=int, default=5, help="Rebalance slider steps timed on the sample")
    parser.add_argument("--screenshots", default=None, help="folder for one screenshot per page and size")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="print every visit as it happens")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: install Debian's chromium (never `playwright install`).")
        return 2
    print(load_line())
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    port = args.port or _free_port()
    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp:
        folder = Path(tmp)
        with served_app(port, folder / "scenarios.sqlite") as browser:
            for size in args.sizes.split(","):
                n = None if size.strip() == "sample" else int(size)
                steps = args.slider_steps if n is None else 0
                res = run_size(browser, f"http://127.0.0.1:{port}", n, args.rounds, shots, steps, folder,
                               args.verbose)
                report(n, res)
                sys.stdout.flush()
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
