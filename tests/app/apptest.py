"""One way to open a page of the app in AppTest, and the dataset an upload makes, for the test modules
here (not a test module)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]


def new_app(timeout: float = 90.0):
    """AppTest of the router, not run yet."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=timeout)


def open_upload(at):
    """The Data page of a started app, with 'Upload a file' chosen."""
    at.switch_page("pages/data.py").run()
    at.radio(key="ts_data_source").set_value("Upload a file").run()
    return at


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


def open_with_dataset(page: str, dataset, alignment, timeout: float = 90.0, prepare: Callable | None = None):
    """:func:`open_page` with ``dataset`` and ``alignment`` active instead of the sample (and
    ``prepare(at)`` applied after them)."""
    from territory.ui import state

    def setup(at) -> None:
        at.session_state[state.INIT_KEY] = True
        at.session_state[state.DATASET_KEY] = dataset
        at.session_state[state.ALIGNMENT_KEY] = alignment
        if prepare is not None:
            prepare(at)

    return open_page(page, setup, timeout)


def uploaded(name: str, accounts, territories, bookings, alignment_name: str | None = None, **extra) -> tuple:
    """``(dataset, alignment)`` as the Data page's 'Use this dataset' makes them for an upload:
    the accounts' own territory_id is the alignment in use. ``extra``: quotas, opportunities, ..."""
    from territory.ui import state

    dataset = state.ActiveDataset(
        name=name, accounts=accounts, territories=territories, bookings=bookings, source="upload",
        fingerprint=state.frame_fingerprint(accounts, territories, bookings, extra.get("quotas"),
                                            extra.get("opportunities")),
        **extra)
    labels = state.file_labels(dataset)
    alignment = state.Alignment(labels=labels, name=alignment_name or state.CURRENT_ALIGNMENT_NAME,
                                fingerprint=state.labels_fingerprint(labels), created="09:00")
    return dataset, alignment


# --- the Rebalance page's lazy tabs -------------------------------------------------------------


def open_tab(at, label: str):
    """Open one of the page's tabs (they are lazy: only the open tab's content runs)."""
    from territory.ui import rebalance as rb

    assert label in rb.TABS
    if at.session_state["ts_rebalance_tab"] != label:
        at.session_state["ts_rebalance_tab"] = label
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def moved_table(at) -> pd.DataFrame:
    """The moved-accounts table (the dataframe with a Reason column), on its tab."""
    open_tab(at, "Moved accounts")
    tables = [d.value for d in at.dataframe if "Reason" in d.value.columns]
    assert len(tables) == 1, "expected exactly one moved-accounts table"
    return tables[0]
