"""The quarterly review report: one self-contained HTML file that opens offline.

Everything is inside the file: the CSS, the data, and plotly.js (inlined once), so the report can
be mailed, put on a shared drive or opened in a meeting room with no network. The map is drawn as
a plain plotly scatter over state outlines with each territory's shape filled in its colour
(:mod:`territory.planning.geography`; none for a non-geographic alignment, and the title says so),
no tile server, no topojson download. Every piece of
text from the data is HTML-escaped: ``html.escape`` in the page, ``chart_escape`` in the charts'
labels and hover text (plotly reads ``<a href>``, ``<b>``... there).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from territory.data import schema
from territory.data.measures import normalize_balance_on
from territory.planning import metrics
from territory.planning.geography import territory_shapes
from territory.reporting.boundaries import display_shapes, polygon_rings
from territory.reporting.colors import territory_colors
from territory.reporting.text import chart_escape, chart_labels

MAX_MOVED_ROWS = 1000
"""The report lists at most this many moved accounts (the assignment export has them all)."""


@dataclass(frozen=True)
class ReportInput:
    """What the report shows: the dataset, the alignment before and after, and context."""

    accounts: pd.DataFrame
    labels_after: pd.Series
    labels_before: pd.Series | None = None
    territories: pd.DataFrame | None = None
    title: str = "Territory review"
    scenario_name: str = ""
    dataset_name: str = ""
    balance_on: Any = "workload"
    tolerance: float = 0.05
    params: dict[str, Any] = field(default_factory=dict)
    messages: Sequence[str] = ()
    reasons: pd.Series | None = None
    boundaries: dict | None = None
    extra_sections: Sequence[tuple[str, str]] = ()  # (title, trusted HTML) e.g. the quarterly review


_SCORE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("max_deviation_pct", "Max deviation from target", "%"),
    ("cv", "Spread of load (coefficient of variation, 0 = even)", ""),
    ("gini", "Inequality of load (Gini, 0 = equal, 1 = all in one)", ""),
    ("max_min_ratio", "Largest / smallest load", "x"),
    ("workload_max_deviation_pct", "Workload: max deviation", "%"),
    ("revenue_max_deviation_pct", "Revenue: max deviation", "%"),
    ("potential_max_deviation_pct", "Potential: max deviation", "%"),
    ("weighted_mean_distance_km", "Workload-weighted mean distance to centre", "km"),
    ("fragmented_territories", "Territories in more than one piece", ""),
    ("stray_workload_pct", "Workload outside its territory's main piece", "%"),
    ("moved_accounts", "Accounts moved", ""),
    ("moved_revenue_pct", "Revenue moved", "%"),
)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        text = f"{int(value):,}"
    elif isinstance(value, (float, np.floating)) and unit == "km":
        text = f"{float(value):,.0f}"  # whole km, as the app shows distances
    elif isinstance(value, (float, np.floating)):
        text = f"{float(value):,.2f}" if abs(value) < 100 else f"{float(value):,.0f}"
    else:
        return html.escape(str(value))
    return f"{text} {unit}".strip() if unit not in ("%", "x") else f"{text}{unit}"


def scorecard_table(before: dict | None, after: dict) -> pd.DataFrame:
    """Rows of the before/after scorecard, formatted for people (used by the report and the app)."""
    rows = []
    for key, label, unit in _SCORE_ROWS:
        if key.startswith("moved_") and before is None:
            continue
        rows.append(
            {
                "Measure": label,
                # "moved" compares after with before: it has no value for the before column.
                "Before": "" if before is None or key.startswith("moved_") else _fmt(before.get(key), unit),
                "After": _fmt(after.get(key), unit),
            }
        )
    frame = pd.DataFrame(rows)
    if before is None:
        frame = frame.drop(columns="Before")
    return frame


def _table_html(frame: pd.DataFrame, numeric_format: dict[str, str] | None = None) -> str:
    shown = frame.copy()
    for column, pattern in (numeric_format or {}).items():
        if column in shown.columns:
            shown[column] = [
                "" if pd.isna(v) else pattern.format(v) for v in pd.to_numeric(shown[column], errors="coerce")
            ]
    return shown.to_html(index=False, escape=True, border=0, classes="grid", na_rep="")


def _bar_chart(table_before: pd.DataFrame | None, table_after: pd.DataFrame, column: str, title: str,
               unit: str, tolerance: float | None, colors: dict[str, str]) -> go.Figure:
    """Bars per territory, before in grey beside after in territory colours.

    ``tolerance`` draws the target band per FTE; pass None for a measure that was not balanced
    (a band there would suggest a target that does not exist).
    """
    figure = go.Figure()
    if table_before is not None:
        figure.add_bar(
            x=chart_labels(table_before[schema.TERRITORY_ID]), y=table_before[column], name="Before",
            marker_color="#c7c7c7",
        )
    figure.add_bar(
        x=chart_labels(table_after[schema.TERRITORY_ID]), y=table_after[column], name="After",
        marker_color=[colors.get(t, "#1f77b4") for t in table_after[schema.TERRITORY_ID]],
    )
    total = float(table_after[column].sum())
    capacity = table_after[schema.CAPACITY_FTE].astype(float)
    if tolerance is not None and total > 0 and capacity.sum() > 0:
        mean_per_fte = total / capacity.sum()
        figure.add_hrect(
            y0=mean_per_fte * (1 - tolerance), y1=mean_per_fte * (1 + tolerance), line_width=0,
            fillcolor="rgba(44,160,44,0.15)", annotation_text=f"target per FTE +/-{tolerance:.0%}",
            annotation_position="top left",
        )
    figure.update_layout(
        title=title, barmode="group", height=380, margin=dict(l=60, r=20, t=50, b=60),
        xaxis_title="Territory", yaxis_title=unit, legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
        plot_bgcolor="white",
    )
    figure.update_yaxes(gridcolor="#eeeeee")
    return figure


def _map_figure(accounts: pd.DataFrame, labels: pd.Series, boundaries: dict | None,
                colors: dict[str, str]) -> go.Figure | None:
    if schema.LATITUDE not in accounts.columns or schema.LONGITUDE not in accounts.columns:
        return None
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    ok = lat.notna() & lon.notna()
    if not ok.any():
        return None
    figure = go.Figure()
    if boundaries:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for feature in boundaries.get("features", []):
            geometry = feature.get("geometry") or {}
            polygons = geometry.get("coordinates", [])
            if geometry.get("type") == "Polygon":
                polygons = [polygons]
            for polygon in polygons:
                for ring in polygon:
                    xs.extend(p[0] for p in ring)
                    ys.extend(p[1] for p in ring)
                    xs.append(None)
                    ys.append(None)
        figure.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=0.7),
                                      hoverinfo="skip", showlegend=False))
    shapes = territory_shapes(accounts, labels)
    if shapes.geographic:
        _add_territory_shapes(figure, shapes, colors, lon[ok].to_numpy(), lat[ok].to_numpy())
    names = accounts[schema.NAME].astype(str) if schema.NAME in accounts.columns else accounts[schema.ACCOUNT_ID]
    for territory_id in sorted(labels[ok].dropna().astype(str).unique()):
        mask = ok & (labels.astype("string") == territory_id).fillna(False)
        figure.add_trace(
            go.Scattergl(
                x=lon[mask], y=lat[mask], mode="markers", name=chart_escape(territory_id),
                marker=dict(size=4, color=colors.get(territory_id, "#1f77b4")),
                text=chart_labels(names[mask]),
                hovertemplate="%{text}<br>" + chart_escape(territory_id) + "<extra></extra>",
            )
        )
    mid_lat = float(lat[ok].mean())
    title = "Accounts by territory (after)" + ("" if shapes.geographic else
                                                 ": not a geographic alignment, so no boundaries are drawn")
    figure.update_layout(
        title=title, height=560, margin=dict(l=20, r=20, t=50, b=20),
        plot_bgcolor="white", legend=dict(title="Territory", itemsizing="constant"),
    )
    figure.update_xaxes(visible=False, range=[float(lon[ok].min()) - 1, float(lon[ok].max()) + 1])
    figure.update_yaxes(visible=False, range=[float(lat[ok].min()) - 1, float(lat[ok].max()) + 1],
                        scaleanchor="x", scaleratio=1 / max(0.2, math.cos(math.radians(mid_lat))))
    return figure


def _add_territory_shapes(figure: go.Figure, shapes, colors: dict[str, str], lon, lat) -> None:
    """Each territory's shape (simplified, near the accounts) as a filled area in its colour, under the
    accounts: one trace per territory, its polygons separated by gaps."""
    near = shapely.box(float(lon.min()) - 1, float(lat.min()) - 1, float(lon.max()) + 1, float(lat.max()) + 1)
    for territory_id, geometry in zip(shapes.territory_ids, display_shapes(shapes)):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for polygon in shapely.get_parts(geometry):
            if not polygon.intersects(near):
                continue
            for rings in polygon_rings(polygon):
                xs.extend([p[0] for p in rings[0]] + [None])
                ys.extend([p[1] for p in rings[0]] + [None])
        color = colors.get(territory_id, "#888888")
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=f"rgba({r},{g},{b},0.25)",
                                    line=dict(color="rgba(70,70,70,0.8)", width=0.8), hoverinfo="skip",
                                    showlegend=False))


_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
h2 { border-bottom: 2px solid #eee; padding-bottom: 0.3rem; margin-top: 2.5rem; }
table.grid { border-collapse: collapse; font-size: 0.9rem; width: 100%; }
table.grid th, table.grid td { border-bottom: 1px solid #e5e5e5; padding: 0.35rem 0.6rem; text-align: left; }
table.grid th { background: #f7f7f7; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5rem 1rem; margin: 0.5rem 0; }
.kpis { display: flex; gap: 1rem; flex-wrap: wrap; } .kpi { background: #f7f9fc; border-radius: 8px;
        padding: 0.8rem 1.2rem; min-width: 160px; } .kpi b { display: block; font-size: 1.4rem; }
"""


