"""Streamlit pieces of the Routing page: the cached routing base, the rules editor, the tester and
the upload of new accounts. Everything they show is computed in ``territory.planning.routing``."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from territory.data import schema
from territory.errors import TerritoryError
from territory.planning import routing as R
from territory.planning.scenarios import ScenarioError, ScenarioStore
from territory.reporting.text import chart_labels, md_escape
from territory.ui import keys, state
from territory.ui.components import widgets

RULES_KEY = keys.ROUTING_RULES
"""Session key: {alignment fingerprint: StartingRules loaded or uploaded on the page} (survives page changes)."""


@st.cache_data(show_spinner=False, max_entries=4)
def _base(accounts_key: str, labels_key: str, basis_key: str, _accounts, _labels, _territories, _basis):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return R.routing_base(_accounts, _labels, _territories, _basis.balance_on, _basis.tolerance,
                          counted_types=_basis.counted_for(_accounts))


def routing_base(dataset, alignment) -> R.RoutingBase:
    """The alignment in use as a routing base, on its own basis (measure, band and the account types
    that carry load), as the other pages count it."""
    basis = state.basis_of(alignment, dataset)
    return _base(dataset.fingerprint, alignment.fingerprint, repr(basis), dataset.accounts, alignment.labels,
                 dataset.territories, basis)


@st.cache_data(show_spinner=False, max_entries=4)
def _default_rules(accounts_key: str, labels_key: str, _accounts, _labels) -> pd.DataFrame:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return R.default_rules(_accounts, _labels).to_frame()


@dataclass(frozen=True)
class StartingRules:
    """The table the rules editor starts from and where it came from (said in the page's caption)."""

    table: pd.DataFrame
    source: str  # Markdown, names escaped
    generation: int = 0  # counts the tables set on the page, so setting the same table again resets edits

    @property
    def fingerprint(self) -> str:
        """Part of the editor's key: a new starting table starts a fresh editor (not old edits on it)."""
        content = int(pd.util.hash_pandas_object(self.table.astype(str), index=False).sum()) % 16**12
        return f"{content:012x}_{self.generation}"


def default_starting_rules(dataset, alignment) -> StartingRules:
    table = _default_rules(dataset.fingerprint, alignment.fingerprint, dataset.accounts, alignment.labels)
    return StartingRules(table, "the alignment's default rules")


def starting_rules(dataset, alignment, store: ScenarioStore) -> StartingRules:
    """Rules loaded or uploaded on this page for this alignment, else those saved with the scenario the
    alignment was opened from (Scenarios page, *Set as active alignment*), else its default rules."""
    kept = st.session_state.get(RULES_KEY, {})
    if alignment.fingerprint in kept:
        return kept[alignment.fingerprint]
    if alignment.scenario:
        try:
            saved = store.load_rules(alignment.scenario)
        except ScenarioError:  # deleted or renamed since it was opened
            saved = None
        if saved is not None:
            return StartingRules(saved, f"the rules saved with scenario **{md_escape(alignment.scenario)}**")
    return default_starting_rules(dataset, alignment)


def set_starting_rules(alignment, rules: StartingRules | None) -> None:
    """Start the editor from ``rules`` (None: back to what the alignment starts from)."""
    kept = dict(st.session_state.get(RULES_KEY, {}))
    if rules is None:
        kept.pop(alignment.fingerprint, None)
    else:
        previous = kept.get(alignment.fingerprint)
        kept[alignment.fingerprint] = replace(rules, generation=(previous.generation + 1) if previous else 1)
    st.session_state[RULES_KEY] = kept


def rules_in_use(dataset, alignment, start: StartingRules, edited: R.RuleSet, problems: list,
                 territory_ids: tuple[str, ...]) -> R.RuleSet:
    """The rules the tester and the upload use: the edited rules when they have no problems (else
    they are listed), else the starting table's, else (saved rules that no longer fit) the default rules."""
    if not problems:
        return edited
    rules, start_problems = R.check_rules(start.table, territory_ids)
    if not start_problems:
        show_problems(problems, "the tester and the upload use the rules as they were before the edit until "
                                "these are fixed")
        return rules
    show_problems(problems, f"{start.source} do not fit this alignment, so the tester and the upload use its "
                            "default rules until these are fixed")
    return R.parse_rules(default_starting_rules(dataset, alignment).table, territory_ids)


# the rules file's columns as the editor heads them (problems name the column the user sees)
EDITOR_COLUMNS = {"priority": "Priority", "kind": "Kind", "value": "Value", schema.TERRITORY_ID: "Territory"}


def rules_editor_ui(table: pd.DataFrame, territory_ids: tuple[str, ...],
                    key: str) -> tuple[pd.DataFrame, R.RuleSet, list]:
    """The editable rules table; returns what is in it now, its rules and its problems (row by row)."""
    edited = st.data_editor(
        table,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        height=320,
        column_config={
            "priority": st.column_config.NumberColumn(EDITOR_COLUMNS["priority"], step=1, format="%,d",
                                                      help="Lowest first; first match wins."),
            "kind": st.column_config.SelectboxColumn(EDITOR_COLUMNS["kind"], options=list(R.KINDS), required=True,
                                                     format_func=kind_label),
            "value": st.column_config.TextColumn(
                EDITOR_COLUMNS["value"], help="02139, 02100-02199, 021, MA, Healthcare, acme.com, an account ID; "
                              "add a size band after '&': 'CA & revenue >= 5000000'."),
            schema.TERRITORY_ID: st.column_config.SelectboxColumn(
                EDITOR_COLUMNS[schema.TERRITORY_ID], options=["", *territory_ids], help="Blank for the nearest rule."),
        },
    )
    rules, problems = R.check_rules(edited, territory_ids)
    return edited, rules, problems


def show_problems(problems: list, consequence: str) -> None:
    """The rules' problems row by row, each naming its column as the editor heads it."""
    shown = "\n".join(f"- {md_escape(p.text(EDITOR_COLUMNS))}" for p in problems[:15])
    more = f"\n- ... and {len(problems) - 15} more" if len(problems) > 15 else ""
    st.error(f"{len(problems)} problem(s) in the rules; {consequence}:\n{shown}{more}")


def tester_ui(industries: list[str]) -> dict:
    """The 'where would this account land?' inputs, as keyword arguments of ``where_would_it_land``."""
    cols = st.columns([1, 1, 1.4, 1.2, 1])
    inputs = {
        "postal_code": cols[0].text_input("ZIP", value="02139", key=keys.ROUTING_ZIP),
        "state": cols[1].text_input("State", value="", key=keys.ROUTING_STATE, help="Two letters; optional."),
        "industry": cols[2].selectbox("Industry", ["", *industries], index=0, key=keys.ROUTING_INDUSTRY,
                                      format_func=lambda name: name or "(any)"),
    }
    # in thousands: the input box cannot show thousands separators, and 2500000 is hard to read
    thousands = cols[3].number_input("Revenue (thousand USD/yr)", min_value=0.0, value=250.0, step=50.0,
                                     format="%.0f", key=keys.ROUTING_REVENUE,
                                     help="250 means $250,000 a year; the size-band rules read it.")
    inputs["revenue"] = None if thousands is None else thousands * 1000.0
    inputs["employees"] = cols[4].number_input("Employees", min_value=0, value=None, step=10,
                                               key=keys.ROUTING_EMPLOYEES)
    return inputs


def kind_label(kind: object) -> str:
    """A rule kind as the user reads it ("ZIP prefix"); the rules file keeps its own words (zip_prefix)."""
    return R.KIND_WORDS.get(str(kind), str(kind))


def rule_text(row: pd.Series) -> str:
    """ "#120 · ZIP prefix 021" from the routed row's structured rule fields ("none" without a rule)."""
    return str(rule_texts(row.to_frame().T).iloc[0])


def show_landing(row: pd.Series) -> None:
    # wide enough at 1500 px for an owner's name and a rule such as "#1760 · ZIP or ZIP range 02139"
    cols = st.columns([1, 2])
    cols[0].metric("Territory", str(row[schema.TERRITORY_ID]) if pd.notna(row[schema.TERRITORY_ID]) else "none")
    cols[1].metric("Rule", rule_text(row))
    st.caption(f"**Why:** {md_escape(row['reason'])}")


def tester(base: R.RoutingBase, rules: R.RuleSet, inputs: dict) -> None:
    try:
        row = R.where_would_it_land(base, rules, **inputs)
    except TerritoryError as error:
        st.warning(md_escape(error))
        return
    show_landing(row)


def show_full_before(load: pd.DataFrame) -> None:
    """Say so when the alignment is already above its band somewhere: the guard then sends every new
    account of those territories next door, which looks odd unless the reason is in view."""
    full = load[load["full_before"]].sort_values("load_before", ascending=False)
    if full.empty:
        return
    over = ((full["load_before"] / full["target"] - 1) * 100).round().astype(int)
    named = ", ".join(f"{md_escape(t)} +{p}%" for t, p in zip(full[schema.TERRITORY_ID].astype(str), over))
    st.info(f"{len(full)} territories are above their band before any new account ({named}), so the capacity "
            "guard sends the new accounts their rules choose to the nearest adjacent territory with room. "
            "Rebalance first to route into a balanced plan, or switch the guard off.")


def load_figure(load: pd.DataFrame, label: str) -> go.Figure:
    """Load per territory before and added by the new accounts (stacked), against the band."""
    ids = chart_labels(load[schema.TERRITORY_ID].astype(str))
    fig = go.Figure()
    fig.add_bar(x=ids, y=load["load_before"], name="Before", marker_color="#9aa5b1")
    fig.add_bar(x=ids, y=load["load_added"], name="Added by the new accounts", marker_color="#2b7bb9")
    for column, name in (("upper", "Upper band"), ("lower", "Lower band")):
        fig.add_scatter(x=ids, y=load[column], mode="markers", name=name,
                        marker={"symbol": "line-ew", "size": 18, "line": {"width": 2, "color": "#c0392b"}})
    fig.update_layout(barmode="stack", height=340, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      yaxis_title=label, yaxis_tickformat=",", legend={"orientation": "h", "y": 1.12})
    return fig


LOAD_LABELS = {
    schema.TERRITORY_ID: "Territory", "new_accounts": "New accounts", "load_before": "Before",
    "load_added": "Added", "load_after": "After", "target": "Target", "lower": "Lower band",
    "upper": "Upper band", "deviation_pct": "Deviation %", "within_band": "Within band",
    "full_before": "Above band before",
}


IN_UNIT = ("load_before", "load_added", "load_after", "target", "lower", "upper")


def show_load_table(load: pd.DataFrame, unit: str) -> None:
    """The per-territory load (in ``unit``) rounded to whole units for display, with thousands
    separators; the band check stays exact."""
    shown = load.copy()
    for column in IN_UNIT:
        shown[column] = np.round(shown[column].astype(float))
    shown["deviation_pct"] = np.round(shown["deviation_pct"].astype(float), 1)
    config = {column: st.column_config.NumberColumn(LOAD_LABELS[column], help=f"In {unit}.", format="localized")
              for column in IN_UNIT}
    config["deviation_pct"] = st.column_config.NumberColumn(
        LOAD_LABELS["deviation_pct"], format="%+.1f%%", help="Load after against the target after.")
    config["full_before"] = st.column_config.CheckboxColumn(
        LOAD_LABELS["full_before"], help="Above the upper band before any new account: the guard sends its new "
                                         "accounts to the nearest adjacent territory with room.")
    for column in (schema.TERRITORY_ID, "new_accounts", "within_band"):
        config[column] = st.column_config.Column(LOAD_LABELS[column])
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=keys.ROUTING_LOAD_TABLE)


