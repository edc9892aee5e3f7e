"""Importing CRM exports: every quirk, every row accounted for, problems named with what to do."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory.data import schema as S
from territory.data.io import (
    LoadResult,
    accounts_from_frame,
    format_report,
    load_accounts,
    load_bookings,
    load_territories,
    parse_flag,
    parse_money,
    read_table,
    suggest_mapping,
)
from territory.errors import DataError

HEADER = "account_id,name,postal_code,revenue\n"


def write(tmp_path: Path, text: str | bytes, name: str = "accounts.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def assert_every_row_accounted_for(result: LoadResult) -> None:
    report = result.report
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert report.rows_loaded == len(result.accounts)
    assert report.rows_rejected == len(report.rejected) == len(result.rejected_rows)


def reasons(issues, row: int) -> list[str]:
    return [issue.reason for issue in issues if issue.row == row]


# --- encodings, delimiters, line endings -------------------------------------------------------


def test_utf8_with_unicode_names(tmp_path):
    text = HEADER + 'A1,Zürich Labs,02139,10\nA2,北京科技 😀,10001,20\nA3,"O\'Brien, ""Q"" & Co",90210,30\n'
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.NAME].tolist() == ["Zürich Labs", "北京科技 😀", 'O\'Brien, "Q" & Co']
    assert "encoding utf-8" in result.report.notes[0]
    assert_every_row_accounted_for(result)


def test_utf8_bom_does_not_stick_to_the_first_column_name(tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER + "A1,Acme,02139,10\n")
    raw = read_table(path)
    assert list(raw.columns) == ["account_id", "name", "postal_code", "revenue"]
    result = load_accounts(path)
    assert result.accounts[S.ACCOUNT_ID].tolist() == ["A1"]
    assert "with BOM" in result.report.notes[0]


def test_cp1252_from_excel_on_windows(tmp_path):
    path = write(tmp_path, HEADER + "A1,Café Müller,02139,10\nA2,Señor Niño’s,10001,5\n", encoding="cp1252")
    result = load_accounts(path)
    assert result.accounts[S.NAME].tolist() == ["Café Müller", "Señor Niño’s"]
    assert "cp1252" in result.report.notes[0]


def test_latin1_is_the_last_resort(tmp_path):
    # 0x81 is undefined in cp1252, so only latin-1 can decode this file.
    path = write(tmp_path, HEADER.encode() + b"A1,Caf\xe9 \x81,02139,10\n")
    result = load_accounts(path)
    assert result.accounts[S.NAME].iloc[0] == "Café \x81"
    assert any("latin-1" in note for note in result.report.notes)


def test_utf16_tab_separated_unicode_text_from_excel(tmp_path):
    text = "account_id\tname\tpostal_code\nA1\tÅngström AB\t02139\n"
    result = load_accounts(write(tmp_path, text, encoding="utf-16"))
    assert result.accounts[S.NAME].tolist() == ["Ångström AB"]


def test_crlf_line_endings(tmp_path):
    path = write(tmp_path, "account_id,name,postal_code\r\nA1,Acme,02139\r\nA2,Beta,10001\r\n")
    raw = read_table(path)
    assert list(raw.columns) == ["account_id", "name", "postal_code"]
    assert raw["postal_code"].tolist() == ["02139", "10001"]
    result = load_accounts(path)
    assert result.accounts[S.POSTAL_CODE].tolist() == ["02139", "10001"]


def test_quoted_newlines_keep_rows_and_row_numbers_straight(tmp_path):
    text = HEADER + 'A1,"Acme\r\nEast Campus",02139,10\nA2,Beta,1234x,20\n'
    result = load_accounts(write(tmp_path, text))
    assert result.report.rows_read == 2
    assert result.accounts[S.NAME].tolist() == ["Acme\r\nEast Campus"]
    assert [issue.row for issue in result.report.rejected] == [2]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    text = "\n".join(
        delimiter.join(cells)
        for cells in (["account_id", "name", "postal_code", "revenue"], ["A1", "Acme, Inc.", "02139", "1234,50"])
    )
    result = load_accounts(write(tmp_path, text + "\n"))
    assert result.accounts[S.NAME].tolist() == ["Acme, Inc."]
    assert result.accounts[S.REVENUE].tolist() == [1234.5]


def test_semicolon_file_with_decimal_commas_and_thousand_dots(tmp_path):
    text = "Kundennummer;account_id;name;postal_code;revenue\n1;A1;Müller GmbH;10001;1.234.567,89\n"
    result = load_accounts(write(tmp_path, text, encoding="cp1252"))
    assert result.accounts[S.REVENUE].tolist() == [1234567.89]
    assert result.accounts["Kundennummer"].tolist() == ["1"]


def test_excel_sep_hint_line(tmp_path):
    result = load_accounts(write(tmp_path, "sep=;\naccount_id;postal_code\nA1;02139\n"))
    assert result.accounts[S.ACCOUNT_ID].tolist() == ["A1"]


def test_cells_stay_text_so_leading_zeros_and_ids_survive(tmp_path):
    raw = read_table(write(tmp_path, "account_id,postal_code,revenue\n007,02139,1e3\n"))
    assert raw.iloc[0].tolist() == ["007", "02139", "1e3"]


# --- sources ------------------------------------------------------------------------------------


def test_read_table_accepts_path_string_bytes_and_file_objects(tmp_path):
    text = HEADER + "A1,Acme,02139,10\n"
    path = write(tmp_path, text)
    expected = read_table(path)
    pd.testing.assert_frame_equal(read_table(str(path)), expected)
    pd.testing.assert_frame_equal(read_table(text.encode()), expected)
    upload = io.BytesIO(text.encode())
    upload.read()  # a half-read upload is rewound
    pd.testing.assert_frame_equal(read_table(upload, filename="upload.csv"), expected)


def test_load_accounts_from_bytes_with_filename():
    result = load_accounts((HEADER + "A1,Acme,02139,10\n").encode(), filename="crm.csv")
    assert result.report.rows_loaded == 1
    assert "'crm.csv'" in result.report.notes[0]


# --- unreadable input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "is empty"),
        (b"\r\n\r\n  \n", "blank.csv", "is empty"),
        (bytes(range(256)) * 40, "junk.csv", "binary"),
        (b"1,2,3\n4,5,6\n", "numbers.csv", "no header"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", ".xls"),
        (b"PK\x03\x04not really a zip", "broken.xlsx", "not a readable XLSX"),
    ],
)
def test_unreadable_files_raise_data_error_with_a_one_line_fix(tmp_path, content, name, message):
    with pytest.raises(DataError) as error:
        load_accounts(write(tmp_path, content, name=name))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_accounts(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_accounts(tmp_path)


def test_file_without_an_id_or_a_location_column_cannot_be_loaded(tmp_path):
    with pytest.raises(DataError, match="no account ID column"):
        load_accounts(write(tmp_path, "name,postal_code\nAcme,02139\n"))
    with pytest.raises(DataError, match="no location columns"):
        load_accounts(write(tmp_path, "account_id,name\nA1,Acme\n"))
    with pytest.raises(DataError, match="longitude column missing"):
        load_accounts(write(tmp_path, "account_id,latitude\nA1,42\n"))


def test_header_only_file_loads_zero_rows(tmp_path):
    result = load_accounts(write(tmp_path, HEADER))
    assert (result.report.rows_read, result.report.rows_loaded) == (0, 0)
    assert list(result.accounts.columns[: len(S.ACCOUNT_COLUMNS)]) == list(S.ACCOUNT_COLUMNS)
    assert any("no data rows" in note for note in result.report.notes)


# --- column mapping -------------------------------------------------------------------------

SALESFORCE = [
    "Account ID",
    "Account Name",
    "Billing Street",
    "Billing City",
    "Billing State/Province",
    "Billing Zip/Postal Code",
    "Billing Country",
    "Billing Latitude",
    "Billing Longitude",
    "Industry",
    "Annual Revenue",
    "Account Owner",
    "Type",
]
HUBSPOT = [
    "Record ID",
    "Company name",
    "Company owner",
    "Create Date",
    "City",
    "State/Region",
    "Postal Code",
    "Country/Region",
    "Industry",
    "Annual Revenue",
    "Lifecycle Stage",
]


def test_salesforce_account_export_headers():
    assert suggest_mapping(SALESFORCE) == {
        S.ACCOUNT_ID: "Account ID",
        S.NAME: "Account Name",
        S.LATITUDE: "Billing Latitude",
        S.LONGITUDE: "Billing Longitude",
        S.POSTAL_CODE: "Billing Zip/Postal Code",
        S.CITY: "Billing City",
        S.STATE: "Billing State/Province",
        S.COUNTRY: "Billing Country",
        S.INDUSTRY: "Industry",
        S.TERRITORY_ID: "Account Owner",
        S.COMPANY_REVENUE: "Annual Revenue",  # the customer's own revenue, not ours (#16)
        S.ACCOUNT_TYPE: "Type",
    }


def test_hubspot_company_export_headers():
    assert suggest_mapping(HUBSPOT) == {
        S.ACCOUNT_ID: "Record ID",
        S.NAME: "Company name",
        S.POSTAL_CODE: "Postal Code",
        S.CITY: "City",
        S.STATE: "State/Region",
        S.COUNTRY: "Country/Region",
        S.INDUSTRY: "Industry",
        S.TERRITORY_ID: "Company owner",
        S.COMPANY_REVENUE: "Annual Revenue",
        S.ACCOUNT_TYPE: "Lifecycle Stage",
    }


def test_mapping_ignores_case_spaces_and_punctuation_and_prefers_territory_over_owner():
    mapping = suggest_mapping(["ACCOUNT_ID", "zip code", "Lat", "LNG", "Territory", "Owner", "Workload (hours)"])
    assert mapping == {
        S.ACCOUNT_ID: "ACCOUNT_ID",
        S.LATITUDE: "Lat",
        S.LONGITUDE: "LNG",
        S.POSTAL_CODE: "zip code",
        S.WORKLOAD_HOURS: "Workload (hours)",
        S.TERRITORY_ID: "Territory",
    }


def test_salesforce_file_loads_and_says_owner_keys_the_alignment(tmp_path):
    rows = [
        SALESFORCE,
        [
            "001A",
            "Acme",
            "1 Main St",
            "",
            "Massachusetts",
            "02139",
            "USA",
            "",
            "",
            "Healthcare",
            "$1,200,000.00",
            "Alice Smith",
            "Customer",
        ],
    ]
    result = load_accounts(write(tmp_path, _csv_text(rows)))
    account = result.accounts.iloc[0]
    assert account[S.TERRITORY_ID] == "Alice Smith"
    assert (account[S.CITY], account[S.STATE], account[S.COUNTRY]) == ("Cambridge", "MA", "US")
    assert account["Billing Street"] == "1 Main St" and account[S.ACCOUNT_TYPE] == "Customer"
    assert any("keyed by owner" in note for note in result.report.notes)


def test_user_mapping_overrides_and_unmaps(tmp_path):
    text = "id,Company,Account Name,zip,Owner,Territory\nA1,Acme Corp,acme,02139,Alice,T1\n"
    path = write(tmp_path, text)
    result = load_accounts(path, mapping={S.NAME: "Company", S.TERRITORY_ID: "Owner"})
    assert result.report.mapping[S.NAME] == "Company"
    assert result.accounts[S.NAME].tolist() == ["Acme Corp"]
    assert result.accounts[S.TERRITORY_ID].tolist() == ["Alice"]
    assert result.accounts["Account Name"].tolist() == ["acme"]  # unmapped columns are carried through
    unmapped = load_accounts(path, mapping={S.TERRITORY_ID: ""})
    assert unmapped.accounts[S.TERRITORY_ID].isna().all()


def test_mapping_to_a_missing_column_names_it(tmp_path):
    path = write(tmp_path, HEADER + "A1,Acme,02139,10\n")
    with pytest.raises(DataError, match="'Billing Zip'.*not in the file"):
        load_accounts(path, mapping={S.POSTAL_CODE: "Billing Zip"})
    with pytest.raises(DataError, match="'zip'.*not a column of the schema"):
        load_accounts(path, mapping={"zip": "postal_code"})
    with pytest.raises(DataError, match="column 'name' for account_id and name: pick one"):
        load_accounts(path, mapping={S.ACCOUNT_ID: "name", S.NAME: "name"})


def test_extra_columns_are_carried_through_and_renamed_only_on_clash(tmp_path):
    text = "account_id,Company,name,postal_code,Notes\nA1,Acme,old name,02139,call back\n"
    result = load_accounts(write(tmp_path, text), mapping={S.NAME: "Company"})
    columns = list(result.accounts.columns)
    assert columns[: len(S.ACCOUNT_COLUMNS)] == list(S.ACCOUNT_COLUMNS)
    # then the flags of the values the rule estimated and of the unknown potential (#16), then the extra input columns
    assert columns[len(S.ACCOUNT_COLUMNS) :] == [S.WORKLOAD_ESTIMATED, S.POTENTIAL_UNKNOWN, "name_input", "Notes"]
    assert result.accounts["name_input"].tolist() == ["old name"]
    assert any("'name' -> 'name_input'" in note for note in result.report.notes)


# --- values -------------------------------------------------------------------------------------


def test_parse_money_formats():
    values, unreadable = parse_money(
        pd.Series(["$1,234,567.00", "1.2M", "(1,000)", "€ 12 000", "", "250k", "1.234,5", "USD 7", "n/a", "12abc"])
    )
    expected = [1234567.0, 1.2e6, -1000.0, 12000.0, np.nan, 250000.0, 1234.5, 7.0, np.nan, np.nan]
    np.testing.assert_allclose(values, expected)
    assert unreadable.tolist() == [False] * 9 + [True]


def test_parse_flag():
    values, unreadable = parse_flag(pd.Series(["true", "FALSE", "Yes", "no", "1", "0", "x", "y", "", "maybe"]))
    assert values.tolist() == [True, False, True, False, True, False, True, True, False, False]
    assert unreadable.tolist() == [False] * 9 + [True]


def test_money_revenue_negative_and_unreadable(tmp_path):
    text = HEADER + 'A1,a,02139,"$1,234,567.00"\nA2,b,02139,(1000)\nA3,c,02139,lots\nA4,d,02139,\n'
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.REVENUE].tolist() == [1234567.0, 0.0, 0.0, 0.0]
    warnings = result.report.warnings
    assert "'(1000)' is negative: counted as 0" in reasons(warnings, 2)[0]
    assert "'lots' is not a number" in reasons(warnings, 3)[0]
    assert reasons(warnings, 4) == []  # a blank is missing, not wrong
    assert any("revenue counted as 0 for 2 rows" in note for note in result.report.notes)


def test_missing_workload_and_potential_are_derived_by_the_documented_rule(tmp_path):
    from territory.data.workload import derive_potential, derive_workload_hours

    text = (
        "account_id,postal_code,industry,revenue,potential,workload_hours\n"
        "A1,02139,Healthcare,500000,,\nA2,10001,Retail,100,2000000,40\n"
    )
    accounts = load_accounts(write(tmp_path, text)).accounts
    expected_potential = derive_potential(pd.Series([500000.0]), pd.Series(["Healthcare"]))
    assert accounts[S.POTENTIAL].tolist() == [expected_potential.iloc[0], 2_000_000.0]
    expected_hours = derive_workload_hours(
        expected_potential, pd.Series(["Healthcare"]), accounts[S.LATITUDE].iloc[:1], accounts[S.LONGITUDE].iloc[:1]
    )
    assert accounts[S.WORKLOAD_HOURS].tolist() == [expected_hours.iloc[0], 40.0]


def test_derivation_note_counts_rows(tmp_path):
    text = HEADER + "".join(f"A{i},n,02139,{i * 1000}\n" for i in range(1, 1201))
    notes = load_accounts(write(tmp_path, text)).report.notes
    assert any(
        note.startswith("workload_hours derived by the documented rule") and "1,200 rows" in note for note in notes
    )
    assert any(note.startswith("potential derived by the documented rule") for note in notes)


def test_locked_country_and_industry(tmp_path):
    text = (
        "account_id,postal_code,locked,country,industry\n"
        "A1,02139,yes,United States,healthcare\nA2,02139,0,U.S.,\nA3,02139,maybe,USA,Biotech\nA4,02139,X,,\n"
    )
    result = load_accounts(write(tmp_path, text))
    accounts = result.accounts
    assert accounts[S.LOCKED].tolist() == [True, False, False, True]
    assert accounts[S.COUNTRY].tolist() == ["US"] * 4
    assert accounts[S.INDUSTRY].tolist() == ["Healthcare", "Other", "Biotech", "Other"]
    assert any("'maybe' is not yes/no" in r for r in reasons(result.report.warnings, 3))


def test_dtypes_follow_the_schema(tmp_path):
    accounts = load_accounts(write(tmp_path, HEADER + "A1,Acme,02139,10\n")).accounts
    for column in S.ACCOUNT_SCHEMA:
        assert str(accounts[column.name].dtype) == column.dtype, column.name


# --- locations ----------------------------------------------------------------------------------


def test_zip_plus_four_and_lost_leading_zero(tmp_path):
    text = HEADER + "A1,a,02139-4307,1\nA2,b,2139,1\nA3,c,501,1\n"
    result = load_accounts(write(tmp_path, text))
    accounts = result.accounts
    assert accounts[S.POSTAL_CODE].tolist() == ["02139", "02139", "00501"]
    assert accounts[S.CITY].tolist() == ["Cambridge", "Cambridge", "Holtsville"]
    assert accounts[S.LATITUDE].iloc[0] == pytest.approx(42.3647)
    assert reasons(result.report.warnings, 1) == []
    assert "'2139' lost its leading zero" in reasons(result.report.warnings, 2)[0]
    assert "read as 00501" in reasons(result.report.warnings, 3)[0]


def test_invalid_and_unknown_zips_are_rejected_with_what_to_do(tmp_path):
    text = HEADER + "A1,a,1234x,1\nA2,b,00000,1\nA3,c,,1\nA4,d,02139,1\n"
    result = load_accounts(write(tmp_path, text))
    rejected = {issue.row: issue for issue in result.report.rejected}
    assert (
        rejected[1].reason == "no coordinates and ZIP '1234x' is not a US ZIP: add latitude/longitude or a 5-digit ZIP"
    )
    assert rejected[1].field == S.POSTAL_CODE and rejected[1].account_id == "A1"
    assert "'00000' is not in the US ZIP list" in rejected[2].reason
    assert "no ZIP: add latitude/longitude" in rejected[3].reason
    assert result.accounts[S.ACCOUNT_ID].tolist() == ["A4"]


def test_valid_coordinates_win_and_bad_ones_fall_back_to_the_zip(tmp_path):
    text = (
        "account_id,postal_code,latitude,longitude\n"
        "A1,02139,40.0,-100.0\nA2,02139,95,-200\nA3,02139,0,0\nA4,,95,10\nA5,02139,north,\n"
    )
    result = load_accounts(write(tmp_path, text))
    accounts = result.accounts.set_index(S.ACCOUNT_ID)
    assert (accounts.loc["A1", S.LATITUDE], accounts.loc["A1", S.LONGITUDE]) == (40.0, -100.0)
    for account in ("A2", "A3", "A5"):
        assert accounts.loc[account, S.LATITUDE] == pytest.approx(42.3647)
    assert "used the centre of ZIP 02139" in reasons(result.report.warnings, 2)[0]
    assert "'0', '0'" in reasons(result.report.warnings, 3)[0]
    [rejected] = result.report.rejected
    assert (rejected.row, rejected.field) == (4, S.LATITUDE)
    assert "coordinates ('95', '10') are not valid and no ZIP" in rejected.reason


def test_accounts_outside_the_us_need_coordinates(tmp_path):
    text = "account_id,postal_code,country,latitude,longitude\nA1,10115,Germany,52.53,13.38\nA2,10115,DE,,\n"
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[[S.POSTAL_CODE, S.COUNTRY]].iloc[0].tolist() == ["10115", "DE"]
    assert "outside the US" in result.report.rejected[0].reason


# --- row accounting -----------------------------------------------------------------------------


def test_duplicate_ids_are_never_merged(tmp_path):
    text = HEADER + "A1,first,02139,1\nA2,other,02139,1\nA1,second,10001,2\nA1,third,10001,3\n"
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.NAME].tolist() == ["first", "other"]
    rejected = {issue.row: issue for issue in result.report.rejected}
    assert sorted(rejected) == [3, 4]
    assert "first in row 1" in rejected[3].reason and "first in row 1" in rejected[4].reason
    [warning] = [w for w in result.report.warnings if w.field == S.ACCOUNT_ID]
    assert warning.row == 1 and "appears 3 times (also in rows 3, 4)" in warning.reason
    assert result.rejected_rows["name"].tolist() == ["second", "third"]


def test_blank_ids_blank_rows_and_ragged_rows_are_rejected(tmp_path):
    text = HEADER + "A1,a,02139,1\n,no id,02139,1\n,,,\nA4,d,02139,1,surplus,cells\nA5,e,02139,1\n"
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.ACCOUNT_ID].tolist() == ["A1", "A5"]
    rejected = {issue.row: issue for issue in result.report.rejected}
    assert rejected[2].reason.startswith("account_id is blank")
    assert rejected[3].reason.startswith("row is empty")
    assert "more cells than the header" in rejected[4].reason and "'surplus,cells'" in rejected[4].reason
    assert_every_row_accounted_for(result)


def test_rejected_rows_keep_the_original_text_for_download(tmp_path):
    text = HEADER + 'A1,"Acme, Inc.",1234x,"$1,000"\n'
    rejected = load_accounts(write(tmp_path, text)).rejected_rows
    assert list(rejected.columns) == ["row", "reason", "account_id", "name", "postal_code", "revenue"]
    assert rejected.iloc[0].tolist()[2:] == ["A1", "Acme, Inc.", "1234x", "$1,000"]
    assert rejected["row"].tolist() == [1]


def test_accounts_from_frame_accepts_non_text_frames():
    raw = pd.DataFrame({"account_id": [1, 2, None], "postal_code": [2139, 10001, 90210], "revenue": [1.5, None, 3]})
    result = accounts_from_frame(raw)
    assert result.accounts[S.POSTAL_CODE].tolist() == ["02139", "10001"]
    assert result.accounts[S.REVENUE].tolist() == [1.5, 0.0]
    assert result.report.rejected[0].row == 3


def test_report_to_dict_and_text(tmp_path):
    text = HEADER + "A1,a,02139,1\nA1,b,1234x,1\n"
    report = load_accounts(write(tmp_path, text)).report
    as_dict = report.to_dict()
    assert {"rows_read", "rows_loaded", "rows_rejected", "rejected", "warnings", "notes", "mapping"} <= set(as_dict)
    assert as_dict["rejected"][0] == {
        "row": 2,
        "account_id": "A1",
        "field": "account_id",
        "reason": report.rejected[0].reason,
    }
    text_report = format_report(report)
    assert "rows rejected:" in text_report and "row 2 [A1] account_id: duplicate" in text_report


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_round_trip_first_sheet_only(tmp_path):
    path = tmp_path / "accounts.xlsx"
    accounts = pd.DataFrame(
        {
            "Account ID": ["A1", "A2"],
            "Account Name": ["Café Müller", "北京"],
            "Billing Zip/Postal Code": [2139, 90210],
            "Revenue": [1234.5, 2000000],
        }
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        accounts.to_excel(writer, sheet_name="Accounts", index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
    result = load_accounts(path)
    assert result.accounts[S.NAME].tolist() == ["Café Müller", "北京"]
    assert result.accounts[S.POSTAL_CODE].tolist() == ["02139", "90210"]  # the number 2139 is restored
    assert result.accounts[S.REVENUE].tolist() == [1234.5, 2_000_000.0]
    assert any("2 sheets; only the first was read" in note and "'Notes'" in note for note in result.report.notes)
    assert any("lost its leading zero" in w.reason for w in result.report.warnings)
    # The same workbook as bytes (a Streamlit upload) without a file name is recognised too.
    assert load_accounts(path.read_bytes()).report.rows_loaded == 2


# --- territories and bookings -------------------------------------------------------------------


def test_load_territories(tmp_path):
    text = "Territory,Rep Name,Region,Home Lat,Home Lon,FTE\nT1,Alice,East,42.36,-71.1,\nT2,Bob,West,,,0.5\n"
    territories = load_territories(write(tmp_path, text))
    assert list(territories.columns) == list(S.TERRITORY_COLUMNS)
    assert territories[S.CAPACITY_FTE].tolist() == [1.0, 0.5]
    assert territories[S.HOME_LATITUDE].iloc[0] == 42.36 and np.isnan(territories[S.HOME_LATITUDE].iloc[1])
    with pytest.raises(DataError, match="duplicate territory_id in 1 rows \\(rows 2\\)"):
        load_territories(write(tmp_path, "territory_id\nT1\nT1\n"))


def test_load_bookings(tmp_path):
    text = 'account_id,quarter,amount\nA1,2026Q3,"$1,000"\nA1,Q4 2026,5\nA2,2026-02-15,7\n'
    bookings = load_bookings(write(tmp_path, text))
    assert list(bookings.columns) == list(S.BOOKING_COLUMNS)
    assert bookings[S.QUARTER].tolist() == ["2026Q3", "2026Q4", "2026Q1"]
    assert bookings[S.AMOUNT].tolist() == [1000.0, 5.0, 7.0]
    with pytest.raises(DataError, match="quarter is not readable in 1 rows"):
        load_bookings(write(tmp_path, "account_id,quarter,amount\nA1,someday,5\n"))


# --- property: junk never breaks the accounting ------------------------------------------------

JUNK_CELL = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),  # control codes: see below
    st.sampled_from(
        [
            "",
            " ",
            "02139",
            "2139",
            "1234x",
            "90210-1234",
            "$1,234.00",
            "(5)",
            "1.2M",
            "n/a",
            "😀",
            '"',
            "'",
            ",",
            ";",
            "\t",
            "|",
            "\n",
            "\r\n",
            "95",
            "-200",
            "0",
            "yes",
            "USA",
            "=1+1",
        ]
    ),
    st.integers(-(10**9), 10**9).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
JUNK_HEADER = [
    "account_id",
    "name",
    "postal_code",
    "latitude",
    "longitude",
    "revenue",
    "potential",
    "workload_hours",
    "locked",
    "country",
    "industry",
    "territory_id",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(JUNK_CELL, min_size=len(JUNK_HEADER), max_size=len(JUNK_HEADER)), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_random_junk_cells_are_all_accounted_for(rows, delimiter, encoding):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([JUNK_HEADER, *rows])
    data = buffer.getvalue().encode(encoding, errors="surrogatepass")
    result = load_accounts(data, filename="junk.csv")  # a valid header: junk cells never make it unreadable
    assert_every_row_accounted_for(result)
    assert result.accounts[S.ACCOUNT_ID].is_unique
    assert result.accounts[[S.LATITUDE, S.LONGITUDE]].notna().all().all()
    for issue in [*result.report.rejected, *result.report.warnings]:
        assert 1 <= issue.row <= result.report.rows_read and issue.reason
        assert "\n" not in issue.reason  # one line each, whatever the cell held


def test_a_few_control_characters_in_cells_do_not_make_a_file_binary(tmp_path):
    text = "account_id,name,postal_code\r\n,,\r\nA2,\x08\x08\x08 Acme\x0b,02139\r\n"
    result = load_accounts(write(tmp_path, text))
    assert result.accounts[S.NAME].tolist() == ["\x08\x08\x08 Acme"]  # (\x0b is whitespace: stripped)
    assert result.report.rows_rejected == 1


def load_or_refuse(data: bytes, filename: str) -> LoadResult | None:
    """The import of ``data``, or None when it is refused as a whole with one DataError line;
    anything else it raises fails the test."""
    try:
        return load_accounts(data, filename=filename)
    except DataError as error:
        assert "\n" not in str(error)
        return None


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_raise_only_data_error(data):
    result = load_or_refuse(data, "random.csv")
    if result is not None:
        assert_every_row_accounted_for(result)


MALFORMED_CELL = st.one_of(
    JUNK_CELL,
    st.sampled_from(["1e308bn", "1e308", "-1e309", "inf", "-Infinity", "nan", "1e16", "$9e307k", '"unclosed',
                     'closed" after', '""', "Café", "株式会社", "\u202e", "\x00"]),
)


@st.composite
def malformed_csv(draw) -> bytes:
    """Raw CSV bytes as a careless export makes them: not written by the csv module, so quotes stay
    unclosed and delimiters unquoted; rows shorter or longer than the header; up to 200 extra
    columns; numbers that overflow; any of the encodings the importer reads."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    extra = draw(st.sampled_from([0, 1, 2, 5, 200]))  # a wide file in one case out of five
    header = [*JUNK_HEADER[: draw(st.integers(3, len(JUNK_HEADER)))], *(f"custom_{i}" for i in range(extra))]
    header[1:3] = ["latitude", "longitude"]  # always something to locate by, so rows reach every check
    width = len(header)
    lines = [delimiter.join(header)]
    for row in range(draw(st.integers(0, 8))):
        located = [f"A{row}", "40.5", "-100.25"] if draw(st.booleans()) else []  # most rows would be rejected
        cells = located + draw(st.lists(MALFORMED_CELL, min_size=0, max_size=min(width + 3, 20)))
        cells += [""] * draw(st.integers(0, max(0, width - len(cells))))  # ragged: short, exact or long
        if draw(st.integers(0, 3)) == 0:
            cells[-1:] = ['"left open']  # the quote reads the lines after it into this value
        lines.append(delimiter.join(cells))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "shift_jis"]))
    return text.encode(encoding, errors="replace")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=malformed_csv())
