"""The Territories page's capacity planning tab: reps needed per region and district, and
"what if we hire N in the West" handed to the Rebalance page (scope + count) to run on the engine."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from territory.planning.capacity import CapacityPlan, capacity_plan
from territory.reporting.text import md_escape
from territory.ui import keys
from territory.ui import rebalance as rb

DEFAULT_HOURS_PER_FTE = 1800.0
"""Selling hours of a full-time rep per year the tab starts at (about 45 weeks of 40 hours)."""
DEFAULT_UTILISATION = 0.9
LEVEL_LABEL = {"company": "Company", "region": "Region", "district": "District"}


def summary(plan: CapacityPlan) -> str:
    """One sentence: what the company needs against today, and the most short-staffed region."""
    levels = plan.levels
    company = levels[levels["level"] == "company"].iloc[0]
    per_fte = plan.hours_per_fte * plan.utilisation
    more = "more" if company["gap"] >= 0 else "fewer"
    text = (f"At {plan.utilisation:.0%} of {plan.hours_per_fte:,.0f} h per FTE ({per_fte:,.0f} h of account work a "
            f"year per rep), the {company['workload_hours']:,.0f} h of workload need {company['fte_needed']:,.1f} FTE: "
            f"{abs(company['gap']):,.1f} {more} than the {company['fte']:,.1f} today.")
    regions = levels[levels["level"] == "region"]
    if len(regions):
        short = regions.loc[regions["gap"].idxmax()]
        if short["gap"] > 0:
            text += f" Most short: {md_escape(short['name'])} ({short['gap']:+,.1f} FTE)."
    return text


def display_table(plan: CapacityPlan) -> pd.DataFrame:
    """The plan as shown: level names readable, figures rounded for reading (FTE to 0.01)."""
    out = plan.levels.copy()
    out["level"] = out["level"].map(LEVEL_LABEL)
    return out.round({"workload_hours": 0, "fte": 2, "fte_needed": 2, "gap": 2})


def _plan_hires(scope: str, hires: int, n_current: int, alignment_key: str) -> None:
    """Put "hire ``hires`` in ``scope``" into the Rebalance settings (kept and restored by that page)."""
    values = {rb.SETTING_KEYS["scope"]: [scope], rb.SETTING_KEYS["n_territories"]: n_current + int(hires)}
    saved = dict(st.session_state.get(keys.REBALANCE_SETTINGS) or {})
    saved.update(values)
    st.session_state[keys.REBALANCE_SETTINGS] = saved
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state[keys.REBALANCE_COUNT_FOR] = alignment_key  # the count is set for this alignment


def capacity_ui(accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame, alignment_key: str) -> None:
    """Hours per FTE and utilisation in, the plan per level out, and the hire what-if."""
    left, right, _ = st.columns([1, 1, 2])
    hours = left.number_input("Selling hours per FTE (h/yr)", min_value=100.0, max_value=8760.0,
                              value=DEFAULT_HOURS_PER_FTE, step=100.0, format="%.0f",
                              key=keys.TERRITORIES_HOURS_PER_FTE,
                              help="Hours a full-time rep has for selling in a year.")
    share = right.slider("Target utilisation (%)", 50, 100, int(DEFAULT_UTILISATION * 100), step=5,
                         key=keys.TERRITORIES_UTILISATION,
                         help="Share of those hours the accounts should take; the rest is travel, admin, training.")
    plan = capacity_plan(accounts, labels, territories, hours, share / 100.0)
    st.markdown(summary(plan))
    st.dataframe(
        display_table(plan), hide_index=True, key=keys.TERRITORIES_CAPACITY_TABLE,
        height=min(38 + 35 * len(plan.levels), 740),
        column_config={
            "level": st.column_config.TextColumn("Level"),
            "name": st.column_config.TextColumn("Name"),
            "territories": st.column_config.NumberColumn("Territories"),
            "workload_hours": st.column_config.NumberColumn("Workload (h/yr)", format="localized"),
            "fte": st.column_config.NumberColumn("FTE today", format="%.2f"),
            "fte_needed": st.column_config.NumberColumn("FTE needed", format="%.2f",
                                                        help="Workload / (hours per FTE x utilisation)."),
            "gap": st.column_config.NumberColumn("Gap (FTE)", format="%+.2f",
                                                 help="Needed minus today: above 0 hire, below 0 the reps have room."),
            "status": st.column_config.TextColumn("Status"),
        },
    )
    scopes = rb.scope_choices(territories)
    if not scopes:
        st.caption("No territory has a region or district: a territories file with them (Data page) plans "
                   "hires per region.")
        return
    regions = plan.levels[plan.levels["level"] != "company"]
    short = regions.loc[regions["gap"].idxmax()]
    default_scope = f"{short['level']}={short['name']}"
    st.markdown("**What if we hire...**")
    count_col, scope_col, go_col = st.columns([1, 2, 2], vertical_alignment="bottom")
    hires = count_col.number_input("Reps", min_value=1, max_value=20, step=1, key=keys.TERRITORIES_HIRE_COUNT,
                                   value=max(1, min(20, math.ceil(max(float(short["gap"]), 0.0)))))
    scope = scope_col.selectbox("in", scopes, index=scopes.index(default_scope) if default_scope in scopes else 0,
                                format_func=rb.scope_label, key=keys.TERRITORIES_HIRE_SCOPE)
    if go_col.button("Run it on Rebalance", key=keys.TERRITORIES_HIRE_GO, type="primary", width="stretch",
                     icon=":material/balance:",
                     help="Opens Rebalance with only this region or district rebalanced and the new territories "
                          "carved inside it; nothing changes until you press Make active there."):
        _plan_hires(scope, hires, int(labels.dropna().nunique()), alignment_key)
        st.switch_page("pages/rebalance.py")
