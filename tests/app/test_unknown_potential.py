"""A Salesforce-style file with no revenue column (#16): "Annual Revenue" is the customer's own revenue,
so our revenue and potential are not in the file. The pages say potential is unknown instead of showing
0 "estimated by the rule", and nothing offers to balance on that column of zeros.
"""

from __future__ import annotations

import io

import pytest

from territory.data import schema
from territory.data.io import load_accounts
from territory.data.sample import load_sample
from territory.ui import keys
from tests.app.apptest import open_with_dataset
from tests.crm_files import salesforce_accounts

N_ACCOUNTS = 1500
UNKNOWN = "Potential unknown for 100% of accounts"


@pytest.fixture(scope="module")
def salesforce():
    """The Salesforce export as the Data page loads it, with the sample's bookings of the same accounts
    (the export's accounts are the sample's first ones under Salesforce IDs)."""
    from territory.ui import state

    buffer = io.BytesIO()
    salesforce_accounts(N_ACCOUNTS).to_csv(buffer, index=False)
    accounts = load_accounts(buffer.getvalue(), filename="Salesforce accounts.csv").accounts
    sample = load_sample()
    ids = dict(zip(sample.accounts[schema.ACCOUNT_ID].head(N_ACCOUNTS), accounts[schema.ACCOUNT_ID]))
    bookings = sample.bookings[sample.bookings[schema.ACCOUNT_ID].isin(set(ids))].copy()
    bookings[schema.ACCOUNT_ID] = bookings[schema.ACCOUNT_ID].map(ids).astype("string")
    dataset = state.build_dataset(accounts, None, bookings.reset_index(drop=True), name="Salesforce accounts.csv")
    labels = state.file_labels(dataset)
    return dataset, state.Alignment(labels, state.CURRENT_ALIGNMENT_NAME, state.labels_fingerprint(labels), "09:00")


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_the_import_marks_every_row_unknown_and_estimates_none(salesforce):
    accounts = salesforce[0].accounts
    assert accounts[schema.POTENTIAL_UNKNOWN].all() and (accounts[schema.POTENTIAL] == 0).all()
    assert schema.POTENTIAL_ESTIMATED not in accounts


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/territories.py"])
def test_pages_that_show_potential_say_it_is_unknown(salesforce, page):
    at = open_with_dataset(page, *salesforce, 120.0)
    assert UNKNOWN in captions(at) and "nothing is balanced on it" in captions(at)
    assert "potential for 100%" not in captions(at)  # not called an estimate


def test_rebalance_offers_no_balancing_on_the_unknown_potential_or_the_missing_revenue(salesforce):
    at = open_with_dataset("pages/rebalance.py", *salesforce, 120.0)
    assert UNKNOWN in captions(at)
    measure = at.selectbox(key="ts_rebalance_measure")
    assert measure.options == ["Workload (hours/year)", "Accounts (count)", "Composite (weighted)"]
    assert "Potential is not offered: it is unknown for every account" in measure.help
    assert at.multiselect(key="ts_rebalance_also_balance").options == ["Accounts (count)"]
    measure.set_value("Composite (weighted)").run()
    assert at.selectbox(key="ts_rebalance_composite_partner").options == ["accounts"]
    assert not at.exception, [e.value for e in at.exception]


def test_the_review_holds_the_quota_blend_on_bookings(salesforce):
    at = open_with_dataset("pages/review.py", *salesforce, 120.0)
    assert UNKNOWN in captions(at)
    blend = at.slider(key=keys.REVIEW_BLEND)
    assert blend.disabled and blend.value == 0 and "Held at 0%" in blend.help
    assert "Quota share = 0% x share of potential + 100% x share of trailing-4-quarter bookings" in captions(at)
    assert not at.exception, [e.value for e in at.exception]


def test_no_column_of_zeros_passes_for_revenue_or_potential(salesforce):
    """Found walking the pages: the Overview said Revenue $0 and the Territories table had a Revenue and a
    Potential column of zeros, for a file that has neither."""
    overview = open_with_dataset("pages/overview.py", *salesforce, 120.0)
    revenue = [m for m in overview.metric if m.label == "Revenue (USD/yr)"][0]
    assert revenue.value == "n/a" and "Not in your file" in revenue.help
    territories = open_with_dataset("pages/territories.py", *salesforce, 120.0)
    table = [d.value for d in territories.dataframe if "workload_hours" in d.value.columns][0]
    assert schema.REVENUE not in table and schema.POTENTIAL not in table
    assert "Not shown: revenue and potential" in captions(territories)
