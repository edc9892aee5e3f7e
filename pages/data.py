"""Data: use the built-in sample or upload accounts (CSV/XLSX), map columns, read the validation report."""

import pandas as pd
import streamlit as st

from territory.data import schema
from territory.data.io import format_report, keyed_by_owner, suggest_mapping
from territory.data.spreadsheet import to_csv_bytes
from territory.errors import DataError
from territory.planning import account_types
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import rebalance as rebalance_ui
from territory.ui import review as review_ui
from territory.ui.components import widgets

state.init_state()
widgets.page_header("Data", "Choose the accounts every page works on.")

active = state.get_dataset()
if active is not None:
    st.success(
        f"Active: **{md_escape(active.name)}**: {len(active.accounts):,} accounts, "
        f"{len(active.territories):,} territories, {len(active.bookings):,} booking rows."
    )

SOURCES = ["Built-in sample", "Upload a file"]
if keys.DATA_SOURCE not in st.session_state and active is not None:
    # coming back to the page: open on where the active dataset came from, not on the sample
    st.session_state[keys.DATA_SOURCE] = SOURCES[active.source == "upload"]
source = st.radio(
    "Source",
    SOURCES,
    horizontal=True,
    key=keys.DATA_SOURCE,
    help="The sample is about 5,000 US accounts in 20 territories (4 regions) with 8 quarters of bookings.",
)

if source == "Built-in sample":
    try:
        sample = cached.load_sample()
    except DataError as err:
        st.error(md_escape(err))
        st.stop()
    c1, c2, c3 = st.columns(3)
    c1.metric("Accounts", f"{len(sample.accounts):,}")
    c2.metric("Territories", f"{len(sample.territories):,}")
    c3.metric("Booking rows", f"{len(sample.bookings):,}")
    if active is not None and active.source == "sample":
        st.caption("The sample is the active dataset.")
    if st.button("Use the built-in sample", type="primary", key=keys.DATA_USE_SAMPLE):
        state.set_dataset(
            sample.accounts,
            sample.territories,
            sample.bookings,
            name=f"Built-in sample ({len(sample.accounts):,} accounts)",
            source="sample",
        )
        st.rerun()
    st.subheader("Preview")
    st.dataframe(sample.accounts.head(200), hide_index=True, height=320,
                 column_config=widgets.schema_column_config(sample.accounts))
    st.stop()

# --- upload --------------------------------------------------------------------------------------
st.markdown(
    "Upload a CRM export (Salesforce or HubSpot account/company export, or any table with an ID "
    "and a location). Columns are matched automatically; check and override the mapping below."
)
u1, u2, u3 = st.columns(3)
accounts_file = u1.file_uploader("Accounts (CSV or XLSX)", type=["csv", "txt", "xlsx"], key=keys.DATA_ACCOUNTS_FILE)
territories_file = u2.file_uploader(
    "Territories / reps (optional)", type=["csv", "txt", "xlsx"], key=keys.DATA_TERRITORIES_FILE,
    help="Columns: Territory ID, Rep name, Region, Home latitude, Home longitude, Capacity FTE (1 = one "
    "full-time rep).",
)
bookings_file = u3.file_uploader(
    "Bookings (optional)", type=["csv", "txt", "xlsx"], key=keys.DATA_BOOKINGS_FILE,
    help="Columns: Account ID, Quarter (e.g. 2026Q3), Amount (USD).",
)
v1, v2 = st.columns(2)
quotas_file = v1.file_uploader(
    "Quotas (optional)", type=["csv", "txt", "xlsx"], key=keys.DATA_QUOTAS_FILE,
    help="Columns: Territory ID (or the rep's name), Quarter (e.g. 2026Q3), Quota (USD). Attainment on the "
    "Quarterly review is then measured against these quotas.",
)
opportunities_file = v2.file_uploader(
    "Opportunities (optional)", type=["csv", "txt", "xlsx"], key=keys.DATA_OPPORTUNITIES_FILE,
    help="A Salesforce Opportunity export (Account ID, Amount, Close Date, Stage) or HubSpot deals: the open "
    "pipeline by stage, and closed-won bookings when no bookings file is given.",
)
if accounts_file is None:
    widgets.empty_state(
        "Upload an accounts file to see its column mapping and validation report. Each row needs an "
        "account ID and either coordinates or a US ZIP code.",
        page=None,
    )
    st.stop()

data = accounts_file.getvalue()
try:
    raw = cached.read_upload(data, accounts_file.name)
except DataError as err:
    st.error(f"Could not read **{md_escape(accounts_file.name)}**: {md_escape(err)}")
    st.stop()

suggested = suggest_mapping(list(raw.columns))
file_key = f"{accounts_file.name}:{len(data)}"
NONE = "(not in file)"
options = [NONE, *[str(c) for c in raw.columns]]
with st.expander(f"Column mapping: {len(suggested)} of {len(schema.MAPPABLE_ACCOUNT_SCHEMA)} columns matched",
                 expanded=True):
    st.caption("Each field (label) takes the file column you pick; required fields are marked *.")
    grid = st.columns(4)
    mapping: dict[str, str] = {}
    for i, column in enumerate(schema.MAPPABLE_ACCOUNT_SCHEMA):
        default = suggested.get(column.name, NONE)
        choice = grid[i % 4].selectbox(
            f"{widgets.column_title(column.name)}{' *' if column.required else ''}"
            + (f" ({column.unit})" if column.unit else ""),
            options,
            index=options.index(default) if default in options else 0,
            key=keys.data_map(column.name, file_key),
            help=column.description,
        )
        # "" tells the loader the user unmapped it (an absent key would bring the suggestion back).
        mapping[column.name] = "" if choice == NONE else choice