ROUTED_LABELS = {
    schema.ACCOUNT_ID: "Account", schema.TERRITORY_ID: "Territory", "rule": "Rule", "reason": "Why",
    "reason_code": "Reason code", "rule_territory_id": "Rule's territory",
}


def routed_display(result: pd.DataFrame, routing: R.Routing) -> pd.DataFrame:
    """The routed table as the page shows it: each rule named as the editor names it ("#120 · ZIP
    prefix 021", not the file's "#120 zip_prefix 021") and no reason code (the "Why" column says
    it in words); the download keeps the columns ``assign`` writes."""
    routed = routing.assignment[(routing.assignment["reason_code"] != R.NO_RULE).to_numpy()]
    shown = result.drop(columns=["reason_code"])
    shown["rule"] = rule_texts(routed).to_numpy()
    return shown


def rule_texts(routed: pd.DataFrame) -> pd.Series:
    """:func:`rule_text` for every row at once (a file of new accounts can hold 100,000)."""
    priority = routed["rule_priority"].astype("Int64").astype("string")
    priority = ("#" + priority + " \u00b7 ").fillna("")
    value = routed["rule_value"].astype("string").fillna("")
    value = (" " + value).where(value != "", "")
    kind = routed["rule_kind"].map(kind_label, na_action="ignore").astype("string")
    return (priority + kind + value).where(routed["rule_kind"].notna(), "none")


def show_routed_table(result: pd.DataFrame, routing: R.Routing) -> None:
    """One row per routed account (:func:`routed_display`), every column named for people."""
    shown = routed_display(result, routing)
    config = widgets.schema_column_config(shown)
    config.update({column: st.column_config.Column(label) for column, label in ROUTED_LABELS.items()})
    config["reason"] = st.column_config.TextColumn(ROUTED_LABELS["reason"], width="large")
    config["rule_territory_id"] = st.column_config.Column(
        ROUTED_LABELS["rule_territory_id"], help="Where the rule sent it, before the capacity guard.")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=keys.ROUTING_RESULT)


def show_rejected(rejected: list[dict]) -> None:
    """The rows not routed, by their row in the file (header not counted)."""
    st.dataframe(pd.DataFrame(rejected, columns=["row", schema.ACCOUNT_ID, "reason"]), hide_index=True,
                 width="stretch", key=keys.ROUTING_REJECTED,
                 column_config={"row": st.column_config.NumberColumn("Row", format="%d"),
                                schema.ACCOUNT_ID: "Account", "reason": "Why"})
