"""Routing rules: every kind, the capacity guard, validation messages, CSV round trip, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory.data.sample import load_sample
from territory.planning import routing as R


def accounts(rows: list[dict]) -> pd.DataFrame:
    """Canonical accounts with defaults: Boston, 10 h of workload, 0 revenue."""
    frame = pd.DataFrame(rows)
    defaults = {"postal_code": "02139", "state": "MA", "industry": "Retail", "revenue": 0.0,
                "workload_hours": 10.0, "latitude": 42.36, "longitude": -71.1}
    for column, value in defaults.items():
        if column not in frame.columns:
            frame[column] = value
        frame[column] = frame[column].fillna(value)
    return frame


def table(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(R.RULE_COLUMNS))


@pytest.fixture
def east_west() -> R.RoutingBase:
    """Two territories: E (Boston, 4 accounts) and W (Los Angeles, 4 accounts), 10 h each."""
    old = accounts([{"account_id": f"E{i}"} for i in range(4)]
                   + [{"account_id": f"W{i}", "postal_code": "90012", "state": "CA", "latitude": 34.05,
                       "longitude": -118.24} for i in range(4)])
    return R.routing_base(old, ["E"] * 4 + ["W"] * 4, tolerance=0.5)


def land(base, rules, rows) -> pd.DataFrame:
    return R.route(accounts(rows), R.parse_rules(rules, base.territory_ids), base).assignment


# --- every rule kind --------------------------------------------------------------------------


def test_named_account_is_matched_exactly_and_case_sensitively(east_west) -> None:
    rules = table((1, "account", "001A000001AbCdEAAA", "W"), (2, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "001A000001AbCdEAAA"}, {"account_id": "001A000001ABCDEAAA"}])
    assert got["territory_id"].tolist() == ["W", "E"]
    assert got["rule_kind"].tolist() == ["account", "nearest"]


def test_domain_matches_a_website_column_whatever_its_spelling(east_west) -> None:
    rules = table((1, "domain", "acme.com", "W"), (2, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "N1", "Website": "https://www.ACME.com/about"},
                                  {"account_id": "N2", "Website": "acme.co"}])
    assert got["territory_id"].tolist() == ["W", "E"]


def test_industry_team_is_case_insensitive(east_west) -> None:
    rules = table((1, "industry", "healthcare", "W"), (2, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "N1", "industry": "Healthcare"}, {"account_id": "N2"}])
    assert got["territory_id"].tolist() == ["W", "E"]
    assert got["rule"].tolist() == ["#1 industry healthcare", "#2 nearest"]


def test_zip_range_prefix_and_state(east_west) -> None:
    rules = table((1, "zip", "02100-02199", "W"), (2, "zip_prefix", "100", "W"), (3, "state", "ct", "W"),
                  (4, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "N1", "postal_code": "02150"},
                                  {"account_id": "N2", "postal_code": "10001"},
                                  {"account_id": "N3", "postal_code": "06101", "state": "CT"},
                                  {"account_id": "N4", "postal_code": "01001"}])
    assert got["territory_id"].tolist() == ["W", "W", "W", "E"]
    assert got["rule_kind"].tolist() == ["zip", "zip_prefix", "state", "nearest"]


def test_size_band_alone_and_combined_with_a_state(east_west) -> None:
    rules = table((1, "state", "MA & revenue >= 1M", "W"), (2, "size", "employees 100-1000", "W"),
                  (3, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "N1", "revenue": 2e6}, {"account_id": "N2", "revenue": 999_999.0},
                                  {"account_id": "N3", "employees": "250"}, {"account_id": "N4", "employees": "1000"}])
    assert got["territory_id"].tolist() == ["W", "E", "W", "E"]
    assert got["rule_priority"].tolist() == [1, 3, 2, 3]


def test_a_company_revenue_band_reads_the_crm_s_annual_revenue(east_west) -> None:
    rules = table((1, "size", "company_revenue >= 1B", "W"), (2, "nearest", "", ""))
    got = land(east_west, rules, [{"account_id": "N1", "company_revenue": 2e9, "revenue": 5.0},
                                  {"account_id": "N2", "company_revenue": 5e8, "revenue": 2e9}])
    assert got["territory_id"].tolist() == ["W", "E"]


def test_nearest_is_the_territory_of_the_nearest_assigned_account(east_west) -> None:
    got = land(east_west, table((1, "nearest", "", "")),
               [{"account_id": "N1", "latitude": 37.77, "longitude": -122.42},  # San Francisco
                {"account_id": "N2", "latitude": 40.71, "longitude": -74.0}])  # New York
    assert got["territory_id"].tolist() == ["W", "E"]
    assert got["reason"].tolist()[0] == "rule #1 (Nearest account): the nearest assigned account is in W"


def test_first_match_wins_in_priority_order_not_row_order(east_west) -> None:
    rules = table((20, "state", "MA", "E"), (10, "industry", "Retail", "W"))
    assert land(east_west, rules, [{"account_id": "N1"}])["territory_id"].tolist() == ["W"]


def test_an_existing_account_keeps_its_territory_and_the_rule_says_so(east_west) -> None:
    got = land(east_west, table((1, "state", "MA", "W")), [{"account_id": "E2"}])
    assert got[["territory_id", "rule", "reason_code"]].values.tolist() == [["E", "existing", "existing"]]


def test_an_account_no_rule_matches_is_reported_not_dropped(east_west) -> None:
    got = land(east_west, table((1, "state", "CA", "W")), [{"account_id": "N1"}])
    assert got["reason_code"].tolist() == ["no_rule"]
    assert got["territory_id"].isna().all()


# --- capacity guard ----------------------------------------------------------------------------


def guard_base() -> R.RoutingBase:
    """Three territories in a row west to east (A, B, C), 30 h each; C far from A."""
    lon = {"A": -100.0, "B": -95.0, "C": -90.0}
    old = accounts([{"account_id": f"{t}{i}", "latitude": 40.0 + i * 0.1, "longitude": lon[t] + i * 0.1}
                    for t in "ABC" for i in range(3)])
    return R.routing_base(old, [t for t in "ABC" for _ in range(3)], tolerance=0.05)


def test_capacity_guard_sends_the_overflow_to_the_adjacent_territory_with_room() -> None:
    base = guard_base()
    new = accounts([{"account_id": f"N{i}", "latitude": 40.0, "longitude": -95.0} for i in range(3)])
    got = R.route(new, R.parse_rules(table((1, "zip_prefix", "021", "B")), base.territory_ids), base)
    # after: 120 h over 3 territories, target 40, upper 42: B takes one (40), the rest go next door
    assert got.assignment["territory_id"].tolist() == ["B", "A", "C"]
    assert got.assignment["reason_code"].tolist() == ["matched", "redirected", "redirected"]
    assert got.assignment["rule_territory_id"].tolist() == ["B", "B", "B"]
    assert "sent to A, the nearest adjacent territory with room" in got.assignment["reason"].iloc[1]
    assert "B would go above its upper band (target +5%)" in got.assignment["reason"].iloc[1]
    assert got.load["load_after"].tolist() == [40.0, 40.0, 40.0]


def test_capacity_guard_picks_the_adjacent_territory_nearest_the_account() -> None:
    base = guard_base()
    # B takes N0 (40 h of an upper 42); N1 sits at C's end of B, N2 at A's end
    new = accounts([{"account_id": "N0", "latitude": 40.0, "longitude": -95.0},
                    {"account_id": "N1", "latitude": 40.0, "longitude": -91.0},
                    {"account_id": "N2", "latitude": 40.0, "longitude": -99.0}])
    got = R.route(new, R.parse_rules(table((1, "zip_prefix", "021", "B")), base.territory_ids), base)
    assert got.assignment["territory_id"].tolist() == ["B", "C", "A"]


def out_of_balance_base() -> R.RoutingBase:
    """A holds 60 h, B and C 30 h each: A is 50% above its target before any new account."""
    lon = {"A": -100.0, "B": -95.0, "C": -90.0}
    rows = [{"account_id": f"{t}{i}", "latitude": 40.0 + i * 0.1, "longitude": lon[t] + i * 0.1}
            for t, count in (("A", 6), ("B", 3), ("C", 3)) for i in range(count)]
    return R.routing_base(accounts(rows), ["A"] * 6 + ["B"] * 3 + ["C"] * 3, tolerance=0.05)


def test_a_territory_already_above_its_band_is_named_as_such_and_the_guard_can_be_switched_off() -> None:
    base = out_of_balance_base()
    new = accounts([{"account_id": "N1", "latitude": 40.0, "longitude": -99.0}])
    rules = R.parse_rules(table((1, "zip_prefix", "021", "A")), base.territory_ids)
    got = R.route(new, rules, base)
    assert got.load["full_before"].tolist() == [True, False, False]
    assert (got.assignment.loc[0, "territory_id"], got.assignment.loc[0, "reason_code"]) == ("B", "redirected")
    assert "A is above its band before any new account (38% above target, band +5%)" in got.assignment.loc[0, "reason"]
    unguarded = R.route(new, rules, base, guard=False)
    assert (unguarded.assignment.loc[0, "territory_id"], unguarded.assignment.loc[0, "reason_code"]) == ("A", "matched")
    assert unguarded.load["load_after"].tolist() == [70.0, 30.0, 30.0]


def test_capacity_guard_keeps_a_named_account_over_the_band() -> None:
    base = guard_base()
    new = accounts([{"account_id": f"N{i}"} for i in range(3)])
    got = R.route(new, R.parse_rules(table((1, "industry", "Retail", "B")), base.territory_ids), base)
    assert got.assignment["territory_id"].tolist() == ["B", "B", "B"]
    assert got.assignment["reason_code"].tolist() == ["matched", "over_band", "over_band"]
    assert got.assignment["reason"].iloc[1].endswith("kept: an industry rule is not redirected")


def test_capacity_guard_without_room_next_door_keeps_the_account_and_says_why() -> None:
    base = guard_base()
    new = accounts([{"account_id": f"N{i}", "workload_hours": 100.0} for i in range(2)])
    got = R.route(new, R.parse_rules(table((1, "state", "MA", "B")), base.territory_ids), base)
    assert got.assignment["reason_code"].tolist() == ["over_band", "over_band"]
    assert "no adjacent territory has room" in got.assignment["reason"].iloc[0]


# --- determinism --------------------------------------------------------------------------------


def test_same_accounts_in_any_order_land_in_the_same_territories() -> None:
    sample = load_sample()
    base = R.routing_base(sample.accounts, sample.accounts["territory_id"], sample.territories)
    rules = R.default_rules(sample.accounts, sample.accounts["territory_id"])
    new = sample.accounts.sample(1500, random_state=3).assign(account_id=lambda f: "N" + f["account_id"])
    first = R.route(new, rules, base).assignment.set_index("account_id")
    again = R.route(new.iloc[::-1], rules, base).assignment.set_index("account_id")
    assert (first["reason_code"] == "redirected").any()  # the guard takes part
    pd.testing.assert_frame_equal(first, again.loc[first.index])


# --- default rules ------------------------------------------------------------------------------


def _zip_accounts(zip_rows: pd.DataFrame) -> pd.DataFrame:
    """One new account at the centroid of every ZIP of ``zip_rows`` (rows of a ZIP table)."""
    from territory.data.geocode import zip_table

    offline = zip_table()
    number = zip_rows["postal_code"].astype(int).to_numpy()
    return pd.DataFrame({"account_id": "N" + zip_rows["postal_code"].to_numpy(dtype=object),
                         "postal_code": zip_rows["postal_code"].to_numpy(dtype=object),
                         "latitude": offline.latitude[number], "longitude": offline.longitude[number]})


def test_default_rules_send_a_new_account_to_the_territory_whose_shape_holds_its_zip() -> None:
    """#14 item 1: the defaults come from the ZIP table, so a new account in a ZIP where the alignment
    has no account lands in the territory the map draws there, not in the nearest account's."""
    import shapely

    from territory.planning.geography import territory_shapes, zip_territory_table

    sample = load_sample()
    labels = sample.accounts["territory_id"]
    shapes = territory_shapes(sample.accounts, labels)
    zips = zip_territory_table(shapes)
    empty = zips[zips["basis"].eq("cell") & ~zips["postal_code"].isin(sample.accounts["postal_code"])]
    new = _zip_accounts(empty.sample(3000, random_state=14))
    base = R.routing_base(sample.accounts, labels, sample.territories, balance_on="accounts")
    got = R.route(new, R.default_rules(sample.accounts, labels), base, guard=False).assignment
    want = empty.set_index("postal_code")["territory_id"].reindex(new["postal_code"])
    assert got["territory_id"].tolist() == want.tolist()
    assert set(got["rule_kind"]) == {"zip", "zip_prefix"}
    # the map agrees: every ZIP centroid that lies on the outlines lies in its territory's shape
    inside_any = np.zeros(len(new), dtype=bool)
    inside_own = np.zeros(len(new), dtype=bool)
    for territory, shape in zip(shapes.territory_ids, shapes.geometries):
        hit = shapely.intersects_xy(shape, new["longitude"].to_numpy(), new["latitude"].to_numpy())
        inside_any |= hit
        inside_own |= hit & (got["territory_id"] == territory).to_numpy()
    assert inside_any.mean() > 0.95 and (inside_own == inside_any).all()


