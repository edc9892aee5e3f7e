"""Staffing events with minimal disruption: a rep leaves, a new rep is hired.

A full re-balance after a resignation would reshuffle accounts all over the map; a sales leader
wants the leaving rep's accounts handed to the neighbours and nobody else touched. Both events
here work in two steps:

1. A greedy step on the accounts' Delaunay neighbour graph that moves only the accounts the event
   is about: ``rep_leaves`` hands each of the leaving territory's accounts to the nearest
   *neighbouring* territory that still has room (growing the neighbours into the hole, so they
   stay in one piece); ``new_hire`` grows the new territory from a seed at the edge of the most
   loaded territory, taking accounts only from territories that are over their new target.
2. Only when that leaves some territory outside the tolerance, ``territory.balance.balance`` is run
   on the result with ``stability=1`` (keep every account whose move is not needed to reach the
   tolerance), so the wider ripple is as small as the balance engine can make it.

Every moved account carries a reason ("T07's rep left; T03 is the nearest neighbouring territory
with room").
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from territory.data.schema import (
    ACCOUNT_ID,
    CAPACITY_FTE,
    DISTRICT,
    HOME_LATITUDE,
    HOME_LONGITUDE,
    LATITUDE,
    LOCKED,
    LONGITUDE,
    REGION,
    REP_NAME,
    TERRITORY_ID,
)
from territory.engine import BalanceParams, BalanceResult, balance
from territory.engine import codes as note_codes
from territory.engine.notes import Note
from territory.engine.params import measure_values
from territory.errors import ParameterError
from territory.geo import delaunay_neighbors, haversine_km, weighted_centers

NEW_HIRE_REP_NAME = "New hire"


def _default_params() -> BalanceParams:
    return BalanceParams()


# --- shared helpers ----------------------------------------------------------------------------


def _align_current(accounts: pd.DataFrame, current: pd.Series | None) -> pd.Series:
    """The current alignment as a string Series on the accounts' index."""
    if current is None:
        if TERRITORY_ID not in accounts.columns:
            raise ParameterError("No current alignment: pass `current` or an accounts 'territory_id' column.")
        current = accounts[TERRITORY_ID]
    current = pd.Series(current)
    if len(current) != len(accounts):
        raise ParameterError(
            f"The current alignment has {len(current):,} rows but there are {len(accounts):,} accounts."
        )
    if not current.index.equals(accounts.index):
        current = pd.Series(current.to_numpy(), index=accounts.index)
    current = current.astype("string")
    unassigned = int(current.isna().sum())
    if unassigned:
        raise ParameterError(
            f"{unassigned:,} accounts have no current territory; events need a complete alignment "
            "(run a full balance first)."
        )
    return current


def _capacities(territories: pd.DataFrame | None, ids: list[str]) -> np.ndarray:
    """Capacity (FTE) of each territory ID; 1.0 when not given."""
    if territories is None or CAPACITY_FTE not in territories.columns or not len(territories):
        return np.ones(len(ids))
    table = territories.assign(**{TERRITORY_ID: territories[TERRITORY_ID].astype(str)})
    lookup = table.drop_duplicates(TERRITORY_ID).set_index(TERRITORY_ID)[CAPACITY_FTE].astype(float)
    return lookup.reindex(ids).fillna(1.0).clip(lower=0.0).to_numpy(dtype=float)


def _territory_table(
    territories: pd.DataFrame | None, ids: list[str], capacity: np.ndarray, target: np.ndarray
) -> pd.DataFrame:
    table = pd.DataFrame({TERRITORY_ID: pd.array(ids, dtype="string")})
    for column, dtype in ((REP_NAME, "string"), (REGION, "string"), (DISTRICT, "string"),
                          (HOME_LATITUDE, "float64"), (HOME_LONGITUDE, "float64")):
        values = pd.Series(pd.NA if dtype == "string" else np.nan, index=table.index, dtype=dtype)
        if territories is not None and column in territories.columns:
            lookup = territories.assign(**{TERRITORY_ID: territories[TERRITORY_ID].astype(str)})
            lookup = lookup.drop_duplicates(TERRITORY_ID).set_index(TERRITORY_ID)[column]
            values = lookup.reindex(ids).astype(dtype).reset_index(drop=True)
        elif column in (DISTRICT, HOME_LATITUDE, HOME_LONGITUDE):
            continue  # optional columns: only carried when the territories table has them
        table[column] = values
    table[CAPACITY_FTE] = capacity
    table["target"] = target
    return table


