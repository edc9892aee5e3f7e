"""The review report opens in a real browser with every non-local request blocked."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from territory.data.sample import load_sample, us_states_geojson
from territory.reporting.report import MAX_MOVED_ROWS, ReportInput, build_report

pytestmark = pytest.mark.browser


def test_report_renders_offline_in_chromium(browser, tmp_path: Path) -> None:
    sample = load_sample()
    accounts = sample.accounts
    after = accounts["territory_id"].copy()
    after.iloc[:25] = "T03"
    path = tmp_path / "review.html"
    path.write_text(
        build_report(
            ReportInput(accounts=accounts, labels_after=after, labels_before=accounts["territory_id"],
                        territories=sample.territories, boundaries=us_states_geojson(), scenario_name="offline")
        ),
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []

    def route(handle):
        url = handle.request.url
        if url.startswith("file://"):
            handle.continue_()
        else:
            requested.append(url)
            handle.abort()

    page.route("**/*", route)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 3  # workload, revenue, map
    assert page.locator("h2", has_text="Moved accounts").count() == 1  # in the appendix
    assert requested == [], f"the report asked the network for {requested}"
    assert errors == []
    page.close()


LETTER_CONTENT_PX = (720, 960)
"""A US Letter page less the report's 0.5 in margins, in CSS px (96 per inch): 7.5 x 10 in."""


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it (one ``/Type /Page`` object per page)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def _print(browser, html_text: str, tmp_path: Path, name: str) -> tuple[bytes, float]:
    """(the PDF Chromium prints on US Letter, the height in CSS px of the summary page laid out for print)."""
    path = tmp_path / name
    path.write_text(html_text, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    page.route("**/*", lambda handle: handle.continue_() if handle.request.url.startswith("file://")
               else (requested.append(handle.request.url), handle.abort()))
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    pdf = page.pdf(format="Letter", print_background=True)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": LETTER_CONTENT_PX[0], "height": LETTER_CONTENT_PX[1]})
    height = page.evaluate("document.querySelector('section.summary').getBoundingClientRect().height")
    page.close()
    assert requested == [], f"the report asked the network for {requested}"
    return pdf, float(height)


def test_the_sample_meeting_pack_prints_to_at_most_8_letter_pages(browser, tmp_path: Path) -> None:
    """The issue's measure (#19, item 6): the sample, re-balanced, with its review, printed to PDF."""
    from territory.balance import BalanceParams, balance
    from territory.planning.review import build_review

    sample = load_sample()
    result = balance(sample.accounts, BalanceParams(tolerance=0.05, stability=0.5), sample.territories)
    review = build_review(sample.accounts, result.labels, sample.bookings, sample.territories)
    data = ReportInput(accounts=sample.accounts, labels_after=result.labels,
                       labels_before=sample.accounts["territory_id"], territories=sample.territories,
                       reasons=result.assignment["reason"], boundaries=us_states_geojson(), review=review,
                       params={"tolerance": 0.05, "stability": 0.5})
    assert int(result.assignment["moved"].sum()) > MAX_MOVED_ROWS  # the long list the issue complained about
    summary_pdf, summary_height = _print(browser, build_report(replace(data, summary=True)), tmp_path, "pack.html")
    full_pdf, _ = _print(browser, build_report(data), tmp_path, "full.html")
    pages, full_pages = _pdf_pages(summary_pdf), _pdf_pages(full_pdf)
    print(f"meeting pack: {pages} Letter pages with --summary, {full_pages} with the appendix")
    assert pages <= 8
    assert summary_height <= LETTER_CONTENT_PX[1], f"the summary is {summary_height:.0f} px tall: more than a page"
    assert full_pages > pages  # the appendix (moved accounts, review tables) comes after
