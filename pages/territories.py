"""Territories: the per-territory table, the region roll-up, industry mix, a drill-down, and capacity planning."""

import streamlit as st

from territory.data import schema
from territory.data.io import with_owner_reps
from territory.data.measures import usable_measures
from territory.data.spreadsheet import to_csv_bytes
from territory.planning import hierarchy
from territory.planning.metrics import MEAN_DISTANCE_HELP, pareto_curve, top_share
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import rebalance as rb
from territory.ui.capacity import capacity_ui
from territory.ui.components import charts, maps, widgets

state.init_state()
widgets.page_header("Territories", "Every territory's load, value, travel and industry mix.")
dataset = state.require_dataset()
alignment = state.get_alignment()
settings = state.get_settings()
labels = alignment.labels
territories = state.active_territories()  # a new hire made active has its row; closed territories are gone
territory_colors = cached.alignment_colors(dataset.fingerprint, dataset.accounts, labels, territories)

if labels.dropna().empty:
    widgets.empty_state(
        "No account has a territory yet. Map a territory_id column on the Data page, or create "
        "territories on the Rebalance page.",
        page="pages/rebalance.py",
        label="Go to Rebalance",
    )
    st.stop()

# the load counts the account types the alignment was balanced with (partners shown apart carry none)
basis = state.basis_of(alignment, dataset)
counted, counted_types = basis.mask(dataset.accounts), basis.counted_for(dataset.accounts)
usable = usable_measures(dataset.accounts)
table = cached.territory_table(
    f"{dataset.fingerprint}|{counted_types}", dataset.accounts[counted], labels[counted], territories,
    settings.balance_on
)
levels = hierarchy.levels_in(territories)  # region, district: the ones the territories file fills in
if levels:
    table = table.assign(level_path=hierarchy.level_paths(territories, table[schema.TERRITORY_ID].astype(str),
                                                          include_territory=False).to_numpy())

widgets.data_notes(dataset.accounts, counted_types, key=keys.TERRITORIES)
tab_table, tab_region, tab_mix, tab_drill, tab_capacity = st.tabs(
    ["Per territory", "Roll-ups by level", "Industry mix", "Drill into a territory", "Capacity planning"]
)