def _centers(lat: np.ndarray, lon: np.ndarray, labels: np.ndarray, weights: np.ndarray, ids: list[str]):
    """Measure-weighted spherical centre of each territory (count-weighted when the measure is 0)."""
    # A tiny floor keeps zero-measure accounts (new leads) in the centre's pull.
    w = weights + max(float(weights.mean()) if len(weights) else 0.0, 1e-9) * 1e-6
    centres = weighted_centers(lat, lon, labels, w).reindex(ids)
    return pd.DataFrame(
        {
            TERRITORY_ID: pd.array(ids, dtype="string"),
            LATITUDE: centres["latitude"].to_numpy(float),
            LONGITUDE: centres["longitude"].to_numpy(float),
        }
    )


def _max_deviation(loads: np.ndarray, targets: np.ndarray) -> float:
    ok = targets > 0
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(loads[ok] / targets[ok] - 1.0)))


def _natural_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _result(
    accounts: pd.DataFrame,
    previous: pd.Series,
    final: pd.Series,
    reasons: np.ndarray,
    centers: pd.DataFrame,
    table: pd.DataFrame,
    feasible: bool,
    notes: list[Note],
    params: BalanceParams,
    started: float,
) -> BalanceResult:
    moved = (previous != final).fillna(True).to_numpy(dtype=bool)
    # The ripple's own count compares with the staged hand-over; report against the original.
    notes = [note for note in notes if note.code not in (note_codes.MOVES, note_codes.LEAST_MOVES)]
    count = int(moved.sum())
    notes.append(Note(note_codes.MOVES, f"{count:,} of {len(accounts):,} accounts change territory in total.",
                      data={"accounts": count, "of": len(accounts)}))
    reasons = np.where(moved, reasons, "").astype(object)
    assignment = pd.DataFrame(
        {
            ACCOUNT_ID: accounts[ACCOUNT_ID].astype("string"),
            TERRITORY_ID: final.astype("string"),
            "previous_territory_id": previous.astype("string"),
            "moved": moved,
            "reason": pd.Series(reasons, index=accounts.index, dtype=object),
        },
        index=accounts.index,
    )
    return BalanceResult(
        assignment=assignment,
        centers=centers.reset_index(drop=True),
        territories=table.reset_index(drop=True),
        feasible=feasible,
        notes=tuple(notes),
        params=params,
        seconds=time.perf_counter() - started,
    )


def _ripple(
    accounts: pd.DataFrame,
    alignment: pd.Series,
    ids: list[str],
    territories: pd.DataFrame | None,
    params: BalanceParams,
) -> BalanceResult:
    """Re-balance from ``alignment`` keeping every account whose move is not needed (stability 1)."""
    staged = accounts.copy()
    staged[TERRITORY_ID] = alignment.astype("string")
    ripple_params = replace(params, n_territories=len(ids), stability=1.0)
    return balance(staged, ripple_params, territories)


def _rippled(accounts: pd.DataFrame, alignment: pd.Series, ids: list[str], territories: pd.DataFrame | None,
             params: BalanceParams, reasons: np.ndarray, reason: Callable[[int, str], str]):
    """:func:`_ripple` applied: (final labels, feasible, notes, centres, territory table); the
    reason of each account it moved is ``reason(account, the engine's reason or "")``, in place."""
    ripple = _ripple(accounts, alignment, ids, territories, params)
    final = ripple.assignment[TERRITORY_ID].astype("string")
    engine_reasons = ripple.assignment["reason"].astype(object).fillna("").to_numpy(dtype=object)
    for a in np.flatnonzero((final != alignment).fillna(True).to_numpy(dtype=bool)):
        reasons[a] = reason(int(a), engine_reasons[a])
    return final, bool(ripple.feasible), list(ripple.notes), ripple.centers, ripple.territories


# --- rep leaves --------------------------------------------------------------------------------


