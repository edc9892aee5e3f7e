"""One way to open a page of the app in AppTest, for the test modules here (not a test module)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str, prepare: Callable | None = None, timeout: float = 90.0):
    """AppTest of the router switched to ``page``, with no exception on it.

    ``prepare(at)`` runs before the first run: only that run goes through app.py (later runs re-run
    the page file alone), so session state the whole app reads is put in place there.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=timeout)
    if prepare is not None:
        prepare(at)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_with_dataset(page: str, dataset, alignment, timeout: float = 90.0):
    """:func:`open_page` with ``dataset`` and ``alignment`` active instead of the sample."""
    from territory.ui import state

    def setup(at) -> None:
        at.session_state[state.INIT_KEY] = True
        at.session_state[state.DATASET_KEY] = dataset
        at.session_state[state.ALIGNMENT_KEY] = alignment

    return open_page(page, setup, timeout)
