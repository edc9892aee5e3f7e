"""Industry teams overlaid on geographic territories.

Some sales organisations give a few industries (say Healthcare) to specialist reps: every Healthcare
account in the country goes to one of the Healthcare team's territories, and the geographic
territories cover everything else. ``balance_with_teams`` builds that plan out of single-group
solves (:func:`territory.engine.single.balance_single`), one per team plus one for the
geographic rest, so each team is balanced and compact among itself with the same engine and
settings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from territory.data.schema import (
    ACCOUNT_ID,
    INDUSTRY,
    LOCKED,
    TERRITORY_ID,
)
from territory.engine import codes
from territory.engine.notes import Note
from territory.engine.params import BalanceParams, measure_name, measure_values
from territory.engine.result import BalanceResult
from territory.engine.single import balance_single
from territory.errors import ParameterError

TEAM_PREFIXES: dict[str, str] = {
    "Healthcare": "HC",
    "Manufacturing": "MFG",
    "Financial Services": "FS",
    "Technology": "TECH",
    "Retail": "RTL",
    "Education": "EDU",
    "Government": "GOV",
    "Energy": "NRG",
}
"""Territory-ID prefixes of the specialist teams for the known industries (HC-1, HC-2, ...)."""

GEOGRAPHIC = "Geographic"


def team_prefix(industry: str) -> str:
    """Short prefix for a team's territory IDs: "Healthcare" -> "HC", "Oil and Gas" -> "OAG".

    Known industries use ``TEAM_PREFIXES``; others use the initials of their words, or the first
    three letters of a one-word name, upper-cased.
    """
    if industry in TEAM_PREFIXES:
        return TEAM_PREFIXES[industry]
    words = re.findall(r"[A-Za-z0-9]+", industry)
    if not words:
        return "IND"
    if len(words) == 1:
        return words[0][:3].upper()
    return "".join(word[0] for word in words).upper()


def _total_territories(accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None) -> int:
    if params.n_territories is not None:
        return int(params.n_territories)
    if territories is not None and len(territories):
        return int(territories[TERRITORY_ID].nunique())
    if TERRITORY_ID in accounts.columns and accounts[TERRITORY_ID].notna().any():
        return int(accounts[TERRITORY_ID].dropna().nunique())
    raise ParameterError(
        "How many territories? Set n_territories (e.g. 20): there is no current alignment "
        "or territories table to take the number from."
    )


def allocate_team_territories(
    group_loads: Mapping[str, float],
    n_territories: int,
    fixed: Mapping[str, int] | None = None,
    minimum: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Split ``n_territories`` among groups so that the most loaded territory is as light as possible.

    Each group gets at least one territory (or its ``minimum``, e.g. the number of its territories
    that hold locked accounts); groups in ``fixed`` get exactly their given number. The rest are
    handed out one at a time to the group whose territories would otherwise carry the largest load
    (the D'Hondt rule), which minimises the heaviest territory across groups.

    >>> allocate_team_territories({"Healthcare": 20.0, "Geographic": 80.0}, 10)
    {'Healthcare': 2, 'Geographic': 8}
    """
    fixed = dict(fixed or {})
    for name, size in fixed.items():
        if size < 1:
            raise ParameterError(f"Team '{name}' needs at least 1 territory, got {size}.")
    minimum = {name: max(1, int(count)) for name, count in (minimum or {}).items()}
    for name, size in fixed.items():
        if size < minimum.get(name, 1):
            raise ParameterError(
                f"Team '{name}' is fixed at {size} territories but {minimum[name]} of its territories hold "
                "locked accounts, which never move; give it at least that many or unlock accounts."
            )
    sizes = {name: fixed.get(name, minimum.get(name, 1)) for name in group_loads}
    if sum(sizes.values()) > n_territories:
        raise ParameterError(
            f"{n_territories} territories cannot cover {len(group_loads)} groups "
            f"({', '.join(f'{name}: {size}' for name, size in sizes.items())}; a group needs one territory, "
            f"or one per current territory holding its locked accounts); ask for at least "
            f"{sum(sizes.values())} territories, fewer industry teams or fewer locks."
        )
    free = [name for name in group_loads if name not in fixed]
    if not free and sum(sizes.values()) != n_territories:
        raise ParameterError(
            f"The team sizes add up to {sum(sizes.values())} territories but {n_territories} were "
            "requested, and no group is left to take the difference."
        )
    while sum(sizes.values()) < n_territories:
        best = max(free, key=lambda name: (group_loads[name] / sizes[name], -free.index(name)))
        sizes[best] += 1
    return sizes


