"""Widgets, cached engine calls and before/after charts for the Rebalance (what-if) page.

The page (pages/rebalance.py) stays thin: it reads the active dataset and alignment, asks
:func:`controls_ui` for a :class:`RebalanceSettings`, runs the engine through
:func:`compute_whatif` (cached: returning to a setting is instant) and draws the pieces below.
Everything here that is not a widget is a pure function of its arguments, so the cache keys are
honest and the charts are testable without a UI.

Session-state keys this page owns (non-widget keys survive a page change; widget keys start with
``rb_`` and are rebuilt from the non-widget copy when the user comes back):

* ``rebalance_settings``: dict of the control values (widget key -> value).
* ``rebalance_manual_moves``: dict account_id -> territory_id of hand-made moves (locked).
* ``rebalance_event``: None, ``("rep_leaves", territory_id)`` or ``("new_hire",)``.
* ``rebalance_dataset``: fingerprint of the dataset those belong to (a new dataset clears them).

"Make active" goes through :func:`territory.ui.state.set_active_alignment`; "Save as a named
scenario" through the Scenarios page's form (:func:`territory.ui.scenarios.save_form`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from territory.balance import BalanceParams, BalanceResult, balance
from territory.data import schema
from territory.data.geocode import normalize_us_zip, zip_centroids
from territory.data.spreadsheet import to_csv_bytes, to_xlsx_bytes
from territory.engine import codes
from territory.engine.notes import Note
from territory.errors import ParameterError, TerritoryError
from territory.planning import account_types, events, headcount
from territory.planning.basis import Basis
from territory.planning.geography import team_territories
from territory.planning.metrics import MEAN_DISTANCE_HELP, moved_mask
from territory.planning.scope import (
    SCOPE_LEVELS,
    balance_in_scope,
    balance_within,
    parse_scope,
    scope_ids,
    within_deviations,
)
from territory.planning.units import ACCOUNT, UNIT_PLURAL, UNITS, keep_units_whole, units_runner
from territory.planning.whitespace import HomeSuggestion
from territory.reporting.export import assignment_table
from territory.reporting.text import md_escape
from territory.ui import cached, keys, state
from territory.ui import scenarios as scenarios_ui
from territory.ui.cached import frame_fingerprint
from territory.ui.components import maps, rebalance_charts

SETTINGS_KEY = keys.REBALANCE_SETTINGS
MANUAL_MOVES_KEY = keys.REBALANCE_MANUAL_MOVES
EVENT_KEY = keys.REBALANCE_EVENT
DATASET_KEY = keys.REBALANCE_DATASET  # fingerprint the hand moves and the event belong to

STABILITY_SWEEP: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Stability values of the trade-off chart (each run is cached like a slider move)."""

MEASURE_CHOICES: tuple[str, ...] = (*schema.MEASURES, "composite")
COMPOSITE_PARTNERS: tuple[str, ...] = ("potential", "revenue", "accounts")
BUDGET_CHOICES: dict[str, str] = {
    "none": "No limit",
    "accounts": "At most N accounts",
    "revenue_pct": "At most X% of revenue",
}
MANUAL_REASON = "Moved by hand to {to} (locked)"
TABS: tuple[str, ...] = ("Load per territory", "Account flows", "Moved accounts", "Trade-off", "Manual moves")
"""The page's tabs (lazy: only the open one runs; its label is kept under ``rb_tab``)."""
MAP_WIDTH_PX = 453
"""Width each of the before/after maps is framed for: half the pair's canvas, which spans the page: 906 px
at a 1366-px-wide window with the sidebar open and 1,040 px at 1500 (measured in Chromium). Framed for
the narrowest window the app is laid out for, both copies fit whole there and fill their halves
(``maps.PAIR_FILL``); a wider window shows more air around them."""
MAP_HEIGHT_PX = 360
LEGEND_COLUMNS = 5
"""The legend under the pair lists the territories in this many columns."""


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebalanceSettings:
    """Plain values of the Rebalance controls (what the widgets return, before any engine call)."""

    n_territories: int
    measure: str = "workload"
    composite_workload_pct: int = 70
    composite_partner: str = "potential"
    tolerance_pct: float = 5.0
    stability: float = 0.5
    compactness: float = 0.5
    industry_teams: tuple[str, ...] = ()
    industry_focus: float = 0.0
    also_balance: tuple[str, ...] = ()
    budget_kind: str = "none"
    budget_accounts: int = 100
    budget_revenue_pct: float = 5.0
    lock_top_n: int = 0
    only_fix_outside: bool = False
    counted_types: tuple[str, ...] | None = None  # account types that count; None: every account
    closing: tuple[str, ...] = ()  # territories the user chose to close when the count goes down
    industry_team_sizes: tuple[tuple[str, int], ...] = ()  # (team, reps) the user fixed; others by share
    scope: tuple[str, ...] = ()  # "region=West", "district=Pacific": rebalance only those territories; () = all
    units: str = ACCOUNT  # what moves whole: account, zip, zip3, county or state (territory.planning.units)
    within: str = ""  # "region" or "district": each balanced with its own territories (balance --within); "" = off

    def scope_pairs(self) -> tuple[tuple[str, str], ...]:
        """The scope as the engine wrapper takes it: ((level, name), ...)."""
        return tuple(parse_scope(choice) for choice in self.scope)

    def balance_on(self) -> str | tuple[tuple[str, float], ...]:
        """The engine's ``balance_on``: a measure name, or ((measure, weight), ...) for a composite."""
        if self.measure != "composite":
            return self.measure
        workload = self.composite_workload_pct / 100.0
        return (("workload", round(workload, 4)), (self.composite_partner, round(1.0 - workload, 4)))

    def measure_label(self) -> str:
        """Axis label (with unit) of the balance measure."""
        if self.measure != "composite":
            return schema.MEASURE_LABEL[self.measure]
        return (
            f"Composite: {self.composite_workload_pct}% workload + "
            f"{100 - self.composite_workload_pct}% {self.composite_partner} (target units)"
        )

    def basis(self) -> Basis:
        """What the what-if's figures count: its measure, band and account types (kept with it when it
        becomes active or is saved, so every page scores it the same way)."""
        return Basis(self.balance_on(), float(self.tolerance_pct) / 100.0, self.counted_types)

    def to_params(self, seed: int = 0) -> BalanceParams:
        """The engine's BalanceParams for these settings."""
        return BalanceParams(
            n_territories=int(self.n_territories),
            balance_on=self.balance_on(),
            tolerance=float(self.tolerance_pct) / 100.0,
            stability=float(self.stability),
            compactness=float(self.compactness),
            move_budget_accounts=int(self.budget_accounts) if self.budget_kind == "accounts" else None,
            move_budget_revenue_pct=(
                float(self.budget_revenue_pct) if self.budget_kind == "revenue_pct" else None
            ),
            industry_teams=tuple(self.industry_teams),
            industry_team_sizes=tuple((str(team), int(size)) for team, size in self.industry_team_sizes
                                      if team in self.industry_teams),
            industry_focus=float(self.industry_focus),
            also_balance=tuple(m for m in self.also_balance if m != self.measure),
            seed=seed,
            only_fix_outside=bool(self.only_fix_outside),
        )


SETTING_KEYS: dict[str, str] = keys.setting_keys(RebalanceSettings, "rebalance")
"""{field of :class:`RebalanceSettings`: the key of its widget}, one per field (``ts_rebalance_<field>``)."""
_COERCE = {"int": int, "float": float, "str": str, "bool": bool}  # field annotation -> type the engine gets


def _default_values(n_territories: int, n_accounts: int, counted_types: list[str]) -> dict[str, object]:
    """{widget key: default} of the controls: the :class:`RebalanceSettings` defaults, a few taken from the
    data, tuples as lists (what a multiselect holds), and the page's own keys that must outlive a page change."""
    base = RebalanceSettings(
        n_territories=n_territories,
        tolerance_pct=5,  # the slider steps in whole percent
        budget_accounts=max(1, min(100, n_accounts)),
        counted_types=tuple(counted_types),
    )
    values: dict[str, object] = {}
    for f in fields(RebalanceSettings):
        value = getattr(base, f.name)
        values[SETTING_KEYS[f.name]] = list(value) if isinstance(value, tuple) else value
    values[keys.REBALANCE_SWEEP] = False  # drawn on the Trade-off tab; kept here so it survives a page change
    # The open tab, and the pasted codes of the Manual moves tab: kept here so they survive a page
    # change and (tabs are lazy) a visit to another tab.
    values[keys.REBALANCE_TAB] = TABS[0]
    values[keys.REBALANCE_PICK_CODES] = ""
    return values


def _settings_from_state(with_types: bool) -> RebalanceSettings:
    """The :class:`RebalanceSettings` the controls hold now (each field read from its key)."""
    values = {}
    for f in fields(RebalanceSettings):
        value = st.session_state[SETTING_KEYS[f.name]]
        values[f.name] = _COERCE[f.type](value) if f.type in _COERCE else tuple(
            tuple(v) if isinstance(v, list) else v for v in value)
    if not with_types:
        values["counted_types"] = None
    return RebalanceSettings(**values)


def _restore_widget_values(defaults: Mapping[str, object]) -> None:
    """Put saved control values back under their widget keys (widget keys die on a page change)."""
    saved = st.session_state.setdefault(SETTINGS_KEY, {})
    for key, default in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = saved.get(key, default)


