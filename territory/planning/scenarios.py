"""Named what-if scenarios, kept in SQLite so a leader can come back to them before the review.

A scenario is an immutable record: name, notes, engine parameters, a fingerprint of the dataset it
was made from, every account's territory, the scorecard, and the routing rules saved with it. Saves
run in one ``BEGIN IMMEDIATE`` transaction, so two app sessions (or two CLI processes) saving at once
both succeed, and a process killed mid-save leaves every earlier scenario as it was (SQLite's journal
rolls the half-save back).

The database lives in the user's data directory, or wherever ``TERRITORY_STUDIO_DB`` points.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sqlite3
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.measures import usable_measures
from territory.data.spreadsheet import escape_formulas, unescape_formulas
from territory.errors import DataError, TerritoryError
from territory.planning.basis import Basis
from territory.planning.metrics import moved_mask, scorecard
from territory.planning.routing import RULE_COLUMNS, read_rules_csv, rules_to_csv_bytes

DB_ENV_VAR = "TERRITORY_STUDIO_DB"
USER_ENV_VAR = "TERRITORY_STUDIO_USER"
SCHEMA_VERSION = 3
FILE_FORMAT = "territory-studio-scenario"
FILE_FORMAT_VERSION = 3
"""1: the first files; 2: cells formula-escaped; 3: the routing rules travel in ``rules.csv``."""
MAX_NAME_LENGTH = 80
MAX_SCENARIO_ACCOUNTS = 2_000_000
"""Rows an imported assignment.csv may have: twice the largest dataset benchmarked (1M accounts)."""
MAX_ASSIGNMENT_BYTES = 160 * MAX_SCENARIO_ACCOUNTS
"""assignment.csv unpacked: 160 bytes a row (18-character CRM IDs and a reason on every row take ~110)."""
MAX_META_BYTES = 2**20
"""scenario.json unpacked: 1 MiB, hundreds of times a real one (~3 KB: name, notes, parameters, scorecard)."""
MAX_META_DEPTH = 16
"""How deep params and metrics may nest in scenario.json; real ones nest 3 levels (balance_on pairs)."""
MAX_RULES_BYTES = 16 * 2**20
"""rules.csv unpacked: 16 MiB, over 300,000 rules of 50 bytes (a rule per US ZIP is about 42,000)."""
MAX_SCENARIO_FILE_BYTES = 128 * 2**20
"""The scenario file itself: MAX_SCENARIO_ACCOUNTS rows like those above compress to about 60 MB."""
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    schema.ACCOUNT_ID,
    schema.TERRITORY_ID,
    "previous_territory_id",
    "moved",
    "reason",
)


class ScenarioError(TerritoryError):
    """A scenario operation the user can fix (bad name, unknown scenario, unreadable file)."""


class ScenarioExistsError(ScenarioError):
    """The name is taken: the caller must choose to overwrite or pick another name."""


class ScenarioFileError(ScenarioError, DataError):
    """A scenario file that cannot be imported: not one, damaged, too large, or off the format."""


def default_db_path() -> Path:
    """``$TERRITORY_STUDIO_DB`` when set, else ``scenarios.sqlite`` in the user's data directory."""
    configured = os.environ.get(DB_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("territory-studio", appauthor=False)) / "scenarios.sqlite"


def _name_text(name: object) -> str:
    """``name`` if it is text SQLite can store, else a ScenarioError (a command-line argument with a
    byte that is not UTF-8 arrives as a lone surrogate, which no saved name can contain)."""
    if not isinstance(name, str):
        raise ScenarioError("A scenario name must be text.")
    if any("\ud800" <= ch <= "\udfff" for ch in name):
        raise ScenarioError(f"The scenario name {name!r} is not valid text (a byte that is not UTF-8?).")
    return name


def _lookup_name(name: object) -> str:
    """A name to look up, folded as saved names are; not held to the rules for new names, so a
    scenario saved under older rules can still be renamed and deleted."""
    return " ".join(_name_text(name).split())


def validate_name(name: str) -> str:
    """The cleaned name, or a ScenarioError that says what is wrong with it."""
    cleaned = _lookup_name(name)
    if not cleaned:
        raise ScenarioError("A scenario needs a name: type one, e.g. 'Q3 2026 - 22 reps'.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ScenarioError(
            f"Scenario names are at most {MAX_NAME_LENGTH} characters; this one has {len(cleaned)}."
        )
    hidden = next(((i, ch) for i, ch in enumerate(cleaned) if _hidden(ch)), None)
    if hidden is not None:
        position, char = hidden
        raise ScenarioError(
            "Scenario names cannot contain control, invisible or direction-changing characters (one name "
            f"could pass for another): this one has U+{ord(char):04X} "
            f"{unicodedata.name(char, 'control character')} at position {position + 1}."
        )
    return cleaned


