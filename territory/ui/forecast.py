"""Charts, tables and cached wrappers of the Quarterly review's trend, forecast and pipeline sections.

Numbers come from ``territory.planning.forecast`` and ``territory.planning.opportunities``; this
module only draws them. Small multiples replace the 20 overlaid lines: one panel per territory,
its bookings, its imported quota and next quarter's forecast with the 80% interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from territory.data import schema
from territory.planning.forecast import (
    METHODS,
    BookingsForecast,
    forecast_bookings,
)
from territory.planning.opportunities import pipeline_by_territory, stage_order
from territory.planning.review import QuarterlyReview
from territory.reporting import colors as tcolors
from territory.reporting.text import chart_escape
from territory.ui import keys, state
from territory.ui.cached import labels_fingerprint
from territory.ui.components import widgets

FONT = {"family": "Source Sans Pro, sans-serif", "size": 12, "color": "#1c2430"}
MAX_PANELS = 60
"""Small multiples beyond this many territories become unreadable: the largest 60 are drawn."""
FORECAST_COLOR = "#5b6770"
SHORT_LABELS = {"model": "Model", "seasonal_naive": "Last year's quarter", "trailing_mean": "4-quarter mean"}
QUOTA_COLOR = "#1c2430"


@st.cache_data(show_spinner=False, max_entries=32)
def _forecast(dataset_key: str, labels_key: str, _by_quarter: pd.DataFrame, _territories) -> BookingsForecast:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return forecast_bookings(_by_quarter, _territories)


def cached_forecast(dataset: state.ActiveDataset, labels: pd.Series, review: QuarterlyReview) -> BookingsForecast:
    """``forecast_bookings`` of the review's territory x quarter bookings, cached on dataset and labels."""
    return _forecast(dataset.fingerprint, labels_fingerprint(labels), review.bookings, dataset.territories)


@st.cache_data(show_spinner=False, max_entries=16)
def _pipeline(dataset_key: str, labels_key: str, _accounts, _labels, _opportunities, _territories):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return pipeline_by_territory(_accounts, _labels, _opportunities, _territories)