try:
    result = cached.load_upload(data, accounts_file.name, tuple(sorted(mapping.items())))
except DataError as err:
    st.error(f"Could not load **{md_escape(accounts_file.name)}**: {md_escape(err)}")
    st.stop()

report = result.report
st.subheader("Validation report")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Rows read", f"{report.rows_read:,}")
m2.metric("Rows loaded", f"{report.rows_loaded:,}")
m3.metric("Rows rejected", f"{report.rows_rejected:,}")
m4.metric("Warnings", f"{len(report.warnings):,}")
if report.notes:
    st.info("\n".join(f"- {md_escape(widgets.readable_columns(note))}" for note in report.notes))
# with account types, what balancing will count by default (the Rebalance page changes it)
widgets.data_notes(result.accounts, account_types.default_counted_types(result.accounts), key=keys.DATA)


def _issues(items) -> pd.DataFrame:
    return pd.DataFrame(
        [{"Row": i.row, "Account ID": i.account_id, "Field": widgets.column_title(i.field) if i.field else "",
          "Reason": i.reason} for i in items],
        columns=["Row", "Account ID", "Field", "Reason"],
    )


tab_rej, tab_warn, tab_prev = st.tabs(
    [f"Rejected rows ({report.rows_rejected:,})", f"Warnings ({len(report.warnings):,})", "Preview"]
)
with tab_rej:
    if report.rows_rejected:
        st.dataframe(result.rejected_rows, hide_index=True, height=min(38 + 35 * report.rows_rejected, 320))
        st.download_button(
            "Download rejected rows (CSV)",
            to_csv_bytes(result.rejected_rows),  # formula-safe: these are raw, user-typed cells
            file_name=f"rejected_{accounts_file.name.rsplit('.', 1)[0]}.csv",
            mime="text/csv",
            key=keys.DATA_DOWNLOAD_REJECTED,
        )
    else:
        st.caption("No row was rejected.")
with tab_warn:
    if report.warnings:
        st.dataframe(_issues(report.warnings), hide_index=True, height=min(38 + 35 * len(report.warnings), 320),
                     column_config={"Row": st.column_config.NumberColumn(
                         "Row", format="%d", help="The row of data, the header not counted: row 16 is line 17 of "
                                                  "the file, as a spreadsheet numbers it.")})
    else:
        st.caption("No warnings.")
with tab_prev:
    st.dataframe(result.accounts.head(200), hide_index=True, height=300,
                 column_config=widgets.schema_column_config(result.accounts))
with st.expander("Report as text (as the command line's check prints it)"):
    st.code(format_report(report), language=None)

territories = None
bookings = None
if territories_file is not None:
    try:
        territories = cached.load_territories_upload(territories_file.getvalue(), territories_file.name)
        st.caption(f"Territories file: {len(territories):,} territories.")
    except DataError as err:
        st.error(f"Could not read **{md_escape(territories_file.name)}**: {md_escape(err)}")
if bookings_file is not None:
    try:
        bookings = cached.load_bookings_upload(bookings_file.getvalue(), bookings_file.name)
        st.caption(f"Bookings file: {len(bookings):,} rows.")
    except DataError as err:
        st.error(f"Could not read **{md_escape(bookings_file.name)}**: {md_escape(err)}")

quotas = opportunities = None
if quotas_file is not None:
    try:
        loaded = cached.load_quotas_upload(quotas_file.getvalue(), quotas_file.name,
                                           state.territories_for(result.accounts, territories))
        quotas = loaded.quotas
        widgets.side_file_report("Quota file", loaded.report, key=keys.DATA_QUOTAS_REPORT)
    except DataError as err:
        st.error(f"Could not read **{md_escape(quotas_file.name)}**: {md_escape(err)}")
if opportunities_file is not None:
    try:
        loaded = cached.load_opportunities_upload(opportunities_file.getvalue(), opportunities_file.name)
        opportunities = loaded.opportunities
        widgets.side_file_report("Opportunity file", loaded.report, key=keys.DATA_OPPORTUNITIES_REPORT)
    except DataError as err:
        st.error(f"Could not read **{md_escape(opportunities_file.name)}**: {md_escape(err)}")

if report.rows_loaded == 0:
    st.warning("No row could be loaded: fix the mapping above or the file, then try again.")
    st.stop()
if st.button(f"Use this dataset ({report.rows_loaded:,} accounts)", type="primary", key=keys.DATA_USE_UPLOAD):
    with st.spinner("Preparing the pages..."):
        active = state.set_dataset(result.accounts, territories, bookings, name=accounts_file.name, source="upload",
                                   quotas=quotas, opportunities=opportunities,
                                   owner_reps=territories is None and keyed_by_owner(report.mapping))
        # Fill the caches the first visits of Overview, Quarterly review and Rebalance read (1.5 to
        # 3.5 s each at 100,000 accounts).
        widgets.warm_overview(active, state.get_alignment())
        review_ui.warm(active, state.get_alignment())
        rebalance_ui.warm(active, state.get_alignment())
    st.rerun()
