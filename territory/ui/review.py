"""Widgets, cached wrappers and charts of the Quarterly review page (numbers come from territory.planning.review).

``*_ui`` functions draw widgets and return plain values; figure builders return plotly figures or
pydeck decks and hold no engine logic, so the page stays thin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st

from territory.data import schema
from territory.errors import ParameterError, TerritoryError
from territory.planning import hierarchy
from territory.planning.basis import Basis
from territory.planning.review import (
    ALL_ACCOUNTS,
    QuarterlyReview,
    ReviewSettings,
    account_trailing_bookings,
    build_review,
    default_capacity_note,
    far_rule_text,
    parse_usd,
    review_rollup,
    review_xlsx_bytes,
)
from territory.planning.scenarios import ScenarioError, ScenarioStore, apply_to_dataset, default_db_path
from territory.planning.whitespace import WhiteSpace, white_space
from territory.reporting import colors as tcolors
from territory.reporting.report import ReportInput, build_report
from territory.reporting.text import chart_escape, chart_labels, md_escape, short_usd
from territory.ui import cached, keys, state
from territory.ui.cached import labels_fingerprint
from territory.ui.components import charts, maps, widgets
from territory.ui.components.widgets import format_pct

FONT = {"family": "Source Sans Pro, sans-serif", "size": 13, "color": "#1c2430"}
SETTINGS_EXTRA_KEY = "review_settings"  # in state.Settings.extra: the review settings survive page changes
ALL_TERRITORIES = "All territories"
FOCUS_KEY = keys.REVIEW_FOCUS
BLEND_KEY = keys.REVIEW_BLEND
TOTAL_KEY = keys.REVIEW_TOTAL
ALIGNMENT_KEY = keys.REVIEW_ALIGNMENT
TERRITORIES_DRILL_KEY = keys.TERRITORIES_DRILL  # the Territories page's drill-down selectbox
JUMP_KEY = keys.REVIEW_JUMP_REQUESTED  # non-widget: a jump to the Territories page was requested

# Penetration classes (%), fixed so colours mean the same on every dataset; ColorBrewer YlGnBu.
PENETRATION_EDGES: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 30.0, 50.0)
PENETRATION_RAMP: tuple[tuple[int, int, int], ...] = (
    (255, 255, 204), (199, 233, 180), (127, 205, 187), (65, 182, 196), (29, 145, 192), (34, 94, 168),
)
NO_POTENTIAL_RGB = (200, 200, 200)
# White space classes are quintiles of the hexagons' white space (USD/yr, data-dependent); ColorBrewer YlOrRd.
WHITE_SPACE_RAMP: tuple[tuple[int, int, int], ...] = (
    (255, 255, 178), (254, 204, 92), (253, 141, 60), (240, 59, 32), (189, 0, 38),
)


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=FONT,
        plot_bgcolor="white", paper_bgcolor="white", hoverlabel={"bgcolor": "white"},
    )
    fig.update_xaxes(gridcolor="#ececec")
    fig.update_yaxes(gridcolor="#ececec", zerolinecolor="#cccccc")
    return fig


def usd(value: Any) -> str:
    """$31.20M / $450k / $900 (USD), "-" for no number."""
    return short_usd(value, 2, missing="-")


# --- cached computation ---------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _review(dataset_key: str, labels_key: str, settings: ReviewSettings, name: str, basis_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
            _accounts, _labels, _bookings, _territories, _quotas, _counted) -> QuarterlyReview:
    return build_review(_accounts, _labels, _bookings, _territories, settings, alignment_name=name, quotas=_quotas,
                        counted=_counted)


def cached_review(dataset: state.ActiveDataset, labels: pd.Series, settings: ReviewSettings,
                  name: str = "", basis: Basis | None = None) -> QuarterlyReview:
    """``territory.planning.review.build_review`` cached on the dataset fingerprint, the labels and the settings;
    its workload counts the account types of ``basis`` (default: the session's), as the other pages do."""
    basis = basis or state.session_basis(dataset)
    return _review(dataset.fingerprint, labels_fingerprint(labels), settings, name, repr(basis),
                   dataset.accounts, labels, dataset.bookings, dataset.territories, dataset.quotas,
                   basis.mask(dataset.accounts))


@st.cache_data(show_spinner=False, max_entries=16)
def _white_space(dataset_key: str, labels_key: str, _accounts, _labels, _bookings) -> WhiteSpace:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return white_space(_accounts, _labels, _bookings)


def cached_white_space(dataset: state.ActiveDataset, labels: pd.Series) -> WhiteSpace:
    """``territory.planning.whitespace.white_space`` cached on the dataset fingerprint and the labels."""
    return _white_space(dataset.fingerprint, labels_fingerprint(labels), dataset.accounts, labels, dataset.bookings)


def hunt_frame(hunt: pd.DataFrame) -> pd.DataFrame:
    """The "where to hunt" segments with readable headers (USD/yr rounded to whole dollars)."""
    return pd.DataFrame({
        "Area": hunt["area"], "Industry": hunt[schema.INDUSTRY], "Territory": hunt[schema.TERRITORY_ID],
        "Accounts": hunt["accounts"], "White space (USD/yr)": hunt["white_space"].round(0),
        "Potential (USD/yr)": hunt["potential"].round(0), "Captured (USD/yr)": hunt["captured"].round(0),
        "Share of all white space (%)": hunt["white_space_share_pct"], "Largest opening": hunt["top_account"],
    })


def white_space_summary_frame(summary: pd.DataFrame, key: str, title: str) -> pd.DataFrame:
    """A white space summary (by territory or industry) with readable headers."""
    return pd.DataFrame({
        title: summary[key], "Accounts": summary["accounts"], "White space (USD/yr)": summary["white_space"].round(0),
        "Penetration (%)": summary["penetration_pct"], "Share (%)": summary["white_space_share_pct"],
    })


WHITE_SPACE_CONFIG = {
    **{c: st.column_config.NumberColumn(c, format="localized") for c in (
        "White space (USD/yr)", "Potential (USD/yr)", "Captured (USD/yr)")},
    **{c: st.column_config.NumberColumn(c, format="%.1f%%") for c in (
        "Share of all white space (%)", "Penetration (%)", "Share (%)")},
}


def white_space_ui(ws: WhiteSpace, focus: str | None) -> None:
    """Where to hunt: the ranked segments (of the focused territory alone when focused), then the white
    space by territory and by industry."""
    captured = ("its trailing-4-quarter bookings" if ws.captured_from == "bookings" else "its revenue (USD/yr)")
    st.caption(f"White space = potential − what is captured ({captured}), per account and never below 0, "
               f"summed by segment: area (ZIP3, else the state) × industry. All accounts: {usd(ws.total)}/yr.")
    hunt = ws.hunt if focus is None else ws.hunt_in(focus)
    if len(hunt):
        st.dataframe(hunt_frame(hunt), hide_index=True, width="stretch", column_config=WHITE_SPACE_CONFIG,
                     key=keys.REVIEW_HUNT_TABLE)
    else:
        st.info("No white space: every account captures its potential.")
    if focus is None:
        left, right = st.columns(2)
        left.markdown("**White space by territory**")
        right.markdown("**White space by industry**")
        left.dataframe(white_space_summary_frame(ws.by_territory, schema.TERRITORY_ID, "Territory"),
                       hide_index=True, width="stretch", column_config=WHITE_SPACE_CONFIG,
                       key=keys.REVIEW_WHITE_SPACE_TERRITORIES)
        right.dataframe(white_space_summary_frame(ws.by_industry, schema.INDUSTRY, "Industry"),
                        hide_index=True, width="stretch", column_config=WHITE_SPACE_CONFIG,
                        key=keys.REVIEW_WHITE_SPACE_INDUSTRIES)


@st.cache_data(show_spinner=False, max_entries=8)
def _account_trailing(dataset_key: str, _accounts, _bookings) -> pd.Series:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return account_trailing_bookings(_accounts, _bookings)


def warm(dataset: state.ActiveDataset, active: state.Alignment) -> None:
    """Build the page's baseline review and per-account bookings into the cache now (when a dataset
    becomes active): at 100,000 accounts they took about 1.6 s on the page's first visit. Errors are
    left for the page to show."""
    if not has_bookings(dataset):
        return
    try:
        cached_review(dataset, active.labels, stored_settings(), active.name, state.basis_of(active, dataset))
        _account_trailing(dataset.fingerprint, dataset.accounts, dataset.bookings)
    except TerritoryError:
        pass


def capacity_note_ui(dataset: state.ActiveDataset) -> None:
    """A visible note when territories count as 1 FTE because the files gave no capacity (a CRM export)."""
    if dataset.default_capacity:
        st.info(md_escape(default_capacity_note(dataset.default_capacity, len(dataset.territories))),
                icon=":material/groups:")


def has_bookings(dataset: state.ActiveDataset) -> bool:
    """True when the dataset holds at least one booking row with the needed columns."""
    b = dataset.bookings
    return b is not None and len(b) > 0 and all(c in b.columns for c in schema.BOOKING_COLUMNS)


# --- alignment choice -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChosenAlignment:
    labels: pd.Series  # on dataset.accounts.index
    name: str
    basis: Basis  # what its figures count: a what-if's or scenario's own, else the session's
    note: str | None = None


@st.cache_data(show_spinner=False, ttl=30)
def _store_names(path: str) -> tuple[list[str], str | None]:
    try:
        return ScenarioStore(path).names(), None
    except (ScenarioError, OSError) as error:
        return [], str(error)


def _store_path() -> str:
    return str(default_db_path())


def alignment_ui(dataset: state.ActiveDataset, active: state.Alignment) -> ChosenAlignment:
    """Selectbox: the active alignment, the ones made active earlier this session, or scenarios of the store."""
    options: dict[str, tuple[str, str]] = {f"Active: {active.name}": ("active", active.name)}
    earlier = state.earlier_alignments()
    for name in earlier:
        options[f"Made active earlier: {name}"] = ("earlier", name)
    names, error = _store_names(_store_path())
    for name in names:
        options[f"Scenario: {name}"] = ("store", name)
    label = st.selectbox(
        "Alignment to review", list(options), key=ALIGNMENT_KEY,
        help="Bookings follow each account to the territory this alignment gives it, so a proposed "
        "alignment shows how its territories would have performed. *Made active earlier* lists the "
        "alignments this session used before (Undo goes back to them); save one as a scenario to keep it.",
    )
    kind, name = options[label]
    if kind == "active":
        return ChosenAlignment(active.labels, active.name, state.basis_of(active, dataset),
                               None if not error else f"Scenario store: {error}")
    if kind == "earlier":
        return ChosenAlignment(earlier[name], name, state.session_basis(dataset))

    try:
        scenario = ScenarioStore(_store_path()).load(name)
    except ScenarioError as err:
        return ChosenAlignment(active.labels, active.name, state.basis_of(active, dataset),
                               f"Could not open scenario {name!r}: {err}")
    labels, diff = apply_to_dataset(scenario, dataset.accounts)
    return ChosenAlignment(labels, f"Scenario {name}", state.scenario_basis(scenario.params, dataset),
                           None if diff.matches else diff.describe())


def focus_ui(territory_ids: list[str], reps: dict[str, Any]) -> str | None:
    """Selectbox that narrows the page to one territory; None = all."""
    choice = st.selectbox(
        "Focus on territory", [ALL_TERRITORIES, *territory_ids], key=FOCUS_KEY,
        format_func=lambda t: t if t == ALL_TERRITORIES else widgets.territory_choice(t, reps.get(t)),
        help="Filter the trend, flags, map and 80/20 to one territory (pick a flagged one to look into it).",
    )
    return None if choice == ALL_TERRITORIES else choice


# --- settings -------------------------------------------------------------------------------------


def stored_settings() -> ReviewSettings:
    """The review settings kept in the shared session settings (defaults on first visit)."""
    value = state.get_settings().extra.get(SETTINGS_EXTRA_KEY)
    return value if isinstance(value, ReviewSettings) else ReviewSettings()


def quota_controls_ui(default_total: int, next_q: str | None, potential_known: bool = True) -> ReviewSettings:
    """Quota total, blend slider and flag thresholds; returns the settings (stored for other visits).

    Without a known potential (``potential_known`` False: no potential nor revenue in the file) the
    blend is held at 0% (quotas follow bookings only) and its slider says why; the stored weight is
    left as it was for the next dataset."""
    saved = stored_settings()
    total0 = saved.quota_total if saved.quota_total is not None else float(default_total)
    c1, c2, c3 = st.columns([1, 1, 1])
    typed = c1.text_input(
        f"Quota total for {next_q or 'next quarter'} (USD)", value=f"{total0:,.0f}", key=TOTAL_KEY,
        help=f"Default: bookings of the same quarter a year earlier + {saved.default_growth_pct:g}%. "
        "Type it like 31,192,503 or 31.2M.",
    )
    try:
        total = parse_usd(typed)
    except ParameterError as error:
        c1.error(f"{md_escape(error)}; the quota stays at {total0:,.0f} USD.")
        total = float(total0)
    blend = c2.slider(
        "Quota blend: weight on potential (%), the rest on recent bookings", min_value=0, max_value=100,
        value=int(round(saved.potential_weight * 100)) if potential_known else 0, step=5, key=BLEND_KEY,
        disabled=not potential_known,
        help="share = w x potential share + (1 - w) x trailing-4-quarter bookings share. 0% = quotas follow "
        "recent bookings only; 100% = quotas follow potential only."
        + ("" if potential_known else " Held at 0%: potential is unknown for every account (the file has "
           "neither potential nor revenue)."),
    )
    blend = blend if potential_known else 0  # a value kept from another dataset's visit does not count
    forecast_weight = c3.slider(
        "Bookings side: weight on next quarter's forecast (%)", min_value=0, max_value=100,
        value=int(round(saved.forecast_weight * 100)), step=5, key=keys.REVIEW_FORECAST_WEIGHT,
        help="The bookings side of the blend = (1 - f) x trailing-4-quarter bookings share + f x next quarter's "
        "forecast share (the forecast below). 0% = recent bookings only.",
    )
    with st.expander("Flag thresholds", expanded=False):
        t1, t2, t3, t4 = st.columns(4)
        utilisation = t1.number_input(
            "Over capacity above (% of team average per FTE)", 100.0, 1000.0, float(saved.max_utilisation_pct), 5.0,
            format="%.0f", key=keys.REVIEW_MAX_UTILISATION,
            help="A territory is over capacity when its workload per FTE is above this share of the team's "
            "average workload per FTE: the same basis the balancing evens out.")
        max_acc = t2.number_input("Max accounts per FTE", 1.0, 10_000.0, float(saved.max_accounts_per_fte), 10.0,
                                  format="%.0f", key=keys.REVIEW_MAX_ACCOUNTS)
        far = t3.number_input(
            "Far from rep home: at least (km)", 1.0, 5000.0, float(saved.far_km), 25.0, format="%.0f",
            key=keys.REVIEW_FAR_KM,
            help="An account is far when it is farther from its rep's home than the larger of this distance "
            "and the reach factor (next) x its territory's reach. With the factor at 0 this distance alone applies.")
        reach = t4.number_input(
            "Far: x the territory's reach", 0.0, 20.0, float(saved.far_reach_factor), 0.5, format="%.1f",
            key=keys.REVIEW_FAR_REACH_FACTOR,
            help="A territory's reach is the distance from the rep's home within which 90% of its workload lies. "
            "Accounts beyond this many times the reach (and beyond the km at left) are flagged, so a territory "
            "that is wide by design is flagged only for its outliers. 2 is the rule the rebalancing keeps moved "
            "accounts within; 0 = the km alone.")
        u1, u2, u3, u4 = st.columns(4)
        ratio = u1.number_input("High potential (x average)", 0.1, 10.0, float(saved.high_potential_ratio), 0.05,
                                format="%.2f", key=keys.REVIEW_HIGH_POTENTIAL)
        low = u2.number_input("Low penetration (%)", 0.0, 100.0, float(saved.low_penetration_pct), 1.0,
                              format="%.1f", key=keys.REVIEW_LOW_PENETRATION)
        vs_pot = u3.number_input("Max quota / quarter potential (%)", 0.0, 1000.0,
                                 float(saved.max_quota_vs_potential_pct), 5.0, format="%.0f",
                                 key=keys.REVIEW_MAX_VS_POTENTIAL)
        vs_last = u4.number_input("Max quota / last bookings (%)", 0.0, 10_000.0, float(saved.max_quota_vs_last_pct),
                                  5.0, format="%.0f", key=keys.REVIEW_MAX_VS_LAST)
    settings = replace(
        saved,
        quota_total=None if float(total) == float(default_total) and saved.quota_total is None else float(total),
        potential_weight=blend / 100.0, forecast_weight=forecast_weight / 100.0,
        max_utilisation_pct=float(utilisation), max_accounts_per_fte=float(max_acc), far_km=float(far),
        far_reach_factor=float(reach), high_potential_ratio=float(ratio), low_penetration_pct=float(low),
        max_quota_vs_potential_pct=float(vs_pot), max_quota_vs_last_pct=float(vs_last),
    )
    stored = settings if potential_known else replace(settings, potential_weight=saved.potential_weight)
    if stored != saved:
        state.update_settings(**{SETTINGS_EXTRA_KEY: stored})
    return settings


# --- charts ---------------------------------------------------------------------------------------


def quota_chart(table: pd.DataFrame, colors: dict[str, str], latest_q: str | None, next_q: str | None,
                focus: str | None = None, height: int = 340) -> go.Figure:
    """Suggested quota per territory (bars, territory colours) with the latest quarter's bookings (markers)."""
    ids = table[schema.TERRITORY_ID].astype(str).tolist()
    bar_colors = [colors.get(t, tcolors.UNASSIGNED_COLOR) if focus in (None, t) else "#dddddd" for t in ids]
    ticks = chart_labels(ids)  # plotly reads HTML in category labels: the IDs are shown as typed
    fig = go.Figure()
    fig.add_bar(
        x=ticks, y=table["quota"].to_numpy(dtype=float), marker_color=bar_colors, name=f"Quota {next_q or ''}",
        customdata=np.c_[table["quota_share_pct"].to_numpy(dtype=float),
                         table["quota_vs_last_pct"].to_numpy(dtype=float)],
        hovertemplate="<b>%{x}</b><br>quota $%{y:,.0f} (%{customdata[0]:.1f}% of total)"
        "<br>%{customdata[1]:.0f}% of latest quarter's bookings<extra></extra>",
    )
    fig.add_scatter(
        x=ticks, y=table["bookings_last_quarter"].to_numpy(dtype=float), mode="markers",
        marker={"symbol": "diamond", "size": 9, "color": "#1c2430"}, name=f"Bookings {latest_q or ''}",
        hovertemplate="<b>%{x}</b><br>booked $%{y:,.0f}<extra></extra>",
    )
    fig.update_xaxes(title_text="Territory", type="category")
    fig.update_yaxes(title_text="USD per quarter", tickprefix="$", tickformat="~s")
    fig.update_layout(legend={"orientation": "h", "y": 1.08, "x": 0})
    return _layout(fig, height)


def attainment_chart(table: pd.DataFrame, colors: dict[str, str], latest_q: str | None,
                     focus: str | None = None, height: int = 360) -> go.Figure:
    """Attainment (% of the imported quota, else of the quota the rule would have set) per territory, 100% line."""
    ids = table[schema.TERRITORY_ID].astype(str).tolist()
    attainment = table["attainment_pct"].to_numpy(dtype=float)
    bar_colors = [colors.get(t, tcolors.UNASSIGNED_COLOR) if focus in (None, t) else "#dddddd" for t in ids]
    fig = go.Figure()
    fig.add_bar(
        x=chart_labels(ids), y=attainment, marker_color=bar_colors, name=f"Attainment {latest_q or ''}",
        customdata=np.c_[table["bookings_last_quarter"].to_numpy(dtype=float),
                         table["attainment_quota"].to_numpy(dtype=float)],
        hovertemplate="<b>%{x}</b><br>booked $%{customdata[0]:,.0f} of $%{customdata[1]:,.0f}"
        " (%{y:.0f}%)<extra></extra>",
        showlegend=False,
    )
    fig.add_hline(y=100, line_color="#d62728", line_dash="dash", line_width=1.5)  # quota met
    top = np.nanmax(attainment, initial=100.0)
    fig.update_xaxes(title_text="Territory", type="category")
    fig.update_yaxes(title_text=f"Attainment {latest_q or ''} (% of quota)", ticksuffix="%", range=[0, top * 1.15])
    return _layout(fig, height)


PARETO_SIDE_LEGEND_MAX = 10
"""Curves whose legend fits beside the 80/20 chart; more go in rows under it."""
PARETO_LEGEND_PER_ROW = 7


def pareto_figure(curves: pd.DataFrame, colors: dict[str, str], focus: str | None = None,
                  height: int = 360) -> go.Figure:
    """80/20 curves: all accounts (thick, dark) and each territory (its colour; only the focus when set).

    Each curve is thinned to ``charts.MAX_CURVE_POINTS`` points (one per account was 5 MB at 100,000)."""
    fig = go.Figure()
    scopes = [s for s in curves["scope"].unique() if s != ALL_ACCOUNTS]
    if focus is not None:
        scopes = [s for s in scopes if s == focus]
    for scope in scopes:
        c = charts.thin_curve(curves[curves["scope"] == scope])  # <= 400 points per curve (100k accounts)
        fig.add_scatter(
            x=c["account_share"] * 100, y=c["value_share"] * 100, mode="lines", name=chart_escape(scope),
            line={"color": colors.get(str(scope), tcolors.UNASSIGNED_COLOR), "width": 2.5 if focus else 1.2},
            opacity=1.0 if focus else 0.65,
            hovertemplate=f"<b>{chart_escape(scope)}</b>: top %{{x:.0f}}% of accounts bring %{{y:.0f}}% of "
            "revenue<extra></extra>",
        )
    c = charts.thin_curve(curves[curves["scope"] == ALL_ACCOUNTS])
    fig.add_scatter(
        x=c["account_share"] * 100, y=c["value_share"] * 100, mode="lines", name=ALL_ACCOUNTS,
        line={"color": "#1c2430", "width": 3.5},
        hovertemplate="<b>All accounts</b>: top %{x:.0f}% bring %{y:.0f}% of revenue<extra></extra>",
    )
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="equal share",
                    line={"color": "#aaaaaa", "dash": "dot"}, hoverinfo="skip")
    fig.add_vline(x=20, line_color="#d62728", line_dash="dash", line_width=1)
    fig.update_xaxes(title_text="Share of accounts, largest revenue first (%)", range=[0, 100], ticksuffix="%")
    fig.update_yaxes(title_text="Cumulative share of revenue (%)", range=[0, 101], ticksuffix="%")
    if len(scopes) <= PARETO_SIDE_LEGEND_MAX:
        fig.update_layout(legend={"title": {"text": "Scope"}})
        return _layout(fig, height)
    # twenty territories overflowed a legend beside the chart (cut at T14 at 1,500 px): below it, in rows
    rows = math.ceil((len(scopes) + 2) / PARETO_LEGEND_PER_ROW)
    fig = _layout(fig, height + 24 * rows)
    fig.update_layout(legend={"title": {"text": "Scope"}, "orientation": "h", "yanchor": "top", "y": -0.16,
                              "x": 0, "xanchor": "left", "entrywidth": 70},
                      margin={"l": 10, "r": 10, "t": 10, "b": 50 + 24 * rows})
    return fig