def test_a_malformed_csv_is_read_or_refused_in_one_line_and_never_loses_a_row(data):
    """#18, items 3, 4, 5, 10 as a property: whatever the file, either one DataError line, or every
    row accounted for, every loaded number finite, and a row whose value swallowed line breaks
    (an unclosed quote) warned about."""
    result = load_or_refuse(data, "malformed.csv")
    if result is None:
        return
    assert_every_row_accounted_for(result)
    for column in (S.LATITUDE, S.LONGITUDE, S.REVENUE, S.POTENTIAL, S.WORKLOAD_HOURS):
        assert np.isfinite(result.accounts[column].to_numpy(dtype=float)).all(), column
    assert (result.accounts[S.REVENUE] <= S.MAX_AMOUNT).all()  # (potential derived from it may be a bit more)
    warned_rows = {issue.row for issue in result.report.warnings if "line break" in issue.reason}
    spanning = np.zeros(len(result.accounts), dtype=bool)
    for column in result.accounts.select_dtypes(include=["string", "object"]):
        spanning |= result.accounts[column].fillna("").str.contains("\n", regex=False).to_numpy(dtype=bool)
    loaded_rows = [row for row in range(1, result.report.rows_read + 1)
                   if row not in {issue.row for issue in result.report.rejected}]
    assert {loaded_rows[i] for i in np.flatnonzero(spanning)} <= warned_rows
    for issue in [*result.report.rejected, *result.report.warnings]:
        assert "\n" not in issue.reason


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def test_a_lone_guessed_coordinate_column_is_ignored_when_zips_exist(tmp_path):
    result = load_accounts(write(tmp_path, "account_id,postal_code,lat\nA1,02139,7\n"))
    assert result.accounts[S.LATITUDE].iloc[0] == pytest.approx(42.3647)
    assert any("'lat' not used as latitude" in note for note in result.report.notes)
    assert result.accounts["lat"].tolist() == ["7"]


