"""`python -m territory check FILE [--json]`: the report on the terminal, errors in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from territory.cli import main

REPO = Path(__file__).resolve().parents[1]
ACCOUNTS = (
    "Account ID,Account Name,Billing Zip/Postal Code,Revenue,Account Owner\n"
    'A1,Acme,02139-4307,"$1,000",Alice\n'
    "A2,Beta,2139,(500),Bob\n"
    "A3,Gamma,1234x,10,Bob\n"
    "A1,Acme again,10001,5,Alice\n"
)


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "crm export.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "territory", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
    )


def test_check_json_in_a_subprocess(accounts_file):
    completed = run_cli("check", str(accounts_file), "--json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert (report["rows_read"], report["rows_loaded"], report["rows_rejected"]) == (4, 2, 2)
    assert report["rejected"] == [
        {
            "row": 3,
            "account_id": "A3",
            "field": "postal_code",
            "reason": "no coordinates and ZIP '1234x' is not a US ZIP: add latitude/longitude or a 5-digit ZIP",
        },
        {
            "row": 4,
            "account_id": "A1",
            "field": "account_id",
            "reason": "duplicate account_id (first in row 1): IDs must be unique and rows are never merged; "
            "fix the ID or delete this copy",
        },
    ]
    warned = {(w["row"], w["field"]) for w in report["warnings"]}
    assert warned == {(1, "account_id"), (2, "postal_code"), (2, "revenue")}
    assert set(report["warnings"][0]) == {"row", "account_id", "field", "reason"}
    assert report["mapping"]["territory_id"] == "Account Owner"


def test_check_text_report_in_a_subprocess(accounts_file):
    completed = run_cli("check", str(accounts_file))
    assert completed.returncode == 0, completed.stderr
    assert "rows read:" in completed.stdout and "rows rejected:            2" in completed.stdout
    assert "row 3 [A3] postal_code: no coordinates and ZIP '1234x'" in completed.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "file not found"), (b"", "is empty"), (bytes(range(256)) * 8, "binary")],
)
def test_unreadable_file_exits_non_zero_with_one_line(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_bytes(content)
    completed = run_cli("check", str(path), "--json")
    assert completed.returncode != 0
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and expected in completed.stderr
    assert "Traceback" not in completed.stderr


def test_check_through_main(accounts_file, capsys):
    assert main(["check", str(accounts_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows_read"] == report["rows_loaded"] + report["rows_rejected"] == 4


def test_main_reports_unreadable_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.xlsx")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: file not found") and captured.err.count("\n") == 1


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_reader_that_left_ends_the_command_quietly(accounts_file, extra):
    """`check FILE | head`: stdout is a pipe nobody reads, as after head has exited."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "territory", "check", str(accounts_file), *extra], stdout=write_end,
            stderr=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
        )
    finally:
        os.close(write_end)
    assert completed.stderr == ""  # was a BrokenPipeError traceback
    assert completed.returncode == 141  # what a shell shows for a program stopped by SIGPIPE


def test_check_dev_zero_is_one_line(monkeypatch, capsys):
    from territory.data import io as territory_io

    monkeypatch.setattr(territory_io, "MAX_STREAM_BYTES", 2**20)  # the real limit, 512 MiB, takes a second
    assert main(["check", "/dev/zero"]) == 2  # was: read until memory ran out
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: /dev/zero is not a regular file and holds more than 1,048,576 bytes")
