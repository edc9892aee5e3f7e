"""`python -m territory scenario ...` and `report`: the same store and report as the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from territory.cli import main
from territory.data.sample import load_sample
from territory.planning import scenarios
from territory.planning.scenarios import ScenarioStore, build_scenario
from tests.factories import SCENARIO_META, corrupt_pages, declare_size, scenario_zip

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite"
    accounts = load_sample().accounts
    shifted = accounts["territory_id"].copy()
    shifted.iloc[:10] = "T02"
    ScenarioStore(path).save(build_scenario("Plan <A>", accounts, shifted, notes="ten to T02",
                                            params={"tolerance": 0.05}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_json_has_the_documented_fields(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenario", "list", "--json", "--db", str(db))
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["Plan <A>"]
    assert rows[0]["accounts"] == 5000 and rows[0]["territories"] == 20 and rows[0]["created_at"]


def test_show_export_import_rename_delete(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenario", "show", "Plan <A>", "--json", "--db", str(db))
    shown = json.loads(out)
    assert code == 0 and shown["params"] == {"tolerance": 0.05}
    expected_moves = int((load_sample().accounts["territory_id"].iloc[:10] != "T02").sum())
    assert shown["moved_accounts"] == expected_moves

    file = tmp_path / "plan.scenario.zip"
    assert run(capsys, "scenario", "export", "Plan <A>", "--output", str(file), "--db", str(db))[0] == 0
    other = tmp_path / "other.sqlite"
    assert run(capsys, "scenario", "import", str(file), "--db", str(other))[0] == 0
    assert run(capsys, "scenario", "import", str(file), "--as", "Copy", "--db", str(other))[0] == 0
    code, _, err = run(capsys, "scenario", "import", str(file), "--db", str(other))
    assert code == 2 and "already exists" in err and "\n" == err[-1] and err.count("\n") == 1
    assert run(capsys, "scenario", "rename", "Copy", "Copy 2", "--db", str(other))[0] == 0
    assert run(capsys, "scenario", "delete", "Plan <A>", "--db", str(other))[0] == 0
    assert ScenarioStore(other).names() == ["Copy 2"]
    pd.testing.assert_frame_equal(ScenarioStore(other).load("Copy 2").assignment,
                                  ScenarioStore(db).load("Plan <A>").assignment)


def test_report_of_a_scenario_is_written_and_escaped(db: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "review.html"
    code, out, _ = run(capsys, "report", "--scenario", "Plan <A>", "--output", str(out_file), "--db", str(db))
    assert code == 0 and "opens offline" in out
    page = out_file.read_text(encoding="utf-8")
    assert "Scenario: Plan &lt;A&gt;" in page and "Plan <A>" not in page
    assert "Moved accounts (" in page
    assert "Quarterly review: flags" in page  # the sample's bookings feed the review section


def test_report_summary_leaves_the_appendix_out(db: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "pack.html"
    code, _, _ = run(capsys, "report", "--scenario", "Plan <A>", "--summary", "--output", str(out_file),
                     "--db", str(db))
    page = out_file.read_text(encoding="utf-8")
    assert code == 0
    assert "Moved accounts (" not in page and "Quarterly review: flags" not in page
    assert "Settings of the balance" not in page
    assert [f"Region: {r}" in page for r in ("Central", "East", "South", "West")] == [True] * 4
    assert "Accounts moved" in page  # the count stays on the summary page


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "territory", "scenario", "show", "missing", "--db", str(tmp_path / "x.sqlite")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: There is no scenario named 'missing'."
    assert "Traceback" not in result.stderr


def test_balance_save_as_stores_a_scenario_and_refuses_a_taken_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "b.sqlite"
    code, out, _ = run(capsys, "balance", "--stability", "1", "--save-as", "Stable plan", "--json", "--db", str(db))
    assert code == 0 and json.loads(out)["saved_as"] == "Stable plan"
    scenario = ScenarioStore(db).load("Stable plan")
    assert scenario.accounts == 5000 and scenario.params["stability"] == 1.0
    assert "max_deviation_pct" in scenario.metrics
    code, _, err = run(capsys, "balance", "--stability", "1", "--save-as", "Stable plan", "--db", str(db))
    assert code == 2 and "already exists" in err
    assert run(capsys, "balance", "--stability", "1", "--save-as", "Stable plan", "--overwrite",
               "--db", str(db))[0] == 0


def test_importing_a_zip_bomb_or_dev_zero_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.scenario.zip"
    bomb.write_bytes(declare_size(scenario_zip(), "assignment.csv", 2**32 - 1))  # "4 GB" in a 500-byte file
    code, out, err = run(capsys, "scenario", "import", str(bomb), "--db", str(tmp_path / "db.sqlite"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: assignment.csv in this scenario file unpacks to more than 320,000,000 bytes")
    monkeypatch.setattr(scenarios, "MAX_SCENARIO_FILE_BYTES", 4096)
    code, out, err = run(capsys, "scenario", "import", "/dev/zero", "--db", str(tmp_path / "db.sqlite"))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("error: This file is larger than 4,096 bytes, the most a scenario file")


@pytest.mark.parametrize("change", [{"format_version": "abc"}, {"format_version": None}, {"format_version": [2]},
                                    {"params": [1]}, {"metrics": "x"}])
def test_importing_a_file_off_the_format_is_one_line(change: dict, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "odd.scenario.zip"
    file.write_bytes(scenario_zip({**SCENARIO_META, **change}))
    code, out, err = run(capsys, "scenario", "import", str(file), "--db", str(tmp_path / "db.sqlite"))
    assert (code, out) == (2, "") and err.startswith("error: scenario.json: ") and err.count("\n") == 1


def test_importing_a_file_off_the_format_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    file = tmp_path / "odd.scenario.zip"
    file.write_bytes(scenario_zip({**SCENARIO_META, "format_version": "abc"}))
    result = subprocess.run(
        [sys.executable, "-m", "territory", "scenario", "import", str(file), "--db", str(tmp_path / "x.sqlite")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: scenario.json: format_version must be a whole number")
    assert result.stderr.count("\n") == 1


def test_a_page_corrupted_database_is_one_line(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt_pages(db)
    result = subprocess.run(
        [sys.executable, "-m", "territory", "scenario", "show", "Plan <A>", "--db", str(db)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == (f"error: The scenario database {db} could not be used (database disk image is "
                             f"malformed). Point TERRITORY_STUDIO_DB at another file or restore a backup.\n")
    code, out, err = run(capsys, "report", "--scenario", "Plan <A>", "--output", str(tmp_path / "r.html"),
                         "--db", str(db))
    assert (code, out) == (2, "") and "could not be used (database disk image is malformed)" in err
    assert not (tmp_path / "r.html").exists()


def test_a_database_path_under_a_file_or_not_text_is_one_line(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    code, out, err = run(capsys, "scenario", "list", "--db", str(tmp_path / "file" / "s.sqlite"))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("error: Cannot create the folder of the scenario database")
    code, out, err = run(capsys, "scenario", "show", "Q3\udcff", "--db", str(tmp_path / "s.sqlite"))
    assert (code, out, err) == (2, "", "error: The scenario name 'Q3\\udcff' is not valid text (a byte that is "
                                       "not UTF-8?).\n")


def test_import_as_an_empty_name_is_refused_and_as_renames_a_spoofed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "spoof.scenario.zip"
    file.write_bytes(scenario_zip({**SCENARIO_META, "name": "Q3\u202e plan"}))
    db = str(tmp_path / "db.sqlite")
    code, out, err = run(capsys, "scenario", "import", str(file), "--db", db)
    assert (code, out) == (2, "") and "U+202E RIGHT-TO-LEFT OVERRIDE at position 3" in err and err.count("\n") == 1
    code, out, err = run(capsys, "scenario", "import", str(file), "--as", "", "--db", db)
    assert (code, out) == (2, "") and err.startswith("error: A scenario needs a name")  # was: saved as the file's
    assert run(capsys, "scenario", "import", str(file), "--as", "Q3 plan", "--db", db)[0] == 0
    assert ScenarioStore(db).names() == ["Q3 plan"]
