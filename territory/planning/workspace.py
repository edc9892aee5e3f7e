"""A session's work kept on disk, so a browser refresh or a shared link brings it back (#16, item 6).

Pure Python (SQLite, pandas, Parquet through pyarrow), no Streamlit: ``territory.ui.state`` decides
what goes in and reads it back. A *workspace* is one browser session's state under a session key
(the ``session`` URL parameter): which dataset is active, the settings, and the history of the
undoable steps (the active alignment, hand-made moves and the staffing event after each step, and
which step is current, so undo and redo move along it). :func:`earlier_alignments` names the
alignments the session made active before the one in use (the Quarterly review offers them).

Where and how much
------------------
* The file sits next to the scenario store (:func:`default_path`: ``sessions.sqlite`` in the same
  per-user data folder, or beside ``$TERRITORY_STUDIO_DB``), so tests and a shared server keep it
  where the scenarios are.
* Bounded: at most ``max_sessions`` workspaces (the least recently saved or opened go first), ``max_steps``
  steps each (the oldest go first), and only the datasets a kept workspace names.
  An uploaded dataset is stored once per content fingerprint, in Parquet; the built-in sample is
  not stored at all (it is read again from ``data/``).
* A damaged file raises :class:`WorkspaceError` with a plain sentence; :meth:`WorkspaceStore.reset`
  moves it aside (``.damaged``) so the next session starts on a fresh file.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from territory.errors import TerritoryError

__all__ = ["Step", "earlier_alignments", "Workspace", "WorkspaceError", "WorkspaceStore", "default_path"]

SCHEMA_VERSION = 1
MAX_SESSIONS = 100  # a refresh forks its session (one more kept per page load with a key)
MAX_STEPS = 50
FRAME_NAMES = ("accounts", "territories", "bookings", "quotas", "opportunities")


class WorkspaceError(TerritoryError):
    """The session store cannot be read (a damaged or foreign file)."""


def default_path() -> Path:
    """``sessions.sqlite`` beside the scenario store (same per-user data folder, or beside
    ``$TERRITORY_STUDIO_DB`` when that is set)."""
    from territory.planning.scenarios import default_db_path

    return default_db_path().with_name("sessions.sqlite")


@dataclass(frozen=True)
class Step:
    """What one undoable step left behind: the alignment in use, hand-made moves, the event."""

    what: str  # shown on the Undo / Redo buttons: "Make active", "Moved 3 accounts to T05"
    labels: pd.Series  # territory per account, in the dataset's account order (string, <NA> unassigned)
    alignment_name: str
    created: str  # the alignment's "HH:MM"
    manual_moves: Mapping[str, str] = field(default_factory=dict)  # account_id -> territory_id (locked)
    event: tuple | None = None  # ("rep_leaves", territory_id) / ("new_hire", home ZIP, FTE) / None
    units: str = "account"  # what the alignment keeps whole (territory.planning.units): its shapes use them
    basis: Mapping[str, Any] | None = None  # what its figures count (territory.planning.basis, as params)


@dataclass(frozen=True)
class Workspace:
    """One session's state: the dataset it works on, its settings, and its undo history."""

    dataset_fingerprint: str | None
    dataset_source: str = "sample"  # "sample" (read again from data/) or "upload" (stored here)
    settings: Mapping[str, Any] = field(default_factory=dict)  # JSON values only
    steps: tuple[Step, ...] = ()
    position: int = -1  # index of the current step in ``steps``

    @property
    def current(self) -> Step | None:
        return self.steps[self.position] if 0 <= self.position < len(self.steps) else None


def earlier_alignments(steps: tuple[Step, ...] | list[Step], position: int) -> dict[str, pd.Series]:
    """The alignments made active before the step at ``position`` and different from its alignment,
    by name, most recent first (undone steps after ``position`` are not among them).

    A name made active twice keeps its latest labels; hand moves and events keep the alignment's name
    and labels, so they add nothing here.

    >>> def made(name, labels):
    ...     return Step("Make active", pd.Series(labels, dtype="string"), name, "10:00")
    >>> steps = [made("Current alignment", ["T1", "T2"]), made("Rebalanced 10:05", ["T2", "T2"]),
    ...          made("Current alignment", ["T1", "T2"])]
    >>> list(earlier_alignments(steps, 2))
    ['Rebalanced 10:05']
    >>> list(earlier_alignments(steps, 1))
    ['Current alignment']
    """
    if not 0 <= position < len(steps):
        return {}
    current = steps[position]
    found: dict[str, pd.Series] = {}
    for step in reversed(steps[:position]):
        if step.alignment_name in found or step.alignment_name == current.alignment_name:
            continue
        if step.labels.reset_index(drop=True).equals(current.labels.reset_index(drop=True)):
            continue
        found[step.alignment_name] = step.labels
    return found


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _frame_from(blob: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(blob))


