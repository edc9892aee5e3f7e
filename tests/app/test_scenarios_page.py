"""The Scenarios page through AppTest: save, list, activate, rename, delete, compare, history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territory.data.sample import load_sample
from territory.planning.scenarios import ScenarioStore, build_scenario
from tests.factories import SCENARIO_HEADER, SCENARIO_META, declare_size, scenario_zip

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(scenario_db: Path) -> Path:
    """The test's own scenario database (tests/app/conftest.py)."""
    return scenario_db


def open_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/scenarios.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def seed_two_scenarios(path: Path) -> None:
    accounts = load_sample().accounts
    current = accounts["territory_id"]
    shifted = current.copy()
    shifted.iloc[:50] = "T01"  # a plan that gives T01 fifty more accounts
    store = ScenarioStore(path)
    store.save(build_scenario("Current copy", accounts, current))
    store.save(build_scenario("Plan B", accounts, shifted, notes="T01 grows"))


def test_empty_store_explains_what_to_do(db_path: Path) -> None:
    at = open_page()
    assert any("No scenarios saved yet" in i.value for i in at.info)
    captions = [c for c in at.caption if "Scenarios are stored on this computer" in c.value]
    assert captions and str(db_path) not in captions[0].value  # the path is in the help, not the text
    assert str(db_path) in captions[0].proto.help


def test_save_the_alignment_in_use_then_refuse_a_duplicate_name(db_path: Path) -> None:
    at = open_page()
    at.text_input(key="ts_scn_save_name").input("Baseline Q3")
    at.text_area(key="ts_scn_save_notes").input("Before the Q3 hires")
    at.button(key="FormSubmitter:ts_scn_save_form-Save scenario").click().run()
    assert any("Saved scenario **Baseline Q3**" in s.value for s in at.success)
    assert ScenarioStore(db_path).names() == ["Baseline Q3"]
    at.run()
    # the next scenario starts blank: the note went with the next save too (found walking the app)
    assert at.text_area(key="ts_scn_save_notes").value == "" and at.text_input(key="ts_scn_save_name").value == ""
    at.text_input(key="ts_scn_save_name").input("Baseline Q3")
    at.button(key="FormSubmitter:ts_scn_save_form-Save scenario").click().run()
    assert any("already exists" in w.value for w in at.warning)
    assert not at.exception


def test_open_activate_rename_delete_and_history(db_path: Path) -> None:
    seed_two_scenarios(db_path)
    at = open_page()
    at.selectbox(key="ts_scn_open").set_value("Plan B").run()
    assert not at.exception
    moved = {m.label: m.value for m in at.metric}["Accounts moved"]
    assert moved != "0"  # Plan B differs from the file's alignment
    at.button(key="ts_scn_activate").click().run()
    assert any("Plan B" in s.value and "alignment in use" in s.value for s in at.success)
    at.selectbox(key="ts_scn_open").set_value("Plan B").run()
    at.text_input(key="ts_scn_rename_to").input("Plan B2").run()
    at.button(key="ts_scn_rename").click().run()
    assert set(ScenarioStore(db_path).names()) == {"Current copy", "Plan B2"}
    at.selectbox(key="ts_scn_open").set_value("Current copy").run()
    at.checkbox(key="ts_scn_delete_confirm").check().run()
    at.button(key="ts_scn_delete").click().run()
    assert ScenarioStore(db_path).names() == ["Plan B2"]
    actions = ScenarioStore(db_path).history()["action"].tolist()
    assert actions[:3] == ["delete", "rename", "activate"]
    assert not at.exception


def test_compare_highlights_and_lists_differing_accounts(db_path: Path) -> None:
    seed_two_scenarios(db_path)
    at = open_page()
    at.session_state["ts_scn_tab"] = "Compare"  # tabs are lazy: open the Compare tab first
    at.run()
    at.multiselect(key="ts_scn_compare").set_value(["Current copy", "Plan B"]).run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    comparison = next(f for f in frames if "Accounts moved vs current" in getattr(f, "index", []))
    # no "Best" column (long names were cut in it): the best cell of each row is marked instead
    assert list(comparison.columns) == ["Current copy", "Plan B"]
    from territory.ui.scenarios import style_best

    styles = style_best(comparison)._compute().ctx  # {(row, column): [(property, value)]}
    row = list(comparison.index).index("Accounts moved vs current")
    assert [("font-weight", "600") in styles.get((row, col), []) for col in range(2)] == [True, False]
    differing = next(f for f in frames if isinstance(f, pd.DataFrame) and "Plan B" in f.columns
                     and "account_id" in f.columns)
    changed = (load_sample().accounts["territory_id"].iloc[:50] != "T01").sum()
    assert len(differing) == changed


def test_compare_says_so_when_no_account_differs(db_path: Path) -> None:
    seed_two_scenarios(db_path)
    at = open_page()
    at.session_state["ts_scn_tab"] = "Compare"
    at.run()
    # the alignment in use is the file's own: the same territory for every account as "Current copy"
    at.multiselect(key="ts_scn_compare").set_value(["(alignment in use)", "Current copy"]).run()
    assert not at.exception
    assert any("Accounts whose territory differs**: none" in m.value for m in at.markdown)
    assert not any(isinstance(d.value, pd.DataFrame) and "account_id" in d.value.columns for d in at.dataframe)


def test_scenario_list_writes_account_counts_like_the_other_tables(db_path: Path) -> None:
    """The list wrote 5000 where the other tables write 5,000 (Streamlit's "localized" format)."""
    import json

    seed_two_scenarios(db_path)
    at = open_page()
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["accounts"]["type_config"]["format"] == "localized"


@pytest.mark.parametrize("name, data", [
    ("bomb.scenario.zip", declare_size(scenario_zip(), "assignment.csv", 2**32 - 1)),  # "4 GB" in 500 bytes
    ("odd.scenario.zip", scenario_zip({**SCENARIO_META, "format_version": "abc"})),
    ("cut.scenario.zip", scenario_zip()[:-30]),
    ("ragged.scenario.zip", scenario_zip(csv_text=SCENARIO_HEADER + "A1,T1,T1,False,,extra\n")),
])
def test_a_bad_scenario_file_is_a_plain_message(db_path: Path, name: str, data: bytes) -> None:
    """#18: the app shows the importer's one line, not a traceback, and imports nothing."""
    at = open_page()
    at.session_state["ts_scn_tab"] = "Import / export"
    at.run()
    at.file_uploader(key="ts_scn_import_file").set_value((name, data, "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and "\n" not in at.error[0].value.strip()
    assert not [b for b in at.button if b.key == "ts_scn_import"]
    assert ScenarioStore(db_path).names() == []


def test_a_scenario_made_on_another_file_is_named_as_such_without_figures_or_activation(db_path: Path) -> None:
    """Walking the app: a scenario of the sample opened on a Salesforce file showed KPIs over no common
    account, an active 'Set as active alignment' and its downloads."""
    accounts = load_sample().accounts.iloc[:20].assign(account_id=lambda f: "OTHER-" + f["account_id"])
    ScenarioStore(db_path).save(build_scenario("Other file", accounts, accounts["territory_id"]))
    at = open_page()
    at.selectbox(key="ts_scn_open").set_value("Other file").run()
    assert not at.exception
    assert any("was made on another file: none of its 20 accounts" in i.value for i in at.info)
    assert not at.warning and not at.metric and not at.get("download_button")
    assert at.button(key="ts_scn_activate").disabled
