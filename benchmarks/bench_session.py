"""How long does a browser refresh take to bring the session back? Prints seconds per reload.

Issue #16 asks that a reload (or a shared link) restores the sample session in 3 s or less. The
script starts ``streamlit run app.py`` headless (as ``bench_app.py`` does, Debian's Chromium through
playwright, every non-local request aborted), opens the app on the sample, makes the session worth
restoring (opens ``--page``, the Overview by default), then reloads the page ``--reloads`` times.
A reload counts from ``page.reload()`` until the sidebar names the active dataset again and the page
is drawn (Streamlit idle, every map's canvas and chart's SVG present, two animation frames later:
``bench_app.wait_idle``). Each reload restores into a fresh session key (the restore forks the
session), so every reload is a real restore. With ``--upload N`` it also uploads the sample scaled
to N accounts first and times the reloads of that session.

    .venv/bin/python benchmarks/bench_session.py                       # 5 reloads of the sample
    .venv/bin/python benchmarks/bench_session.py --reloads 9 --page Territories

Timings depend on the machine's load (the maps are drawn with software WebGL): the script prints
``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bench_app as ba

TARGET_RELOAD_S = 3.0
SIDEBAR = '[data-testid="stSidebar"]'


def timed_reload(page) -> float:
    """Seconds from a reload until the restored session's page is drawn."""
    started = time.monotonic()
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector(ba.NAV_LINKS, timeout=ba.TIMEOUT_MS)
    page.locator(SIDEBAR).get_by_text("Active dataset").wait_for(timeout=ba.TIMEOUT_MS)
    ba.wait_idle(page)
    return time.monotonic() - started


def session_key(page) -> str:
    return page.url.split("session=")[1].split("&")[0] if "session=" in page.url else ""


def run(browser, base_url: str, page_label: str, reloads: int, upload: int | None, folder: Path) -> list[float]:
    context = browser.new_context(viewport={"width": 1500, "height": 1200})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url
               or not route.request.url.startswith("http") else route.abort())
    try:
        page.goto(base_url, wait_until="domcontentloaded")
        page.wait_for_selector(ba.NAV_LINKS, timeout=ba.TIMEOUT_MS)
        ba.wait_idle(page)
        labels = ba.nav_labels(page)
        if upload:
            ba.upload(page, labels, ba.scaled_sample(upload, folder))
        ba.visit(page, labels, page_label)
        seconds, keys = [], {session_key(page)}
        for _ in range(reloads):
            seconds.append(timed_reload(page))
            keys.add(session_key(page))
            errors = page.locator('[data-testid="stException"]')
            if errors.count():
                print("  ! exception after a reload:", errors.first.inner_text()[:300])
        if len(keys) != reloads + 1:
            print(f"  ! {reloads} reloads went on under {len(keys) - 1} new session keys")
        return seconds
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=5, help="reloads timed (default 5)")
    parser.add_argument("--page", default="Overview", help="the page reloaded (its sidebar label)")
    parser.add_argument("--upload", type=int, default=None, help="also time an upload of N accounts")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    args = parser.parse_args(argv)
    if not Path(ba.CHROMIUM).exists():
        print(f"{ba.CHROMIUM} not found: install Debian's chromium (never `playwright install`).")
        return 2
    print(ba.load_line())
    port = args.port or ba._free_port()
    sizes = [None] + ([args.upload] if args.upload else [])
    with tempfile.TemporaryDirectory(prefix="bench_session_") as tmp:
        folder = Path(tmp)
        with ba.served_app(port, folder / "scenarios.sqlite") as browser:
            for n in sizes:
                seconds = run(browser, f"http://127.0.0.1:{port}", args.page, args.reloads, n, folder)
                title = "sample (5,000 accounts)" if n is None else f"upload of {n:,} accounts"
                print(f"{title}, {args.page}: reload median {statistics.median(seconds):.2f} s, "
                      f"max {max(seconds):.2f} s (target {TARGET_RELOAD_S:.0f} s): "
                      f"{', '.join(f'{s:.2f}' for s in seconds)}", flush=True)
    print(ba.load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
