"""One alignment, one set of figures: every page, export, the report and the CLI agree (issue #12, item 5).

Before this test, the same alignment of the sample read "mean distance 197 -> 220 km" on Rebalance
(workload centroids), "221 -> 287 km" in the HTML report and 287 km on Scenarios (rep home bases),
and 220 km in the CLI (the engine's own centres). Here the sample is balanced once by the CLI with
the Rebalance page's default settings and saved as a scenario; then each figure is computed through
every path that shows it, and all must be identical.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.cli import main
from territory.data import schema
from territory.data.sample import load_sample
from territory.planning import metrics
from territory.planning.basis import Basis
from territory.planning.scenarios import COMPARISON_ROWS, ScenarioStore, apply_to_dataset, compare_scenarios
from territory.reporting import report
from territory.ui import cached
from territory.ui import rebalance as rb
from territory.ui import scenarios as scenarios_ui
from territory.ui.state import frame_fingerprint, territories_for

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "agree"
MEASURE = "workload"  # the Rebalance page's, the Scenarios page's and the CLI's default
FIGURES = ("weighted_mean_distance_km", "max_deviation_pct", "cv", "fragmented_territories", "moved_accounts",
           "moved_revenue_pct")
KPI_OF = {"weighted_mean_distance_km": "Mean distance", "max_deviation_pct": "Max deviation", "cv": "Spread",
          "fragmented_territories": "Fragmented territories", "moved_accounts": "Moved accounts",
          "moved_revenue_pct": "Moved revenue"}


class _Tables(HTMLParser):
    """Every <table> of an HTML page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ARG002  HTMLParser callback signature
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(page: str) -> list[pd.DataFrame]:
    parser = _Tables()
    parser.feed(page)
    return [pd.DataFrame(rows[1:], columns=rows[0]) for rows in parser.tables if rows]