def _labels_bytes(labels: pd.Series) -> tuple[str, bytes]:
    blob = _frame_bytes(pd.DataFrame({"t": pd.Series(labels).astype("string").to_numpy()}))
    return hashlib.sha256(blob).hexdigest()[:24], blob


def _event_json(event: tuple | None) -> list | None:
    """Text parts stay text and numbers numbers (a new hire's FTE), so the event comes back as it was."""
    return None if event is None else [part if isinstance(part, (int, float)) else str(part) for part in event]


class WorkspaceStore:
    """Workspaces in one SQLite file (see the module docstring for its bounds)."""

    def __init__(self, path: str | Path | None = None, max_sessions: int = MAX_SESSIONS,
                 max_steps: int = MAX_STEPS) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.max_sessions = max_sessions
        self.max_steps = max_steps

    # --- connection ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=10)
            con.executescript(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, saved REAL, body TEXT);"
                "CREATE TABLE IF NOT EXISTS labels (session TEXT, hash TEXT, data BLOB, PRIMARY KEY (session, hash));"
                "CREATE TABLE IF NOT EXISTS datasets (fingerprint TEXT, part TEXT, data BLOB,"
                " PRIMARY KEY (fingerprint, part));"
            )
            row = con.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if row is None:
                con.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
                con.commit()
            elif row[0] != str(SCHEMA_VERSION):
                con.close()
                raise WorkspaceError(f"The session store {self.path} was written by another version "
                                     f"(version {row[0]}, this one reads {SCHEMA_VERSION}).")
            return con
        except sqlite3.DatabaseError as error:
            raise WorkspaceError(f"The session store {self.path} cannot be read ({error}).") from error

    def reset(self) -> None:
        """Move a damaged store aside (``sessions.sqlite.damaged``) so the next save starts afresh."""
        if self.path.exists():
            self.path.replace(self.path.with_name(self.path.name + ".damaged"))

    # --- datasets ----------------------------------------------------------------------------------

    def has_dataset(self, fingerprint: str) -> bool:
        con = self._connect()
        try:
            return con.execute("SELECT 1 FROM datasets WHERE fingerprint = ? LIMIT 1", (fingerprint,)).fetchone() \
                is not None
        finally:
            con.close()

    def save_dataset(self, fingerprint: str, meta: Mapping[str, Any],
                     frames: Mapping[str, pd.DataFrame | None]) -> None:
        """Store an uploaded dataset once (its frames in Parquet, ``meta`` as JSON)."""
        if self.has_dataset(fingerprint):
            return
        rows = [(fingerprint, "meta", json.dumps(dict(meta)).encode("utf-8"))]
        rows += [(fingerprint, name, _frame_bytes(frame)) for name, frame in frames.items() if frame is not None]
        con = self._connect()
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?)", rows)
        finally:
            con.close()

    def load_dataset(self, fingerprint: str) -> tuple[dict[str, Any], dict[str, pd.DataFrame]] | None:
        """(meta, frames) of a stored dataset, or None when it is not stored."""
        con = self._connect()
        try:
            rows = con.execute("SELECT part, data FROM datasets WHERE fingerprint = ?", (fingerprint,)).fetchall()
        finally:
            con.close()
        if not rows:
            return None
        try:
            parts = dict(rows)
            meta = json.loads(parts.pop("meta").decode("utf-8"))
            return meta, {name: _frame_from(blob) for name, blob in parts.items()}
        except (KeyError, ValueError, OSError) as error:
            raise WorkspaceError(f"The stored dataset {fingerprint[:12]} cannot be read ({error}).") from error

    # --- workspaces --------------------------------------------------------------------------------

    def save(self, key: str, workspace: Workspace) -> None:
        """Store ``workspace`` under ``key`` (the latest ``max_steps`` steps), then apply the bounds."""
        drop = max(0, len(workspace.steps) - self.max_steps)
        steps = workspace.steps[drop:]
        blobs = {}
        body_steps = []
        for step in steps:
            digest, blob = _labels_bytes(step.labels)
            blobs[digest] = blob
            body_steps.append({"what": step.what, "labels": digest, "name": step.alignment_name,
                               "created": step.created, "moves": dict(step.manual_moves),
                               "event": _event_json(step.event), "units": step.units,
                               "basis": None if step.basis is None else dict(step.basis)})
        body = json.dumps({"dataset": workspace.dataset_fingerprint, "source": workspace.dataset_source,
                           "settings": dict(workspace.settings), "steps": body_steps,
                           "position": max(-1, workspace.position - drop)})
        con = self._connect()
        try:
            with con:
                known = {h for (h,) in con.execute("SELECT hash FROM labels WHERE session = ?", (key,))}
                con.executemany("INSERT INTO labels VALUES (?, ?, ?)",
                                [(key, h, b) for h, b in blobs.items() if h not in known])
                con.executemany("DELETE FROM labels WHERE session = ? AND hash = ?",
                                [(key, h) for h in known - set(blobs)])
                con.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (key, time.time(), body))
                self._prune(con)
        finally:
            con.close()

    def _prune(self, con: sqlite3.Connection) -> None:
        old = [k for (k,) in con.execute("SELECT key FROM sessions ORDER BY saved DESC LIMIT -1 OFFSET ?",
                                         (self.max_sessions,))]
        con.executemany("DELETE FROM sessions WHERE key = ?", [(k,) for k in old])
        con.executemany("DELETE FROM labels WHERE session = ?", [(k,) for k in old])
        used = set()
        for (body,) in con.execute("SELECT body FROM sessions"):
            try:
                used.add(json.loads(body).get("dataset"))
            except ValueError:
                continue
        stored = {f for (f,) in con.execute("SELECT DISTINCT fingerprint FROM datasets")}
        con.executemany("DELETE FROM datasets WHERE fingerprint = ?", [(f,) for f in stored - used])

    def fork(self, key: str, new_key: str) -> bool:
        """Copy the workspace under ``key`` to ``new_key`` (False when ``key`` is not stored).

        A page load that restores from a URL (a refresh or a shared link) goes on under a copy, so two
        browsers on one link never write over each other and the original stays as it was. Opening a
        link counts as using it: the original's time is renewed, so the bound keeps links in use.
        """
        con = self._connect()
        try:
            with con:
                now = time.time()
                copied = con.execute("INSERT OR REPLACE INTO sessions SELECT ?, ?, body FROM sessions WHERE key = ?",
                                     (new_key, now, key)).rowcount
                if not copied:
                    return False
                con.execute("UPDATE sessions SET saved = ? WHERE key = ?", (now, key))
                con.execute("DELETE FROM labels WHERE session = ?", (new_key,))
                con.execute("INSERT INTO labels SELECT ?, hash, data FROM labels WHERE session = ?", (new_key, key))
                self._prune(con)
            return True
        finally:
            con.close()

    def load(self, key: str) -> Workspace | None:
        """The workspace stored under ``key``, or None when there is none."""
        con = self._connect()
        try:
            row = con.execute("SELECT body FROM sessions WHERE key = ?", (key,)).fetchone()
            blobs = dict(con.execute("SELECT hash, data FROM labels WHERE session = ?", (key,)).fetchall())
        finally:
            con.close()
        if row is None:
            return None
        try:
            body = json.loads(row[0])
            labels = {digest: _frame_from(blob)["t"].astype("string") for digest, blob in blobs.items()}
            steps = tuple(
                Step(what=s["what"], labels=labels[s["labels"]], alignment_name=s["name"], created=s["created"],
                     manual_moves=dict(s["moves"]), event=tuple(s["event"]) if s["event"] else None,
                     units=str(s.get("units", "account")), basis=s.get("basis"))
                for s in body["steps"]
            )
            return Workspace(dataset_fingerprint=body["dataset"], dataset_source=body["source"],
                             settings=body["settings"], steps=steps, position=int(body["position"]))
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise WorkspaceError(f"The saved session {key!r} cannot be read ({error}).") from error