@dataclass(frozen=True)
class ReportFigures:
    """The numbers a report shows: scorecards and per-territory tables, after and (optionally) before."""

    card_after: dict
    table_after: pd.DataFrame
    card_before: dict | None = None
    table_before: pd.DataFrame | None = None


def report_figures(data: ReportInput) -> ReportFigures:
    """Scorecards and tables of the report, from :mod:`territory.planning.metrics` on the labels alone (the
    same calls as the app's pages and the CLI, so the report shows their numbers)."""
    accounts = data.accounts
    after = data.labels_after.reindex(accounts.index)
    before = data.labels_before.reindex(accounts.index) if data.labels_before is not None else None
    kwargs = {"territories": data.territories, "balance_on": data.balance_on}
    return ReportFigures(
        card_after=metrics.scorecard(accounts, after, previous=before, **kwargs),
        table_after=metrics.territory_table(accounts, after, **kwargs),
        card_before=metrics.scorecard(accounts, before, **kwargs) if before is not None else None,
        table_before=metrics.territory_table(accounts, before, **kwargs) if before is not None else None,
    )


def build_report(data: ReportInput) -> str:
    """The whole report as one HTML string (write it with ``encoding="utf-8"``)."""
    accounts = data.accounts
    after = data.labels_after.reindex(accounts.index)
    before = data.labels_before.reindex(accounts.index) if data.labels_before is not None else None
    all_ids = list(after.dropna().astype(str).unique())
    if before is not None:
        all_ids += list(before.dropna().astype(str).unique())
    if data.territories is not None:
        all_ids += list(data.territories[schema.TERRITORY_ID].astype(str))
    colors = territory_colors(all_ids)

    figures = report_figures(data)
    card_after, card_before = figures.card_after, figures.card_before
    table_after, table_before = figures.table_after, figures.table_before

    measure = normalize_balance_on(data.balance_on)

    def band(name: str) -> float | None:
        return data.tolerance if measure == name else None

    figures: list[tuple[str, go.Figure]] = [
        ("Workload per territory", _bar_chart(table_before, table_after, schema.WORKLOAD_HOURS,
                                              "Workload per territory", "Workload (hours/year)",
                                              band("workload"), colors)),
        ("Revenue per territory", _bar_chart(table_before, table_after, schema.REVENUE,
                                             "Revenue per territory", "Revenue (USD/year)",
                                             band("revenue"), colors)),
    ]
    map_figure = _map_figure(accounts, after, data.boundaries, colors)

    def figure_html(figure: go.Figure, first: bool) -> str:
        return figure.to_html(full_html=False, include_plotlyjs=True if first else False,
                              config={"displaylogo": False, "responsive": True})

    parts: list[str] = []
    esc = html.escape
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = " · ".join(
        esc(x) for x in (data.scenario_name and f"Scenario: {data.scenario_name}",
                         data.dataset_name and f"Dataset: {data.dataset_name}", f"Generated {generated}") if x
    )
    parts.append(f"<h1>{esc(data.title)}</h1><p class='meta'>{subtitle}</p>")
    kpis = [
        ("Accounts", f"{len(accounts):,}"),
        ("Territories", f"{card_after['territories']:,}"),
        ("Revenue", f"${float(pd.to_numeric(accounts.get(schema.REVENUE), errors='coerce').sum()):,.0f}"
         if schema.REVENUE in accounts.columns else "n/a"),
        ("Workload", f"{float(pd.to_numeric(accounts.get(schema.WORKLOAD_HOURS), errors='coerce').sum()):,.0f} h"
         if schema.WORKLOAD_HOURS in accounts.columns else "n/a"),
        ("Max deviation (after)", _fmt(card_after.get("max_deviation_pct"), "%")),
    ]
    parts.append("<div class='kpis'>" + "".join(
        f"<div class='kpi'>{esc(k)}<b>{esc(v)}</b></div>" for k, v in kpis) + "</div>")
    for message in data.messages:
        parts.append(f"<p class='note'>{esc(str(message))}</p>")

    parts.append("<h2>Scorecard</h2>")
    parts.append(f"<p>Balanced on {esc(str(card_after.get('balance_on', '')))}, tolerance "
                 f"+/-{data.tolerance:.0%}.</p>")
    parts.append(_table_html(scorecard_table(card_before, card_after)))

    parts.append("<h2>Territories</h2>")
    shown = table_after[[c for c in (schema.TERRITORY_ID, schema.REP_NAME, schema.REGION, "accounts",
                                     schema.REVENUE, schema.POTENTIAL, schema.WORKLOAD_HOURS, "deviation_pct",
                                     "utilisation_pct", "weighted_mean_distance_km", "top_industry")
                         if c in table_after.columns]].rename(columns={
        schema.TERRITORY_ID: "Territory", schema.REP_NAME: "Rep", schema.REGION: "Region",
        "accounts": "Accounts", schema.REVENUE: "Revenue (USD)", schema.POTENTIAL: "Potential (USD)",
        schema.WORKLOAD_HOURS: "Workload (h/yr)", "deviation_pct": "Deviation (%)",
        "utilisation_pct": "Utilisation (%)", "weighted_mean_distance_km": "Mean distance (km)",
        "top_industry": "Top industry"})
    parts.append(_table_html(shown, {
        "Revenue (USD)": "{:,.0f}", "Potential (USD)": "{:,.0f}", "Workload (h/yr)": "{:,.0f}",
        "Deviation (%)": "{:+.1f}", "Utilisation (%)": "{:.0f}", "Mean distance (km)": "{:,.0f}"}))

    parts.append("<h2>Charts</h2>")
    first = True
    for _, figure in figures:
        parts.append(figure_html(figure, first))
        first = False
    if map_figure is not None:
        parts.append("<h2>Map</h2>")
        parts.append(figure_html(map_figure, first))

    if before is not None:
        moved = pd.Series(metrics.moved_mask(accounts, after, before)[0], index=accounts.index)
        parts.append(f"<h2>Moved accounts ({int(moved.sum()):,})</h2>")
        if moved.any():
            listing = pd.DataFrame({
                "Account": accounts.loc[moved, schema.ACCOUNT_ID].astype(str),
                "Name": accounts.loc[moved, schema.NAME].astype(str) if schema.NAME in accounts.columns else "",
                "From": before[moved].astype(str), "To": after[moved].astype(str),
                "Reason": (data.reasons.reindex(accounts.index)[moved].fillna("").astype(str)
                           if data.reasons is not None else ""),
            })
            if len(listing) > MAX_MOVED_ROWS:
                parts.append(f"<p class='note'>Showing the first {MAX_MOVED_ROWS:,} of {len(listing):,} moved "
                             "accounts; the assignment export lists them all.</p>")
                listing = listing.head(MAX_MOVED_ROWS)
            parts.append(_table_html(listing))
        else:
            parts.append("<p>No account changes territory.</p>")

    for section_title, section_html in data.extra_sections:
        parts.append(f"<h2>{esc(section_title)}</h2>{section_html}")

    if data.params:
        parts.append("<h2>Engine parameters</h2>")
        params = pd.DataFrame({"Parameter": list(data.params), "Value": [str(v) for v in data.params.values()]})
        parts.append(_table_html(params))

    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(data.title)}</title><style>{_CSS}</style></head><body>{body}"
        "<p class='meta'>Made with Territory Studio.</p></body></html>"
    )