def cached_pipeline(dataset: state.ActiveDataset, labels: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Open opportunities per territory and stage (``pipeline_by_territory``), cached."""
    return _pipeline(dataset.fingerprint, labels_fingerprint(labels), dataset.accounts, labels,
                     dataset.opportunities, dataset.territories)


def _panel_title(tid: str, rep: object) -> str:
    return chart_escape(widgets.territory_choice(tid, rep))


def _forecast_row(forecast: BookingsForecast, tid: str) -> pd.Series | None:
    if forecast.territories.empty:
        return None
    rows = forecast.territories[forecast.territories[schema.TERRITORY_ID] == tid]
    return rows.iloc[0] if len(rows) else None


def _add_territory_traces(fig: go.Figure, review: QuarterlyReview, forecast: BookingsForecast, tid: str,
                          color: str, row: int | None = None, col: int | None = None, legend: bool = False,
                          width: float = 2.0) -> None:
    """Bookings line, imported quota per quarter, the rule's quota for next quarter and the forecast."""
    where = {"row": row, "col": col} if row is not None else {}
    quarters = [str(q) for q in review.bookings.columns]
    values = review.bookings.loc[tid].to_numpy(dtype=float) if tid in review.bookings.index else np.zeros(len(quarters))
    name = chart_escape(tid)
    fig.add_scatter(x=quarters, y=values, mode="lines+markers", name="Bookings", legendgroup="bookings",
                    showlegend=legend, line={"color": color, "width": width}, marker={"size": 4 + width},
                    hovertemplate=f"<b>{name}</b> %{{x}}: booked $%{{y:,.0f}}<extra></extra>", **where)
    history = review.quota_history
    if history is not None and tid in history.index and history.shape[1]:
        quota = history.loc[tid].reindex(quarters + ([review.next_quarter] if review.next_quarter else []))
        if quota.notna().any():
            fig.add_scatter(x=list(quota.index), y=quota.to_numpy(dtype=float), mode="markers",
                            name="Quota (imported)", legendgroup="quota", showlegend=legend,
                            marker={"symbol": "line-ew-open", "size": 16, "color": QUOTA_COLOR,
                                    "line": {"width": 2.5, "color": QUOTA_COLOR}},
                            hovertemplate=f"<b>{name}</b> %{{x}}: quota $%{{y:,.0f}}<extra></extra>", **where)
    point = _forecast_row(forecast, tid)
    if point is not None and forecast.quarter and math.isfinite(float(point["value"])):
        low, high, value = float(point["low"]), float(point["high"]), float(point["value"])
        error = {"type": "data", "symmetric": False, "array": [max(high - value, 0.0)],
                 "arrayminus": [max(value - low, 0.0)], "color": FORECAST_COLOR, "thickness": 1.5, "width": 4} \
            if math.isfinite(low) and math.isfinite(high) else None
        fig.add_scatter(x=[quarters[-1], forecast.quarter], y=[values[-1], value], mode="lines",
                        line={"color": FORECAST_COLOR, "dash": "dot", "width": 1.5}, showlegend=False,
                        hoverinfo="skip", **where)
        fig.add_scatter(x=[forecast.quarter], y=[value], mode="markers", name=f"Forecast {forecast.quarter} (80%)",
                        legendgroup="forecast", showlegend=legend, error_y=error,
                        marker={"symbol": "circle-open", "size": 8, "color": FORECAST_COLOR, "line": {"width": 2}},
                        customdata=[[low, high]],
                        hovertemplate=f"<b>{name}</b> %{{x}} forecast: $%{{y:,.0f}}<br>80% interval "
                        "$%{customdata[0]:,.0f} to $%{customdata[1]:,.0f}<extra></extra>", **where)


def small_multiples(review: QuarterlyReview, forecast: BookingsForecast, colors: dict[str, str],
                    reps: dict[str, object]) -> go.Figure:
    """One panel per territory (largest ``MAX_PANELS`` by trailing-4-quarter bookings), each on its own
    USD axis: bookings, imported quota, the forecast for next quarter with its 80% interval."""
    from plotly.subplots import make_subplots

    ids = [str(t) for t in review.bookings.index]
    if len(ids) > MAX_PANELS:
        recent = review.bookings.iloc[:, -4:].sum(axis=1).sort_values(ascending=False, kind="stable")
        ids = sorted(str(t) for t in recent.index[:MAX_PANELS])
    cols = 4 if len(ids) <= 20 else 6
    rows = max(1, math.ceil(len(ids) / cols))
    titles = [_panel_title(t, reps.get(t)) for t in ids]
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, horizontal_spacing=0.06,
                        vertical_spacing=min(0.1, 0.35 / rows), subplot_titles=titles)
    for k, tid in enumerate(ids):
        r, c = k // cols + 1, k % cols + 1
        _add_territory_traces(fig, review, forecast, tid, colors.get(tid, tcolors.UNASSIGNED_COLOR), r, c,
                              legend=k == 0)
    fig.update_yaxes(tickprefix="$", tickformat="~s", rangemode="tozero", gridcolor="#ececec", nticks=4)
    fig.update_xaxes(type="category", tickangle=-45, gridcolor="#f3f3f3", tickfont={"size": 10})
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text="USD/quarter", title_font={"size": 11}, row=r, col=1)
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text="Quarter", title_font={"size": 11}, row=rows, col=c)
    fig.update_annotations(font={"size": 12})
    fig.update_layout(height=130 + 170 * rows, margin={"l": 10, "r": 10, "t": 80, "b": 10}, font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white", hoverlabel={"bgcolor": "white"},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "top", "x": 0, "yref": "container"})
    return fig


def focus_chart(review: QuarterlyReview, forecast: BookingsForecast, colors: dict[str, str], focus: str,
                height: int = 420) -> go.Figure:
    """One territory: its bookings, its quotas (imported per quarter; the rule's for next quarter and,
    when it is what attainment uses, for the latest) and the forecast with its 80% interval."""
    fig = go.Figure()
    _add_territory_traces(fig, review, forecast, focus, colors.get(focus, tcolors.UNASSIGNED_COLOR), legend=True,
                          width=3.0)
    row = review.table[review.table[schema.TERRITORY_ID] == focus]
    if len(row) and review.next_quarter:
        quota = float(row["quota"].iloc[0])
        if math.isfinite(quota):
            fig.add_scatter(x=[review.next_quarter], y=[quota], mode="markers",
                            name=f"Suggested quota {review.next_quarter}",
                            marker={"symbol": "diamond", "size": 11, "color": "#d62728"},
                            hovertemplate="suggested quota $%{y:,.0f}<extra></extra>")
        if row["quota_source"].iloc[0] == "rule" and math.isfinite(float(row["attainment_quota"].iloc[0])):
            fig.add_scatter(x=[review.latest_quarter], y=[float(row["attainment_quota"].iloc[0])], mode="markers",
                            name=f"Rule's quota {review.latest_quarter} (attainment base)",
                            marker={"symbol": "diamond-open", "size": 11, "color": "#d62728", "line": {"width": 2}},
                            hovertemplate="the rule's quota $%{y:,.0f}<extra></extra>")
    fig.update_xaxes(title_text="Quarter", type="category", gridcolor="#ececec")
    fig.update_yaxes(title_text=f"{chart_escape(focus)}: bookings and quota (USD per quarter)", tickprefix="$",
                     tickformat="~s", rangemode="tozero", gridcolor="#ececec")
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=FONT, plot_bgcolor="white",
                      paper_bgcolor="white", legend={"orientation": "h", "y": -0.25, "x": 0},
                      hoverlabel={"bgcolor": "white"})
    return fig


