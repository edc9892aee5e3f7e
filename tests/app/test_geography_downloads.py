"""#13 item 2: the app's shape downloads use the alignment's units, as `geography --units` does.

A scenario balanced by county (`balance --units county --save-as`) gives every ZIP without accounts the
territory of its unit; the app's ZIP table, GeoJSON and KML must be the CLI's bytes for that scenario,
on the Scenarios page and, once the scenario is the alignment in use, on the Territories page. An
alignment by owner (not drawn on a map) gets no shape downloads, and a note says why.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territory.cli import main
from territory.ui.components import widgets
from tests.app.apptest import new_app

SCENARIO = "By county"


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> dict:
    """file id -> the callable a deferred download button would run when clicked."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data, *args, **kwargs):
        file_id = original(self, data, *args, **kwargs)
        found[file_id] = data
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def download(at, deferred: dict, fmt: str) -> bytes:
    label = widgets.GEOGRAPHY_BUTTONS[fmt][0]
    button = next(b for b in at.get("download_button") if b.proto.label == label)
    return deferred[button.proto.deferred_file_id]()


@pytest.fixture
def by_county(scenario_db: Path, tmp_path: Path, capsys) -> dict[str, bytes]:
    """A `--units county` scenario in the app's store, and the CLI's files for it (units from the scenario)."""
    db = str(scenario_db)
    assert main(["balance", "--units", "county", "-k", "20", "--save-as", SCENARIO, "--db", db,
                 "-o", str(tmp_path / "alignment.csv")]) == 0
    files = {}
    for fmt in widgets.GEOGRAPHY_BUTTONS:
        out = tmp_path / f"cli.{fmt}"
        assert main(["geography", "--scenario", SCENARIO, "--db", db, "-o", str(out)]) == 0
        files[fmt] = out.read_bytes()
    out = tmp_path / "accounts.csv"
    assert main(["geography", "--scenario", SCENARIO, "--db", db, "--units", "account", "-o", str(out)]) == 0
    files["csv by account"] = out.read_bytes()
    capsys.readouterr()
    return files


def test_scenario_and_active_alignment_downloads_equal_the_cli_for_its_units(by_county, deferred) -> None:
    assert by_county["csv"] != by_county["csv by account"]  # the units change the ZIP table: the test can tell
    at = new_app().run()
    at.switch_page("pages/scenarios.py").run()
    at.selectbox(key="ts_scn_open").set_value(SCENARIO).run()
    assert not at.exception, [e.value for e in at.exception]
    for fmt in widgets.GEOGRAPHY_BUTTONS:
        assert download(at, deferred, fmt) == by_county[fmt], fmt
    at.button(key="ts_scn_activate").click().run()
    at.switch_page("pages/territories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert download(at, deferred, "csv") == by_county["csv"]


def test_a_what_if_made_active_keeps_its_units_for_the_territories_downloads(tmp_path: Path, deferred,
                                                                             capsys) -> None:
    """Rebalance by county, *Make active*: the Territories page's ZIP table is `geography --units county`
    of that alignment."""
    from territory.data.sample import load_sample
    from territory.ui import keys, state
    from territory.ui import rebalance as rb
    from tests.app.apptest import open_page

    at = open_page("pages/rebalance.py", timeout=180.0)
    at.selectbox(key=rb.SETTING_KEYS["units"]).set_value("county").run()
    at.button(key=keys.REBALANCE_MAKE_ACTIVE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    alignment = at.session_state[state.ALIGNMENT_KEY]
    assert alignment.units == "county"
    accounts = tmp_path / "alignment.csv"
    sample = load_sample().accounts.copy()
    sample["territory_id"] = alignment.labels.reindex(sample.index).to_numpy()
    sample.to_csv(accounts, index=False)
    out = tmp_path / "cli.csv"
    assert main(["geography", str(accounts), "--units", "county", "-o", str(out)]) == 0
    capsys.readouterr()
    at.switch_page("pages/territories.py").run()
    assert download(at, deferred, "csv") == out.read_bytes()


def test_an_alignment_by_owner_offers_no_shapes_and_says_why(scenario_db: Path) -> None:
    """Accounts dealt to owners in turn (every owner's accounts all over the country): the shapes would
    overlap and a ZIP would hold several owners, so neither the Scenarios page nor, once the scenario is
    the alignment in use, the Territories page offers the geography files; a note says why and where
    the assignment is instead."""
    from territory.data.sample import load_sample
    from territory.planning.scenarios import ScenarioStore, build_scenario

    accounts = load_sample().accounts
    owners = pd.Series([f"T{i % 20 + 1:02d}" for i in range(len(accounts))], index=accounts.index)
    ScenarioStore(scenario_db).save(build_scenario("By owner", accounts, owners))

    def geography_buttons(at) -> list[str]:
        labels = {label for label, _ in widgets.GEOGRAPHY_BUTTONS.values()}
        return [b.proto.label for b in at.get("download_button") if b.proto.label in labels]

    def note(at) -> str:
        return " ".join(i.value for i in at.info if "by owner, not by area" in i.value)

    at = new_app().run()
    at.switch_page("pages/scenarios.py").run()
    at.selectbox(key="ts_scn_open").set_value("By owner").run()
    assert not at.exception, [e.value for e in at.exception]
    assert geography_buttons(at) == []
    assert "No territory shapes or ZIP table" in note(at) and "*Assignment (CSV)*" in note(at)
    assert "Assignment (CSV)" in [b.proto.label for b in at.get("download_button")]
    at.button(key="ts_scn_activate").click().run()
    at.switch_page("pages/territories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert geography_buttons(at) == []
    assert "on the Scenarios page" in note(at)
