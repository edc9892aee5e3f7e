"""Rebalance by account type (#16, item 2): the sidebar choice of the types that count, the figures
that say which accounts they count, and the estimate note with the rule one click away."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.data.sample import load_sample
from tests.app.apptest import new_app, open_upload, open_with_dataset, uploaded


@pytest.fixture(scope="module")
def typed():
    """1,200 sample accounts: every third a partner, the rest customers and prospects; workload
    flagged as estimated on every row, as an import without a workload column gives it."""
    sample = load_sample()
    accounts = sample.accounts.iloc[:1200].copy().reset_index(drop=True)
    kinds = np.where(np.arange(len(accounts)) % 3 == 0, "Partner",
                     np.where(np.arange(len(accounts)) % 3 == 1, "Customer", "Prospect"))
    accounts[schema.ACCOUNT_TYPE] = pd.array(kinds, dtype="string")
    accounts[schema.WORKLOAD_ESTIMATED] = pd.array([True] * len(accounts), dtype="boolean")
    territories = sample.territories
    return uploaded("Salesforce.csv", accounts, territories, sample.bookings.iloc[:0])


def open_typed(typed, page: str):
    return open_with_dataset(page, *typed, 180.0)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_rebalance_counts_customers_and_prospects_by_default_and_the_choice_changes_the_figures(typed):
    at = open_typed(typed, "pages/rebalance.py")
    choice = at.sidebar.multiselect(key="ts_rebalance_counted_types")
    assert choice.value == ["Customer", "Prospect"]
    assert set(choice.options) >= {"Customer (400)", "Prospect (400)", "Partner (400)"}
    assert ("Figures count 800 of 1,200 accounts (Customer, Prospect); 400 shown apart (Partner: 400) get a "
            "territory but carry no load.") in captions(at)
    moved_before = {m.label: m.value for m in at.metric}
    # every partner still gets a territory in the result
    at.sidebar.multiselect(key="ts_rebalance_counted_types").set_value(["Customer", "Prospect", "Partner"]).run()
    assert not at.exception
    assert "Figures count all 1,200 accounts" in captions(at)
    assert {m.label: m.value for m in at.metric} != moved_before


def test_a_dataset_with_types_opened_after_the_sample_starts_from_its_own_default_choice(typed):
    """Walking the app: the sample (no types) on Rebalance, then a Salesforce file in the same session;
    the choice made among the sample's types (none) left nothing chosen and a red error."""
    from territory.ui import state

    at = open_with_dataset("pages/rebalance.py", *uploaded("sample", load_sample().accounts.iloc[:1200].copy(),
                                                            load_sample().territories, load_sample().bookings.iloc[:0]),
                           180.0)
    assert not at.error
    dataset, alignment = typed
    at.session_state[state.DATASET_KEY] = dataset
    at.session_state[state.ALIGNMENT_KEY] = alignment
    at.run(timeout=180.0)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.sidebar.multiselect(key="ts_rebalance_counted_types").value == ["Customer", "Prospect"]


def test_no_type_chosen_is_a_clear_message_not_a_traceback(typed):
    at = open_typed(typed, "pages/rebalance.py")
    at.sidebar.multiselect(key="ts_rebalance_counted_types").set_value([]).run()
    assert not at.exception
    assert any("No account counts for balancing" in e.value for e in at.error)


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/territories.py", "pages/rebalance.py"])
def test_estimated_workload_is_marked_with_the_rule_one_click_away(typed, page):
    at = open_typed(typed, page)
    assert "Estimated by the rule, not from your file: workload for 100% of accounts." in captions(at)
    rule = " ".join(m.value for m in at.markdown)
    assert "Estimated by this rule" in rule and "visits per year" in rule and ".py" not in rule


def test_data_page_maps_annual_revenue_to_company_revenue_and_to_potential_on_request():
    data = (b"Account ID,Billing Zip/Postal Code,Annual Revenue,Type\n"
            b"A1,02139,5000000,Customer\nA2,10001,200000,Partner\n")
    at = open_upload(new_app().run())
    at.file_uploader(key="ts_data_accounts_file").set_value(("sf.csv", data, "text/csv")).run()
    key = f"sf.csv:{len(data)}"
    assert at.selectbox(key=f"ts_data_map_company_revenue_{key}").value == "Annual Revenue"
    assert at.selectbox(key=f"ts_data_map_account_type_{key}").value == "Type"
    assert at.selectbox(key=f"ts_data_map_potential_{key}").value == "(not in file)"
    at.selectbox(key=f"ts_data_map_potential_{key}").set_value("Annual Revenue").run()
    at.selectbox(key=f"ts_data_map_company_revenue_{key}").set_value("(not in file)").run()
    assert not at.exception
    assert "Estimated by the rule, not from your file: workload for 100% of accounts." in captions(at)
    # what balancing will count by default, said before the file is used (it read "all 2 accounts")
    assert "Figures count 1 of 2 accounts (Customer); 1 shown apart (Partner: 1)" in captions(at)


