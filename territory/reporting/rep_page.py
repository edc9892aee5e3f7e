"""One rep's page as a self-contained HTML file that prints on US Letter and opens offline.

The app's Rep page offers it as a download: a Streamlit page prints badly (the map is a WebGL canvas,
the page scrolls inside a frame), so the printable page is built here from the same
:class:`territory.planning.rep.RepView`, with the report's stylesheet and building blocks.
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timezone

import pandas as pd
import plotly.graph_objects as go

from territory.data import schema
from territory.planning.geography import territory_shapes
from territory.planning.rep import RepView, attainment_text
from territory.planning.review import QuarterlyReview
from territory.reporting.report import PRINT_WIDTH_PX, REPORT_CSS, Charts, kpi_html, map_figure, table_html
from territory.reporting.text import chart_escape, short_usd

MAX_MOVES_LISTED = 10
"""Moves listed in and out (the largest revenue first); the assignment export has them all."""


def bookings_figure(view: RepView, color: str, width: int = PRINT_WIDTH_PX // 2, height: int = 300) -> go.Figure:
    """Bookings per quarter with next quarter's forecast (open circle, 80% interval) and quota (diamond)."""
    figure = go.Figure()
    quarters = [str(q) for q in view.bookings.index]
    figure.add_scatter(x=quarters, y=view.bookings.to_numpy(dtype=float), mode="lines+markers", name="Bookings",
                       line=dict(color=color, width=2), hovertemplate="%{x}: $%{y:,.0f}<extra></extra>")
    f = view.forecast
    if f is not None and math.isfinite(f["value"]):
        interval = math.isfinite(f["low"]) and math.isfinite(f["high"])
        figure.add_scatter(
            x=[f["quarter"]], y=[f["value"]], mode="markers", name=f"Forecast {f['quarter']} (80%)",
            marker=dict(color="white", size=9, line=dict(color=color, width=2)),
            error_y=dict(type="data", symmetric=False, array=[f["high"] - f["value"]],
                         arrayminus=[f["value"] - f["low"]], color=color) if interval else None,
            hovertemplate="Forecast %{x}: $%{y:,.0f}<extra></extra>")
    quota = view.figures.get("quota")
    if quota is not None and f is not None and math.isfinite(float(quota)):
        figure.add_scatter(x=[f["quarter"]], y=[float(quota)], mode="markers", name="Suggested quota",
                           marker=dict(symbol="diamond", color="#d62728", size=9),
                           hovertemplate="Quota %{x}: $%{y:,.0f}<extra></extra>")
    figure.update_layout(title=dict(text="Bookings per quarter", font=dict(size=13)), width=width, height=height,
                         margin=dict(l=60, r=10, t=40, b=40), plot_bgcolor="white",
                         legend=dict(orientation="h", y=-0.25, font=dict(size=10)),
                         yaxis_title="USD per quarter", xaxis_title=None)
    figure.update_yaxes(gridcolor="#eeeeee", rangemode="tozero", tickformat="$,.3s")
    return figure


def _kpis(view: RepView, review: QuarterlyReview | None) -> list[tuple[str, str, str]]:
    load = view.load
    inside = "inside" if view.within_band else "outside"
    kpis = [("Accounts", f"{view.accounts:,}", ""),
            ("Load vs target", f"{load['deviation_pct']:+.1f}%", f"{inside} the band; {view.balance_on}")]
    figures = view.figures
    if figures and review is not None:
        yoy = figures.get("yoy_pct")
        kpis += [(f"Bookings {review.latest_quarter}", short_usd(figures["bookings_last_quarter"], 2),
                  f"{yoy:+.1f}% YoY" if yoy is not None and math.isfinite(yoy) else ""),
                 (f"Attainment {review.latest_quarter}", f"{figures['attainment_pct']:,.0f}%"
                  if math.isfinite(figures["attainment_pct"]) else "n/a", attainment_text(view).split(" (")[0]),
                 (f"Quota {review.next_quarter}", short_usd(figures["quota"], 2), "suggested by the quota rule")]
    if view.forecast is not None:
        f = view.forecast
        kpis.append((f"Forecast {f['quarter']}", short_usd(f["value"], 2),
                     f"80%: {short_usd(f['low'], 2)} to {short_usd(f['high'], 2)}"))
    if view.white_space is not None:
        kpis.append(("White space", short_usd(view.white_space["white_space"], 2), "USD/yr not yet captured"))
    return kpis


