"""Rebalance one part of the organisation: ``balance --scope region=West``.

A regional VP rebalances the West without touching anyone else. The scope is a set of territories
chosen by region or district (``region=West``, ``district=Pacific``; several choices add up). Only
accounts whose current territory is in scope may move, and only among in-scope territories, whose
targets are the scope's own total shared by capacity. Everything outside the scope is returned
exactly as it came in.

The engine is not changed for this: :func:`balance_in_scope` cuts the in-scope sub-problem out
(its accounts, its territories), balances it with the ordinary engine and merges the result back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from territory.data.schema import (
    ACCOUNT_ID,
    CAPACITY_FTE,
    DEFAULT_CAPACITY_FTE,
    DISTRICT,
    LATITUDE,
    LONGITUDE,
    REGION,
    REP_NAME,
    TERRITORY_ID,
)
from territory.engine import BalanceParams, BalanceResult, balance
from territory.engine.ids import new_ids
from territory.engine.notes import Note
from territory.engine.params import measure_values
from territory.errors import ParameterError
from territory.geo import weighted_centers
from territory.planning.events import NEW_HIRE_REP_NAME
from territory.planning.hierarchy import level_names

SCOPE_LEVELS: tuple[str, ...] = (REGION, DISTRICT)
SCOPE_NOTE = "scope"  # the note saying what was in scope

Scope = tuple[tuple[str, str], ...]
"""((level, name), ...): the territories whose ``level`` column is any of the names are in scope."""


def parse_scope(text: str) -> tuple[str, str]:
    """``"region=West"`` -> ``("region", "West")``; a clear error for anything else.

    >>> parse_scope(" district = Pacific ")
    ('district', 'Pacific')
    """
    level, sep, name = str(text).partition("=")
    level, name = level.strip().lower(), name.strip()
    if not sep or level not in SCOPE_LEVELS or not name:
        raise ParameterError(
            f"a scope is region=NAME or district=NAME (e.g. region=West), got {text!r}")
    return level, name


def scope_text(scope: Scope) -> str:
    """``region=West, district=Pacific``: the scope as the user wrote it."""
    return ", ".join(f"{level}={name}" for level, name in scope)


def scope_ids(territories: pd.DataFrame | None, scope: Scope) -> list[str]:
    """The territory IDs in scope (table order), checked: every level exists and every name matches."""
    if not scope:
        raise ParameterError("the scope is empty: name at least one region=NAME or district=NAME.")
    if territories is None or not len(territories):
        raise ParameterError("a scope needs a territories/reps file with region (or district) per territory.")
    ids = territories[TERRITORY_ID].astype(str)
    chosen = np.zeros(len(territories), dtype=bool)
    for level, name in scope:
        if level not in territories.columns:
            raise ParameterError(f"the territories/reps file has no {level} column, so {level}={name} names nothing.")
        values = territories[level].astype("string").str.strip()
        hit = (values == name).fillna(False).to_numpy(dtype=bool)
        if not hit.any():
            known = sorted(set(values.dropna()))
            raise ParameterError(
                f"no territory has {level} {name!r}; {level}s in the file: {', '.join(known) or 'none'}.")
        chosen |= hit
    return list(dict.fromkeys(ids[chosen]))


def _centres(accounts: pd.DataFrame, labels: pd.Series, ids: list[str], balance_on) -> pd.DataFrame:
    weights = measure_values(accounts, balance_on) + 1e-9
    centres = weighted_centers(accounts[LATITUDE].to_numpy(float), accounts[LONGITUDE].to_numpy(float),
                               labels.astype(str).to_numpy(dtype=object), weights).reindex(ids)
    return pd.DataFrame({TERRITORY_ID: pd.array(ids, dtype="string"),
                         LATITUDE: centres["latitude"].to_numpy(float),
                         LONGITUDE: centres["longitude"].to_numpy(float)})


def _new_rows(scope_table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Rows of the territories table for new hires inside a scope: 1 FTE, no home base yet, the
    scope's region and district where all its territories share one."""
    rows = pd.DataFrame({TERRITORY_ID: ids, REP_NAME: NEW_HIRE_REP_NAME, CAPACITY_FTE: DEFAULT_CAPACITY_FTE})
    for level in SCOPE_LEVELS:
        if level in scope_table:
            values = scope_table[level].astype("string").dropna().unique()
            rows[level] = values[0] if len(values) == 1 else pd.NA
    return rows