def run_cli(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


@pytest.fixture
def alignment(tmp_path: Path) -> dict:
    """The sample balanced by the CLI with the page defaults, saved as a scenario, read back."""
    db = tmp_path / "scenarios.sqlite"
    summary = json.loads(run_cli(["balance", "--json", "--save-as", SCENARIO, "--db", str(db)]))
    sample = load_sample()
    accounts = sample.accounts
    territories = territories_for(accounts, sample.territories)  # what the app makes of the sample
    scenario = ScenarioStore(db).load(SCENARIO)
    labels, diff = apply_to_dataset(scenario, accounts)
    assert diff.matches
    before = accounts[schema.TERRITORY_ID].astype("string")
    return {"db": db, "summary": summary, "accounts": accounts, "territories": territories, "sample": sample,
            "scenario": scenario, "labels": labels.astype("string"), "before": before,
            "fingerprint": frame_fingerprint(accounts, territories, sample.bookings)}


def assert_all_equal(figure: str, seen: dict[str, object]) -> None:
    """Every path's value of one figure is the same (the message lists them all)."""
    values = list(seen.values())
    assert all(v == values[0] for v in values), f"{figure} differs between paths:\n" + "\n".join(
        f"  {path:55s} {value!r}" for path, value in seen.items())


def test_every_path_gives_the_same_scorecard_figures(alignment, tmp_path):
    a = alignment
    accounts, territories, labels, before, fp = (a["accounts"], a["territories"], a["labels"], a["before"],
                                                a["fingerprint"])
    # Rebalance page: the function its KPIs, load chart and XLSX summary come from
    bcard, acard, _, rb_table = rb.alignment_figures(fp, accounts, before, labels, territories, territories, MEASURE)
    kpis = {k.label: k for k in rb.kpis(bcard, acard)}
    # Scenarios page: Open tab (scored against the file's alignment) and Compare tab
    open_card = cached.scorecard(fp, accounts, labels, before, territories, MEASURE)
    compare = compare_scenarios(accounts, {"in use": before, SCENARIO: labels}, territories, MEASURE)
    compare_label = dict(COMPARISON_ROWS)
    # The report (the Scenarios page's download builds exactly this input) and the CLI's report
    data = report.ReportInput(accounts=accounts, labels_after=labels, labels_before=before, territories=territories,
                       balance_on=MEASURE)
    figures = report.report_figures(data)
    page = report.build_report(data)
    cli_page_path = tmp_path / "review.html"
    run_cli(["report", "--scenario", SCENARIO, "--db", str(a["db"]), "--output", str(cli_page_path)])
    shown = report.scorecard_table(figures.card_before, figures.card_after).to_dict("records")
    for name, html_page in (("report", page), ("CLI report", cli_page_path.read_text(encoding="utf-8"))):
        assert html_tables(html_page)[0].to_dict("records") == shown, name  # it prints these figures
        heading = re.search(r"<h2>Moved accounts \(([\d,]+)\)</h2>", html_page).group(1)
        assert heading == f"{figures.card_after['moved_accounts']:,}", name

    for figure in FIGURES:
        seen = {
            "CLI balance --json": a["summary"][figure],
            "CLI balance --json, scorecard": a["summary"]["scorecard"][figure],
            "scenario metrics saved by the CLI": a["scenario"].metrics[figure],
            "Rebalance KPI (after)": kpis[KPI_OF[figure]].after,
            "Scenarios page, Open": open_card[figure],
            "Scenarios page, Compare": compare.loc[compare_label[figure], SCENARIO] if figure in compare_label
            else open_card[figure],
            "report": figures.card_after[figure],
        }
        if figure == "weighted_mean_distance_km":
            seen["metrics.weighted_mean_distance_km"] = metrics.weighted_mean_distance_km(accounts, labels)
        if figure == "moved_accounts":
            seen["scenario assignment 'moved' (CLI scenario show)"] = int(a["scenario"].assignment["moved"].sum())
        assert_all_equal(figure, {k: float(v) for k, v in seen.items()})
        if figure.startswith("moved_"):
            continue
        seen_before = {
            "Rebalance KPI (before)": kpis[KPI_OF[figure]].before,
            "Scenarios page, Compare (in use)": compare.loc[compare_label[figure], "in use"]
            if figure in compare_label else bcard[figure],
            "report (before)": figures.card_before[figure],
        }
        assert_all_equal(f"{figure} before", {k: float(v) for k, v in seen_before.items()})

    # The moved accounts listed (Rebalance tab, assignment export) are the ones counted.
    cli_assignment = a["scenario"].assignment.set_axis(accounts.index)
    listed = rb.moved_accounts_table(accounts, rb.after_assignment(cli_assignment, before))
    assert len(listed) == a["summary"]["moved_accounts"]
    from territory.planning.scenarios import aligned_assignment
    from territory.reporting.export import assignment_table

    exported = assignment_table(accounts, aligned_assignment(a["scenario"], accounts), territories)
    assert int(exported["moved"].sum()) == a["summary"]["moved_accounts"]


def test_every_path_gives_the_same_mean_distance_per_territory(alignment):
    a = alignment
    accounts, territories, labels, before, fp = (a["accounts"], a["territories"], a["labels"], a["before"],
                                                a["fingerprint"])
    column = "weighted_mean_distance_km"
    _, acard, _, rb_table = rb.alignment_figures(fp, accounts, before, labels, territories, territories, MEASURE)
    data = report.ReportInput(accounts=accounts, labels_after=labels, labels_before=before, territories=territories,
                       balance_on=MEASURE)
    whatif = rb.WhatIf(None, rb.after_assignment(a["scenario"].assignment.set_axis(accounts.index), before),
                       before, labels, {}, acard, rb_table, rb_table, territories, 0.0)
    sheets = {
        name: pd.read_excel(io.BytesIO(blob), sheet_name="Territories")
        for name, blob in (
            ("Rebalance XLSX", rb.workbook_bytes(accounts, whatif, territories)),
            ("Scenarios XLSX", scenarios_ui.workbook_bytes(accounts, labels, a["scenario"], territories,
                                                             Basis(MEASURE))),
        )
    }
    tables = {
        "Territories page": cached.territory_table(fp, accounts, labels, territories, MEASURE),
        "Rebalance after table": rb_table,
        "report": report.report_figures(data).table_after,
        **sheets,
    }
    per_territory = {
        name: dict(zip(t[schema.TERRITORY_ID].astype(str), t[column].astype(float))) for name, t in tables.items()
    }
    for territory in sorted(per_territory["Territories page"]):
        assert_all_equal(f"{column} of {territory}", {
            name: v[territory] for name, v in per_territory.items() if name not in sheets})
        # The workbook writes numbers to 16 significant digits (Excel shows 15): the same number.
        for name in sheets:
            assert per_territory[name][territory] == pytest.approx(per_territory["report"][territory], rel=1e-15)
    # The report's Territories table prints them in whole km.
    shown = html_tables(report.build_report(data))[1].set_index("Territory")["Mean distance (km)"]
    expected = {t: f"{v:,.0f}" for t, v in per_territory["report"].items()}
    assert shown.to_dict() == expected
    # ... and the scorecard's figure is their workload-weighted mean.
    table = tables["Territories page"]
    weights = table[schema.WORKLOAD_HOURS].to_numpy(float)
    assert np.average(table[column].to_numpy(float), weights=weights) == pytest.approx(
        acard[column], rel=1e-12)


def test_rebalance_and_scenarios_pages_show_one_mean_distance(alignment, scenario_db):
    """The issue's own walk: Rebalance shows a what-if, it is saved, and the Scenarios page opens it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/rebalance.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m for m in at.metric if m.label == "Mean distance"]
    assert len(shown) == 2
    before_text, after_text = shown[0].value, shown[1].value
    at.text_input(key="ts_rebalance_scenario_name").input("From Rebalance")
    next(b for b in at.button if b.label == "Save scenario").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved, _ = apply_to_dataset(ScenarioStore(scenario_db).load("From Rebalance"), alignment["accounts"])
    # The page's default what-if is the alignment the CLI made with the same settings.
    assert saved.astype("string").equals(alignment["labels"]), "the page's what-if is not the CLI's alignment"

    at.switch_page("pages/scenarios.py").run()
    at.selectbox(key="ts_scn_open").set_value("From Rebalance").run()
    assert not at.exception, [e.value for e in at.exception]
    on_scenarios = [m.value for m in at.metric if "mean distance" in m.label.lower()]
    assert len(on_scenarios) == 1

    cli = alignment["summary"]["weighted_mean_distance_km"]
    in_report = html_tables(report.build_report(report.ReportInput(
        accounts=alignment["accounts"], labels_after=alignment["labels"], labels_before=alignment["before"],
        territories=alignment["territories"])))[0].set_index("Measure").loc[
        "Workload-weighted mean distance to centre"]
    assert_all_equal("mean distance shown (after)", {
        "Rebalance page": after_text, "Scenarios page": on_scenarios[0], "report": in_report["After"],
        "CLI --json": f"{cli:,.0f} km"})
    assert_all_equal("mean distance shown (before)", {"Rebalance page": before_text, "report": in_report["Before"]})