# --- penetration map ------------------------------------------------------------------------------


def _penetration_class(pct: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(PENETRATION_EDGES[1:]), pct, side="right"), 0, len(PENETRATION_RAMP) - 1)


def white_space_edges(values: np.ndarray) -> list[float]:
    """Lower edges of the white space classes (USD/yr): 0, then the quintiles of the positive values."""
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size:
        return [0.0]
    inner = np.unique(np.quantile(positive, [0.2, 0.4, 0.6, 0.8]))
    return [0.0, *[float(v) for v in inner if v > 0]][: len(WHITE_SPACE_RAMP)]


def penetration_cells(accounts: pd.DataFrame, trailing: pd.Series, resolution: int,
                      white: pd.Series | None = None) -> pd.DataFrame:
    """Per H3 cell: trailing-4-quarter bookings, potential (USD/yr), penetration (%), colour, tooltip.

    With ``white`` (white space per account, USD/yr) the cells also sum it and are coloured by it."""
    import h3

    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    pot = pd.to_numeric(accounts.get(schema.POTENTIAL, pd.Series(0.0, index=accounts.index)), errors="coerce")
    ok = np.isfinite(lat) & np.isfinite(lon)
    frame = pd.DataFrame({
        "hex": [h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat[ok], lon[ok])],
        "bookings": trailing.to_numpy(dtype=float)[ok],
        "potential": pot.fillna(0.0).to_numpy(dtype=float)[ok],
        "white_space": (white.reindex(accounts.index).to_numpy(dtype=float) if white is not None
                        else np.zeros(len(accounts)))[ok],
    })
    cells = frame.groupby("hex", sort=True).agg(
        bookings=("bookings", "sum"), potential=("potential", "sum"), accounts=("bookings", "size"),
        white_space=("white_space", "sum"),
    ).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(cells["potential"] > 0, cells["bookings"] / cells["potential"] * 100, np.nan)
    cells["penetration"] = pct
    if white is not None:
        edges = white_space_edges(cells["white_space"].to_numpy(dtype=float))
        cls = np.searchsorted(np.asarray(edges[1:]), cells["white_space"].to_numpy(dtype=float), side="right")
        cells["color"] = [[*(WHITE_SPACE_RAMP[c] if w > 0 else NO_POTENTIAL_RGB), 200]
                          for c, w in zip(cls, cells["white_space"])]
    else:
        cls = _penetration_class(np.nan_to_num(pct, nan=0.0))
        cells["color"] = [
            [*(PENETRATION_RAMP[c] if np.isfinite(p) else NO_POTENTIAL_RGB), 200] for c, p in zip(cls, pct)
        ]
    # Plain text, one line per figure: the map's tooltip is written with innerText (see maps.TOOLTIP).
    cells["tip"] = [
        (f"White space {usd(w)}/yr\n" if white is not None else "")
        + (f"Penetration {p:.1f}%\nBookings (trailing 4Q): {usd(b)}\nPotential: {usd(q)}/yr\n"
           if np.isfinite(p) else "No potential recorded\n")
        + f"{n:,} account{'s' if n != 1 else ''} in this hexagon"
        for p, b, q, n, w in zip(pct, cells["bookings"], cells["potential"], cells["accounts"], cells["white_space"])
    ]
    return cells


