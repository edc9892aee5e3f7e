"""Small UI pieces shared by pages: sidebar status, filters, KPI formatting, empty states.

Widgets are drawn by ``*_ui`` functions that return plain values; pure helpers (``filter_mask``,
``format_*``) have no Streamlit calls so tests can check them directly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from territory.data import schema
from territory.data.measures import potential_unknown_share
from territory.data.workload import RULE_MARKDOWN, estimated_shares
from territory.planning.account_types import counted_mask, describe_counted
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state

# --- formatting (pure) ----------------------------------------------------------------------------


def format_usd(value: float | None, decimals: int = 1) -> str:
    """$12.3M / $450k / $900 (USD)."""
    if value is None or not np.isfinite(value):
        return "-"
    a = abs(value)
    if a >= 1e9:
        return f"${value / 1e9:,.{decimals}f}B"
    if a >= 1e6:
        return f"${value / 1e6:,.{decimals}f}M"
    if a >= 1e3:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def format_hours(value: float | None) -> str:
    """'12,345 h' (hours/year)."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.0f} h"


def format_km(value: float | None) -> str:
    """'1,234 km' (great-circle kilometres, whole km as on every page and in the report)."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.0f} km"


def format_pct(value: float | None, decimals: int = 1) -> str:
    """'12.3%'."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.{decimals}f}%"


# --- filters --------------------------------------------------------------------------------------


def region_of(labels: pd.Series, territories: pd.DataFrame) -> pd.Series:
    """Region per account through its territory ('(no region)' when unknown)."""
    if schema.REGION not in territories:
        return pd.Series("(no region)", index=labels.index, dtype="string")
    mapping = dict(
        zip(territories[schema.TERRITORY_ID].astype(str), territories[schema.REGION].astype("string"))
    )
    return labels.astype("string").map(mapping).astype("string").fillna("(no region)")


def filter_mask(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame,
    regions: Sequence[str] = (),
    industries: Sequence[str] = (),
) -> pd.Series:
    """Boolean mask of accounts in the chosen regions and industries (an empty choice means all)."""
    mask = pd.Series(True, index=accounts.index)
    if regions:
        mask &= region_of(labels, territories).isin(list(regions)).to_numpy()
    if industries and schema.INDUSTRY in accounts:
        mask &= accounts[schema.INDUSTRY].astype("string").fillna("Other").isin(list(industries)).to_numpy()
    return mask


def filters_ui(
    accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame, key: str
) -> tuple[list[str], list[str]]:
    """Region and industry multiselects side by side; returns (regions, industries), empty = all."""
    region_options = sorted(region_of(labels, territories).dropna().unique().tolist())
    industry_options = (
        sorted(accounts[schema.INDUSTRY].astype("string").fillna("Other").unique().tolist())
        if schema.INDUSTRY in accounts
        else []
    )
    c1, c2 = st.columns(2)
    regions = c1.multiselect(
        "Region", region_options, key=keys.child(key, "regions"), placeholder="All regions", help="Filter by region."
    )
    industries = c2.multiselect(
        "Industry", industry_options, key=keys.child(key, "industries"), placeholder="All industries",
        help="Filter by industry.",
    )
    return list(regions), list(industries)


_TITLES = {"account_id": "Account ID", "territory_id": "Territory ID", "workload_hours": "Workload",
           "company_revenue": "Company's own revenue", "account_type": "Account type",
           "postal_code": "Postal code", "capacity_fte": "Capacity"}


def column_title(name: str) -> str:
    """A canonical column as the user reads it: "Account ID" for ``account_id`` (also a header the
    importers accept)."""
    return _TITLES.get(name, name.replace("_", " ").capitalize())


_SNAKE_COLUMNS = re.compile(r"\b(" + "|".join(sorted(
    (c.name for c in (*schema.MAPPABLE_ACCOUNT_SCHEMA, *schema.TERRITORY_SCHEMA) if "_" in c.name),
    key=len, reverse=True)) + r")\b")