def test_docstring_examples_run():
    import doctest

    import territory.data.io

    assert doctest.testmod(territory.data.io).failed == 0


# --- numbers beyond any plausible amount (issue #18, item 4) -----------------------------------


def test_overflowing_and_absurd_amounts_are_warned_per_row_and_treated_as_missing(tmp_path):
    text = ("account_id,latitude,longitude,revenue,workload_hours\n"
            "A1,40,-100,1e308bn,10\n"      # finite text, infinite once multiplied
            "A2,40.1,-100.1,1e308,1e308\n"  # finite, but two of them overflow a sum
            "A3,40.2,-100.2,-inf,inf\n"
            "A4,40.3,-100.3,2500,12\n")
    result = load_accounts(write(tmp_path, text))
    assert_every_row_accounted_for(result)
    accounts = result.accounts.set_index("account_id")
    assert (accounts.loc[["A1", "A2", "A3"], "revenue"].fillna(0) == 0).all()  # missing revenue counts as 0
    assert accounts.loc["A4", "revenue"] == 2500
    assert np.isfinite(accounts["workload_hours"]).all()
    warned = {(issue.row, issue.field) for issue in result.report.warnings}
    assert {(1, "revenue"), (2, "revenue"), (2, "workload_hours"), (3, "revenue"), (3, "workload_hours")} <= warned
    assert any("beyond any plausible amount" in issue.reason for issue in result.report.warnings if issue.row == 2)