def test_default_rules_route_every_zip_of_the_table_and_stay_a_readable_size() -> None:
    from territory.planning.geography import territory_shapes, zip_territory_table

    sample = load_sample()
    labels = sample.accounts["territory_id"]
    zips = zip_territory_table(territory_shapes(sample.accounts, labels))
    rules = R.default_rules(sample.accounts, labels, zip_territories=zips)
    kinds = pd.Series([r.kind for r in rules.rules]).value_counts().to_dict()
    prefixes = zips["postal_code"].str[:3].nunique()
    assert kinds["zip_prefix"] == prefixes and kinds["nearest"] == 1
    assert kinds["zip"] < len(zips) / 15  # exceptions to their prefix's territory, not a rule per ZIP
    assert R.check_rules(rules.to_frame(), sorted(labels.unique()))[1] == []
    new = _zip_accounts(zips)
    base = R.routing_base(sample.accounts, labels, sample.territories, balance_on="accounts")
    got = R.route(new, rules, base, guard=False).assignment
    assert (got["territory_id"].to_numpy() == zips["territory_id"].to_numpy()).all()


def test_default_rules_route_the_alignment_s_own_accounts_back_where_they_are() -> None:
    sample = load_sample()
    labels = sample.accounts["territory_id"]
    base = R.routing_base(sample.accounts, labels, sample.territories, tolerance=0.99)
    rules = R.default_rules(sample.accounts, labels)
    again = sample.accounts.assign(account_id="N" + sample.accounts["account_id"])
    got = R.route(again, rules, base).assignment
    assert (got["territory_id"].to_numpy() == labels.to_numpy()).all()  # no ZIP of the sample is split
    assert rules.rules[-1].kind == "nearest"


