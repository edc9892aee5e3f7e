"""Every CLI command, given bad arguments or bad files, exits 2 with one line (#18: no traceback on
any CLI path).

The commands and their options are read from the parser itself, so a command or a file option
added later is exercised here without editing this file: each file it takes is replaced by a
missing file, a folder, an empty file, a binary file and a file with the wrong columns (a reps
file also by one with a capacity of 1e308); every database by a damaged one and one whose folder
is a file; every output by a path it cannot write; every typed option by a value it cannot take.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from territory.cli import EXIT_USAGE, build_parser, main
from territory.data.sample import load_sample
from territory.planning.scenarios import ScenarioStore, build_scenario
from tests.factories import corrupt_pages

INPUT_FILE_OPTIONS = {"file", "input", "new_file", "reps", "bookings", "quotas", "opportunities", "accounts",
                      "rules"}
"""Destinations of the arguments that name a file to read (a test below checks none is missed)."""
OUTPUT_OPTIONS = {"output"}
DATABASE_OPTIONS = {"db"}
TEXT_OPTIONS = {"scenario", "name", "new_name", "rename_to", "save_as", "title", "types", "format", "within", "units"}
"""Free text (names, titles) and choices: checked by the commands' own tests."""


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    """Every runnable command path (``("scenario", "show")``) and its parser."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(subcommands(sub, (*prefix, name)))
    return found or {prefix: parser}


COMMANDS = subcommands(build_parser())


def options(command: tuple[str, ...]) -> list[argparse.Action]:
    return [action for action in COMMANDS[command]._actions
            if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good inputs for a command to succeed on, and the bad ones that replace them."""
    root = tmp_path_factory.mktemp("cli-bad-input")
    sample = load_sample()
    accounts = root / "accounts.csv"
    sample.accounts.head(60).to_csv(accounts, index=False)
    bookings = root / "bookings.csv"
    sample.bookings[sample.bookings["account_id"].isin(sample.accounts["account_id"].head(60))].to_csv(
        bookings, index=False)
    db = root / "scenarios.sqlite"
    ScenarioStore(db).save(build_scenario("Plan", sample.accounts, sample.accounts["territory_id"]))
    rules, scenario_file = root / "rules.csv", root / "plan.zip"
    assert main(["rules", "export", "--accounts", str(accounts), "-o", str(rules), "--db", str(db)]) == 0
    assert main(["scenario", "export", "Plan", "-o", str(scenario_file), "--db", str(db)]) == 0
    damaged = root / "damaged.sqlite"
    shutil.copyfile(db, damaged)
    corrupt_pages(damaged, first=0)  # every page: half a file is tests/test_cli_scenario.py's
    folder = root / "folder.csv"
    folder.mkdir()
    a_file = root / "a_file"
    a_file.write_text("not a folder\n")
    (root / "empty.csv").write_bytes(b"")
    (root / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (root / "wrong_columns.csv").write_text("colour,size\nred,3\nblue,4\n")
    (root / "absurd_capacity.csv").write_text("territory_id,capacity_fte\nT01,1\nT02,1e308\n")  # #18, item 4
    return {
        "accounts": accounts, "db": db, "rules": rules, "scenario_file": scenario_file,
        "bookings": bookings, "damaged_db": damaged, "root": root,
        "missing": root / "no-such-file.csv", "folder": folder, "empty": root / "empty.csv",
        "binary": root / "binary.csv", "wrong_columns": root / "wrong_columns.csv",
        "absurd_capacity": root / "absurd_capacity.csv",
        "db_under_a_file": a_file / "scenarios.sqlite", "output_under_a_file": a_file / "out.csv",
    }


def valid_argv(command: tuple[str, ...], files: dict[str, Path], out: Path) -> list[str]:
    """Arguments with which the command runs: the bad cases below change one of them."""
    accounts, db = str(files["accounts"]), str(files["db"])
    return {
        ("check",): ["check", accounts],
        ("balance",): ["balance", accounts, "-k", "3", "--db", db],
        ("scenario", "list"): ["scenario", "list", "--db", db],
        ("scenario", "show"): ["scenario", "show", "Plan", "--db", db],
        ("scenario", "export"): ["scenario", "export", "Plan", "-o", str(out.with_suffix(".zip")), "--db", db],
        ("scenario", "import"): ["scenario", "import", str(files["scenario_file"]), "--as", "Plan 3", "--db", db],
        ("scenario", "rename"): ["scenario", "rename", "Plan", "Plan 2", "--db", db],
        ("scenario", "delete"): ["scenario", "delete", "Plan", "--db", db],
        ("report",): ["report", accounts, "-o", str(out.with_suffix(".html")), "--db", db],
        ("assign",): ["assign", accounts, "--accounts", accounts, "-o", str(out), "--db", db],
        ("rules", "export"): ["rules", "export", "--accounts", accounts, "-o", str(out), "--db", db],
        ("rules", "import"): ["rules", "import", str(files["rules"]), "--scenario", "Plan", "--db", db],
        ("export-crm",): ["export-crm", "--format", "hubspot", "--accounts", accounts, "-o", str(out), "--db", db],
        ("forecast",): ["forecast", accounts, "--bookings", str(files["bookings"])],
        ("capacity",): ["capacity", accounts, "--hours-per-fte", "1600"],
        ("geography",): ["geography", accounts, "-o", str(out.with_suffix(".geojson"))],
    }[command]


def with_value(argv: list[str], action: argparse.Action, value: str) -> list[str]:
    """``argv`` with the argument of ``action`` set to ``value`` (replaced, or added)."""
    argv = list(argv)
    if not action.option_strings:  # a positional: the first argument after the command words
        words = len(next(command for command in COMMANDS if argv[: len(command)] == list(command)))
        positionals = [action.dest for action in options(tuple(argv[:words])) if not action.option_strings]
        argv[words + positionals.index(action.dest)] = value
        return argv
    for at, word in enumerate(argv):
        if word in action.option_strings:
            argv[at + 1] = value
            return argv
    return [*argv, action.option_strings[0], value]


def assert_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv`` in-process: any exception but argparse's exit fails the test with its traceback."""
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage error
        code = stop.code
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, f"{argv}: exit {code}, stderr {err!r}"
    assert err.endswith("\n") and err.count("\n") == 1, f"{argv}: not one line: {err!r}"
    assert "Traceback" not in err
    return err


def bad_cases() -> list[tuple[tuple[str, ...], str, str]]:
    """(command, option dest, what is wrong) for every option of every command that takes a path."""
    cases = []
    for command in COMMANDS:
        for action in options(command):
            if action.dest in INPUT_FILE_OPTIONS:
                cases += [(command, action.dest, bad) for bad in ("missing", "folder", "empty", "binary")]
                if not (command == ("scenario", "import") or action.dest == "rules"):
                    cases.append((command, action.dest, "wrong_columns"))
                if action.dest == "reps":
                    cases.append((command, action.dest, "absurd_capacity"))
            elif action.dest in DATABASE_OPTIONS:
                cases += [(command, action.dest, bad) for bad in ("damaged_db", "db_under_a_file", "folder")]
            elif action.dest in OUTPUT_OPTIONS:
                cases += [(command, action.dest, bad) for bad in ("output_under_a_file", "folder")]
    return cases


def test_every_command_has_arguments_that_work(files, tmp_path, capsys) -> None:
    """The baseline the bad cases change one thing of: without it, a bad case could fail for
    another reason (a missing required option) and prove nothing."""
    for command in COMMANDS:
        db = tmp_path / f"{'-'.join(command)}.sqlite"
        shutil.copyfile(files["db"], db)
        argv = valid_argv(command, {**files, "db": db}, tmp_path / f"{'-'.join(command)}.csv")
        assert main(argv) == 0, f"{argv}: {capsys.readouterr().err}"
    capsys.readouterr()


def test_every_option_of_every_command_is_classified() -> None:
    """A new option that names a file must join one of the sets above, so it is tested here."""
    known = INPUT_FILE_OPTIONS | OUTPUT_OPTIONS | DATABASE_OPTIONS | TEXT_OPTIONS
    unclassified = {(command, action.dest) for command in COMMANDS for action in options(command)
                    if action.type is None and action.nargs != 0 and action.dest not in known}
    assert not unclassified


@pytest.mark.parametrize(("command", "dest", "bad"), bad_cases(), ids=lambda value: "-".join(value)
                         if isinstance(value, tuple) else value)
def test_a_bad_file_is_one_line_and_exit_2(command, dest, bad, files, tmp_path, capsys) -> None:
    capsys.readouterr()  # what the fixture printed
    argv = valid_argv(command, files, tmp_path / "out.csv")
    action = next(action for action in options(command) if action.dest == dest)
    if dest in DATABASE_OPTIONS:  # make the command open its database: it does so only for a scenario
        dests = {action.dest for action in options(command)}
        if "save_as" in dests:
            argv += ["--save-as", "New plan"]
        elif "scenario" in dests and "--scenario" not in argv:
            argv += ["--scenario", "Plan"]
    assert_one_line_exit_2(with_value(argv, action, str(files[bad])), capsys)


TYPED = [(command, action) for command in COMMANDS for action in options(command) if action.type is not None]


@pytest.mark.parametrize(("command", "action"), TYPED, ids=[f"{'-'.join(c)}-{a.dest}" for c, a in TYPED])
@pytest.mark.parametrize("value", ["nonsense", "-1e999", "nan", ""])
def test_a_value_an_option_cannot_take_is_one_line_and_exit_2(command, action, value, files, tmp_path,
                                                              capsys) -> None:
    if action.dest == "seed" and value == "":
        value = "1.5"
    if action.dest == "map" and value != "":
        value = "=" + value  # COLUMN=FILE_COLUMN without the column
    argv = valid_argv(command, files, tmp_path / "out.csv")
    assert_one_line_exit_2(with_value(argv, action, value), capsys)


@pytest.mark.parametrize("command", list(COMMANDS), ids="-".join)
def test_an_unknown_option_or_a_missing_argument_is_one_line_and_exit_2(command, files, tmp_path, capsys) -> None:
    argv = valid_argv(command, files, tmp_path / "out.csv")
    assert_one_line_exit_2([*argv, "--no-such-option"], capsys)
    required = [action for action in options(command) if action.required]
    if required:
        assert_one_line_exit_2(list(command), capsys)


CHOICES = [(command, action) for command in COMMANDS for action in options(command) if action.choices]


@pytest.mark.parametrize(("command", "action"), CHOICES, ids=[f"{'-'.join(c)}-{a.dest}" for c, a in CHOICES])
def test_a_choice_an_option_does_not_offer_is_one_line_and_exit_2(command, action, files, tmp_path, capsys) -> None:
    argv = valid_argv(command, files, tmp_path / "out.csv")
    err = assert_one_line_exit_2(with_value(argv, action, "nonsense"), capsys)
    assert "invalid choice: 'nonsense'" in err


def test_the_cli_offers_the_units_the_planning_module_balances() -> None:
    from territory.cli import UNIT_CHOICES
    from territory.planning.units import UNITS

    assert UNIT_CHOICES == UNITS