def _swatch(rgb: tuple[int, int, int], text: str) -> str:
    return (f"<div><span style='display:inline-block;width:14px;height:10px;background:rgb{rgb};"
            f"border:1px solid #bbb;margin-right:6px'></span>{maps.esc(text)}</div>")


def penetration_legend(resolution: int, territory_ids: list[str], colors: dict[str, str],
                       territories: pd.DataFrame | None, note: str | None = None, show_homes: bool = True,
                       show_territories: bool = True, white_edges: list[float] | None = None) -> str:
    """Escaped legend: penetration classes (white space classes with ``white_edges``), then the territory
    outline colours (left out, with ``show_territories=False``, when no outline or home base is drawn in
    them: only the note stays)."""
    parts = ['<div style="font-size:12px;line-height:1.45;">']
    if white_edges is not None:
        parts += ["<div style='font-weight:600;margin-bottom:2px'>White space per hexagon (USD/yr)</div>",
                  "<div style='color:#555;margin-bottom:3px'>potential not yet captured; classes are "
                  "quintiles</div>"]
        bounds = [*white_edges, None]
        for i, lo in enumerate(white_edges):
            hi = bounds[i + 1]
            parts.append(_swatch(WHITE_SPACE_RAMP[i], f"{usd(lo)} - {usd(hi)}" if hi is not None
                                 else f"{usd(lo)} and more"))
        parts.append(_swatch(NO_POTENTIAL_RGB, "none"))
    else:
        parts += ["<div style='font-weight:600;margin-bottom:2px'>Penetration per hexagon (%)</div>",
                  "<div style='color:#555;margin-bottom:3px'>trailing-4-quarter bookings / potential</div>"]
        edges = list(PENETRATION_EDGES) + [None]
        for i, rgb in enumerate(PENETRATION_RAMP):
            lo, hi = edges[i], edges[i + 1]
            parts.append(_swatch(rgb, f"{lo:g} - {hi:g}%" if hi is not None else f"{lo:g}% and more"))
        parts.append(_swatch(NO_POTENTIAL_RGB, "no potential"))
    parts.append(f"<div style='color:#777;margin-bottom:6px'>{maps.hexagon_size_text(resolution)}</div>")
    if show_territories or show_homes:
        parts.append(maps.legend_html(territory_ids, colors, territories, show_homes=show_homes, note=note))
    elif note:
        parts.append(f"<div style='color:#a15c00;margin-top:6px'>{maps.esc(note)}</div>")
    parts.append("</div>")
    return "".join(parts)