_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Hangul fillers and the blank Braille pattern: letters that draw nothing."""


def _hidden(char: str) -> bool:
    """A control (C0, DEL, C1), format (zero-width, bidi override or isolate, BOM, soft hyphen) or
    blank character: each can make a name look like another one or reorder how it is shown.

    >>> [_hidden(c) for c in ("a", "é", "\u202e", "\u200b", "\x9b", "\u3164")]
    [False, False, True, True, True, True]
    """
    return unicodedata.category(char) in ("Cc", "Cf") or char in _BLANK_LETTERS


def dataset_fingerprint(accounts: pd.DataFrame) -> str:
    """A short hash of the account IDs: scenarios remember which dataset they were made from.

    Only the IDs count, so re-estimated workloads keep the fingerprint while a different account
    list changes it (that is what decides whether an assignment still applies).

    >>> dataset_fingerprint(pd.DataFrame({"account_id": ["A2", "A1"]}))
    '648948376da7376e'
    """
    ids = sorted(accounts[schema.ACCOUNT_ID].astype(str).tolist())
    digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()
    return digest[:16]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def json_ready(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, tuples to lists, NaN/inf to null, anything else to str."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass(frozen=True)
class Scenario:
    """One saved alignment with everything needed to review or re-apply it."""

    name: str
    assignment: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    dataset_fingerprint: str = ""
    created_at: str = ""
    updated_at: str = ""
    rules: pd.DataFrame | None = None
    """Routing rules (``priority, kind, value, territory_id``) that go with the scenario; None when it
    carries none (it then routes by its alignment's default rules, and saving it over a scenario of
    the same name keeps that scenario's rules)."""

    @property
    def accounts(self) -> int:
        return int(len(self.assignment))

    @property
    def territories(self) -> int:
        return int(self.assignment[schema.TERRITORY_ID].nunique())

    def labels(self) -> pd.Series:
        """Territory per account, indexed by account_id."""
        return self.assignment.set_index(schema.ACCOUNT_ID)[schema.TERRITORY_ID]


def normalize_assignment(assignment: pd.DataFrame) -> pd.DataFrame:
    """The assignment columns in a fixed order and type; unknown columns are dropped."""
    missing = [c for c in (schema.ACCOUNT_ID, schema.TERRITORY_ID) if c not in assignment.columns]
    if missing:
        raise ScenarioError(f"An assignment needs the columns {', '.join(missing)}.")
    out = pd.DataFrame(
        {
            schema.ACCOUNT_ID: assignment[schema.ACCOUNT_ID].astype(str).to_numpy(),
            schema.TERRITORY_ID: assignment[schema.TERRITORY_ID].astype("string").to_numpy(),
        }
    )
    previous = assignment.get("previous_territory_id")
    out["previous_territory_id"] = (
        pd.Series(pd.NA, index=out.index, dtype="string")
        if previous is None
        else previous.astype("string").to_numpy()
    )
    moved = assignment.get("moved")
    if moved is None:
        out["moved"] = moved_mask(out, out[schema.TERRITORY_ID], out["previous_territory_id"])[0]
    else:
        out["moved"] = moved.fillna(False).astype(bool).to_numpy()
    reason = assignment.get("reason")
    out["reason"] = "" if reason is None else reason.fillna("").astype(str).to_numpy()
    duplicated = out[schema.ACCOUNT_ID].duplicated()
    if duplicated.any():
        first = out.loc[duplicated, schema.ACCOUNT_ID].iloc[0]
        raise ScenarioError(
            f"The assignment lists account {first!r} more than once ({int(duplicated.sum())} "
            "duplicates); each account belongs to exactly one territory."
        )
    return out


@dataclass(frozen=True)
class DatasetDiff:
    """How a scenario's accounts differ from the dataset it is applied to."""

    missing_accounts: tuple[str, ...]
    new_accounts: tuple[str, ...]
    shared_accounts: int | None = None  # accounts in both (None: not counted)

    @property
    def matches(self) -> bool:
        return not self.missing_accounts and not self.new_accounts

    @property
    def shares_nothing(self) -> bool:
        """True when no account of the scenario is in the dataset: it was made on another file."""
        return self.shared_accounts == 0

    def describe(self, limit: int = 5) -> str:
        """One sentence a leader can act on."""
        if self.matches:
            return "The scenario covers exactly the accounts of this dataset."
        parts = []
        if self.missing_accounts:
            shown = ", ".join(self.missing_accounts[:limit])
            more = "" if len(self.missing_accounts) <= limit else f" and {len(self.missing_accounts) - limit:,} more"
            parts.append(
                f"{len(self.missing_accounts):,} account(s) of the scenario are not in this dataset "
                f"({shown}{more}); they are ignored"
            )
        if self.new_accounts:
            shown = ", ".join(self.new_accounts[:limit])
            more = "" if len(self.new_accounts) <= limit else f" and {len(self.new_accounts) - limit:,} more"
            parts.append(
                f"{len(self.new_accounts):,} account(s) of this dataset are not in the scenario "
                f"({shown}{more}); they keep their current territory"
            )
        return "; ".join(parts) + "."


def compare_to_dataset(scenario: Scenario, accounts: pd.DataFrame) -> DatasetDiff:
    """Which accounts are missing from, or new to, the dataset compared with the scenario."""
    saved = set(scenario.assignment[schema.ACCOUNT_ID].astype(str))
    current = set(accounts[schema.ACCOUNT_ID].astype(str))
    return DatasetDiff(tuple(sorted(saved - current)), tuple(sorted(current - saved)), len(saved & current))


def apply_to_dataset(scenario: Scenario, accounts: pd.DataFrame) -> tuple[pd.Series, DatasetDiff]:
    """Territory per account of ``accounts`` (aligned to its index) under the scenario.

    Accounts the scenario does not know keep their current ``territory_id``; the diff says which.
    """
    diff = compare_to_dataset(scenario, accounts)
    mapping = scenario.labels()
    ids = accounts[schema.ACCOUNT_ID].astype(str)
    labels = ids.map(mapping).astype("string")
    if schema.TERRITORY_ID in accounts.columns:
        labels = labels.fillna(accounts[schema.TERRITORY_ID].astype("string"))
    return labels.rename(schema.TERRITORY_ID), diff


# --- the store --------------------------------------------------------------------------------

_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}


