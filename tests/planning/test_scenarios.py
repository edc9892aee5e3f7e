"""The scenario store: round trips, migrations, concurrent and interrupted writers, files."""

from __future__ import annotations

import csv
import dataclasses
import doctest
import io
import json
import multiprocessing
import re
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territory.balance import BalanceParams
from territory.errors import DataError
from territory.planning import scenarios
from territory.planning.scenarios import (
    ScenarioError,
    ScenarioExistsError,
    ScenarioStore,
    apply_to_dataset,
    compare_to_dataset,
    scenario_from_bytes,
    scenario_to_bytes,
)
from tests.factories import SCENARIO_HEADER, SCENARIO_META, corrupt_pages, declare_size, make_scenario, scenario_zip

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> ScenarioStore:
    return ScenarioStore(tmp_path / "scenarios.sqlite", user="vp-sales")


def test_round_trip_keeps_every_field(store: ScenarioStore) -> None:
    saved = store.save(make_scenario())
    loaded = store.load("Q3 plan")
    assert loaded.name == saved.name == "Q3 plan"
    assert loaded.notes == "Two reps, east/west"
    assert loaded.params == {"n_territories": 2, "tolerance": 0.05, "balance_on": ["workload", 1.0]}
    assert loaded.metrics == {"max_deviation_pct": 3.5, "cv": None}  # NaN is stored as null
    assert loaded.dataset_fingerprint == "abc123"
    assert loaded.assignment["account_id"].tolist() == [f"A{i}" for i in range(6)]
    assert loaded.assignment["moved"].tolist() == [False, True] * 3
    assert loaded.assignment["reason"].iloc[1].startswith("T1 was 20% over target")
    assert (loaded.accounts, loaded.territories) == (6, 2)
    assert loaded.created_at and loaded.updated_at


def test_list_history_rename_delete_and_activation(store: ScenarioStore) -> None:
    store.save(make_scenario("A"))
    store.save(make_scenario("B"))
    store.rename("A", "A renamed")
    store.record_activation("B")
    store.delete("B")
    assert store.names() == ["A renamed"]
    listing = store.list()
    assert listing.loc[0, "accounts"] == 6 and listing.loc[0, "territories"] == 2
    history = store.history()
    assert history["action"].tolist() == ["delete", "activate", "rename", "save", "save"]
    assert set(history["user"]) == {"vp-sales"}
    assert "renamed from 'A'" in history.loc[2, "detail"]


def test_duplicate_name_asks_to_overwrite_or_rename(store: ScenarioStore) -> None:
    store.save(make_scenario("Plan"))
    with pytest.raises(ScenarioExistsError, match="overwrite it or choose another name"):
        store.save(make_scenario("  Plan "))  # whitespace is folded, so this is the same name
    changed = make_scenario("Plan", n=4)
    store.save(changed, overwrite=True)
    assert store.load("Plan").accounts == 4
    assert store.history()["action"].iloc[0] == "overwrite"
    store.save(make_scenario("Other"))
    with pytest.raises(ScenarioExistsError):
        store.rename("Other", "Plan")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 81, "bell\x07here"])
def test_bad_names_are_refused_with_a_reason(store: ScenarioStore, bad: str) -> None:
    with pytest.raises(ScenarioError):
        store.save(make_scenario(bad))


def test_unknown_scenario_is_a_clear_error(store: ScenarioStore) -> None:
    with pytest.raises(ScenarioError, match="no scenario named 'nope'"):
        store.load("nope")