def penetration_map(dataset: state.ActiveDataset, labels: pd.Series, colors: dict[str, str],
                    focus: str | None = None, height: int = 480,
                    width: int = maps.FRAME_WIDTH_PX, white: pd.Series | None = None) -> maps.MapView | None:
    """Offline pydeck map: H3 hexagons coloured by penetration (by white space, USD/yr per account on
    ``dataset.accounts.index``, when ``white`` is given), territory outlines, rep home bases."""
    accounts = dataset.accounts
    if schema.LATITUDE not in accounts or schema.LONGITUDE not in accounts:
        return None
    trailing = _account_trailing(dataset.fingerprint, accounts, dataset.bookings)
    labels = labels.reindex(accounts.index).astype("string")
    shapes = cached.territory_shapes(f"{dataset.fingerprint}|{cached.labels_fingerprint(labels)}", accounts, labels)
    if focus is not None:
        keep = (labels == focus).fillna(False).to_numpy()
        accounts, labels, trailing = accounts[keep], labels[keep], trailing[keep]
        white = white[keep] if white is not None else None
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(lat).any():
        return None
    span = max(np.nanmax(lon) - np.nanmin(lon), np.nanmax(lat) - np.nanmin(lat))
    resolution = 3 if span > 20 else 4 if span > 6 else 5 if span > 1.5 else 6
    cells = penetration_cells(accounts, trailing, resolution, white)
    rgb = {k: tcolors.hex_to_rgb(v) for k, v in colors.items()}
    layers = []

    try:
        states_geojson = cached.us_states_geojson()
    except OSError:
        states_geojson = None
    country = accounts[schema.COUNTRY].astype("string").str.upper().fillna("US") if schema.COUNTRY in accounts else None
    if states_geojson is not None and (country is None or (country == "US").any()):
        layers.extend(maps.state_layers(maps.land_around(states_geojson, lon, lat), prefix="review-"))
    layers.append(pdk.Layer("H3HexagonLayer", data=cells[["hex", "color", "tip"]], id="review-penetration",
                            get_hexagon="hex", get_fill_color="color", extruded=False, filled=True,
                            stroked=False, pickable=True))  # no cell borders: a PathLayer is slow to draw
    hulls, outline_note = maps.territory_polygons(accounts, labels, rgb, dataset.territories, shapes)
    if len(hulls):
        layers.append(maps.boundary_layer(hulls, id="review-outlines", width_px=2))
    territories = dataset.territories
    if focus is not None and territories is not None:
        territories = territories[territories[schema.TERRITORY_ID].astype(str) == focus]
    homes = maps.home_bases(territories, rgb)
    view_state = maps.view_for(lat, lon, width, height)
    if len(homes):
        layers.append(pdk.Layer("ScatterplotLayer", data=homes, id="review-homes", get_position=["lon", "lat"],
                                get_fill_color=[255, 255, 255, 255], get_line_color="color", stroked=True,
                                filled=True, get_radius=8000, radius_min_pixels=6, radius_max_pixels=9,
                                get_line_width=2500, line_width_min_pixels=3, line_width_max_pixels=3,
                                pickable=True))
    layers.extend(maps.label_layers(accounts, labels, territories, shapes if len(hulls) else None, view_state.zoom,
                                    homes, "review-"))
    deck = pdk.Deck(
        layers=layers,
        initial_view_state=view_state,
        map_provider=None,  # offline: no basemap request (map_style deliberately left unset)
        tooltip=maps.TOOLTIP,
    )
    missing = int((~(np.isfinite(lat) & np.isfinite(lon))).sum())
    note = maps.join_notes(outline_note, f"{missing:,} accounts without coordinates are not on the map." if missing
                           else None)
    ids = tcolors.all_territory_ids(None, labels)
    legend = penetration_legend(resolution, ids, colors, territories, note, show_homes=len(homes) > 0,
                                show_territories=len(hulls) > 0,
                                white_edges=white_space_edges(cells["white_space"].to_numpy(dtype=float))
                                if white is not None else None)
    return maps.MapView(deck=deck, legend_html=legend, note=note, points_shown=len(cells),
                        points_total=len(accounts))


