"""Overview: KPIs, the territory map with heatmaps, and workload per territory against the mean."""

import streamlit as st

from territory.data.measures import usable_measures
from territory.planning import hierarchy
from territory.reporting import colors as tcolors
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui.components import charts, maps, widgets

state.init_state()
widgets.page_header("Overview", "Where the accounts are, who owns them, and how even the load is.")
dataset = state.require_dataset()
alignment = state.get_alignment()
settings = state.get_settings()
territory_colors = cached.alignment_colors(dataset.fingerprint, dataset.accounts, alignment.labels, dataset.territories)

regions, industries = widgets.filters_ui(dataset.accounts, alignment.labels, dataset.territories, key=keys.OVERVIEW)
view = widgets.overview_view(dataset, alignment, regions, industries)
if view is None:
    widgets.empty_state("No accounts match these filters. Clear a region or industry filter.", page=None)
    st.stop()

accounts, labels, territories, view_key = view

table, score, counted_types = widgets.overview_figures(dataset, alignment, view)
kpi = widgets.overview_kpis(accounts, labels, score, counted_types)

cols = st.columns(6)
cols[0].metric("Accounts", f"{kpi['accounts']:,}", help="Accounts in view (after filters).")
cols[1].metric("Territories", f"{kpi['territories']:,}", help="Territories with at least one account in view.")
usable = usable_measures(dataset.accounts)
revenue_known = "revenue" in usable
cols[2].metric("Revenue (USD/yr)", widgets.format_usd(kpi["revenue"]) if revenue_known else "n/a",
               help="Trailing-12-month revenue." if revenue_known else
               "Not in your file: no revenue column (or every value 0). A CRM's Annual Revenue is the customer's "
               "own revenue, shown as such; map a revenue column on the Data page to use yours.")
cols[3].metric("Workload (h/yr)", widgets.format_hours(kpi["workload_hours"]), help="Annual hours to serve.")
worst = widgets.worst_territory(table)
cols[4].metric(
    "Max deviation",
    widgets.format_pct(kpi["max_deviation_pct"]),
    # the delta is Markdown; a long owner's name is shortened there (it is cut at 1500 px) and given whole in the help
    delta=md_escape(f"{widgets.short_name(worst[0])}: {worst[1]:+.1f}%") if worst else None,
    delta_color="off",
    delta_arrow="off",
    help="Workload: largest |workload - target| / target over territories (target = capacity share of the total); "
         "under it, the territory that far from its target" + (f": {md_escape(worst[0])}, {worst[1]:+.1f}%." if worst
                                                               else "."),
)
cols[5].metric(
    "Workload spread",
    widgets.format_pct(kpi["cv_pct"]),
    help="Coefficient of variation (CV) of capacity-adjusted workload per territory: its standard deviation "
    "as % of the mean. Lower is more even.",
)

widgets.data_notes(accounts, counted_types, key=keys.OVERVIEW)

st.subheader("Accounts by territory")
opt_color, opt_heat, opt_outline = st.columns([3.2, 2, 1.2], vertical_alignment="bottom")
levels = hierarchy.levels_in(territories)
color_by = opt_color.segmented_control(
    "Colour by", options=["territory", *levels, "load"],
    format_func=lambda k: "Load vs target" if k == "load" else k.capitalize(), default="territory",
    key=keys.OVERVIEW_COLOR_BY,
    help="Region (or district): every territory of a region takes the same colour, the boundaries still show "
         "each territory. Load vs target: each territory's workload against its capacity-adjusted target, grey "
         "within the tolerance band, red above and blue below (darker further out).",
) or "territory"
map_colors, legend_groups, colour_note = territory_colors, None, None
if color_by == "load":
    map_colors = tcolors.load_colors(dict(zip(table["territory_id"].astype(str), table["deviation_pct"])),
                                     settings.tolerance * 100)
    colour_note = tcolors.load_legend_text(settings.tolerance * 100)
elif color_by != "territory":
    map_colors, legend_groups = tcolors.level_colors(territories, tcolors.all_territory_ids(territories, labels),
                                                     color_by)
heatmap = opt_heat.segmented_control(
    "Heatmap layer",
    options=[k for k in maps.HEATMAPS if k == "none" or k in usable],  # no flat map
    format_func=lambda k: {"none": "Off", "workload": "Workload", "revenue": "Revenue"}[k],
    default="none",
    key=keys.OVERVIEW_HEATMAP,
    help="Sum of the measure per hexagon (Uber's H3 grid), all accounts in view.",
) or "none"
outlines = opt_outline.toggle("Boundaries", value=True, key=keys.OVERVIEW_OUTLINES,
                              help="Each territory as the ZIP areas its accounts are in (areas without accounts "
                                   "go to the nearest territory).")
maps.account_map(
    accounts,
    labels,
    territories,
    colors=map_colors,
    colour_note=colour_note,
    heatmap=heatmap,
    show_outlines=outlines,
    height=520,
    key=keys.OVERVIEW_MAP,
    # the layers carry the colours (load colours follow the tolerance)
    cache_key=f"{view_key}|{alignment.fingerprint}|{color_by}|{settings.tolerance if color_by == 'load' else ''}",
    legend_groups=legend_groups,
    legend_title=color_by.capitalize(),
    # boundaries of the whole alignment, so a filter shows the same borders, not redrawn ones
    shapes=cached.territory_shapes(f"{dataset.fingerprint}|{alignment.fingerprint}", dataset.accounts,
                                   alignment.labels) if outlines else None,
)

bar_head, bar_tol = st.columns([4, 1], vertical_alignment="bottom")
bar_head.subheader("Workload per territory")
tolerance_pct = bar_tol.slider(
    "Tolerance band (±%)",
    min_value=1,
    max_value=30,
    value=int(round(settings.tolerance * 100)),
    key=keys.OVERVIEW_TOLERANCE,
    help="Shared setting: how far a territory may sit from its target before it counts as out of balance.",
)
if tolerance_pct / 100 != settings.tolerance:
    settings = state.update_settings(tolerance=tolerance_pct / 100)
st.caption(
    "Annual workload hours per territory against its capacity-adjusted target (the mean for a full-time "
    f"rep); the green band is ±{settings.tolerance:.0%}. Hover a bar for its deviation."
)
st.plotly_chart(
    charts.measure_bar(table, territory_colors, "workload", settings.tolerance, table_balance_on="workload"),
    width="stretch",
    key=keys.OVERVIEW_WORKLOAD_BAR,
)
