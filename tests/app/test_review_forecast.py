"""AppTest of the Quarterly review with imported quotas and with an opportunities-only CRM file:
attainment against the imported quotas, the focus showing its territory's quota, small multiples,
the forecast with its backtest, and the pipeline by stage."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.planning.opportunities import bookings_or_won, opportunities_from_table
from territory.planning.review import build_review
from tests.app.apptest import open_page, uploaded
from tests.crm_files import opportunity_export

PAGE = "pages/review.py"


def activate(accounts, territories, bookings, **extra):
    """A prepare(at) that makes this dataset active, as the Data page's 'Use this dataset' does."""
    from territory.ui import state

    def prepare(at):
        dataset, alignment = uploaded("crm upload", accounts, territories, bookings, **extra)
        at.session_state[state.DATASET_KEY] = dataset
        at.session_state[state.ALIGNMENT_KEY] = alignment
        at.session_state[state.INIT_KEY] = True

    return prepare


def table_with(at, column: str) -> pd.DataFrame:
    tables = [df.value for df in at.dataframe if column in df.value.columns]
    assert tables, f"no table with a {column!r} column"
    return tables[0]


def test_attainment_is_measured_against_imported_quotas(sample):
    # every territory but T20 gets an imported 2026Q3 quota of 1,000,000 USD; T05 also one for 2026Q2
    ids = sample.territories[schema.TERRITORY_ID].astype(str).tolist()
    quotas = pd.DataFrame({schema.TERRITORY_ID: ids[:-1] + ["T05"], schema.QUARTER: ["2026Q3"] * 19 + ["2026Q2"],
                           "quota": [1_000_000.0] * 19 + [900_000.0]})
    at = open_page(PAGE, activate(sample.accounts, sample.territories, sample.bookings, quotas=quotas))
    perf = table_with(at, "Quota source").set_index("Territory")
    expected = build_review(sample.accounts, sample.accounts[schema.TERRITORY_ID], sample.bookings,
                            sample.territories, quotas=quotas).table.set_index(schema.TERRITORY_ID)
    assert (perf.loc[ids[:-1], "Quota source"] == "imported").all() and perf.loc["T20", "Quota source"] == "rule"
    booked = expected.loc["T01", "bookings_last_quarter"]
    assert perf.loc["T01", "Attainment"] == pytest.approx(booked / 1_000_000 * 100)
    assert any("19 of 20 territories" in c.value for c in at.caption)
    at.selectbox(key="ts_review_focus").set_value("T05").run()
    assert not at.exception
    assert [m.label for m in at.metric][0] == "Quota T05 2026Q4 (USD)"
    figure = [c for c in at.get("plotly_chart") if "Quota (imported)" in c.proto.spec]
    assert figure, "the focused territory's chart shows its imported quota"
    quota = [t for t in json.loads(figure[0].proto.spec)["data"] if t.get("name") == "Quota (imported)"][0]
    y = quota["y"] if isinstance(quota["y"], list) else np.frombuffer(base64.b64decode(quota["y"]["bdata"]),
                                                                      quota["y"]["dtype"])
    shown = {x: float(v) for x, v in zip(quota["x"], y) if v == v}
    assert shown == {"2026Q2": 900_000.0, "2026Q3": 1_000_000.0}


def test_an_opportunities_only_crm_file_fills_the_page(sample):
    export = opportunity_export().astype(str)
    loaded = opportunities_from_table(export, {"opportunity_id": "Opportunity ID", "account_id": "Account ID",
                                               "amount": "Amount", "close_date": "Close Date", "stage": "Stage"})
    assert loaded.report.rows_rejected == 0
    opps = loaded.opportunities
    bookings, note = bookings_or_won(None, opps)
    at = open_page(PAGE, activate(sample.accounts, sample.territories, bookings, opportunities=opps,
                                  bookings_note=note))
    assert not at.error
    headers = [s.value for s in at.subheader]
    for header in ("Bookings per territory and quarter", "Forecast for 2026Q4", "Open pipeline by stage"):
        assert header in headers
    assert any("closed-won opportunities" in c.value for c in at.caption)
    scores = table_with(at, "WAPE")
    assert len(scores) == 3 and scores["WAPE"].notna().all()
    pipeline = table_with(at, "Open pipeline (USD)")
    open_total = opps.loc[opps["status"] == "open", "amount"].sum()
    assert pipeline["Open pipeline (USD)"].sum() == pytest.approx(open_total, abs=len(pipeline))
    # small multiples: one panel (y axis) per territory, each axis in USD
    trend = [c for c in at.get("plotly_chart") if '"yaxis20"' in c.proto.spec]
    assert trend, "no small multiples with 20 panels"
