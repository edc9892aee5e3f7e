"""Rep page: one territory on one page, to print for the rep's part of the quarterly review.

Numbers come from territory.planning.rep (the same review, forecast and metrics as the other pages).
"""

import streamlit as st

from territory.data import schema
from territory.data.measures import usable_measures
from territory.errors import DataError, ParameterError
from territory.planning.rep import attainment_text
from territory.reporting import colors as tcolors
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import forecast as fui
from territory.ui import rep as ui
from territory.ui import review as review_ui
from territory.ui.components import maps, widgets

state.init_state()
widgets.page_header("Rep page", "One territory on one page: load, bookings, forecast, quota, top accounts and "
                    "the accounts the plan moves")
dataset = state.require_dataset()
active = state.get_alignment()
colors = cached.alignment_colors(dataset.fingerprint, dataset.accounts, active.labels, dataset.territories)
reps = dict(zip(dataset.territories[schema.TERRITORY_ID].astype(str), dataset.territories[schema.REP_NAME])) \
    if schema.REP_NAME in dataset.territories else {}
shown = sorted(set(active.labels.dropna().astype(str)))
territory = st.selectbox("Territory", shown, key=keys.REP_TERRITORY,
                         format_func=lambda t: md_escape(widgets.territory_choice(t, reps.get(t))))
if territory is None:
    st.info("The alignment in use has no territories.")
    st.stop()

review = forecast = None
if review_ui.has_bookings(dataset):
    try:
        review = review_ui.cached_review(dataset, active.labels, review_ui.stored_settings(), active.name,
                                           state.basis_of(active, dataset))
    except (DataError, ParameterError) as error:
        st.error(f"The bookings cannot be used: {md_escape(error)}")
    else:
        forecast = fui.cached_forecast(dataset, active.labels, review)
view = ui.cached_view(dataset, active, territory, review, forecast)

where = view.level_text or (view.region and f"Region {view.region}")  # Region › District: West › Pacific
rep_line = " · ".join(md_escape(x) for x in (view.rep_name, where) if x)
st.subheader(f"{md_escape(view.territory_id)}" + (f" · {rep_line}" if rep_line else ""))
load = view.load
basis = state.basis_of(active, dataset)
band = "inside" if view.within_band else "outside"
cols = st.columns(6)
cols[0].metric("Accounts", f"{view.accounts:,}",
               help=f"The accounts that carry load; {view.shown_apart:,} more are shown apart (types not counted)."
               if view.shown_apart else None)
cols[1].metric("Load vs target", f"{load['deviation_pct']:+.1f}%",
               f"{band} ±{view.tolerance:.0%}", delta_color="off", delta_arrow="off",
               help=f"{md_escape(view.balance_on)}: {load['value']:,.0f} against a target of {load['target']:,.0f} "
                    f"(band {load['band_low']:,.0f} to {load['band_high']:,.0f}). "
                    + md_escape(basis.describe(dataset.accounts)))
figures = view.figures
if figures:
    cols[2].metric(f"Bookings {review.latest_quarter}", review_ui.usd(figures["bookings_last_quarter"]),
                   None if figures["yoy_pct"] != figures["yoy_pct"] else f"{figures['yoy_pct']:+.1f}% YoY")
    cols[3].metric(f"Attainment {review.latest_quarter}", widgets.format_pct(figures["attainment_pct"], 0),
                   help=attainment_text(view))
    cols[4].metric(f"Quota {review.next_quarter}", review_ui.usd(figures["quota"]),
                   help="The quota rule's suggestion (Quarterly review page, Quota).")
if view.forecast is not None:
    f = view.forecast
    cols[5].metric(f"Forecast {f['quarter']}", review_ui.usd(f["value"]),
                   help=f"80% interval {review_ui.usd(f['low'])} to {review_ui.usd(f['high'])}.")
if not figures:
    st.caption("No bookings in the dataset: bookings, attainment, quota and forecast need a bookings file "
               "(Data page).")
# which accounts the load counts, estimated workload, unknown potential: the figures above use them
widgets.data_notes(dataset.accounts, basis.counted_for(dataset.accounts))

left, right = st.columns(2)
usable = usable_measures(dataset.accounts)
with left:
    title, map_view = ui.territory_map(dataset, active, colors, territory, penetration=review is not None
                                       and "potential" in usable)
    st.markdown(title)
    if map_view is None:
        st.info("The accounts have no coordinates, so there is no map.")
    else:
        maps.render_map(map_view, height=ui.MAP_HEIGHT_PX, legend_width=0.25, key=keys.REP_MAP)
with right:
    if review is not None and forecast is not None:
        st.markdown("**Bookings per quarter** with quota and next quarter's forecast (80% interval)")
        st.plotly_chart(fui.focus_chart(review, forecast, colors, territory, height=430), width="stretch",
                        key=keys.REP_TREND)

st.markdown(f"**Top {len(view.top_accounts)} accounts** (largest "
            f"{'revenue' if view.top_by == schema.REVENUE else 'workload'} first)")
st.dataframe(ui.top_accounts_frame(view), hide_index=True, width="stretch", column_config=ui.MONEY,
             key=keys.REP_TOP_ACCOUNTS)
if view.white_space is not None and "potential" in usable:
    total = view.white_space["white_space"]
    st.markdown(f"**White space: where to hunt** ({review_ui.usd(total)}/yr of potential not yet captured, "
                f"{widgets.format_pct(view.white_space['white_space_share_pct'], 1)} of the team's)")
    if view.hunt is not None and len(view.hunt):
        st.dataframe(review_ui.hunt_frame(view.hunt).drop(columns="Territory"), hide_index=True, width="stretch",
                     column_config=review_ui.WHITE_SPACE_CONFIG, key=keys.REP_HUNT)
st.markdown(f"**Accounts the plan moves** (the alignment in use against the file's own): "
            f"{len(view.moved_in):,} in, {len(view.moved_out):,} out")
moved_left, moved_right = st.columns(2)
for column, moves, title, key in ((moved_left, view.moved_in, "In", keys.REP_MOVED_IN),
                                  (moved_right, view.moved_out, "Out", keys.REP_MOVED_OUT)):
    with column:
        if len(moves):
            st.dataframe(ui.moves_frame(moves), hide_index=True, width="stretch", column_config=ui.MONEY, key=key,
                         height=min(36 * (len(moves) + 1) + 4, 320))
        else:
            st.caption(f"{title}: none.")
ui.download_ui(dataset, active, view, review, colors.get(territory, tcolors.UNASSIGNED_COLOR))
