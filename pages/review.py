"""Quarterly review: performance over time, quota suggestion, coverage flags, 80/20 and penetration map.

Numbers come from territory.planning.review (pure pandas); widgets and charts from territory.ui.review.
"""

import streamlit as st

from territory.data import schema
from territory.data.measures import potential_unknown_share
from territory.errors import DataError, ParameterError
from territory.planning.review import default_quota_total, display_table
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import forecast as fui
from territory.ui import review as ui
from territory.ui.components import maps, widgets

state.init_state()
widgets.page_header("Quarterly review", "How each territory performed, what it should carry next quarter, "
                    "and what needs attention")
dataset = state.require_dataset()
active = state.get_alignment()

top_left, top_right = st.columns([3, 2])
with top_left:
    chosen = ui.alignment_ui(dataset, active)
if chosen.note:
    st.caption(md_escape(chosen.note))
# the alignment shown: its colours are those of every other page showing it
colors = cached.alignment_colors(dataset.fingerprint, dataset.accounts, chosen.labels, dataset.territories)
basis = chosen.basis
widgets.data_notes(dataset.accounts, basis.counted_for(dataset.accounts), key=keys.REVIEW)
ui.capacity_note_ui(dataset)

if not ui.has_bookings(dataset):
    st.info(
        "**The quarterly review needs bookings.** The active dataset has none, so growth, penetration, "
        "quotas and attainment cannot be computed. Upload a bookings file on the **Data** page with one row "
        "per account and quarter and the columns **Account ID** (as in your accounts file), **Quarter** "
        "(like 2026Q3) and **Amount** (USD booked in that quarter)."
    )
    st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
    try:
        review = ui.cached_review(dataset, chosen.labels, ui.stored_settings(), chosen.name, basis)
    except (DataError, ParameterError) as error:
        st.error(md_escape(error))
        st.stop()
    st.subheader("Flags that need no bookings")
    st.caption(f"Workload, account counts and travel ({len(review.flags):,} flags).")
    if len(review.flags):
        flags = ui.flags_frame(review.flags, review)
        st.dataframe(flags, hide_index=True, width="stretch", column_config=widgets.with_text_widths(flags))
    else:
        st.success("No territory is flagged on workload, account count or travel.")
    fui.pipeline_ui(dataset, chosen.labels, None)
    st.stop()

try:
    baseline = ui.cached_review(dataset, chosen.labels, ui.stored_settings(), chosen.name, basis)
except (DataError, ParameterError) as error:
    st.error(f"The bookings cannot be used: {md_escape(error)}")
    st.stop()
reps = dict(zip(baseline.table[schema.TERRITORY_ID], baseline.table[schema.REP_NAME]))
with top_right:
    focus = ui.focus_ui(baseline.table[schema.TERRITORY_ID].tolist(), reps)

# --- quota controls (recompute everything live) ---------------------------------------------------
st.subheader(f"Quota for {baseline.next_quarter}")
default_total = default_quota_total(baseline.bookings, baseline.settings.default_growth_pct)
settings = ui.quota_controls_ui(default_total, baseline.next_quarter,
                               potential_known=potential_unknown_share(dataset.accounts) < 1)
try:
    review = ui.cached_review(dataset, chosen.labels, settings, chosen.name, basis)
except ParameterError as error:
    st.error(md_escape(error))
    st.stop()
for note in ([dataset.bookings_note] if dataset.bookings_note else []) + list(review.notes):
    st.caption(md_escape(note))

table = review.table
latest, nxt = review.latest_quarter, review.next_quarter
total_last = float(table["bookings_last_quarter"].sum())
flags_shown = ui.kpis_ui(review, focus)

# the chart, then the table under it across the page: beside the chart (half the page) the table with its
# level path needed a sideways scroll at 1280 px
st.plotly_chart(ui.quota_chart(table, colors, latest, nxt, focus), width="stretch", key=keys.REVIEW_QUOTA_CHART)
ratio = review.quota_total / total_last * 100 if total_last > 0 else float("nan")
st.caption(
    f"Quota share = {settings.potential_weight:.0%} x share of potential + {1 - settings.potential_weight:.0%} "
    f"x share of trailing-4-quarter bookings"
    + (f" ({settings.forecast_weight:.0%} of that side: share of next quarter's forecast)"
       if settings.forecast_weight > 0 else "")
    + "; whole dollars, adding up exactly to the total. "
    f"Team-wide the total is {widgets.format_pct(ratio, 0)} of {latest}'s bookings (seasonality included)."
)
quotas = ui.quota_frame(review)
quotas = quotas if focus is None else quotas[quotas["Territory"] == focus]
st.dataframe(quotas, hide_index=True, height=widgets.table_height(len(quotas)),
             column_config=widgets.with_text_widths(quotas, ui.quota_config(nxt, latest)),
             key=keys.REVIEW_QUOTA_TABLE)