def _migration(version: int) -> Callable[[Callable[[sqlite3.Connection], None]], Callable[..., None]]:
    def register(function: Callable[[sqlite3.Connection], None]) -> Callable[..., None]:
        _MIGRATIONS[version] = function
        return function

    return register


@_migration(1)
def _create_v1(db: sqlite3.Connection) -> None:
    """Version 1: scenarios and their assignments."""
    db.execute(
        """CREATE TABLE scenarios (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            notes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            params_json TEXT NOT NULL,
            dataset_fingerprint TEXT NOT NULL,
            metrics_json TEXT NOT NULL,
            accounts INTEGER NOT NULL,
            territories INTEGER NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE assignments (
            scenario_id INTEGER NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
            account_id TEXT NOT NULL,
            territory_id TEXT,
            previous_territory_id TEXT,
            moved INTEGER NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (scenario_id, account_id)
        )"""
    )


@_migration(2)
def _add_history_v2(db: sqlite3.Connection) -> None:
    """Version 2: an audit trail of saves, renames, deletes and activations."""
    db.execute(
        """CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            scenario TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            user TEXT NOT NULL DEFAULT ''
        )"""
    )
    # Scenarios saved before history existed get a 'save' entry so the trail starts complete.
    db.execute(
        "INSERT INTO history (at, action, scenario, detail) "
        "SELECT created_at, 'save', name, 'recorded by migration to version 2' FROM scenarios"
    )


@_migration(3)
def _add_routing_rules_v3(db: sqlite3.Connection) -> None:
    """Version 3: routing rules saved with a scenario (docs/routing.md); older scenarios have none
    and route by the default rules of their alignment."""
    db.execute(
        """CREATE TABLE routing_rules (
            scenario_id INTEGER NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            priority INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            territory_id TEXT NOT NULL,
            PRIMARY KEY (scenario_id, position)
        )"""
    )


def rules_note(given: Scenario, saved: Scenario) -> str:
    """What a save did with the routing rules, for the message after it: ', with 12 routing rules'
    (the scenario's own), ', kept its 12 routing rules' (an overwrite that brought none), or ''.

    >>> rules = pd.DataFrame({"priority": [1], "kind": ["nearest"], "value": [""], "territory_id": [""]})
    >>> rules_note(Scenario("P", pd.DataFrame()), Scenario("P", pd.DataFrame(), rules=rules))
    ', kept its 1 routing rule'
    """
    if saved.rules is None:
        return ""
    count = len(saved.rules)
    return f", {'with' if given.rules is not None else 'kept its'} {count:,} routing rule{'' if count == 1 else 's'}"