def test_a_territory_capacity_beyond_any_team_is_rejected_with_its_row(tmp_path):
    path = write(tmp_path, "territory_id,capacity_fte\nT1,1\nT2,1e308\n", name="reps.csv")
    with pytest.raises(DataError, match=r"capacity_fte is not a positive number up to 1,000.*row"):
        load_territories(path)


# --- files that are not regular files (#18 item 6) ---------------------------------------------------


def test_dev_zero_is_refused_after_a_bounded_read(monkeypatch):
    from territory.data import io as territory_io

    monkeypatch.setattr(territory_io, "MAX_STREAM_BYTES", 3 * 2**20)  # 512 MiB in use; 3 MiB here
    with pytest.raises(DataError, match=r"^/dev/zero is not a regular file and holds more than 3,145,728 bytes"):
        read_table("/dev/zero")


def test_a_pipe_within_the_limit_reads_like_a_file(tmp_path):
    import os
    import threading

    fifo = tmp_path / "accounts.csv"
    os.mkfifo(fifo)
    text = HEADER + "A1,Acme,10001,5\nA2,Beta,60601,7\n"

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as writer:
            writer.write(text)

    feeder = threading.Thread(target=feed)
    feeder.start()
    frame = read_table(fifo)
    feeder.join(timeout=10)
    assert frame["account_id"].tolist() == ["A1", "A2"]