# --- forecast tables ------------------------------------------------------------------------------


def forecast_frame(forecast: BookingsForecast, focus: str | None = None) -> pd.DataFrame:
    """Per territory: region, forecast and its interval (USD), for st.dataframe."""
    t = forecast.territories
    if focus is not None:
        t = t[t[schema.TERRITORY_ID] == focus]
    return pd.DataFrame({
        "Territory": t[schema.TERRITORY_ID], "Region": t[schema.REGION],
        "Forecast": t["value"].round(0), "Low": t["low"].round(0), "High": t["high"].round(0),
    })


def regions_frame(forecast: BookingsForecast) -> pd.DataFrame:
    r = forecast.regions
    return pd.DataFrame({"Region": r[schema.REGION], "Forecast": r["value"].round(0), "Low": r["low"].round(0),
                         "High": r["high"].round(0)})


def forecast_config(quarter: str | None) -> dict:
    nc = st.column_config.NumberColumn
    return {
        "Forecast": nc(f"Forecast {quarter} (USD)", format="localized"),
        "Low": nc("80% low (USD)", format="localized", help="10th percentile of the forecast's past errors."),
        "High": nc("80% high (USD)", format="localized", help="90th percentile of the forecast's past errors."),
    }


def scores_frame(forecast: BookingsForecast) -> pd.DataFrame:
    """The backtest per method: WAPE, MAPE, interval coverage (%), forecasts scored; the shown method marked."""
    s = forecast.scores
    return pd.DataFrame({
        "Method": [SHORT_LABELS[m] + (" (shown)" if m == forecast.method else "") for m in s["method"]],
        "WAPE": s["wape"].round(1), "MAPE": s["mape"].round(1), "Coverage": s["coverage"].round(0),
        "Calibrated": s["coverage_calibrated"].round(0), "Forecasts": s["forecasts"],
    })


def scores_config() -> dict:
    nc = st.column_config.NumberColumn
    return {
        "Method": st.column_config.TextColumn("Method", width="medium"),  # "Model (shown)" in full
        "WAPE": nc("Error, by bookings (%)", format="%.1f%%",
                   help="WAPE (weighted absolute percentage error): sum |actual - forecast| / sum |actual|, so "
                        "large territories weigh more. Lower is better."),
        "MAPE": nc("Error, per territory (%)", format="%.1f%%",
                   help="MAPE (mean absolute percentage error): mean |actual - forecast| / |actual| over "
                        "non-zero actuals, every territory alike. Lower is better."),
        "Coverage": nc("In 80% range (%)", format="%.0f%%",
                       help="Interval coverage: share of the backtest's actuals inside the method's 80% interval as "
                       "it would have been shown (80% is right)."),
        "Calibrated": nc("In range, calibrated (%)", format="%.0f%%",
                         help="The same over the forecasts whose interval was calibrated on earlier backtest "
                         "errors (every origin but the first): the interval the page shows is made this way."),
        "Forecasts": nc("Forecasts", format="localized", help="Territory-quarters forecast in the backtest."),
    }


# --- pipeline -------------------------------------------------------------------------------------

STAGE_PALETTE = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#fdae6b",
                 "#e6550d", "#a63603")


