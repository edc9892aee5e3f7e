"""The review report: self-contained, escaped, and complete."""

from __future__ import annotations

import re

import pandas as pd

from territory.reporting.report import MAX_MOVED_ROWS, ReportInput, build_report, scorecard_table

XSS = "<img src=x onerror=alert(1)>"


def tiny_accounts(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": [XSS] + [f"Account {i}" for i in range(1, n)],
            "latitude": [40.0 + 0.1 * i for i in range(n)],
            "longitude": [-74.0 - 0.1 * i for i in range(n)],
            "industry": ["Retail"] * n,
            "revenue": [100.0] * n,
            "potential": [300.0] * n,
            "workload_hours": [10.0] * n,
            "territory_id": ["T1"] * (n - 2) + ["T2"] * 2,
        }
    )


def test_report_is_self_contained_and_escapes_account_names() -> None:
    accounts = tiny_accounts()
    after = pd.Series(["T1"] * 4 + ["T2"] * 4, index=accounts.index)
    reasons = pd.Series([""] * 4 + ["T1 was 50% over target; 5 km closer to T2's centre"] * 4, index=accounts.index)
    page = build_report(
        ReportInput(
            accounts=accounts,
            labels_after=after,
            labels_before=accounts["territory_id"],
            reasons=reasons,
            title="Q3 <review>",
            scenario_name="Plan & go",
            params={"tolerance": 0.05},
        )
    )
    assert page.startswith("<!DOCTYPE html>")
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Q3 &lt;review&gt;" in page and "Plan &amp; go" in page
    # No script, stylesheet or font is fetched from anywhere: everything is inline.
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert page.count("plotly.js v") >= 1 and page.count('class="plotly-graph-div"') >= 3
    assert "Moved accounts (2)" in page  # A4 and A5 moved from T1 to T2
    assert "T1 was 50% over target" in page


def test_scorecard_table_has_before_and_after_and_no_before_for_moves() -> None:
    before = {"max_deviation_pct": 40.0, "cv": 0.3, "weighted_mean_distance_km": 120.0, "moved_accounts": 0}
    after = {"max_deviation_pct": 2.5, "cv": 0.01, "weighted_mean_distance_km": 80.5, "moved_accounts": 12}
    table = scorecard_table(before, after).set_index("Measure")
    assert table.loc["Max deviation from target", "Before"] == "40.0%"
    assert table.loc["Max deviation from target", "After"] == "2.5%"  # one decimal, as the app shows them
    assert table.loc["Workload-weighted mean distance to centre", "After"] == "80 km"  # whole km, as in the app
    assert table.loc["Accounts moved", "Before"] == "" and table.loc["Accounts moved", "After"] == "12"
    assert "Before" not in scorecard_table(None, after).columns


def test_long_moved_lists_are_capped_with_a_note() -> None:
    n = MAX_MOVED_ROWS + 10
    accounts = tiny_accounts(n)
    accounts["territory_id"] = "T1"
    after = pd.Series(["T2"] * n, index=accounts.index)
    page = build_report(ReportInput(accounts=accounts, labels_after=after, labels_before=accounts["territory_id"]))
    assert f"Showing the first {MAX_MOVED_ROWS:,} of {n:,} moved accounts" in page


def _sections(page: str) -> list[str]:
    """The report's sections (each a printed page, the appendix last) in order."""
    return re.findall(r"<section class='([^']*)'>(.*?)</section>", page, flags=re.DOTALL)