def _save_widget_values(names: Sequence[str]) -> None:
    st.session_state[SETTINGS_KEY] = {k: st.session_state[k] for k in names if k in st.session_state}
    state.save_settings()  # kept for a reload


def territory_names(territories: pd.DataFrame) -> dict[str, str]:
    """{territory ID: "T05 (Hannah Alvarez)"}: how a territory is named in a choice (ID alone without a rep)."""
    reps = {}
    if schema.REP_NAME in territories:
        reps = dict(zip(territories[schema.TERRITORY_ID].astype(str), territories[schema.REP_NAME]))
    return {tid: f"{tid} ({rep})" if isinstance(rep, str) and rep else tid for tid, rep in reps.items()}


def alignment_key(dataset_fingerprint: str, alignment_fingerprint: str) -> str:
    """What the territory count was set for: a dataset and one of its alignments."""
    return f"{dataset_fingerprint}:{alignment_fingerprint}"


def _follow_alignment(alignment_key: str, n_current: int) -> None:
    """The territory count starts at the active alignment's own count: when another alignment
    became active (Make active, a new dataset), the slider goes back to its number of territories
    (keeping the count of the previous one would add or close territories nobody asked for)."""
    ss, k = st.session_state, SETTING_KEYS
    if ss.get(keys.REBALANCE_COUNT_FOR) != alignment_key:
        ss[keys.REBALANCE_COUNT_FOR] = alignment_key
        ss[k["n_territories"]] = n_current
        ss[k["closing"]] = []


def scope_label(choice: str) -> str:
    """"region=West" -> "Region: West" (how a scope reads in the sidebar)."""
    level, _, name = choice.partition("=")
    return f"{level.capitalize()}: {name}"


def scope_choices(territories: pd.DataFrame) -> list[str]:
    """The scopes the territories table offers: "region=West", ..., then "district=Pacific", ..."""
    choices = []
    for level in SCOPE_LEVELS:
        if level in territories:
            values = territories[level].astype("string").str.strip().dropna()
            choices += [f"{level}={name}" for name in sorted(set(values)) if name]
    return choices


def controls_ui(current_ids: Sequence[str], industries: Sequence[str], n_accounts: int,
                type_counts: Mapping[str, int] | None = None, alignment_key: str = "",
                names: Mapping[str, str] | None = None, scopes: Sequence[str] = (),
                measures: Sequence[str] = schema.MEASURES) -> RebalanceSettings:
    """Draw the what-if controls in the sidebar and return their values.

    ``current_ids`` are the territories of the active alignment (its count is the slider's
    default, and it is reset to it whenever ``alignment_key`` changes); ``industries`` feed the
    industry-teams multiselect; ``type_counts`` (accounts per account type, when the data has
    types) the choice of the types that count for balancing; ``names`` label territories by rep;
    ``scopes`` are the regions and districts one can rebalance alone (:func:`scope_choices`);
    ``measures`` the ones the data can be balanced on (``usable_measures``: not an unknown potential).
    """
    current_ids = list(current_ids)
    n_current = len(current_ids)
    names = dict(names or {})
    types = list(type_counts or {})
    n_max = max(2, min(n_accounts, max(2 * n_current, n_current + 10, 12)))
    defaults = _default_values(int(min(max(n_current, 2), n_max)), n_accounts, account_types.default_counted(types))
    defaults[keys.REBALANCE_TYPES_FOR] = types
    _restore_widget_values(defaults)
    _follow_alignment(alignment_key, defaults[SETTING_KEYS["n_territories"]])
    ss, k = st.session_state, SETTING_KEYS
    # Values saved for another dataset can fall outside this one's ranges: clamp them.
    ss[k["n_territories"]] = int(min(max(ss[k["n_territories"]], 2), n_max))
    measure_choices = [m for m in MEASURE_CHOICES if m in measures or m == "composite"]
    partners = [m for m in COMPOSITE_PARTNERS if m in measures]
    ss[k["measure"]] = ss[k["measure"]] if ss[k["measure"]] in measure_choices else "workload"
    ss[k["composite_partner"]] = ss[k["composite_partner"]] if ss[k["composite_partner"]] in partners else "accounts"
    ss[k["industry_teams"]] = [
        i for i in ss[k["industry_teams"]] if i in set(industries)
    ]
    if list(ss[keys.REBALANCE_TYPES_FOR]) != types:
        # a choice made among another dataset's types (the sample has none): this one's default
        ss[keys.REBALANCE_TYPES_FOR] = types
        ss[k["counted_types"]] = list(defaults[k["counted_types"]])
    ss[k["counted_types"]] = [t for t in ss[k["counted_types"]] if t in set(types)]

    ss[k["scope"]] = [choice for choice in ss[k["scope"]] if choice in set(scopes)]
    levels = [level for level in SCOPE_LEVELS if any(choice.startswith(f"{level}=") for choice in scopes)]
    if ss[k["within"]] not in levels:
        ss[k["within"]] = ""

    sb = st.sidebar
    sb.header("What-if settings")
    if scopes:
        sb.multiselect(
            "Rebalance only", list(scopes), key=k["scope"], placeholder="The whole company",
            format_func=scope_label, disabled=bool(ss[k["within"]]),
            help="Only accounts of these regions' or districts' territories move, and only among those territories "
                 "(their targets are their own total by capacity); every other account stays exactly where it is.",
        )
        _within_ui(levels)
    sb.slider(
        "Number of territories", min_value=2, max_value=n_max, step=1, key=k["n_territories"],
        disabled=bool(ss[k["within"]]),
        help=f"The active alignment has {n_current}. More territories add new ones (the first message names "
             "them; with *Rebalance only*, inside those regions); fewer close some: you choose which below."
             + (" With *Balance within each*, every region or district keeps its own." if ss[k["within"]] else ""),
    )
    kept_count = ss[k["scope"]] or ss[k["within"]]
    _closing_ui(current_ids if not kept_count else [], n_current - int(ss[k["n_territories"]]), names)
    _team_sizes_ui()
    sb.selectbox(
        "Balance on", measure_choices, key=k["measure"],
        format_func=lambda m: "Composite (weighted)" if m == "composite" else schema.MEASURE_LABEL[m],
        help="The quantity every territory should carry in proportion to its rep's capacity (FTE)."
             + ("" if "potential" in measures else " Potential is not offered: it is unknown for every account "
                "(the file has neither potential nor revenue).")
             + ("" if "revenue" in measures else " Revenue is not offered: it is 0 for every account."),
    )
    if ss[k["measure"]] == "composite":
        c1, c2 = sb.columns([3, 2])
        c1.slider("Workload weight (%)", 0, 100, step=5, key=k["composite_workload_pct"])
        c2.selectbox("plus", partners, key=k["composite_partner"])
    if types:
        sb.multiselect(
            "Account types that count", types, key=k["counted_types"], placeholder="Choose at least one",
            format_func=lambda t: f"{t} ({type_counts[t]:,})",
            help="Only these accounts carry load in the balance and in every figure on this page. The others "
                 "are shown apart: they keep their territory when it still exists, else join the nearest "
                 "counted account's, and carry no workload.",
        )
    also_options = [m for m in measures if m != ss[k["measure"]]]
    ss[k["also_balance"]] = [m for m in ss[k["also_balance"]] if m in also_options]
    sb.multiselect(
        "Also within tolerance", also_options, key=k["also_balance"], placeholder="None",
        format_func=lambda m: schema.MEASURE_LABEL[m],
        help="Bring these measures within the band too (e.g. workload and revenue both within ±5%). "
             "Boundary accounts move or swap between neighbours; when regions differ too much, the "
             "messages say which territories stay outside.",
    )
    sb.slider(
        "Tolerance (± % of target)", min_value=1, max_value=25, step=1, key=k["tolerance_pct"],
        help="Each territory must land within this band around its target when feasible.",
    )
    sb.slider(
        "Stability (0 = free, 1 = keep accounts)", 0.0, 1.0, step=0.05, key=k["stability"],
        help="Higher keeps more accounts with their current rep; 1 moves only what the tolerance needs.",
    )
    sb.slider(
        "Compactness (0 = balance first, 1 = short travel)", 0.0, 1.0, step=0.05, key=k["compactness"],
    )
    sb.toggle(
        "Fix only the territories outside the band", key=k["only_fix_outside"],
        help="Only territories above their band hand accounts to their neighbours; every other territory "
             "keeps all its accounts. Territories with no over-loaded neighbour may stay outside the band.",
    )
    _units_ui()
    with sb.expander("Industry teams and focus", expanded=bool(ss[k["industry_teams"]])):
        st.multiselect(
            "Industry teams", list(industries), key=k["industry_teams"],
            help="Chosen industries get their own specialist territories, overlaid on the geographic ones "
                 "and counted in the number of territories.",
        )
        _team_sizes_ui(draw=True)
        st.slider(
            "Industry focus (0-1)", 0.0, 1.0, step=0.05, key=k["industry_focus"],
            help="Higher makes territories specialise in fewer industries: nearby territories trade accounts "
                 "(they overlap in shared metros) for up to 30% more travel at 1.",
        )
    with sb.expander("Move budget and locks", expanded=ss[k["budget_kind"]] != "none"):
        st.radio(
            "Move budget", list(BUDGET_CHOICES), key=k["budget_kind"],
            format_func=BUDGET_CHOICES.__getitem__, horizontal=False,
        )
        if ss[k["budget_kind"]] == "accounts":
            st.number_input("Max accounts moved", min_value=0, max_value=n_accounts, step=10,
                            key=k["budget_accounts"])
        elif ss[k["budget_kind"]] == "revenue_pct":
            st.number_input("Max revenue moved (%)", min_value=0.0, max_value=100.0, step=1.0,
                            key=k["budget_revenue_pct"])
        st.number_input(
            "Lock top-N accounts by revenue", min_value=0, max_value=n_accounts, step=5, key=k["lock_top_n"],
            help="The N biggest accounts (USD/year) stay with their current territory.",
        )
    _save_widget_values(list(defaults))

    return _settings_from_state(bool(types))


