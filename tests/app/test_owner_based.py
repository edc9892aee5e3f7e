"""The app on an owner-based alignment, as a CRM export gives it (found walking the app in Chromium).

The accounts carry an "Account Owner" and no territories file: each owner is a territory, with no
rep name, region or home base, and every territory is spread over the whole country. Nothing may
read as if data were missing ("no rep yet" beside every owner, a Rep column of "None") or draw a
map that hides itself (twenty country-wide outlines on top of one another).
"""

from __future__ import annotations

import html
import io
import json
from types import SimpleNamespace

import pandas as pd
import pytest

from territory.data import schema
from territory.data.sample import load_sample
from territory.planning.review import OVER_CAPACITY, default_capacity_ids
from territory.ui.components import maps
from tests.app.apptest import open_with_dataset, uploaded

OWNERS = ["Laura Mitchell & Co", "Brian O'Brien", "Marcus Zimmerman", "Mei Quinn", "Derek Robinson",
          "Sofia Bennett"]


@pytest.fixture(scope="module")
def owner_based():
    """1,500 sample accounts assigned to six owners round robin within each industry (not by area),
    no territories file, the sample's bookings."""
    from territory.ui import state

    sample = load_sample()
    accounts = sample.accounts.iloc[:1500].copy().reset_index(drop=True)
    rank = accounts.groupby(schema.INDUSTRY).cumcount()
    accounts[schema.TERRITORY_ID] = pd.array([OWNERS[i % len(OWNERS)] for i in rank], dtype="string")
    territories = state.territories_for(accounts, None)
    bookings = sample.bookings[sample.bookings[schema.ACCOUNT_ID].isin(set(accounts[schema.ACCOUNT_ID]))]
    bookings = bookings.reset_index(drop=True)
    return uploaded("Salesforce Accounts export.csv", accounts, territories, bookings,
                    default_capacity=default_capacity_ids(None, territories[schema.TERRITORY_ID]))


def open_owner_based(owner_based, page: str):
    return open_with_dataset(page, *owner_based, 120.0)


def legends(at) -> str:
    return " ".join(h.proto.body for h in at.get("html") if "Territory" in h.proto.body)


def layer_ids(at) -> list[str]:
    return [layer["id"] for deck in at.get("deck_gl_json_chart") for layer in json.loads(deck.proto.json)["layers"]]


def test_overview_legend_lists_owners_and_leaves_out_overlapping_outlines(owner_based):
    at = open_owner_based(owner_based, "pages/overview.py")
    legend = legends(at)
    assert "no rep yet" not in legend and "&middot; rep" not in legend  # the owner is the territory
    assert html.escape(OWNERS[0]) in legend
    assert "Rep home base" not in legend
    assert not any("outline" in layer for layer in layer_ids(at)), "country-wide outlines drawn over each other"
    assert "territory-labels" not in layer_ids(at), "six owners' labels stacked in the middle of the country"
    assert maps.NOT_GEOGRAPHIC_NOTE in legend  # said once, beside the map (not again under it)
    assert not any(maps.NOT_GEOGRAPHIC_NOTE in caption.value for caption in at.caption)


def test_rebalance_legend_has_no_rep_home_base_without_home_bases(owner_based):
    at = open_owner_based(owner_based, "pages/rebalance.py")
    legend = legends(at)
    assert "Rep home base" not in legend and "no rep yet" not in legend
    assert "Before: " + maps.NOT_GEOGRAPHIC_NOTE in legend  # redrawn at stability 0.5: outlines after, not before
    ids = layer_ids(at)
    assert "after-outline-lines" in ids and "before-outline-lines" not in ids
    assert "after-territory-labels" in ids and "before-territory-labels" not in ids  # owners: the legend names them


def test_territories_table_shows_no_none_and_the_whole_owner_name(owner_based):
    at = open_owner_based(owner_based, "pages/territories.py")
    table = at.dataframe[0]
    assert schema.REP_NAME not in table.value and schema.REGION not in table.value  # nothing to show
    assert sorted(table.value[schema.TERRITORY_ID]) == sorted(OWNERS)
    # 125 px showed "Marcus Zimmerman" in full in the walk's Rep column; 70 px cut it to "Marcus Zi".
    assert json.loads(table.proto.columns)[schema.TERRITORY_ID]["width"] >= 125
    drill = at.selectbox(key="ts_territories_drill")
    assert sorted(drill.options) == sorted(OWNERS)  # the owner alone, not "Mei Quinn · <NA>"


def test_review_tables_have_no_rep_column_of_none(owner_based):
    at = open_owner_based(owner_based, "pages/review.py")
    shown = [frame.value for frame in at.dataframe]
    with_territory = [frame for frame in shown if "Territory" in frame]
    assert with_territory, "no per-territory table on the review page"
    assert not any("Rep" in frame for frame in with_territory)
    legend = " ".join(h.proto.body for h in at.get("html") if "Penetration per hexagon" in h.proto.body)
    assert maps.NOT_GEOGRAPHIC_NOTE in legend
    # nothing on the map is drawn in the territory colours (no outline, no home base): no list of them
    assert "Rep home base" not in legend and html.escape(OWNERS[0]) not in legend