def _regional(n: int = 8) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Accounts in T1..T4 over two regions (T1, T2 North; T3, T4 South), reps and 6 quarters of bookings."""
    accounts = tiny_accounts(n)
    accounts["territory_id"] = ["T1", "T2", "T3", "T4"] * (n // 4)
    territories = pd.DataFrame({"territory_id": ["T1", "T2", "T3", "T4"], "rep_name": ["Ann", "Bo", "Cy", "Di"],
                                "region": ["North", "North", "South", "South"], "capacity_fte": [1.0] * 4})
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    bookings = pd.DataFrame([{"account_id": a, "quarter": q, "amount": 100.0 + 10 * i}
                             for a in accounts["account_id"] for i, q in enumerate(quarters)])
    return accounts, territories, bookings


def test_the_pack_is_a_summary_page_then_territories_then_one_page_per_region_then_the_appendix() -> None:
    from territory.planning.review import ReviewSettings, build_review

    accounts, territories, bookings = _regional()
    after = accounts["territory_id"].replace({"T4": "T3"})  # T4's two accounts move to T3
    review = build_review(accounts, after, bookings, territories, ReviewSettings())
    page = build_report(ReportInput(accounts=accounts, labels_after=after, labels_before=accounts["territory_id"],
                                    territories=territories, review=review, params={"tolerance": 0.05}))
    sections = _sections(page)
    assert [kind for kind, _ in sections] == ["page summary", "page", "page", "page region", "page region",
                                              "appendix"]
    summary = sections[0][1]
    assert "Accounts moved" in summary and "Before and after" in summary and "Flags (" in summary
    assert "Bookings 2026Q2" in summary and "Forecast 2026Q3" in summary
    assert "Over capacity" in summary  # T3 carries T4's accounts too: about twice the team average per FTE
    north, south = sections[3][1], sections[4][1]
    assert "Region: North" in north and ">T1<" in north and ">T2<" in north and ">T3<" not in north
    assert "Region: South" in south and ">T3<" in south and "Moved in" in south
    # Over capacity (above 110% of the team's average per FTE): only T3, in the South
    assert north.count("Over capacity</b>") == 0 and south.count("Over capacity</b>") == 1
    appendix = sections[5][1]
    assert "Moved accounts (2)" in appendix and "Quarterly review: territories" in appendix
    assert "Settings of the balance" in appendix
    assert "Moved accounts (" not in "".join(body for _, body in sections[:5])  # the list is in the appendix only


def test_summary_leaves_the_appendix_out_and_keeps_the_pages() -> None:
    from territory.planning.review import build_review

    accounts, territories, bookings = _regional()
    after = accounts["territory_id"].replace({"T4": "T3"})
    review = build_review(accounts, after, bookings, territories)
    data = ReportInput(accounts=accounts, labels_after=after, labels_before=accounts["territory_id"],
                       territories=territories, review=review, params={"tolerance": 0.05}, summary=True)
    page = build_report(data)
    assert [kind for kind, _ in _sections(page)] == ["page summary", "page", "page", "page region", "page region"]
    assert "Moved accounts (" not in page and "Settings of the balance" not in page
    assert "Quarterly review: territories" not in page


def test_without_regions_or_review_the_territories_share_one_page() -> None:
    accounts = tiny_accounts()
    page = build_report(ReportInput(accounts=accounts, labels_after=accounts["territory_id"]))
    kinds = [kind for kind, _ in _sections(page)]
    assert kinds == ["page summary", "page", "page", "page region", "appendix"]
    assert "All territories" in _sections(page)[3][1] and "Flags (" not in page


ANCHOR = '<a href="https://evil.example">T1</a>'
LIVE_TAG = re.compile(r"<\s*(a|img)\b", re.IGNORECASE)


def _strings(value) -> list[str]:
    """Every string in a plotly figure dict (categories, names, hover text, templates, titles)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    if hasattr(value, "tolist"):
        return _strings(value.tolist())
    return []


def test_report_chart_labels_show_hostile_ids_and_names_as_text() -> None:
    """Plotly reads <a href>, <b>... in axis ticks, legends and hover text: the report's charts escape them."""
    from territory.planning import metrics
    from territory.reporting.report import _bar_chart, map_figure

    accounts = tiny_accounts()
    accounts["name"] = [ANCHOR] + list(accounts["name"].iloc[1:])
    accounts["territory_id"] = [ANCHOR] * 6 + ["T2"] * 2
    labels = accounts["territory_id"]
    table = metrics.territory_table(accounts, labels)
    for figure in (_bar_chart(table, table, "workload_hours", "Workload", "h", 0.05, {}),
                   map_figure(accounts, labels, None, {})):
        strings = _strings(figure.to_plotly_json())
        assert [s for s in strings if LIVE_TAG.search(s)] == []
        assert any("&lt;a href=\"https://evil.example\"&gt;T1&lt;/a&gt;" in s for s in strings)

    page = build_report(ReportInput(accounts=accounts, labels_after=labels, labels_before=labels))
    # The figures travel as JSON with < > / as \u003c \u003e \u002f: decode them before looking.
    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)
    assert not re.search(r'<a\s+href=\\?"https://evil\.example', decoded)
    assert '&lt;a href=\\"https://evil.example\\"&gt;T1&lt;/a&gt;' in decoded  # in the charts, escaped