def test_migrates_a_version_1_database_and_keeps_its_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    scenarios._create_v1(db)
    db.execute(
        "INSERT INTO scenarios (name, notes, created_at, updated_at, params_json, dataset_fingerprint, "
        "metrics_json, accounts, territories) VALUES ('Old', '', '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00', '{}', 'f', '{}', 1, 1)"
    )
    db.execute("INSERT INTO assignments VALUES (1, 'A1', 'T1', NULL, 0, '')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()

    store = ScenarioStore(path)
    assert store.schema_version == scenarios.SCHEMA_VERSION
    assert store.load("Old").assignment["territory_id"].tolist() == ["T1"]
    history = store.history()
    assert history["action"].tolist() == ["save"] and "migration" in history.loc[0, "detail"]


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {scenarios.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ScenarioError, match="upgrade Territory Studio"):
        ScenarioStore(path)


def _save_many(path: str, prefix: str, count: int) -> None:
    store = ScenarioStore(path)
    for i in range(count):
        store.save(make_scenario(f"{prefix}-{i}", n=300))


def test_two_writers_at_once_both_succeed(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ScenarioStore(path)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_save_many, args=(path, prefix, 8)) for prefix in ("left", "right")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    store = ScenarioStore(path)
    assert len(store.names()) == 16
    assert all(store.load(name).accounts == 300 for name in store.names())


def test_a_writer_killed_mid_save_leaves_earlier_scenarios_intact(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    store = ScenarioStore(path)
    store.save(make_scenario("Keep me"))
    # The child starts a save and dies (no cleanup, no rollback) after half the assignment rows.
    script = textwrap.dedent(
        f"""
        import os, sqlite3, sys
        sys.path.insert(0, {str(REPO)!r})
        sys.modules.pop("territory.planning.scenarios", None)
        from tests.factories import make_scenario
        from territory.planning import scenarios

        real_connect = sqlite3.connect
        class Dying(sqlite3.Connection):
            def executemany(self, sql, rows):
                rows = list(rows)
                super().executemany(sql, rows[: len(rows) // 2])
                os._exit(9)
        scenarios.sqlite3.connect = lambda *a, **k: real_connect(*a, factory=Dying, **k)
        scenarios.ScenarioStore({str(path)!r}).save(make_scenario("Half", n=1000))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=120)
    assert result.returncode == 9
    reopened = ScenarioStore(path)
    assert reopened.names() == ["Keep me"]
    assert reopened.load("Keep me").accounts == 6
    reopened.save(make_scenario("Half", n=10))  # the name is free: the half-save left nothing
    assert reopened.load("Half").accounts == 10


def test_loading_against_a_changed_dataset_names_missing_and_new_accounts() -> None:
    scenario = make_scenario(n=4)  # A0..A3
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A9"], "territory_id": ["T1", "T1", "T1", "T7"]})
    diff = compare_to_dataset(scenario, accounts)
    assert diff.missing_accounts == ("A0",) and diff.new_accounts == ("A9",)
    assert "1 account(s) of the scenario are not in this dataset (A0)" in diff.describe()
    labels, _ = apply_to_dataset(scenario, accounts)
    assert labels.tolist() == ["T2", "T1", "T2", "T7"]  # A9 keeps its current territory


def test_scenario_file_round_trip_and_rejects_other_files() -> None:
    original = make_scenario()
    data = scenario_to_bytes(original)
    again = scenario_from_bytes(data)
    assert again.name == original.name and again.notes == original.notes
    pd.testing.assert_frame_equal(again.assignment, scenarios.normalize_assignment(original.assignment))
    assert again.metrics["cv"] is None
    with pytest.raises(ScenarioError, match="not a Territory Studio scenario file"):
        scenario_from_bytes(b"PK not really a zip")


def test_scenario_file_is_formula_safe_and_round_trips_exactly() -> None:
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "'s-Hertogenbosch", "+1", "-A7", "@SUM(A1)", "'=quoted", "Acme"]
    assignment = pd.DataFrame({
        "account_id": [f"-{i}" if i % 2 else f"A{i}" for i in range(len(hostile))],
        "territory_id": ["T1"] * len(hostile),
        "previous_territory_id": ["T2"] * len(hostile),
        "moved": [True] * len(hostile),
        "reason": hostile,
    })
    original = dataclasses.replace(make_scenario(), assignment=assignment)
    data = scenario_to_bytes(original)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = archive.read("assignment.csv").decode("utf-8").splitlines()[1:]
    cells = [cell for row in csv.reader(rows) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]  # nothing a spreadsheet would run
    again = scenario_from_bytes(data)
    pd.testing.assert_frame_equal(again.assignment, scenarios.normalize_assignment(original.assignment))


MODULE_PATH = re.compile(rb"territory\.[a-z_]+\.|BalanceParams|Dataset\(|\x80[\x02-\x05]")
"""A dotted module path, a class name or a pickle header: what a store must not depend on to load."""


def test_the_store_and_scenario_files_name_no_module_or_class(store: ScenarioStore) -> None:
    """Saved scenarios outlive the package layout: plain JSON and CSV, so moving a module cannot
    strand a store or a file written before the move (the store here holds engine parameters)."""
    scenario = dataclasses.replace(make_scenario(), params=scenarios.params_to_dict(BalanceParams(tolerance=0.04)))
    store.save(scenario)
    stored = store.path.read_bytes()  # the whole database file: every table, text or blob
    assert b'"tolerance": 0.04' in stored and not MODULE_PATH.search(stored)
    with zipfile.ZipFile(io.BytesIO(scenario_to_bytes(store.load("Q3 plan")))) as archive:
        for member in archive.namelist():
            assert not MODULE_PATH.search(archive.read(member)), member


def test_db_path_follows_the_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(scenarios.DB_ENV_VAR, str(tmp_path / "x" / "db.sqlite"))
    assert scenarios.default_db_path() == tmp_path / "x" / "db.sqlite"
    monkeypatch.delenv(scenarios.DB_ENV_VAR)
    assert scenarios.default_db_path().name == "scenarios.sqlite"


def test_docstring_examples() -> None:
    assert doctest.testmod(scenarios).failed == 0


def test_comparison_scores_each_scenario_on_the_same_data_and_names_the_best() -> None:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "latitude": [40.0, 40.1, 34.0, 34.1],
            "longitude": [-74.0, -74.1, -118.0, -118.1],
            "workload_hours": [10.0, 10.0, 10.0, 30.0],
            "revenue": [1.0, 1.0, 1.0, 1.0],
            "territory_id": ["T1", "T1", "T1", "T2"],
        }
    )
    balanced = pd.Series(["T1", "T1", "T1", "T2"])  # loads 30 / 30
    lopsided = pd.Series(["T1", "T1", "T2", "T2"])  # loads 20 / 40
    table = scenarios.compare_scenarios(accounts, {"balanced": balanced, "lopsided": lopsided})
    row = table.loc["Max deviation from target (%)"]
    assert row["balanced"] == pytest.approx(0.0) and row["lopsided"] == pytest.approx(100 / 3)
    assert row["Best"] == "balanced"
    assert table.loc["Accounts moved vs current", "lopsided"] == 1
    assert table.loc["Accounts moved vs current", "Best"] == "balanced"

    diff = scenarios.differing_accounts(accounts, {"balanced": balanced, "lopsided": lopsided})
    assert diff["account_id"].tolist() == ["A3"]
    assert diff[["balanced", "lopsided"]].iloc[0].tolist() == ["T1", "T2"]


def test_build_scenario_marks_moves_against_the_file_alignment() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Params:
        tolerance: float = 0.05
        balance_on: tuple = (("workload", 0.7), ("potential", 0.3))

    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "territory_id": ["T1", "T1", None]})
    labels = pd.Series(["T1", "T2", "T2"])
    scenario = scenarios.build_scenario(
        "  Plan  B ", accounts, labels, reasons=pd.Series(["", "closer", "new"]),
        params=scenarios.params_to_dict(Params()),
    )
    assert scenario.name == "Plan B"
    assert scenario.assignment["moved"].tolist() == [False, True, False]  # A3 was unassigned: new, not moved
    assert scenario.params == {"tolerance": 0.05, "balance_on": [["workload", 0.7], ["potential", 0.3]]}
    assert scenario.dataset_fingerprint == scenarios.dataset_fingerprint(accounts)


def test_comparison_names_every_tied_winner_and_no_one_when_all_tie() -> None:
    accounts = pd.DataFrame(
        {"account_id": ["A1", "A2"], "workload_hours": [10.0, 30.0], "territory_id": ["T1", "T2"]}
    )
    same = pd.Series(["T1", "T2"])
    table = scenarios.compare_scenarios(accounts, {"one": same, "two": same.copy(), "swap": pd.Series(["T2", "T1"])})
    assert table.loc["Accounts moved vs current", "Best"] == "one, two"
    assert table.loc["Max deviation from target (%)", "Best"] == ""  # all three are 50% off
    # no revenue in the data: no row of "None" for the revenue moved
    assert "Revenue moved vs current (%)" not in table.index and not table.drop(columns="Best").isna().all(axis=1).any()


# --- hostile and damaged scenario files (#18) ------------------------------------------------------

def test_a_hand_made_file_reads() -> None:
    scenario = scenario_from_bytes(scenario_zip())
    assert scenario.name == "Hand made" and scenario.labels().to_dict() == {"A1": "T1", "A2": "T2"}
    assert scenario.assignment["moved"].tolist() == [False, True]


@pytest.mark.parametrize(
    ("rows", "row", "line", "fields"),
    [
        ("A1,T1,T1,False,,extra\nA2,T2,T1,True,closer\n", 1, 2, 6),  # pandas took column 1 as an index
        ("A1,T1,T1,False,\nA2,T2,T1,True,closer,extra\n", 2, 3, 6),
        ("A1,T1,T1,False,\n\nA2,T2\n", 2, 4, 2),  # blank lines are skipped, but lines still count
    ],
)
def test_a_ragged_assignment_row_is_refused_with_its_row_number(rows: str, row: int, line: int, fields: int) -> None:
    with pytest.raises(DataError, match=rf"^Row {row} of assignment.csv \(line {line}\) has {fields} fields, "
                                        r"but the header has 5"):
        scenario_from_bytes(scenario_zip(csv_text=SCENARIO_HEADER + rows))


def test_a_member_declaring_more_than_the_limit_is_refused_before_it_is_unpacked() -> None:
    bomb = declare_size(scenario_zip(), "assignment.csv", scenarios.MAX_ASSIGNMENT_BYTES + 1)
    with pytest.raises(scenarios.ScenarioFileError, match="unpacks to more than 320,000,000 bytes"):
        scenario_from_bytes(bomb)
    meta_bomb = declare_size(scenario_zip(), "scenario.json", scenarios.MAX_META_BYTES + 1)
    with pytest.raises(DataError, match="scenario.json in this scenario file unpacks to more than 1,048,576 bytes"):
        scenario_from_bytes(meta_bomb)


def test_a_member_that_unpacks_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = "".join(f"A{i},T1,T1,False,\n" for i in range(200))
    data = scenario_zip(csv_text=SCENARIO_HEADER + rows)
    scenario_from_bytes(data)  # fine at the real limits
    monkeypatch.setattr(scenarios, "MAX_ASSIGNMENT_BYTES", len(SCENARIO_HEADER + rows) - 1)
    with pytest.raises(scenarios.ScenarioFileError, match="unpacks to more than"):
        scenario_from_bytes(data)
    lying = declare_size(data, "assignment.csv", 100)  # the header understates what the member holds
    with pytest.raises(scenarios.ScenarioFileError):
        scenario_from_bytes(lying)


def test_the_stream_reader_stops_at_its_limit_whatever_the_header_says() -> None:
    reader = scenarios._BoundedReader(io.BytesIO(b"x" * 11), 10, "assignment.csv")
    with pytest.raises(scenarios.ScenarioFileError, match="more than 10 bytes"):
        io.BufferedReader(reader).read()


def test_newlines_are_not_an_empty_scenario() -> None:
    with pytest.raises(DataError, match="lists no accounts"):
        scenario_from_bytes(scenario_zip(csv_text="\n" * 1000))
    # more lines than the row limit, 2 MB unpacked, 2 KB in the zip: was imported as an empty scenario
    flood = scenario_zip(csv_text=SCENARIO_HEADER + "\n" * (scenarios.MAX_SCENARIO_ACCOUNTS + 10))
    with pytest.raises(DataError, match="lists no accounts"):
        scenario_from_bytes(flood)


@pytest.mark.parametrize("ragged", [False, True], ids=["arrow", "csv module"])
def test_more_rows_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch, ragged: bool) -> None:
    monkeypatch.setattr(scenarios, "MAX_SCENARIO_ACCOUNTS", 100)
    rows = "".join(f"A{i},T1,T1,False,\n" for i in range(101)) + ("A,T,T,False,,extra\n" if ragged else "")
    with pytest.raises(DataError, match="more than 100 rows"):
        scenario_from_bytes(scenario_zip(csv_text=SCENARIO_HEADER + rows))
    blank = SCENARIO_HEADER + "\n" * 100 + "A,T,T,False,,extra\n"  # blank lines count where each costs a loop
    with pytest.raises(DataError, match="more than 100 rows"):
        scenario_from_bytes(scenario_zip(csv_text=blank))


def test_a_file_larger_than_a_scenario_file_can_be_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(scenarios, "MAX_SCENARIO_FILE_BYTES", 1000)
    with pytest.raises(DataError, match="larger than 1,000 bytes"):
        scenario_from_bytes(b"PK" + b"\0" * 1000)
    with pytest.raises(DataError, match="larger than 1,000 bytes"):
        scenarios.read_scenario_file("/dev/zero")  # reads 1,001 bytes, not forever
    with pytest.raises(DataError, match="Cannot read"):
        scenarios.read_scenario_file(tmp_path)


def _patch_member(data: bytes, offset: int, value: bytes) -> bytes:
    """``value`` written at ``offset`` of assignment.csv's central-directory entry."""
    out = bytearray(data)
    start = out.find(b"PK\x01\x02", out.find(b"PK\x01\x02") + 4)  # the second entry is assignment.csv
    out[start + offset : start + offset + len(value)] = value
    return bytes(out)


def _claim_directory_later(data: bytes) -> bytes:
    """The end record says the central directory starts 1,000 bytes later than it does, which moves
    every member's offset before the start of the file."""
    end = data.rfind(b"PK\x05\x06")
    claimed = int.from_bytes(data[end + 16 : end + 20], "little") + 1000
    return data[: end + 16] + claimed.to_bytes(4, "little") + data[end + 20 :]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda data: data[: len(data) // 2], "not a Territory Studio scenario file"),
        (lambda data: _patch_member(data, 8, b"\x01\x00"), "encrypted"),
        (lambda data: _patch_member(data, 10, b"\x63\x00"), "not a Territory Studio scenario file"),
        (lambda data: data.replace(b"scenario.json", b"scenario.jsox"), "This zip has no scenario.json"),
        (_claim_directory_later, "negative seek value"),
    ],
    ids=["truncated", "encrypted", "unknown compression", "no scenario.json", "offsets before the file"],
)
def test_a_damaged_zip_is_one_clear_error(damage, expected: str) -> None:
    with pytest.raises(scenarios.ScenarioFileError, match=expected):
        scenario_from_bytes(damage(scenario_zip()))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format_version": "abc"}, 'format_version must be a whole number from 1 to 3, got "abc"'),
        ({"format_version": None}, "format_version must be a whole number from 1 to 3, got null"),
        ({"format_version": [2]}, r"format_version must be a whole number from 1 to 3, got \[2\]"),
        ({"format_version": 1.5}, "format_version must be a whole number from 1 to 3, got 1.5"),
        ({"format_version": True}, "format_version must be a whole number from 1 to 3, got true"),
        ({"format_version": 0}, "format_version must be a whole number from 1 to 3, got 0"),
        ({"format_version": 4}, "format version 4, newer than this Territory Studio"),
        ({"params": [1, 2]}, "params must be an object of names and values, got a list"),
        ({"params": "tolerance=0.05"}, "params must be an object of names and values, got text"),
        ({"metrics": 3}, "metrics must be an object of names and values, got a number"),
        ({"params": {"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}, "params nests more than 16 levels deep"),
        ({"name": ["Plan"]}, "name must be text, got a list"),
        ({"notes": {"a": 1}}, "notes must be text, got an object"),
    ],
)
def test_scenario_json_off_the_format_is_one_clear_error(change: dict, expected: str) -> None:
    with pytest.raises(scenarios.ScenarioFileError, match=expected):
        scenario_from_bytes(scenario_zip({**SCENARIO_META, **change}))


def test_a_deeply_nested_scenario_json_is_refused_not_a_recursion_error() -> None:
    deep = json.dumps(SCENARIO_META)[:-1] + ', "params": {"a": ' + "[" * 600 + "]" * 600 + "}}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scenario.json", deep)
        archive.writestr("assignment.csv", SCENARIO_HEADER + "A1,T1,T1,False,\n")
    with pytest.raises(scenarios.ScenarioFileError, match="nests more than 16 levels"):
        scenario_from_bytes(buffer.getvalue())


def test_null_text_and_objects_read_as_empty() -> None:
    scenario = scenario_from_bytes(scenario_zip({**SCENARIO_META, "notes": None, "params": None, "metrics": None}))
    assert (scenario.notes, scenario.params, scenario.metrics) == ("", {}, {})


# --- a damaged or unusable database (#18 item 6) ----------------------------------------------------


def test_a_page_corrupted_database_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite"
    ScenarioStore(path).save(make_scenario(n=3000))
    corrupt_pages(path)
    with pytest.raises(ScenarioError, match=r"could not be used \(database disk image is malformed\)"):
        ScenarioStore(path).load("Q3 plan")  # pandas' DatabaseError from read_sql_query was a traceback


def test_a_database_whose_folder_cannot_be_made_is_a_scenario_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ScenarioError, match=r"Cannot create the folder of the scenario database .*: File exists"):
        ScenarioStore(tmp_path / "file" / "scenarios.sqlite")
    with pytest.raises(ScenarioError, match="Not a directory"):
        ScenarioStore(tmp_path / "file" / "deeper" / "scenarios.sqlite")

    def read_only(self: Path, *args: object, **kwargs: object) -> None:  # noqa: ARG001  same signature as the patched Path.mkdir
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)  # a read-only parent, even when the tests run as root
    with pytest.raises(ScenarioError, match="Permission denied. Point TERRITORY_STUDIO_DB at a file"):
        ScenarioStore(tmp_path / "new" / "scenarios.sqlite")


