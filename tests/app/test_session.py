"""Work survives a refresh (#16, item 6): the session key in the URL brings back the dataset, the
alignment in use, hand moves, the event and the settings; undo and redo walk the steps.

A "reload" here is a second AppTest of the router with the first one's ``session`` URL parameter:
a new Streamlit session on the same server, exactly what a browser refresh or a shared link makes.
"""

from __future__ import annotations

import io

import pandas as pd

from territory.data import schema
from territory.data.sample import load_sample
from territory.planning.workspace import Step
from territory.ui import keys
from territory.ui.components import widgets
from tests.app.apptest import REPO_ROOT, open_page
from tests.crm_files import salesforce_accounts

SESSION = "session"


def reload(key: str, page: str | None = None):
    """A new session opened on the link ``?session=key`` (then ``page``), with no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120.0)
    at.query_params[SESSION] = key
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def key_of(at) -> str:
    key = at.session_state[keys.SESSION]
    assert at.query_params[SESSION] == [key] or at.query_params[SESSION] == key  # the URL carries it
    return key


def sidebar_text(at) -> str:
    return " ".join([s.value for s in at.sidebar.success] + [c.value for c in at.sidebar.caption])


def test_a_reload_brings_back_make_active_hand_moves_and_settings():
    at = open_page("pages/rebalance.py", timeout=120.0)
    at.slider(key="ts_rebalance_n_territories").set_value(21).run()
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    made = at.session_state[keys.ALIGNMENT]
    assert made.name.startswith("Rebalanced") and made.labels.nunique() == 21
    assert widgets.alignment_caption(made) == made.name  # not "Rebalanced 09:05 (since 09:05)"
    account = load_sample().accounts[schema.ACCOUNT_ID].iloc[0]
    at.session_state[keys.REBALANCE_MANUAL_MOVES] = {account: "T03"}  # as the Move button leaves it
    at.button(key=keys.REBALANCE_NEW_HIRE).click().run()  # an undoable step: saved with the moves
    assert not at.exception, [e.value for e in at.exception]

    back = reload(key_of(at))
    assert "Restored your session" in sidebar_text(back) and made.name in sidebar_text(back)
    back.switch_page("pages/rebalance.py").run()
    alignment = back.session_state[keys.ALIGNMENT]
    assert alignment.name == made.name
    assert alignment.labels.equals(made.labels)
    assert back.session_state[keys.REBALANCE_MANUAL_MOVES] == {account: "T03"}
    assert back.session_state[keys.REBALANCE_EVENT] == ("new_hire", "", 1.0)
    assert back.slider(key="ts_rebalance_n_territories").value == 21  # the settings came back too


def test_a_reload_brings_back_an_upload_and_the_data_page_names_it():
    frame = salesforce_accounts(400)
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    at = open_page("pages/data.py")
    at.radio(key=keys.DATA_SOURCE).set_value("Upload a file").run()
    at.file_uploader(key=keys.DATA_ACCOUNTS_FILE).set_value(("Salesforce accounts.csv", buffer.getvalue(),
                                                              "text/csv")).run()
    at.button(key=keys.DATA_USE_UPLOAD).click().run()
    uploaded = at.session_state[keys.DATASET]
    assert uploaded.source == "upload"
    assert uploaded.owner_reps  # "Account Owner" is the territory: each owner is its rep in the exports

    back = reload(key_of(at), "pages/data.py")
    dataset = back.session_state[keys.DATASET]
    assert (dataset.name, dataset.source, dataset.fingerprint) == ("Salesforce accounts.csv", "upload",
                                                                  uploaded.fingerprint)
    pd.testing.assert_frame_equal(dataset.accounts, uploaded.accounts)
    assert dataset.default_capacity == uploaded.default_capacity  # the 1-FTE note still shows
    assert dataset.owner_reps
    assert any("Active: **Salesforce accounts.csv**" in s.value for s in back.success)
    assert back.radio(key=keys.DATA_SOURCE).value == "Upload a file"


def test_an_unknown_or_damaged_session_starts_fresh_with_a_plain_message(scenario_db):
    fresh = reload("no-such-session-1234")
    assert fresh.session_state[keys.DATASET].source == "sample" and not fresh.sidebar.warning
    scenario_db.with_name("sessions.sqlite").write_bytes(b"not a database" * 200)
    damaged = reload("no-such-session-1234")
    assert damaged.session_state[keys.DATASET].source == "sample"
    assert any("could not be restored" in w.value and "fresh session" in w.value for w in damaged.sidebar.warning)


def _undo_twenty_then_redo() -> None:
    """An AppTest script: 20 x state.undo(), then state.redo(), noting what each step brought back."""
    import streamlit as st

    from territory.ui import keys, state

    seen = []
    for _ in range(20):
        state.undo()
        seen.append((state.get_alignment().name, st.session_state[keys.REBALANCE_MANUAL_MOVES],
                     st.session_state[keys.REBALANCE_EVENT]))
    state.redo()
    seen.append((state.get_alignment().name, st.session_state[keys.REBALANCE_MANUAL_MOVES],
                 st.session_state[keys.REBALANCE_EVENT]))
    st.session_state["seen"] = seen


def test_undo_and_redo_walk_back_twenty_steps_and_forward_again():
    from streamlit.testing.v1 import AppTest

    from territory.ui import state

    sample = load_sample()
    dataset = state.build_dataset(sample.accounts, sample.territories, sample.bookings, name="Built-in sample",
                                  source="sample")
    current = state.file_labels(dataset)
    moved = current.replace("T01", "T02")
    steps = [Step(what=f"step {i}", labels=current if i % 2 == 0 else moved, alignment_name=f"alignment {i}",
                  created="09:00", manual_moves={"A000001": f"T{i % 20 + 1:02d}"} if i else {},
                  event=("new_hire",) if i % 3 == 0 else None) for i in range(22)]
    at = AppTest.from_function(_undo_twenty_then_redo, default_timeout=60.0)
    at.session_state[keys.DATASET] = dataset
    at.session_state[keys.ALIGNMENT] = state.Alignment(moved, "alignment 21", state.labels_fingerprint(moved), "09:00")
    at.session_state[keys.SESSION_HISTORY] = {"steps": list(steps), "position": len(steps) - 1}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = [(f"alignment {i}", steps[i].manual_moves, steps[i].event) for i in range(20, 0, -1)]
    expected.append(("alignment 2", steps[2].manual_moves, steps[2].event))
    assert at.session_state["seen"] == expected
    assert at.session_state[keys.ALIGNMENT].labels.equals(current)  # step 2's labels
    # a reload keeps the position: the sidebar's Undo and Redo go on from there
    back = reload(at.session_state[keys.SESSION])
    assert back.session_state[keys.ALIGNMENT].name == "alignment 2"
    assert back.button(key=keys.SIDEBAR_UNDO).proto.help == "Undo: step 2"
    assert back.button(key=keys.SIDEBAR_REDO).proto.help == "Redo: step 3"


def test_make_active_can_be_undone_and_redone():
    at = open_page("pages/rebalance.py", timeout=120.0)
    at.slider(key="ts_rebalance_n_territories").set_value(19).run()
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    made = at.session_state[keys.ALIGNMENT]
    assert made.name.startswith("Rebalanced")
    back = reload(key_of(at))  # the sidebar's buttons, on the router's runs
    assert back.button(key=keys.SIDEBAR_UNDO).proto.help == "Undo: Make active"
    back.button(key=keys.SIDEBAR_UNDO).click().run()
    assert back.session_state[keys.ALIGNMENT].name == "Current alignment"
    # AppTest draws app.py's sidebar on a session's first run only: the next click goes through a reload
    again = reload(key_of(back))
    assert again.button(key=keys.SIDEBAR_UNDO).disabled  # back at the dataset's own alignment
    again.button(key=keys.SIDEBAR_REDO).click().run()
    assert again.session_state[keys.ALIGNMENT].labels.equals(made.labels)
    assert not again.exception


def test_two_browsers_on_one_link_each_go_on_under_their_own_copy():
    at = open_page("pages/rebalance.py", timeout=120.0)
    at.slider(key="ts_rebalance_n_territories").set_value(21).run()
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    link = key_of(at)
    made = at.session_state[keys.ALIGNMENT]

    first, second = reload(link), reload(link)  # a refresh and a shared link, or two colleagues
    assert len({link, key_of(first), key_of(second)}) == 3  # each page load went on under a fresh key
    first.button(key=keys.SIDEBAR_UNDO).click().run()  # one of them takes Make active back
    assert first.session_state[keys.ALIGNMENT].name == "Current alignment"

    assert reload(key_of(second)).session_state[keys.ALIGNMENT].name == made.name  # the other's work stands
    assert reload(link).session_state[keys.ALIGNMENT].name == made.name  # and so does the original
    assert reload(key_of(first)).session_state[keys.ALIGNMENT].name == "Current alignment"


def test_the_review_offers_the_alignment_made_active_before_also_after_a_refresh():
    """Make active on Rebalance, then back to the file's alignment: the Quarterly review offers the
    rebalanced one (it is in the undo history, which a refresh brings back) and reviews its labels."""
    at = open_page("pages/rebalance.py", timeout=120.0)
    at.slider(key="ts_rebalance_n_territories").set_value(21).run()
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    made = at.session_state[keys.ALIGNMENT]
    back = reload(key_of(at))
    back.button(key=keys.SIDEBAR_RESET_ALIGNMENT).click().run()
    assert back.session_state[keys.ALIGNMENT].name == "Current alignment"

    review = reload(key_of(back), "pages/review.py")
    choice = review.selectbox(key=keys.REVIEW_ALIGNMENT)
    assert choice.options == ["Active: Current alignment", f"Made active earlier: {made.name}"]
    choice.set_value(f"Made active earlier: {made.name}").run()
    assert not review.exception, [e.value for e in review.exception]
    quotas = [df.value for df in review.dataframe if "Quota" in df.value.columns][0]
    assert len(quotas) == 21  # the rebalanced alignment's territories, not the file's 20


def test_the_scenarios_compared_come_back_after_a_refresh(scenario_db):
    from territory.planning.scenarios import ScenarioStore, build_scenario

    accounts = load_sample().accounts
    shifted = accounts[schema.TERRITORY_ID].copy()
    shifted.iloc[:50] = "T01"
    store = ScenarioStore(scenario_db)
    for name, labels in (("Current copy", accounts[schema.TERRITORY_ID]), ("Plan B", shifted),
                         ("Plan C", accounts[schema.TERRITORY_ID])):
        store.save(build_scenario(name, accounts, labels))
    at = open_page("pages/scenarios.py")
    at.session_state[keys.SCN_TAB] = "Compare"  # tabs are lazy: open the Compare tab first
    at.run()
    first = at.multiselect(key=keys.SCN_COMPARE).value  # the first three (the store lists newest first)
    assert len(first) == 3 and first[0] == "(alignment in use)"
    at.multiselect(key=keys.SCN_COMPARE).set_value(["Plan C", "Plan B"]).run()

    back = reload(key_of(at), "pages/scenarios.py")
    back.session_state[keys.SCN_TAB] = "Compare"
    back.run()
    assert back.multiselect(key=keys.SCN_COMPARE).value == ["Plan C", "Plan B"]
    assert not back.exception, [e.value for e in back.exception]


def _review_settings_saved_as(scenario_db, far_km: float, change) -> str:
    """A session whose saved review settings (``far_km`` set on the page) were rewritten by
    ``change`` (a function of the saved dict), as an older or newer version would have saved them;
    its key."""
    from dataclasses import replace

    from territory.planning.workspace import WorkspaceStore
    from territory.ui.review import SETTINGS_EXTRA_KEY

    at = open_page("pages/review.py", timeout=120.0)
    at.number_input(key=keys.REVIEW_FAR_KM).set_value(far_km).run()
    key = key_of(at)
    store = WorkspaceStore(scenario_db.with_name("sessions.sqlite"))
    saved = store.load(key)
    review = change(dict(saved.settings["extra"][SETTINGS_EXTRA_KEY]))
    store.save(key, replace(saved, settings={**saved.settings,
                                             "extra": {**saved.settings["extra"], SETTINGS_EXTRA_KEY: review}}))
    return key


def test_review_settings_saved_before_the_far_reach_factor_come_back_with_its_default(scenario_db):
    """A session saved before ReviewSettings had ``far_reach_factor`` still loads: the thresholds it
    saved come back and the new field takes its default."""
    def without_the_factor(review: dict) -> dict:
        assert review.pop("far_reach_factor") == 2.0 and review["far_km"] == 250.0
        return review

    back = reload(_review_settings_saved_as(scenario_db, 250.0, without_the_factor), "pages/review.py")
    assert back.number_input(key=keys.REVIEW_FAR_KM).value == 250.0
    assert back.number_input(key=keys.REVIEW_FAR_REACH_FACTOR).value == 2.0


def test_review_settings_saved_with_a_field_since_removed_still_come_back(scenario_db):
    """A session saved by a version whose ReviewSettings had a field this one has not loads: the
    field is dropped, the thresholds it saved come back."""
    key = _review_settings_saved_as(scenario_db, 260.0, lambda review: {**review, "retired_threshold": 3})
    back = reload(key, "pages/review.py")
    assert not back.exception, [e.value for e in back.exception]
    assert back.number_input(key=keys.REVIEW_FAR_KM).value == 260.0