def test_every_territory_list_of_the_pack_names_its_level_path() -> None:
    """#15: the territory's level path (Region › District) on the territories page, each region page
    and the review's appendix, not only on the app's Territories page."""
    from territory.planning.review import build_review

    accounts, territories, bookings = _regional()
    territories = territories.assign(district=["Coast", "Hills", "Delta", "Delta"])
    review = build_review(accounts, accounts["territory_id"], bookings, territories)
    page = build_report(ReportInput(accounts=accounts, labels_after=accounts["territory_id"], territories=territories,
                                    review=review, params={"tolerance": 0.05}))
    sections = _sections(page)
    listing, north, south, appendix = sections[1][1], sections[3][1], sections[4][1], sections[5][1]
    for html_part in (listing, north, appendix):
        assert "<th>Region › District</th>" in html_part and "<td>North › Coast</td>" in html_part
    assert "<td>South › Delta</td>" in south
    assert "<th>Region</th>" not in listing  # the path replaces the region column
    flat = build_report(ReportInput(accounts=accounts, labels_after=accounts["territory_id"],
                                    territories=territories.drop(columns=["region", "district"])))
    assert "›" not in flat


def test_report_map_outlines_industry_team_territories_over_the_geographic_fills() -> None:
    """A Healthcare team (HC-1 in the east, HC-2 in the west) over the sample's 20 territories: the
    geographic territories are filled, the team's two territories are outlines in their colour, and
    the title says they overlap by design (before, the team took cells of its own from the fills)."""
    from territory.data.sample import load_sample
    from territory.reporting.colors import territory_colors
    from territory.reporting.report import map_figure

    accounts = load_sample().accounts
    labels = accounts["territory_id"].astype("string").copy()
    healthcare = (accounts["industry"] == "Healthcare").to_numpy(dtype=bool)
    east = (accounts["longitude"] > -95).to_numpy(dtype=bool)
    labels[healthcare & east] = "HC-1"
    labels[healthcare & ~east] = "HC-2"
    colors = territory_colors(sorted(set(labels)))
    figure = map_figure(accounts, labels, None, colors)
    areas = [trace for trace in figure.data if trace.mode == "lines"]
    outlines = [trace for trace in areas if trace.fill == "none"]
    assert len([trace for trace in areas if trace.fill == "toself"]) == 20
    assert sorted(trace.line.color for trace in outlines) == sorted([colors["HC-1"], colors["HC-2"]])
    assert "overlap the geographic territories by design" in figure.layout.title.text


def test_the_report_says_when_potential_is_unknown() -> None:
    """A file with neither potential nor revenue: the pack names the unknown potential, not a 0 as data."""
    accounts = tiny_accounts().assign(revenue=0.0, potential=0.0, potential_unknown=True)
    labels = accounts["territory_id"]
    page = build_report(ReportInput(accounts=accounts, labels_after=labels, labels_before=labels))
    assert "Potential unknown for 100% of accounts" in page and "nothing was balanced on it" in page
    known = build_report(ReportInput(accounts=tiny_accounts(), labels_after=labels, labels_before=labels))
    assert "Potential unknown" not in known


def test_the_bar_chart_gives_a_half_fte_territory_its_own_half_target():
    """Walking the review report: one band at the full-time target made the 0.5-FTE territories look 50%
    under target."""
    from territory.reporting.report import _bar_chart

    table = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "workload_hours": [1000.0, 1000.0, 500.0],
                          "capacity_fte": [1.0, 1.0, 0.5]})
    figure = _bar_chart(None, table, "workload_hours", "Workload", "Workload (hours/year)", 0.05, {})
    band = next(t for t in figure.data if t.type == "scatter")
    assert list(band.y) == [1000.0, 1000.0, 500.0] and list(band.error_y.array) == [50.0, 50.0, 25.0]
    assert not figure.layout.shapes and figure.layout.yaxis.tickformat == ","
    equal = _bar_chart(None, table.assign(capacity_fte=1.0), "workload_hours", "W", "h", 0.05, {})
    assert len(equal.layout.shapes) == 1  # one target for all: the shaded band, named in the legend