def test_a_wide_export_keeps_every_extra_column_in_order(tmp_path):
    """#18, item 3: 5,000 extra columns took 40 s (each added to the frame one at a time, a copy
    of all the others each time); they are now added at once. Correctness here, speed in docs."""
    names = [f"custom_{i}" for i in range(600)]
    header = "account_id,latitude,longitude," + ",".join(names)
    rows = [f"A{r},40,-100," + ",".join(f"v{r}_{i}" for i in range(len(names))) for r in range(3)]
    result = load_accounts(write(tmp_path, header + "\n" + "\n".join(rows) + "\n"))
    assert_every_row_accounted_for(result)
    extra = [c for c in result.accounts.columns if c.startswith("custom_")]
    assert extra == names
    assert result.accounts["custom_599"].tolist() == ["v0_599", "v1_599", "v2_599"]
    assert result.accounts.index.tolist() == [0, 1, 2]


def test_an_unclosed_quote_that_swallows_lines_is_reported(tmp_path):
    """#18, item 5: a quote left open reads the next lines into one value; the count identity held
    but hid the loss. The row and the file's notes now say a value spans several lines."""
    text = 'account_id,name,latitude,longitude\nA1,"Acme,40,-100\nA2,Beta,41,-101\nA3,Gamma,42,-102\nA4,"D",43,-103\n'
    result = load_accounts(write(tmp_path, text))
    assert_every_row_accounted_for(result)
    assert result.report.rows_read == 1  # the parser's reading: lines 2-5 are one row
    assert any("holds a line break" in issue.reason for issue in result.report.warnings if issue.field == "name")
    assert any("line break inside a quoted value" in note for note in result.report.notes)


