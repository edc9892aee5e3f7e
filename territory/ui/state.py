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
* **earlier alignments** (:func:`earlier_alignments`): the alignments this session made active before
  the one in use, from the undo history (the Quarterly review offers them; named alignments that
  outlive the session are the Scenarios page's).
* **settings** (:class:`Settings`): balance measure and tolerance shared by every page
  (:func:`get_settings`, :func:`update_settings`).
* **the session key and history**: the ``session`` URL parameter names this session in the local
  session store (:mod:`territory.planning.workspace`); a reload or a shared link on the same server
  restores the dataset, the alignment in use, hand-made moves and locks, the event and the settings
  into a copy under a fresh key (the URL then carries it), so each browser goes on on its own copy.
  Each undoable change (a dataset, Make active, a hand move, an event) is a step: :func:`undo` and
  :func:`redo` move along them (:func:`record` adds one).

Typical page start::

    from territory.ui import state
    state.init_state()
    ds = state.require_dataset()          # shows an explanation and stops when nothing is loaded
    alignment = state.get_alignment()     # never None once a dataset is active
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from territory.data import schema
from territory.errors import DataError
from territory.planning import workspace as _workspaces
from territory.planning.account_types import default_counted_types, type_counts
from territory.planning.basis import Basis, basis_from_params
from territory.planning.review import ReviewSettings
from territory.planning.workspace import MAX_STEPS, Step, Workspace, WorkspaceError, WorkspaceStore
from territory.ui import cached, keys
from territory.ui.cached import frame_fingerprint, labels_fingerprint
from territory.ui.clock import clock_now

# --- keys (non-widget: they survive page changes) ----------------------------------------------
DATASET_KEY = keys.DATASET
ALIGNMENT_KEY = keys.ALIGNMENT
SETTINGS_KEY = keys.SETTINGS
INIT_KEY = keys.INITIALISED
SESSION_PARAM = "session"  # the URL parameter that carries the session key
_SESSION_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

CURRENT_ALIGNMENT_NAME = "Current alignment"
SAMPLE_NAME = "Built-in sample ({:,} accounts)"


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
    owner_reps: bool = False  # the territories are CRM owners: each owner is also the rep (in every export)


@dataclass(frozen=True)
class Alignment:
    """Which territory each account belongs to, as used by every page right now."""

    labels: pd.Series  # territory_id per account, index == dataset.accounts.index, dtype string
    name: str
    fingerprint: str  # hash of labels: a cheap cache key
    created: str  # "HH:MM" in the browser's time zone ("HH:MM UTC" when it is unknown)
    result: Any = None  # the BalanceResult that produced it, when it came from the engine
    scenario: str | None = None  # the saved scenario it was opened from (its routing rules go with it)
    units: str = "account"  # what it keeps whole (zip, county...): its shapes and ZIP table use them
    basis: Basis | None = None  # what its figures count (a what-if's or scenario's); None: the session's (basis_of)


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
    if not ss.get(INIT_KEY) and _restore_session():
        ss[INIT_KEY] = True
    _keep_key_in_url()
    if SETTINGS_KEY not in ss:
        ss[SETTINGS_KEY] = Settings()
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
                name=SAMPLE_NAME.format(len(sample.accounts)),
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


def set_dataset(accounts: pd.DataFrame, territories: pd.DataFrame | None = None,
                bookings: pd.DataFrame | None = None, **options: Any) -> ActiveDataset:
    """Make a dataset active and reset the alignment to its own ``territory_id`` column.

    ``options`` as :func:`build_dataset` (``name`` is required; ``source``, ``quotas``,
    ``opportunities``). Without bookings, the closed-won ``opportunities`` are the bookings. A new
    dataset starts a new undo history; an upload is kept in the session store for a reload.
    """
    dataset = build_dataset(accounts, territories, bookings, **options)
    st.session_state[keys.SESSION_HISTORY] = {"steps": [], "position": -1}
    st.session_state[DATASET_KEY] = dataset
    if dataset.source != "sample":
        _store_call(lambda store: store.save_dataset(dataset.fingerprint, _dataset_meta(dataset), {
            "accounts": dataset.accounts, "territories": dataset.territories, "bookings": dataset.bookings,
            "quotas": dataset.quotas, "opportunities": dataset.opportunities}))
    reset_alignment(what=f"Use {dataset.name}")
    return dataset


def build_dataset(
    accounts: pd.DataFrame,
    territories: pd.DataFrame | None = None,
    bookings: pd.DataFrame | None = None,
    *,
    name: str,
    source: str = "upload",
    quotas: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    owner_reps: bool = False,
) -> ActiveDataset:
    """The :class:`ActiveDataset` of these frames (territories filled in, bookings from closed-won
    opportunities when there are none), without making it active."""
    from territory.planning.opportunities import bookings_or_won
    from territory.planning.review import default_capacity_ids

    accounts = accounts.reset_index(drop=True)
    given = territories
    territories = territories_for(accounts, territories)
    bookings, note = bookings_or_won(bookings, opportunities)
    if bookings is None:
        bookings = pd.DataFrame({c: pd.Series(dtype="string") for c in schema.BOOKING_COLUMNS})
    return ActiveDataset(
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
        owner_reps=owner_reps,
    )


def export_territories(dataset: ActiveDataset) -> pd.DataFrame:
    """The territories table for files sales ops load back into the CRM: with the owners as reps
    when the territories are CRM owners (the pages show the owner once, as the territory)."""
    if not dataset.owner_reps:
        return dataset.territories
    from territory.data.io import with_owner_reps

    return with_owner_reps(dataset.territories)


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


def reset_alignment(what: str = "Back to the current alignment") -> Alignment | None:
    """Go back to the dataset's own alignment ("Current alignment"); an undoable step named ``what``."""
    dataset = get_dataset()
    if dataset is None:
        st.session_state[ALIGNMENT_KEY] = None
        return None
    return set_active_alignment(file_labels(dataset), name=CURRENT_ALIGNMENT_NAME, what=what)


def set_active_alignment(labels: pd.Series, name: str | None = None, result: Any = None,
                         scenario: str | None = None, what: str | None = None, units: str = "account",
                         basis: Basis | None = None) -> Alignment:
    """Make ``labels`` (territory_id per account) the alignment every page shows.

    ``labels`` is re-indexed to the active accounts (accounts missing from it become unassigned).
    ``name`` defaults to "Rebalanced HH:MM" (the browser's time). Pass the ``BalanceResult`` as ``result`` when
    the engine produced it (its reasons and parameters go with a scenario saved from it), and the saved
    scenario's name as ``scenario`` when it came from one (the Routing page starts from its rules). The figures
    shown never depend on it: :mod:`territory.planning.metrics` computes them from the labels alone.
    It is an undoable step called ``what`` (default "Make active: <name>"). ``units``: what the
    alignment keeps whole (a what-if or scenario balanced by ZIP, county...): its shape downloads use them.
    ``basis``: the measure, band and account types its figures count (:func:`basis_of`).
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
        units=units,
        basis=basis,
    )
    st.session_state[ALIGNMENT_KEY] = alignment
    record(what or f"Make active: {alignment.name}")
    return alignment


def get_alignment() -> Alignment | None:
    """The active alignment (None only when no dataset is active)."""
    return st.session_state.get(ALIGNMENT_KEY)


def session_basis(dataset: ActiveDataset | None = None) -> Basis:
    """The basis of an alignment that names none (the file's own): the shared measure and tolerance, and the
    account types the Rebalance page counts (its default choice until the page is visited)."""
    settings = get_settings()
    dataset = dataset or get_dataset()
    counted = None if dataset is None else default_counted_types(dataset.accounts)
    if counted is not None:
        widget = keys.setting_key("rebalance", "counted_types")  # the live control, else its value kept meanwhile
        chosen = st.session_state.get(widget, st.session_state.get(keys.REBALANCE_SETTINGS, {}).get(widget))
        present = set(type_counts(dataset.accounts).index)
        counted = tuple(t for t in (chosen or ()) if t in present) or counted
    return Basis(settings.balance_on, settings.tolerance, counted)


def basis_of(alignment: Alignment | None = None, dataset: ActiveDataset | None = None) -> Basis:
    """What the figures of ``alignment`` (default: the one in use) count: its own basis when it came from a
    what-if or a scenario, else the session's (:func:`session_basis`)."""
    alignment = alignment or get_alignment()
    own = getattr(alignment, "basis", None)
    return own if own is not None else session_basis(dataset)


def scenario_basis(params: dict | None, dataset: ActiveDataset | None = None) -> Basis:
    """The basis a saved scenario was balanced on; what its parameters do not say is the session's."""
    return basis_from_params(params, session_basis(dataset))


def active_territories() -> pd.DataFrame:
    """The territories of the active alignment: the dataset's table, plus a new hire's territory
    made active and without the territories a what-if closed (planning.headcount)."""
    from territory.planning.headcount import alignment_territories

    dataset, alignment = get_dataset(), get_alignment()
    if dataset is None or alignment is None:
        return dataset.territories if dataset is not None else pd.DataFrame()
    result_table = getattr(alignment.result, "territories", None)
    return alignment_territories(dataset.territories, alignment.labels, result_table)


# --- earlier alignments ---------------------------------------------------------------------------


def earlier_alignments() -> dict[str, pd.Series]:
    """The alignments this session made active before the one in use (newest first, undone steps not
    among them), by name, on the active accounts' index: the Quarterly review offers them."""
    dataset = get_dataset()
    if dataset is None:
        return {}
    history = _history()
    found = {}
    for name, labels in _workspaces.earlier_alignments(history["steps"], history["position"]).items():
        labels = labels.astype("string")
        labels.index = dataset.accounts.index[: len(labels)]
        found[name] = labels.reindex(dataset.accounts.index)
    return found


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
    save_settings()
    return new


# --- the session store: restore on reload, undo and redo --------------------------------------------
# What is kept (territory.planning.workspace): the dataset (uploads stored once; the sample read again),
# the settings (shared, the review's, the Rebalance controls) and the undo steps, each with the
# alignment in use, the hand-made moves (locked accounts) and the staffing event of the Rebalance page.

_SETTINGS_CLASSES = {"ReviewSettings": ReviewSettings}  # dataclasses kept in Settings.extra


def session_key() -> str:
    """This session's key (made on first use); the ``session`` URL parameter carries it."""
    ss = st.session_state
    if not ss.get(keys.SESSION):
        ss[keys.SESSION] = secrets.token_urlsafe(12)
    return ss[keys.SESSION]


def _keep_key_in_url() -> None:
    """Put the session key in the URL (a page change can drop query parameters)."""
    key = session_key()
    try:
        if st.query_params.get(SESSION_PARAM) != key:
            st.query_params[SESSION_PARAM] = key
    except (AttributeError, RuntimeError):  # pragma: no cover - no script context
        pass


def _store_call(action: Any) -> Any:
    """Run ``action(store)``; a store that cannot be written leaves a note, never an exception."""
    try:
        return action(WorkspaceStore())
    except (WorkspaceError, OSError, ValueError) as error:
        st.session_state[keys.SESSION_NOTE] = (
            "warning", f"Your work could not be saved for a reload ({error}); it stays in this browser tab.")
        return None


def _dataset_meta(dataset: ActiveDataset) -> dict[str, Any]:
    return {"name": dataset.name, "source": dataset.source, "bookings_note": dataset.bookings_note,
            "default_capacity": list(dataset.default_capacity), "owner_reps": dataset.owner_reps}


def _settings_json() -> dict[str, Any]:
    settings = get_settings()
    extra = {name: ({"__class__": type(value).__name__, **asdict(value)} if is_dataclass(value) else value)
             for name, value in settings.extra.items()}
    return {"balance_on": settings.balance_on, "tolerance": settings.tolerance, "extra": extra,
            "rebalance": dict(st.session_state.get(keys.REBALANCE_SETTINGS, {}))}


def _settings_from(data: dict[str, Any]) -> None:
    extra = {}
    for name, value in dict(data.get("extra", {})).items():
        if isinstance(value, dict) and value.get("__class__") in _SETTINGS_CLASSES:
            kind = _SETTINGS_CLASSES[value["__class__"]]
            # a field saved by an older version that the class no longer has is dropped; one it
            # did not have yet takes its default
            known = {f.name for f in fields(kind)}
            value = kind(**{k: v for k, v in value.items() if k in known})
        extra[name] = value
    st.session_state[SETTINGS_KEY] = Settings(balance_on=data.get("balance_on", "workload"),
                                              tolerance=float(data.get("tolerance", 0.05)), extra=extra)
    st.session_state[keys.REBALANCE_SETTINGS] = dict(data.get("rebalance", {}))


def _history() -> dict[str, Any]:
    return st.session_state.setdefault(keys.SESSION_HISTORY, {"steps": [], "position": -1})


def _workspace() -> Workspace:
    dataset = get_dataset()
    history = _history()
    return Workspace(dataset_fingerprint=dataset.fingerprint if dataset else None,
                     dataset_source=dataset.source if dataset else "sample", settings=_settings_json(),
                     steps=tuple(history["steps"]), position=history["position"])


def _save() -> None:
    if get_dataset() is None:
        return
    workspace = _workspace()
    _store_call(lambda store: store.save(session_key(), workspace))
    st.session_state[keys.SESSION_SAVED] = workspace.settings


def save_settings() -> None:
    """Keep the settings for a reload (written only when they changed)."""
    if get_dataset() is not None and st.session_state.get(keys.SESSION_SAVED) != _settings_json():
        _save()


def record(what: str) -> None:
    """Add an undoable step named ``what`` (the alignment, hand moves and event as they are now) and
    keep the session; steps after the current one (undone) are dropped, the oldest beyond 50 too."""
    alignment = get_alignment()
    if get_dataset() is None or alignment is None:
        return
    ss = st.session_state
    step = Step(what=what, labels=alignment.labels.reset_index(drop=True), alignment_name=alignment.name,
                created=alignment.created, manual_moves=dict(ss.get(keys.REBALANCE_MANUAL_MOVES) or {}),
                event=ss.get(keys.REBALANCE_EVENT), units=alignment.units,
                basis=None if alignment.basis is None else alignment.basis.params())
    history = _history()
    steps = history["steps"][: history["position"] + 1] + [step]
    history["steps"], history["position"] = steps[-MAX_STEPS:], len(steps[-MAX_STEPS:]) - 1
    _save()


def undo_step() -> Step | None:
    """The step :func:`undo` would take back (None: nothing to undo)."""
    history = _history()
    return history["steps"][history["position"]] if history["position"] >= 1 else None


def redo_step() -> Step | None:
    """The step :func:`redo` would bring back (None: nothing to redo)."""
    history = _history()
    position = history["position"] + 1
    return history["steps"][position] if position < len(history["steps"]) else None


def _apply(step: Step) -> None:
    """Make ``step``'s alignment, hand moves and event the session's (no new step)."""
    dataset = get_dataset()
    labels = step.labels.astype("string").rename(schema.TERRITORY_ID)
    if dataset is not None:
        labels.index = dataset.accounts.index[: len(labels)]
        labels = labels.reindex(dataset.accounts.index)
    ss = st.session_state
    ss[ALIGNMENT_KEY] = Alignment(labels=labels, name=step.alignment_name, fingerprint=labels_fingerprint(labels),
                                  created=step.created, units=step.units,
                                  basis=None if step.basis is None else basis_from_params(step.basis))
    ss[keys.REBALANCE_MANUAL_MOVES] = dict(step.manual_moves)
    ss[keys.REBALANCE_EVENT] = step.event
    if dataset is not None:
        ss[keys.REBALANCE_DATASET] = dataset.fingerprint  # the moves belong to this dataset


def undo() -> None:
    """Callback: take the last step back (the alignment, hand moves and event before it)."""
    history = _history()
    if history["position"] >= 1:
        history["position"] -= 1
        _apply(history["steps"][history["position"]])
        _save()


def redo() -> None:
    """Callback: bring back the step :func:`undo` took back."""
    history = _history()
    if history["position"] + 1 < len(history["steps"]):
        history["position"] += 1
        _apply(history["steps"][history["position"]])
        _save()


def _stored_dataset(workspace: Workspace) -> ActiveDataset | None:
    """The workspace's dataset: the sample read again, or the upload from the store."""
    fingerprint = workspace.dataset_fingerprint
    if workspace.dataset_source == "sample":
        sample = cached.load_sample()
        dataset = build_dataset(sample.accounts, sample.territories, sample.bookings, name=SAMPLE_NAME.format(
            len(sample.accounts)), source="sample")
        return dataset if dataset.fingerprint == fingerprint else None  # the sample changed since
    stored = WorkspaceStore().load_dataset(fingerprint)
    if stored is None:
        return None
    meta, frames = stored
    return ActiveDataset(name=meta["name"], accounts=frames["accounts"], territories=frames["territories"],
                         bookings=frames["bookings"], fingerprint=fingerprint, source=meta["source"],
                         quotas=frames.get("quotas"), opportunities=frames.get("opportunities"),
                         bookings_note=meta.get("bookings_note"),
                         default_capacity=tuple(meta.get("default_capacity", ())),
                         owner_reps=bool(meta.get("owner_reps", False)))


def _restore_session() -> bool:
    """Bring back the session named in the URL into a copy under a fresh key (the URL then carries it, so
    a refresh or a shared link never writes over the session it came from); False (a fresh session)
    when there is none to restore."""
    ss = st.session_state
    try:
        key = st.query_params.get(SESSION_PARAM)
    except (AttributeError, RuntimeError):  # pragma: no cover - no script context
        return False
    if not key or not _SESSION_KEY_RE.match(str(key)):
        return False
    try:
        store = WorkspaceStore()
        workspace = store.load(str(key))
        dataset = _stored_dataset(workspace) if workspace is not None and workspace.current else None
        if dataset is not None:  # go on under a copy: two browsers on one link never overwrite each other
            store.fork(str(key), session_key())
    except (WorkspaceError, DataError, OSError, KeyError) as error:
        ss[keys.SESSION_NOTE] = ("warning", f"Your saved session could not be restored ({error}); this is a "
                                 "fresh session on the built-in sample.")
        _store_call(lambda store: store.reset())
        return False
    if workspace is None or dataset is None:
        if workspace is not None:
            ss[keys.SESSION_NOTE] = ("info", "The dataset of this link is no longer kept; this is a fresh "
                                     "session on the built-in sample.")
        return False
    ss[DATASET_KEY] = dataset
    _settings_from(dict(workspace.settings))
    ss[keys.SESSION_HISTORY] = {"steps": list(workspace.steps), "position": workspace.position}
    _apply(workspace.current)
    ss[keys.SESSION_SAVED] = _settings_json()
    ss[keys.SESSION_NOTE] = ("success", f"Restored your session: {dataset.name}, {workspace.current.alignment_name}.")
    return True