# --- tables ---------------------------------------------------------------------------------------


def performance_frame(review: QuarterlyReview) -> pd.DataFrame:
    """Per-territory performance for st.dataframe (units in the column config)."""
    t = review.table
    return widgets.blank_missing(pd.DataFrame({
        "Territory": t[schema.TERRITORY_ID], "Rep": t[schema.REP_NAME], **level_column(review, t),
        # to the decimal shown, plus 0.0: -0.007% reads 0.0%, not -0.0% (T19 on the sample)
        "Bookings last": t["bookings_last_quarter"].round(0), "QoQ": t["qoq_pct"].round(1) + 0.0,
        "YoY": t["yoy_pct"].round(1) + 0.0,
        "Trailing 4Q": t["trailing_4q"].round(0), "Potential": t[schema.POTENTIAL].round(0),
        "Penetration": t["penetration_pct"],
        "Attainment": t["attainment_pct"], "Quota source": t["quota_source"],
    }), ["Rep"])


def performance_config(latest_q: str | None) -> dict:
    nc = st.column_config.NumberColumn
    return {
        "Bookings last": nc(f"Bookings {latest_q} (USD)", format="localized"),
        "QoQ": nc("QoQ growth (%)", format="%.1f%%"),
        "YoY": nc("YoY growth (%)", format="%.1f%%"),
        "Trailing 4Q": nc("Trailing 4Q bookings (USD)", format="localized"),
        "Potential": nc("Potential (USD/yr)", format="localized"),
        "Penetration": nc("Penetration (%)", format="%.1f%%"),
        "Attainment": nc(f"Attainment {latest_q} (%)", format="%.0f%%",
                         help=f"Bookings in {latest_q} as % of its imported quota, or of the quota the rule would "
                         "have set for it (Quota source)."),
        "Quota source": st.column_config.TextColumn("Quota source", help="imported: from the quota file; rule: "
                                                    "the quota this page's rule would have set."),
    }


