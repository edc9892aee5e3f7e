"""Routing rules saved with a scenario: the store's version 3, and a version 2 store still loading."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from territory.planning import routing as R
from territory.planning import scenarios
from territory.planning.scenarios import Scenario, ScenarioError, ScenarioFileError, ScenarioStore


def _scenario(name: str = "Q3 plan") -> Scenario:
    assignment = pd.DataFrame({"account_id": ["A1", "A2"], "territory_id": ["T1", "T2"]})
    return Scenario(name=name, assignment=assignment)


RULES = pd.DataFrame({"priority": [10, 20], "kind": ["zip_prefix", "nearest"], "value": ["021", ""],
                      "territory_id": ["T1", ""]})


def test_rules_are_saved_with_the_scenario_and_read_back_as_they_were(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite")
    store.save(_scenario())
    assert store.load_rules("Q3 plan") is None
    store.save_rules("Q3 plan", RULES)
    back = store.load_rules("Q3 plan")
    assert R.parse_rules(back) == R.parse_rules(RULES)
    assert back["value"].tolist() == ["021", ""]  # the leading zero kept
    assert store.history()["action"].iloc[0] == "rules"


def test_rules_go_with_a_deleted_scenario_and_an_unknown_name_is_refused(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite")
    store.save(_scenario())
    store.save_rules("Q3 plan", RULES)
    store.delete("Q3 plan")
    store.save(_scenario())
    assert store.load_rules("Q3 plan") is None
    with pytest.raises(ScenarioError, match="no scenario named 'nope'"):
        store.save_rules("nope", RULES)


def test_a_version_2_store_migrates_and_keeps_its_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    db = sqlite3.connect(path)
    scenarios._create_v1(db)
    scenarios._add_history_v2(db)
    db.execute(
        "INSERT INTO scenarios (name, notes, created_at, updated_at, params_json, dataset_fingerprint, "
        "metrics_json, accounts, territories) VALUES ('Old', '', '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00', '{\"tolerance\": 0.1}', 'f', '{}', 1, 1)"
    )
    db.execute("INSERT INTO assignments VALUES (1, 'A1', 'T1', NULL, 0, '')")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()

    store = ScenarioStore(path)
    assert store.schema_version == 3
    assert store.load("Old").params == {"tolerance": 0.1}
    assert store.load_rules("Old") is None
    store.save_rules("Old", RULES)
    assert len(store.load_rules("Old")) == 2


# --- rules travel with the scenario: overwrites and scenario files (#14, item 1) ---------------------

OTHER_RULES = pd.DataFrame({"priority": [5], "kind": ["state"], "value": ["NY"], "territory_id": ["T2"]})


def test_load_carries_the_saved_rules(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite")
    assert store.save(_scenario()).rules is None
    store.save_rules("Q3 plan", RULES)
    assert store.load("Q3 plan").rules["kind"].tolist() == ["zip_prefix", "nearest"]


def test_overwriting_without_rules_keeps_the_saved_ones_and_with_rules_replaces_them(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite")
    store.save(_scenario())
    store.save_rules("Q3 plan", RULES)
    kept = store.save(_scenario(), overwrite=True)  # a rebalanced alignment saved under the same name
    assert kept.rules["value"].tolist() == ["021", ""]
    assert store.history()["detail"].iloc[0] == "2 accounts; kept its 2 routing rules"
    replaced = store.save(Scenario(name="Q3 plan", assignment=_scenario().assignment, rules=OTHER_RULES),
                          overwrite=True)
    assert replaced.rules["value"].tolist() == ["NY"]
    emptied = store.save(Scenario(name="Q3 plan", assignment=_scenario().assignment, rules=RULES.iloc[0:0]),
                         overwrite=True)
    assert emptied.rules is None  # an empty table says "no rules", deliberately


def test_a_scenario_file_carries_its_rules_and_reads_them_back_exactly() -> None:
    rules = pd.DataFrame({"priority": [10, 20, 30], "kind": ["account", "zip_prefix", "nearest"],
                          "value": ["=001A0000", "021", ""], "territory_id": ["T2", "T1", ""]})
    data = scenarios.scenario_to_bytes(Scenario(name="Q3 plan", assignment=_scenario().assignment, rules=rules))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("scenario.json"))["format_version"] == 3
        assert "'=001A0000" in archive.read("rules.csv").decode()  # formula-safe for a spreadsheet
    back = scenarios.scenario_from_bytes(data)
    assert back.rules.astype(str).values.tolist() == rules.astype(str).values.tolist()
    assert R.parse_rules(back.rules) == R.parse_rules(rules)


def test_a_scenario_without_rules_writes_no_rules_file_and_older_files_still_read() -> None:
    data = scenarios.scenario_to_bytes(_scenario())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "rules.csv" not in archive.namelist()
    assert scenarios.scenario_from_bytes(data).rules is None
    old = _zip({"format_version": 2}, rules="priority,kind,value,territory_id\n1,state,NY,T2\n")
    assert scenarios.scenario_from_bytes(old).rules is None  # version 2 had no rules: a stray member is ignored


def test_a_bad_rules_file_in_a_scenario_file_is_one_error_naming_the_row() -> None:
    bad = _zip({"format_version": 3}, rules="priority,kind,value,territory_id\n1,state,NY,T2\n2,state,NY,T1\n")
    with pytest.raises(ScenarioFileError, match=r"^rules.csv in the scenario file: .*row 2 \(value\)"):
        scenarios.scenario_from_bytes(bad)


def test_the_rules_file_is_read_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "priority,kind,value,territory_id\n" + "".join(f"{i},zip,{i:05d},T1\n" for i in range(1, 200))
    data = _zip({"format_version": 3}, rules=text)
    assert len(scenarios.scenario_from_bytes(data).rules) == 199
    monkeypatch.setattr(scenarios, "MAX_RULES_BYTES", len(text) - 1)
    with pytest.raises(ScenarioFileError, match="rules.csv in this scenario file unpacks to more than"):
        scenarios.scenario_from_bytes(data)


def _zip(meta: dict, rules: str) -> bytes:
    """A hand-made scenario file with ``rules`` as rules.csv."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scenario.json", json.dumps({"format": scenarios.FILE_FORMAT, "name": "Hand made", **meta}))
        archive.writestr("assignment.csv", "account_id,territory_id\nA1,T1\nA2,T2\n")
        archive.writestr("rules.csv", rules)
    return buffer.getvalue()
