"""The session store (territory.planning.workspace): what goes in comes back, within its bounds, and a
damaged file is named, not a traceback."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pandas as pd
import pytest

from territory.planning.workspace import (
    Step,
    Workspace,
    WorkspaceError,
    WorkspaceStore,
    default_path,
    earlier_alignments,
)


def step(what: str, labels: list[str | None], moves: dict[str, str] | None = None, event=None) -> Step:
    return Step(what=what, labels=pd.Series(labels, dtype="string"), alignment_name=what, created="09:14",
                manual_moves=moves or {}, event=event)


def workspace(steps: list[Step], fingerprint: str = "fp1", position: int | None = None) -> Workspace:
    return Workspace(dataset_fingerprint=fingerprint, dataset_source="upload",
                     settings={"tolerance": 0.07, "extra": {"review": {"__class__": "ReviewSettings"}}},
                     steps=tuple(steps), position=len(steps) - 1 if position is None else position)


@pytest.fixture
def store(tmp_path) -> WorkspaceStore:
    return WorkspaceStore(tmp_path / "sessions.sqlite", max_sessions=3, max_steps=4)


def test_a_workspace_comes_back_as_saved(store):
    saved = workspace([step("Use file.csv", ["T1", "T2", None]),
                       step("Move 1 account to T1", ["T1", "T2", None], {"a2": "T1"}, ("rep_leaves", "T2"))],
                      position=0)
    store.save("key-one-1234", saved)
    back = store.load("key-one-1234")
    assert (back.dataset_fingerprint, back.dataset_source, back.position) == ("fp1", "upload", 0)
    assert back.settings == saved.settings
    assert [s.what for s in back.steps] == ["Use file.csv", "Move 1 account to T1"]
    assert back.steps[0].labels.tolist() == ["T1", "T2", pd.NA]
    assert back.steps[1].manual_moves == {"a2": "T1"} and back.steps[1].event == ("rep_leaves", "T2")
    assert back.current.what == "Use file.csv"
    assert store.load("never-saved-123") is None


def test_a_dataset_is_stored_once_with_its_types(store):
    accounts = pd.DataFrame({"account_id": pd.array(["001", "002"], dtype="string"), "revenue": [1.5, 2.0],
                             "postal_code": pd.array(["02139", None], dtype="string")})
    store.save_dataset("fp1", {"name": "Accounts.csv", "source": "upload"}, {"accounts": accounts, "quotas": None})
    store.save("key-one-1234", workspace([step("Use", ["T1", "T2"])]))
    meta, frames = store.load_dataset("fp1")
    assert meta["name"] == "Accounts.csv" and set(frames) == {"accounts"}  # no quota file, nothing stored
    pd.testing.assert_frame_equal(frames["accounts"], accounts)  # leading zeros and missing values kept
    assert store.load_dataset("other") is None


def test_steps_sessions_and_datasets_are_bounded(store):
    many = [step(f"step {i}", [f"T{i}"]) for i in range(7)]
    store.save("key-one-1234", workspace(many))
    back = store.load("key-one-1234")
    assert [s.what for s in back.steps] == ["step 3", "step 4", "step 5", "step 6"]  # the latest 4
    assert back.position == 3 and back.current.labels.tolist() == ["T6"]
    for i in range(4):
        store.save_dataset(f"fp{i}", {"name": str(i), "source": "upload"}, {"accounts": pd.DataFrame({"a": [i]})})
        store.save(f"session-{i}-abcd", workspace([step("Use", ["T1"])], fingerprint=f"fp{i}"))
    # 5 sessions saved, 3 kept: the two least recently saved went, and the dataset only they named
    assert store.load("key-one-1234") is None and store.load("session-0-abcd") is None
    assert store.load_dataset("fp0") is None and store.load_dataset("fp1") is not None
    store.save("session-9-abcd", workspace([step("Use", ["T1"])], fingerprint="fp3"))
    assert store.load("session-1-abcd") is None and store.load_dataset("fp1") is None
    assert store.load_dataset("fp3") is not None  # two sessions name it


def test_a_damaged_store_is_named_and_can_be_set_aside(tmp_path):
    path = tmp_path / "sessions.sqlite"
    path.write_bytes(b"this is not a database, it is a damaged file" * 100)
    store = WorkspaceStore(path)
    with pytest.raises(WorkspaceError, match="The session store .* cannot be read"):
        store.load("key-one-1234")
    store.reset()
    assert (tmp_path / "sessions.sqlite.damaged").exists()
    assert store.load("key-one-1234") is None  # a fresh file


def test_the_store_sits_beside_the_scenario_store(monkeypatch, tmp_path):
    monkeypatch.setenv("TERRITORY_STUDIO_DB", str(tmp_path / "team" / "scenarios.sqlite"))
    assert default_path() == tmp_path / "team" / "sessions.sqlite"


def test_a_fork_is_a_copy_that_leaves_the_original_as_it_was(store):
    original = workspace([step("Use file.csv", ["T1", "T2"]), step("Make active", ["T2", "T2"])])
    store.save("shared-link-1234", original)
    assert store.fork("shared-link-1234", "browser-a-1234") and store.fork("shared-link-1234", "browser-b-1234")
    store.save("browser-a-1234", workspace([step("Use file.csv", ["T1", "T2"])]))  # A works on its copy
    b = store.load("browser-b-1234")
    assert [s.what for s in b.steps] == ["Use file.csv", "Make active"] and b.current.labels.tolist() == ["T2", "T2"]
    kept = store.load("shared-link-1234")
    assert [s.what for s in kept.steps] == ["Use file.csv", "Make active"]  # nothing of the original is lost
    assert [s.what for s in store.load("browser-a-1234").steps] == ["Use file.csv"]
    assert not store.fork("never-saved-123", "browser-c-1234") and store.load("browser-c-1234") is None


def test_forks_are_bounded_and_opening_a_link_keeps_it(store):
    store.save("shared-link-1234", workspace([step("Use", ["T1"])]))
    store.save("other-link-1234", workspace([step("Use", ["T2"])]))
    store.save("third-link-1234", workspace([step("Use", ["T3"])]))
    store.fork("shared-link-1234", "refresh-1-1234")  # opening renews the link: the other one is oldest now
    assert store.load("other-link-1234") is None
    for i in range(2, 6):  # each refresh forks the newest copy; the store keeps 3
        store.fork(f"refresh-{i - 1}-1234", f"refresh-{i}-1234")
    assert store.load("refresh-5-1234").current.labels.tolist() == ["T1"]
    assert store.load("refresh-1-1234") is None and store.load("shared-link-1234") is None
    con = sqlite3.connect(store.path)
    assert {k for (k,) in con.execute("SELECT DISTINCT session FROM labels")} == \
        {k for (k,) in con.execute("SELECT key FROM sessions")}  # no labels left of a pruned session
    con.close()


def test_earlier_alignments_are_the_ones_made_active_before_the_current_step_newest_first():
    steps = [step("Current alignment", ["T1", "T2", "T2"]),
             step("Rebalanced 10:02", ["T1", "T1", "T2"]),
             Step("Move 1 account to T2", pd.Series(["T1", "T1", "T2"], dtype="string"), "Rebalanced 10:02",
                  "10:02", {"a1": "T2"}),  # a hand move keeps the alignment: nothing new to offer
             step("Rebalanced 10:09", ["T2", "T2", "T2"]),
             step("Scenario: Plan B", ["T1", "T2", "T2"])]  # the file's labels under another name
    assert list(earlier_alignments(steps, 4)) == ["Rebalanced 10:09", "Rebalanced 10:02"]  # not the same labels
    assert earlier_alignments(steps, 4)["Rebalanced 10:02"].tolist() == ["T1", "T1", "T2"]
    # after undoing back to the second step, the undone ones are not offered: only what came before
    assert list(earlier_alignments(steps, 1)) == ["Current alignment"]
    assert earlier_alignments(steps, 0) == {} and earlier_alignments([], -1) == {}


def test_a_session_saved_with_kept_alignments_still_loads(store):
    """Sessions saved before the kept alignments went (their place is the scenario store) still open."""
    store.save("key-one-1234", workspace([step("Use", ["T2", "T2", None])]))
    con = sqlite3.connect(store.path)
    body = json.loads(con.execute("SELECT body FROM sessions").fetchone()[0])
    body["kept"] = [{"name": "Plan B", "labels": body["steps"][0]["labels"], "dataset": "fp1", "created": "10:02"}]
    with con:
        con.execute("UPDATE sessions SET body = ?", (json.dumps(body),))
    con.close()
    assert [s.what for s in store.load("key-one-1234").steps] == ["Use"]


def test_a_steps_units_come_back_so_a_refresh_keeps_the_shapes_of_a_by_county_alignment(store):
    """#13 item 2: the alignment's units (its shape downloads use them) survive a reload; older
    sessions without them read as by account."""
    saved = workspace([step("Use file.csv", ["T1", "T2"]),
                       replace(step("Make active", ["T2", "T2"]), units="county")])
    store.save("key-units-1234", saved)
    assert [s.units for s in store.load("key-units-1234").steps] == ["account", "county"]


def test_a_steps_basis_comes_back_so_a_refresh_keeps_what_its_figures_count(store):
    """#16: a what-if made active counting customers and prospects at ±10% on a blend keeps that basis
    after a reload (else its figures would count every account at the shared band)."""
    from territory.planning.basis import Basis, basis_from_params

    basis = Basis((("workload", 0.7), ("potential", 0.3)), 0.1, ("Customer", "Prospect"))
    saved = workspace([step("Use file.csv", ["T1", "T2"]),
                       replace(step("Make active", ["T2", "T2"]), basis=basis.params())])
    store.save("key-basis-1234", saved)
    steps = store.load("key-basis-1234").steps
    assert steps[0].basis is None and basis_from_params(steps[1].basis) == basis
