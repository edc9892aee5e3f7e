"""Salesforce and HubSpot exports (#16): account types, picklists, company revenue, city fallback,
and balancing by account type (counted accounts balanced, shown-apart ones placed after)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.balance import BalanceParams
from territory.cli import main
from territory.data import schema as S
from territory.data.geocode import city_centroids, zip_centroids
from territory.data.io import load_accounts
from territory.data.workload import MEETING_HOURS, derive_workload_hours
from territory.errors import ParameterError
from territory.planning.account_types import (
    NO_TYPE,
    balance_by_type,
    counted_mask,
    describe_counted,
    parse_types,
    type_counts,
)


def write(tmp_path: Path, text: str, name: str = "crm.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reasons(issues, row: int) -> list[str]:
    return [issue.reason for issue in issues if issue.row == row]


# --- account types ------------------------------------------------------------------------------

SALESFORCE = (
    "Account ID,Account Name,Type,Billing Zip/Postal Code,Account Owner\n"
    "1,Acme,Customer - Direct,02139,Ana\n"
    "2,Beta,Customer - Channel,02139,Ana\n"
    "3,Gamma,Prospect,10001,Bo\n"
    "4,Delta,Channel Partner / Reseller,10001,Bo\n"
    "5,Eps,Technology Partner,60601,Bo\n"
    "6,Zeta,Friend of the CEO,60601,Ana\n"
    "7,Eta,,60601,Ana\n"
)


def test_salesforce_types_are_read_into_the_documented_set(tmp_path):
    result = load_accounts(write(tmp_path, SALESFORCE))
    kinds = result.accounts[S.ACCOUNT_TYPE].tolist()
    assert kinds == ["Customer", "Customer", "Prospect", "Partner", "Partner", "Friend of the CEO", pd.NA]
    assert reasons(result.report.warnings, 6) == [
        "account_type 'Friend of the CEO' is not a known account type (Customer, Prospect, Partner, Vendor, "
        "Former customer, Other): kept as written; choose whether it counts for balancing on the Rebalance page "
        "or with --types"
    ]
    assert "account_type: 1 row with 1 unknown value kept as written: 'Friend of the CEO' (1)." in result.report.notes


def test_hubspot_lifecycle_stages_are_types(tmp_path):
    text = "Record ID,Postal Code,Lifecycle Stage\n" + "".join(
        f"{i},02139,{stage}\n"
        for i, stage in enumerate(["customer", "salesqualifiedlead", "Marketing Qualified Lead", "lead",
                                   "evangelist", "other", "PARTNER", "subscriber"], start=1)
    )
    result = load_accounts(write(tmp_path, text))
    assert result.report.mapping[S.ACCOUNT_TYPE] == "Lifecycle Stage"
    assert result.accounts[S.ACCOUNT_TYPE].tolist() == [
        "Customer", "Prospect", "Prospect", "Prospect", "Customer", "Other", "Partner", "Prospect"]
    assert result.report.warnings == []


def test_a_file_without_types_has_no_type_column_and_every_account_counts(tmp_path):
    result = load_accounts(write(tmp_path, "account_id,postal_code\nA1,02139\n"))
    assert S.ACCOUNT_TYPE not in result.accounts
    assert counted_mask(result.accounts, ("Customer",)).tolist() == [False]  # no type: counted only by default
    assert counted_mask(result.accounts, ("Customer", NO_TYPE)).tolist() == [True]


# --- industries ---------------------------------------------------------------------------------


def test_hubspot_industry_codes_and_salesforce_picklist_read_as_industries(tmp_path):
    text = "Record ID,Postal Code,Industry\n" + "".join(
        f"{i},02139,{code}\n"
        for i, code in enumerate(["COMPUTER_SOFTWARE", "HOSPITAL_HEALTH_CARE", "BANKING", "RETAIL",
                                  "Food & Beverage", "NON_PROFIT_ORGANIZATION_MANAGEMENT", "financial services",
                                  "Widgets", "Widgets", "Gizmos"], start=1)
    )
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.INDUSTRY].tolist() == [
        "Computer Software", "Hospital & Health Care", "Banking", "Retail", "Food & Beverage",
        "Non-Profit Organization Management", "Financial Services", "Widgets", "Widgets", "Gizmos"]
    assert [w.row for w in result.report.warnings] == [8, 9, 10]
    assert "industry: 3 rows with 2 unknown values kept as written: 'Widgets' (2), 'Gizmos' (1)." in (
        result.report.notes)


def test_every_hubspot_industry_code_has_a_readable_label():
    from territory.data.picklists import HUBSPOT_INDUSTRIES

    assert len(HUBSPOT_INDUSTRIES) == 147
    assert all(label and "_" not in label and label != code for code, label in HUBSPOT_INDUSTRIES.items())


def test_a_picklist_industry_gets_its_sector_hours_in_the_workload_rule():
    one = pd.Series([0.0])
    industry = pd.Series(["Computer Software"])
    hours = derive_workload_hours(one, industry, pd.Series([np.nan]), pd.Series([np.nan]))
    assert hours.iloc[0] == pytest.approx(1 * (MEETING_HOURS["Technology"] + 2.0))  # tier D, rural


# --- company revenue ----------------------------------------------------------------------------

COMPANY = (
    "Account ID,Billing Zip/Postal Code,Annual Revenue,Industry\n"
    'A1,02139,"$50,000,000",Technology\n'
    "A2,10001,200000,Retail\n"
)


def test_annual_revenue_is_the_companys_own_revenue_not_ours(tmp_path):
    result = load_accounts(write(tmp_path, COMPANY))
    accounts = result.accounts
    assert accounts[S.COMPANY_REVENUE].tolist() == [50_000_000.0, 200_000.0]
    assert accounts[S.REVENUE].tolist() == [0.0, 0.0]
    assert accounts[S.POTENTIAL].tolist() == [0.0, 0.0]  # not theirs: ours is unknown
    assert any(n.startswith("company_revenue taken from 'Annual Revenue'") for n in result.report.notes)


def test_without_revenue_or_potential_the_potential_is_unknown_not_estimated(tmp_path):
    """0 revenue x the wallet multiplier is not an estimate: the rows are marked unknown, the note says
    so, and neither the measure choices nor the engine balance on that column of zeros."""
    from territory.balance import balance
    from territory.data.measures import potential_unknown_share, usable_measures

    result = load_accounts(write(tmp_path, COMPANY))
    accounts = result.accounts
    assert accounts[S.POTENTIAL_UNKNOWN].tolist() == [True, True]
    assert S.POTENTIAL_ESTIMATED not in accounts  # nothing was estimated
    assert potential_unknown_share(accounts) == 1.0
    notes = [n for n in result.report.notes if n.startswith("potential unknown for 2 rows")]
    assert len(notes) == 1 and "neither potential nor revenue" in notes[0]
    assert not any(n.startswith("potential derived") for n in result.report.notes)
    assert usable_measures(accounts) == ("workload", "accounts")
    with pytest.raises(ParameterError, match="cannot balance on potential: it is unknown for every account"):
        balance(accounts.assign(**{S.TERRITORY_ID: ["T1", "T2"]}),
                BalanceParams(n_territories=2, balance_on="potential"))


def test_a_blank_revenue_leaves_that_row_unknown_and_the_others_estimated(tmp_path):
    text = "Account ID,Billing Zip/Postal Code,revenue,Industry\nA1,02139,100000,Retail\nA2,10001,,Retail\n"
    accounts = load_accounts(write(tmp_path, text)).accounts
    assert accounts[S.POTENTIAL].tolist() == [200_000.0, 0.0]  # Retail's wallet multiplier is 2.0
    assert accounts[S.POTENTIAL_ESTIMATED].tolist() == [True, False]
    assert accounts[S.POTENTIAL_UNKNOWN].tolist() == [False, True]
    from territory.data.measures import usable_measures

    assert "potential" in usable_measures(accounts)  # one known value: the measure stays, the page says 50%


def test_annual_revenue_becomes_potential_only_when_mapped_so(tmp_path):
    result = load_accounts(write(tmp_path, COMPANY), mapping={S.POTENTIAL: "Annual Revenue"})
    assert result.accounts[S.POTENTIAL].tolist() == [50_000_000.0, 200_000.0]
    assert S.COMPANY_REVENUE not in result.accounts


def test_cli_map_option_maps_annual_revenue_to_potential(tmp_path, capsys):
    path = write(tmp_path, COMPANY)
    assert main(["check", str(path), "--json", "--map", "potential=Annual Revenue"]) == 0
    assert json.loads(capsys.readouterr().out)["mapping"][S.POTENTIAL] == "Annual Revenue"
    with pytest.raises(SystemExit):  # argparse: one line naming the expected form, exit 2
        main(["check", str(path), "--map", "nonsense"])
    assert "--map takes COLUMN=FILE_COLUMN" in capsys.readouterr().err


# --- location fallback --------------------------------------------------------------------------


def test_bad_or_missing_zip_with_city_and_state_is_placed_at_the_city_centre(tmp_path):
    text = (
        "Account ID,Billing City,Billing State/Province,Billing Zip/Postal Code\n"
        "A1,Cambridge,MA,99999\n"
        "A2,saint louis,Missouri,\n"
        "A3,Nowhere,MO,\n"
        "A4,Cambridge,,1234x\n"
        "A5,Cambridge,MA,02139\n"
    )
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.ACCOUNT_ID].tolist() == ["A1", "A2", "A5"]
    cambridge = city_centroids(pd.Series(["Cambridge"]), pd.Series(["MA"])).iloc[0]
    assert result.accounts.loc[0, S.LATITUDE] == pytest.approx(cambridge["latitude"])
    assert result.accounts.loc[2, S.LATITUDE] == pytest.approx(zip_centroids(pd.Series(["02139"]))["latitude"][0])
    assert reasons(result.report.warnings, 1) == [
        f"ZIP '99999' has no known location: placed at the centre of Cambridge, MA (mean of its "
        f"{cambridge['zips']} ZIP centroids); fix the ZIP for an exact location"]
    assert reasons(result.report.warnings, 2)[0].startswith("no ZIP: placed at the centre of Saint Louis, MO")
    assert reasons(result.report.rejected, 3) == [
        "no coordinates and no ZIP: add latitude/longitude or a 5-digit US ZIP; city 'Nowhere', MO is not in the "
        "US ZIP list either"]
    assert [i.row for i in result.report.rejected] == [3, 4]  # A4: no state, nothing locates it
    assert any(n.startswith("2 rows without a usable ZIP (row 1, 2) placed at the centre of their city")
               for n in result.report.notes)


# --- balancing by type --------------------------------------------------------------------------


def typed_accounts() -> pd.DataFrame:
    """Two clusters (T1 east, T2 west) of customers, and partners among them."""
    rows = []
    for t, (lat, lon) in (("T1", (40.7, -74.0)), ("T2", (34.0, -118.2))):
        for i in range(10):
            rows.append({S.ACCOUNT_ID: f"{t}-{i}", S.LATITUDE: lat + i * 0.01, S.LONGITUDE: lon + i * 0.01,
                         S.WORKLOAD_HOURS: 10.0, S.TERRITORY_ID: t, S.ACCOUNT_TYPE: "Customer"})
    rows.append({S.ACCOUNT_ID: "P1", S.LATITUDE: 40.75, S.LONGITUDE: -74.02, S.WORKLOAD_HOURS: 1000.0,
                 S.TERRITORY_ID: "T1", S.ACCOUNT_TYPE: "Partner"})
    rows.append({S.ACCOUNT_ID: "P2", S.LATITUDE: 34.05, S.LONGITUDE: -118.25, S.WORKLOAD_HOURS: 1000.0,
                 S.TERRITORY_ID: "GONE", S.ACCOUNT_TYPE: "Partner"})
    frame = pd.DataFrame(rows)
    frame[S.TERRITORY_ID] = frame[S.TERRITORY_ID].astype("string")
    return frame


def test_shown_apart_accounts_carry_no_load_and_keep_or_join_a_territory():
    accounts = typed_accounts()
    result = balance_by_type(accounts, BalanceParams(n_territories=2), counted=("Customer",))
    assignment = result.assignment
    assert assignment.index.equals(accounts.index)
    labels = assignment.set_index(S.ACCOUNT_ID)[S.TERRITORY_ID]
    assert labels["P1"] == "T1"  # its territory still exists
    assert labels["P2"] == labels["T2-0"]  # 'GONE' does not: the nearest counted account's
    assert "not counted for balancing; placed with the nearest counted account" in (
        assignment.set_index(S.ACCOUNT_ID).loc["P2", "reason"])
    # 1,000 h partners would unbalance everything if they counted: the engine saw 100 h per territory
    assert sorted(result.load.round(6).tolist()) == [100.0, 100.0]


def test_no_counted_account_is_a_clear_error():
    with pytest.raises(ParameterError, match="No account counts for balancing"):
        balance_by_type(typed_accounts(), BalanceParams(n_territories=2), counted=("Vendor",))


def test_types_choice_helpers():
    accounts = typed_accounts()
    assert type_counts(accounts).to_dict() == {"Customer": 20, "Partner": 2}
    assert parse_types("customer, no type") == ("Customer", NO_TYPE)
    assert parse_types("ALL") == ("all",)
    with pytest.raises(ParameterError, match="'Friends' is not an account type"):
        parse_types("Friends")
    assert describe_counted(accounts, ("Customer",)) == (
        "Figures count 20 of 22 accounts (Customer); 2 shown apart (Partner: 2) get a territory but carry no load.")


def test_cli_balance_types(tmp_path, capsys):
    path = tmp_path / "typed.csv"
    typed_accounts().to_csv(path, index=False)
    assert main(["balance", str(path), "-k", "2", "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert (default["counted_accounts"], default["shown_apart"]) == (20, {"Partner": 2})
    assert default["scorecard"]["accounts"] == 20
    assert main(["balance", str(path), "-k", "2", "--json", "--types", "all"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert (everything["counted_accounts"], everything["shown_apart"]) == (22, {})
    assert main(["balance", str(path), "-k", "2", "--types", "vendor"]) == 2
    assert "No account counts for balancing" in capsys.readouterr().err


def test_a_shown_apart_account_outside_its_redrawn_territory_joins_the_nearest_instead_of_staying_an_island():
    """Walking the app with a Salesforce file (#16): a partner in Idaho kept its owner's territory, now
    drawn around the Carolinas, and made an island across the country."""
    from territory.planning.account_types import place_shown_apart

    accounts = pd.DataFrame({
        S.ACCOUNT_ID: ["C1", "C2", "C3", "C4", "P_IN", "P_FAR", "P_NOWHERE"],
        S.LATITUDE: [35.2, 35.8, 43.6, 43.7, 35.5, 43.65, np.nan],
        S.LONGITUDE: [-80.8, -78.6, -116.2, -116.3, -79.5, -116.25, np.nan],
        S.ACCOUNT_TYPE: ["Customer"] * 4 + ["Partner"] * 3,
    })
    mask = (accounts[S.ACCOUNT_TYPE] == "Customer").to_numpy()
    labels = pd.Series(["EAST", "EAST", "WEST", "WEST"], index=accounts.index[mask])
    previous = pd.Series(["EAST"] * 7, index=accounts.index)  # the owner's territory, before the redraw
    territory, reason = place_shown_apart(accounts, mask, labels, previous)
    assert territory.tolist() == ["EAST", "WEST", "EAST"]  # inside its span; Idaho; no coordinates: stays
    assert "stays in its territory EAST" in reason.iloc[0] and "nearest counted account (WEST)" in reason.iloc[1]


def test_an_owner_with_a_handful_of_accounts_is_named_in_a_note():
    """Walking the app with a dirty Salesforce file: a stray owner on one row ('=cmd|calc') became a
    territory with a full-time rep and lowered every other target, without a word on the Data page."""
    from territory.data.io import load_accounts

    rows = ["Account ID,Account Owner,Billing Zip/Postal Code"]
    rows += [f"{owner[0]}{i},{owner},02139" for owner in ("Ana Ortiz", "Bo Li", "Cy Park") for i in range(30)]
    rows += ["D0,=cmd|calc,02139"]
    loaded = load_accounts(io.BytesIO("\n".join(rows).encode()))
    note = next(n for n in loaded.report.notes if "under a tenth" in n)
    assert "'=cmd|calc' (1)" in note and "median owner's 30 accounts" in note
    assert len(loaded.accounts) == 91  # a note, not a rejection: no data is lost