with tab_table:
    st.caption(
        f"Click a column header to sort. Deviation is of {schema.MEASURE_LABEL[settings.balance_on].lower()} "
        "against the capacity-adjusted target; utilisation is workload against capacity x mean workload per FTE."
    )
    no_data = [m for m in ("revenue", "potential") if m not in usable]
    shown = widgets.territory_table_columns(table, levels, settings.balance_on,
                                            left_out=[schema.MEASURE_COLUMN[m] for m in no_data])
    if no_data:
        st.caption(f"Not shown: {' and '.join(no_data)}, which the file has no data for (every account's is 0 "
                   "or unknown); the download keeps the columns.")
    width = widgets.territory_table_widths(table)
    fragmented = widgets.fragmented_territories(table)
    if "pieces" in table and "pieces" not in shown:
        st.caption(f"In more than one piece: {md_escape(', '.join(fragmented))}." if fragmented
                   else "Every territory is one connected piece (contiguous).")
    st.dataframe(
        widgets.blank_missing(table[shown].round({schema.REVENUE: 0, schema.POTENTIAL: 0, schema.WORKLOAD_HOURS: 0}),
                              [schema.REP_NAME, schema.REGION]),
        hide_index=True,
        height=min(38 + 35 * len(table), 740),
        column_config={
            schema.TERRITORY_ID: st.column_config.TextColumn(
                "Territory", pinned=True, width=width[schema.TERRITORY_ID]),
            schema.REP_NAME: st.column_config.TextColumn("Rep", width=width[schema.REP_NAME]),
            schema.REGION: st.column_config.TextColumn("Region", width=width[schema.REGION]),
            "level_path": st.column_config.TextColumn(
                " › ".join(level.capitalize() for level in levels) or "Level", width=width["level_path"],
                help="Where the territory sits: region, then district."),
            "accounts": st.column_config.NumberColumn("Accounts", format="localized", width=width["accounts"]),
            schema.REVENUE: st.column_config.NumberColumn("Revenue (USD/yr)", format="localized",
                                                         width=width[schema.REVENUE]),
            schema.POTENTIAL: st.column_config.NumberColumn("Potential (USD/yr)", format="localized",
                                                           width=width[schema.POTENTIAL]),
            schema.WORKLOAD_HOURS: st.column_config.NumberColumn("Workload (h/yr)", format="localized",
                                                                width=width[schema.WORKLOAD_HOURS]),
            schema.CAPACITY_FTE: st.column_config.NumberColumn("FTE", format="%.1f", width=width[schema.CAPACITY_FTE],
                                                               help="Rep capacity in full-time equivalents."),
            "utilisation_pct": st.column_config.ProgressColumn(
                "Utilisation (%)", format="%.0f%%", min_value=0, max_value=200, width=width["utilisation_pct"],
                help="Workload against capacity x mean workload per FTE; 100% is an even share.",
            ),
            "deviation_pct": st.column_config.NumberColumn(
                "Deviation (%)", format="%+.1f%%", width=width["deviation_pct"],
                help=f"Of {schema.MEASURE_LABEL[settings.balance_on].lower()} against the capacity-adjusted target.",
            ),
            "weighted_mean_distance_km": st.column_config.NumberColumn(
                "Distance (km)", format="%,.0f", width=width["weighted_mean_distance_km"], help=MEAN_DISTANCE_HELP,
            ),
            "top_industry": st.column_config.TextColumn(
                "Top industry", width=width["top_industry"]),
            "pieces": st.column_config.NumberColumn(
                "Pieces", format="localized", width=width["pieces"], help="Connected pieces: 1 means contiguous."
            ),
        },
    )
    st.download_button(
        "Download table (CSV)",
        # formula-safe (rep and industry names are user text); owners named as the reps, as in the CRM exports
        to_csv_bytes(with_owner_reps(table) if dataset.owner_reps else table),
        file_name="territories.csv",
        mime="text/csv",
        key=keys.TERRITORIES_DOWNLOAD,
    )
    widgets.geography_downloads(dataset.accounts, alignment.labels, dataset.territories, file_stem="alignment",
                                key=keys.TERRITORIES_GEOGRAPHY, units=alignment.units,
                                shapes_key=f"{dataset.fingerprint}|{alignment.fingerprint}",
                                instead="Every account's territory is in the assignment: *Assignment (CSV)* or "
                                        "*(XLSX)* on the Scenarios page, once the alignment is saved as a scenario.")

with tab_region:
    level = (st.radio("Level", levels, format_func=str.capitalize, horizontal=True, key=keys.TERRITORIES_ROLLUP_LEVEL)
             if len(levels) > 1 else schema.REGION)
    rollup = charts.level_rollup(table, territories, level)
    st.caption("Each row sums its territories, so the rows add up to the company; utilisation is the level's "
               "workload against its capacity x the company's mean workload per FTE.")
    st.dataframe(
        rollup.round({schema.REVENUE: 0, schema.POTENTIAL: 0, schema.WORKLOAD_HOURS: 0}),
        hide_index=True,
        column_config={
            "region": st.column_config.TextColumn("Region"),
            "district": st.column_config.TextColumn("District"),
            "territories": st.column_config.NumberColumn("Territories"),
            "accounts": st.column_config.NumberColumn("Accounts", format="localized"),
            schema.REVENUE: st.column_config.NumberColumn("Revenue (USD/yr)", format="localized"),
            schema.POTENTIAL: st.column_config.NumberColumn("Potential (USD/yr)", format="localized"),
            schema.WORKLOAD_HOURS: st.column_config.NumberColumn("Workload (h/yr)", format="localized"),
            schema.CAPACITY_FTE: st.column_config.NumberColumn("Capacity (FTE)", format="%.1f"),
            "utilisation_pct": st.column_config.ProgressColumn(
                "Utilisation (%)", format="%.0f%%", min_value=0, max_value=200
            ),
        },
    )

with tab_mix:
    has_revenue = "revenue" in usable
    st.caption(f"Where each industry's {'revenue and workload sit' if has_revenue else 'workload sits'}: "
               "darker cells hold more."
               + ("" if has_revenue else " No revenue map: the file has no revenue (every account's is 0)."))
    if has_revenue:
        revenue_matrix = cached.industry_matrix(dataset.fingerprint, dataset.accounts[counted], labels[counted],
                                                "revenue")
        st.plotly_chart(
            charts.industry_heatmap(revenue_matrix, "revenue", title="Revenue by industry and territory"),
            width="stretch",
            key=keys.TERRITORIES_MIX_REVENUE,
        )
    workload_matrix = cached.industry_matrix(dataset.fingerprint, dataset.accounts[counted], labels[counted],
                                             "workload")
    if has_revenue:  # the industries in one order on both maps (each sorted by its own total did not line up)
        workload_matrix = workload_matrix.reindex(revenue_matrix.index.union(workload_matrix.index, sort=False),
                                                  fill_value=0.0)
    st.plotly_chart(
        charts.industry_heatmap(workload_matrix, "workload", title="Workload by industry and territory"),
        width="stretch",
        key=keys.TERRITORIES_MIX_WORKLOAD,
    )

