"""Headcount is explicit on the Rebalance page (#15, item 4): the territory count follows the active
alignment, a what-if that adds or closes territories says which in its first message, the user
chooses which territories close, who leaves and where a new hire lives."""

from __future__ import annotations

import pandas as pd

from territory.data import schema
from territory.planning.headcount import alignment_territories
from territory.ui import keys
from territory.ui import rebalance as rb
from tests.app.apptest import moved_table, open_page

COUNT = rb.SETTING_KEYS["n_territories"]
CLOSING = rb.SETTING_KEYS["closing"]


def first_message(at) -> str:
    """The text of the first alert the page shows (info, warning or error), '' when none."""
    alerts = [*at.info, *at.warning, *at.error]
    return alerts[0].value if alerts else ""


def headcount_messages(at) -> list[str]:
    return [i.value for i in at.info if "Headcount" in i.value]


def test_the_count_follows_make_active_of_a_new_hire_and_the_next_what_if_keeps_it(sample):
    at = open_page("pages/rebalance.py", timeout=180.0)
    assert at.slider(key=COUNT).value == 20
    at.text_input(key=keys.REBALANCE_HIRE_ZIP).input("94103")
    at.number_input(key=keys.REBALANCE_HIRE_FTE).set_value(0.5)
    at.button(key=keys.REBALANCE_NEW_HIRE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[keys.REBALANCE_EVENT] == ("new_hire", "94103", 0.5)
    assert headcount_messages(at) == ["Headcount 20 → 21 territories: adds T21."]
    assert at.info[0].value == headcount_messages(at)[0], "the headcount change must be the first message"
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The slider now starts at 21, and the next what-if keeps the new hire's territory.
    assert at.slider(key=COUNT).value == 21
    assert headcount_messages(at) == []
    alignment = at.session_state[keys.ALIGNMENT]
    assert (alignment.labels == "T21").sum() > 50
    # The alignment's territories keep the new rep's capacity and home base (San Francisco's 94103).
    table = alignment_territories(sample.territories, alignment.labels, alignment.result.territories)
    row = table.set_index(schema.TERRITORY_ID).loc["T21"]
    assert (row[schema.REP_NAME], row[schema.CAPACITY_FTE]) == ("New hire", 0.5)
    assert abs(row[schema.HOME_LATITUDE] - 37.77) < 0.05 and abs(row[schema.HOME_LONGITUDE] + 122.41) < 0.05


def test_the_count_follows_a_new_dataset_with_fewer_territories(sample):
    from territory.ui import state
    from territory.ui.cached import frame_fingerprint

    at = open_page("pages/rebalance.py", timeout=180.0)
    at.slider(key=COUNT).set_value(22).run()
    assert at.slider(key=COUNT).value == 22
    keep = sample.accounts[schema.TERRITORY_ID].isin([f"T{i:02d}" for i in range(1, 13)])
    accounts = sample.accounts[keep].reset_index(drop=True)
    territories = sample.territories.iloc[:12].reset_index(drop=True)
    dataset = state.ActiveDataset(name="crm.csv", accounts=accounts, territories=territories,
                                  bookings=sample.bookings.iloc[:0], source="upload",
                                  fingerprint=frame_fingerprint(accounts, territories))
    labels = accounts[schema.TERRITORY_ID].astype("string")
    at.session_state[state.DATASET_KEY] = dataset
    at.session_state[state.ALIGNMENT_KEY] = state.Alignment(labels=labels, name=state.CURRENT_ALIGNMENT_NAME,
                                                            fingerprint=frame_fingerprint(labels), created="00:00")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key=COUNT).value == 12
    assert headcount_messages(at) == [], "a new dataset must not start with territories nobody asked for"


