"""`python -m territory assign` and `rules`: every row accounted for, rules from a file or a scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from territory.cli import main

NEW = (
    "Account ID,Account Name,Billing Zip/Postal Code,Industry,Annual Revenue,Website,reason\n"
    "001A000001AbCdEAAA,Acme,2139,Healthcare,\"$1,200,000\",https://acme.com,trade show\n"
    "N2,\"=HYPERLINK(\"\"x\"\")\",10001,Retail,5000,,\n"
    "N3,No location,,Retail,5000,,\n"
    "A000001,Already aligned,10001,Technology,0,,\n"
    "N2,Duplicate,10001,Retail,5,,\n"
    "N5,Honolulu,96813,Energy,10,,\n"
)


@pytest.fixture
def new_file(tmp_path: Path) -> Path:
    path = tmp_path / "new accounts.csv"
    path.write_text(NEW, encoding="utf-8")
    return path


def assign_json(capsys, *args: str) -> dict:
    assert main(["assign", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_row_is_assigned_or_rejected_with_its_row(new_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "routed.csv"
    summary = assign_json(capsys, str(new_file), "--output", str(out))
    assert summary["rows_read"] == 6
    assert summary["assigned"] + len(summary["rejected"]) == summary["rows_read"]
    assert [(r["row"], r["account_id"]) for r in summary["rejected"]] == [(3, "N3"), (5, "N2")]
    assert sum(summary["by_rule"].values()) == summary["assigned"] == 4
    assert summary["by_rule"]["existing"] == 1
    table = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert table.columns[:4].tolist() == ["account_id", "territory_id", "rule", "reason"]
    assert table["account_id"].tolist() == ["001A000001AbCdEAAA", "N2", "A000001", "N5"]
    assert table.loc[2, ["territory_id", "rule"]].tolist() == ["T09", "existing"]  # A000001 is T09 in the sample
    assert table.loc[1, "name"] == "'=HYPERLINK(\"x\")"  # formula-safe
    assert table.loc[0, "postal_code"] == "02139"
    assert table.loc[0, "reason_input"] == "trade show"  # an input column is never dropped


def test_a_rules_file_decides_and_an_account_no_rule_matches_is_rejected(new_file, tmp_path, capsys) -> None:
    rules = tmp_path / "rules.csv"
    rules.write_text("priority,kind,value,territory_id\n1,domain,acme.com,T03\n2,state,NY,T04\n")
    summary = assign_json(capsys, str(new_file), "--rules", str(rules), "--output", str(tmp_path / "o.xlsx"))
    assert summary["by_rule"] == {"existing": 1, "#1 domain acme.com": 1, "#2 state NY": 1}
    assert [r["row"] for r in summary["rejected"]] == [3, 5, 6]
    assert "no rule matched" in summary["rejected"][2]["reason"]
    assert summary["assigned"] + len(summary["rejected"]) == summary["rows_read"]


def test_the_same_file_routes_to_the_same_bytes(new_file: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("a.csv", "b.csv"):
        assert main(["assign", str(new_file), "--output", str(tmp_path / name)]) == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]


def test_bad_rules_are_one_line_naming_the_row(new_file: Path, tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.csv"
    rules.write_text("priority,kind,value,territory_id\n1,state,NY,T04\n2,state,CA,T99\n3,nearest,,\n4,zip,02139,T01\n")
    assert main(["assign", str(new_file), "--rules", str(rules), "--output", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "row 2 (territory_id): territory 'T99'" in err and "row 4 (value)" in err
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("output", ["o.txt", "new accounts.csv"])
def test_a_bad_output_is_refused(new_file: Path, tmp_path: Path, capsys, output: str) -> None:
    assert main(["assign", str(new_file), "--output", str(tmp_path / output)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_rules_saved_with_a_scenario_are_used_by_assign(new_file, tmp_path, capsys) -> None:
    db = str(tmp_path / "s.sqlite")
    assert main(["balance", "--stability", "1", "--save-as", "Plan", "--db", db, "--json"]) == 0
    capsys.readouterr()
    exported = tmp_path / "rules.csv"
    assert main(["rules", "export", "--scenario", "Plan", "--db", db, "--output", str(exported)]) == 0
    assert "(default)" in capsys.readouterr().out
    lines = exported.read_text(encoding="utf-8").splitlines()
    exported.write_text("\n".join([lines[0], "1,industry,Energy,T05", *lines[1:]]) + "\n", encoding="utf-8")
    assert main(["rules", "import", str(exported), "--scenario", "Plan", "--db", db]) == 0
    capsys.readouterr()
    summary = assign_json(capsys, str(new_file), "--scenario", "Plan", "--db", db, "--output", str(tmp_path / "o.csv"))
    assert summary["rules"]["source"] == "scenario"
    assert summary["by_rule"]["#1 industry Energy"] == 1
    again = tmp_path / "again.csv"
    assert main(["rules", "export", "--scenario", "Plan", "--db", db, "--output", str(again)]) == 0
    assert "(scenario)" in capsys.readouterr().out
    assert again.read_text(encoding="utf-8").splitlines()[1] == "1,industry,Energy,T05"


def saved_plan(tmp_path: Path, rules: str, db_name: str = "s.sqlite") -> tuple[str, int]:
    """A scenario 'Plan' of the sample balanced into ``db_name``, then ``rules import`` of ``rules``
    (the CSV body under the header): (the database, the import's exit status)."""
    db = str(tmp_path / db_name)
    assert main(["balance", "--stability", "1", "--save-as", "Plan", "--db", db, "--json"]) == 0
    path = tmp_path / "rules.csv"
    path.write_text("priority,kind,value,territory_id\n" + rules)
    return db, main(["rules", "import", str(path), "--scenario", "Plan", "--db", db])


def test_importing_rules_with_an_unknown_territory_saves_nothing(tmp_path, capsys) -> None:
    db, status = saved_plan(tmp_path, "1,state,NY,T99\n")
    assert status == 2
    assert "row 1 (territory_id)" in capsys.readouterr().err
    from territory.planning.scenarios import ScenarioStore

    assert ScenarioStore(db).load_rules("Plan") is None


def test_rules_travel_in_the_scenario_file_and_route_identically(new_file, tmp_path, capsys) -> None:
    """Export a scenario with rules, import it into another store, route: the same file, byte for byte."""
    here, status = saved_plan(tmp_path, "1,industry,Energy,T05\n2,zip_prefix,100,T02\n3,nearest,,\n", "here.sqlite")
    there = str(tmp_path / "there.sqlite")
    assert status == 0
    zipped = tmp_path / "plan.scenario.zip"
    assert main(["scenario", "export", "Plan", "--db", here, "--output", str(zipped)]) == 0
    assert main(["scenario", "import", str(zipped), "--db", there]) == 0
    assert "(5,000 accounts, with 3 routing rules)" in capsys.readouterr().out
    routed = {}
    for db in (here, there):
        out = tmp_path / f"{Path(db).stem}.csv"
        summary = assign_json(capsys, str(new_file), "--scenario", "Plan", "--db", db, "--output", str(out))
        assert summary["rules"] == {"source": "scenario", "count": 3}
        routed[db] = out.read_bytes()
    assert routed[here] == routed[there]
    assert summary["by_rule"] == {"existing": 1, "#1 industry Energy": 1, "#2 zip_prefix 100": 1, "#3 nearest": 1}


def test_saving_a_new_alignment_over_a_scenario_keeps_its_rules(tmp_path, capsys) -> None:
    db, status = saved_plan(tmp_path, "1,industry,Energy,T05\n")
    assert status == 0
    capsys.readouterr()
    assert main(["balance", "--save-as", "Plan", "--overwrite", "--db", db]) == 0
    assert "Saved scenario 'Plan', kept its 1 routing rule" in capsys.readouterr().out


def test_the_guard_names_territories_full_before_and_no_guard_keeps_every_rule_s_choice(tmp_path, capsys) -> None:
    from territory.data.sample import load_sample

    t06 = load_sample().accounts.query("territory_id == 'T06'").head(20)
    new = tmp_path / "t06.csv"
    t06.assign(account_id="NEW" + t06["account_id"]).drop(columns="territory_id").to_csv(new, index=False)
    guarded = assign_json(capsys, str(new), "--output", str(tmp_path / "g.csv"))
    assert guarded["guard"] is True and "T06" in guarded["full_before"]
    table = pd.read_csv(tmp_path / "g.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(table["reason_code"]) == {"redirected"} and "T06" not in set(table["territory_id"])
    unguarded = assign_json(capsys, str(new), "--no-guard", "--output", str(tmp_path / "u.csv"))
    table = pd.read_csv(tmp_path / "u.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert unguarded["guard"] is False and set(table["territory_id"]) == {"T06"}
    assert set(table["reason_code"]) == {"matched"}
    for summary in (guarded, unguarded):
        assert summary["assigned"] + len(summary["rejected"]) == summary["rows_read"] == 20
    assert main(["assign", str(new), "--output", str(tmp_path / "t.csv")]) == 0
    assert "rebalance first, or pass --no-guard" in capsys.readouterr().out


def test_assign_puts_new_accounts_where_the_geography_zip_table_draws_them(tmp_path, capsys) -> None:
    """#14 item 1: the default rules are the ZIP table's, so ``assign`` and ``geography`` agree, also
    for ZIPs where the alignment has no account (which the nearest account used to decide)."""
    from territory.data.sample import load_sample

    assert main(["geography", "--output", str(tmp_path / "zips.csv")]) == 0
    zips = pd.read_csv(tmp_path / "zips.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    empty = zips[~zips["postal_code"].isin(load_sample().accounts["postal_code"])].sample(200, random_state=8)
    new = tmp_path / "new.csv"
    pd.DataFrame({"Account ID": "N" + empty["postal_code"], "Billing Zip/Postal Code": empty["postal_code"],
                  "Industry": "Retail", "Annual Revenue": "1000"}).to_csv(new, index=False)
    capsys.readouterr()
    summary = assign_json(capsys, str(new), "--no-guard", "--output", str(tmp_path / "routed.csv"))
    assert summary["rules"] == {"source": "default", "count": 2_854}
    routed = pd.read_csv(tmp_path / "routed.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    want = zips.set_index("postal_code")["territory_id"]
    assert routed["territory_id"].tolist() == want.reindex(routed["postal_code"]).tolist()
    assert summary["assigned"] == len(routed) >= 190  # military ZIPs have no location: rejected