def _unchanged(accounts: pd.DataFrame, current: pd.Series) -> pd.DataFrame:
    """The assignment in which nothing moves (what every account outside the balanced part keeps)."""
    return pd.DataFrame({
        ACCOUNT_ID: accounts[ACCOUNT_ID].astype("string"),
        TERRITORY_ID: current,
        "previous_territory_id": current,
        "moved": np.zeros(len(accounts), dtype=bool),
        "reason": pd.Series("", index=accounts.index, dtype=object),
    }, index=accounts.index)


def _merge(assignment: pd.DataFrame, part: pd.DataFrame, rows: np.ndarray) -> None:
    """Write the balanced part's assignment into the whole one, in place, at ``rows``."""
    index = assignment.index[rows]
    for column in assignment.columns:
        assignment.loc[rows, column] = part[column].reindex(index).to_numpy()
    assignment["moved"] = assignment["moved"].astype(bool)


def balance_in_scope(
    accounts: pd.DataFrame,
    params: BalanceParams,
    territories: pd.DataFrame | None,
    scope: Scope,
    runner: Callable[..., BalanceResult] = balance,
) -> BalanceResult:
    """Balance only the territories in ``scope`` among themselves; everything else as it came in.

    ``runner`` balances the in-scope sub-problem (the engine's ``balance`` by default).
    ``params.n_territories`` is the scope's number of territories: unset keeps it; more hires
    inside the scope (the new territories get IDs no territory of the company has, rep "New hire",
    the scope's region and district when it has one); fewer closes the scope's least loaded.
    Industry teams are not available inside a scope.
    """
    started = time.perf_counter()
    if TERRITORY_ID not in accounts.columns or not accounts[TERRITORY_ID].notna().any():
        raise ParameterError("a scope needs today's alignment (a territory_id column): it says which accounts "
                             "are in scope.")
    if params.industry_teams:
        raise ParameterError("industry teams cover the whole company; balance them without a scope.")
    ids = scope_ids(territories, scope)
    current = accounts[TERRITORY_ID].astype("string")
    inside = current.isin(ids).fillna(False).to_numpy(dtype=bool)
    if not inside.any():
        raise ParameterError(f"no account is in a territory of the scope {scope_text(scope)} today.")
    sub_territories = territories[territories[TERRITORY_ID].astype(str).isin(ids)].reset_index(drop=True)
    hires = 0 if params.n_territories is None else int(params.n_territories) - len(ids)
    if hires > 0:
        taken = sorted(set(territories[TERRITORY_ID].astype(str)) | set(current.dropna().astype(str)))
        sub_territories = pd.concat([sub_territories, _new_rows(sub_territories, new_ids(taken, hires))],
                                    ignore_index=True)
    sub = runner(accounts.loc[inside], replace(params, n_territories=None if hires > 0 else params.n_territories),
                 sub_territories)

    assignment = _unchanged(accounts, current)
    _merge(assignment, sub.assignment, inside)

    outside_ids = sorted(set(current[~inside].dropna().astype(str)) - set(ids))
    outside_centres = _centres(accounts.loc[~inside], current[~inside], outside_ids, params.balance_on)
    outside_rows = territories[territories[TERRITORY_ID].astype(str).isin(outside_ids)]
    note = Note(SCOPE_NOTE, (
        f"Scope {scope_text(scope)}: {len(ids)} territories ({', '.join(ids)}) and {int(inside.sum()):,} accounts "
        f"balanced among themselves{f', with {hires} new' if hires > 0 else ''}; the other {len(outside_ids)} "
        f"territories and {int((~inside).sum()):,} accounts are unchanged."),
        data={"scope": tuple(scope), "territories": tuple(ids), "accounts": int(inside.sum())})
    return replace(
        sub,
        assignment=assignment,
        centers=pd.concat([sub.centers, outside_centres], ignore_index=True),
        territories=pd.concat([sub.territories, outside_rows[[c for c in sub.territories.columns
                                                               if c in outside_rows.columns]]], ignore_index=True),
        notes=(note, *sub.notes),
        params=params,
        seconds=time.perf_counter() - started,
    )



WITHIN_NOTE = "within"  # the note saying each region (or district) was balanced on its own