def _hand_over(leaving: np.ndarray, codes: np.ndarray, values: np.ndarray, loads: np.ndarray,
               targets: np.ndarray, lat: np.ndarray, lon: np.ndarray, centre_lat: np.ndarray,
               centre_lon: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """(new codes, reason kind per account) of :func:`rep_leaves`' greedy hand-over: the leaving
    accounts spread over the bordering territories, nearest centre with room first; ``loads`` is
    updated in place. Reason kind 1: room, 2: least loaded, 3: nearest centre."""
    adjacency = delaunay_neighbors(lat, lon)
    indptr, indices = adjacency.indptr, adjacency.indices
    in_leaving = np.zeros(len(lat), dtype=bool)
    in_leaving[leaving] = True
    new_codes = codes.copy()

    def distance(account: int, code: int) -> float:
        return float(haversine_km(lat[account], lon[account], centre_lat[code], centre_lon[code]))

    # Frontier: (distance to the neighbour's centre, account, neighbour code); nearest first.
    heap: list[tuple[float, int, int]] = []
    for a in leaving:
        for b in indices[indptr[a] : indptr[a + 1]]:
            if not in_leaving[b] and codes[b] >= 0:
                heap.append((distance(a, codes[b]), int(a), int(codes[b])))
    heapq.heapify(heap)
    deferred: list[tuple[float, int, int]] = []
    cap = 1.0  # a neighbour has room while its load stays within cap x target
    assigned = 0
    reason_kind = np.zeros(len(lat), dtype=np.int8)  # 1: room, 2: least loaded, 3: nearest centre
    while assigned < leaving.size:
        if not heap:
            deferred = [entry for entry in deferred if new_codes[entry[1]] < 0]
            if not deferred:
                break
            # every bordering neighbour is full at this cap: raise the cap just enough for the
            # lightest option, so the overflow spreads evenly instead of piling onto one neighbour
            needed = min((loads[j] + values[a]) / targets[j] for _, a, j in deferred)
            cap = max(cap + 0.005, needed)
            heap, deferred = deferred, []
            heapq.heapify(heap)
            continue
        dist, a, j = heapq.heappop(heap)
        if new_codes[a] >= 0:
            continue
        if loads[j] + values[a] > cap * targets[j] + 1e-9 and values[a] > 0:
            deferred.append((dist, a, j))
            continue
        new_codes[a] = j
        loads[j] += values[a]
        reason_kind[a] = 1 if loads[j] <= targets[j] * (1.0 + tolerance) + 1e-9 else 2
        assigned += 1
        for b in indices[indptr[a] : indptr[a + 1]]:
            if in_leaving[b] and new_codes[b] < 0:
                heapq.heappush(heap, (distance(int(b), j), int(b), j))
    # Accounts the graph cannot reach (no coordinates): nearest remaining centre.
    stranded = leaving[new_codes[leaving] < 0]
    for a in stranded:
        if np.isfinite(lat[a]) and np.isfinite(lon[a]):
            d = haversine_km(lat[a], lon[a], centre_lat, centre_lon)
            j = int(np.nanargmin(d))
        else:
            j = int(np.argmin(loads / np.where(targets > 0, targets, 1.0)))
        new_codes[a] = j
        loads[j] += values[a]
        reason_kind[a] = 3

    return new_codes, reason_kind


def _handover_reasons(territory_id: str, remaining: list[str], leaving: np.ndarray, new_codes: np.ndarray,
                      reason_kind: np.ndarray) -> np.ndarray:
    """The reason text of each account :func:`rep_leaves` hands over (empty for the others)."""
    reasons = np.full(len(new_codes), "", dtype=object)
    for a in leaving:
        to = remaining[new_codes[a]]
        if reason_kind[a] == 1:
            reasons[a] = f"{territory_id}'s rep left; {to} is the nearest neighbouring territory with room"
        elif reason_kind[a] == 2:
            reasons[a] = (
                f"{territory_id}'s rep left; every neighbouring territory was full, "
                f"{to} is the nearest one with the least overload"
            )
        else:
            reasons[a] = f"{territory_id}'s rep left; no neighbouring account, {to} has the nearest centre"
    return reasons


def rep_leaves(
    accounts: pd.DataFrame,
    current: pd.Series | None,
    territory_id: str,
    territories: pd.DataFrame | None = None,
    params: BalanceParams | None = None,
    *,
    rebalance: bool = True,
) -> BalanceResult:
    """Dissolve ``territory_id`` into its neighbouring territories, moving as few accounts as possible.

    Only the leaving territory's accounts move, each to a territory it borders on the neighbour
    graph (nearest centre with room first), unless that leaves a territory outside
    ``params.tolerance``: then (with ``rebalance``) the balance engine runs with stability 1 and
    moves the few further accounts the tolerance needs. Locked accounts of the leaving territory
    have to move too; a message says how many.
    """

    started = time.perf_counter()
    params = params if params is not None else _default_params()
    previous = _align_current(accounts, current)
    territory_id = str(territory_id)
    all_ids = sorted(set(previous.dropna().astype(str)) | _table_ids(territories), key=_natural_key)
    if territory_id not in all_ids:
        raise ParameterError(
            f"Territory {territory_id!r} is not in the current alignment "
            f"(territories: {', '.join(all_ids[:12])}{'...' if len(all_ids) > 12 else ''})."
        )
    remaining = [t for t in all_ids if t != territory_id]
    if not remaining:
        raise ParameterError(f"{territory_id} is the only territory: nobody is left to take its accounts.")
    remaining_territories = None
    if territories is not None:
        remaining_territories = territories.loc[territories[TERRITORY_ID].astype(str) != territory_id]
        remaining_territories = remaining_territories.reset_index(drop=True)

    values = measure_values(accounts, params.balance_on)
    lat = accounts[LATITUDE].to_numpy(dtype=float)
    lon = accounts[LONGITUDE].to_numpy(dtype=float)
    labels = previous.astype(str).to_numpy(dtype=object)
    code_of = {t: k for k, t in enumerate(remaining)}
    codes = np.array([code_of.get(label, -1) for label in labels], dtype=np.int64)
    leaving = np.flatnonzero(labels == territory_id)

    capacity = _capacities(remaining_territories, remaining)
    total = float(values.sum())
    targets = total * capacity / capacity.sum() if capacity.sum() > 0 else np.full(len(remaining), total)
    loads = np.bincount(codes[codes >= 0], weights=values[codes >= 0], minlength=len(remaining))
    centres = _centers(lat, lon, labels, values, all_ids).set_index(TERRITORY_ID).loc[remaining]
    centre_lat = centres[LATITUDE].to_numpy(float)
    centre_lon = centres[LONGITUDE].to_numpy(float)

    new_codes, reason_kind = _hand_over(leaving, codes, values, loads, targets, lat, lon, centre_lat, centre_lon,
                                        params.tolerance)

    greedy = pd.Series(np.asarray(remaining, dtype=object)[new_codes], index=accounts.index, dtype="string")
    reasons = _handover_reasons(territory_id, remaining, leaving, new_codes, reason_kind)

    notes = [Note(
        note_codes.EVENT_REP_LEFT,
        f"{territory_id}'s rep left: {leaving.size:,} accounts handed to "
        f"{len(set(new_codes[leaving].tolist()))} neighbouring territories.",
        data={"territory": territory_id, "accounts": int(leaving.size)})]
    if LOCKED in accounts.columns:
        locked_leaving = int(accounts[LOCKED].fillna(False).to_numpy(dtype=bool)[leaving].sum())
        if locked_leaving:
            notes.append(Note(
                note_codes.EVENT_LOCKED_MOVED,
                f"{locked_leaving} locked account(s) of {territory_id} had to move: their territory no longer exists.",
                data={"accounts": locked_leaving}))
    deviation = _max_deviation(loads, targets)
    final = greedy
    feasible = deviation <= params.tolerance + 1e-12
    result_centers = _centers(lat, lon, greedy.to_numpy(dtype=object), values, remaining)
    table = _territory_table(remaining_territories, remaining, capacity, targets)
    if not feasible and rebalance:
        notes.append(Note(
            note_codes.EVENT_RIPPLE,
            f"Handing over {territory_id}'s accounts left a neighbour {deviation:.1%} off target "
            f"(tolerance {params.tolerance:.0%}); re-balanced with stability 1 to move only what is needed.",
            data={"deviation": deviation}))
        def reason(a: int, own: str) -> str:
            own = own or "re-balanced after the hand-over"
            return f"{territory_id}'s rep left; {own}" if labels[a] == territory_id else own

        # the engine starts from today's alignment with the leaving territory's accounts unowned,
        # not from the greedy hand-over: staying put then means staying where they are today, and
        # the engine places the leaving accounts with the ripple (from the hand-over, a neighbour
        # kept what it was handed and passed load on: the Salt Lake City territory ended up with
        # San Antonio, 2,190 km away, on the sample)
        unowned = previous.astype("string").where(previous.astype("string") != territory_id)
        staged = accounts
        if LOCKED in accounts.columns:
            staged = accounts.copy()
            staged.loc[staged.index[leaving], LOCKED] = False  # their territory no longer exists
        final, feasible, ripple_notes, result_centers, table = _rippled(
            staged, unowned, remaining, remaining_territories, params, reasons, reason)
        notes.extend(ripple_notes)
    elif not feasible:
        notes.append(Note(
            note_codes.EVENT_OFF_TARGET,
            f"A neighbour is {deviation:.1%} off target after the hand-over (tolerance "
            f"{params.tolerance:.0%}); re-balance to fix it, which moves accounts outside {territory_id}.",
            warning=True, data={"deviation": deviation}))
    return _result(accounts, previous, final, reasons, result_centers, table, feasible, notes, params, started)


def _table_ids(territories: pd.DataFrame | None) -> set[str]:
    if territories is None or not len(territories):
        return set()
    return set(territories[TERRITORY_ID].dropna().astype(str))


# --- new hire ----------------------------------------------------------------------------------


def next_territory_id(existing: list[str]) -> str:
    """The next free ID in the style of the existing ones: T01..T20 -> T21, HC-3 -> HC-4.

    >>> next_territory_id(["T01", "T02", "T20"])
    'T21'
    >>> next_territory_id(["North", "South"])
    'T03'
    """
    pattern = re.compile(r"^(.*?)(\d+)$")
    styles: dict[str, tuple[int, int]] = {}
    for name in existing:
        match = pattern.match(name)
        if match:
            prefix, digits = match.group(1), match.group(2)
            count, width = styles.get(prefix, (0, 0))
            styles[prefix] = (count + 1, max(width, len(digits)))
    taken = set(existing)
    if styles:
        prefix = max(styles, key=lambda p: (styles[p][0], p))
        width = styles[prefix][1]
        numbers = [int(m.group(2)) for name in existing if (m := pattern.match(name)) and m.group(1) == prefix]
        number = max(numbers) + 1
    else:
        prefix, width, number = "T", 2, len(existing) + 1
    while f"{prefix}{number:0{width}d}" in taken:
        number += 1
    return f"{prefix}{number:0{width}d}"


def new_hire(
    accounts: pd.DataFrame,
    current: pd.Series | None,
    territories: pd.DataFrame | None = None,
    new_territory_id: str | None = None,
    params: BalanceParams | None = None,
    *,
    capacity_fte: float = 1.0,
    home: tuple[float, float] | None = None,
    rebalance: bool = True,
) -> BalanceResult:
    """Carve one new territory out of the most loaded area, moving as few accounts as possible.

    Targets are recomputed for K + 1 reps (the new one at ``capacity_fte``). The new territory
    grows from a seed at the edge of the most loaded territory (on the side of its most loaded
    neighbour), or, when the new rep's ``home`` base (latitude, longitude) is given, from the
    account nearest to it, outwards on the neighbour graph, taking accounts only from territories
    above their new target and only their excess. If some territory is still outside the tolerance
    (with ``rebalance``) the balance engine finishes the job with stability 1.
    """

    started = time.perf_counter()
    params = params if params is not None else _default_params()
    previous = _align_current(accounts, current)
    existing = sorted(set(previous.dropna().astype(str)) | _table_ids(territories), key=_natural_key)
    new_id = str(new_territory_id) if new_territory_id is not None else next_territory_id(existing)
    if new_id in existing:
        raise ParameterError(f"Territory {new_id!r} already exists; choose a new ID for the new hire.")
    if capacity_fte <= 0:
        raise ParameterError(f"The new rep's capacity must be above 0 FTE, got {capacity_fte}.")
    ids = existing + [new_id]
    new_code = len(existing)

    values = measure_values(accounts, params.balance_on)
    lat = accounts[LATITUDE].to_numpy(dtype=float)
    lon = accounts[LONGITUDE].to_numpy(dtype=float)
    labels = previous.astype(str).to_numpy(dtype=object)
    code_of = {t: k for k, t in enumerate(existing)}
    codes = np.array([code_of[label] for label in labels], dtype=np.int64)

    capacity = np.append(_capacities(territories, existing), capacity_fte)
    total = float(values.sum())
    targets = total * capacity / capacity.sum()
    loads = np.bincount(codes, weights=values, minlength=len(ids)).astype(float)
    ratio = np.where(targets > 0, loads / np.where(targets > 0, targets, 1.0), 0.0)
    ratio_before = ratio.copy()
    donor = int(np.argmax(ratio[:new_code]))
    centres = _centers(lat, lon, labels, values, existing)
    centre_lat = centres[LATITUDE].to_numpy(float)
    centre_lon = centres[LONGITUDE].to_numpy(float)

    adjacency = delaunay_neighbors(lat, lon)
    indptr, indices = adjacency.indptr, adjacency.indices
    members = np.flatnonzero(codes == donor)
    locked = (
        accounts[LOCKED].fillna(False).to_numpy(dtype=bool)
        if LOCKED in accounts.columns
        else np.zeros(len(accounts), dtype=bool)
    )
    # The donor's most loaded bordering territory: the new territory starts at the donor's edge on
    # that side, so it can take the excess of both without cutting the donor in two.
    border_codes = {int(codes[b]) for a in members for b in indices[indptr[a] : indptr[a + 1]] if codes[b] != donor}
    located = members[np.isfinite(lat[members]) & np.isfinite(lon[members]) & ~locked[members]]
    if home is not None:
        seed = _nearest_free_account(lat, lon, locked, home)
        donor = int(codes[seed])
    elif not located.size:
        raise ParameterError(f"{existing[donor]} has no unlocked accounts with coordinates to carve a territory from.")
    elif border_codes:
        neighbour = max(border_codes, key=lambda c: (ratio[c], -c))
        pull = haversine_km(lat[located], lon[located], centre_lat[donor], centre_lon[donor]) - haversine_km(
            lat[located], lon[located], centre_lat[neighbour], centre_lon[neighbour]
        )
        seed = int(located[np.argmax(pull)])
    else:
        far = haversine_km(lat[located], lon[located], centre_lat[donor], centre_lon[donor])
        seed = int(located[np.argmax(far)])

    excess = loads - targets
    new_codes = codes.copy()
    heap: list[tuple[float, int]] = [(0.0, seed)]
    seen = np.zeros(len(accounts), dtype=bool)
    seen[seed] = True
    taken_from: dict[int, int] = {}
    goal = targets[new_code]
    while heap and loads[new_code] < goal:
        _, a = heapq.heappop(heap)
        j = int(codes[a])
        if excess[j] < values[a] * 0.5 and not (j == donor and a == seed):
            continue  # that territory has nothing (left) to give: the new one does not grow through it
        if locked[a]:
            continue
        new_codes[a] = new_code
        loads[new_code] += values[a]
        loads[j] -= values[a]
        excess[j] -= values[a]
        taken_from[j] = taken_from.get(j, 0) + 1
        for b in indices[indptr[a] : indptr[a + 1]]:
            if not seen[b]:
                seen[b] = True
                d = float(haversine_km(lat[b], lon[b], lat[seed], lon[seed]))
                heapq.heappush(heap, (d, int(b)))

    greedy = pd.Series(np.asarray(ids, dtype=object)[new_codes], index=accounts.index, dtype="string")
    reasons = np.full(len(accounts), "", dtype=object)
    for a in np.flatnonzero(new_codes == new_code):
        j = int(codes[a])
        reasons[a] = (
            f"new territory {new_id} carved from {existing[j]}, which was {(ratio_before[j] - 1.0):.0%} over target"
        )
    donors_text = ", ".join(
        f"{existing[j]} ({count})" for j, count in sorted(taken_from.items(), key=lambda kv: -kv[1])
    )
    where = "at the new rep's home base, in" if home is not None else "from"
    why = "" if home is not None else "the most loaded, "
    notes = [Note(
        note_codes.EVENT_NEW_HIRE,
        f"New territory {new_id} ({capacity_fte:g} FTE) carved {where} {existing[donor]} ({why}"
        f"{ratio_before[donor] - 1.0:+.0%} against the target for {len(ids)} territories): "
        f"{int((new_codes == new_code).sum()):,} accounts taken from {donors_text or 'nobody'}.",
        data={"territory": new_id, "donor": existing[donor], "accounts": int((new_codes == new_code).sum()),
              "capacity_fte": float(capacity_fte)})]
    table_source = territories
    new_row = pd.DataFrame(
        {
            TERRITORY_ID: pd.array([new_id], dtype="string"),
            REP_NAME: pd.array([NEW_HIRE_REP_NAME], dtype="string"),
            REGION: pd.array([_region_of(territories, existing[donor])], dtype="string"),
            DISTRICT: pd.array([_region_of(territories, existing[donor], DISTRICT)], dtype="string"),
            HOME_LATITUDE: [float(home[0]) if home is not None else np.nan],
            HOME_LONGITUDE: [float(home[1]) if home is not None else np.nan],
            CAPACITY_FTE: [float(capacity_fte)],
        }
    )
    if territories is not None and len(territories):
        table_source = pd.concat([territories, new_row], ignore_index=True)
    else:
        table_source = new_row
    deviation = _max_deviation(loads, targets)
    feasible = deviation <= params.tolerance + 1e-12
    final = greedy
    result_centers = _centers(lat, lon, greedy.to_numpy(dtype=object), values, ids)
    table = _territory_table(table_source, ids, capacity, targets)
    if not feasible and rebalance:
        notes.append(Note(
            note_codes.EVENT_RIPPLE,
            f"After carving, a territory is {deviation:.1%} off target (tolerance {params.tolerance:.0%}); "
            "re-balanced with stability 1 to move only what is needed.", data={"deviation": deviation}))
        ripple_territories = table_source if territories is not None else table.drop(columns="target")
        final, feasible, ripple_notes, result_centers, table = _rippled(
            accounts, greedy, ids, ripple_territories, params, reasons,
            lambda _, own: own or f"re-balanced around new territory {new_id}")
        notes.extend(ripple_notes)
        # the engine's table drops the district and the new rep's home base: keep the event's own
        targets = table.set_index(TERRITORY_ID)["target"].reindex(ids).to_numpy(dtype=float)
        table = _territory_table(table_source, ids, capacity, targets)
    elif not feasible:
        notes.append(Note(
            note_codes.EVENT_OFF_TARGET,
            f"A territory is {deviation:.1%} off target after carving (tolerance {params.tolerance:.0%}); "
            "re-balance to fix it.", warning=True, data={"deviation": deviation}))
    return _result(accounts, previous, final, reasons, result_centers, table, feasible, notes, params, started)


def _region_of(territories: pd.DataFrame | None, territory_id: str, column: str = REGION) -> object:
    if territories is None or column not in territories.columns:
        return pd.NA
    rows = territories.loc[territories[TERRITORY_ID].astype(str) == territory_id, column]
    return rows.iloc[0] if len(rows) else pd.NA


def _nearest_free_account(lat: np.ndarray, lon: np.ndarray, locked: np.ndarray, home: tuple[float, float]) -> int:
    """The unlocked account with coordinates nearest the new rep's home base (the new territory's seed)."""
    home_lat, home_lon = float(home[0]), float(home[1])
    if not (np.isfinite(home_lat) and np.isfinite(home_lon) and -90 <= home_lat <= 90 and -180 <= home_lon <= 180):
        raise ParameterError(f"The new rep's home base must be a latitude and longitude, got {home!r}.")
    free = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon) & ~locked)
    if not free.size:
        raise ParameterError("No unlocked account has coordinates: there is nothing to carve a territory from.")
    return int(free[np.argmin(haversine_km(lat[free], lon[free], home_lat, home_lon))])
