"""Routing: the rules that route new accounts, a 'where would this account land?' tester, and the
upload of a file of new accounts with the load it adds per territory."""

import streamlit as st

from territory.data.measures import measure_label
from territory.data.spreadsheet import to_csv_bytes
from territory.errors import TerritoryError
from territory.planning import routing as R
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import routing as ui
from territory.ui import scenarios as scenario_ui
from territory.ui.components import widgets

state.init_state()
widgets.page_header("Routing", "Where a new account lands: ordered rules, the first that matches wins.")
dataset = state.require_dataset()
alignment = state.get_alignment()
base = ui.routing_base(dataset, alignment)

st.subheader("Rules")
store = scenario_ui.get_store()
start = ui.starting_rules(dataset, alignment, store)
st.caption(
    f"Rules for **{md_escape(alignment.name)}**, tried from the lowest priority up; the editor starts from "
    f"{start.source}. Edit, add or delete rows; each column's header says what it takes."
)
edited, edited_rules, problems = ui.rules_editor_ui(
    start.table, base.territory_ids, key=keys.routing_rules(f"{alignment.fingerprint}_{start.fingerprint}"))
rules = ui.rules_in_use(dataset, alignment, start, edited_rules, problems, base.territory_ids)

cols = st.columns([1, 1.4, 1.6])
cols[0].download_button("Download rules (CSV)", R.rules_to_csv_bytes(edited), file_name="routing_rules.csv",
                        mime="text/csv", disabled=bool(problems), key=keys.ROUTING_RULES_DOWNLOAD)
if cols[0].button("Back to the default rules", key=keys.ROUTING_RULES_RESET,
                  help="The rules the alignment implies: whole ZIP prefixes, ZIPs by majority, nearest last."):
    ui.set_starting_rules(alignment, ui.default_starting_rules(dataset, alignment))
    st.rerun()
uploaded_rules = cols[1].file_uploader("Start from a rules file", type=["csv"], key=keys.ROUTING_RULES_UPLOAD)
if uploaded_rules is not None:
    try:
        table = R.read_rules_csv(uploaded_rules.getvalue(), base.territory_ids).to_frame()
    except TerritoryError as error:
        st.error(md_escape(error))
    else:
        if not table.equals(start.table):
            ui.set_starting_rules(alignment, ui.StartingRules(table, f"the file **{md_escape(uploaded_rules.name)}**"))
            st.rerun()
names = store.names()
with cols[2]:
    if names:
        chosen = st.selectbox("Scenario", names, key=keys.ROUTING_SAVE_TO,
                              index=names.index(alignment.scenario) if alignment.scenario in names else 0,
                              help="Rules are saved with a scenario and travel in its scenario file.")
        save_col, load_col = st.columns(2)
        if save_col.button("Save rules with it", disabled=bool(problems), key=keys.ROUTING_SAVE):
            store.save_rules(chosen, rules.to_frame())
            st.success(f"Saved {len(rules):,} rules with **{md_escape(chosen)}**.")
        if load_col.button("Load its rules", key=keys.ROUTING_LOAD):
            saved = store.load_rules(chosen)
            if saved is None:
                st.info(f"**{md_escape(chosen)}** has no saved rules: it routes by its alignment's default rules.")
            else:
                ui.set_starting_rules(alignment, ui.StartingRules(saved, f"the rules saved with scenario "
                                                                         f"**{md_escape(chosen)}**"))
                st.rerun()
    else:
        st.caption("Save a scenario on the Scenarios page to keep rules with it.")

st.subheader("Where would this account land?")
inputs = ui.tester_ui(sorted(dataset.accounts["industry"].dropna().astype(str).unique().tolist()))
ui.tester(base, rules, inputs)

st.subheader("Route a file of new accounts")
upload = st.file_uploader("New accounts (CSV or XLSX, as on the Data page)", type=["csv", "xlsx"],
                          key=keys.ROUTING_NEW_ACCOUNTS)
if upload is None:
    st.caption("Upload new accounts to see where each lands and the load it adds per territory.")
    st.stop()
try:
    loaded = cached.load_upload(upload.getvalue(), upload.name)
except TerritoryError as error:
    st.error(md_escape(error))
    st.stop()
guard = st.toggle("Capacity guard", value=True, key=keys.ROUTING_GUARD,
                  help=f"Send an account whose territory would go above its upper band (target "
                       f"+{base.tolerance:.0%}) to the nearest adjacent territory with room.")
routing = R.route(loaded.accounts, rules, base, guard=guard)
if guard:
    ui.show_full_before(routing.load)
routed = routing.routed
rejected = R.rejected_rows(loaded.report, routing)
cols = st.columns(4)
cols[0].metric("Rows read", f"{loaded.report.rows_read:,}")
cols[1].metric("Assigned", f"{len(routed):,}")
cols[2].metric("Rejected", f"{len(rejected):,}",
               help="Rows the importer rejected, and accounts no rule matched.")
cols[3].metric("Redirected by the capacity guard", f"{int((routed['reason_code'] == R.REDIRECTED).sum()):,}",
               help=f"Accounts whose rule chose a territory that would go above its upper band (target "
                    f"+{base.tolerance:.0%}): sent to an adjacent territory with room.")
st.plotly_chart(ui.load_figure(routing.load, measure_label(base.balance_on)), key=keys.ROUTING_LOAD_CHART)
ui.show_load_table(routing.load, measure_label(base.balance_on))
result = R.routed_table(loaded.accounts, routing)
ui.show_routed_table(result, routing)
if rejected:
    st.warning(f"{len(rejected):,} row(s) not routed:")
    ui.show_rejected(rejected)
st.download_button("Download the routed accounts (CSV)", to_csv_bytes(result), file_name="routed_accounts.csv",
                   mime="text/csv", key=keys.ROUTING_DOWNLOAD)