def test_default_rules_without_us_locations_come_from_the_accounts() -> None:
    """Data from another country has no ZIP table: the accounts' own postal codes give the rules."""
    frame = pd.DataFrame({"postal_code": ["10115", "10117", "80331"], "latitude": [52.53, 52.52, 48.14],
                          "longitude": [13.38, 13.39, 11.57]})
    rules = R.default_rules(frame, ["Berlin", "Berlin", "Munich"]).to_frame()
    assert rules[["kind", "value", "territory_id"]].values.tolist() == [
        ["zip_prefix", "101", "Berlin"], ["zip_prefix", "803", "Munich"], ["nearest", "", ""]]


def test_default_rules_split_zips_by_majority_and_leave_ties_to_nearest() -> None:
    frame = pd.DataFrame({"postal_code": ["10001", "10001", "10001", "10002", "10002"]})
    rules = R.default_rules(frame, ["A", "A", "B", "A", "B"]).to_frame()
    assert rules[["kind", "value", "territory_id"]].values.tolist() == [
        ["zip", "10001", "A"], ["nearest", "", ""]]


# --- validation -------------------------------------------------------------------------------


def problems(rules: pd.DataFrame, territories=("T1", "T2")) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.code) for p in R.check_rules(rules, territories)[1]]


def test_unknown_territory_names_the_row() -> None:
    rules = table((1, "state", "MA", "T1"), (2, "state", "NY", "T9"))
    assert problems(rules) == [(2, "territory_id", "unknown_territory")]
    with pytest.raises(R.RuleError, match=r"row 2 \(territory_id\): territory 'T9' is not in the alignment"):
        R.parse_rules(rules, ["T1", "T2"])