def display_config(table: pd.DataFrame) -> dict:
    """Formats for ``display_table``: USD and hours with separators, percentages to one decimal."""
    nc = st.column_config.NumberColumn
    config: dict[str, Any] = {}
    for column in table.columns:
        if "(USD" in column or "(h/yr)" in column or column == "Accounts":
            config[column] = nc(column, format="localized")
        elif "(%)" in column:
            config[column] = nc(column, format="%.1f%%")
    return config


def attainment_note(review: QuarterlyReview) -> str:
    """What the attainment is measured against: imported quotas, the rule's, or both."""
    latest, imported, n = review.latest_quarter, review.imported_quotas, len(review.table)
    rule = (f"the quota this page's rule would have set for {latest} (same blend, data up to the quarter before, "
            f"total = what the team booked in {latest})")
    if imported == n:
        text = f"Attainment is measured against the imported {latest} quotas of all {n:,} territories."
    elif imported:
        text = (f"Attainment is measured against the imported {latest} quota for {imported:,} of {n:,} territories "
                f"and against {rule} for the others (Quota source in the table).")
    else:
        text = f"No quota file gives {latest} quotas, so attainment is measured against {rule}."
    return text + " Dashed red line: quota met (100%)."


def quota_frame(review: QuarterlyReview) -> pd.DataFrame:
    t = review.table
    return pd.DataFrame({
        "Territory": t[schema.TERRITORY_ID], **level_column(review, t),
        "Quota": t["quota"].astype("Int64"), "Share": t["quota_share_pct"],
        "Quota / potential": t["quota_vs_potential_pct"], "Quota / last": t["quota_vs_last_pct"],
    })


