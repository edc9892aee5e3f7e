"""Rebalance (what-if): move the settings, see the active alignment (before) next to the result (after).

Thin page: widgets, cached engine calls and charts live in territory/ui/rebalance.py.
"""

import streamlit as st

from territory.data import schema
from territory.data.measures import usable_measures
from territory.errors import TerritoryError
from territory.planning import account_types, headcount
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import rebalance as rb
from territory.ui.components import rebalance_charts as rbc
from territory.ui.components import widgets

state.init_state()
st.title("Rebalance: what-if")
st.caption(
    "Move the settings in the sidebar: the engine re-runs and shows the active alignment (**before**) "
    "next to the result (**after**). Nothing changes elsewhere in the app until you press **Make active**."
)
dataset = state.require_dataset()
alignment = state.get_alignment()
accounts, territories = dataset.accounts, state.active_territories()
before = alignment.labels.astype("string")
current_ids = sorted(before.dropna().unique().tolist())
if not current_ids:
    st.info("The active dataset has no territory assignment yet, so there is nothing to rebalance from. "
            "Load a file with a `territory_id` column on the **Data** page.")
    st.stop()

industries = (sorted(accounts[schema.INDUSTRY].dropna().astype(str).unique().tolist())
              if schema.INDUSTRY in accounts else [])
type_counts = (account_types.type_counts(accounts).to_dict() if schema.ACCOUNT_TYPE in accounts else None)
settings = rb.controls_ui(current_ids, industries, len(accounts), type_counts,
                          alignment_key=rb.alignment_key(dataset.fingerprint, alignment.fingerprint),
                          names=rb.territory_names(territories), scopes=rb.scope_choices(territories),
                          measures=usable_measures(accounts))
rb.forget_other_datasets(dataset.fingerprint)
manual_moves = rb.get_manual_moves()
event = rb.get_event(current_ids)
engine_input = rb.engine_accounts(accounts, before, manual_moves, settings.lock_top_n)
params = settings.to_params()

try:
    whatif = rb.compute_whatif(dataset.fingerprint, accounts, territories, before, engine_input, params,
                               event, manual_moves, settings.counted_types, settings.closing,
                               settings.scope_pairs(), settings.within, units=settings.units)
except TerritoryError as error:
    st.error(md_escape(error), icon=":material/error:")
    rb.recovery_ui(event, manual_moves)
    st.stop()

rb.messages_ui(whatif.result, whatif.wall_seconds, headcount.headcount_change(before, whatif.after))
rb.kpis_ui(whatif, alignment.name)
if settings.within and not event:
    rb.within_ui(dataset.fingerprint, accounts, whatif, territories, settings)
elif settings.scope:
    st.caption("The figures above are the whole company's (targets share the company's total); the scope's own "
               "balance, against its own total, is in the messages at the top.")
widgets.data_notes(accounts, settings.counted_types, key=keys.REBALANCE)

before_colors, colors = rb.whatif_colors(dataset.fingerprint, accounts, whatif, territories)
events_col, use_col = st.columns(2)
with events_col.container(border=True):
    st.markdown("**Staffing events**")
    suggestion = cached.hire_suggestion(f"{dataset.fingerprint}|{alignment.fingerprint}", dataset.accounts,
                                        alignment.labels, dataset.bookings)
    rb.events_ui(current_ids, territories, suggestion)
    rb.home_map_ui(dataset.fingerprint, accounts, before, before_colors)
with use_col.container(border=True):
    st.markdown("**Use this result**")
    rb.actions_ui(accounts, whatif, settings, event)

rb.maps_ui(accounts, whatif, territories, before_colors, colors)

# Lazy tabs: only the open tab's content runs and travels to the browser on a rerun (the hidden
# ones held a 5,000-point selection chart and two tables that were redrawn on every slider move).
tab_load, tab_flows, tab_moved, tab_tradeoff, tab_manual = st.tabs(
    list(rb.TABS), key=keys.REBALANCE_TAB, on_change="rerun"
)
if tab_load.open:
    with tab_load:
        st.plotly_chart(
            rbc.distribution_figure(whatif.before_table, whatif.after_table, params.tolerance, colors,
                                   settings.measure_label()),
            key=keys.REBALANCE_CHART_DISTRIBUTION, width="stretch",
        )
        st.caption("Grey: before; coloured: after; green band: the tolerance around each territory's target "
                   "(its share of the total by rep capacity).")
if tab_flows.open:
    with tab_flows:
        counts = rbc.transfer_matrix(whatif.before, whatif.after)
        if counts.empty:
            st.info("No account changes territory with these settings.")
        else:
            revenue = rbc.transfer_matrix(whatif.before, whatif.after, accounts.get(schema.REVENUE))
            st.plotly_chart(rbc.transfer_figure(counts, revenue), key=keys.REBALANCE_CHART_FLOWS, width="stretch")
            st.caption("Accounts moving from each territory (rows) to another (columns); hover for the revenue.")
if tab_moved.open:
    with tab_moved:
        moved = rb.moved_accounts_table(accounts, whatif.assignment)
        st.caption(f"{len(moved):,} accounts move; each carries the reason for its move.")
        st.dataframe(
            moved, hide_index=True, width="stretch", height=380, key=keys.REBALANCE_MOVED_TABLE,
            column_config={
                "Revenue (USD/yr)": st.column_config.NumberColumn(format="$%,.0f"),
                "Workload (h/yr)": st.column_config.NumberColumn(format="%,.0f"),
                "Reason": st.column_config.TextColumn(width="large"),
            },
        )
if tab_tradeoff.open:
    with tab_tradeoff:
        if st.toggle(f"Compute the trade-off ({len(rb.STABILITY_SWEEP)} engine runs, cached)",
                     key=keys.REBALANCE_SWEEP):
            with st.spinner("Running the stability sweep..."):
                sweep = rb.stability_sweep(dataset.fingerprint, accounts, territories, engine_input, before, params,
                                           event, rb.sweep_values(settings.stability), settings.counted_types,
                                           settings.closing, settings.scope_pairs(), settings.within,
                                           units=settings.units)
            st.plotly_chart(rbc.tradeoff_figure(sweep, settings.stability), key=keys.REBALANCE_CHART_TRADEOFF,
                            width="stretch")
            for message in sweep.get("error", []):
                if message:
                    st.warning(md_escape(message))
            st.caption("Each point is this what-if at another stability setting (s): lower is better balanced, "
                       "further left moves fewer accounts, colour is travel. Set the Stability slider to the "
                       "point you want: those runs are cached, so it is instant.")
        else:
            st.caption("Balance against moves against travel over stability "
                       f"{', '.join(f'{s:g}' for s in rb.STABILITY_SWEEP)}. Off by default because each new "
                       "setting of the other sliders costs that many engine runs; once computed, returning "
                       "to a setting is instant.")
if tab_manual.open:
    with tab_manual:
        rb.manual_moves_ui(accounts, whatif, sorted(whatif.after.dropna().unique().tolist()), colors)
