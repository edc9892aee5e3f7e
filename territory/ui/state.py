"""The shared session state of the app: initialised and updated here, under keys named in keys.py.

Everything that must survive a page change lives here under *non-widget* keys (widget keys are
deleted when the user leaves the page that drew them). Pages never touch these keys directly:
they call the functions below, so there is one source of truth.

What lives in the session
-------------------------
* **active dataset** (:class:`ActiveDataset`): accounts, territories, bookings, a display name and a
  content ``fingerprint`` (use it as the cache key for anything computed from the dataset).
* **active alignment** (:class:`Alignment`): a Series of territory_id per account (index aligned with
  ``dataset.accounts``) and a name such as "Current alignment" or "Rebalanced 14:02".
  :func:`set_active_alignment` is how "make active" works on the Rebalance page.
* **saved results** (:class:`SavedResult`): named alignments kept for this session
  (:func:`save_result`, :func:`saved_results`).
* **settings** (:class:`Settings`): balance measure and tolerance shared by every page
  (:func:`get_settings`, :func:`update_settings`).

Typical page start::

    from territory.ui import state
    state.init_state()
    ds = state.require_dataset()          # shows an explanation and stops when nothing is loaded
    alignment = state.get_alignment()     # never None once a dataset is active
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import streamlit as st

from territory.data import schema
from territory.errors import DataError
from territory.ui import cached, keys
from territory.ui.cached import frame_fingerprint, labels_fingerprint
from territory.ui.clock import clock_now

# --- keys (non-widget: they survive page changes) ----------------------------------------------
DATASET_KEY = keys.DATASET
ALIGNMENT_KEY = keys.ALIGNMENT
SAVED_KEY = keys.SAVED_RESULTS
SETTINGS_KEY = keys.SETTINGS
INIT_KEY = keys.INITIALISED

CURRENT_ALIGNMENT_NAME = "Current alignment"


@dataclass(frozen=True)
class ActiveDataset:
    """The dataset every page works on. Treat the frames as read-only (copy before changing)."""

    name: str
    accounts: pd.DataFrame
    territories: pd.DataFrame
    bookings: pd.DataFrame
    fingerprint: str
    source: str = "sample"  # "sample" or "upload"
    quotas: pd.DataFrame | None = None  # imported quotas (territory_id, quarter, quota), None without a file
    opportunities: pd.DataFrame | None = None  # CRM opportunities (territory.planning.opportunities), or None
    bookings_note: str | None = None  # where the bookings came from, when not from a bookings file
    default_capacity: tuple[str, ...] = ()  # territories counted at 1 FTE: the files gave no capacity


@dataclass(frozen=True)
class Alignment:
    """Which territory each account belongs to, as used by every page right now."""

    labels: pd.Series  # territory_id per account, index == dataset.accounts.index, dtype string
    name: str
    fingerprint: str  # hash of labels: a cheap cache key
    created: str  # "HH:MM" in the browser's time zone ("HH:MM UTC" when it is unknown)
    result: Any = None  # the BalanceResult that produced it, when it came from the engine
    scenario: str | None = None  # the saved scenario it was opened from (its routing rules go with it)


@dataclass(frozen=True)
class SavedResult:
    """A named alignment the user saved during this session."""

    name: str
    labels: pd.Series
    dataset_fingerprint: str
    created: str
    result: Any = None
    note: str = ""


@dataclass(frozen=True)
class Settings:
    """Choices shared across pages (the Overview tolerance band, the default balance measure)."""

    balance_on: str = "workload"  # one of schema.MEASURES
    tolerance: float = 0.05  # +/- share of the target a territory may deviate
    extra: dict = field(default_factory=dict)  # free-form settings other pages may add


# --- fingerprints ---------------------------------------------------------------------------------


def _now() -> str:
    return clock_now()


# --- initialisation -------------------------------------------------------------------------------


def _leave_legacy_multipage_mode() -> None:
    """Make sure app.py (the router) runs, even for a deep link opened right after a server start.

    Streamlit starts in its legacy multipage mode whenever a ``pages/`` folder exists and only leaves
    it when ``st.navigation`` runs. If the very first request after a start is a deep link such as
    ``/territories``, Streamlit runs ``pages/territories.py`` directly, ``app.py`` never runs, and the
    whole process stays in legacy mode (auto-generated sidebar, no wide layout). Seen here with
    Streamlit 1.67. Every page calls :func:`init_state` first, so this switches the flag off and
    reruns, which executes ``app.py`` with the requested page. ``app.py`` calls :func:`init_state`
    after ``st.navigation`` (which clears the flag), so normal runs never rerun here.
    (Private API; guarded.) Skipped under ``streamlit.testing`` (AppTest): its ``switch_page`` runs
    page files in legacy mode by design, and a rerun there would drop the button clicks a test sends.
    """
    import sys

    if "streamlit.testing.v1" in sys.modules:
        return
    try:
        from pathlib import Path

        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None:
            return
        main = Path(ctx.pages_manager.main_script_path).resolve()
        pages = ctx.pages_manager.get_pages().values()
        # Legacy mode lists app.py itself as a page; our router (st.navigation) never does.
        legacy = any(Path(str(page.get("script_path", ""))).resolve() == main for page in pages)
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other Streamlit versions
        return
    if legacy and len(pages) > 1:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state(load_sample: bool = True) -> None:
    """Create every key once per session; with ``load_sample`` the built-in sample becomes active.

    Safe to call at the top of every page (it only fills what is missing). If the sample cannot be
    loaded (data files missing) the app starts with no dataset and the pages say what to do.
    """
    _leave_legacy_multipage_mode()
    ss = st.session_state
    if SETTINGS_KEY not in ss:
        ss[SETTINGS_KEY] = Settings()
    if SAVED_KEY not in ss:
        ss[SAVED_KEY] = {}
    if ALIGNMENT_KEY not in ss:
        ss[ALIGNMENT_KEY] = None
    if DATASET_KEY not in ss:
        ss[DATASET_KEY] = None
    if not ss.get(INIT_KEY):
        ss[INIT_KEY] = True
        if load_sample and ss[DATASET_KEY] is None:
            try:
                sample = cached.load_sample()
            except (ImportError, DataError, OSError):
                return  # data layer not available: pages show the empty state
            set_dataset(
                sample.accounts,
                sample.territories,
                sample.bookings,
                name=f"Built-in sample ({len(sample.accounts):,} accounts)",
                source="sample",
            )


# --- dataset --------------------------------------------------------------------------------------


def territories_for(accounts: pd.DataFrame, territories: pd.DataFrame | None) -> pd.DataFrame:
    """The territories table to use: the given one, or one row per territory_id found in accounts.

    Missing reps/regions stay blank and capacity defaults to 1.0 FTE, so an accounts-only upload
    still works on every page.
    """
    if territories is not None and len(territories) and schema.TERRITORY_ID in territories:
        out = territories.copy()
    else:
        ids = pd.Series(dtype="string")
        if schema.TERRITORY_ID in accounts:
            ids = accounts[schema.TERRITORY_ID].astype("string").dropna()
            ids = ids[ids.str.len() > 0]
        out = pd.DataFrame({schema.TERRITORY_ID: sorted(ids.unique().tolist())})
    for col in schema.TERRITORY_SCHEMA:
        if col.name not in out:
            out[col.name] = schema.DEFAULT_CAPACITY_FTE if col.name == schema.CAPACITY_FTE else pd.NA
    out[schema.TERRITORY_ID] = out[schema.TERRITORY_ID].astype("string")
    out[schema.CAPACITY_FTE] = (
        pd.to_numeric(out[schema.CAPACITY_FTE], errors="coerce").fillna(schema.DEFAULT_CAPACITY_FTE)
    )
    return out.reset_index(drop=True)


def set_dataset(
    accounts: pd.DataFrame,
    territories: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
    *,
    name: str,
    source: str = "upload",
    quotas: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
) -> ActiveDataset:
    """Make a dataset active and reset the alignment to its own ``territory_id`` column.

    Without bookings, the closed-won ``opportunities`` are the bookings. Saved results of other
    datasets stay in the session but are hidden by :func:`saved_results`.
    """
    from territory.planning.opportunities import bookings_or_won
    from territory.planning.review import default_capacity_ids

    accounts = accounts.reset_index(drop=True)
    given = territories
    territories = territories_for(accounts, territories)
    bookings, note = bookings_or_won(bookings, opportunities)
    if bookings is None:
        bookings = pd.DataFrame({c: pd.Series(dtype="string") for c in schema.BOOKING_COLUMNS})
    dataset = ActiveDataset(
        name=name,
        accounts=accounts,
        territories=territories,
        bookings=bookings,
        fingerprint=frame_fingerprint(accounts, territories, bookings, quotas, opportunities),
        source=source,
        quotas=quotas,
        opportunities=opportunities,
        bookings_note=note,
        default_capacity=default_capacity_ids(given, territories[schema.TERRITORY_ID].astype(str).tolist()),
    )
    st.session_state[DATASET_KEY] = dataset
    reset_alignment()
    return dataset


def get_dataset() -> ActiveDataset | None:
    """The active dataset, or None before one is chosen."""
    return st.session_state.get(DATASET_KEY)


def require_dataset() -> ActiveDataset:
    """The active dataset; without one, explain what to do (link to the Data page) and stop the page."""
    dataset = get_dataset()
    if dataset is None:
        st.info(
            "No dataset is loaded yet. Open the **Data** page to use the built-in sample or "
            "upload your accounts (CSV or XLSX)."
        )
        st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
        st.stop()
    return dataset


# --- alignment ------------------------------------------------------------------------------------


def file_labels(dataset: ActiveDataset | None = None) -> pd.Series:
    """The alignment stored in the dataset itself (accounts.territory_id), as a string Series."""
    dataset = dataset or get_dataset()
    if dataset is None:
        return pd.Series(dtype="string", name=schema.TERRITORY_ID)
    accounts = dataset.accounts
    if schema.TERRITORY_ID in accounts:
        labels = accounts[schema.TERRITORY_ID].astype("string")
    else:
        labels = pd.Series(pd.NA, index=accounts.index, dtype="string")
    return labels.rename(schema.TERRITORY_ID)


def reset_alignment() -> Alignment | None:
    """Go back to the dataset's own alignment ("Current alignment")."""
    dataset = get_dataset()
    if dataset is None:
        st.session_state[ALIGNMENT_KEY] = None
        return None
    return set_active_alignment(file_labels(dataset), name=CURRENT_ALIGNMENT_NAME)