def quota_config(next_q: str | None, latest_q: str | None) -> dict:
    """Column titles, units and pixel widths of the quota table (the territory and its level path get theirs
    from :func:`territory.ui.components.widgets.with_text_widths`): each number column is as wide as its
    title, so the table fits the page without a sideways scroll (:data:`widgets.MAIN_WIDTH_AT_1280_PX`)."""

    def number(title: str, fmt: str, help_text: str):
        return st.column_config.NumberColumn(title, format=fmt, help=help_text, width=widgets.text_width([], title))

    return {
        "Quota": number(f"Quota {next_q} (USD)", "localized", f"The territory's quota for {next_q}."),
        "Share": number("Share (%)", "%.1f%%", "Share of the quota total."),
        "Quota / potential": number("vs potential (%)", "%.0f%%",
                                    "Quota as % of one quarter of the territory's annual potential."),
        "Quota / last": number(f"vs {latest_q} (%)", "%.0f%%",
                               f"Quota as % of the territory's bookings in {latest_q}."),
    }


def rollup_ui(review: QuarterlyReview, territories: pd.DataFrame | None) -> None:
    """Quota, bookings and attainment summed up to regions or districts (the levels the file has)."""
    levels = hierarchy.levels_in(territories)
    if not levels:
        return
    st.markdown("**By level**")
    level = (st.radio("Level", levels, format_func=str.capitalize, horizontal=True, key=keys.REVIEW_ROLLUP_LEVEL,
                      label_visibility="collapsed") if len(levels) > 1 else levels[0])
    table = review_rollup(review, territories, level).round(
        {schema.POTENTIAL: 0, "bookings_last_quarter": 0, "trailing_4q": 0})  # whole dollars, as in the other tables
    nc = st.column_config.NumberColumn
    latest, nxt = review.latest_quarter, review.next_quarter
    st.dataframe(
        table, hide_index=True, width="stretch", key=keys.REVIEW_ROLLUP_TABLE,
        column_config={
            "region": st.column_config.TextColumn("Region"),
            "district": st.column_config.TextColumn("District"),
            "territories": nc("Territories"),
            schema.POTENTIAL: nc("Potential (USD/yr)", format="localized"),
            "bookings_last_quarter": nc(f"Bookings {latest} (USD)", format="localized"),
            "trailing_4q": nc("Trailing 4 quarters (USD)", format="localized"),
            "quota": nc(f"Quota {nxt} (USD)", format="localized",
                        help="Split top-down: the team's total over regions, each region's over its districts, each "
                             "district's over its territories, so every level adds up exactly to its parent."),
            "attainment_pct": nc(f"Attainment {latest} (%)", format="%.0f%%",
                                 help="The level's bookings against the sum of the quotas its territories were "
                                      "measured on."),
        },
    )


def kpis_ui(review: QuarterlyReview, focus: str | None) -> pd.DataFrame:
    """Five KPIs (quota total, latest bookings with QoQ, YoY, penetration, flags); returns the flags shown."""
    table = review.table
    shown = table if focus is None else table[table[schema.TERRITORY_ID] == focus]
    latest, nxt = review.latest_quarter, review.next_quarter
    booked, previous, year_ago = (float(shown[c].sum()) for c in
                                  ("bookings_last_quarter", "bookings_previous_quarter", "bookings_year_ago"))
    potential = float(shown[schema.POTENTIAL].sum())
    flags = review.flags if focus is None else review.flags[review.flags[schema.TERRITORY_ID] == focus]
    k = st.columns(5)
    if focus is None:
        k[0].metric(f"Quota total {nxt} (USD)", usd(review.quota_total),
                    help="Exactly the sum of the territory quotas below (whole dollars), for the whole team.")
    else:
        k[0].metric(f"Quota {md_escape(focus)} {nxt} (USD)", usd(shown["quota"].sum()),
                    help=f"This territory's share of the team total {usd(review.quota_total)}.")
    k[1].metric(f"Bookings {latest} (USD)", usd(booked),
                delta=f"{(booked / previous - 1) * 100:+.1f}% QoQ" if previous > 0 else None)
    k[2].metric("YoY growth (%)", format_pct((booked / year_ago - 1) * 100) if year_ago > 0 else "-",
                help=f"{latest} against the same quarter a year earlier.")
    k[3].metric("Penetration (%)", format_pct(shown["trailing_4q"].sum() / potential * 100) if potential else "-",
                help="Trailing-4-quarter bookings / annual potential.")
    k[4].metric("Flags", f"{len(flags):,}",
                help=f"{flags[schema.TERRITORY_ID].nunique():,} territories with at least one flag.")
    return flags