@pytest.mark.parametrize(
    "rules, row",
    [
        (table((1, "nearest", "", ""), (2, "state", "MA", "T1")), 2),
        (table((1, "zip_prefix", "02", "T1"), (2, "zip", "02139", "T2")), 2),
        (table((1, "state", "MA", "T1"), (2, "state", "ma & revenue >= 5", "T2")), 2),
        (table((1, "size", "revenue >= 100", "T1"), (2, "industry", "Retail & revenue 200-300", "T2")), 2),
        (table((1, "zip", "02100-02149", "T1"), (2, "zip", "02150-02199", "T1"), (3, "zip_prefix", "021", "T2")), 3),
    ],
)
def test_unreachable_rule_names_its_row(rules: pd.DataFrame, row: int) -> None:
    assert problems(rules) == [(row, "value", "unreachable")]


def test_a_specific_zip_before_its_prefix_is_an_exception_not_a_problem() -> None:
    assert problems(table((1, "zip", "02139", "T2"), (2, "zip_prefix", "021", "T1"), (3, "nearest", "", ""))) == []


def test_overlapping_zip_ranges_name_the_later_row() -> None:
    rules = table((1, "zip", "02100-02160", "T1"), (2, "zip", "02150-02199", "T2"))
    assert problems(rules) == [(2, "value", "overlap")]
    problem = R.check_rules(rules, ["T1", "T2"])[1][0]
    assert problem.other_rows == (1,)
    assert problem.message.startswith("rule #2 zip 02150-02199 overlaps rule #1 zip 02100-02160 (row 1) "
                                      "in 02150-02160 without either holding the other")