def test_a_quoted_address_across_lines_loads_with_the_same_notice(tmp_path):
    text = 'account_id,street,latitude,longitude\nA1,"1 Main St\nSuite 4",40,-100\nA2,2 Oak Ave,41,-101\n'
    result = load_accounts(write(tmp_path, text))
    assert result.report.rows_loaded == 2
    assert result.accounts.loc[0, "street"] == "1 Main St\nSuite 4"
    assert [issue.row for issue in result.report.warnings] == [1]


def test_a_utf8_file_with_one_stray_windows_byte_stays_utf8(tmp_path):
    """#18, item 10: one Latin-1 byte made the whole file cp1252 ("CafÃ©" for every accented
    name, silently); the file is read as UTF-8, the stray byte as the Windows character it was,
    and a note names its line."""
    data = ("account_id,name,latitude,longitude\nA1,Café Noir,40,-100\nA2,Müller GmbH,41,-101\n"
            "A3,Zoë Ltd,42,-102\n").encode() + "A4,Caf\xe9 Latin,43,-103\n".encode("latin-1")
    result = load_accounts(write(tmp_path, data))
    assert result.accounts["name"].tolist() == ["Café Noir", "Müller GmbH", "Zoë Ltd", "Café Latin"]
    assert any("UTF-8 except for 1 byte" in note and "line 5" in note for note in result.report.notes)