def _rename_team_ids(ids: pd.Series, prefix: str) -> dict[str, str]:
    """Team territories are called PREFIX-1, PREFIX-2...; IDs already in that form are kept."""
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)$")
    distinct = list(dict.fromkeys(ids.dropna().astype(str)))
    taken = {int(m.group(1)) for name in distinct if (m := pattern.match(name))}
    mapping: dict[str, str] = {}
    number = 1
    for name in distinct:
        if pattern.match(name):
            mapping[name] = name
            continue
        while number in taken:
            number += 1
        mapping[name] = f"{prefix}-{number}"
        taken.add(number)
    return mapping


def balance_with_teams(
    accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None = None
) -> BalanceResult:
    """Balance with specialist industry teams overlaid on geographic territories.

    Accounts of each industry in ``params.industry_teams`` are balanced among that team's own
    territories (IDs like "HC-1"); all other accounts among the geographic territories. The number
    of territories per team follows its share of the balance measure (``allocate_team_territories``)
    unless ``params.industry_team_sizes`` fixes it. Current team territories are recognised by their
    prefix, so re-running keeps HC-1 as HC-1; the geographic territories keep their IDs as usual.
    """
    started = time.perf_counter()
    teams = tuple(dict.fromkeys(params.industry_teams))
    if not teams:
        raise ParameterError("balance_with_teams needs at least one industry in industry_teams.")
    if INDUSTRY not in accounts.columns:
        raise ParameterError("Industry teams need an 'industry' column in the accounts.")
    industry = accounts[INDUSTRY].astype("string").fillna("Other")
    present = set(industry.unique())
    missing = [team for team in teams if team not in present]
    if missing:
        raise ParameterError(
            f"No accounts in industry {', '.join(repr(m) for m in missing)}; "
            f"industries present: {', '.join(sorted(present))}."
        )
    sizes_given = dict(params.industry_team_sizes)
    unknown = [name for name in sizes_given if name not in teams]
    if unknown:
        raise ParameterError(
            f"industry_team_sizes names {', '.join(unknown)}, which is not among industry_teams ({', '.join(teams)})."
        )

    values = measure_values(accounts, params.balance_on)
    prefixes = {team: team_prefix(team) for team in teams}
    if len(set(prefixes.values())) < len(prefixes):
        raise ParameterError(f"Two teams share a territory-ID prefix: {prefixes}; rename an industry.")

    current = (
        accounts[TERRITORY_ID].astype("string")
        if TERRITORY_ID in accounts.columns
        else pd.Series(pd.NA, index=accounts.index, dtype="string")
    )
    team_id_pattern = re.compile(rf"^({'|'.join(re.escape(p) for p in prefixes.values())})-\d+$")
    is_team_id = current.fillna("").str.match(team_id_pattern).to_numpy(dtype=bool)
    locked = (
        accounts[LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if LOCKED in accounts.columns
        else np.zeros(len(accounts), dtype=bool)
    )
    team_of_prefix = {prefix: team for team, prefix in prefixes.items()}
    current_team = current.fillna("").str.extract(r"^(.*)-\d+$")[0].map(team_of_prefix).to_numpy(dtype=object)

    group_of = pd.Series(GEOGRAPHIC, index=accounts.index, dtype=object)
    for team in teams:
        group_of[(industry == team).to_numpy()] = team
    # A lock means "stays with its current rep": locked accounts follow their current territory's
    # group (a locked Healthcare account in geographic T03 stays in T03), never the overlay.
    has_current = current.notna().to_numpy(dtype=bool)
    locked_here = locked & has_current
    stay_geo = locked_here & ~is_team_id & (group_of != GEOGRAPHIC).to_numpy()
    group_of[stay_geo] = GEOGRAPHIC
    in_team = locked_here & is_team_id
    group_of[in_team] = current_team[in_team]
    groups = [team for team in teams] + ([GEOGRAPHIC] if (group_of == GEOGRAPHIC).any() else [])
    group_loads = {g: float(values[(group_of == g).to_numpy()].sum()) for g in groups}
    # A group with zero measure (e.g. all-zero revenue) still needs a territory: count it as tiny.
    group_loads = {g: (load if load > 0 else 1e-9) for g, load in group_loads.items()}
    locked_territories = {g: int(current[locked_here & (group_of == g).to_numpy()].nunique()) for g in groups}
    n_total = _total_territories(accounts, params, territories)
    sizes = allocate_team_territories(group_loads, n_total, sizes_given, locked_territories)

    total_value = float(values.sum()) or 1.0
    lock_notes = [
        Note(codes.TEAM_LOCKS,
             f"{int((stay_geo & (industry == team).to_numpy()).sum()):,} locked {team} account(s) stay in their "
             "geographic territories (locked accounts never move).", data={"team": team})
        for team in teams
        if (stay_geo & (industry == team).to_numpy()).any()
    ]
    assignments: list[pd.DataFrame] = []
    centers: list[pd.DataFrame] = []
    tables: list[pd.DataFrame] = []
    notes: list[Note] = []
    feasible = True
    per_territory: dict[str, float] = {}
    for group in groups:
        mask = (group_of == group).to_numpy()
        subset = accounts.loc[mask].copy()
        sub_current = current[mask]
        if group == GEOGRAPHIC:
            keep = ~is_team_id[mask]
            prefix = None
        else:
            prefix = prefixes[group]
            keep = sub_current.fillna("").str.startswith(f"{prefix}-").to_numpy(dtype=bool)
        if TERRITORY_ID in subset.columns:
            subset[TERRITORY_ID] = sub_current.where(keep, pd.NA)
        sub_territories = None
        if territories is not None and len(territories):
            ids = territories[TERRITORY_ID].astype("string").fillna("")
            if prefix is None:
                rows = ~ids.str.match(team_id_pattern).to_numpy(dtype=bool)
            else:
                rows = ids.str.startswith(f"{prefix}-").to_numpy(dtype=bool)
            if rows.any():
                sub_territories = territories.loc[rows].reset_index(drop=True)
        sub_params = replace(params, n_territories=sizes[group], industry_teams=(), industry_team_sizes=())
        if prefix is not None:
            # Team territories hold one industry by construction: focus has nothing to do there.
            sub_params = replace(sub_params, industry_focus=0.0)
        result = balance_single(subset, sub_params, sub_territories)
        assignment = result.assignment.copy()
        center = result.centers.copy()
        table = result.territories.copy()
        mapping: dict[str, str] = {}
        if prefix is not None:
            mapping = _rename_team_ids(
                pd.concat([table[TERRITORY_ID], assignment[TERRITORY_ID]]).astype("string"), prefix
            )
            assignment[TERRITORY_ID] = assignment[TERRITORY_ID].map(mapping).astype("string")
            center[TERRITORY_ID] = center[TERRITORY_ID].astype("string").map(mapping).astype("string")
            table[TERRITORY_ID] = table[TERRITORY_ID].astype("string").map(mapping).astype("string")
        assignments.append(assignment)
        centers.append(center)
        tables.append(table)
        feasible = feasible and bool(result.feasible)
        ids_text = ", ".join(sorted(table[TERRITORY_ID].astype(str), key=_natural_key))
        label = f"{group} team" if prefix is not None else "Geographic territories"
        notes.append(Note(
            codes.TEAM,
            f"{label}: {sizes[group]} territor{'y' if sizes[group] == 1 else 'ies'} ({ids_text}) for "
            f"{int(mask.sum()):,} accounts, {group_loads[group] / total_value:.1%} of "
            f"{measure_name(params.balance_on)}.", data={"group": group, "territories": sizes[group]}))
        notes.extend(
            replace(note, text=f"{label}: {_rename_in_text(note.text, mapping)}", data={**note.data, "group": group})
            for note in result.notes
            if note.code not in (codes.MOVES, codes.LEAST_MOVES)  # counted once below, against the real previous IDs
        )
        per_territory[group] = group_loads[group] / sizes[group]

    notes.extend(lock_notes)
    heaviest, lightest = max(per_territory, key=per_territory.get), min(per_territory, key=per_territory.get)
    spread = per_territory[heaviest] / per_territory[lightest] - 1.0 if per_territory[lightest] > 0 else 0.0
    if len(per_territory) > 1 and spread > params.tolerance:
        # The alignment as a whole is what a rep feels: a team territory carrying several times a
        # geographic one's load is outside the tolerance even if each group balanced internally.
        feasible = False
        notes.insert(0, Note(
            codes.TEAMS_UNEVEN,
            f"Across groups the load per territory differs by {spread:.0%} ({heaviest}: "
            f"{per_territory[heaviest]:,.0f} vs {lightest}: {per_territory[lightest]:,.0f} per territory): "
            "whole territories cannot split a group's share more finely"
            + (", and locked accounts fix the geographic count" if any(locked_territories.values()) else "")
            + "; change the number of territories or which industries have a team.", warning=True,
            data={"spread": spread, "heaviest": heaviest, "lightest": lightest}))
    merged = pd.concat(assignments).reindex(accounts.index)
    new_ids = merged[TERRITORY_ID].astype("string")
    moved = (current.notna() & (current != new_ids)).fillna(False).to_numpy(dtype=bool)
    reasons = merged["reason"].astype(object).fillna("").to_numpy(dtype=object)
    group_array = group_of.to_numpy(dtype=object)
    notes.append(Note(codes.MOVES, f"{int(moved.sum()):,} of {len(accounts):,} accounts change territory in total.",
                      data={"accounts": int(moved.sum()), "of": len(accounts)}))
    final_reasons = np.full(len(accounts), "", dtype=object)
    for i in np.flatnonzero(moved):
        group = group_array[i]
        if group != GEOGRAPHIC and not is_team_id[i]:
            final_reasons[i] = f"{group} accounts go to the {group} specialist team ({new_ids.iloc[i]})"
        elif group == GEOGRAPHIC and is_team_id[i]:
            final_reasons[i] = (
                f"{accounts[INDUSTRY].iloc[i]} is no longer a specialist team; "
                f"back to geographic territory {new_ids.iloc[i]}"
            )
        else:
            final_reasons[i] = reasons[i] or f"rebalanced within the {group} group"
    assignment = pd.DataFrame(
        {
            ACCOUNT_ID: accounts[ACCOUNT_ID].astype("string"),
            TERRITORY_ID: new_ids,
            "previous_territory_id": current,
            "moved": moved,
            "reason": pd.Series(final_reasons, index=accounts.index, dtype=object),
        },
        index=accounts.index,
    )
    return BalanceResult(
        assignment=assignment,
        centers=pd.concat(centers, ignore_index=True),
        territories=pd.concat(tables, ignore_index=True),
        feasible=feasible,
        notes=tuple(notes),
        params=params,
        seconds=time.perf_counter() - started,
    )


def _rename_in_text(message: str, mapping: dict[str, str]) -> str:
    """Sub-results name team territories by their temporary IDs; say HC-2, not T02 (a rename of
    the IDs in the sentence; the notes' codes and data are what code reads)."""
    if not mapping:
        return message
    names = sorted((k for k in mapping if k != mapping[k]), key=len, reverse=True)
    if not names:
        return message
    pattern = re.compile(r"\b(" + "|".join(re.escape(name) for name in names) + r")\b")
    return pattern.sub(lambda match: mapping[match.group(1)], message)


def _natural_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