def test_a_zip_range_overlapping_a_prefix_is_named_too() -> None:
    rules = table((1, "zip_prefix", "021", "T1"), (2, "zip", "02150-02250", "T2"))
    problem = R.check_rules(rules, ["T1", "T2"])[1][0]
    assert (problem.row, problem.code, problem.other_rows) == (2, "overlap", (1,))
    assert "overlaps rule #1 zip_prefix 021 (row 1) in 02150-02199" in problem.message


# --- unreachable across kinds (#14, item 2): every message names the rule and the ones that hide it


def hidden(*rows: tuple) -> list[tuple[int, tuple[int, ...], str]]:
    """(row, the rows hiding it, message) of every unreachable rule."""
    return [(p.row, p.other_rows, p.message) for p in R.check_rules(table(*rows))[1] if p.code == "unreachable"]


@pytest.mark.parametrize(
    "rows, row, others, says",
    [
        # a ZIP rule after the state rule of every ZIP it covers
        (((1, "state", "MA", "T1"), (2, "zip", "02139", "T2")), 2, (1,),
         "rule #2 zip 02139 can never match: every known ZIP it covers is in MA, and rule #1 state MA (row 1) "
         "catches every account it would first; delete it, or give it a priority below 1"),
        (((1, "state", "MA", "T1"), (2, "zip_prefix", "021", "T2")), 2, (1,), "in MA, and rule #1 state MA"),
        (((1, "state", "NH", "T1"), (2, "state", "ME", "T2"), (3, "zip_prefix", "03", "T3")), 3, (1, 2),
         "in ME, NH, and rules #1 state NH (row 1), #2 state ME (row 2) catch"),
        (((1, "state", "MA", "T1"), (2, "zip", "02139 & revenue >= 5M", "T2")), 2, (1,), "#1 state MA (row 1)"),
        # a ZIP prefix after a shorter one, a band inside an earlier band of another ZIP rule
        (((1, "zip_prefix", "02", "T1"), (2, "zip_prefix", "021", "T2")), 2, (1,),
         "rule #2 zip_prefix 021 can never match: rule #1 zip_prefix 02 (row 1) catches"),
        (((1, "zip_prefix", "021 & revenue >= 1M", "T1"), (2, "zip", "02139 & revenue >= 5M", "T2")), 2, (1,),
         "rule #1 zip_prefix 021 & revenue >= 1000000 (row 1) catches"),
        # a named account or a domain after a size band that holds its band, or after the same one
        (((1, "size", "revenue >= 100", "T1"), (2, "account", "001A & revenue >= 200", "T2")), 2, (1,),
         "rule #2 account 001A & revenue >= 200 can never match: rule #1 size revenue >= 100 (row 1) catches"),
        (((1, "account", "001A", "T1"), (2, "account", "001A & revenue >= 5", "T2")), 2, (1,),
         "rule #1 account 001A (row 1) catches"),
        (((1, "domain", "https://www.acme.com", "T1"), (2, "domain", "acme.com", "T2")), 2, (1,),
         "rule #1 domain https://www.acme.com (row 1)"),
        # anything after nearest
        (((1, "nearest", "", ""), (2, "account", "001A", "T1")), 2, (1,), "rule #1 nearest (row 1) catches"),
    ],
)
def test_an_unreachable_rule_names_the_rules_that_hide_it(rows, row: int, others: tuple, says: str) -> None:
    (found,) = hidden(*rows)
    assert found[:2] == (row, others)
    assert says in found[2]