def _hunt_html(hunt: pd.DataFrame | None) -> str:
    if hunt is None or not len(hunt):
        return ""
    shown = hunt.rename(columns={"area": "Area", schema.INDUSTRY: "Industry", "accounts": "Accounts",
                                 "white_space": "White space (USD/yr)", "potential": "Potential (USD/yr)",
                                 "top_account": "Largest opening"})
    shown = shown[["Area", "Industry", "Accounts", "White space (USD/yr)", "Potential (USD/yr)", "Largest opening"]]
    return "<h3>Where to hunt</h3>" + table_html(shown, {"White space (USD/yr)": "{:,.0f}",
                                                         "Potential (USD/yr)": "{:,.0f}"})


def _moves_html(moves: pd.DataFrame, title: str) -> str:
    if not len(moves):
        return f"<h3>{html.escape(title)}: none</h3>"
    shown = moves.head(MAX_MOVES_LISTED).rename(columns={
        schema.ACCOUNT_ID: "Account", schema.NAME: "Name", "from_territory": "From", "to_territory": "To",
        schema.REVENUE: "Revenue (USD/yr)", "reason": "Why"})
    more = (f"<p>{len(moves) - MAX_MOVES_LISTED:,} more (smaller) in the assignment export.</p>"
            if len(moves) > MAX_MOVES_LISTED else "")
    return (f"<h3>{html.escape(title)} ({len(moves):,})</h3>"
            + table_html(shown, {"Revenue (USD/yr)": "{:,.0f}"}) + more)


def build_rep_page(view: RepView, accounts: pd.DataFrame, labels: pd.Series, review: QuarterlyReview | None = None,
                   boundaries: dict | None = None, color: str = "#1f77b4", dataset_name: str = "",
                   alignment_name: str = "") -> str:
    """The rep's page as one HTML string: KPIs, the territory's map and bookings, top accounts, where to hunt
    (its white space segments), moves."""
    esc = html.escape
    charts = Charts()
    who = " · ".join(x for x in (view.territory_id, view.rep_name) if x)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = " · ".join(x for x in (view.level_text or (view.region and f"Region {view.region}"), alignment_name and
                                  f"Alignment: {alignment_name}", dataset_name and f"Dataset: {dataset_name}",
                                  f"Generated {generated}") if x)
    parts = [f"<section class='rep'><h1>{esc(who)}</h1><p class='meta'>{esc(meta)}</p>",
             kpi_html(_kpis(view, review)), "<div style='display:flex;gap:0'>"]
    mine = (labels.reindex(accounts.index).astype("string") == view.territory_id).fillna(False).to_numpy()
    territory_map = map_figure(accounts[mine], labels[mine], boundaries, {view.territory_id: color},
                               title=f"Accounts of {chart_escape(view.territory_id)}", width=PRINT_WIDTH_PX // 2,
                               height=300, shapes=territory_shapes(accounts, labels.reindex(accounts.index)))
    if territory_map is not None:
        territory_map.update_layout(showlegend=False)
        parts.append(charts.html(territory_map))
    if len(view.bookings):
        parts.append(charts.html(bookings_figure(view, color)))
    parts.append("</div>")
    top = view.top_accounts.rename(columns={
        schema.ACCOUNT_ID: "Account", schema.NAME: "Name", schema.INDUSTRY: "Industry",
        schema.REVENUE: "Revenue (USD/yr)", schema.POTENTIAL: "Potential (USD/yr)",
        schema.WORKLOAD_HOURS: "Workload (h/yr)", "bookings_trailing_4q": "Bookings, last 4 quarters (USD)"})
    top = top.drop(columns=[c for c in top.columns[3:] if top[c].isna().all()])  # a figure the data lacks
    parts.append(f"<h3>Top {len(top)} accounts (largest {'revenue' if view.top_by == schema.REVENUE else 'workload'}"
                 " first)</h3>")
    parts.append(table_html(top, {c: "{:,.0f}" for c in top.columns if "USD" in c or "h/yr" in c}))
    parts.append(_hunt_html(view.hunt))
    parts.append(_moves_html(view.moved_in, "Accounts the plan moves in"))
    parts.append(_moves_html(view.moved_out, "Accounts the plan moves out"))
    parts.append("</section>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(who)}</title><style>{REPORT_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
