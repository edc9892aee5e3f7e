"""The steps of ``accounts_from_frame``, each alone on a small table (#17, item 2).

tests/data/test_io.py checks the whole import; these check what each step reads, records in the
shared ``ImportContext`` and returns, so a change to one step shows up here by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.data import schema as S
from territory.data.io import (
    ImportContext,
    Money,
    build_accounts,
    check_ids,
    derive_missing,
    finish,
    locate,
    read_categories,
    read_locked,
    read_money,
    read_table,
    reject_blank_and_wide_rows,
    warn_line_breaks,
)
from territory.errors import DataError


def context_of(text: str, mapping: dict[str, str] | None = None) -> ImportContext:
    return ImportContext.start(read_table(text.encode(), filename="steps.csv"), mapping)


def rejected(context: ImportContext) -> dict[int, tuple[str, str]]:
    """{row: (field, reason)} of the rows rejected so far (1-based, as the report counts)."""
    ids = context.text(S.ACCOUNT_ID)
    return {issue.row: (issue.field, issue.reason) for issue in context.rejects.build(ids)}


def warned(context: ImportContext) -> list[tuple[int, str]]:
    return [(issue.row, issue.field) for issue in context.warns.build(context.text(S.ACCOUNT_ID))]


# --- the context ---------------------------------------------------------------------------------


def test_start_maps_the_columns_and_keeps_the_readers_notes():
    context = context_of("Record ID,Billing Zip/Postal Code,Sector\nA1,02139,Retail\n")
    assert context.resolved == {S.ACCOUNT_ID: "Record ID", S.POSTAL_CODE: "Billing Zip/Postal Code",
                                S.INDUSTRY: "Sector"}
    assert context.notes[0].startswith("Read 'steps.csv' as CSV")
    assert context.text(S.NAME).tolist() == [""] and context.rows == 1
    assert not context.rejected.any()


def test_start_drops_a_guessed_latitude_without_a_longitude_when_zips_locate():
    context = context_of("account_id,postal_code,lat\nA1,02139,7\n")
    assert S.LATITUDE not in context.resolved
    assert any("'lat' not used as latitude" in note for note in context.notes)


def test_start_refuses_a_table_that_cannot_identify_or_locate_accounts():
    with pytest.raises(DataError, match="no account ID column"):
        context_of("name,postal_code\nAcme,02139\n")
    with pytest.raises(DataError, match="no location columns"):
        context_of("account_id,name\nA1,Acme\n")


def test_a_row_keeps_the_reason_it_was_first_rejected_for():
    context = context_of("account_id,postal_code\nA1,02139\nA2,02139\n")
    context.reject(np.array([True, False]), "row", lambda p: ["first"] * len(p))
    context.reject(np.array([True, True]), S.ACCOUNT_ID, lambda p: ["second"] * len(p))
    assert rejected(context) == {1: ("row", "first"), 2: (S.ACCOUNT_ID, "second")}
    assert context.keep.tolist() == [False, False]


# --- 1. blank and wide rows, line breaks -----------------------------------------------------------


def test_blank_rows_and_rows_wider_than_the_header_are_rejected():
    context = context_of("account_id,postal_code\nA1,02139\n,\n,02139\nA4,02139,extra\n")
    reject_blank_and_wide_rows(context)
    reasons = rejected(context)
    assert sorted(reasons) == [2, 4]  # row 3 has no ID but a ZIP: the ID step rejects it
    assert reasons[2][1].startswith("row is empty")
    assert reasons[4] == ("row", "row has more cells than the header (extra: 'extra'): quote values that contain "
                                 "the delimiter, or remove the extra cells")


def test_a_value_holding_a_line_break_is_warned_and_noted():
    context = context_of('account_id,street,postal_code\nA1,"1 Main St\nSuite 4",02139\nA2,2 Oak Ave,02139\n')
    warn_line_breaks(context)
    assert warned(context) == [(1, "street")]
    assert "1 row (row 1) holds a line break" in context.notes[-1]
    assert not context.rejected.any()


# --- 2. IDs ------------------------------------------------------------------------------------------


def test_blank_and_repeated_ids_are_rejected_and_the_first_copy_warned():
    context = context_of("account_id,postal_code\nA1,02139\n,02139\nA1,02139\nA2,02139\nA1,02139\n")
    ids = check_ids(context)
    assert ids.tolist() == ["A1", "", "A1", "A2", "A1"]
    reasons = rejected(context)
    assert reasons[2][1].startswith("account_id is blank")
    assert reasons[3][1].startswith("duplicate account_id (first in row 1)")
    assert sorted(reasons) == [2, 3, 5]
    assert warned(context) == [(1, S.ACCOUNT_ID)]


# --- 3. location ----------------------------------------------------------------------------------


def test_coordinates_win_then_the_zip_then_the_city_else_the_row_is_rejected():
    context = context_of("account_id,latitude,longitude,postal_code,city,state\n"
                         "A1,40.5,-100.25,02139,,\n"      # valid coordinates
                         "A2,95,0,02139,,\n"              # bad coordinates: the ZIP's centre, warned
                         "A3,,,00000,Boston,MA\n"         # no usable ZIP: Boston's centre, warned
                         "A4,,,00000,Nowhere,ZZ\n")       # nothing usable: rejected
    location = locate(context)
    assert (location.latitude[0], location.longitude[0]) == (40.5, -100.25)
    assert location.latitude[1] == pytest.approx(42.3647) and location.postal_code[1] == "02139"
    assert location.city[2] == "Boston" and location.state[2] == "MA" and 42 < location.latitude[2] < 42.5
    assert np.isnan(location.latitude[3])
    assert sorted(rejected(context)) == [4]
    assert "city 'Nowhere', ZZ is not in the US ZIP list either" in rejected(context)[4][1]
    assert warned(context) == [(2, S.LATITUDE), (3, S.POSTAL_CODE)]
    assert location.country.tolist() == ["US"] * 4


def test_location_repairs_are_warned():
    context = context_of("account_id,postal_code,country\nA1,2139,\nA2,10001,Narnia\n")
    location = locate(context)
    assert location.postal_code[0] == "02139"
    assert ("ZIP '2139' lost its leading zero" in context.warns.batches[0][2][0])
    assert sorted(rejected(context)) == [2]  # Narnia is outside the US: a ZIP cannot place it
    assert warned(context) == [(1, S.POSTAL_CODE), (2, S.COUNTRY)]


# --- 4. industry, account type, money, lock ----------------------------------------------------------


def test_categories_are_readable_and_unknown_ones_warned_only_where_still_loaded():
    context = context_of("account_id,postal_code,industry,account_type\n"
                         "A1,02139,COMPUTER_SOFTWARE,Customer\nA2,02139,Widgets,Alien\nA3,02139,Widgets,\n")
    context.rejected[2] = True  # as if an earlier step had rejected row 3
    industry, kind = read_categories(context)
    assert list(industry) == ["Computer Software", "Widgets", "Widgets"]
    assert list(kind)[:2] == ["Customer", "Alien"]
    assert warned(context) == [(2, S.INDUSTRY), (2, S.ACCOUNT_TYPE)]
    assert any("industry: 1 row with 1 unknown value kept as written: 'Widgets' (1)" in n for n in context.notes)


def test_without_an_account_type_column_there_is_no_kind():
    assert read_categories(context_of("account_id,postal_code\nA1,02139\n"))[1] is None


def test_money_reads_formats_and_marks_what_is_missing():
    context = context_of("account_id,postal_code,revenue,workload_hours,Annual Revenue\n"
                         "A1,02139,\"$1,200\",-3,5M\nA2,02139,lots,,\nA3,02139,1e308bn,12,\n")
    money = read_money(context)
    assert money.revenue.tolist() == [1200.0, 0.0, 0.0]
    assert money.missing_revenue.tolist() == [False, True, True]
    assert money.workload[0] == 0.0 and np.isnan(money.workload[1]) and money.workload[2] == 12.0
    assert np.isnan(money.potential).all()  # no potential column: the rule derives it later
    assert money.company_revenue[0] == 5e6
    assert warned(context) == [(1, S.WORKLOAD_HOURS), (2, S.REVENUE), (3, S.REVENUE)]


def test_lock_flags_and_a_value_that_is_not_yes_or_no():
    context = context_of("account_id,postal_code,locked\nA1,02139,yes\nA2,02139,maybe\nA3,02139,\n")
    assert read_locked(context).tolist() == [True, False, False]
    assert warned(context) == [(2, S.LOCKED)]


# --- derived values, the table, the report ----------------------------------------------------------


def test_missing_potential_and_workload_are_derived_for_loaded_rows_only():
    context = context_of("account_id,postal_code,revenue,potential\nA1,02139,1000,5000\nA2,02139,1000,\n"
                         "A3,02139,1000,\n")
    context.rejected[2] = True
    location = locate(context)
    money = read_money(context)
    estimates = derive_missing(context, money, np.array(["Retail"] * 3, dtype=object), location)
    assert estimates.potential.tolist()[0] == 5000 and estimates.potential.tolist()[1] > 0
    assert estimates.estimated_potential.tolist() == [False, True]
    assert estimates.estimated_workload.tolist() == [True, True]
    assert (estimates.workload > 0).all()
    assert [note.split(" ", 1)[0] for note in context.notes[-2:]] == ["potential", "workload_hours"]
    assert "for 1 rows" in context.notes[-2]


def test_the_table_has_the_schema_then_the_files_other_columns():
    context = context_of("account_id,postal_code,Owner,moved,crm_key\nA1,02139,Ann,x,k1\nA2,02139,Bo,y,k2\n")
    context.rejected[1] = True
    money = Money(revenue=np.array([1.0, 2.0]), missing_revenue=np.array([False, False]),
                  potential=np.array([3.0, 4.0]), workload=np.array([5.0, 6.0]), company_revenue=None)
    location = locate(context)
    estimates = derive_missing(context, money, np.array(["Retail", "Retail"], dtype=object), location)
    accounts = build_accounts(context, check_ids(context), location, np.array(["Retail", "Retail"], dtype=object),
                              None, money, np.array([False, True]), estimates)
    assert list(accounts.columns[: len(S.ACCOUNT_COLUMNS)]) == list(S.ACCOUNT_COLUMNS)
    assert accounts[S.ACCOUNT_ID].tolist() == ["A1"] and accounts[S.TERRITORY_ID].tolist() == ["Ann"]
    assert accounts["crm_key"].tolist() == ["k1"]
    assert any("keyed by owner" in note for note in context.notes)


def test_finish_accounts_for_every_row_and_returns_the_rejected_ones_as_read():
    context = context_of("account_id,postal_code,reason\nA1,02139,a\n,02139,b\n")
    ids = check_ids(context)
    result = finish(context, ids, pd.DataFrame({S.ACCOUNT_ID: ["A1"]}))
    report = result.report
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 1, 1)
    assert result.rejected_rows.columns.tolist() == ["row", "reason", "account_id", "postal_code", "reason_input"]
    assert result.rejected_rows.loc[0, "row"] == 2 and result.rejected_rows.loc[0, "reason_input"] == "b"


def test_finish_says_when_the_file_has_no_rows():
    context = context_of("account_id,postal_code\n")
    assert finish(context, check_ids(context), pd.DataFrame()).report.notes[-1] == \
        "The file has a header but no data rows."