def test_a_name_that_is_not_valid_text_is_a_scenario_error(store: ScenarioStore) -> None:
    store.save(make_scenario())
    undecodable = "Q3\udcff"  # how Python passes a command-line byte that is not UTF-8
    for call in (store.load, store.exists, store.delete, store.record_activation,
                 lambda name: store.rename("Q3 plan", name), lambda name: store.save(make_scenario(name))):
        with pytest.raises(ScenarioError, match="is not valid text"):
            call(undecodable)


# --- names that pass for others (#18 item 8) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "position"),
    [
        ("Q3 plan\u202e1v", "U+202E RIGHT-TO-LEFT OVERRIDE", 8),
        ("Q3\u200b plan", "U+200B ZERO WIDTH SPACE", 3),
        ("\u2067Q3 plan\u2069", "U+2067 RIGHT-TO-LEFT ISOLATE", 1),
        ("Q3 p\u00adlan", "U+00AD SOFT HYPHEN", 5),
        ("\ufeffQ3 plan", "U+FEFF ZERO WIDTH NO-BREAK SPACE", 1),
        ("Q3 plan\x9b", "U+009B control character", 8),
        ("Q3 \u3164 plan", "U+3164 HANGUL FILLER", 4),
    ],
)
def test_names_with_invisible_or_direction_characters_are_refused(
    store: ScenarioStore, name: str, code: str, position: int
) -> None:
    store.save(make_scenario("Q3 plan"))
    expected = "direction-changing characters .*: this one has " + re.escape(f"{code} at position {position}")
    with pytest.raises(ScenarioError, match=expected):
        store.save(make_scenario(name))
    with pytest.raises(ScenarioError, match=expected):
        store.rename("Q3 plan", name)
    with pytest.raises(ScenarioError, match=expected):
        scenario_from_bytes(scenario_zip({**SCENARIO_META, "name": name}))
    assert store.names() == ["Q3 plan"]