@pytest.mark.parametrize(
    "rows",
    [
        ((1, "zip", "02139", "T2"), (2, "state", "MA", "T1")),  # the exception first, then the state
        ((1, "state", "MA & revenue >= 5M", "T1"), (2, "zip", "02139", "T2")),  # the state rule takes only the big
        ((1, "state", "NH", "T1"), (2, "zip_prefix", "03", "T3")),  # 039 is in Maine
        ((1, "state", "MA", "T1"), (2, "zip", "99999", "T3")),  # a ZIP in no state of the list
        ((1, "zip_prefix", "021 & revenue >= 5M", "T1"), (2, "zip", "02139 & revenue >= 1M", "T2")),
        ((1, "industry", "Retail", "T1"), (2, "account", "001A", "T2")),  # an industry does not hide an account
    ],
)
def test_rules_that_still_catch_someone_are_not_flagged(rows) -> None:
    assert hidden(*rows) == []


@pytest.mark.parametrize(
    "row, field",
    [
        ((1, "zipcode", "02139", "T1"), "kind"),
        (("x", "zip", "02139", "T1"), "priority"),
        ((1, "zip", "2139", "T1"), "value"),
        ((1, "zip_prefix", "02139", "T1"), "value"),
        ((1, "state", "Mass.", "T1"), "value"),
        ((1, "size", "revenue > 5", "T1"), "value"),
        ((1, "industry", "Retail & staff >= 5", "T1"), "value"),
        ((1, "zip", "02139", ""), "territory_id"),
        ((1, "nearest", "", "T1"), "territory_id"),
    ],
)
def test_unreadable_cells_are_named(row: tuple, field: str) -> None:
    assert problems(table(row)) == [(1, field, "bad_value")]


def test_duplicate_priority_is_refused() -> None:
    rules = table((5, "state", "MA", "T1"), (5, "state", "NY", "T2"))
    assert problems(rules) == [(2, "priority", "duplicate_priority")]


# --- CSV ---------------------------------------------------------------------------------------


def test_rules_round_trip_through_csv_with_leading_zeros_and_formula_text() -> None:
    rules = R.parse_rules(table((1, "zip_prefix", "021", "T1"), (2, "industry", "=cmd|x & revenue < 5k", "T2"),
                                (3, "account", "0012", "-T3"), (4, "nearest", "", "")))
    data = R.rules_to_csv_bytes(rules)
    assert b"'=cmd" in data and b"'-T3" in data  # safe to open in a spreadsheet
    assert R.read_rules_csv(data) == rules
    assert data.splitlines()[0] == b"priority,kind,value,territory_id"