def test_a_scenario_saved_with_types_reads_the_same_on_every_page(typed, scenario_db):
    """Walking the app: a what-if counting customers and prospects at ±10% was saved; the Scenarios page
    then scored it over every account at ±5% (a different max deviation), and so did the Rep page.
    Now the scenario keeps its counted types, and Open, Compare and the Rep page read as Rebalance did."""
    from territory.planning.scenarios import ScenarioStore
    from territory.ui.components.widgets import format_pct

    at = open_typed(typed, "pages/rebalance.py")
    at.sidebar.slider(key="ts_rebalance_tolerance_pct").set_value(10).run()
    at.text_input(key="ts_rebalance_scenario_name").input("Typed plan")
    at.button(key="FormSubmitter:ts_rebalance_scenario_form-Save scenario").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = ScenarioStore(scenario_db).load("Typed plan")
    assert saved.params["counted_types"] == ["Customer", "Prospect"] and saved.params["tolerance"] == 0.1
    shown_on_rebalance = saved.metrics["max_deviation_pct"]  # the what-if's after card, as the page shows it

    at.switch_page("pages/scenarios.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="ts_scn_open").set_value("Typed plan").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Max deviation"] == format_pct(shown_on_rebalance)
    assert "Figures count 800 of 1,200 accounts" in captions(at) and "±10%" in captions(at)

    at.button(key="ts_scn_activate").click().run()
    at.session_state["ts_scn_tab"] = "Compare"  # Compare: the scenario beside the alignment in use
    at.run()
    at.multiselect(key="ts_scn_compare").set_value(["(alignment in use)", "Typed plan"]).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "Max deviation from target (%)" in getattr(d.value, "index", []))
    in_use, = (c for c in table.columns if c.startswith("In use"))
    # the scenario, and the same alignment made active from it, read as Rebalance showed them
    assert table.loc["Max deviation from target (%)", "Typed plan"] == pytest.approx(shown_on_rebalance)
    assert table.loc["Max deviation from target (%)", in_use] == pytest.approx(shown_on_rebalance)

    at.switch_page("pages/rep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    load = next(m for m in at.metric if m.label == "Load vs target")
    assert "±10%" in load.proto.delta


def test_the_overview_counts_the_load_as_rebalance_and_territories_do(typed):
    """Walking the app: with partners shown apart, the Overview's max deviation and workload counted them
    (every account) while Rebalance's "before" and the Territories table did not."""
    from territory.planning import metrics
    from territory.ui.components.widgets import format_hours, format_pct

    dataset, alignment = typed
    at = open_typed(typed, "pages/overview.py")
    kpis = {m.label: m.value for m in at.metric}
    counted = (dataset.accounts[schema.ACCOUNT_TYPE] != "Partner").to_numpy()
    card = metrics.scorecard(dataset.accounts[counted], alignment.labels[counted], territories=dataset.territories)
    assert kpis["Max deviation"] == format_pct(card["max_deviation_pct"])
    assert kpis["Workload (h/yr)"] == format_hours(dataset.accounts.loc[counted, schema.WORKLOAD_HOURS].sum())
    assert kpis["Accounts"] == "1,200"  # every account in view is still on the map and counted here
    assert "Figures count 800 of 1,200 accounts" in captions(at)


def test_every_page_counts_the_same_accounts_for_the_alignment_in_use(typed):
    """Walking the app with a Salesforce file (#16): partners shown apart were in the capacity plan's,
    the routing band's, the review's and the Rep page's figures but not the Overview's."""
    import re

    from territory.ui import state

    at = open_typed(typed, "pages/rebalance.py")
    at.button(key="ts_rebalance_make_active").click().run()
    dataset, alignment = at.session_state[state.DATASET_KEY], at.session_state[state.ALIGNMENT_KEY]
    counted = (dataset.accounts[schema.ACCOUNT_TYPE] != "Partner").to_numpy()
    workload = dataset.accounts[schema.WORKLOAD_HOURS][counted].sum()
    labels = alignment.labels

    at.switch_page("pages/overview.py").run()
    assert {m.label: m.value for m in at.metric}["Workload (h/yr)"] == f"{workload:,.0f} h"

    at.switch_page("pages/territories.py").run()
    plan = next(m.value for m in at.markdown if "h of workload need" in m.value)
    assert f"the {workload:,.0f} h of workload" in plan

    at.switch_page("pages/routing.py").run()
    assert not at.exception
    from territory.ui.routing import routing_base

    base = routing_base(dataset, alignment)
    assert base.load.sum() == pytest.approx(workload)

    at.switch_page("pages/review.py").run()
    assert "Figures count 800 of 1,200 accounts" in captions(at) and "Figures count all" not in captions(at)

    at.switch_page("pages/rep.py").run()
    territory = at.selectbox(key="ts_rep_territory").value
    mine = (labels == territory).to_numpy()
    shown = {m.label: m.value for m in at.metric}["Accounts"]
    assert re.sub(r"\D", "", shown) == str(int((mine & counted).sum()))