def test_a_shift_jis_file_reads_as_japanese_with_a_note_naming_the_encoding(tmp_path):
    """#18, item 10: Excel on a Japanese Windows saves CSV in Shift-JIS, whose bytes also decode as
    cp1252: every name came out as mojibake ("\x8a\x94\x8e\xae..."), without a word."""
    text = ("account_id,name,city,latitude,longitude\nA1,トヨタ自動車株式会社,東京,35.6,139.7\n"
            "A2,株式会社日立製作所,大阪,34.7,135.5\nA3,ソニー,名古屋,35.1,136.9\n")
    result = load_accounts(write(tmp_path, text, encoding="shift_jis"))
    assert result.accounts["name"].tolist() == ["トヨタ自動車株式会社", "株式会社日立製作所", "ソニー"]
    assert result.accounts["city"].tolist() == ["東京", "大阪", "名古屋"]
    assert any("Shift-JIS" in note for note in result.report.notes)


@pytest.mark.parametrize("text, encoding, expected", [
    ("account_id,name\nA1,Café Noir\nA2,Müller GmbH\nA3,Renée “best”\n", "cp1252", "cp1252"),
    ("account_id,name\nA1,Renée\n", "cp1252", "cp1252"),  # é + e also makes a Shift-JIS character
    ("account_id,name\nA1,삼성전자\nA2,현대자동차\n", "euc_kr", "cp949"),
    ("account_id,name\nA1,华为技术有限公司\nA2,阿里巴巴\n", "gb18030", "gb18030"),
])
def test_east_asian_encodings_are_told_from_windows_western(text, encoding, expected):
    from territory.data.io import detect_encoding

    assert detect_encoding(text.encode(encoding)) == expected