if focus is None:
    ui.rollup_ui(review, dataset.territories)

# --- performance over time and next quarter's forecast ----------------------------------------------
forecast = fui.cached_forecast(dataset, chosen.labels, review)
st.subheader("Bookings per territory and quarter" if focus is None else f"Bookings, quota and forecast of "
             f"{md_escape(widgets.territory_choice(focus, reps.get(focus)))}")
if focus is None:
    st.plotly_chart(fui.small_multiples(review, forecast, colors, reps), width="stretch", key=keys.REVIEW_TREND)
    st.caption("One panel per territory, each on its own USD scale (compare shapes, not heights; the table below "
               "has the figures). Open circle: the forecast for the next quarter with its 80% interval"
               + ("; dash: the imported quota." if review.imported_quotas else ".")
               + " Pick a territory under Focus on territory to see it with its quota.")
else:
    st.plotly_chart(fui.focus_chart(review, forecast, colors, focus), width="stretch", key=keys.REVIEW_TREND)
fui.forecast_ui(forecast, focus)
st.subheader(f"Attainment {latest}")
p_left, p_right = st.columns([3, 2])
with p_left:
    st.plotly_chart(ui.attainment_chart(table, colors, latest, focus), width="stretch", key=keys.REVIEW_ATTAINMENT)
with p_right:
    st.caption(md_escape(ui.attainment_note(review)))
perf = ui.performance_frame(review)
if focus is not None:
    perf = perf[perf["Territory"] == focus]
st.dataframe(perf, hide_index=True, width="stretch",
             column_config=widgets.with_text_widths(perf, ui.performance_config(latest)),
             height=widgets.table_height(len(perf)),
             key=keys.REVIEW_PERFORMANCE_TABLE)

fui.pipeline_ui(dataset, chosen.labels, focus)

# --- flags ----------------------------------------------------------------------------------------
ui.flags_ui(flags_shown, review, latest, focus)

# --- map and 80/20 --------------------------------------------------------------------------------
st.subheader("Penetration and white space map")
ws = ui.cached_white_space(dataset, chosen.labels)
layer = st.radio("Colour the hexagons by", ["Penetration", "White space"], horizontal=True, key=keys.REVIEW_MAP_LAYER)
st.caption("Penetration: share of potential captured where the accounts are (trailing-4-quarter bookings / annual "
           "potential per hexagon). White space: potential not yet captured (USD/yr). Outlines in the territory "
           "colours, rings at the reps' home bases. Hover for the figures.")
view = ui.penetration_map(dataset, chosen.labels, colors, focus, height=520,
                          white=ws.accounts["white_space"] if layer == "White space" else None)
if view is None:
    st.info("The accounts have no coordinates, so there is no map. Add latitude/longitude or postal codes.")
else:
    maps.render_map(view, height=520, legend_width=0.22, key=keys.REVIEW_MAP)

st.subheader("White space: where to hunt" + ("" if focus is None else f" in {md_escape(focus)}"))
ui.white_space_ui(ws, focus)

st.subheader("80/20 of revenue")
r_left, r_right = st.columns([3, 2])
summary = review.pareto_summary
with r_left:
    st.plotly_chart(ui.pareto_figure(review.pareto_curves, colors, focus), width="stretch", key=keys.REVIEW_PARETO)
    scope = "All accounts" if focus is None else focus
    row = summary[summary["scope"] == scope]
    if len(row):
        share = widgets.format_pct(row["top_share_pct"].iloc[0], 0)
        st.caption(f"{md_escape(scope)}: the top 20% of accounts bring {share} "
                   f"of revenue (USD/yr, trailing 12 months). Dashed red line: 20% of accounts.")
with r_right:
    st.dataframe(
        summary.round({schema.REVENUE: 0}), hide_index=True, width="stretch", key=keys.REVIEW_PARETO_TABLE, height=380,
        column_config={"scope": st.column_config.TextColumn("Scope", width=widgets.text_width(summary["scope"])),
                       "accounts": st.column_config.NumberColumn("Accounts", format="localized"),
                       schema.REVENUE: st.column_config.NumberColumn("Revenue (USD/yr)", format="localized"),
                       "top_share_pct": st.column_config.NumberColumn(
                           "Top 20%", format="%.0f%%", help="Share of revenue the top 20% of accounts bring.")},
    )

# --- export ---------------------------------------------------------------------------------------
st.subheader("Export")
ui.downloads_ui(dataset, chosen, active, review)
with st.expander("Everything in one table"):
    everything = widgets.blank_missing(display_table(review), ["Rep"])
    st.dataframe(everything, hide_index=True, width="stretch",
                 column_config=widgets.with_text_widths(everything, ui.display_config(everything)))