UNIT_CHOICES: dict[str, str] = {ACCOUNT: "Accounts (each on its own)", "zip": "ZIP codes", "zip3": "ZIP3 areas",
                                 "county": "Counties", "state": "States"}
"""The sidebar's labels of :data:`territory.planning.units.UNITS`."""


def _units_ui() -> None:
    """The units the alignment moves: every account of a ZIP, county... stays together."""
    st.sidebar.selectbox(
        "Move whole", list(UNITS), key=SETTING_KEYS["units"], format_func=UNIT_CHOICES.__getitem__,
        help="Balance geographic units instead of single accounts: every account of a ZIP code (ZIP3 area, county, "
             "state) ends in the same territory. Large units may not fit the band: the messages name them.",
    )


def _within_ui(levels: Sequence[str]) -> None:
    """*Balance within each* region or district: the CLI's ``balance --within``, one choice in the sidebar."""
    ss, key = st.session_state, SETTING_KEYS["within"]
    st.sidebar.selectbox(
        "Balance within each", ["", *levels], key=key, disabled=bool(ss[SETTING_KEYS["scope"]]),
        format_func=lambda level: level.capitalize() if level else "No: across the whole company",
        help="A full rebalance in which no account leaves its region (or district): each is balanced among its "
             "own territories against its own total, and keeps its number of territories. Not with *Rebalance "
             "only* (one part) or industry teams (they cross regions).",
    )


def _closing_ui(current_ids: list[str], reduction: int, names: Mapping[str, str]) -> None:
    """When the count goes down, ask which territories close (empty: the least loaded ones)."""
    ss, key = st.session_state, SETTING_KEYS["closing"]
    ss[key] = [t for t in ss[key] if t in set(current_ids)][: max(reduction, 0)]
    if reduction <= 0 or not current_ids:
        return
    st.sidebar.multiselect(
        f"Which {reduction} territor{'y closes' if reduction == 1 else 'ies close'}?", current_ids, key=key,
        max_selections=reduction, format_func=lambda t: names.get(t, t),
        placeholder="The least loaded",
        help="Their accounts go to the neighbouring territories. Left empty (or short), the engine closes the "
             "least loaded ones; the first message names the territories that close.",
    )


def _team_sizes_ui(draw: bool = False) -> None:
    """Reps per industry team (one number each; 0 = by the team's share of the load). Kept under the
    ``industry_team_sizes`` setting, so the sizes survive a page change with the other settings."""
    ss, k = st.session_state, SETTING_KEYS
    teams = list(ss[k["industry_teams"]])
    sizes = {str(team): int(size) for team, size in ss[k["industry_team_sizes"]] if team in teams}
    if draw:
        for team in teams:
            widget = keys.child(keys.REBALANCE_TEAM_SIZE, team)
            most = max(1, int(ss[k["n_territories"]]) - 1)
            ss[widget] = min(int(ss.get(widget, sizes.get(team, 0))), most)
            st.number_input(f"Reps on the {md_escape(team)} team", min_value=0, max_value=most, step=1, key=widget,
                            help="0: as many as the team's share of the load needs. The team's reps count in the "
                                 "number of territories; the geographic territories get the rest.")
            sizes[team] = int(ss[widget])
    ss[k["industry_team_sizes"]] = [(team, size) for team, size in sizes.items() if size > 0]


# --- engine input and cached runs -------------------------------------------------------------


def top_revenue_index(accounts: pd.DataFrame, n: int) -> pd.Index:
    """Index of the ``n`` accounts with the highest revenue (ties broken by position)."""
    if n <= 0 or schema.REVENUE not in accounts:
        return accounts.index[:0]
    revenue = pd.to_numeric(accounts[schema.REVENUE], errors="coerce").fillna(0.0)
    order = np.argsort(-revenue.to_numpy(dtype=float), kind="stable")[: int(n)]
    return accounts.index[order]