def test_review_says_owners_count_as_one_fte_and_flags_capacity_against_the_team(owner_based):
    at = open_owner_based(owner_based, "pages/review.py")
    notes = [box.value for box in at.info]
    assert any("No capacity is given for all 6 territories, so each counts as 1 FTE" in n for n in notes), notes
    flags = next((frame.value for frame in at.dataframe if "Flag" in frame), pd.DataFrame({"Flag": [], "Value": []}))
    # rule-estimated hours are thousands per owner: against 1,600 h per FTE every owner was over capacity
    over = flags[flags["Flag"] == OVER_CAPACITY]
    assert len(over) < len(OWNERS), over
    assert not over["Value"].astype(str).str.contains("h/yr").any()  # a share of the team's average per FTE, in %


def test_exports_name_each_owner_as_the_rep_while_the_pages_show_the_owner_once(owner_based):
    """Sales ops load the files back into the CRM: the rep column is the owner, never blank or "None"."""
    from dataclasses import replace

    from territory.reporting.export import assignment_table
    from territory.reporting.report import ReportInput, build_report
    from territory.ui import rebalance, state

    dataset, alignment = owner_based
    dataset = replace(dataset, owner_reps=True)
    territories = state.export_territories(dataset)
    assert territories[schema.REP_NAME].tolist() == territories[schema.TERRITORY_ID].tolist()
    assert dataset.territories[schema.REP_NAME].isna().all()  # the pages' table is unchanged
    accounts = dataset.accounts
    assignment = pd.DataFrame({schema.TERRITORY_ID: alignment.labels, "previous_territory_id": alignment.labels,
                               "moved": False, "reason": ""})
    table = assignment_table(accounts, assignment, territories)
    assert (table[schema.REP_NAME] == table[schema.TERRITORY_ID]).all()
    page = build_report(ReportInput(accounts=accounts, labels_after=alignment.labels, labels_before=None,
                                    territories=territories, title="Territory review", dataset_name=dataset.name))
    assert ">None<" not in page and "&lt;NA&gt;" not in page
    assert page.count(f">{OWNERS[2]}<") >= 2  # the territory and its rep in the territories table
    assert not state.export_territories(replace(dataset, owner_reps=False))[schema.REP_NAME].notna().any()
    workbook = pd.read_excel(io.BytesIO(rebalance.workbook_bytes(
        accounts, SimpleNamespace(assignment=assignment, after_table=dataset.territories), territories,
        owner_reps=True)), sheet_name=None)
    assert (workbook["Territories"][schema.REP_NAME] == workbook["Territories"][schema.TERRITORY_ID]).all()
    assert (workbook["Assignment"][schema.REP_NAME] == workbook["Assignment"][schema.TERRITORY_ID]).all()


def test_a_territory_without_revenue_says_so_instead_of_a_nan_share(owner_based):
    """A CRM export without our revenue: the drill-down's 80/20 caption read "nan% of its revenue"."""
    from dataclasses import replace

    dataset, alignment = owner_based
    accounts = dataset.accounts.copy()
    accounts[schema.REVENUE] = float("nan")
    at = open_with_dataset("pages/territories.py", replace(dataset, accounts=accounts), alignment, 120.0)
    assert not at.exception
    text = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "nan%" not in text
    assert "no revenue for these accounts" in text and "Top accounts by workload" in text
    assert {m.label: m.value for m in at.metric}["Revenue (USD/yr)"] == "unknown"  # not "$0"


def test_the_rep_page_of_a_crm_file_without_revenue_or_bookings_shows_what_it_has(owner_based):
    """Walking the app with a Salesforce export (no revenue, no potential, no bookings): the Rep page drew
    a penetration map of grey "no potential" hexagons, ranked its top accounts by a revenue of 0 (two
    columns of zeros), offered "$0/yr" of white space, and said its outline note twice."""
    from dataclasses import replace

    dataset, alignment = owner_based
    accounts = dataset.accounts.copy()
    accounts[schema.REVENUE] = 0.0
    accounts[schema.POTENTIAL] = 0.0
    accounts[schema.POTENTIAL_UNKNOWN] = True
    crm = replace(dataset, accounts=accounts, bookings=dataset.bookings.iloc[:0])
    at = open_with_dataset("pages/rep.py", crm, alignment, 120.0)
    assert not at.exception, [e.value for e in at.exception]
    markdown = " ".join(m.value for m in at.markdown)
    assert "penetration" not in markdown and "White space" not in markdown
    assert "largest workload first" in markdown
    assert "review-penetration" not in layer_ids(at)
    top = next(d.value for d in at.dataframe if "Industry" in d.value.columns)
    assert "Revenue (USD/yr)" not in top.columns and "Potential (USD/yr)" not in top.columns
    assert top["Workload (h/yr)"].is_monotonic_decreasing
    notes = [c.value for c in at.caption if "outside the boundary" in c.value or "not geographic" in c.value]
    assert not notes, "a map's note is in its legend; it is not said again under the map"
    assert not any("outline" in layer for layer in layer_ids(at)), "an owner's country-wide shape drawn as a territory"