def test_reducing_the_count_asks_which_territories_close_and_closes_those(sample):
    at = open_page("pages/rebalance.py", timeout=180.0)
    assert not [m for m in at.multiselect if m.key == CLOSING], "nothing to choose at the current count"
    at.slider(key=COUNT).set_value(19).run()
    assert not at.exception, [e.value for e in at.exception]
    closing = at.multiselect(key=CLOSING)
    assert "Which 1 territory closes?" in closing.label
    closing.set_value(["T07"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert first_message(at) == "Headcount 20 → 19 territories: closes T07."
    moved = moved_table(at)
    t07 = set(sample.accounts.loc[sample.accounts[schema.TERRITORY_ID] == "T07", schema.ACCOUNT_ID])
    assert t07 <= set(moved.loc[moved["From"] == "T07", "Account"])
    assert "T07" not in set(moved["To"])


def test_rep_leaves_names_the_rep_and_the_result_says_who_closes():
    at = open_page("pages/rebalance.py", timeout=180.0)
    leaving = at.selectbox(key=keys.REBALANCE_LEAVING_TERRITORY)
    assert "T05 (Hannah Alvarez)" in leaving.options
    leaving.set_value("T05").run()
    at.button(key=keys.REBALANCE_REP_LEAVES).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert first_message(at) == "Headcount 20 → 19 territories: closes T05."


def test_industry_team_headcount_is_a_control_per_team_and_the_warning_names_no_setting():
    at = open_page("pages/rebalance.py", timeout=180.0)
    at.multiselect(key=rb.SETTING_KEYS["industry_teams"]).set_value(["Energy"]).run()
    assert not at.exception, [e.value for e in at.exception]
    team = at.number_input(key=keys.child(keys.REBALANCE_TEAM_SIZE, "Energy"))
    assert team.label == "Reps on the Energy team"
    # By its share the team gets one rep (19 geographic territories hold locked accounts), one
    # geographic territory closes to make room, and the first message says so.
    assert first_message(at) == "Headcount 20 → 20 territories: adds NRG-1; closes T05."
    assert any("Set the team's reps under" in w.value for w in at.warning)
    assert all("industry_team_sizes" not in w.value for w in at.warning)
    # Hiring one more rep for the team: 21 territories, two of them Energy.
    at.slider(key=COUNT).set_value(21).run()
    at.number_input(key=keys.child(keys.REBALANCE_TEAM_SIZE, "Energy")).set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[rb.SETTING_KEYS["industry_team_sizes"]] == [("Energy", 2)]
    assert any("Energy team: 2 territories (NRG-1, NRG-2)" in c.value for c in at.caption)
    assert first_message(at) == "Headcount 20 → 21 territories: adds NRG-1, NRG-2; closes T05."
    assert all("industry_team_sizes" not in w.value for w in at.warning)


def test_headcount_message_counts_from_the_labels():
    from territory.planning.headcount import headcount_change

    change = headcount_change(pd.Series(["T1", "T2", "T2"]), pd.Series(["T1", "T1", "T3"]))
    assert (change.added, change.closed) == (("T3",), ("T2",))
    assert headcount_change(pd.Series(["T1"]), pd.Series(["T1"])).message() == ""


def test_the_largest_white_space_is_offered_as_the_new_hire_s_home_base(sample):
    """#19, item 3 feeds #15's new hire: the Rebalance page names the largest white-space segment and
    one click makes the ZIP of its largest opening the home base the new territory grows from."""
    from territory.planning.whitespace import suggested_home_base, white_space

    expected = suggested_home_base(sample.accounts, white_space(sample.accounts, sample.accounts[schema.TERRITORY_ID],
                                                                sample.bookings))
    assert expected is not None
    at = open_page("pages/rebalance.py", timeout=180.0)
    use = at.button(key=keys.REBALANCE_HIRE_USE_SUGGESTION)
    assert use.label == f"Use ZIP {expected.postal_code}"
    assert any(f"{expected.industry} in {expected.area}" in c.value for c in at.caption)
    use.click().run()
    assert at.text_input(key=keys.REBALANCE_HIRE_ZIP).value == expected.postal_code
    at.button(key=keys.REBALANCE_NEW_HIRE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[keys.REBALANCE_EVENT][:2] == ("new_hire", expected.postal_code)