def engine_accounts(
    accounts: pd.DataFrame,
    before: pd.Series,
    manual_moves: Mapping[str, str] | None = None,
    lock_top_n: int = 0,
) -> pd.DataFrame:
    """The accounts table the engine sees for a what-if.

    ``territory_id`` is the active alignment (``before``) except for hand-moved accounts, which sit
    in their chosen territory; hand-moved accounts and the top-N by revenue are ``locked`` (as are
    accounts already locked in the data).
    """
    out = accounts.copy()
    out[schema.TERRITORY_ID] = before.reindex(out.index).astype("string")
    if schema.LOCKED in out:
        locked = out[schema.LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        locked = np.zeros(len(out), dtype=bool)
    locked[out.index.get_indexer(top_revenue_index(out, lock_top_n))] = True
    if manual_moves:
        ids = out[schema.ACCOUNT_ID].astype("string")
        target = ids.map(dict(manual_moves))
        hand = target.notna().to_numpy()
        out.loc[hand, schema.TERRITORY_ID] = target[hand].astype("string")
        locked |= hand
    out[schema.LOCKED] = pd.array(locked, dtype="boolean")
    return out


def home_base(zip_code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code typed as a new rep's home base; None when left blank."""
    text = str(zip_code or "").strip()
    if not text:
        return None
    zip5, _ = normalize_us_zip(pd.Series([text]))
    place = zip_centroids(zip5).iloc[0]
    if pd.isna(zip5.iloc[0]) or not np.isfinite(place["latitude"]):
        raise ParameterError(f"The new rep's home base {text!r} is not a known US ZIP code (5 digits, e.g. 94103).")
    return float(place["latitude"]), float(place["longitude"])


def unlock_closing(engine_input: pd.DataFrame, closing: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """(engine input, how many were unlocked): locked accounts of territories the user closes are
    unlocked, since their territory no longer exists (as when a rep leaves)."""
    if schema.LOCKED not in engine_input:
        return engine_input, 0
    locked = engine_input[schema.LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    closing_rows = engine_input[schema.TERRITORY_ID].astype("string").isin(list(closing)).fillna(False).to_numpy()
    freed = locked & closing_rows
    if not freed.any():
        return engine_input, 0
    out = engine_input.copy()
    out[schema.LOCKED] = pd.array(locked & ~freed, dtype="boolean")
    return out, int(freed.sum())


def run_whatif(accounts: pd.DataFrame, territories: pd.DataFrame, params: BalanceParams,
               event: tuple | None, units: str = ACCOUNT) -> BalanceResult:
    """One engine call: a rebalance, an event ("rep_leaves", T) / ("new_hire", home ZIP, FTE) on top of it,
    or a rebalance of one scope ("scope", ((level, name), ...), its number of territories), or of each region or
    district on its own ("within", level); ``units`` other than account balance whole ZIPs, counties...
    (:mod:`territory.planning.units`; not with a staffing event)."""
    current = accounts[schema.TERRITORY_ID]
    engine = units_runner(units, balance)
    if not event:
        return engine(accounts, params, territories)
    if units != ACCOUNT and event[0] not in ("scope", "within"):
        raise ParameterError(f"Staffing events hand over accounts one by one, not whole {UNIT_PLURAL[units]}: set "
                             "*Move whole* to accounts, or clear the event.")
    if event[0] == "rep_leaves":
        return events.rep_leaves(accounts, current, event[1], territories=territories, params=params)
    if event[0] == "scope":
        return balance_in_scope(accounts, replace(params, n_territories=int(event[2])), territories, tuple(event[1]),
                                engine)
    if event[0] == "within":  # every region (or district) keeps its own count of territories
        return balance_within(accounts, replace(params, n_territories=None), territories, event[1], engine)
    if event[0] == "new_hire":
        zip_code, fte = (tuple(event) + ("", 1.0))[1:3]  # ("new_hire",) alone: no home base, 1 FTE
        return events.new_hire(accounts, current, territories=territories, params=params,
                               capacity_fte=float(fte), home=home_base(zip_code))
    raise ParameterError(f"Unknown what-if event {event[0]!r}: use 'rep_leaves' or 'new_hire'.")


def after_assignment(
    result_assignment: pd.DataFrame, before: pd.Series, manual_moves: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The engine's assignment, re-based on the real "before" (the active alignment).

    The engine saw hand-moved accounts already in their new territory, so it calls them unmoved;
    here ``previous_territory_id`` is the active alignment again and those accounts get a
    "moved by hand" reason. ``moved`` is :func:`territory.planning.metrics.moved_mask`'s, so the moved
    accounts listed here are the ones the "Moved accounts" KPI counts (an account that had no
    territory before is newly assigned, not moved; it keeps its reason).
    """
    out = result_assignment.copy()
    prev = before.reindex(out.index).astype("string")
    after = out[schema.TERRITORY_ID].astype("string")
    out["previous_territory_id"] = prev
    moved, newly = moved_mask(out, after, prev)
    out["moved"] = moved
    changed = pd.Series(moved | newly, index=out.index)
    reason = out["reason"].astype("string").fillna("") if "reason" in out else pd.Series("", index=out.index)
    if manual_moves:
        ids = out[schema.ACCOUNT_ID].astype("string")
        hand = ids.isin(list(manual_moves)).to_numpy() & changed.to_numpy()
        reason = reason.where(~hand, after.map(lambda t: MANUAL_REASON.format(to=t)))
    out["reason"] = reason.where(changed, "").astype(str)
    return out


# --- figures shown as KPIs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """One before/after figure: label, values, display format and whether lower is better."""

    label: str
    before: float | None
    after: float
    fmt: str
    lower_is_better: bool = True
    help: str = ""

    def text(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return self.fmt.format(value)

    def delta_text(self) -> str | None:
        if self.before is None or math.isnan(self.before) or math.isnan(self.after):
            return None
        text = self.fmt.format(self.after - self.before).replace("+-", "-")
        # a change that rounds to nothing reads as none, not as a red "↑ 0.0%" or "-0 km"
        return "no change" if text.lstrip("+-") == self.fmt.format(0.0).lstrip("+-") else text


def _card_value(card: Mapping, name: str) -> float:
    """A scorecard figure as a float (NaN where the scorecard has None: undefined)."""
    value = card.get(name)
    return float("nan") if value is None else float(value)


def kpis(before_card: Mapping, after_card: Mapping) -> list[Kpi]:
    """The six before/after figures of the page, from two :func:`territory.planning.metrics.scorecard` dicts
    (their top-level balance figures are those of the balance measure)."""
    def both(name: str) -> tuple[float, float]:
        return _card_value(before_card, name), _card_value(after_card, name)

    dev_b, dev_a = both("max_deviation_pct")
    cv_b, cv_a = both("cv")
    return [
        Kpi("Max deviation", dev_b, dev_a, "{:.1f}%", help=(
            "Largest gap between a territory and its target on the balance measure (% of target).")),
        Kpi("Spread", cv_b, cv_a, "{:.3f}", help="Coefficient of variation (CV) of the measure across "
            "territories: standard deviation / mean, capacity-adjusted; 0 = perfectly even."),
        Kpi("Mean distance", *both("weighted_mean_distance_km"), "{:,.0f} km", help=MEAN_DISTANCE_HELP),
        Kpi("Fragmented territories", *both("fragmented_territories"), "{:,.0f}",
            help="Territories split into more than one piece by another territory's accounts."),
        Kpi("Moved accounts", None, _card_value(after_card, "moved_accounts"), "{:,.0f}",
            help="Accounts whose territory changes versus the active alignment."),
        Kpi("Moved revenue", None, _card_value(after_card, "moved_revenue_pct"), "{:.1f}%",
            help="Revenue of the moved accounts, as % of total revenue."),
    ]


def moved_accounts_table(accounts: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """One row per moved account, biggest revenue first, with the engine's (or manual) reason."""
    moved = assignment["moved"].to_numpy(dtype=bool)
    rows = accounts.loc[moved]
    out = pd.DataFrame({
        "Account": rows[schema.ACCOUNT_ID].astype("string"),
        "Name": rows[schema.NAME].astype("string") if schema.NAME in rows else "",
        "Postal code": rows[schema.POSTAL_CODE].astype("string") if schema.POSTAL_CODE in rows else "",
        "From": assignment.loc[moved, "previous_territory_id"].astype("string"),
        "To": assignment.loc[moved, schema.TERRITORY_ID].astype("string"),
        "Revenue (USD/yr)": pd.to_numeric(rows.get(schema.REVENUE), errors="coerce"),
        "Workload (h/yr)": pd.to_numeric(rows.get(schema.WORKLOAD_HOURS), errors="coerce"),
        "Reason": assignment.loc[moved, "reason"].astype("string"),
    })
    return out.sort_values("Revenue (USD/yr)", ascending=False, na_position="last").reset_index(drop=True)


def parse_account_list(text: str, accounts: pd.DataFrame) -> tuple[pd.Index, list[str]]:
    """Accounts named in pasted text (postal codes or account IDs, separated by commas, spaces or
    new lines): their index and the tokens that matched nothing."""
    tokens = [t for t in pd.Series(text.replace(",", " ").replace(";", " ").split()).str.strip() if t]
    if not tokens:
        return accounts.index[:0], []
    ids = accounts[schema.ACCOUNT_ID].astype("string")
    codes = (accounts[schema.POSTAL_CODE].astype("string") if schema.POSTAL_CODE in accounts
             else pd.Series(pd.NA, index=accounts.index, dtype="string"))
    wanted = set(tokens)
    # 4-digit US ZIPs pasted from a spreadsheet lost their leading zero.
    wanted |= {t.zfill(5) for t in tokens if t.isdigit() and len(t) == 4}
    hit = (ids.isin(wanted) | codes.isin(wanted)).fillna(False).to_numpy(dtype=bool)
    found = set(ids[hit].dropna()) | set(codes[hit].dropna())
    unknown = [t for t in tokens if t not in found and t.zfill(5) not in found]
    return accounts.index[hit], unknown


# --- one what-if, computed ------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_event(accounts_key: str, territories_key: str, params: BalanceParams, event: tuple,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
                  _accounts: pd.DataFrame, _territories: pd.DataFrame, units: str = ACCOUNT) -> BalanceResult:
    """:func:`run_whatif` for an event or units; the keys stand in for the unhashed frames."""
    return run_whatif(_accounts, _territories, params, event, units)


def whatif_key(fingerprint: str, accounts: pd.DataFrame) -> str:
    """Cache key of an engine input: dataset fingerprint + the columns a what-if edits."""
    edited = [accounts[c].astype("string") for c in (schema.TERRITORY_ID, schema.LOCKED) if c in accounts]
    return f"{fingerprint}:{len(accounts)}:{frame_fingerprint(*edited)}"


def run_cached(fingerprint: str, accounts: pd.DataFrame, territories: pd.DataFrame, params: BalanceParams,
               event: tuple | None, units: str = ACCOUNT) -> BalanceResult:
    """The what-if result, from the cache when this (input, params, event, units) was computed before.

    A plain rebalance goes through APP-A's ``cached.cached_balance``; events and units through a cache
    of their own with the same keying. Engine errors propagate (they are not cached).
    """
    if not event and units == ACCOUNT:
        return cached.cached_balance(fingerprint, accounts, params, territories)
    event_params = replace(params, n_territories=None) if event else params  # an event decides the number
    return _cached_event(whatif_key(fingerprint, accounts), frame_fingerprint(territories), event_params,
                         tuple(event or ()), accounts, territories, units)


@dataclass(frozen=True)
class WhatIf:
    """Everything the page shows for one what-if: engine result and before/after figures."""

    result: BalanceResult
    assignment: pd.DataFrame  # after_assignment(): moved/reason re-based on the active alignment
    before: pd.Series
    after: pd.Series
    before_card: dict
    after_card: dict
    before_table: pd.DataFrame
    after_table: pd.DataFrame
    after_territories: pd.DataFrame
    wall_seconds: float


def balance_on_arg(balance_on):
    """BalanceParams' tuple composite -> the mapping metrics take (names pass through)."""
    return dict(balance_on) if isinstance(balance_on, tuple) else balance_on


def compute_whatif(
    fingerprint: str,
    accounts: pd.DataFrame,
    territories: pd.DataFrame,
    before: pd.Series,
    engine_input: pd.DataFrame,
    params,
    event: tuple | None,
    manual_moves: Mapping[str, str] | None,
    counted_types: Sequence[str] | None = None,
    closing: Sequence[str] = (),
    scope: Sequence[tuple[str, str]] = (),
    within: str = "",
    units: str = ACCOUNT,
) -> WhatIf:
    """Run (or fetch) the engine and the before/after metrics for one setting.

    With ``counted_types``, the engine balances those accounts only and the others are placed after
    (:mod:`territory.planning.account_types`); every figure counts the counted accounts only.
    ``closing`` names territories the user chose to close (a plain rebalance to fewer territories):
    the engine sees a territories table without them and dissolves them into their neighbours.
    ``scope`` ((level, name), ...) balances only those territories, ``within`` ("region", "district") each
    region or district among its own (:mod:`territory.planning.scope`); ``units`` other than account move
    whole ZIPs, counties... (:mod:`territory.planning.units`)."""
    started = time.perf_counter()
    mask = account_types.counted_mask(engine_input, counted_types)
    engine_territories, freed = territories, 0
    if within and not event:
        event = ("within", within)  # run like an event, through its cache
    elif scope and not event:
        # run like an event, through its cache; the count's change (hires, closures) happens inside the scope
        n_scope = len(scope_ids(territories, tuple(scope))) + int(params.n_territories) - int(before.dropna().nunique())
        event = ("scope", tuple(scope), max(1, n_scope))
    elif closing and not event:
        engine_territories = territories[~territories[schema.TERRITORY_ID].astype(str).isin(list(closing))]
        engine_territories = engine_territories.reset_index(drop=True)
        engine_input, freed = unlock_closing(engine_input, closing)
    if mask.all():
        result = run_cached(fingerprint, engine_input, engine_territories, params, event, units)
    elif not mask.any():
        raise ParameterError("No account counts for balancing: choose at least one account type that the data has.")
    else:
        result = run_cached(fingerprint, engine_input[mask], engine_territories, params, event, units)
        result = account_types.with_shown_apart(engine_input, mask, result)
        result = keep_units_whole(engine_input, mask, result, units)
    if freed:
        result = replace(result, notes=(*result.notes, Note(
            codes.EVENT_LOCKED_MOVED, f"{freed:,} locked account(s) of the closing territories had to move: their "
            "territory no longer exists.", data={"accounts": freed})))
    assignment = after_assignment(result.assignment, before, manual_moves)
    after = assignment[schema.TERRITORY_ID].astype("string")
    after_territories = result.territories
    counted_key = fingerprint if mask.all() else f"{fingerprint}:types:{','.join(sorted(counted_types or ()))}"
    figures = alignment_figures(counted_key, accounts[mask], before[mask], after[mask], territories,
                                after_territories, balance_on_arg(params.balance_on))
    return WhatIf(result, assignment, before, after, *figures, after_territories, time.perf_counter() - started)


def alignment_figures(
    fingerprint: str,
    accounts: pd.DataFrame,
    before: pd.Series,
    after: pd.Series,
    territories: pd.DataFrame,
    after_territories: pd.DataFrame,
    measure,
) -> tuple[dict, dict, pd.DataFrame, pd.DataFrame]:
    """(before card, after card, before table, after table) of one what-if: the page's KPIs, load
    chart and XLSX summary, all from :mod:`territory.planning.metrics` on the labels alone (the engine's
    own centres play no part, so a saved scenario or the report give the same figures)."""
    return (
        cached.scorecard(fingerprint, accounts, before, None, territories, measure),
        cached.scorecard(fingerprint, accounts, after, before, after_territories, measure),
        cached.territory_table(fingerprint, accounts, before, territories, measure),
        cached.territory_table(fingerprint, accounts, after, after_territories, measure),
    )


def warm(dataset, alignment) -> None:
    """Run the page's default what-if into the cache now (when a dataset becomes active, on the
    Data page, which is already busy loading): at 100,000 accounts the engine and the before/after
    metrics took about 3.5 s of the Rebalance page's first visit. Errors are left for the page."""
    before = alignment.labels.astype("string")
    n_current = int(before.dropna().nunique())
    if n_current < 2:
        return
    params = RebalanceSettings(n_territories=n_current).to_params()
    engine_input = engine_accounts(dataset.accounts, before, {}, 0)
    counted = account_types.default_counted_types(dataset.accounts)
    try:
        compute_whatif(dataset.fingerprint, dataset.accounts, dataset.territories, before, engine_input, params,
                       None, {}, counted)
    except TerritoryError:
        pass


def sweep_values(current: float) -> tuple[float, ...]:
    """The sweep's stability values plus the current one (already computed: the page's own result)."""
    return tuple(sorted({*STABILITY_SWEEP, round(float(current), 4)}))


def stability_sweep(
    fingerprint: str,
    accounts: pd.DataFrame,
    territories: pd.DataFrame,
    engine_input: pd.DataFrame,
    before: pd.Series,
    params,
    event: tuple | None,
    values: Sequence[float] = STABILITY_SWEEP,
    counted_types: Sequence[str] | None = None,
    closing: Sequence[str] = (),
    scope: Sequence[tuple[str, str]] = (),
    within: str = "",
    units: str = ACCOUNT,
) -> pd.DataFrame:
    """Balance, moves and travel for each stability value, everything else as in ``params``.

    Every run goes through the same caches as a slider move, so the sweep costs nothing when the
    user then drags stability to one of these values (and vice versa).
    """
    rows = []
    for value in values:
        try:
            whatif = compute_whatif(fingerprint, accounts, territories, before, engine_input,
                                    replace(params, stability=float(value)), event, None, counted_types,
                                    closing, scope, within, units)
        except TerritoryError as error:  # that point is impossible: leave it out, say why
            rows.append({"stability": float(value), "error": str(error)})
            continue
        card, result = whatif.after_card, whatif.result
        rows.append({
            "stability": float(value),
            "max_deviation_pct": _card_value(card, "max_deviation_pct"),
            "moved_accounts": _card_value(card, "moved_accounts"),
            "moved_revenue_pct": _card_value(card, "moved_revenue_pct"),
            "weighted_mean_distance_km": _card_value(card, "weighted_mean_distance_km"),
            "feasible": bool(result.feasible),
            "error": "",
        })
    return pd.DataFrame(rows)


# --- page sections (widgets) ----------------------------------------------------------------------


def forget_other_datasets(fingerprint: str) -> None:
    """Drop hand moves and the event when the active dataset changed (they name its accounts)."""
    if st.session_state.get(DATASET_KEY) != fingerprint:
        st.session_state[DATASET_KEY] = fingerprint
        st.session_state[MANUAL_MOVES_KEY] = {}
        st.session_state[EVENT_KEY] = None


def get_manual_moves() -> dict[str, str]:
    """Hand-made moves of this session: account_id -> territory_id (they stay locked)."""
    return dict(st.session_state.get(MANUAL_MOVES_KEY, {}))


def get_event(territory_ids: Sequence[str] | None = None) -> tuple | None:
    """The event applied on top of the rebalance, or None.

    With ``territory_ids`` (the alignment in use), a "rep leaves" event whose territory no longer
    exists (another alignment was made active) is dropped.
    """
    event = st.session_state.get(EVENT_KEY)
    if event and event[0] == "rep_leaves" and territory_ids is not None and event[1] not in set(territory_ids):
        _set_event(None)
        return None
    return event


def _set_event(event: tuple | None) -> None:
    st.session_state[EVENT_KEY] = event


def _event_clicked(event: tuple | None) -> None:
    """Callback of "Clear event": an undoable step."""
    _set_event(event)
    state.record("New hire" if event else "Clear event")


def _rep_leaves_clicked() -> None:
    territory_id = st.session_state.get(keys.REBALANCE_LEAVING_TERRITORY)
    if territory_id:
        _set_event(("rep_leaves", str(territory_id)))
        state.record(f"Rep of {territory_id} leaves")


def event_label(event: tuple | None) -> str:
    if not event:
        return ""
    if event[0] == "rep_leaves":
        return f"the rep of {md_escape(event[1])} leaves (their accounts go to neighbouring territories)"
    zip_code, fte = (tuple(event) + ("", 1.0))[1:3]
    where = f"home base ZIP {md_escape(zip_code)}" if zip_code else "carved out of the most loaded area"
    return f"a new hire at {float(fte):g} FTE ({where})"


def _new_hire_clicked() -> None:
    zip_code = str(st.session_state.get(keys.REBALANCE_HIRE_ZIP) or "").strip()
    _set_event(("new_hire", zip_code, float(st.session_state.get(keys.REBALANCE_HIRE_FTE) or 1.0)))
    state.record("New hire")


def _use_home(postal_code: str) -> None:
    st.session_state[keys.REBALANCE_HIRE_ZIP] = postal_code


def _home_clicked() -> None:
    """Callback of the home-base map: the clicked ZIP becomes the new hire's home base (set before the
    ZIP box is drawn again, which a widget's value must be)."""
    picked = _selected_accounts(st.session_state.get(keys.REBALANCE_HIRE_MAP))
    if picked:
        st.session_state[keys.REBALANCE_HIRE_ZIP] = picked[-1]


@st.cache_data(show_spinner=False, max_entries=4)
def _home_points(key: str, _accounts: pd.DataFrame, _labels: pd.Series) -> pd.DataFrame:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return rebalance_charts.home_base_points(_accounts, _labels)


def home_map_ui(fingerprint: str, accounts: pd.DataFrame, labels: pd.Series, colors: Mapping[str, str]) -> None:
    """The new hire's home base picked on a map: the accounts' ZIPs, a click sets the ZIP box."""
    points = _home_points(f"{fingerprint}|{cached.labels_fingerprint(labels)}", accounts, labels)
    if points.empty:
        return  # no US ZIP to pick: the home base is typed (or left to the most loaded area)
    box = st.expander("Pick the home base on the map", key=keys.REBALANCE_HIRE_MAP_OPEN, on_change="rerun")
    if not box.open:
        return  # lazy: the points travel to the browser only while the map is open
    with box:
        st.caption("Click a ZIP (a dot: its accounts' territory colour) to make it the home base above, then "
                   "press **New hire**. Drag to pan, scroll to zoom.")
        figure = rebalance_charts.home_base_figure(points, colors, cached.us_states_geojson(),
                                                   st.session_state.get(keys.REBALANCE_HIRE_ZIP, ""))
        st.plotly_chart(figure, key=keys.REBALANCE_HIRE_MAP, on_select=_home_clicked, selection_mode="points",
                        width="stretch", config={"scrollZoom": True, "displayModeBar": False})


def events_ui(territory_ids: Sequence[str], territories: pd.DataFrame,
              suggestion: HomeSuggestion | None = None) -> tuple | None:
    """"Rep leaves" (pick who leaves) and "New hire" (home base ZIP and FTE; ``suggestion``: the
    largest white space, offered as the home base); returns the active event."""
    names = territory_names(territories)
    st.selectbox("Who leaves", list(territory_ids), key=keys.REBALANCE_LEAVING_TERRITORY,
                 format_func=lambda t: names.get(t, t))
    zip_col, fte_col = st.columns([3, 2])
    zip_col.text_input("New hire's home base (ZIP)", key=keys.REBALANCE_HIRE_ZIP, max_chars=10,
                       placeholder="e.g. 94103",
                       help="The new territory grows from the accounts nearest this ZIP code; left blank, out of the "
                            "most loaded area.")
    fte_col.number_input("New hire's FTE", min_value=0.1, max_value=1.0, value=1.0, step=0.1,
                         key=keys.REBALANCE_HIRE_FTE, help="1.0 full time, 0.5 half: the new territory's target "
                                                           "follows its capacity.")
    if suggestion is not None:
        where = f"{suggestion.industry} in {suggestion.area}" + (f" ({suggestion.territory_id})"
                                                                 if suggestion.territory_id else "")
        hint, use = st.columns([3, 2], vertical_alignment="center")
        hint.caption(md_escape(f"Largest white space: {where}, {suggestion.white_space:,.0f} USD/yr of potential "
                               "not yet captured (Quarterly review, where to hunt)."))
        use.button(f"Use ZIP {suggestion.postal_code}", key=keys.REBALANCE_HIRE_USE_SUGGESTION, on_click=_use_home,
                   args=(suggestion.postal_code,), width="stretch",
                   help="Set the new hire's home base to the ZIP of the largest opening in that area and industry.")
    c2, c3, c4 = st.columns(3)
    c2.button("Rep leaves", key=keys.REBALANCE_REP_LEAVES, on_click=_rep_leaves_clicked, width="stretch",
              help="Dissolve that territory into its neighbours, moving as few accounts as possible.")
    c3.button("New hire", key=keys.REBALANCE_NEW_HIRE, on_click=_new_hire_clicked, width="stretch",
              help="Carve one new territory around the home base (or out of the most loaded area), moving as "
                   "few accounts as possible.")
    event = get_event(territory_ids)
    c4.button("Clear event", key=keys.REBALANCE_CLEAR_EVENT, on_click=_event_clicked, args=(None,),
              disabled=event is None, width="stretch")
    if event:
        st.caption(f"**Applied:** {event_label(event)}. The number-of-territories slider is ignored while "
                   "an event is applied; the other settings still count.")
    return event


def recovery_ui(event: tuple | None, manual_moves: Mapping[str, str]) -> None:
    """After an engine error: buttons that undo what the sidebar cannot (the event, hand moves)."""
    c1, c2, _ = st.columns([1, 1, 2])
    if event:
        c1.button("Clear event", key=keys.REBALANCE_CLEAR_EVENT_AFTER_ERROR, on_click=_event_clicked, args=(None,),
                  width="stretch")
    if manual_moves:
        c2.button(f"Unlock {len(manual_moves):,} hand-moved accounts", key=keys.REBALANCE_UNLOCK_AFTER_ERROR,
                  on_click=_unlock, args=(None,), width="stretch")


def teams_uneven_text(note) -> str:
    """The engine's "teams uneven" warning in the app's words (its own names a Python setting)."""
    data = note.data
    heaviest, lightest = md_escape(data["heaviest"]), md_escape(data["lightest"])
    return (f"Across groups the load per territory differs by {data['spread']:.0%} ({heaviest} is the "
            f"heaviest, {lightest} the lightest): whole territories cannot split a group's share more "
            "finely. Set the team's reps under **Industry teams and focus** in the sidebar, or change the "
            "number of territories.")


def _warning_text(note) -> str:
    return teams_uneven_text(note) if note.code == codes.TEAMS_UNEVEN else md_escape(note.text)


def messages_ui(result: BalanceResult, wall_seconds: float, change: headcount.HeadcountChange | None = None) -> None:
    """The engine's notes, after the headcount change when there is one (always the first message:
    adding or closing territories is never silent): what could not be met in one warning box
    (several: a count, each in an expander, so industry teams do not stack a box per group), the
    proven least disruption on a line of its own, the rest (what went well) in one caption with the
    timing."""
    if change is not None and change.changed:
        st.info(md_escape(change.message()), icon=":material/group:")
    notes = tuple(result.notes)
    warnings = [note for note in notes if note.warning]
    if warnings:
        more = f" ({len(warnings) - 1} more below.)" if len(warnings) > 1 else ""
        st.warning(_warning_text(warnings[0]) + more, icon=":material/warning:")
    elif not result.feasible:
        st.warning("The engine could not meet every constraint; this is its best result.", icon=":material/warning:")
    if len(warnings) > 1:
        with st.expander(f"{len(warnings) - 1} more the engine could not meet"):
            for note in warnings[1:]:
                st.caption(_warning_text(note))
    least = result.note(codes.LEAST_MOVES)
    if least is not None:
        st.markdown(f":material/verified: {md_escape(least.text)}")
    rest = [md_escape(note.text) for note in notes if not note.warning and note is not least]
    cached_note = ", from cache" if wall_seconds < 0.5 * float(result.seconds) else ""
    timing = f"engine {float(result.seconds):.2f} s{cached_note}; figures {wall_seconds:.2f} s"
    st.caption(" · ".join((*rest, timing)))


@st.cache_data(show_spinner=False, max_entries=8)
def _within_table(key: str, level: str, measure, _accounts, _after, _before, _territories) -> pd.DataFrame:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return within_deviations(_accounts, _after, _before, _territories, level, measure)


def within_ui(fingerprint: str, accounts: pd.DataFrame, whatif: WhatIf, territories: pd.DataFrame,
              settings: RebalanceSettings) -> None:
    """With *Balance within each*: every region's (or district's) balance against its own total, the
    rows ``balance --within --json`` reports (:func:`territory.planning.scope.within_deviations`)."""
    level = settings.within
    mask = account_types.counted_mask(accounts, settings.counted_types)
    key = f"{fingerprint}|{cached.labels_fingerprint(whatif.after)}|{cached.labels_fingerprint(whatif.before)}"
    table = _within_table(key, level, settings.balance_on(), accounts[mask], whatif.after[mask], whatif.before[mask],
                          territories)
    st.markdown(f"**Balance per {level}**: each against its own total, with its own territories")
    st.dataframe(
        table, hide_index=True, key=keys.REBALANCE_WITHIN_TABLE,
        column_config={
            "name": st.column_config.TextColumn(level.capitalize()),
            "territories": st.column_config.NumberColumn("Territories", format="localized"),
            "accounts": st.column_config.NumberColumn("Accounts", format="localized"),
            "max_deviation_pct": st.column_config.NumberColumn(
                "Largest deviation (%)", format="%.1f%%",
                help=f"The territory furthest from its target; targets share the {level}'s own total by capacity. "
                     f"The band is ±{settings.tolerance_pct:g}%."),
            "moved_accounts": st.column_config.NumberColumn("Accounts moved", format="localized"),
        },
    )
    st.caption(f"The figures above are the whole company's (targets share the company's total, so a {level} "
               f"whose load per rep differs from the company's shows as off there); no account changed {level}.")


def kpis_ui(whatif: WhatIf, before_name: str) -> None:
    """Two aligned rows of st.metric: before (active alignment) and after (with deltas)."""
    rows = kpis(whatif.before_card, whatif.after_card)
    with st.container(key=keys.REBALANCE_BEFORE_KPIS, border=True):
        st.markdown(f"**Before**: {md_escape(before_name)}")
        for col, k in zip(st.columns(len(rows)), rows):
            value = k.before if k.before is not None else 0.0
            col.metric(k.label, k.text(value), help=k.help)
    with st.container(key=keys.REBALANCE_AFTER_KPIS, border=True):
        st.markdown("**After**: this what-if (change vs before)")
        for col, k in zip(st.columns(len(rows)), rows):
            delta = k.delta_text() if k.before is not None else None
            still = delta == "no change"
            col.metric(k.label, k.text(k.after), delta,
                       delta_color="off" if still else "inverse" if k.lower_is_better else "normal",
                       delta_arrow="off" if still else "auto", help=k.help)


def make_active(labels: pd.Series, result, units: str = ACCOUNT, basis: Basis | None = None) -> None:
    """Callback of "Make active": the what-if becomes the alignment every page shows (an undoable step),
    with the units it kept whole and the basis of its figures."""
    _set_event(None)
    alignment = state.set_active_alignment(labels, result=result, what="Make active", units=units, basis=basis)
    st.session_state[keys.SESSION_NOTE] = (
        "success", f"{alignment.name} is now the alignment in use on every page; the what-if starts from it.")


def actions_ui(accounts: pd.DataFrame, whatif: WhatIf, settings: RebalanceSettings, event: tuple | None) -> None:
    """"Make active" and "Save as a named scenario" (the Scenarios page's store, on disk)."""
    st.button("Make active", key=keys.REBALANCE_MAKE_ACTIVE, type="primary", on_click=make_active,
              args=(whatif.after, whatif.result, settings.units, settings.basis()), width="stretch",
              help="Every page (Overview, Territories...) then shows this alignment; it becomes the new 'before'.")
    with st.expander("Save as a named scenario"):
        # The saved reasons are this page's (hand moves included), not the engine's raw ones.
        result = replace(whatif.result, assignment=whatif.assignment)
        scenarios_ui.save_form(accounts, whatif.after, key=keys.REBALANCE_SCENARIO,
                               result=result, default_name=describe(settings, event)[:80],
                               metrics=whatif.after_card,
                               extra_params=settings.basis().params()
                               | ({"units": settings.units} if settings.units != ACCOUNT else {}))
    export_ui(accounts, whatif)
    st.caption("Saved scenarios are listed, compared and exported on the **Scenarios** page.")


def workbook_bytes(accounts: pd.DataFrame, whatif: WhatIf, territories: pd.DataFrame | None,
                   owner_reps: bool = False) -> bytes:
    """The what-if's XLSX: the assignment, and the per-territory summary the page shows (``after_table``;
    ``owner_reps``: the territories are CRM owners, each the rep of their own)."""
    from territory.data.io import with_owner_reps

    summary = with_owner_reps(whatif.after_table) if owner_reps else whatif.after_table
    return to_xlsx_bytes({"Assignment": assignment_table(accounts, whatif.assignment, territories),
                          "Territories": summary})


def export_ui(accounts: pd.DataFrame, whatif: WhatIf) -> None:
    """Download this what-if for sales ops (built on click; formula-safe CSV and XLSX)."""
    dataset = state.get_dataset()
    territories = state.export_territories(dataset) if dataset is not None else None
    owner_reps = dataset is not None and dataset.owner_reps

    def table() -> pd.DataFrame:
        return assignment_table(accounts, whatif.assignment, territories)

    def workbook() -> bytes:
        return workbook_bytes(accounts, whatif, territories, owner_reps)

    left, right = st.columns(2)
    left.download_button("Assignment (CSV)", lambda: to_csv_bytes(table()), "whatif_assignment.csv", "text/csv",
                         key=keys.REBALANCE_DL_CSV, on_click="ignore", icon=":material/table:", width="stretch",
                         help="One row per account: old and new territory, rep, moved, reason.")
    right.download_button("Assignment + territories (XLSX)", workbook, "whatif.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          key=keys.REBALANCE_DL_XLSX,
                          on_click="ignore", icon=":material/grid_on:", width="stretch",
                          help="The assignment and a per-territory summary sheet.")


def describe(settings: RebalanceSettings, event: tuple | None) -> str:
    """A short name for a what-if from its settings (the default scenario name)."""
    if event and event[0] == "rep_leaves":
        head = f"{event[1]} leaves"
    elif event:
        head = "new hire"
    else:
        head = f"{settings.n_territories} territories"
    parts = [
        head,
        f"{settings.measure} ±{settings.tolerance_pct:.0f}%",
        f"stability {settings.stability:.2f}",
        f"compactness {settings.compactness:.2f}",
    ]
    if settings.industry_teams:
        parts.append(f"{len(settings.industry_teams)} industry teams")
    if settings.industry_focus:
        parts.append(f"industry focus {settings.industry_focus:.2f}")
    if settings.budget_kind == "accounts":
        parts.append(f"≤{settings.budget_accounts} accounts moved")
    elif settings.budget_kind == "revenue_pct":
        parts.append(f"≤{settings.budget_revenue_pct:g}% revenue moved")
    if settings.lock_top_n:
        parts.append(f"top {settings.lock_top_n} locked")
    if settings.units != ACCOUNT:
        parts.append(f"whole {UNIT_PLURAL[settings.units]}")
    return ", ".join(parts)


STATES_TOLERANCE_DEG = 0.03
"""Simplification of the state outlines on the two small maps (about a fifth of a pixel there)."""


def light_states(states: dict, tolerance: float = STATES_TOLERANCE_DEG) -> dict:
    """State outlines simplified for a small map (same features and properties, fewer and shorter
    coordinates): the browser re-reads both maps' JSON on every slider move."""
    from shapely.geometry import mapping, shape

    def rounded(coords):
        if coords and isinstance(coords[0], (int, float)):
            return [round(coords[0], 2), round(coords[1], 2)]
        return [rounded(c) for c in coords]

    features = []
    for feature in states.get("features", []):
        geometry = feature.get("geometry")
        if geometry:
            simple = shape(geometry).simplify(tolerance, preserve_topology=True)
            geometry = {"type": simple.geom_type, "coordinates": rounded(mapping(simple)["coordinates"])}
        features.append({**feature, "geometry": geometry})
    return {**states, "features": features}


@st.cache_data(show_spinner=False)
def _light_states_geojson() -> dict:
    return light_states(cached.us_states_geojson())


def whatif_colors(fingerprint: str, accounts: pd.DataFrame, whatif: WhatIf, territories: pd.DataFrame
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """(before, after) colours: each alignment's own (:func:`cached.alignment_colors`), so the before
    map looks as on the other pages and the after map as it will once made active; the after colours
    also name the territories only the before has (the charts show both)."""
    before = cached.alignment_colors(fingerprint, accounts, whatif.before, territories)
    reps = pd.concat([territories, whatif.after_territories]).drop_duplicates(schema.TERRITORY_ID)
    after = cached.alignment_colors(fingerprint, accounts, whatif.after, reps)
    return before, {**before, **after}


FOCUS_ALL = "(the whole map)"
"""The map focus choice that shows every account."""
FOCUS_MARGIN = 0.25
"""A focused pair frames its territory's accounts plus this share of their extent on every side..."""
FOCUS_MIN_DEG = 0.5
"""...and at least this much (degrees)."""


def focus_box(accounts: pd.DataFrame, mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) around the accounts of ``mask`` with a margin; None without any located.

    >>> frame = pd.DataFrame({"latitude": [40.0, 41.0, 30.0], "longitude": [-100.0, -98.0, -80.0]})
    >>> focus_box(frame, np.array([True, True, False]))
    (-100.5, 39.5, -97.5, 41.5)
    """
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(float)[mask]
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(float)[mask]
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    west, east, south, north = lon[ok].min(), lon[ok].max(), lat[ok].min(), lat[ok].max()
    pad_x = max(FOCUS_MARGIN * (east - west), FOCUS_MIN_DEG)
    pad_y = max(FOCUS_MARGIN * (north - south), FOCUS_MIN_DEG)
    return (float(west - pad_x), float(south - pad_y), float(east + pad_x), float(north + pad_y))


def _focus_ui(ids: Sequence[str], reps: pd.DataFrame) -> str:
    """The pair's one view control: the whole map, or one territory on both maps."""
    names = territory_names(reps)
    return st.selectbox(
        "Show on both maps", [FOCUS_ALL, *ids], key=keys.REBALANCE_MAP_FOCUS,
        format_func=lambda t: names.get(t, t),
        help="Both maps always show the same area. Pick a territory to zoom both onto it (its accounts before "
             "and after, and what surrounds them); panning drags both maps together.",
    ) or FOCUS_ALL


def maps_ui(accounts: pd.DataFrame, whatif: WhatIf, territories: pd.DataFrame, before_colors: Mapping[str, str],
            colors: Mapping[str, str]) -> None:
    """Before and after side by side across the page (one deck when the data allows, else two maps), the
    moved accounts ringed, one view control for both, the legend underneath."""
    try:
        states = _light_states_geojson()
    except (ImportError, FileNotFoundError, OSError):
        states = None
    # Rep home bases of the territories that exist on each side (a new hire has none yet).
    after_ids = set(whatif.after.dropna())
    after_homes = territories[territories[schema.TERRITORY_ID].astype(str).isin(after_ids)]
    ids = sorted(set(whatif.before.dropna()) | after_ids)
    reps = pd.concat([territories, whatif.after_territories]).drop_duplicates(schema.TERRITORY_ID)
    homes = maps.has_home_bases(reps)  # no "Rep home base" in the legend of a map that draws none
    focus = _focus_ui(ids, reps)
    # Layer tables cached per (dataset, alignment, reps, focus): the before map is the same on every slider
    # move and a setting seen before redraws from the cache.
    fingerprint = st.session_state.get(DATASET_KEY) or frame_fingerprint(accounts)
    before_key = f"{fingerprint}:{frame_fingerprint(whatif.before, territories)}"
    after_key = f"{fingerprint}:{frame_fingerprint(whatif.after, after_homes)}"
    shown, zoom = accounts, {}
    if focus != FOCUS_ALL:
        mine = ((whatif.before == focus) | (whatif.after == focus)).fillna(False).to_numpy(dtype=bool)
        box = focus_box(accounts, mine)
        if box is not None:
            lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
            lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
            shown = accounts[lat.between(box[1], box[3]) & lon.between(box[0], box[2])]
            # the whole alignments' shapes, cut to the box (the accounts in it alone would claim the country)
            zoom = {"clip": box, "left_shapes": cached.territory_shapes(before_key, accounts, whatif.before),
                    "right_shapes": cached.territory_shapes(after_key, accounts, whatif.after)}
            before_key, after_key = f"{before_key}:{box}", f"{after_key}:{box}"
    # One deck for both (the after copy sits to the east): one WebGL context, shaders compiled once.
    # Territory IDs alone (the legend below names the reps): on a half-width copy, labels with rep names
    # are too wide to find free spots beside their own territories.
    pair = maps.build_side_by_side(
        shown, whatif.before.reindex(shown.index), whatif.after.reindex(shown.index), territories, after_homes,
        colors=dict(colors), left_colors=dict(before_colors), states_geojson=states, left_key=before_key,
        right_key=after_key, point_radius_px=2.0, width_px=2 * MAP_WIDTH_PX, height_px=MAP_HEIGHT_PX,
        label_reps=False, **zoom,
    )
    # industry-team territories (either side) listed apart: their shapes are outlines over the others
    teams = {**team_territories(accounts, whatif.before), **team_territories(accounts, whatif.after)}
    legend = partial(maps.legend_html, ids, dict(colors), reps, show_homes=homes, columns=LEGEND_COLUMNS, max_items=200,
                     show_moved=True, teams=teams, before_colors=dict(before_colors))
    if pair is not None:
        head_before, head_after = st.columns(2)
        head_before.markdown("**Before**")
        head_after.markdown("**After**")
        st.pydeck_chart(pair.deck, height=MAP_HEIGHT_PX, key=keys.REBALANCE_MAP)
        st.caption("Before on the left, after on the right, always the same area: one map, so dragging moves both. "
                   "Ringed and bold: accounts that change territory. Colours: each side's own, so neighbours never "
                   "look alike; a territory keeps its colour unless a new neighbour holds it (its legend entry then "
                   "shows both).")
        st.html(legend(note=pair.note))
        return
    common = {"states_geojson": states, "point_radius_px": 2.0, "width_px": MAP_WIDTH_PX, "height_px": MAP_HEIGHT_PX,
              "label_reps": False}
    before_view = maps.build_account_map(accounts, whatif.before, territories, cache_key=before_key,
                                         colors=dict(before_colors), **common)
    after_view = maps.build_account_map(accounts, whatif.after, after_homes, cache_key=after_key, colors=dict(colors),
                                        **common)
    left, right = st.columns(2, gap="small")
    with left:
        st.markdown("**Before**")
        st.pydeck_chart(before_view.deck, height=MAP_HEIGHT_PX, key=keys.REBALANCE_MAP_BEFORE)
    with right:
        st.markdown("**After**")
        st.pydeck_chart(after_view.deck, height=MAP_HEIGHT_PX, key=keys.REBALANCE_MAP_AFTER)
    st.html(legend(note=after_view.note))


def _move_accounts(account_ids: Sequence[str], to: str) -> None:
    """Callback: lock these accounts into territory ``to`` (hand-made moves)."""
    moves = get_manual_moves()
    for account_id in account_ids:
        moves[str(account_id)] = str(to)
    st.session_state[MANUAL_MOVES_KEY] = moves
    st.session_state[keys.REBALANCE_PICK_CODES] = ""
    state.record(f"Move {len(account_ids):,} account{'s' if len(account_ids) != 1 else ''} to {to}")


def _unlock(account_ids: Sequence[str] | None) -> None:
    """Callback: forget hand-made moves (all of them when ``account_ids`` is None)."""
    moves = get_manual_moves()
    for account_id in list(moves) if account_ids is None else account_ids:
        moves.pop(str(account_id), None)
    st.session_state[MANUAL_MOVES_KEY] = moves
    state.record("Unlock all hand-moved accounts" if account_ids is None else
                 f"Unlock {len(account_ids):,} account{'s' if len(account_ids) != 1 else ''}")


def pick_table(accounts: pd.DataFrame, labels: pd.Series, territory_id: str | None) -> pd.DataFrame:
    """Accounts (of one territory, or all) as shown in the pick table, biggest revenue first."""
    mask = (labels == territory_id).fillna(False).to_numpy(dtype=bool) if territory_id else slice(None)
    rows = accounts.loc[mask]
    out = pd.DataFrame({
        "Account": rows[schema.ACCOUNT_ID].astype("string"),
        "Name": rows[schema.NAME].astype("string") if schema.NAME in rows else "",
        "Postal code": rows[schema.POSTAL_CODE].astype("string") if schema.POSTAL_CODE in rows else "",
        "City": rows[schema.CITY].astype("string") if schema.CITY in rows else "",
        "Industry": rows[schema.INDUSTRY].astype("string") if schema.INDUSTRY in rows else "",
        "Revenue (USD/yr)": pd.to_numeric(rows.get(schema.REVENUE), errors="coerce"),
        "Workload (h/yr)": pd.to_numeric(rows.get(schema.WORKLOAD_HOURS), errors="coerce"),
        "Territory (after)": labels.loc[rows.index].astype("string"),
    })
    return out.sort_values("Revenue (USD/yr)", ascending=False, na_position="last").reset_index(drop=True)


def _selected_accounts(chart_state) -> list[str]:
    """Account IDs in a plotly selection event (points carry the ID as customdata; the home-base map's
    carry the ZIP)."""
    selection = (chart_state.get("selection") if isinstance(chart_state, Mapping)
                 else getattr(chart_state, "selection", None))
    points = (selection.get("points") if isinstance(selection, Mapping) else getattr(selection, "points", None))
    out = []
    for point in points or []:
        value = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None:
            out.append(str(value))
    return out


def manual_moves_ui(accounts: pd.DataFrame, whatif: WhatIf, territory_ids: Sequence[str],
                    colors: Mapping[str, str]) -> None:
    """Pick accounts (box/lasso on a chart, table rows, pasted postal codes or IDs) and lock them
    into a territory."""
    st.caption("Pick accounts by drawing a box or lasso on the chart, ticking rows in the table, or pasting "
               "postal codes or account IDs; choose a territory and move them. Hand-moved accounts stay "
               "locked there, through every slider change, until you unlock them.")
    ids = list(territory_ids)
    chart_col, table_col = st.columns([1, 1], gap="medium")
    with chart_col:
        chart = st.plotly_chart(
            rebalance_charts.selection_figure(accounts, whatif.after, colors), key=keys.REBALANCE_PICK_CHART,
            on_select="rerun",
            selection_mode=("box", "lasso"), width="stretch",
        )
        from_chart = _selected_accounts(chart)
    with table_col:
        shown = st.selectbox("Show accounts of territory (after)", ids, key=keys.REBALANCE_PICK_FROM)
        table = pick_table(accounts, whatif.after, shown)
        picked = st.dataframe(
            table, key=keys.REBALANCE_PICK_TABLE, on_select="rerun", selection_mode="multi-row", hide_index=True,
            height=220, width="stretch",
            column_config={
                "Revenue (USD/yr)": st.column_config.NumberColumn(format="$%,.0f"),
                "Workload (h/yr)": st.column_config.NumberColumn(format="%,.0f"),
            },
        )
        rows = list(getattr(getattr(picked, "selection", None), "rows", []) or [])
        from_table = table["Account"].iloc[[r for r in rows if r < len(table)]].tolist()
        text = st.text_area("Postal codes or account IDs", key=keys.REBALANCE_PICK_CODES, height=80,
                            placeholder="02134, 10001\nA000123")
        pasted, unknown = parse_account_list(text or "", accounts)
        from_text = accounts.loc[pasted, schema.ACCOUNT_ID].astype("string").tolist()
        if unknown:
            shown_unknown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            st.warning(f"{len(unknown)} not found (no account has that postal code or ID): "
                       f"{md_escape(shown_unknown)}")
    chosen = list(dict.fromkeys(from_chart + from_table + from_text))
    summary, target, go_col = st.columns([2, 1, 1], vertical_alignment="bottom")
    summary.markdown(f"**{len(chosen):,} picked**: {len(from_chart):,} on the chart, {len(from_table):,} in "
                     f"the table, {len(from_text):,} pasted")
    to = target.selectbox("Move to territory", ids, key=keys.REBALANCE_MOVE_TO)
    go_col.button(
        f"Move {len(chosen):,} account{'s' if len(chosen) != 1 else ''} to {md_escape(to)}", key=keys.REBALANCE_MOVE,
        type="primary", disabled=not chosen, on_click=_move_accounts, args=(chosen, to), width="stretch",
    )
    moves = get_manual_moves()
    if moves:
        st.markdown(f"**Locked by hand ({len(moves):,})**")
        locked = pd.DataFrame({"Account": list(moves), "Locked in": list(moves.values())})
        by_id = accounts.set_index(accounts[schema.ACCOUNT_ID].astype("string"))
        locked["Name"] = locked["Account"].map(by_id[schema.NAME].astype("string")) if schema.NAME in by_id else ""
        before_by_id = pd.Series(whatif.before.to_numpy(), index=by_id.index)
        locked["Was in"] = locked["Account"].map(before_by_id)
        unlock_pick = st.dataframe(locked[["Account", "Name", "Was in", "Locked in"]], key=keys.REBALANCE_LOCKED_TABLE,
                                   on_select="rerun", selection_mode="multi-row", hide_index=True,
                                   width="stretch", height=min(300, 38 + 35 * len(locked)))
        sel = list(getattr(getattr(unlock_pick, "selection", None), "rows", []) or [])
        c1, c2, _ = st.columns([1, 1, 2])
        c1.button(f"Unlock {len(sel)} selected", key=keys.REBALANCE_UNLOCK, disabled=not sel, on_click=_unlock,
                  args=(locked["Account"].iloc[sel].tolist(),), width="stretch")
        c2.button("Unlock all", key=keys.REBALANCE_UNLOCK_ALL, on_click=_unlock, args=(None,), width="stretch")