def balance_within(
    accounts: pd.DataFrame,
    params: BalanceParams,
    territories: pd.DataFrame | None,
    level: str,
    runner: Callable[..., BalanceResult] = balance,
) -> BalanceResult:
    """A full rebalance in which every region (``level`` "region") or district is balanced with
    its own territories: an account stays in the region of its current territory, so no territory
    mixes regions, and each region's targets are its own total by capacity. Each region keeps its
    number of territories (``params.n_territories`` must be unset); no industry teams.
    """
    started = time.perf_counter()
    if level not in SCOPE_LEVELS:
        raise ParameterError(f"within takes region or district, got {level!r}.")
    if params.n_territories is not None:
        raise ParameterError(f"balancing within each {level} keeps every {level}'s territories; leave the number "
                             f"of territories unset (asked for {params.n_territories}).")
    if params.industry_teams:
        raise ParameterError(f"industry teams cross {level}s; balance them without within.")
    if territories is None or level not in territories.columns:
        raise ParameterError(f"balancing within each {level} needs a territories/reps file with a {level} column.")
    if TERRITORY_ID not in accounts.columns:
        raise ParameterError(f"balancing within each {level} needs today's alignment (a territory_id column): an "
                             f"account's {level} is its territory's.")
    current = accounts[TERRITORY_ID].astype("string")
    missing = int(current.isna().sum())
    if missing:
        raise ParameterError(f"{missing:,} accounts have no territory, so no {level}; give them one first "
                             f"(an account's {level} is its territory's).")
    table_ids = territories[TERRITORY_ID].astype(str)
    all_ids = list(dict.fromkeys([*table_ids, *sorted(set(current.astype(str)))]))
    group_of = level_names(territories, level, all_ids)  # "(none)" where the table has none
    account_group = current.astype(str).map(group_of).to_numpy(dtype=object)

    assignment = _unchanged(accounts, current)
    centers, tables, notes, groups = [], [], [], []
    feasible = True
    for name in sorted(set(account_group)):
        inside = account_group == name
        ids = [t for t in all_ids if group_of[t] == name]
        sub_territories = territories[table_ids.isin(ids).to_numpy()].reset_index(drop=True)
        sub = runner(accounts.loc[inside], params, sub_territories if len(sub_territories) else None)
        _merge(assignment, sub.assignment, inside)
        centers.append(sub.centers)
        tables.append(sub.territories)
        feasible = feasible and bool(sub.feasible)
        label = f"{level.capitalize()} {name}"
        notes.extend(replace(note, text=f"{label}: {note.text}", data={**note.data, level: name})
                     for note in sub.notes)
        groups.append({"name": name, "territories": tuple(sorted(set(sub.assignment[TERRITORY_ID].dropna()
                                                                      .astype(str)))),
                       "accounts": int(inside.sum())})
    head = Note(WITHIN_NOTE, (
        f"Balanced within each {level}: {len(groups)} {level}s, each among its own territories against its own "
        f"total; no account changes {level}."), data={"level": level, "groups": tuple(groups)})
    return BalanceResult(
        assignment=assignment, centers=pd.concat(centers, ignore_index=True),
        territories=pd.concat(tables, ignore_index=True), feasible=feasible, notes=(head, *notes), params=params,
        seconds=time.perf_counter() - started)


WITHIN_COLUMNS: tuple[str, ...] = ("name", "territories", "accounts", "max_deviation_pct", "moved_accounts")


def within_deviations(accounts: pd.DataFrame, labels: pd.Series, previous: pd.Series,
                      territories: pd.DataFrame, level: str, balance_on="workload") -> pd.DataFrame:
    """How well each region (``level`` "region") or district of a :func:`balance_within` result is
    balanced against its own total: one row per group (``WITHIN_COLUMNS``: its name, territories,
    accounts, the largest deviation of its territories from their targets in %, accounts moved).

    An account belongs to the group of its ``previous`` territory (within never changes it); the
    figures are :func:`territory.planning.metrics.scorecard` on the group alone, so each target is
    the group's total by capacity, as the balance had it. The CLI's ``--within --json`` and the
    Rebalance page show these rows.
    """
    from territory.planning.metrics import scorecard

    previous = pd.Series(np.asarray(previous, dtype=object), index=accounts.index).astype("string")
    labels = pd.Series(np.asarray(labels, dtype=object), index=accounts.index).astype("string")
    table_ids = territories[TERRITORY_ID].astype(str)
    present = sorted(set(previous.dropna().astype(str)))
    ids = sorted(set(present) | set(table_ids))
    group_of = level_names(territories, level, ids)
    rows = []
    for name in sorted(set(group_of[present])):
        members = [t for t in ids if group_of[t] == name]
        inside = previous.isin(members).fillna(False).to_numpy(dtype=bool)
        card = scorecard(accounts[inside], labels[inside], previous=previous[inside],
                         territories=territories[table_ids.isin(members).to_numpy()], balance_on=balance_on)
        rows.append({"name": name, "territories": int(card["territories"]), "accounts": int(inside.sum()),
                     "max_deviation_pct": card.get("max_deviation_pct"), "moved_accounts": card.get("moved_accounts")})
    return pd.DataFrame(rows, columns=list(WITHIN_COLUMNS))