def test_accented_and_other_scripts_are_still_names(store: ScenarioStore) -> None:
    for name in ("Équipe Île-de-France", "東京 2026", "Plan \u05d0 (Hebrew)", "Q3 \U0001f680"):
        assert store.save(make_scenario(name)).name == name


def test_a_scenario_saved_under_older_rules_can_be_renamed_and_deleted(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    store = ScenarioStore(path)
    store.save(make_scenario("placeholder"))
    with sqlite3.connect(path) as db:  # as an older version would have saved it
        db.execute("UPDATE scenarios SET name = ? WHERE name = 'placeholder'", ("Q3\u202e plan",))
    store.rename("Q3\u202e plan", "Q3 plan")
    store.save(make_scenario("spoof"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE scenarios SET name = ? WHERE name = 'spoof'", ("Q3\u200b plan",))
    store.delete("Q3\u200b plan")
    assert store.names() == ["Q3 plan"]


def test_a_file_with_a_spoofed_name_imports_under_another_name() -> None:
    data = scenario_zip({**SCENARIO_META, "name": "Q3\u202e plan"})
    assert scenario_from_bytes(data, name="Q3 plan (imported)").name == "Q3 plan (imported)"
    with pytest.raises(ScenarioError, match="needs a name"):
        scenario_from_bytes(data, name="")


# --- property tests: no damaged or malformed scenario file raises anything but ScenarioError --------

VALID_FILE = scenario_to_bytes(make_scenario(n=40))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def test_a_member_name_flagged_utf8_that_is_not_raises_scenario_error() -> None:
    """Found by the property test below: zipfile decodes such a name itself (UnicodeDecodeError)."""
    data = bytearray(VALID_FILE)
    entry = data.find(b"PK\x01\x02")  # the first central directory entry
    data[entry + 9] |= 0x08  # general purpose flag bit 11: the name is UTF-8
    data[entry + 46] = 0x80  # its first byte cannot start a UTF-8 character
    with pytest.raises(ScenarioError):
        scenario_from_bytes(bytes(data))


@settings(max_examples=150, deadline=None)
@given(damage=st.lists(st.tuples(st.integers(0, len(VALID_FILE) - 1), st.integers(0, 255)), min_size=1, max_size=12),
       cut=st.none() | st.integers(0, len(VALID_FILE)))
def test_a_damaged_file_raises_only_scenario_error(damage: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(VALID_FILE)
    for at, value in damage:
        data[at] = value
    try:
        scenario_from_bytes(bytes(data[:cut]))
    except ScenarioError:
        pass


@settings(max_examples=150, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(["format_version", "name", "notes", "params", "metrics",
                                               "created_at", "dataset_fingerprint", "accounts"]),
                              JSON_VALUES, max_size=4),
       body=st.lists(st.sampled_from(["A1", "T1", ",", '"', "\n", "\r", "'", "=", "True", "é", "\ufeff", " "]),
                     max_size=60).map("".join))
def test_a_malformed_file_raises_only_scenario_error(fields: dict, body: str) -> None:
    try:
        scenario = scenario_from_bytes(scenario_zip({**SCENARIO_META, **fields}, SCENARIO_HEADER + body))
    except ScenarioError:
        return
    assert len(scenario.assignment) >= 1 and list(scenario.assignment.columns) == list(scenarios.ASSIGNMENT_COLUMNS)


def test_a_mismatch_counts_with_thousands_separators():
    """Walking the app: a sample scenario opened on a Salesforce file read "5000 account(s) ... and 4995 more"."""
    from territory.planning.scenarios import DatasetDiff

    diff = DatasetDiff(missing_accounts=tuple(f"A{i}" for i in range(5000)), new_accounts=())
    assert diff.describe().startswith("5,000 account(s) of the scenario") and "and 4,995 more" in diff.describe()