with tab_drill:
    ids = table[schema.TERRITORY_ID].astype(str).tolist()
    reps = dict(zip(table[schema.TERRITORY_ID].astype(str), table.get(schema.REP_NAME, table[schema.TERRITORY_ID])))
    chosen = st.selectbox(
        "Territory",
        ids,
        format_func=lambda t: widgets.territory_choice(t, reps.get(t)),
        key=keys.TERRITORIES_DRILL,
    )
    row = table[table[schema.TERRITORY_ID].astype(str) == chosen].iloc[0]
    in_territory = labels.astype("string") == chosen
    accounts = dataset.accounts[in_territory.fillna(False).to_numpy()]
    has_revenue = "revenue" in usable_measures(accounts)  # this territory's accounts have some
    values = accounts[schema.REVENUE] if has_revenue else None
    k = st.columns(5)
    k[0].metric("Accounts", f"{int(row['accounts']):,}")
    k[1].metric("Revenue (USD/yr)", widgets.format_usd(row[schema.REVENUE]) if has_revenue else "unknown",
                help=None if has_revenue else "The data has no revenue for these accounts.")
    k[2].metric("Workload (h/yr)", widgets.format_hours(row[schema.WORKLOAD_HOURS]))
    k[3].metric("Utilisation", widgets.format_pct(row.get("utilisation_pct"), 0))
    k[4].metric("Mean distance (km)", f"{row.get('weighted_mean_distance_km', float('nan')):,.0f}",
                help=MEAN_DISTANCE_HELP)
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Its accounts**")
        maps.account_map(
            accounts,
            labels[accounts.index],
            territories,
            colors=territory_colors,
            height=380,
            width_px=430,
            key=keys.TERRITORIES_DRILL_MAP,
            # its boundary within the whole alignment (its accounts alone would claim the whole country)
            shapes=cached.territory_shapes(f"{dataset.fingerprint}|{alignment.fingerprint}", dataset.accounts,
                                           alignment.labels),
        )
    with right:
        st.markdown("**80/20 curve of revenue**")
        if has_revenue:
            st.plotly_chart(charts.pareto_chart(pareto_curve(values)), width="stretch", key=keys.TERRITORIES_PARETO)
            st.caption(f"The top 20% of its accounts bring {top_share(values, 0.2):.0%} of its revenue.")
        else:
            st.caption("The data has no revenue for these accounts, so there is no 80/20 curve to draw.")
    by = schema.REVENUE if has_revenue else schema.WORKLOAD_HOURS
    st.markdown(f"**Top accounts by {'revenue' if has_revenue else 'workload'}**")
    top_cols = [
        c for c in (schema.NAME, schema.CITY, schema.STATE, schema.INDUSTRY, schema.REVENUE, schema.POTENTIAL,
                    schema.WORKLOAD_HOURS) if c in accounts and (has_revenue or c != schema.REVENUE)
    ]
    st.dataframe(
        accounts.nlargest(15, by)[top_cols].round({schema.REVENUE: 0}),
        hide_index=True,
        column_config={
            schema.NAME: st.column_config.TextColumn("Account"),
            schema.CITY: st.column_config.TextColumn("City"),
            schema.STATE: st.column_config.TextColumn("State"),
            schema.INDUSTRY: st.column_config.TextColumn("Industry"),
            schema.REVENUE: st.column_config.NumberColumn("Revenue (USD/yr)", format="localized"),
            schema.POTENTIAL: st.column_config.NumberColumn("Potential (USD/yr)", format="localized"),
            schema.WORKLOAD_HOURS: st.column_config.NumberColumn("Workload (h/yr)", format="%.0f"),
        },
    )

with tab_capacity:
    capacity_ui(dataset.accounts[counted], labels[counted], territories,
                rb.alignment_key(dataset.fingerprint, alignment.fingerprint))