def _value_text(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "no base (0)"
    if unit == "%":
        return f"{value:,.1f}%"
    return f"{value:,.0f} {unit}"


def level_column(review: QuarterlyReview, rows: pd.DataFrame) -> dict[str, Any]:
    """``{"Region › District": path per row}`` for a frame of ``rows`` (each with a territory_id), to
    spread into a display frame after the territory; {} when the territories file has no levels."""
    if not review.level_header:
        return {}
    paths = review.table.set_index(review.table[schema.TERRITORY_ID].astype(str))["level_path"]
    return {review.level_header: rows[schema.TERRITORY_ID].astype(str).map(paths).to_numpy(dtype=object)}


def flags_frame(flags: pd.DataFrame, review: QuarterlyReview) -> pd.DataFrame:
    """Flags for display: territory, rep, level path, flag, value and threshold with units, detail sentence."""
    return widgets.blank_missing(pd.DataFrame({
        "Territory": flags[schema.TERRITORY_ID],
        "Rep": flags[schema.REP_NAME],
        **level_column(review, flags),
        "Flag": flags["flag"],
        "Value": [_value_text(v, u) for v, u in zip(flags["value"], flags["unit"])],
        "Threshold": [_value_text(v, u) for v, u in zip(flags["threshold"], flags["unit"])],
        "Detail": flags["detail"],
    }), ["Rep"])


def flags_ui(flags: pd.DataFrame, review: QuarterlyReview, latest_q: str | None, focus: str | None) -> None:
    """The flags table with the thresholds in words, and the jump to the Territories page."""
    s = review.settings
    st.subheader("Flags")
    st.caption(
        f"Over capacity: workload per FTE > {s.max_utilisation_pct:g}% of the team's average. Too many accounts: > "
        f"{s.max_accounts_per_fte:,.0f} per FTE. Far: farther from the rep's home than {far_rule_text(s)}. "
        f"Under-covered: potential > {s.high_potential_ratio:g}x average and penetration < {s.low_penetration_pct:g}%. "
        f"Quota: > {s.max_quota_vs_potential_pct:g}% of a quarter's potential or > {s.max_quota_vs_last_pct:g}% of "
        f"{latest_q}'s bookings. Change them under Flag thresholds."
    )
    if len(flags):
        shown = flags_frame(flags, review)
        st.dataframe(
            shown, hide_index=True, width="stretch",
            column_config=widgets.with_text_widths(shown, {
                "Detail": st.column_config.TextColumn("Detail", width="large"),
                "Value": st.column_config.TextColumn("Value", help="The territory's figure, with its unit."),
                "Threshold": st.column_config.TextColumn(
                    "Threshold", help="Set under Flag thresholds; for far accounts, the territory's own limit.")}),
            key=keys.REVIEW_FLAGS_TABLE,
        )
    else:
        st.success("No territory is flagged with these thresholds." if focus is None
                   else f"{md_escape(focus)} has no flags.")
    if focus is not None:
        jump_to_territories_ui(focus)
    else:
        st.caption("Pick a territory under **Focus on territory** (top right) to look into it, or open it on the "
                   "Territories page from there.")


def _remember_jump(territory_id: str) -> None:
    st.session_state[TERRITORIES_DRILL_KEY] = territory_id
    st.session_state[JUMP_KEY] = True


def jump_to_territories_ui(territory_id: str) -> None:
    """Button: open the Territories page drilled into this territory.

    The click is recorded by a callback (it survives a rerun that happens before the page body runs)
    and the switch happens in the page body, where ``st.switch_page`` is allowed.
    """
    st.button(f"Open {md_escape(territory_id)} on the Territories page", key=keys.REVIEW_JUMP,
              icon=":material/grid_view:",
              on_click=_remember_jump, args=(territory_id,))
    if st.session_state.pop(JUMP_KEY, False):
        st.switch_page("pages/territories.py")


def report_html(dataset: state.ActiveDataset, chosen: ChosenAlignment, active: state.Alignment,
                review: QuarterlyReview) -> str:
    """The self-contained HTML report (territory.reporting.report) with the quarterly review sections added.

    When a scenario is reviewed, "before" is the active alignment and "after" the scenario. The balance
    figures count what the reviewed alignment's basis counts; the review's bookings cover every account.
    """
    before = None if chosen.labels.equals(active.labels) else active.labels
    basis = chosen.basis
    counted = basis.mask(dataset.accounts)
    return build_report(ReportInput(
        accounts=dataset.accounts[counted], labels_after=chosen.labels[counted],
        labels_before=None if before is None else before[counted], territories=state.export_territories(dataset),
        title=f"Quarterly review {review.latest_quarter or ''}".strip(),
        scenario_name=chosen.name, dataset_name=dataset.name, balance_on=basis.measure,
        tolerance=basis.tolerance, boundaries=cached.us_states_geojson(), review=review,
        messages=basis.notes(dataset.accounts),
    ))


def downloads_ui(dataset: state.ActiveDataset, chosen: ChosenAlignment, active: state.Alignment,
                 review: QuarterlyReview) -> None:
    """XLSX of the review tables and the HTML report; both are built only when clicked (deferred data)."""
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download the review tables (XLSX)", data=lambda: review_xlsx_bytes(review),
        file_name=f"quarterly-review-{review.latest_quarter}.xlsx", icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=keys.REVIEW_XLSX,
        help="Sheets: territories, bookings by quarter, flags, far accounts, 80/20 summary, settings.",
    )
    c2.download_button(
        "Download the HTML report with this review", data=lambda: report_html(dataset, chosen, active,
                                                                            review).encode("utf-8"),
        file_name=f"quarterly-review-{review.latest_quarter}.html", mime="text/html",
        icon=":material/description:", key=keys.REVIEW_REPORT,
        help="One offline HTML file that prints as a meeting pack: a one-page summary (KPIs, before and after, "
        "flags), the territories and map, one page per region with its forecast, then an appendix with the moved "
        "accounts and the review tables as on this page.",
    )
