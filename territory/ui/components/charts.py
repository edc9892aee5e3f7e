"""Plotly figures shared by the pages: every axis titled with its unit, territory colours shared.

Functions return ``plotly.graph_objects.Figure`` (draw with ``st.plotly_chart(fig, width="stretch")``)
or small display tables; none of them computes engine metrics (those come from territory.planning.metrics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from territory.data import schema
from territory.planning import hierarchy
from territory.reporting import colors as tcolors
from territory.reporting.text import chart_labels

TABLE_COLUMN = {
    "workload": schema.WORKLOAD_HOURS,
    "revenue": schema.REVENUE,
    "potential": schema.POTENTIAL,
    "accounts": "accounts",
}
"""Measure -> column of ``territory.planning.metrics.territory_table``."""

UNIT = {"workload": "h/yr", "revenue": "USD/yr", "potential": "USD/yr", "accounts": "accounts"}

FONT = {"family": "Source Sans Pro, sans-serif", "size": 13, "color": "#1c2430"}


def _layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        font=FONT,
        title={"text": title, "x": 0, "font": {"size": 15}} if title else None,
        plot_bgcolor="white",
        paper_bgcolor="white",
        hoverlabel={"bgcolor": "white"},
    )
    return fig


def _fmt(value: float, measure: str) -> str:
    if measure in ("revenue", "potential"):
        a = abs(value)
        if a >= 1e6:
            return f"${value / 1e6:,.1f}M"
        if a >= 1e3:
            return f"${value / 1e3:,.0f}k"
        return f"${value:,.0f}"
    return f"{value:,.0f}"


def measure_bar(
    table: pd.DataFrame,
    colors: dict[str, str],
    measure: str = "workload",
    tolerance: float = 0.05,
    title: str | None = None,
    height: int = 340,
    y_max: float | None = None,
    table_balance_on: str = "workload",
) -> go.Figure:
    """Bars of ``measure`` per territory (territory colours) against the target with the tolerance band.

    ``table`` is ``territory_table`` output (territory_id + the measure column; ``target`` and
    ``capacity_fte`` when present). With equal capacities the band is one shaded strip around the
    mean (target +/- tolerance); otherwise each bar gets its own capacity-adjusted band.
    Pass the same ``y_max`` to two charts (before/after) so their bars compare by eye.
    ``table_balance_on``: the ``balance_on`` the table was computed with (its ``target`` column is of
    that measure; for another measure the target is re-derived as the capacity share of the total).
    """
    col = TABLE_COLUMN[measure]
    t = table.sort_values(schema.TERRITORY_ID).reset_index(drop=True)
    ids = t[schema.TERRITORY_ID].astype(str).tolist()
    values = pd.to_numeric(t[col], errors="coerce").fillna(0.0).to_numpy()
    if "target" in t and table_balance_on == measure:
        target = pd.to_numeric(t["target"], errors="coerce").to_numpy()
    else:
        cap = pd.to_numeric(t.get(schema.CAPACITY_FTE, pd.Series(1.0, index=t.index)), errors="coerce")
        cap = cap.fillna(1.0).to_numpy()
        target = values.sum() * cap / cap.sum() if cap.sum() > 0 else np.full(len(values), values.mean())
    target = np.where(np.isfinite(target), target, values.mean() if len(values) else 0.0)
    unit = UNIT[measure]
    label = schema.MEASURE_LABEL[measure]
    dev = np.where(target > 0, (values / np.where(target > 0, target, 1) - 1) * 100, 0.0)
    ticks = chart_labels(ids)  # plotly reads HTML in category labels: the IDs are shown as typed
    fig = go.Figure()
    fig.add_bar(
        x=ticks,
        y=values,
        marker_color=[colors.get(i, tcolors.UNASSIGNED_COLOR) for i in ids],
        marker_line_width=0,
        customdata=np.column_stack([dev, target]),
        hovertemplate=(
            "<b>%{x}</b><br>"
            + label.split(" (")[0]
            + ": %{y:,.0f} "
            + unit
            + "<br>Target: %{customdata[1]:,.0f} "
            + unit
            + "<br>Deviation: %{customdata[0]:+.1f}%<extra></extra>"
        ),
        name=label,
        showlegend=False,
    )
    equal_targets = len(target) == 0 or np.allclose(target, target[0], rtol=1e-6)
    if len(target) and equal_targets:
        mean = float(target[0])
        fig.add_hrect(
            y0=mean * (1 - tolerance),
            y1=mean * (1 + tolerance),
            fillcolor="#2ca02c",
            opacity=0.14,
            line_width=0,
            layer="below",
        )
        fig.add_hline(y=mean, line_color="#2f6f2f", line_dash="dash", line_width=1.5)
        fig.add_annotation(
            x=1,
            xref="paper",
            y=mean * (1 + tolerance),
            yanchor="bottom",
            xanchor="right",
            text=f"mean {_fmt(mean, measure)} {unit}, band \u00b1{tolerance:.0%}",
            showarrow=False,
            font={"size": 11, "color": "#2f6f2f"},
            bgcolor="rgba(255,255,255,0.75)",
        )
    else:
        for i, tgt in enumerate(target):
            fig.add_shape(
                type="rect",
                x0=i - 0.45,
                x1=i + 0.45,
                y0=tgt * (1 - tolerance),
                y1=tgt * (1 + tolerance),
                xref="x",
                yref="y",
                fillcolor="#2ca02c",
                opacity=0.18,
                line_width=0,
                layer="below",
            )
        fig.add_scatter(
            x=ticks,
            y=target,
            mode="markers",
            marker={"symbol": "line-ew", "size": 22, "line": {"width": 2, "color": "#2f6f2f"}},
            name=f"target (by capacity) \u00b1{tolerance:.0%}",
            hovertemplate="Target %{y:,.0f} " + unit + "<extra></extra>",
        )
    fig.update_xaxes(title_text="Territory", type="category", showgrid=False)
    fig.update_yaxes(title_text=label, gridcolor="#ececec", rangemode="tozero", zeroline=False, tickformat=",")
    if y_max:
        fig.update_yaxes(range=[0, y_max])
    fig.update_layout(legend={"orientation": "h", "y": 1.08, "x": 0})
    return _layout(fig, height, title)


def industry_heatmap(matrix: pd.DataFrame, value: str, height: int = 330, title: str | None = None) -> go.Figure:
    """Industry x territory heatmap of ``value`` ("revenue" or "workload"), colour bar titled with the unit."""
    unit = "USD/yr" if value in ("revenue", "potential") else "h/yr"
    label = schema.MEASURE_LABEL.get(value, value)
    z = matrix.to_numpy(dtype=float)
    if value in ("revenue", "potential"):
        scale, suffix = 1e3, "k USD/yr"
        cb_title = f"{label.split(' (')[0]}<br>(thousand USD/yr)"
    else:
        scale, suffix = 1.0, unit
        cb_title = f"{label.split(' (')[0]}<br>(hours/yr)"
    fig = go.Figure(
        go.Heatmap(
            z=z / scale,
            x=chart_labels(matrix.columns),  # territory IDs and industries, shown as typed
            y=chart_labels(matrix.index),
            colorscale="Blues",
            colorbar={"title": {"text": cb_title, "side": "right"}, "thickness": 12},
            hovertemplate="<b>%{y}</b> in %{x}<br>%{z:,.0f} " + suffix + "<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    # IDs like T07 fit side by side; owners' names ("Marcus Zimmerman") overlap unless slanted
    longest = max((len(str(c)) for c in matrix.columns), default=0)
    fig.update_xaxes(title_text="Territory", type="category", tickangle=0 if longest <= 5 else -35, automargin=True)
    fig.update_yaxes(title_text="Industry", autorange="reversed")
    return _layout(fig, height, title)


MAX_CURVE_POINTS = 400
"""A cumulative (80/20) curve is drawn through at most this many points: a territory of 5,000 accounts
(100,000 in all) would otherwise send one point per account to the browser; the concave curve looks the
same through 400 evenly spaced points (every 0.25% of the accounts)."""


def thin_curve(curve: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """At most ``max_points`` rows of a curve, evenly spaced by position, first and last always kept."""
    n = len(curve)
    if n <= max_points:
        return curve
    keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return curve.iloc[keep]


def pareto_chart(curve: pd.DataFrame, height: int = 300, title: str | None = None) -> go.Figure:
    """Cumulative share of revenue vs share of accounts (largest first), with the 80/20 guides.

    ``curve`` is ``territory.planning.metrics.pareto_curve`` output: ``account_share`` and ``value_share``
    (cumulative, fractions 0..1 or percentages 0..100).
    """
    x = pd.to_numeric(curve["account_share"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(curve["value_share"], errors="coerce").to_numpy(dtype=float)
    if np.nanmax(x, initial=0) <= 1.0 + 1e-9:
        x = x * 100
    if np.nanmax(y, initial=0) <= 1.0 + 1e-9:
        y = y * 100
    at20 = float(np.interp(20, x, y)) if len(x) else float("nan")  # from every point, before thinning
    keep = thin_curve(pd.DataFrame({"x": x, "y": y}))
    x, y = keep["x"].to_numpy(), keep["y"].to_numpy()
    fig = go.Figure()
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        line={"color": "#1f4e79", "width": 2.5},
        name="cumulative revenue",
        hovertemplate="top %{x:.0f}% of accounts: %{y:.0f}% of revenue<extra></extra>",
    )
    fig.add_scatter(
        x=[0, 100], y=[0, 100], mode="lines", line={"color": "#aaaaaa", "dash": "dot"}, name="equal share",
        hoverinfo="skip",
    )
    fig.add_vline(x=20, line_color="#d62728", line_dash="dash", line_width=1)
    if np.isfinite(at20):
        fig.add_annotation(
            x=20, y=at20, text=f"top 20% \u2192 {at20:.0f}% of revenue", showarrow=True, ax=70, ay=45,
            bgcolor="rgba(255,255,255,0.85)",
        )
    fig.update_xaxes(title_text="Share of accounts, largest first (%)", range=[0, 100], gridcolor="#ececec")
    fig.update_yaxes(title_text="Cumulative share of revenue (%)", range=[0, 101], gridcolor="#ececec")
    fig.update_layout(showlegend=False)
    return _layout(fig, height, title)


def level_rollup(table: pd.DataFrame, territories: pd.DataFrame, level: str = schema.REGION) -> pd.DataFrame:
    """Sum a territory table up to regions or districts (accounts, revenue, potential, workload,
    capacity; planning.hierarchy.rollup, so the rows add up to the company).

    Utilisation is re-derived as total workload over (capacity x mean workload per FTE) so that
    the level's figure is consistent with the per-territory one.
    """
    cols = [c for c in ("accounts", schema.REVENUE, schema.POTENTIAL, schema.WORKLOAD_HOURS, schema.CAPACITY_FTE)
            if c in table]
    out = hierarchy.rollup(table, territories, level, cols)
    if schema.WORKLOAD_HOURS in out and schema.CAPACITY_FTE in out:
        per_fte = out[schema.WORKLOAD_HOURS].sum() / max(out[schema.CAPACITY_FTE].sum(), 1e-9)
        out["utilisation_pct"] = out[schema.WORKLOAD_HOURS] / (out[schema.CAPACITY_FTE] * per_fte) * 100
    return out
