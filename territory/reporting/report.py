"""The quarterly review report: one self-contained HTML file that opens offline and prints as a meeting pack.

Page 1 is a summary (KPIs, before and after, flags), then the territories, then one page per region;
the long lists (moved accounts, the full review tables) go to an appendix that ``summary=True``
leaves out. Pages break only in print (``break-after: page``, US Letter), and charts are drawn at
the printed width.

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
from territory.data.measures import normalize_balance_on, potential_unknown_share
from territory.planning import metrics
from territory.planning.forecast import BookingsForecast, forecast_bookings, summary_sentence
from territory.planning.geography import territory_shapes
from territory.planning.hierarchy import level_path_header, level_paths
from territory.planning.review import QuarterlyReview, review_sections_html
from territory.reporting.boundaries import display_shapes, outline_lines, polygon_rings
from territory.reporting.colors import alignment_colors, neighbour_colors
from territory.reporting.text import chart_escape, chart_labels, short_usd

MAX_MOVED_ROWS = 1000
"""The report lists at most this many moved accounts (the assignment export has them all)."""
PRINT_WIDTH_PX = 720
"""Charts are drawn this wide: a US Letter page less 0.5 in margins is 7.5 in = 720 CSS px, so a chart
printed from the report is never cut at the right edge (plotly does not re-layout for print)."""


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
    extra_sections: Sequence[tuple[str, str]] = ()  # (title, trusted HTML), each on its own page
    review: QuarterlyReview | None = None  # the quarterly review of labels_after: region pages, flags, appendix
    forecast: BookingsForecast | None = None  # next quarter's forecast; None: made from the review's bookings
    summary: bool = False  # the meeting pack without the appendix (moved accounts, full tables, parameters)


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
    elif isinstance(value, (float, np.floating)) and unit == "%":
        text = f"{float(value):,.1f}"  # one decimal, as the app shows percentages (86.2%, not 86.16%)
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


def table_html(frame: pd.DataFrame, numeric_format: dict[str, str] | None = None, classes: str = "grid") -> str:
    shown = frame.copy()
    for column, pattern in (numeric_format or {}).items():
        if column in shown.columns:
            shown[column] = [
                "" if pd.isna(v) else pattern.format(v) for v in pd.to_numeric(shown[column], errors="coerce")
            ]
    # na_rep covers floats only: a missing text cell would read "None" or "<NA>"
    shown = shown.astype(object).where(shown.notna(), "")
    return shown.to_html(index=False, escape=True, border=0, classes=classes, na_rep="")


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
        target = total / capacity.sum() * capacity
        band_name = f"Target ±{tolerance:.0%} (capacity share)"
        if np.allclose(capacity, capacity.iloc[0]):  # one target for every bar: a shaded band
            figure.add_hrect(y0=float(target.iloc[0]) * (1 - tolerance), y1=float(target.iloc[0]) * (1 + tolerance),
                             line_width=0, fillcolor="rgba(44,160,44,0.15)")
            figure.add_scatter(x=[None], y=[None], mode="markers", name=band_name,
                               marker=dict(symbol="square", size=12, color="rgba(44,160,44,0.35)"))
        else:  # a half-FTE rep's target is half: each bar gets its own (one band made them look 50% under)
            figure.add_scatter(
                x=chart_labels(table_after[schema.TERRITORY_ID]), y=target, mode="markers", name=band_name,
                marker=dict(symbol="line-ew-open", size=18, color="#2ca02c", line=dict(width=2)),
                error_y=dict(type="data", array=target * tolerance, color="#2ca02c", thickness=1.5, width=6),
            )
    figure.update_layout(
        title=title, barmode="group", width=PRINT_WIDTH_PX, height=320, margin=dict(l=60, r=20, t=50, b=60),
        xaxis_title="Territory", yaxis_title=unit, legend=dict(orientation="h", y=1.12, x=1, xanchor="right"),
        plot_bgcolor="white",
    )
    figure.update_yaxes(gridcolor="#eeeeee", tickformat=",")
    return figure


def map_figure(accounts: pd.DataFrame, labels: pd.Series, boundaries: dict | None, colors: dict[str, str],
               title: str = "Accounts by territory (after)", width: int = PRINT_WIDTH_PX,
               height: int = 520, shapes=None) -> go.Figure | None:
    """Accounts as dots in their territory's colour over the state outlines, framed on the accounts,
    with the shapes of the territories in ``colors`` filled in. ``shapes``: the whole alignment's
    (:func:`territory.planning.geography.territory_shapes`) when ``accounts`` are only some of it (one
    territory's shape built from its own accounts alone would cover the country)."""
    if schema.LATITUDE not in accounts.columns or schema.LONGITUDE not in accounts.columns:
        return None
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    ok = lat.notna() & lon.notna()
    if not ok.any():
        return None
    figure = go.Figure()
    if boundaries:
        xs, ys = outline_lines(boundaries)
        figure.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=0.7),
                                      hoverinfo="skip", showlegend=False))
    shapes = territory_shapes(accounts, labels) if shapes is None else shapes
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
    title += "" if shapes.geographic else ": not a geographic alignment, so no boundaries are drawn"
    if shapes.geographic and shapes.teams:
        title += " (industry teams outlined: they overlap the geographic territories by design)"
    figure.update_layout(
        title=title, width=width, height=height, margin=dict(l=20, r=20, t=50, b=20),
        plot_bgcolor="white", legend=dict(title="Territory", itemsizing="constant"),
    )
    figure.update_xaxes(visible=False, range=[float(lon[ok].min()) - 1, float(lon[ok].max()) + 1])
    figure.update_yaxes(visible=False, range=[float(lat[ok].min()) - 1, float(lat[ok].max()) + 1],
                        scaleanchor="x", scaleratio=1 / max(0.2, math.cos(math.radians(mid_lat))))
    return figure


