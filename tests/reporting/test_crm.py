"""CRM write-back: Salesforce ETM files and the HubSpot import, their columns, formula safety and
a round trip (export, read back, the same assignment)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from territory.cli import main
from territory.data.sample import load_sample
from territory.planning import routing as R
from territory.reporting import crm

IDS = ["001A000001AbCdEAAA", "001A000001ABCDEAAA", "00042", "=HYPERLINK(\"x\")"]


def small() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    accounts = pd.DataFrame({"account_id": IDS, "name": ["Acme", "ACME", "@risk", "-5 Corp"],
                             "territory_id": ["T1", "T1", "T2", "T2"]})
    territories = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "rep_name": ["Ann", "Bob", ""],
                                "region": ["North East", "North East", "07 South"]})
    return accounts, pd.Series(["T1", "T2", "T2", "T3"]), territories


def test_salesforce_files_and_their_columns() -> None:
    accounts, labels, territories = small()
    export = crm.crm_export(accounts, labels, "salesforce", territories)
    assert list(export.files) == ["Territory2.csv", "UserTerritory2Association.csv",
                                  "ObjectTerritory2Association.csv", "README.txt"]
    t2 = pd.read_csv(io.BytesIO(export.files["Territory2.csv"]), dtype=str, keep_default_na=False)
    assert t2.columns.tolist() == ["Name", "DeveloperName", "ParentTerritory2DeveloperName", "Territory2ModelId",
                                   "Territory2TypeId", "Description"]
    assert t2[["Name", "DeveloperName", "ParentTerritory2DeveloperName"]].values.tolist() == [
        ["North East", "North_East", ""], ["07 South", "T_07_South", ""],
        ["T1", "T1", "North_East"], ["T2", "T2", "North_East"], ["T3", "T3", "T_07_South"]]
    users = pd.read_csv(io.BytesIO(export.files["UserTerritory2Association.csv"]), dtype=str, keep_default_na=False)
    assert users.columns.tolist() == ["RepName", "RepEmail", "UserId", "Territory2DeveloperName", "RoleInTerritory2"]
    assert users[["RepName", "Territory2DeveloperName", "RoleInTerritory2"]].values.tolist() == [
        ["Ann", "T1", "Owner"], ["Bob", "T2", "Owner"]]
    objects = pd.read_csv(io.BytesIO(export.files["ObjectTerritory2Association.csv"]), dtype=str,
                          keep_default_na=False)
    assert objects.columns.tolist() == ["ObjectId", "Territory2DeveloperName", "AssociationCause"]
    assert set(objects["AssociationCause"]) == {"Territory2Manual"}
    readme = export.files["README.txt"].decode()
    assert "Territory2ModelId" in readme and "Territory2TypeId" in readme and "VLOOKUP" in readme
    assert zipfile.ZipFile(io.BytesIO(export.to_bytes())).namelist() == list(export.files)


def test_ids_round_trip_exactly_and_cells_are_formula_safe() -> None:
    accounts, labels, territories = small()
    for fmt in ("salesforce", "hubspot"):
        export = crm.crm_export(accounts, labels, fmt, territories)
        back = crm.read_back(export)
        assert back.index.tolist() == IDS  # case kept, leading zeros kept, the formula-like ID restored
        raw = b"".join(data for name, data in export.files.items() if name.endswith(".csv"))
        assert b"'=HYPERLINK" in raw and b"\n=" not in raw and b",=" not in raw
    hubspot = crm.crm_export(accounts, labels, "hubspot", territories).files["hubspot_companies.csv"]
    assert hubspot.splitlines()[0] == b"Record ID,Company name,Company owner"
    assert b"'@risk" in hubspot and b"'-5 Corp" in hubspot


def test_hubspot_owner_is_the_email_then_the_rep_then_the_territory() -> None:
    accounts, labels, territories = small()
    export = crm.crm_export(accounts, labels, "hubspot", territories, rep_emails={"T1": "ann@example.com"})
    assert crm.read_back(export).tolist() == ["ann@example.com", "Bob", "Bob", "T3"]
    reps = pd.DataFrame({"Territory": ["T1", "T2"], "Email Address": ["ann@example.com", ""]})
    assert crm.read_emails(reps) == {"T1": "ann@example.com"}


def test_changed_only_keeps_the_accounts_that_move() -> None:
    accounts, labels, territories = small()
    export = crm.crm_export(accounts, labels, "salesforce", territories, current=accounts["territory_id"],
                            changed_only=True)
    assert crm.read_back(export).to_dict() == {"001A000001ABCDEAAA": "T2", "=HYPERLINK(\"x\")": "T3"}
    assert export.accounts == 2


def test_developer_names_are_valid_and_unique_for_hostile_labels() -> None:
    labels = ["", "_", "1", "é", "a" * 200, "A" * 200, "T-1", "T_1", "t 1", "<script>", "__x__", "x__y"]
    names = crm.developer_names(labels)
    assert all(crm.is_developer_name(n) for n in names), names
    assert len({n.lower() for n in names}) == len(names)


def test_round_trip_of_routed_accounts_gives_the_same_assignment() -> None:
    sample = load_sample()
    labels = sample.accounts["territory_id"]
    base = R.routing_base(sample.accounts, labels, sample.territories)
    new = sample.accounts.sample(300, random_state=1).assign(account_id=lambda f: "N" + f["account_id"])
    routed = R.route(new, R.default_rules(sample.accounts, labels), base).assignment
    everyone = pd.concat([sample.accounts, new], ignore_index=True)
    after = pd.concat([labels, routed["territory_id"]], ignore_index=True)
    export = crm.crm_export(everyone, after, "salesforce", sample.territories)
    back = crm.read_back(export)
    assert back.reindex(everyone["account_id"]).tolist() == after.tolist()


def test_export_crm_cli(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.sqlite")
    assert main(["balance", "--stability", "1", "--save-as", "Plan", "--db", db, "--json"]) == 0
    moved = json.loads(capsys.readouterr().out)["moved_accounts"]
    out = tmp_path / "etm.zip"
    assert main(["export-crm", "--format", "salesforce", "--scenario", "Plan", "--db", db, "--changed-only",
                 "--output", str(out)]) == 0
    assert f"Wrote {moved:,} changed accounts" in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert len(archive.read("ObjectTerritory2Association.csv").splitlines()) == moved + 1
    reps = tmp_path / "reps.csv"
    reps.write_text("territory_id,rep_name,email\nT01,Laura Mitchell,laura@example.com\n")
    assert main(["export-crm", "--format", "hubspot", "--reps", str(reps), "--accounts", "data/accounts.csv",
                 "--output", str(tmp_path / "hs.csv")]) == 0
    text = (tmp_path / "hs.csv").read_text(encoding="utf-8")
    assert text.count("laura@example.com") == int((load_sample().accounts["territory_id"] == "T01").sum())


@pytest.mark.parametrize("args", [["--format", "salesforce", "--output", "x.csv"],
                                  ["--format", "hubspot", "--output", "x.zip"],
                                  ["--format", "pipedrive", "--output", "x.csv"]])
def test_export_crm_refuses_a_mismatched_output(args: list[str], capsys) -> None:
    try:
        code = main(["export-crm", *args])
    except SystemExit as stop:  # argparse's own one-line usage error
        code = stop.code
    assert code == 2
    assert capsys.readouterr().err.count("\n") == 1