def test_a_rules_file_with_problems_names_the_file_rows() -> None:
    data = b"priority,kind,value,territory_id\n1,state,MA,T1\n2,zip,02139-02100,T2\n"
    with pytest.raises(R.RuleError, match="row 2 \\(value\\): zip range '02139-02100' runs backwards"):
        R.read_rules_csv(data, ["T1", "T2"])


def test_a_file_without_the_rule_columns_is_refused() -> None:
    with pytest.raises(R.DataError, match="this one has no \"kind\""):
        R.read_rules_csv(b"priority,value,territory_id\n1,MA,T1\n")


# --- the tester ---------------------------------------------------------------------------------


def test_where_would_it_land_reads_the_account_like_an_import(east_west) -> None:
    rules = R.parse_rules(table((1, "zip_prefix", "021", "W"), (2, "nearest", "", "")), east_west.territory_ids)
    row = R.where_would_it_land(east_west, rules, postal_code="2139", industry="Retail", revenue=5.0)
    assert (row["territory_id"], row["rule"]) == ("W", "#1 zip_prefix 021")  # the lost zero put back
    with pytest.raises(R.DataError, match="ZIP"):
        R.where_would_it_land(east_west, rules, postal_code="99999")


def test_size_band_text_is_canonical() -> None:
    assert R.SizeBand.parse("Revenue >= 1.5M").text() == "revenue >= 1500000"
    assert R.SizeBand.parse("employees 100 - 1,000").contains(R.SizeBand("employees", 200, 300))
    assert np.array_equal(R.SizeBand("revenue", 1, 2).mask(np.array([0.5, 1, 1.5, 2, np.nan])),
                          [False, True, True, False, False])


# --- every row accounted for (#14, item 3) --------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["N1", "N2", "N3", "", "A1"]),
                               st.sampled_from(["02139", "90012", "10001", "", "2139", "abc", "99999"]),
                               st.sampled_from(["Retail", "Energy", ""])), max_size=12))
def test_every_row_is_routed_or_rejected_once_by_its_row(east_west, rows) -> None:
    from territory.data.io import accounts_from_frame

    raw = pd.DataFrame(rows, columns=["account_id", "postal_code", "industry"], dtype=object)
    loaded = accounts_from_frame(raw)
    rules = R.parse_rules(table((1, "state", "MA", "E"), (2, "industry", "Energy", "W")), east_west.territory_ids)
    routing = R.route(loaded.accounts, rules, east_west)
    rejected = R.rejected_rows(loaded.report, routing)
    assert loaded.report.rows_read == len(rows) == len(routing.routed) + len(rejected)
    routed_rows = set(range(1, len(rows) + 1)) - {r["row"] for r in rejected}
    assert len({r["row"] for r in rejected}) == len(rejected) and len(routed_rows) == len(routing.routed)
    for r in rejected:  # each names its own row of the file
        assert r["account_id"] == (rows[r["row"] - 1][0] or r["account_id"])


def test_accounts_of_a_type_shown_apart_carry_no_load_before_or_after_routing() -> None:
    """#16: partners shown apart add nothing to a territory's load, as the other pages count it."""
    old = accounts([{"account_id": "C1", "account_type": "Customer"},
                    {"account_id": "P1", "account_type": "Partner"}])
    base = R.routing_base(old, ["E", "E"], counted_types=("Customer", "Prospect"))
    assert base.load.tolist() == [10.0]
    new = accounts([{"account_id": "N1", "account_type": "Partner"},
                    {"account_id": "N2", "account_type": "Prospect"}])
    got = R.route(new, R.parse_rules(table((1, "nearest", "", "")), base.territory_ids), base, guard=False)
    assert got.load["load_after"].tolist() == [20.0]  # the prospect's 10 h, not the partner's
    # new accounts without a type column all count; a base on another file's types counts every account
    assert R.route(new.drop(columns="account_type"), R.parse_rules(table((1, "nearest", "", "")), ("E",)), base,
                   guard=False).load["load_after"].tolist() == [30.0]
    assert R.routing_base(old, ["E", "E"], counted_types=("Reseller",)).load.tolist() == [20.0]
