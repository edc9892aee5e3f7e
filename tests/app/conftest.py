"""Shared fixtures for the app tests: AppTest on the router, and a real `streamlit run` server.

AppTest tests run everywhere. The browser tests (marked ``browser``) need Debian's Chromium at
``/usr/bin/chromium``; without it they skip with a message, except under CI (``CI`` set) where a
missing browser is a failure, so a broken CI image cannot pass silently.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = "app.py"
SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_PATH = "/usr/bin/chromium"
# Flags checked on these machines (see ../shared/OFFLINE.md): WebGL keeps working through
# SwiftShader with --disable-gpu; --disable-software-rasterizer would blank the deck.gl maps.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
SERVER_START_TIMEOUT_S = 60.0
APPTEST_TIMEOUT_S = 60.0


@pytest.fixture(autouse=True)
def scenario_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every app test saves scenarios into its own temporary database, never the user's."""
    path = tmp_path / "scenarios.sqlite"
    monkeypatch.setenv("TERRITORY_STUDIO_DB", str(path))
    return path


@pytest.fixture
def app_test():
    """Factory: a fresh AppTest of the router (``app.py``), already run once."""
    from streamlit.testing.v1 import AppTest

    def make(run: bool = True) -> AppTest:
        at = AppTest.from_file(str(REPO_ROOT / APP_SCRIPT), default_timeout=APPTEST_TIMEOUT_S)
        return at.run() if run else at

    return make


def _free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (local URL)
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium; skip (or fail under CI) when it is not installed."""
    if Path(CHROMIUM_PATH).exists():
        return CHROMIUM_PATH
    message = (
        f"{CHROMIUM_PATH} not found: install Debian's chromium (`sudo apt-get install chromium`, "
        "or `make browser`) to run the browser tests; never `playwright install`."
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def streamlit_server(chromium_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: ARG001  fixture asked for its effect: skips when there is no Chromium
    """Start ``streamlit run app.py`` headless on a free local port; yield its base URL.

    The server gets a temporary scenario database, so a test run never touches the user's.
    """
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = SCREENSHOT_DIR / "streamlit-server.log"
    command = [
        sys.executable, "-m", "streamlit", "run", APP_SCRIPT,
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    env = {**os.environ, "TERRITORY_STUDIO_DB": str(tmp_path_factory.mktemp("db") / "scenarios.sqlite")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _healthy(f"{base_url}/_stcore/health"):
                if process.poll() is not None:
                    pytest.fail(f"streamlit exited with code {process.returncode}; see {log_path}")
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit not healthy after {SERVER_START_TIMEOUT_S:.0f} s; see {log_path}")
                time.sleep(0.25)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_executable: str):
    """Headless Chromium through playwright's sync API (no pytest-playwright, no downloads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield chromium
        finally:
            chromium.close()