def test_a_repeated_column_name_is_reported(tmp_path):
    """#18, item 10: a second 'revenue' column was carried as 'revenue.1' without a word."""
    text = "account_id,latitude,longitude,revenue,revenue\nA1,40,-100,100,999\n"
    result = load_accounts(write(tmp_path, text))
    assert result.accounts.loc[0, "revenue"] == 100
    assert any("'revenue' appears 2 times" in note for note in result.report.notes)


def _workbook(rows: list[list[object]], merge: str | None = None) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_id_longer_than_excel_keeps_is_reported_and_a_text_one_is_not(tmp_path):
    """#18, item 10: a 20-digit ID stored as a number lost its last digits without a word."""
    data = _workbook([["account_id", "latitude", "longitude", "crm_key"],
                      [12345678901234567890, 40, -100, "12345678901234567890"],
                      ["A2", 41, -101, "7"]])
    result = load_accounts(write(tmp_path, data, name="accounts.xlsx"))
    notes = [note for note in result.report.notes if "longer than 15 digits" in note]
    assert len(notes) == 1 and "'account_id'" in notes[0] and "row 1" in notes[0]
    assert result.accounts.loc[0, "crm_key"] == "12345678901234567890"  # stored as text: exact, no note


def test_merged_xlsx_cells_are_reported(tmp_path):
    data = _workbook([["account_id", "latitude", "longitude", "industry"], ["A1", 40, -100, "Retail"],
                      ["A2", 41, -101, None]], merge="D2:D3")
    result = load_accounts(write(tmp_path, data, name="accounts.xlsx"))
    assert any("1 merged cell range on the first sheet (D2:D3)" in note for note in result.report.notes)


def test_extra_columns_join_in_one_step_however_many_there_are(tmp_path, monkeypatch):
    """#18, item 3, the speed side without a clock: adding columns one at a time copied the frame
    each time (quadratic). The columns assigned one by one must not grow with the extra columns."""
    assigned = []
    original = pd.DataFrame.__setitem__

    def counted(self, key, value):
        assigned.append(key)
        return original(self, key, value)

    monkeypatch.setattr(pd.DataFrame, "__setitem__", counted)

    def assignments(extra_columns: int) -> int:
        names = [f"custom_{i}" for i in range(extra_columns)]
        header = "account_id,latitude,longitude," + ",".join(names)
        rows = [f"A{r},40,-100," + ",".join(f"v{r}_{i}" for i in range(extra_columns)) for r in range(3)]
        assigned.clear()
        load_accounts(write(tmp_path, header + "\n" + "\n".join(rows) + "\n"))
        return len(assigned)

    assert assignments(400) == assignments(20)