def _rule_rows(rules: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """A rules table as rows for the store (blank text for missing cells)."""
    missing = [c for c in RULE_COLUMNS if c not in rules.columns]
    if missing:
        raise ScenarioError(f"Routing rules need the columns {', '.join(RULE_COLUMNS)}; missing {', '.join(missing)}.")
    return [
        (int(r.priority), str(r.kind), "" if pd.isna(r.value) else str(r.value),
         "" if pd.isna(r.territory_id) else str(r.territory_id))
        for r in rules[list(RULE_COLUMNS)].itertuples(index=False)
    ]


def _rules_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    return frame.astype({"priority": "Int64", "kind": "string", "value": "string", schema.TERRITORY_ID: "string"})


def _insert_rules(db: sqlite3.Connection, scenario_id: int, rows: list) -> None:
    db.executemany(
        "INSERT INTO routing_rules (scenario_id, position, priority, kind, value, territory_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(scenario_id, position, *row) for position, row in enumerate(rows)],
    )


class ScenarioStore:
    """SQLite-backed scenarios with a versioned schema; safe for several writers at once."""

    def __init__(self, path: str | Path | None = None, user: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.user = user if user is not None else os.environ.get(USER_ENV_VAR, "")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ScenarioError(
                f"Cannot create the folder of the scenario database {self.path}: {error.strerror or error}. "
                f"Point {DB_ENV_VAR} at a file in a folder you can write to."
            ) from None
        with self._connect() as db:
            self._migrate(db)

    # connections are short-lived: one per operation, so Streamlit threads never share one.
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as error:
            raise ScenarioError(f"Cannot open the scenario database {self.path}: {error}") from error
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            try:
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass  # another process is switching it; the default journal is also safe
            yield db
        # pandas wraps read_sql's errors; text in damaged pages (or in SQLite's message about them)
        # may not decode as UTF-8
        except (sqlite3.DatabaseError, pd.errors.DatabaseError, UnicodeDecodeError) as error:
            reason = error.__cause__ if isinstance(error, pd.errors.DatabaseError) and error.__cause__ else error
            raise ScenarioError(
                f"The scenario database {self.path} could not be used ({reason}). "
                f"Point {DB_ENV_VAR} at another file or restore a backup."
            ) from error
        finally:
            db.close()

    @contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self, db: sqlite3.Connection) -> None:
        with self._transaction(db):
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise ScenarioError(
                    f"The scenario database {self.path} has schema version {version}, newer than "
                    f"this Territory Studio ({SCHEMA_VERSION}): upgrade Territory Studio."
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[target](db)
                db.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        with self._connect() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def _record(self, db: sqlite3.Connection, action: str, scenario: str, detail: str = "") -> None:
        db.execute(
            "INSERT INTO history (at, action, scenario, detail, user) VALUES (?, ?, ?, ?, ?)",
            (_now(), action, scenario, detail, self.user),
        )

    # --- writes ---------------------------------------------------------------------------------

    def save(self, scenario: Scenario, overwrite: bool = False) -> Scenario:
        """Store the scenario; a taken name raises ScenarioExistsError unless ``overwrite``.

        Routing rules: a scenario that carries rules (``scenario.rules`` not None, e.g. read from a
        scenario file that has them) saves exactly those; one that carries none keeps the rules saved
        under its name, so re-saving a rebalanced alignment does not throw away hand-made rules
        (named accounts, industry teams). The history says which.
        """
        name = validate_name(scenario.name)
        new_rules = None if scenario.rules is None else _rule_rows(scenario.rules)
        assignment = normalize_assignment(scenario.assignment)
        params_json = json.dumps(json_ready(scenario.params), sort_keys=True)
        metrics_json = json.dumps(json_ready(scenario.metrics), sort_keys=True)
        rows = list(
            zip(
                assignment[schema.ACCOUNT_ID].tolist(),
                [None if pd.isna(v) else str(v) for v in assignment[schema.TERRITORY_ID]],
                [None if pd.isna(v) else str(v) for v in assignment["previous_territory_id"]],
                assignment["moved"].astype(int).tolist(),
                assignment["reason"].tolist(),
            )
        )
        now = _now()
        with self._connect() as db, self._transaction(db):
            existing = db.execute("SELECT id, created_at FROM scenarios WHERE name = ?", (name,)).fetchone()
            if existing and not overwrite:
                raise ScenarioExistsError(
                    f"A scenario named {name!r} already exists: overwrite it or choose another name."
                )
            created_at = existing[1] if existing else (scenario.created_at or now)
            rules, kept = new_rules or [], False
            if existing:
                if new_rules is None:
                    rules = db.execute(
                        "SELECT priority, kind, value, territory_id FROM routing_rules WHERE scenario_id = ? "
                        "ORDER BY position", (existing[0],),
                    ).fetchall()
                    kept = bool(rules)
                db.execute("DELETE FROM scenarios WHERE id = ?", (existing[0],))
            cursor = db.execute(
                "INSERT INTO scenarios (name, notes, created_at, updated_at, params_json, "
                "dataset_fingerprint, metrics_json, accounts, territories) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    scenario.notes or "",
                    created_at,
                    now,
                    params_json,
                    scenario.dataset_fingerprint or "",
                    metrics_json,
                    len(assignment),
                    int(assignment[schema.TERRITORY_ID].nunique()),
                ),
            )
            scenario_id = cursor.lastrowid
            db.executemany(
                "INSERT INTO assignments (scenario_id, account_id, territory_id, previous_territory_id, "
                "moved, reason) VALUES (?, ?, ?, ?, ?, ?)",
                [(scenario_id, *row) for row in rows],
            )
            _insert_rules(db, scenario_id, rules)
            detail = f"{len(assignment)} accounts"
            if rules:
                detail += f"; {'kept its' if kept else 'with'} {len(rules)} routing rules"
            self._record(db, "overwrite" if existing else "save", name, detail)
        return self.load(name)

    def save_rules(self, name: str, rules: pd.DataFrame) -> None:
        """Keep ``rules`` (``priority, kind, value, territory_id``, validated by the caller) with the
        scenario, replacing any saved before (an empty table removes them)."""
        name = _lookup_name(name)
        rows = _rule_rows(rules)
        with self._connect() as db, self._transaction(db):
            found = db.execute("SELECT id FROM scenarios WHERE name = ?", (name,)).fetchone()
            if found is None:
                raise ScenarioError(f"There is no scenario named {name!r}.")
            db.execute("DELETE FROM routing_rules WHERE scenario_id = ?", (found[0],))
            _insert_rules(db, found[0], rows)
            self._record(db, "rules", name, f"{len(rows)} routing rules")

    def load_rules(self, name: str) -> pd.DataFrame | None:
        """The routing rules saved with the scenario, in their order; None when it has none."""
        name = _name_text(name)
        with self._connect() as db:
            found = db.execute("SELECT id FROM scenarios WHERE name = ?", (name,)).fetchone()
            if found is None:
                raise ScenarioError(f"There is no scenario named {name!r}.")
            return self._rules_of(db, found[0])

    @staticmethod
    def _rules_of(db: sqlite3.Connection, scenario_id: int) -> pd.DataFrame | None:
        rows = db.execute(
            "SELECT priority, kind, value, territory_id FROM routing_rules WHERE scenario_id = ? "
            "ORDER BY position", (scenario_id,),
        ).fetchall()
        return _rules_frame(rows) if rows else None

    def rename(self, old: str, new: str) -> None:
        """Rename a scenario; the new name must be free."""
        old_name, new_name = _lookup_name(old), validate_name(new)
        with self._connect() as db, self._transaction(db):
            if not db.execute("SELECT 1 FROM scenarios WHERE name = ?", (old_name,)).fetchone():
                raise ScenarioError(f"There is no scenario named {old_name!r}.")
            if old_name != new_name and db.execute(
                "SELECT 1 FROM scenarios WHERE name = ?", (new_name,)
            ).fetchone():
                raise ScenarioExistsError(f"A scenario named {new_name!r} already exists: choose another name.")
            db.execute(
                "UPDATE scenarios SET name = ?, updated_at = ? WHERE name = ?", (new_name, _now(), old_name)
            )
            self._record(db, "rename", new_name, f"renamed from {old_name!r}")

    def delete(self, name: str) -> None:
        """Delete a scenario (its history stays)."""
        name = _lookup_name(name)
        with self._connect() as db, self._transaction(db):
            deleted = db.execute("DELETE FROM scenarios WHERE name = ?", (name,)).rowcount
            if not deleted:
                raise ScenarioError(f"There is no scenario named {name!r}.")
            self._record(db, "delete", name)

    def record_activation(self, name: str) -> None:
        """Note in the history that a scenario became the active alignment."""
        name = _lookup_name(name)
        with self._connect() as db, self._transaction(db):
            if not db.execute("SELECT 1 FROM scenarios WHERE name = ?", (name,)).fetchone():
                raise ScenarioError(f"There is no scenario named {name!r}.")
            self._record(db, "activate", name)

    # --- reads ----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT name FROM scenarios ORDER BY updated_at DESC, name")]

    def exists(self, name: str) -> bool:
        name = _name_text(name)
        with self._connect() as db:
            return db.execute("SELECT 1 FROM scenarios WHERE name = ?", (name,)).fetchone() is not None

    def list(self) -> pd.DataFrame:
        """One row per scenario: name, notes, created_at, updated_at, accounts, territories, fingerprint."""
        with self._connect() as db:
            frame = pd.read_sql_query(
                "SELECT name, notes, created_at, updated_at, accounts, territories, dataset_fingerprint "
                "FROM scenarios ORDER BY updated_at DESC, name",
                db,
            )
        return frame

    def load(self, name: str) -> Scenario:
        """The whole scenario, assignment included."""
        name = _name_text(name)
        with self._connect() as db:
            row = db.execute(
                "SELECT id, name, notes, created_at, updated_at, params_json, dataset_fingerprint, "
                "metrics_json FROM scenarios WHERE name = ?",
                (name,),
            ).fetchone()
            if row is None:
                raise ScenarioError(f"There is no scenario named {name!r}.")
            assignment = pd.read_sql_query(
                "SELECT account_id, territory_id, previous_territory_id, moved, reason FROM assignments "
                "WHERE scenario_id = ? ORDER BY rowid",
                db,
                params=(row[0],),
            )
            rules = self._rules_of(db, row[0])
        assignment = normalize_assignment(assignment)
        try:
            params, metrics = json.loads(row[5]), json.loads(row[7])
        except (TypeError, ValueError) as error:
            raise ScenarioError(
                f"Scenario {name!r} in {self.path} is damaged ({error}): restore a backup of the database."
            ) from None
        return Scenario(
            name=row[1],
            notes=row[2],
            created_at=row[3],
            updated_at=row[4],
            params=params,
            dataset_fingerprint=row[6],
            metrics=metrics,
            assignment=assignment,
            rules=rules,
        )

    def history(self, limit: int | None = None) -> pd.DataFrame:
        """Newest first: at, action, scenario, detail, user."""
        query = "SELECT at, action, scenario, detail, user FROM history ORDER BY id DESC"
        with self._connect() as db:
            if limit is not None:
                return pd.read_sql_query(query + " LIMIT ?", db, params=(int(limit),))
            return pd.read_sql_query(query, db)


# --- portable scenario files ------------------------------------------------------------------


def scenario_to_bytes(scenario: Scenario) -> bytes:
    """A zip of ``scenario.json`` (name, notes, parameters, metrics), ``assignment.csv`` and, when the
    scenario has routing rules, ``rules.csv`` (``priority,kind,value,territory_id``, as ``rules export``
    writes it).

    Every part is plain text, so a plan can be read by people, diffed and kept in version control.
    """
    assignment = normalize_assignment(scenario.assignment)
    meta = {
        "format": FILE_FORMAT,
        "format_version": FILE_FORMAT_VERSION,
        "name": scenario.name,
        "notes": scenario.notes,
        "created_at": scenario.created_at,
        "updated_at": scenario.updated_at,
        "dataset_fingerprint": scenario.dataset_fingerprint,
        "params": json_ready(scenario.params),
        "metrics": json_ready(scenario.metrics),
        "accounts": int(len(assignment)),
        "routing_rules": 0 if scenario.rules is None else int(len(scenario.rules)),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scenario.json", json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False))
        # formula-safe for whoever opens it in a spreadsheet, and exactly reversible on import
        archive.writestr("assignment.csv", escape_formulas(assignment).to_csv(index=False, lineterminator="\n"))
        if scenario.rules is not None and len(scenario.rules):
            archive.writestr("rules.csv", rules_to_csv_bytes(scenario.rules))
    return buffer.getvalue()


_NOT_A_SCENARIO_FILE = "export one with 'python -m territory scenario export NAME --output FILE.zip'"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error,
               UnicodeDecodeError)
"""What zipfile raises on a damaged archive or a compression method it lacks (a member name flagged
UTF-8 that is not: UnicodeDecodeError)."""


class _BoundedReader(io.RawIOBase):
    """A zip member that refuses to yield more than ``limit`` bytes, whatever its header declares."""

    def __init__(self, raw: BinaryIO, limit: int, name: str) -> None:
        super().__init__()
        self._raw, self._left, self._name, self._limit = raw, limit, name, limit

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(min(len(buffer), self._left + 1, 2**20))  # chunks: no second copy in memory
        if len(data) > self._left:
            raise _too_large(self._name, self._limit)
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _too_large(name: str, limit: int) -> ScenarioFileError:
    return ScenarioFileError(
        f"{name} in this scenario file unpacks to more than {limit:,} bytes, the most Territory Studio "
        f"reads ({MAX_SCENARIO_ACCOUNTS:,} accounts): it is damaged or not a scenario file."
    )


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The member unpacked, at most ``limit`` bytes (its declared size is checked first, then it is
    read as a stream that stops past the limit whatever its header says)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ScenarioFileError(
            f"This zip has no {name}: it is not a Territory Studio scenario file; {_NOT_A_SCENARIO_FILE}."
        ) from None
    if info.file_size > limit:
        raise _too_large(name, limit)
    if info.flag_bits & 0x1:
        raise ScenarioFileError(f"{name} in this zip is encrypted: export the scenario again, without a password.")
    try:
        raw = archive.open(info)
    except ValueError as error:  # "negative seek value": a damaged offset of the member in the zip
        raise ScenarioFileError(
            f"This is not a Territory Studio scenario file ({name}: {error}); {_NOT_A_SCENARIO_FILE}."
        ) from None
    with io.BufferedReader(_BoundedReader(raw, limit, name)) as member:
        return member.read(info.file_size + 1) + member.read()  # one buffer of the declared size, then the rest


def _read_assignment_csv(data: bytes) -> pd.DataFrame:
    """assignment.csv as text columns (blank territories as missing).

    Arrow reads it when every row has the header's width (fast: a million rows in about a second);
    otherwise the csv module finds the first row that has not, and says which.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={column: pa.string() for column in ASSIGNMENT_COLUMNS},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        header, rows = _read_assignment_rows(data)
        frame = pd.DataFrame(rows, columns=header, dtype=object)
    else:
        header, frame = table.column_names, table.to_pandas()
        if len(frame) > MAX_SCENARIO_ACCOUNTS:
            raise _too_many_rows()
    if frame.empty:
        raise ScenarioFileError(
            "assignment.csv in the scenario file lists no accounts: it needs a header and one row per account."
        )
    if len(set(header)) != len(header):
        raise ScenarioFileError(f"assignment.csv names a column twice ({', '.join(header)}).")
    for column in (schema.TERRITORY_ID, "previous_territory_id"):
        if column in frame.columns:
            frame[column] = frame[column].astype(object).where(frame[column] != "", None)
    return frame


def _too_many_rows() -> ScenarioFileError:
    return ScenarioFileError(
        f"assignment.csv has more than {MAX_SCENARIO_ACCOUNTS:,} rows, the most Territory Studio imports: it "
        "is damaged or not a scenario file."
    )


def _read_assignment_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows by the csv module: a row with more or fewer fields than the header is refused
    with its row and line number instead of being stored shifted; so is a file of more than
    MAX_SCENARIO_ACCOUNTS rows, blank ones included (each costs a turn of this loop)."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        for records, row in enumerate(reader):
            if records > MAX_SCENARIO_ACCOUNTS:
                raise _too_many_rows()
            if not row:
                continue  # a blank line
            if not header:
                header = row
            elif len(row) != len(header):
                raise ScenarioFileError(
                    f"Row {len(rows) + 1:,} of assignment.csv (line {reader.line_num:,}) has {len(row)} "
                    f"fields, but the header has {len(header)}: a value with an unquoted comma? Export the "
                    "scenario again, or quote that value."
                )
            else:
                rows.append(row)
    except (csv.Error, UnicodeDecodeError) as error:
        raise ScenarioFileError(
            f"assignment.csv in the scenario file cannot be read (line {reader.line_num:,}: {error})."
        ) from None
    return header, rows


def scenario_from_bytes(data: bytes, name: str | None = None) -> Scenario:
    """Read a file made by ``scenario_to_bytes``; a wrong, damaged or oversized file raises
    ScenarioFileError (both a ScenarioError and a DataError) with one line that says why.
    ``name`` replaces the file's own name (which then need not be a valid name).

    Nothing is read unbounded: the file, each member unpacked and the number of rows have limits
    (``MAX_SCENARIO_FILE_BYTES``, ``MAX_META_BYTES``, ``MAX_ASSIGNMENT_BYTES``, ``MAX_SCENARIO_ACCOUNTS``).
    """
    if len(data) > MAX_SCENARIO_FILE_BYTES:
        raise ScenarioFileError(
            f"This file is larger than {MAX_SCENARIO_FILE_BYTES:,} bytes, the most a scenario file of "
            f"{MAX_SCENARIO_ACCOUNTS:,} accounts takes: it is not a Territory Studio scenario file."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta_bytes = _read_member(archive, "scenario.json", MAX_META_BYTES)
            try:
                meta = json.loads(meta_bytes.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as error:
                raise ScenarioFileError(
                    f"scenario.json in this file is not JSON text ({error}); {_NOT_A_SCENARIO_FILE}."
                ) from None
            if not isinstance(meta, dict) or meta.get("format") != FILE_FORMAT:
                raise ScenarioFileError(
                    "This zip has no Territory Studio scenario in it (scenario.json format differs)."
                )
            version = _format_version(meta)
            fields = {key: _meta_text(meta, key) for key in ("notes", "created_at", "updated_at",
                                                              "dataset_fingerprint")}
            params, metrics = _meta_object(meta, "params"), _meta_object(meta, "metrics")
            file_name = _meta_text(meta, "name")  # checked even when ``name`` replaces it
            name = validate_name(file_name if name is None else name)
            assignment = _read_assignment_csv(_read_member(archive, "assignment.csv", MAX_ASSIGNMENT_BYTES))
            has_rules = version >= 3 and "rules.csv" in archive.namelist()
            rules = _read_rules_csv(_read_member(archive, "rules.csv", MAX_RULES_BYTES)) if has_rules else None
    except _ZIP_ERRORS as error:
        raise ScenarioFileError(
            f"This is not a Territory Studio scenario file ({error}); {_NOT_A_SCENARIO_FILE}."
        ) from error
    if version >= 2:  # version 1 files were written without escaping
        assignment = unescape_formulas(assignment)
    if "moved" in assignment.columns:
        assignment["moved"] = assignment["moved"].astype(str).str.lower().isin(["true", "1"])
    return Scenario(name=name, params=params, metrics=metrics, assignment=normalize_assignment(assignment),
                    rules=rules, **fields)


def _read_rules_csv(data: bytes) -> pd.DataFrame:
    """rules.csv of a scenario file, checked as ``rules import`` checks a file (every cell readable,
    nothing unreachable); whether its territories exist is checked where the rules are used, against
    that alignment (a rule may name a territory that has no accounts yet)."""
    try:
        return read_rules_csv(data).to_frame()
    except TerritoryError as error:
        raise ScenarioFileError(f"rules.csv in the scenario file: {error}") from None


def _json_kind(value: object) -> str:
    """How JSON calls ``value``'s type, for a message: 'text', 'a list', 'null', ..."""
    kinds = ((bool, "true/false"), (str, "text"), (int, "a number"), (float, "a number"),
             (list, "a list"), (dict, "an object"))
    if value is None:
        return "null"
    return next((kind for cls, kind in kinds if isinstance(value, cls)), type(value).__name__)


def _format_version(meta: Mapping[str, Any]) -> int:
    """scenario.json's format_version: a whole number from 1 up to the one this version writes."""
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ScenarioFileError(
            f"scenario.json: format_version must be a whole number from 1 to {FILE_FORMAT_VERSION}, got "
            f"{json.dumps(version)[:40]}; {_NOT_A_SCENARIO_FILE}."
        )
    if version > FILE_FORMAT_VERSION:
        raise ScenarioFileError(
            f"This scenario file has format version {version}, newer than this Territory Studio "
            f"understands ({FILE_FORMAT_VERSION}): upgrade Territory Studio."
        )
    return version


def _meta_text(meta: Mapping[str, Any], key: str) -> str:
    """A text field of scenario.json ("" when absent or null)."""
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScenarioFileError(f"scenario.json: {key} must be text, got {_json_kind(value)}.")
    return value


def _meta_object(meta: Mapping[str, Any], key: str) -> dict[str, Any]:
    """An object field of scenario.json (params, metrics; {} when absent or null)."""
    value = meta.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScenarioFileError(
            f"scenario.json: {key} must be an object of names and values, got {_json_kind(value)}."
        )
    level, depth = [value], 0
    while level:  # level by level, not recursively: saving it must not hit Python's recursion limit
        depth += 1
        if depth > MAX_META_DEPTH:
            raise ScenarioFileError(f"scenario.json: {key} nests more than {MAX_META_DEPTH} levels deep.")
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
    return value


def read_scenario_file(path: str | Path, name: str | None = None) -> Scenario:
    """:func:`scenario_from_bytes` of the file at ``path``, reading at most one byte more than a
    scenario file may have (so ``/dev/zero`` or a huge file is refused, not read whole)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SCENARIO_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioFileError(f"Cannot read {path}: {error.strerror or error}") from None
    return scenario_from_bytes(data, name)


# --- comparing scenarios ----------------------------------------------------------------------

COMPARISON_ROWS: tuple[tuple[str, str], ...] = (
    ("max_deviation_pct", "Max deviation from target (%)"),
    ("cv", "Spread of load (coefficient of variation)"),
    ("gini", "Inequality of load (Gini, 0 = equal)"),
    ("workload_max_deviation_pct", "Workload: max deviation (%)"),
    ("revenue_max_deviation_pct", "Revenue: max deviation (%)"),
    ("potential_max_deviation_pct", "Potential: max deviation (%)"),
    ("weighted_mean_distance_km", "Weighted mean distance to centre (km)"),
    ("fragmented_territories", "Territories in more than one piece"),
    ("stray_workload_pct", "Workload outside main piece (%)"),
    ("moved_accounts", "Accounts moved vs current"),
    ("moved_revenue_pct", "Revenue moved vs current (%)"),
)
"""Rows of the scenario comparison; on every row lower is better."""
_ROW_NEEDS = {"revenue_max_deviation_pct": "revenue", "potential_max_deviation_pct": "potential",
              "moved_revenue_pct": "revenue"}
"""The measure a comparison row needs; the others are always shown."""


def compare_scenarios(
    accounts: pd.DataFrame,
    labels_by_name: Mapping[str, pd.Series],
    territories: pd.DataFrame | None = None,
    balance_on: Any = "workload",
    bases: Mapping[str, Basis] | None = None,
) -> pd.DataFrame:
    """Scorecard rows x scenario columns on the *current* data, plus the best scenario(s) per row.

    Every scenario is scored against the dataset's own alignment on the current accounts, so the
    numbers are comparable even when the scenarios were saved from older workloads. ``bases`` scores a
    scenario on its own measure and counted account types (the figures it showed when it was made);
    the others are scored on ``balance_on`` over every account.
    """
    previous = accounts[schema.TERRITORY_ID] if schema.TERRITORY_ID in accounts.columns else None

    def card(name: str, labels: pd.Series) -> dict:
        basis = (bases or {}).get(name)
        if basis is None:
            return scorecard(accounts, labels.reindex(accounts.index), previous=previous,
                             territories=territories, balance_on=balance_on)
        mask = basis.mask(accounts)
        return scorecard(accounts[mask], labels.reindex(accounts.index)[mask],
                         previous=None if previous is None else previous[mask], territories=territories,
                         balance_on=basis.measure)

    cards = {name: card(name, labels) for name, labels in labels_by_name.items()}
    table = pd.DataFrame(
        {name: [card.get(key) for key, _ in COMPARISON_ROWS] for name, card in cards.items()},
        index=[label for _, label in COMPARISON_ROWS],
    ).astype(float)
    table.index.name = "Measure"
    table = table.dropna(how="all")  # a measure no scenario has (revenue moved, without revenue)
    usable = usable_measures(accounts)  # a file without revenue scores 0 on it everywhere: no row, not a tie
    table = table.drop(index=[label for key, label in COMPARISON_ROWS
                              if key in _ROW_NEEDS and _ROW_NEEDS[key] not in usable], errors="ignore")
    best = []
    for _, row in table.iterrows():
        finite = row.dropna()
        winners = finite.index[np.isclose(finite.to_numpy(), finite.min())] if len(finite) else []
        # Everyone equal is no win; otherwise every scenario that shares the best value is named.
        best.append("" if len(winners) in (0, len(row)) else ", ".join(map(str, winners)))
    table["Best"] = best
    return table


def differing_accounts(accounts: pd.DataFrame, labels_by_name: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Accounts whose territory is not the same in every scenario, one column per scenario."""
    frame = pd.DataFrame(
        {name: labels.reindex(accounts.index).astype("string") for name, labels in labels_by_name.items()}
    )
    if frame.shape[1] < 2:
        return frame.iloc[0:0]
    differs = frame.nunique(axis=1, dropna=False) > 1
    out = frame[differs].copy()
    out.insert(0, schema.ACCOUNT_ID, accounts.loc[differs, schema.ACCOUNT_ID].astype("string"))
    if schema.NAME in accounts.columns:
        out.insert(1, schema.NAME, accounts.loc[differs, schema.NAME].astype("string"))
    return out.reset_index(drop=True)


def build_scenario(
    name: str,
    accounts: pd.DataFrame,
    labels: pd.Series,
    previous: pd.Series | None = None,
    reasons: pd.Series | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    notes: str = "",
) -> Scenario:
    """A Scenario for ``labels`` (territory per account, aligned with ``accounts``).

    ``previous`` defaults to the accounts' own ``territory_id`` (the alignment in the file), so
    ``moved`` says what the scenario changes compared with today.
    """
    if previous is None and schema.TERRITORY_ID in accounts.columns:
        previous = accounts[schema.TERRITORY_ID]
    after = labels.reindex(accounts.index).astype("string")
    before = (
        previous.reindex(accounts.index).astype("string")
        if previous is not None
        else pd.Series(pd.NA, index=accounts.index, dtype="string")
    )
    assignment = pd.DataFrame(
        {
            schema.ACCOUNT_ID: accounts[schema.ACCOUNT_ID].astype(str),
            schema.TERRITORY_ID: after,
            "previous_territory_id": before,
            "moved": moved_mask(accounts, after, before)[0],
            "reason": reasons.reindex(accounts.index).fillna("").astype(str) if reasons is not None else "",
        }
    )
    return Scenario(
        name=validate_name(name),
        assignment=normalize_assignment(assignment),
        params=dict(params or {}),
        metrics=dict(metrics or {}),
        notes=notes,
        dataset_fingerprint=dataset_fingerprint(accounts),
    )


def params_to_dict(params: Any) -> dict[str, Any]:
    """Engine parameters (a BalanceParams dataclass or a mapping) as a JSON-ready dict."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return json_ready(dict(params))
    if is_dataclass(params):
        return json_ready(asdict(params))
    raise ScenarioError(f"Cannot store parameters of type {type(params).__name__}.")


def aligned_assignment(scenario: Scenario, accounts: pd.DataFrame) -> pd.DataFrame:
    """The scenario's assignment row-aligned with ``accounts`` (same index), ready for export.

    ``previous_territory_id`` is the accounts' own territory today; reasons come from the scenario;
    accounts the scenario does not know keep their territory (see :func:`apply_to_dataset`).
    """
    labels, _ = apply_to_dataset(scenario, accounts)
    saved = scenario.assignment.set_index(schema.ACCOUNT_ID)["reason"]
    reasons = accounts[schema.ACCOUNT_ID].astype(str).map(saved).fillna("")
    rebuilt = build_scenario(scenario.name, accounts, labels, reasons=reasons)
    return rebuilt.assignment.set_axis(accounts.index)