def _add_territory_shapes(figure: go.Figure, shapes, colors: dict[str, str], lon, lat) -> None:
    """Each territory's shape (simplified, near the accounts) as a filled area in its colour, under the
    accounts: one trace per territory, its polygons separated by gaps. Industry-team territories
    (``shapes.teams``) come after, as thick outlines in their colour over the fills (they overlap the
    geographic territories by design)."""
    near = shapely.box(float(lon.min()) - 1, float(lat.min()) - 1, float(lon.max()) + 1, float(lat.max()) + 1)
    layers = [(shapes, False)] + [(team.shapes, True) for team in shapes.teams]
    for layer, team in layers:
        for territory_id, geometry in zip(layer.territory_ids, display_shapes(layer)):
            if territory_id not in colors:  # a territory not drawn here
                continue
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
            style = (dict(fill="none", line=dict(color=color, width=2.5)) if team else
                     dict(fill="toself", fillcolor=f"rgba({r},{g},{b},0.25)",
                          line=dict(color="rgba(70,70,70,0.8)", width=0.8)))
            figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False, **style))


REPORT_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1000px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
h2 { border-bottom: 2px solid #eee; padding-bottom: 0.3rem; margin-top: 2.5rem; }
h3 { margin: 1.2rem 0 0.4rem; font-size: 1.05rem; }
table.grid { border-collapse: collapse; font-size: 0.9rem; width: 100%; display: block; overflow-x: auto; }
table.grid th, table.grid td { border-bottom: 1px solid #e5e5e5; padding: 0.35rem 0.6rem; text-align: left; }
table.grid th { background: #f7f7f7; } table.region td:last-child { white-space: nowrap; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5rem 1rem; margin: 0.5rem 0; }
.kpis { display: flex; gap: 0.8rem; flex-wrap: wrap; } .kpi { background: #f7f9fc; border-radius: 8px;
        padding: 0.6rem 1rem; min-width: 150px; } .kpi b { display: block; font-size: 1.3rem; }
.kpi small { display: block; color: #555; }
ul.flags { margin: 0.3rem 0; padding-left: 1.2rem; } ul.flags li { margin: 0.15rem 0; }
.page { break-after: page; } .page:last-of-type { break-after: auto; }
@page { size: letter; margin: 0.5in; }
@media print {
  body { margin: 0; padding: 0; max-width: none; font-size: 10pt; }
  h1 { font-size: 18pt; } h2 { margin-top: 0; font-size: 14pt; } h3 { font-size: 11pt; margin-top: 0.8rem; }
  table.grid { font-size: 7.5pt; display: table; } table.grid th, table.grid td { padding: 0.15rem 0.3rem; }
  thead { display: table-header-group; } tr, .kpi, .js-plotly-plot, .note { break-inside: avoid; }
  .kpis { gap: 0.4rem; } .kpi { padding: 0.3rem 0.5rem; min-width: 95px; border: 1px solid #e3e7ee; font-size: 8.5pt; }
  .kpi b { font-size: 11pt; } .kpi small { font-size: 7pt; } ul.flags { font-size: 8.5pt; }
  .modebar-container { display: none; }
}
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


class Charts:
    """Plotly figures as HTML divs: plotly.js is inlined with the first one only (call in page order)."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, figure: go.Figure) -> str:
        self.count += 1
        return figure.to_html(full_html=False, include_plotlyjs=self.count == 1,
                              config={"displaylogo": False, "responsive": False, "displayModeBar": False})


@dataclass(frozen=True)
class _Pack:
    """Everything the pages of the report read, computed once."""

    data: ReportInput
    after: pd.Series
    before: pd.Series | None
    figures: ReportFigures
    colors: dict[str, str]
    moved: pd.Series | None  # per account, when there is a before
    regions: dict[str, list[str]]  # region -> its territories, in table order
    forecast: Any  # territory.planning.forecast.BookingsForecast or None


def _regions(table: pd.DataFrame) -> dict[str, list[str]]:
    """Region -> territories (sorted regions; territories without a region under "(no region)").
    One group "All territories" when no territory has a region."""
    ids = table[schema.TERRITORY_ID].astype(str)
    region = table[schema.REGION] if schema.REGION in table.columns else pd.Series(pd.NA, index=table.index)
    region = region.astype("string").str.strip().replace("", pd.NA)
    if region.isna().all():
        return {"All territories": list(ids)}
    region = region.fillna("(no region)")
    return {name: list(ids[region == name]) for name in sorted(region.unique())}


def _pack(data: ReportInput) -> _Pack:
    accounts = data.accounts
    after = data.labels_after.reindex(accounts.index)
    before = data.labels_before.reindex(accounts.index) if data.labels_before is not None else None
    all_ids = list(after.dropna().astype(str).unique())
    if before is not None:
        all_ids += list(before.dropna().astype(str).unique())
    if data.territories is not None:
        all_ids += list(data.territories[schema.TERRITORY_ID].astype(str))
    figures = report_figures(data)
    moved = (pd.Series(metrics.moved_mask(accounts, after, before)[0], index=accounts.index)
             if before is not None else None)
    forecast = data.forecast
    if forecast is None and data.review is not None and data.review.has_bookings:
        forecast = forecast_bookings(data.review.bookings, data.territories)
    # the after alignment's map colours (as in the app); territories only the before has keep their own hue
    colors = {**neighbour_colors(all_ids, ()), **alignment_colors(accounts, after, data.territories)}
    return _Pack(data, after, before, figures, colors, moved, _regions(figures.table_after),
                 forecast)


# --- page 1: the summary ------------------------------------------------------------------------------


def kpi_html(kpis: Sequence[tuple[str, str, str]]) -> str:
    """(label, value, small print) tiles, all escaped."""
    esc = html.escape
    return "<div class='kpis'>" + "".join(
        f"<div class='kpi'>{esc(label)}<b>{esc(value)}</b>" + (f"<small>{esc(note)}</small>" if note else "")
        + "</div>" for label, value, note in kpis) + "</div>"


def _review_kpis(pack: _Pack, ids: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """Bookings, attainment, next quarter's quota and forecast of ``ids`` (every territory when None)."""
    review, forecast = pack.data.review, pack.forecast
    if review is None or not review.has_bookings:
        return []
    table = review.table if ids is None else review.table[review.table[schema.TERRITORY_ID].isin(ids)]
    latest = float(table["bookings_last_quarter"].sum())
    year_ago = float(table["bookings_year_ago"].sum())
    yoy = f"{(latest / year_ago - 1) * 100:+.1f}% YoY" if year_ago > 0 else ""
    quota = float(table["attainment_quota"].sum())
    attained = table["bookings_last_quarter"][table["attainment_quota"].notna()].sum()
    kpis = [(f"Bookings {review.latest_quarter}", short_usd(latest), yoy),
            (f"Attainment {review.latest_quarter}", f"{attained / quota * 100:,.0f}%" if quota > 0 else "n/a",
             f"of {short_usd(quota)} quota")]
    if forecast is not None and forecast.quarter is not None and len(forecast.territories):
        rows = forecast.territories if ids is None else forecast.territories[
            forecast.territories[schema.TERRITORY_ID].isin(ids)]
        value = float(rows["value"].sum())
        interval = ""
        if ids is None:
            total = forecast.regions.iloc[-1]
            interval = f"80%: {short_usd(total['low'])} to {short_usd(total['high'])}"
        elif len(pack.regions) > 1:
            region = forecast.regions[forecast.regions[schema.REGION].isin(
                [r for r, members in pack.regions.items() if list(members) == list(ids)])]
            if len(region):
                interval = f"80%: {short_usd(region['low'].iloc[0])} to {short_usd(region['high'].iloc[0])}"
        kpis.append((f"Forecast {forecast.quarter}", short_usd(value), interval))
    kpis.append((f"Quota {review.next_quarter}", short_usd(table["quota"].sum()), "suggested by the quota rule"))
    return kpis


def _flag_list(flags: pd.DataFrame) -> str:
    items = "".join(f"<li><b>{html.escape(str(row['flag']))}</b>: {html.escape(str(row['detail']))}</li>"
                    for _, row in flags.iterrows())
    return f"<ul class='flags'>{items}</ul>"


def _flag_counts(flags: pd.DataFrame) -> pd.DataFrame:
    """One row per kind of flag: how many territories have it, and which (the region pages have the numbers)."""
    rows = []
    for kind, group in flags.groupby("flag", sort=False):
        ids = list(dict.fromkeys(group[schema.TERRITORY_ID].astype(str)))
        rows.append({"Flag": kind, "Territories": len(ids), "Which": ", ".join(ids)})
    return pd.DataFrame(rows, columns=["Flag", "Territories", "Which"])


def _summary_page(pack: _Pack) -> str:
    data, figures, esc = pack.data, pack.figures, html.escape
    accounts, card_after, card_before = data.accounts, figures.card_after, figures.card_before
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = " · ".join(
        esc(x) for x in (data.scenario_name and f"Scenario: {data.scenario_name}",
                         data.dataset_name and f"Dataset: {data.dataset_name}", f"Generated {generated}") if x
    )
    parts = [f"<section class='page summary'><h1>{esc(data.title)}</h1><p class='meta'>{subtitle}</p>"]
    deviation = _fmt(card_after.get("max_deviation_pct"), "%")
    kpis = [
        ("Accounts", f"{len(accounts):,}", ""),
        ("Territories", f"{card_after['territories']:,}", ""),
        ("Revenue", short_usd(pd.to_numeric(accounts[schema.REVENUE], errors="coerce").sum())
         if schema.REVENUE in accounts.columns else "n/a", "USD/yr"),
        ("Workload", f"{float(pd.to_numeric(accounts.get(schema.WORKLOAD_HOURS), errors='coerce').sum()):,.0f} h"
         if schema.WORKLOAD_HOURS in accounts.columns else "n/a", "per year"),
        ("Max deviation (after)", deviation,
         f"before: {_fmt(card_before.get('max_deviation_pct'), '%')}" if card_before is not None else ""),
    ]
    if card_before is not None:
        kpis.append(("Accounts moved", f"{int(card_after.get('moved_accounts', 0)):,}",
                     f"{_fmt(card_after.get('moved_revenue_pct'), '%')} of revenue"))
    parts.append(kpi_html(kpis + _review_kpis(pack)))
    for message in data.messages:
        parts.append(f"<p class='note'>{esc(str(message))}</p>")
    unknown = potential_unknown_share(accounts)
    if unknown:
        parts.append(f"<p class='note'>Potential unknown for {unknown:.0%} of accounts: the data has neither potential "
                     "nor revenue for them, so their potential counts as 0 in these figures"
                     + (" and nothing was balanced on it." if unknown == 1 else ".") + "</p>")
    if pack.forecast is not None:
        parts.append(f"<p>{esc(summary_sentence(pack.forecast))}</p>")
    parts.append("<h3>Before and after</h3>" if card_before is not None else "<h3>Scorecard</h3>")
    parts.append(f"<p>Balanced on {esc(str(card_after.get('balance_on', '')))}, tolerance "
                 f"+/-{data.tolerance:.0%}.</p>")
    parts.append(table_html(scorecard_table(card_before, card_after)))
    review = data.review
    if review is not None:
        flags = review.flags
        parts.append(f"<h3>Flags ({len(flags):,})</h3>")
        if len(flags):
            parts.append(table_html(_flag_counts(flags)))
            parts.append("<p>Each region's page names the numbers behind its flags.</p>")
        else:
            parts.append("<p>No territory is flagged.</p>")
    parts.append("<h3>In this pack</h3><p>" + esc(" · ".join(_contents(pack))) + "</p></section>")
    return "\n".join(parts)


def _contents(pack: _Pack) -> list[str]:
    entries = ["Summary", "Territories", "Revenue and map"]
    entries += [f"Region: {name}" for name in pack.regions] if len(pack.regions) > 1 else ["All territories"]
    entries += [title for title, _ in pack.data.extra_sections]
    if not pack.data.summary:
        entries.append("Appendix: moved accounts" + (", review tables" if pack.data.review is not None else "")
                       + (", settings of the balance" if pack.data.params else ""))
    return entries


# --- the team pages -----------------------------------------------------------------------------------


def _level_paths(territories: pd.DataFrame | None, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """``{"Region › District": the path of each of ids}``, a column for a territory table; {} without levels."""
    header = level_path_header(territories)
    if not header:
        return {}
    return {header: level_paths(territories, [str(t) for t in ids], include_territory=False).to_numpy(dtype=object)}


def _blank(values: pd.Series) -> bool:
    """Is every value of a text column missing or empty (no reps or regions given)?"""
    return bool(values.astype("string").str.strip().replace("", pd.NA).isna().all())


def _territories_html(table_after: pd.DataFrame, territories: pd.DataFrame | None = None) -> str:
    """The team's territories, each with its level path (Region › District) when the file has levels."""
    paths = _level_paths(territories, table_after[schema.TERRITORY_ID])
    shown = table_after[[c for c in (schema.TERRITORY_ID, schema.REP_NAME, schema.REGION, "accounts",
                                     schema.REVENUE, schema.POTENTIAL, schema.WORKLOAD_HOURS, "deviation_pct",
                                     "utilisation_pct", "weighted_mean_distance_km", "top_industry")
                         if c in table_after.columns and not (paths and c == schema.REGION)
                         and not (c in (schema.REP_NAME, schema.REGION) and _blank(table_after[c]))]].rename(columns={
        schema.TERRITORY_ID: "Territory", schema.REP_NAME: "Rep", schema.REGION: "Region",
        "accounts": "Accounts", schema.REVENUE: "Revenue (USD)", schema.POTENTIAL: "Potential (USD)",
        schema.WORKLOAD_HOURS: "Workload (h/yr)", "deviation_pct": "Deviation (%)",
        "utilisation_pct": "Utilisation (%)", "weighted_mean_distance_km": "Mean distance (km)",
        "top_industry": "Top industry"})
    for header, values in paths.items():
        shown.insert(2, header, values)
    return table_html(shown, {
        "Revenue (USD)": "{:,.0f}", "Potential (USD)": "{:,.0f}", "Workload (h/yr)": "{:,.0f}",
        "Deviation (%)": "{:+.1f}", "Utilisation (%)": "{:.0f}", "Mean distance (km)": "{:,.0f}"})


def _team_pages(pack: _Pack, charts: Charts) -> str:
    figures, colors = pack.figures, pack.colors
    measure = normalize_balance_on(pack.data.balance_on)

    def band(name: str) -> float | None:
        return pack.data.tolerance if measure == name else None

    workload = _bar_chart(figures.table_before, figures.table_after, schema.WORKLOAD_HOURS,
                          "Workload per territory", "Workload (hours/year)", band("workload"), colors)
    revenue = _bar_chart(figures.table_before, figures.table_after, schema.REVENUE, "Revenue per territory",
                         "Revenue (USD/year)", band("revenue"), colors)
    parts = ["<section class='page'><h2>Territories</h2>",
             _territories_html(figures.table_after, pack.data.territories), charts.html(workload), "</section>",
             "<section class='page'><h2>Revenue and map</h2>", charts.html(revenue)]
    accounts_map = map_figure(pack.data.accounts, pack.after, pack.data.boundaries, colors)
    if accounts_map is not None:
        parts.append(charts.html(accounts_map))
    parts.append("</section>")
    return "\n".join(parts)


# --- one page per region ------------------------------------------------------------------------------


def _region_table(pack: _Pack, ids: Sequence[str]) -> pd.DataFrame:
    """One row per territory of the region: load, moves, and the review's figures when there is one."""
    after = pack.figures.table_after.set_index(pack.figures.table_after[schema.TERRITORY_ID].astype(str))
    rows = after.loc[list(ids)]
    frame = pd.DataFrame({"Territory": list(ids), "Rep": rows[schema.REP_NAME].to_numpy(dtype=object),
                          **_level_paths(pack.data.territories, ids),
                          "Accounts": rows["accounts"].to_numpy(),
                          "Workload (h/yr)": rows[schema.WORKLOAD_HOURS].to_numpy(dtype=float),
                          "Deviation (%)": rows["deviation_pct"].to_numpy(dtype=float)})
    if pack.moved is not None and pack.before is not None:
        moved = pack.moved.to_numpy()
        after_ids, before_ids = pack.after.astype("string").to_numpy(), pack.before.astype("string").to_numpy()
        frame["Moved in"] = [int((moved & (after_ids == t)).sum()) for t in ids]
        frame["Moved out"] = [int((moved & (before_ids == t)).sum()) for t in ids]
    review = pack.data.review
    if review is not None and review.has_bookings:
        table = review.table.set_index(review.table[schema.TERRITORY_ID].astype(str)).reindex(list(ids))
        frame[f"Bookings {review.latest_quarter} (USD)"] = table["bookings_last_quarter"].to_numpy(dtype=float)
        frame["YoY (%)"] = table["yoy_pct"].to_numpy(dtype=float)
        frame["Attainment (%)"] = table["attainment_pct"].to_numpy(dtype=float)
        frame[f"Quota {review.next_quarter} (USD)"] = table["quota"].to_numpy(dtype=float)
    forecast = pack.forecast
    if forecast is not None and len(forecast.territories):
        rows = forecast.territories.set_index(schema.TERRITORY_ID).reindex(list(ids))
        frame[f"Forecast {forecast.quarter} (USD)"] = rows["value"].to_numpy(dtype=float)
        frame["80% interval"] = [
            f"{short_usd(lo, 3)} to {short_usd(hi, 3)}" if math.isfinite(lo) and math.isfinite(hi) else ""
            for lo, hi in zip(rows["low"].to_numpy(dtype=float), rows["high"].to_numpy(dtype=float))]
    return frame


def _region_chart(pack: _Pack, region: str, ids: Sequence[str]) -> go.Figure | None:
    """Bookings per quarter of the region's territories, with next quarter's forecast and its 80% interval."""
    review = pack.data.review
    if review is None or not review.has_bookings:
        return None
    figure = go.Figure()
    quarters = list(review.quarters)
    forecast = pack.forecast
    rows = (forecast.territories.set_index(schema.TERRITORY_ID)
            if forecast is not None and len(forecast.territories) else None)
    for territory_id in ids:
        if territory_id not in review.bookings.index:
            continue
        color = pack.colors.get(territory_id, "#1f77b4")
        name = chart_escape(territory_id)
        figure.add_scatter(x=quarters, y=review.bookings.loc[territory_id].to_numpy(dtype=float), name=name,
                           mode="lines+markers", line=dict(color=color, width=2), marker=dict(size=5),
                           legendgroup=name, hovertemplate=name + " %{x}: $%{y:,.0f}<extra></extra>")
        if rows is not None and territory_id in rows.index:
            row = rows.loc[territory_id]
            value, low, high = float(row["value"]), float(row["low"]), float(row["high"])
            bar = (dict(type="data", symmetric=False, array=[high - value], arrayminus=[value - low],
                        color=color, thickness=1.2, width=4)
                   if math.isfinite(low) and math.isfinite(high) else None)
            figure.add_scatter(x=[forecast.quarter], y=[value], mode="markers", showlegend=False,
                               legendgroup=name, error_y=bar,
                               marker=dict(color="white", size=8, line=dict(color=color, width=2)),
                               hovertemplate=name + " forecast %{x}: $%{y:,.0f}<extra></extra>")
    title = f"Bookings per quarter, {chart_escape(region)}"
    if forecast is not None and forecast.quarter:
        title += f" (open circle: forecast {forecast.quarter} with its 80% interval)"
    figure.update_layout(title=dict(text=title, font=dict(size=13)), width=PRINT_WIDTH_PX, height=270,
                         margin=dict(l=70, r=20, t=40, b=40), plot_bgcolor="white",
                         legend=dict(title="Territory"), yaxis_title="Bookings (USD per quarter)",
                         xaxis_title="Quarter")
    figure.update_yaxes(gridcolor="#eeeeee", rangemode="tozero", tickformat="$,.3s")
    return figure


_REGION_FORMATS = {"Workload (h/yr)": "{:,.0f}", "Deviation (%)": "{:+.1f}", "YoY (%)": "{:+.1f}",
                   "Attainment (%)": "{:.0f}"}


def _region_pages(pack: _Pack, charts: Charts) -> str:
    esc, parts = html.escape, []
    review = pack.data.review
    for region, ids in pack.regions.items():
        heading = f"Region: {region}" if len(pack.regions) > 1 else "All territories"
        parts.append(f"<section class='page region'><h2>{esc(heading)}</h2>")
        parts.append(kpi_html([("Territories", f"{len(ids):,}", ""),
                                ("Accounts", f"{int((pack.after.astype('string').isin(ids)).sum()):,}", "")]
                               + _review_kpis(pack, ids)))
        table = _region_table(pack, ids)
        formats = dict(_REGION_FORMATS)
        formats.update({c: "{:,.0f}" for c in table.columns if c.endswith("(USD)")})
        parts.append(table_html(table, formats, classes="grid region"))
        chart = _region_chart(pack, region, ids)
        if chart is not None:
            parts.append(charts.html(chart))
        if review is not None:
            flags = review.flags[review.flags[schema.TERRITORY_ID].astype(str).isin(ids)]
            parts.append(f"<h3>Flags ({len(flags):,})</h3>")
            parts.append(_flag_list(flags) if len(flags) else "<p>No territory of this region is flagged.</p>")
        parts.append("</section>")
    return "\n".join(parts)


# --- appendix -----------------------------------------------------------------------------------------


def _moved_html(pack: _Pack) -> str:
    data, moved, accounts = pack.data, pack.moved, pack.data.accounts
    parts = [f"<h2>Moved accounts ({int(moved.sum()):,})</h2>"]
    if not moved.any():
        return parts[0] + "<p>No account changes territory.</p>"
    listing = pd.DataFrame({
        "Account": accounts.loc[moved, schema.ACCOUNT_ID].astype(str),
        "Name": accounts.loc[moved, schema.NAME].astype(str) if schema.NAME in accounts.columns else "",
        "From": pack.before[moved].astype(str), "To": pack.after[moved].astype(str),
        "Reason": (data.reasons.reindex(accounts.index)[moved].fillna("").astype(str)
                   if data.reasons is not None else ""),
    })
    if len(listing) > MAX_MOVED_ROWS:
        parts.append(f"<p class='note'>Showing the first {MAX_MOVED_ROWS:,} of {len(listing):,} moved "
                     "accounts; the assignment export lists them all.</p>")
        listing = listing.head(MAX_MOVED_ROWS)
    parts.append(table_html(listing))
    return "\n".join(parts)


def _appendix(pack: _Pack) -> str:
    data, esc = pack.data, html.escape
    parts = ["<section class='appendix'>"]
    if pack.moved is not None:
        parts.append(_moved_html(pack))
    if data.review is not None:
        for title, body in review_sections_html(data.review, territories=data.territories):
            parts.append(f"<h2>{esc(title)}</h2>{body}")
    if data.params:
        parts.append("<h2>Settings of the balance</h2>")
        parts.append(table_html(readable_params(data.params)))
    parts.append("</section>")
    return "\n".join(parts)


PARAM_LABELS = {
    "n_territories": "Territories", "balance_on": "Balanced on", "tolerance": "Tolerance",
    "stability": "Stability (0 = free, 1 = keep accounts)", "compactness": "Compactness (1 = short travel)",
    "anchor": "Territory centres", "move_budget_accounts": "Most accounts that may move",
    "move_budget_revenue_pct": "Most revenue that may move", "industry_teams": "Industry teams",
    "industry_team_sizes": "Industry team sizes", "industry_focus": "Industry focus",
    "also_balance": "Also balanced", "seed": "Random seed", "only_fix_outside": "Fix only territories outside the band",
    "units": "Balanced in units of", "counted_types": "Account types counted",
}
"""The appendix's label for each engine setting (a report reader never sees a Python name)."""


def readable_params(params: dict[str, Any]) -> pd.DataFrame:
    """The engine settings as a table a sales leader reads: plain labels and values ("no limit",
    "none", "yes", "±5%"), never None, [] or False.

    >>> readable_params({"tolerance": 0.05, "move_budget_accounts": None, "also_balance": [],
    ...                  "only_fix_outside": False, "anchor": "home"}).to_dict("list")["Value"]
    ['±5%', 'no limit', 'none', 'no', "reps' home bases"]
    """
    def value(name: str, v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        if v is None:
            return {"n_territories": "as today", "counted_types": "all"}.get(
                name, "no limit" if name.startswith("move_budget") else "-")
        if isinstance(v, (list, tuple)):
            items = [": ".join(map(str, x)) if isinstance(x, (list, tuple)) else str(x) for x in v]
            return ", ".join(items) if items else "none"
        if name == "tolerance":
            return f"±{float(v):.0%}" if float(v) >= 0.01 else f"±{float(v):.1%}"
        if name == "move_budget_revenue_pct":
            return f"{float(v):g}%"
        if name == "anchor":
            return {"free": "free (where the accounts are)", "home": "reps' home bases"}.get(str(v), str(v))
        if isinstance(v, float):
            return f"{v:g}"
        return str(v).replace("_", " ")

    return pd.DataFrame({"Setting": [PARAM_LABELS.get(k, k.replace("_", " ").capitalize()) for k in params],
                         "Value": [value(k, v) for k, v in params.items()]})


def build_report(data: ReportInput) -> str:
    """The whole report as one HTML string (write it with ``encoding="utf-8"``): a meeting pack.

    Page 1 is the summary (KPIs, before and after, flags), then the territories with their charts and the
    map, then one page per region (with ``review``: bookings, attainment, quota, forecast and flags), the
    ``extra_sections``, and last an appendix with the moved accounts, the full review tables and the engine
    parameters, which ``summary=True`` leaves out. Pages break only in print.
    """
    pack = _pack(data)
    charts = Charts()
    parts = [_summary_page(pack), _team_pages(pack, charts), _region_pages(pack, charts)]
    for section_title, section_html in data.extra_sections:
        parts.append(f"<section class='page'><h2>{html.escape(section_title)}</h2>{section_html}</section>")
    if not data.summary:
        parts.append(_appendix(pack))
    body = "\n".join(parts)
    esc = html.escape
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(data.title)}</title><style>{REPORT_CSS}</style></head><body>{body}"
        "<p class='meta'>Made with Territory Studio.</p></body></html>"
    )