def set_active_alignment(labels: pd.Series, name: str | None = None, result: Any = None,
                         scenario: str | None = None) -> Alignment:
    """Make ``labels`` (territory_id per account) the alignment every page shows.

    ``labels`` is re-indexed to the active accounts (accounts missing from it become unassigned).
    ``name`` defaults to "Rebalanced HH:MM" (the browser's time). Pass the ``BalanceResult`` as ``result`` when
    the engine produced it (its reasons and parameters go with a scenario saved from it), and the saved
    scenario's name as ``scenario`` when it came from one (the Routing page starts from its rules). The figures
    shown never depend on it: :mod:`territory.planning.metrics` computes them from the labels alone.
    """
    dataset = get_dataset()
    labels = pd.Series(labels).astype("string").rename(schema.TERRITORY_ID)
    if dataset is not None:
        labels = labels.reindex(dataset.accounts.index)
    created = _now()
    alignment = Alignment(
        labels=labels,
        name=name or f"Rebalanced {created}",
        fingerprint=labels_fingerprint(labels),
        created=created,
        result=result,
        scenario=scenario,
    )
    st.session_state[ALIGNMENT_KEY] = alignment
    return alignment


def get_alignment() -> Alignment | None:
    """The active alignment (None only when no dataset is active)."""
    return st.session_state.get(ALIGNMENT_KEY)