def pipeline_chart(pipeline: pd.DataFrame, focus: str | None = None, height: int = 420) -> go.Figure:
    """Open pipeline per territory, stacked by stage in pipeline order (USD)."""
    data = pipeline if focus is None else pipeline[pipeline[schema.TERRITORY_ID] == focus]
    ids = sorted(data[schema.TERRITORY_ID].astype(str).unique())
    fig = go.Figure()
    for k, stage in enumerate(stage_order(data["stage"])):
        part = data[data["stage"] == stage].set_index(schema.TERRITORY_ID).reindex(ids)
        fig.add_bar(x=[chart_escape(t) for t in ids], y=part["amount"].fillna(0.0).to_numpy(dtype=float),
                    name=chart_escape(stage), marker_color=STAGE_PALETTE[k % len(STAGE_PALETTE)],
                    customdata=part["opportunities"].fillna(0).to_numpy(dtype=float),
                    hovertemplate=f"<b>%{{x}}</b> {chart_escape(stage)}: $%{{y:,.0f}} in %{{customdata:,.0f}} "
                    "open opportunities<extra></extra>")
    fig.update_layout(barmode="stack", height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white", legend={"title": {"text": "Stage"}})
    fig.update_xaxes(title_text="Territory", type="category")
    fig.update_yaxes(title_text="Open pipeline (USD)", tickprefix="$", tickformat="~s", gridcolor="#ececec")
    return fig


def pipeline_frame(pipeline: pd.DataFrame, focus: str | None = None) -> pd.DataFrame:
    """Territory x stage open amounts (USD) with a total column, stages in pipeline order."""
    data = pipeline if focus is None else pipeline[pipeline[schema.TERRITORY_ID] == focus]
    wide = data.pivot_table(index=schema.TERRITORY_ID, columns="stage", values="amount", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=stage_order(data["stage"]))
    wide.columns = [f"{c} (USD)" for c in wide.columns]
    wide.insert(0, "Open pipeline (USD)", wide.sum(axis=1))
    wide.insert(1, "Open opportunities", data.groupby(schema.TERRITORY_ID)["opportunities"].sum())
    return wide.round(0).reset_index().rename(columns={schema.TERRITORY_ID: "Territory"})


__all__ = [
    "METHODS", "cached_forecast", "cached_pipeline", "focus_chart", "forecast_config", "forecast_frame",
    "pipeline_chart", "pipeline_frame", "regions_frame", "scores_config", "scores_frame", "small_multiples",
]


def forecast_ui(forecast: BookingsForecast, focus: str | None) -> None:
    """The forecast section: the backtest in one sentence, the regions (or the focused territory), the
    methods' scores, and every territory's forecast in an expander."""
    from territory.planning.forecast import summary_sentence
    from territory.reporting.text import md_escape

    if forecast.quarter is None:
        for note in forecast.notes:
            st.caption(md_escape(note))
        return
    st.subheader(f"Forecast for {forecast.quarter}")
    st.markdown(md_escape(summary_sentence(forecast)))
    for note in forecast.notes:
        st.caption(md_escape(note))
    left, right = st.columns([4, 5])  # the backtest's six columns need the wider half at 1,500 px
    with left:
        if focus is None:
            st.dataframe(regions_frame(forecast), hide_index=True, width="stretch", key=keys.REVIEW_FORECAST_REGIONS,
                         column_config=forecast_config(forecast.quarter))
        else:
            st.dataframe(forecast_frame(forecast, focus), hide_index=True, width="stretch",
                         key=keys.REVIEW_FORECAST_FOCUS, column_config=forecast_config(forecast.quarter))
    with right:
        st.dataframe(scores_frame(forecast), hide_index=True, width="stretch", key=keys.REVIEW_FORECAST_SCORES,
                     column_config=scores_config())
    st.caption("Backtest: each quarter from the 6th on forecast from the quarters before it only (rolling origin). "
               "The error by bookings (WAPE) weighs every territory by its bookings; an 80% interval is right when it "
               "covers 80% of the actuals.")
    if focus is None:
        with st.expander(f"Forecast {forecast.quarter} per territory"):
            st.dataframe(forecast_frame(forecast), hide_index=True, width="stretch", key=keys.REVIEW_FORECAST_TABLE,
                         column_config=forecast_config(forecast.quarter))


def pipeline_ui(dataset: state.ActiveDataset, labels: pd.Series, focus: str | None) -> None:
    """Open pipeline by stage per territory, when the dataset has opportunities."""
    from territory.reporting.text import md_escape

    if dataset.opportunities is None or len(dataset.opportunities) == 0:
        return
    pipeline, notes = cached_pipeline(dataset, labels)
    st.subheader("Open pipeline by stage")
    for note in notes:
        st.caption(md_escape(note))
    shown = pipeline if focus is None else pipeline[pipeline[schema.TERRITORY_ID] == focus]
    if shown.empty:
        st.info("No open opportunities" + (f" in {md_escape(focus)}." if focus else "."))
        return
    st.plotly_chart(pipeline_chart(pipeline, focus), width="stretch", key=keys.REVIEW_PIPELINE)
    st.caption("Open opportunities (neither won nor lost) by the territory their account is in under this "
               "alignment, stacked by stage; amount as in the CRM (USD), not weighted by probability.")
    frame = pipeline_frame(pipeline, focus)
    st.dataframe(frame, hide_index=True, width="stretch", key=keys.REVIEW_PIPELINE_TABLE,
                 column_config={c: st.column_config.NumberColumn(c, format="localized") for c in frame.columns
                                if c != "Territory"})