def readable_columns(text: str) -> str:
    """``text`` (an importer note shared with the command line) with canonical column names such as
    ``territory_id`` written as the user reads them ("Territory ID"), and a capital first letter, for
    display only.

    >>> readable_columns("territory_id taken from 'Account Owner'")
    "Territory ID taken from 'Account Owner'"
    >>> readable_columns("revenue counted as 0 for 12 rows")
    'Revenue counted as 0 for 12 rows'
    """
    shown = _SNAKE_COLUMNS.sub(lambda m: column_title(m.group(1)), str(text))
    return shown[:1].upper() + shown[1:]


def schema_column_config(frame: pd.DataFrame) -> dict:
    """``st.dataframe`` column labels for the canonical columns: readable name plus unit, and the
    schema's description as the header tooltip ("Revenue (USD/year)", not ``revenue``)."""
    config = {}
    for column in (*schema.MAPPABLE_ACCOUNT_SCHEMA, *schema.TERRITORY_SCHEMA):
        if column.name in frame.columns and column.name not in config:
            title = column_title(column.name)
            unit = "°" if column.unit == "degrees" else column.unit
            label = f"{title} ({unit})" if unit else title
            if not pd.api.types.is_numeric_dtype(frame[column.name]) or pd.api.types.is_bool_dtype(frame[column.name]):
                config[column.name] = st.column_config.Column(label, help=column.description)
            else:  # thousands separators (revenue 6984295.84 read as 6,984,296), coordinates to 4 places
                config[column.name] = st.column_config.NumberColumn(
                    label, help=column.description, format="%.4f" if column.unit == "degrees" else "localized")
    return config


def alignment_caption(alignment: state.Alignment) -> str:
    """The alignment in use as the sidebar names it: "Q3 plan (since 09:05)", or "Rebalanced 09:05"
    alone (its name says when already)."""
    return alignment.name if alignment.created in alignment.name else f"{alignment.name} (since {alignment.created})"


