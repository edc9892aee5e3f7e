"""Routing rules saved with a scenario: the store's version 3, and a version 2 store still loading."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from territory.planning import routing as R
from territory.planning import scenarios
from territory.planning.scenarios import Scenario, ScenarioError, ScenarioStore


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