def active_territories() -> pd.DataFrame:
    """The territories of the active alignment: the dataset's table, plus a new hire's territory
    made active and without the territories a what-if closed (planning.headcount)."""
    from territory.planning.headcount import alignment_territories

    dataset, alignment = get_dataset(), get_alignment()
    if dataset is None or alignment is None:
        return dataset.territories if dataset is not None else pd.DataFrame()
    result_table = getattr(alignment.result, "territories", None)
    return alignment_territories(dataset.territories, alignment.labels, result_table)


# --- saved results --------------------------------------------------------------------------------


def save_result(name: str, labels: pd.Series, result: Any = None, note: str = "") -> SavedResult:
    """Keep a named alignment for this session (same name overwrites)."""
    dataset = get_dataset()
    saved = SavedResult(
        name=name,
        labels=pd.Series(labels).astype("string"),
        dataset_fingerprint=dataset.fingerprint if dataset else "",
        created=_now(),
        result=result,
        note=note,
    )
    st.session_state.setdefault(SAVED_KEY, {})[name] = saved
    return saved


def saved_results(all_datasets: bool = False) -> dict[str, SavedResult]:
    """Saved alignments of the active dataset (or of every dataset), oldest first."""
    saved: dict[str, SavedResult] = st.session_state.get(SAVED_KEY, {})
    if all_datasets:
        return dict(saved)
    dataset = get_dataset()
    fp = dataset.fingerprint if dataset else None
    return {k: v for k, v in saved.items() if v.dataset_fingerprint == fp}


def delete_result(name: str) -> None:
    """Forget a saved alignment."""
    st.session_state.get(SAVED_KEY, {}).pop(name, None)


# --- settings -------------------------------------------------------------------------------------


def get_settings() -> Settings:
    """Shared settings (balance measure, tolerance)."""
    return st.session_state.get(SETTINGS_KEY) or Settings()


def update_settings(**changes: Any) -> Settings:
    """Change some settings, e.g. ``update_settings(tolerance=0.1)``; unknown names go to ``extra``."""
    current = get_settings()
    known = {k: v for k, v in changes.items() if k in ("balance_on", "tolerance")}
    extra = {k: v for k, v in changes.items() if k not in known}
    new = replace(current, **known, extra={**current.extra, **extra})
    st.session_state[SETTINGS_KEY] = new
    return new