def blank_missing(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` for ``st.dataframe`` with the text ``columns`` that hold nothing left out and the
    missing cells of the others blank (st.dataframe writes a missing cell as "None": a Rep column of
    "None" on every row when the territories are keyed by account owner and no reps file was loaded)."""
    present = [c for c in columns if c in frame]
    empty = [c for c in present if frame[c].astype("string").str.strip().replace("", pd.NA).isna().all()]
    fill = {c: "" for c in present if c not in empty}
    return frame.drop(columns=empty).astype({c: "string" for c in fill}).fillna(fill)


def territory_choice(territory_id: str, rep: object) -> str:
    """How a territory reads in a picker: "T01 · Laura Mitchell", or the ID alone without a rep
    (never "T01 · <NA>", as the Territories page's drill-down showed for an owner-based upload)."""
    return f"{territory_id} \u00b7 {rep}" if isinstance(rep, str) and rep.strip() else territory_id


MAIN_WIDTH_AT_1500_PX = 1030
"""Width of the page's main column in a 1500-px-wide window with the sidebar open (1,040 px measured
in headless Chromium, less a margin): what a table must fit without a horizontal scroll."""

MAIN_WIDTH_AT_1280_PX = 810
"""The same at 1280 px, a laptop's width (820 px measured): what a full-width table must fit."""

TERRITORY_TABLE_WIDTHS: dict[str, int] = {
    schema.REP_NAME: 120, "level_path": 124, schema.REGION: 65, "accounts": 66, schema.REVENUE: 105,
    schema.POTENTIAL: 115, schema.WORKLOAD_HOURS: 100, schema.CAPACITY_FTE: 42, "utilisation_pct": 98,
    "weighted_mean_distance_km": 88, "deviation_pct": 86, "pieces": 60,
}
"""Pixel widths of the Territories table's columns (each shows its header in full); the territory ID
and the top industry are as wide as their text (:func:`territory_table_widths`)."""


def territory_table_widths(table: pd.DataFrame) -> dict[str, int]:
    """{column: px} of every column the Territories table may show."""
    return {schema.TERRITORY_ID: text_width(table[schema.TERRITORY_ID], "Territory", 70),
            **TERRITORY_TABLE_WIDTHS,
            "top_industry": text_width(table["top_industry"].dropna().tolist() if "top_industry" in table else [],
                                       "Top industry", 120)}


def fragmented_territories(table: pd.DataFrame) -> list[str]:
    """IDs of the territories in more than one connected piece (none when the table has no pieces)."""
    if "pieces" not in table:
        return []
    return table.loc[pd.to_numeric(table["pieces"], errors="coerce") > 1, schema.TERRITORY_ID].astype(str).tolist()


def territory_table_columns(table: pd.DataFrame, levels: Sequence[str], balance_on: str,
                            width_px: int = MAIN_WIDTH_AT_1500_PX, left_out: Sequence[str] = ()) -> list[str]:
    """The columns the Territories table shows, so that it fits ``width_px`` without a horizontal scroll.

    Always: territory, rep, its level path (or region), accounts, revenue, potential, workload, FTE,
    utilisation and distance. Then, while they fit: the deviation (only when balancing on something
    other than workload; on workload it is utilisation - 100), the pieces (only when a territory is
    fragmented) and the top industry (also on the Industry mix tab). The download keeps every column.
    ``left_out``: columns with no data to show (revenue or potential not in the file: a column of zeros).
    """
    fragmented = bool(fragmented_territories(table))
    required = [schema.TERRITORY_ID, schema.REP_NAME, "level_path" if levels else schema.REGION, "accounts",
                schema.REVENUE, schema.POTENTIAL, schema.WORKLOAD_HOURS, schema.CAPACITY_FTE, "utilisation_pct",
                "weighted_mean_distance_km"]
    optional = (["deviation_pct"] if balance_on != "workload" else []) + (["pieces"] if fragmented else []) + [
        "top_industry"]
    widths = territory_table_widths(table)
    shown = [c for c in required if c in table and c not in left_out]
    for column in optional:
        if column in table and sum(widths[c] for c in shown) + widths[column] <= width_px:
            shown.append(column)
    return shown


def text_width(values: Sequence[object], label: str = "", min_px: int = 60, max_px: int = 220) -> int:
    """Pixel width for a text column that shows its longest value (or its label) in full: about 7.5 px
    a character of the table's 14 px font plus the cell's padding, between ``min_px`` and ``max_px``."""
    longest = max([len(label), *(len(str(v)) for v in values if v is not None and not pd.isna(v))])
    return int(min(max_px, max(min_px, round(7.5 * longest + 16))))


def with_text_widths(frame: pd.DataFrame, config: dict | None = None) -> dict:
    """``config`` (a ``column_config``) plus a width for every text column it leaves unset, wide enough
    for the column's longest value or header (a rep named "Marcus Zimmerman" was cut at 1,500 px)."""
    config = dict(config or {})
    for column in frame.columns:
        if column in config or not (pd.api.types.is_object_dtype(frame[column])
                                    or pd.api.types.is_string_dtype(frame[column])):
            continue
        config[column] = st.column_config.TextColumn(str(column), width=text_width(frame[column].tolist(), str(column)))
    return config


def table_height(rows: int, most: int = 760) -> int:
    """Pixel height of a table showing ``rows`` rows and its header with no empty row under them."""
    return min(35 * (rows + 1) + 3, most)


def overview_view(dataset, alignment, regions: Sequence[str] = (), industries: Sequence[str] = ()):
    """What the Overview shows for these filters: (accounts, labels, territories, view_key), or None
    when no account matches. One function for the page and for :func:`warm_overview`, so both build
    the same cache keys."""
    mask = filter_mask(dataset.accounts, alignment.labels, dataset.territories, regions, industries)
    if not mask.any():
        return None
    accounts = dataset.accounts[mask]
    labels = alignment.labels[mask]
    shown_ids = set(labels.dropna().astype(str))
    territories = dataset.territories[dataset.territories[schema.TERRITORY_ID].astype(str).isin(shown_ids)]
    view_key = f"{dataset.fingerprint}|{sorted(regions)}|{sorted(industries)}"
    return accounts, labels, territories, view_key


def overview_figures(dataset, alignment, view) -> tuple[pd.DataFrame, dict, tuple[str, ...] | None]:
    """(per-territory table, scorecard, counted types) of an Overview ``view``: the load counts the account
    types the alignment was balanced with (:func:`territory.ui.state.basis_of`), as the Territories and
    Rebalance pages count it; ``None`` types: every account counts. One function for the page and
    :func:`warm_overview`, so both use the same cache keys."""
    accounts, labels, territories, view_key = view
    basis = state.basis_of(alignment, dataset)
    counted, types = basis.mask(accounts), basis.counted_for(accounts)
    key = f"{view_key}|{types}"
    return (cached.territory_table(key, accounts[counted], labels[counted], territories, "workload"),
            cached.scorecard(key, accounts[counted], labels[counted], None, territories, "workload"), types)


def warm_overview(dataset, alignment) -> None:
    """Compute the Overview's per-territory table and scorecard (no filters) into the cache now.

    Called when a dataset becomes active (the Data page, which is already busy loading): at 100,000
    accounts these two took about 1.5 s on the Overview's first visit.
    """
    view = overview_view(dataset, alignment)
    if view is not None:
        overview_figures(dataset, alignment, view)


# --- layout pieces --------------------------------------------------------------------------------

APP_CSS = """
<style>
/* Less empty space above the page title; the sidebar carries the app's name and status. */
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; padding-bottom: 2rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
/* Map tooltips are plain text (maps.TOOLTIP); their first line is the title. */
.deck-tooltip::first-line { font-weight: 600; }
</style>
"""


def app_style() -> None:
    """App-wide CSS (spacing, KPI size). Called once per run by app.py, so every page looks alike."""
    st.html(APP_CSS)



def sidebar_status() -> None:
    """Sidebar block: the active dataset and the alignment in use (and a way back to the current one),
    undo and redo, and a one-off note about restoring the session."""
    dataset = state.get_dataset()
    alignment = state.get_alignment()
    with st.sidebar:
        note = st.session_state.pop(keys.SESSION_NOTE, None)
        if note:
            kind, text = note
            {"success": st.success, "info": st.info}.get(kind, st.warning)(md_escape(text))
        st.markdown("**Active dataset**")
        if dataset is None:
            st.caption("None yet: open the Data page.")
            return
        # the alignment in use decides the count (a new hire made active adds one to the file's table)
        n_territories = (int(alignment.labels.dropna().nunique()) if alignment is not None
                         else len(dataset.territories))
        st.caption(f"{md_escape(dataset.name)}  \n"
                   f"{len(dataset.accounts):,} accounts · {n_territories:,} territories")
        st.markdown("**Alignment in use**")
        if alignment is not None:
            st.caption(md_escape(alignment_caption(alignment)))
            if alignment.name != state.CURRENT_ALIGNMENT_NAME:
                st.button("Back to current alignment", key=keys.SIDEBAR_RESET_ALIGNMENT,
                          on_click=state.reset_alignment)
        undo_ui()


def undo_ui() -> None:
    """Undo / Redo of the session's steps (Make active, hand moves, events), each naming its step."""
    back, forward = state.undo_step(), state.redo_step()
    left, right = st.columns(2)
    left.button("Undo", key=keys.SIDEBAR_UNDO, on_click=state.undo, disabled=back is None, width="stretch",
                icon=":material/undo:", help=f"Undo: {md_escape(back.what)}" if back else "Nothing to undo.")
    right.button("Redo", key=keys.SIDEBAR_REDO, on_click=state.redo, disabled=forward is None, width="stretch",
                 icon=":material/redo:", help=f"Redo: {md_escape(forward.what)}" if forward else "Nothing to redo.")


def page_header(title: str, subtitle: str | None = None) -> None:
    """Page title with a one-line caption naming the dataset and alignment it shows."""
    st.title(title)
    dataset, alignment = state.get_dataset(), state.get_alignment()
    bits = []
    if subtitle:
        bits.append(subtitle)
    if dataset is not None:
        bits.append(f"Dataset: {md_escape(dataset.name)}")
    if alignment is not None:
        bits.append(f"Alignment: {md_escape(alignment.name)}")
    if bits:
        st.caption(" · ".join(bits))


def empty_state(message: str, page: str | None = "pages/data.py", label: str = "Go to Data") -> None:
    """A friendly explanation of what to do next, with a link to the page that fixes it."""
    st.info(message)
    if page:
        st.page_link(page, label=label, icon=":material/arrow_forward:")


# --- KPIs -----------------------------------------------------------------------------------------


def score_value(score: dict, measure: str, key: str) -> float:
    """Read one per-measure figure from ``territory.planning.metrics.scorecard`` output (nan when absent)."""
    flat = score.get(f"{measure}_{key}")
    if flat is None:
        block = score.get("measures", {}).get(measure) or score.get(measure)
        flat = block.get(key) if isinstance(block, dict) else None
    return float(flat) if flat is not None else float("nan")


def overview_kpis(accounts: pd.DataFrame, labels: pd.Series, score: dict,
                  counted_types: Sequence[str] | None = None) -> dict[str, float]:
    """The Overview headline numbers: counts from the accounts, sums from the ones of ``counted_types``
    (accounts shown apart carry no load), balance from the scorecard.

    Returns accounts, territories, revenue (USD/yr), workload_hours (h/yr), max_deviation_pct (%)
    and cv_pct (coefficient of variation of capacity-adjusted workload, %).
    """
    cv = score_value(score, "workload", "cv")
    counted = accounts[counted_mask(accounts, counted_types)]
    return {
        "accounts": int(len(accounts)),
        "territories": int(labels.dropna().nunique()),
        "revenue": float(pd.to_numeric(counted.get(schema.REVENUE), errors="coerce").sum()),
        "workload_hours": float(pd.to_numeric(counted.get(schema.WORKLOAD_HOURS), errors="coerce").sum()),
        "max_deviation_pct": score_value(score, "workload", "max_deviation_pct"),
        "cv_pct": cv * 100 if np.isfinite(cv) else cv,
    }


def worst_territory(table: pd.DataFrame) -> tuple[str, float] | None:
    """(territory_id, deviation %) of the territory furthest from its target, or None without one."""
    if "deviation_pct" not in table or table["deviation_pct"].dropna().empty:
        return None
    deviation = pd.to_numeric(table["deviation_pct"], errors="coerce")
    worst = deviation.abs().idxmax()
    return str(table.loc[worst, schema.TERRITORY_ID]), float(deviation.loc[worst])


def short_name(name: str, limit: int = 14) -> str:
    """A territory's name short enough for a metric's delta line: as it is when short, a person's
    initial and last name ("M. Zimmerman", as people shorten names), else cut with an ellipsis.

    >>> short_name("T06"), short_name("Marcus Zimmerman"), short_name("Northeast Enterprise Team")
    ('T06', 'M. Zimmerman', 'Northeast Ent…')
    """
    if len(name) <= limit:
        return name
    words = name.split()
    if len(words) == 2 and words[0][:1].isalpha():  # "First Last"; longer names may be teams
        initial = f"{words[0][0]}. {words[-1]}"
        if len(initial) <= limit:
            return initial
    return name[:limit - 1].rstrip() + "\u2026"


def estimate_text(shares: dict[str, float]) -> str:
    """'Estimated: workload for 100% of accounts, potential for 98%' (plain words, no column names)."""
    names = {schema.WORKLOAD_HOURS: "workload", schema.POTENTIAL: "potential"}
    parts = [f"{names[column]} for {share:.0%} of accounts" for column, share in shares.items()]
    return "Estimated by the rule, not from your file: " + ", ".join(parts) + "."


def data_notes(accounts: pd.DataFrame, counted: Sequence[str] | None = None, key: str = keys.NOTES) -> None:
    """Under a page's figures: which accounts they count (when the data has account types), how many
    have an unknown potential (no potential nor revenue in the file) and, when the importer estimated
    workload or potential, a note with the rule one click away."""
    if schema.ACCOUNT_TYPE in accounts:
        st.caption(md_escape(describe_counted(accounts, counted)))
    unknown = potential_unknown_share(accounts)
    if unknown:
        st.caption(f":material/help: Potential unknown for {unknown:.0%} of accounts: your file has neither potential "
                   "nor revenue for them, so their potential shows as 0"
                   + (" and nothing is balanced on it." if unknown == 1 else " (counted as 0 in totals).")
                   + " Map a potential or revenue column on the Data page to use it.")
    shares = estimated_shares(accounts)
    if shares:
        text_col, rule_col = st.columns([5, 1], vertical_alignment="center")
        text_col.caption(f":material/info: {estimate_text(shares)}")
        with rule_col.popover("The rule", icon=":material/function:", key=keys.child(key, "estimate_rule")):
            st.markdown(RULE_MARKDOWN)


def side_file_report(label: str, report, key: str) -> None:
    """One line of counts for a quota or opportunity file, and its rejected rows and warnings (row,
    field, reason) in an expander: rows read = loaded + rejected."""
    st.caption(f"{md_escape(label)}: {report.rows_read:,} rows read, {report.rows_loaded:,} loaded, "
               f"{report.rows_rejected:,} rejected, {len(report.warnings):,} warnings. "
               + " ".join(md_escape(n) for n in report.notes))
    issues = [("rejected", i) for i in report.rejected] + [("warning", i) for i in report.warnings]
    if issues:
        with st.expander(f"{md_escape(label)}: rejected rows and warnings ({len(issues):,})",
                         expanded=bool(report.rows_rejected)):
            st.dataframe(pd.DataFrame([{"Row": i.row, "Kind": kind, "ID": i.account_id,
                                        "Field": column_title(i.field) if i.field else "", "Reason": i.reason}
                                       for kind, i in issues]),
                         hide_index=True, width="stretch", key=key)


GEOGRAPHY_BUTTONS = {"geojson": ("Territory shapes (GeoJSON)", ":material/map:"),
                     "kml": ("Territory shapes (KML)", ":material/public:"),
                     "csv": ("ZIP -> territory (CSV)", ":material/pin_drop:")}


def no_shapes_note(instead: str) -> str:
    """What replaces the geography downloads for an alignment by owner, with where the assignment is
    (``instead``)."""
    from territory.reporting.boundaries import BY_OWNER

    return (f"No territory shapes or ZIP table: {BY_OWNER}, so they have no shapes, and a ZIP code holds "
            f"accounts of several of them. {instead}").strip()


def geography_downloads(accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame | None, *,
                        shapes_key: str, file_stem: str, key: str, units: str = "account",
                        instead: str = "") -> None:
    """Download buttons for the alignment as geography (the files of ``python -m territory geography``):
    GeoJSON and KML shapes, and every US ZIP with its territory. Built only when clicked; the shapes are
    cached under ``shapes_key`` (it must name the accounts and the alignment) and ``units`` (what the
    alignment keeps whole, as ``geography --units``: the same bytes as the CLI's). An alignment by owner,
    not drawn on a map (:func:`territory.reporting.boundaries.has_territory_shapes`), gets a note saying
    why there are none, ending with ``instead`` (where every account's territory is)."""
    from territory.reporting.boundaries import GEOGRAPHY_FORMATS, MIME_TYPES, geography_bytes

    if not cached.has_territory_shapes(shapes_key, accounts, labels):
        st.info(no_shapes_note(instead), icon=":material/map:")
        return

    def build(fmt: str):
        def data() -> bytes:
            shapes = cached.territory_shapes(shapes_key, accounts, labels, units)
            return geography_bytes(fmt, shapes, accounts, labels, territories)
        return data

    columns = st.columns(len(GEOGRAPHY_BUTTONS))
    for column, (fmt, (label, icon)) in zip(columns, GEOGRAPHY_BUTTONS.items()):
        column.download_button(label, build(fmt), f"{file_stem}_{'zips' if fmt == 'csv' else 'territories'}.{fmt}",
                               MIME_TYPES[fmt], key=keys.child(key, fmt), on_click="ignore", icon=icon,
                               width="stretch", help=GEOGRAPHY_FORMATS[fmt] + ".")
