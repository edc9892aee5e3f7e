"""Balance whole geographic units: ``balance --units zip|zip3|county|state``.

Sales tools align territories by ZIP code, county or state, so that a territory is a list of areas
and a new account in one of them has an owner. Here every account gets a unit key, each unit
becomes one "account" for the engine (its accounts' measures summed, its location their
workload-weighted centre), the ordinary engine balances the units, and the answer is expanded back
to the accounts: all accounts of a unit end in the same territory.

Unit keys (:func:`unit_keys`):

* ``zip``: the 5-digit US postal code. ZIPs the offline table places on the same centroid (a PO-box
  ZIP on its town's street ZIP) are one area on the map, so they are one unit, named after the
  lowest of them;
* ``zip3``: the first three digits of the ZIP;
* ``county``: the ZIP's county in the offline ``zipcodes`` table, with its state;
* ``state``: the account's state, or its ZIP's when the state is blank.

Accounts without a key (no valid US ZIP, data from another country) are units of their own; the
result says how many. Moved accounts and disruption are counted on accounts, as everywhere else.

The engine is not changed for this: :func:`balance_by_units` builds the units' table, calls
``balance`` (or any runner with its signature) and expands the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from territory.data import schema
from territory.data.geocode import ZIP_SPACE, normalize_us_zip, zip_counties, zip_table
from territory.data.measures import measure_values
from territory.engine import BalanceParams, BalanceResult, Note, balance, codes
from territory.engine.params import composite, fmt, measure_name, unit_of
from territory.errors import DataError, ParameterError
from territory.geo import weighted_centers

ACCOUNT = "account"
UNITS: tuple[str, ...] = (ACCOUNT, "zip", "zip3", "county", "state")
"""The units an alignment can move in; ``account`` is the engine's own (every account on its own)."""
UNIT_NAME = {ACCOUNT: "account", "zip": "ZIP", "zip3": "ZIP3", "county": "county", "state": "state"}
UNIT_PLURAL = {ACCOUNT: "accounts", "zip": "ZIPs", "zip3": "ZIP3s", "county": "counties", "state": "states"}
UNITS_NOTE = "units"  # the note saying how many units were balanced, and how many accounts had none
UNIT_TOO_HEAVY = "infeasible.unit_too_heavy"  # a unit alone is above the band: it cannot be placed
US_COUNTRIES = frozenset({"", "US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA",
                          "PR", "VI", "GU", "AS", "MP"})
"""Country values whose ZIPs are US ZIPs (blank: no country given; the importer writes ISO codes)."""
MEASURE_COLUMNS: tuple[str, ...] = (schema.WORKLOAD_HOURS, schema.REVENUE, schema.POTENTIAL,
                                    schema.COMPANY_REVENUE)
"""Columns summed per unit (every measure the engine balances or reports)."""
HEAVY_SHOWN = 5  # too-heavy units named in the note


def check_units(units: str) -> str:
    """``units`` checked: one of :data:`UNITS`."""
    if units not in UNITS:
        raise ParameterError(f"units must be one of {', '.join(UNITS)}; got {units!r}.")
    return units


def saved_units(params: dict | None) -> str:
    """The units a saved scenario's alignment keeps whole (``balance --units ... --save-as`` and the
    Rebalance page store them with its parameters; ``account`` when none), checked.

    >>> saved_units({"units": "zip"}), saved_units({}), saved_units(None)
    ('zip', 'account', 'account')
    """
    units = (params or {}).get("units") or ACCOUNT
    if units not in UNITS:
        raise DataError(f"the scenario's units {units!r} are not one of {', '.join(UNITS)}.")
    return str(units)


@lru_cache(maxsize=1)
def zip_area() -> np.ndarray:
    """Per ZIP number: the lowest ZIP on the same centroid (itself when alone or without a location).

    The territory shapes are Voronoi cells of the distinct ZIP centroids
    (:mod:`territory.planning.geography`), so ZIPs sharing a centroid share a cell; as one unit they
    always share a territory too, and the ZIP table agrees with every account.
    """
    table = zip_table()
    area = np.arange(ZIP_SPACE)
    located = np.flatnonzero(table.known & np.isfinite(table.latitude) & np.isfinite(table.longitude))
    _, first, inverse = np.unique(np.column_stack([table.latitude[located], table.longitude[located]]),
                                  axis=0, return_index=True, return_inverse=True)
    area[located] = located[first][inverse.ravel()]  # np.unique's first index is the lowest ZIP (sorted input)
    return area


def us_zip_numbers(accounts: pd.DataFrame) -> np.ndarray:
    """The accounts' 5-digit US ZIP as a number (-1 where there is none, or the account is not in the US)."""
    if schema.POSTAL_CODE not in accounts:
        return np.full(len(accounts), -1)
    zip5, _ = normalize_us_zip(accounts[schema.POSTAL_CODE].reset_index(drop=True))
    number = pd.to_numeric(zip5, errors="coerce").fillna(-1).to_numpy(dtype=np.int64, copy=True)
    if schema.COUNTRY in accounts:
        country = accounts[schema.COUNTRY].astype("string").fillna("").str.strip().str.upper()
        number[~country.isin(US_COUNTRIES).to_numpy(dtype=bool)] = -1
    return number


def zip_unit_keys(numbers: np.ndarray, units: str) -> np.ndarray:
    """The unit of each ZIP (numbers, all >= 0) as :func:`unit_keys` names it; None where the offline
    table has no county (``county``) or state (``state``) for it. ``units`` is zip, zip3, county or state.

    >>> zip_unit_keys(np.array([2139, 2142]), "zip3").tolist()
    ['ZIP3 021', 'ZIP3 021']
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    key = np.full(len(numbers), None, dtype=object)
    table = zip_table()
    if units == "zip":
        key[:] = [f"ZIP {z:05d}" for z in zip_area()[numbers]]
    elif units == "zip3":
        key[:] = [f"ZIP3 {z // 100:03d}" for z in numbers]
    elif units == "county":
        county, state = zip_counties()[numbers], table.state[numbers]
        ok = pd.notna(county) & pd.notna(state)
        key[ok] = [f"{c}, {s}" for c, s in zip(county[ok], state[ok])]
    elif units == "state":
        state = table.state[numbers]
        ok = pd.notna(state)
        key[ok] = [f"State {s}" for s in state[ok]]
    else:
        raise ParameterError(f"ZIP units are zip, zip3, county or state; got {units!r}.")
    return key


def unit_keys(accounts: pd.DataFrame, units: str) -> pd.Series:
    """The unit of every account (its name, e.g. ``ZIP 02139``, ``ZIP3 021``, ``Middlesex County, MA``,
    ``State MA``), missing where the account has none; index aligned with ``accounts``.

    >>> frame = pd.DataFrame({"postal_code": ["02139", "02142", "", "99999"], "state": ["MA", "MA", "NY", None]})
    >>> unit_keys(frame, "zip3").tolist()
    ['ZIP3 021', 'ZIP3 021', <NA>, 'ZIP3 999']
    >>> unit_keys(frame, "county").tolist()
    ['Middlesex County, MA', 'Middlesex County, MA', <NA>, <NA>]
    >>> unit_keys(frame, "state").tolist()
    ['State MA', 'State MA', 'State NY', <NA>]
    """
    check_units(units)
    key = np.full(len(accounts), None, dtype=object)
    if units == ACCOUNT:
        return pd.Series(pd.array(key, dtype="string"), index=accounts.index, name="unit")
    number = us_zip_numbers(accounts)
    has = number >= 0
    if units == "state" and schema.STATE in accounts:  # the account's own state first, its ZIP's when blank
        state = accounts[schema.STATE].astype("string").str.strip().str.upper()
        given = (state.str.len() > 0).fillna(False).to_numpy(dtype=bool)
        key[given] = [f"State {s}" for s in state[given]]
        has &= ~given
    key[has] = zip_unit_keys(number[has], units)
    return pd.Series(pd.array(key, dtype="string"), index=accounts.index, name="unit")


@dataclass(frozen=True)
class UnitProblem:
    """The units as the engine's accounts, and the way back.

    ``accounts``: one row per unit (``account_id`` is the unit's name); ``code``: the row of each
    input account's unit; ``size``: accounts per unit; ``without_key``: accounts that are units of
    their own because they have no unit key.
    """

    accounts: pd.DataFrame
    code: np.ndarray
    size: np.ndarray
    without_key: int


def _dominant(code: np.ndarray, values: pd.Series, weight: np.ndarray, n_units: int) -> np.ndarray:
    """Per unit: the value carrying most ``weight`` (ties: the lowest value), None where it has none."""
    frame = pd.DataFrame({"code": code, "value": values.astype("string").to_numpy(dtype=object, na_value=None),
                          "weight": weight})
    frame = frame[frame["value"].notna()]
    out = np.full(n_units, None, dtype=object)
    if len(frame):
        sums = frame.groupby(["code", "value"], sort=True)["weight"].sum().reset_index()
        sums = sums.sort_values(["code", "weight", "value"], ascending=[True, False, True], kind="stable")
        best = sums.drop_duplicates("code")
        out[best["code"].to_numpy(dtype=np.int64)] = best["value"].to_numpy(dtype=object)
    return out


def _locks(accounts: pd.DataFrame, code: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Per unit: the territory a locked account holds it to (None: not locked); two different ones in a
    unit are an error naming the unit."""
    out = np.full(len(names), None, dtype=object)
    if schema.LOCKED not in accounts or schema.TERRITORY_ID not in accounts:
        return out
    locked = accounts[schema.LOCKED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    territory = accounts[schema.TERRITORY_ID].astype("string")
    held = locked & territory.notna().to_numpy()
    if not held.any():
        return out
    frame = pd.DataFrame({"code": code[held], "territory": territory[held].to_numpy(dtype=object),
                          "account": accounts[schema.ACCOUNT_ID].astype("string")[held].to_numpy(dtype=object)})
    per_unit = frame.drop_duplicates(["code", "territory"]).sort_values(["code", "territory"])
    split = per_unit[per_unit.duplicated("code", keep=False)]
    if len(split):
        unit = int(split["code"].iloc[0])
        pairs = split[split["code"] == unit]
        held_by = "; ".join(f"{a} in {t}" for a, t in zip(pairs["account"], pairs["territory"]))
        others = int(split["code"].nunique()) - 1
        raise ParameterError(
            f"{names[unit]} has locked accounts in different territories ({held_by}); a unit moves whole, so "
            "it can be held by only one. Unlock all but one territory's accounts there, or balance by smaller "
            "units" + (f" ({others} more units have the same conflict)." if others else "."))
    out[per_unit["code"].to_numpy(dtype=np.int64)] = per_unit["territory"].to_numpy(dtype=object)
    return out


def unit_problem(accounts: pd.DataFrame, units: str) -> UnitProblem:
    """Aggregate ``accounts`` into one engine row per unit (see :class:`UnitProblem`).

    Measures are summed; the location is the workload-weighted centre; the current territory is the
    one holding most of the unit's workload (a locked account's territory when it has one); the
    industry is the one with most workload.
    """
    keys = unit_keys(accounts, units)
    without = keys.isna().to_numpy()
    own = accounts[schema.ACCOUNT_ID].astype("string").to_numpy(dtype=object)
    names = np.where(without, own, keys.to_numpy(dtype=object, na_value=None))
    code, uniques = pd.factorize(pd.Series(names, dtype=object), sort=False)
    names = np.asarray(uniques, dtype=object)
    n = len(names)
    workload = (pd.to_numeric(accounts[schema.WORKLOAD_HOURS], errors="coerce").fillna(0).clip(lower=0)
                .to_numpy(dtype=float) if schema.WORKLOAD_HOURS in accounts else np.zeros(len(accounts)))
    weight = workload + 1e-9  # a unit without workload still gets the centre of its accounts
    centres = weighted_centers(accounts[schema.LATITUDE].to_numpy(dtype=float, na_value=np.nan),
                               accounts[schema.LONGITUDE].to_numpy(dtype=float, na_value=np.nan),
                               code, weight).reindex(range(n))
    table = pd.DataFrame({
        schema.ACCOUNT_ID: pd.array(names, dtype="string"),
        schema.LATITUDE: centres["latitude"].to_numpy(dtype=float),
        schema.LONGITUDE: centres["longitude"].to_numpy(dtype=float),
    })
    for column in MEASURE_COLUMNS:
        if column in accounts:
            values = pd.to_numeric(accounts[column], errors="coerce")
            table[column] = values.groupby(code).sum(min_count=1).reindex(range(n)).to_numpy(dtype=float)
    if schema.INDUSTRY in accounts:
        table[schema.INDUSTRY] = pd.array(_dominant(code, accounts[schema.INDUSTRY], weight, n), dtype="string")
    if schema.TERRITORY_ID in accounts:
        current = _dominant(code, accounts[schema.TERRITORY_ID], weight, n)
        lock = _locks(accounts, code, names)
        table[schema.TERRITORY_ID] = pd.array(np.where(pd.notna(lock), lock, current), dtype="string")
        table[schema.LOCKED] = pd.array(pd.notna(lock), dtype="boolean")
    return UnitProblem(accounts=table, code=code, size=np.bincount(code, minlength=n), without_key=int(without.sum()))


def _check_params(params: BalanceParams, units: str) -> None:
    kind = UNIT_NAME[units]
    if "accounts" in composite(params.balance_on) or "accounts" in tuple(params.also_balance or ()):
        raise ParameterError(
            f"balancing whole {UNIT_PLURAL[units]} on the number of accounts is not available (the engine would count "
            f"{UNIT_PLURAL[units]}); balance on workload, revenue or potential, or use units account.")
    if params.industry_teams:
        raise ParameterError(f"industry teams split a {kind} by industry by design; balance them with units "
                             "account.")
    if params.move_budget_accounts is not None:
        raise ParameterError(f"a move budget in accounts would count whole {UNIT_PLURAL[units]}; give it as a share "
                             "of revenue (e.g. 2.5%) or use units account.")


def balance_by_units(accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None,
                     units: str, runner=balance) -> BalanceResult:
    """Balance whole ``units`` (see the module docstring); ``runner(accounts, params, territories)`` is
    the engine call (``balance`` by default). ``units="account"`` is the runner itself.

    >>> from territory.data.sample import load_sample
    >>> sample = load_sample()
    >>> result = balance_by_units(sample.accounts, BalanceParams(), sample.territories, "zip")
    >>> zips = sample.accounts["postal_code"]
    >>> int(result.assignment["territory_id"].groupby(zips).nunique().max()), result.feasible
    (1, True)
    """
    check_units(units)
    if units == ACCOUNT:
        return runner(accounts, params, territories)
    started = time.perf_counter()
    _check_params(params, units)
    for column in (schema.ACCOUNT_ID, schema.LATITUDE, schema.LONGITUDE):
        if column not in accounts.columns:
            raise ParameterError(f"accounts need a {column!r} column (see territory.data.schema).")
    problem = unit_problem(accounts, units)
    if params.n_territories is not None and int(params.n_territories) > len(problem.accounts):
        raise ParameterError(
            f"{params.n_territories} territories need at least as many {UNIT_PLURAL[units]}, but the accounts are in "
            f"{len(problem.accounts):,}; use fewer territories or smaller units.")
    result = runner(problem.accounts, params, territories)
    assignment = expand(accounts, problem, result.assignment, units)
    notes = _notes(accounts, problem, result, assignment, units)
    return replace(result, assignment=assignment, notes=notes, seconds=time.perf_counter() - started)


def expand(accounts: pd.DataFrame, problem: UnitProblem, unit_assignment: pd.DataFrame, units: str) -> pd.DataFrame:
    """The units' assignment as one row per account (index and order of ``accounts``): every account
    takes its unit's territory; it moved when that differs from its own territory today."""
    rows = unit_assignment.reset_index(drop=True)
    after = pd.array(rows[schema.TERRITORY_ID].astype("string").to_numpy(dtype=object)[problem.code], dtype="string")
    after = pd.Series(after, index=accounts.index)
    before = (accounts[schema.TERRITORY_ID].astype("string") if schema.TERRITORY_ID in accounts
              else pd.Series(pd.NA, index=accounts.index, dtype="string"))
    moved = (before.notna() & after.notna() & (before != after)).fillna(False).to_numpy(dtype=bool)
    unit_moved = rows["moved"].astype(bool).to_numpy()[problem.code]
    unit_reason = rows["reason"].astype("string").fillna("").to_numpy(dtype=object)[problem.code]
    names = problem.accounts[schema.ACCOUNT_ID].to_numpy(dtype=object)[problem.code]
    joined = np.array([f"joins the rest of {n} in {t} ({UNIT_PLURAL[units]} move whole)"
                       for n, t in zip(names, after.to_numpy(dtype=object))], dtype=object)
    reason = np.where(moved & unit_moved, unit_reason, np.where(moved, joined, ""))
    reason = np.where(before.isna().to_numpy() & after.notna().to_numpy(), unit_reason, reason)
    return pd.DataFrame({
        schema.ACCOUNT_ID: accounts[schema.ACCOUNT_ID].astype("string"),
        schema.TERRITORY_ID: after,
        "previous_territory_id": before,
        "moved": moved,
        "reason": pd.array(reason, dtype="string"),
    }, index=accounts.index)


def _heavy_note(problem: UnitProblem, result: BalanceResult, units: str) -> Note | None:
    """The units heavier than the band's upper bound, named with their numbers (None when there are none)."""
    if "target" not in result.territories or not len(result.territories):
        return None
    params = result.params
    weight = measure_values(problem.accounts, params.balance_on)
    target = float(pd.to_numeric(result.territories["target"], errors="coerce").max())
    upper = target * (1 + params.tolerance)
    heavy = np.flatnonzero(weight > upper)
    if not heavy.size:
        return None
    heavy = heavy[np.argsort(-weight[heavy], kind="stable")]
    unit, kind = unit_of(params.balance_on), UNIT_NAME[units]
    names = problem.accounts[schema.ACCOUNT_ID].to_numpy(dtype=object)
    listed = "; ".join(f"{names[i]} {fmt(weight[i], unit)} ({100 * weight[i] / target:.0f}% of target, "
                       f"{problem.size[i]:,} accounts)" for i in heavy[:HEAVY_SHOWN])
    more = f" and {heavy.size - HEAVY_SHOWN} more" if heavy.size > HEAVY_SHOWN else ""
    many = heavy.size > 1
    return Note(UNIT_TOO_HEAVY, (
        f"{heavy.size:,} {UNIT_PLURAL[units] if many else kind} alone {'are' if many else 'is'} above the "
        f"band's upper bound of {fmt(upper, unit)} (target {fmt(target, unit)} +{100 * params.tolerance:g}%) and a "
        f"{kind} moves whole, so no territory holding {'them' if many else 'it'} can be within the band: "
        f"{listed}{more}. Use smaller units, raise the tolerance, or give such a {kind} a territory of its own."),
        warning=True, data={"units": units, "upper": upper, "target": target,
                            "heavy": tuple({"unit": str(names[i]), "load": float(weight[i]),
                                            "accounts": int(problem.size[i])} for i in heavy)})


def _moves_note(accounts: pd.DataFrame, problem: UnitProblem, result: BalanceResult, assignment: pd.DataFrame,
                units: str) -> Note:
    """The engine's moves note counted on accounts (the engine counted units)."""
    params = result.params
    moved = assignment["moved"].to_numpy(dtype=bool)
    load = float(measure_values(accounts, params.balance_on)[moved].sum()) if moved.any() else 0.0
    revenue = (pd.to_numeric(accounts[schema.REVENUE], errors="coerce").fillna(0).to_numpy(dtype=float)
               if schema.REVENUE in accounts else np.zeros(len(accounts)))
    share = 100 * revenue[moved].sum() / revenue.sum() if revenue.sum() > 0 else None  # no revenue: no share
    units_moved = int(np.unique(problem.code[moved]).size)
    unit = unit_of(params.balance_on)
    of_revenue = f", {share:.1f}% of revenue" if share is not None else ""
    return Note(codes.MOVES, (
        f"{int(moved.sum()):,} of {len(moved):,} accounts change territory, in {units_moved:,} of "
        f"{len(problem.accounts):,} {UNIT_PLURAL[units]} ({fmt(load, unit)} of {measure_name(params.balance_on)}"
        f"{of_revenue})."),
        data={"accounts": int(moved.sum()), "of": len(moved), "units_moved": units_moved,
              "units": len(problem.accounts), "load": load, "unit": unit,
              "revenue_pct": None if share is None else float(share)})


def _reworded(note: Note, units: str, params: BalanceParams) -> Note:
    """An engine note that spoke of accounts, said of whole units (same code and data)."""
    data, unit, kind, plural = note.data, unit_of(params.balance_on), UNIT_NAME[units], UNIT_PLURAL[units]
    tol = f"+/-{100 * params.tolerance:g}%"
    if note.code == codes.COARSE_ACCOUNTS:
        text = (f"{plural.capitalize()} are coarse for this band: {int(data['accounts']):,} of them are larger than "
                f"the whole {tol} band ({fmt(data['band'], unit)}), the largest {fmt(data['largest'], unit)}; whole "
                f"{plural} cannot always add up to within the band. Use smaller units, raise the tolerance or use "
                "fewer territories.")
    elif note.code == codes.LOCKED_OVER:
        text = (f"{plural.capitalize()} held in {data['territory']} by a locked account already total "
                f"{fmt(data['locked_load'], unit)}, above its upper bound {fmt(data['upper'], unit)} (a {kind} with "
                "a locked account stays whole in that account's territory); unlock some to balance it.")
    elif note.code == codes.TOO_FEW_ACCOUNTS:
        short = int(data["territories"]) - int(data["accounts"])
        text = (f"Requested {int(data['territories'])} territories, but only {int(data['accounts']):,} {plural} have "
                f"a positive {measure_name(params.balance_on)}: at least {short} territories cannot reach their "
                "target. Use fewer territories or smaller units.")
    else:
        return note
    return replace(note, text=text)


def _notes(accounts: pd.DataFrame, problem: UnitProblem, result: BalanceResult, assignment: pd.DataFrame,
           units: str) -> tuple[Note, ...]:
    """The engine's notes said about whole units: which units, how many accounts had none, moves on
    accounts, and units (not accounts) too heavy or too coarse for the band."""
    kind, plural = UNIT_NAME[units], UNIT_PLURAL[units]
    n_units = len(problem.accounts) - problem.without_key
    without = (f"; {problem.without_key:,} accounts without a {kind} (no US ZIP code) are units of their own"
               if problem.without_key else "")
    notes = [Note(UNITS_NOTE, f"Balanced {n_units:,} whole {plural} "
                              f"({len(accounts) - problem.without_key:,} accounts){without}.",
                  data={"units": units, "count": n_units, "accounts": len(accounts),
                        "without_unit": problem.without_key})]
    heavy = _heavy_note(problem, result, units)
    if heavy is not None:
        notes.append(heavy)
    for note in result.notes:
        if note.code == codes.ACCOUNT_TOO_HEAVY and heavy is not None:
            continue  # said of the units, above
        if note.code == codes.MOVES:
            notes.append(_moves_note(accounts, problem, result, assignment, units))
        else:
            notes.append(_reworded(note, units, result.params))
    notes.sort(key=lambda note: not note.warning)  # warnings first, as the engine orders them
    return tuple(notes)


def keep_units_whole(accounts: pd.DataFrame, counted: np.ndarray, result: BalanceResult, units: str) -> BalanceResult:
    """``result`` with the accounts not counted for balancing (``~counted``, account types shown apart,
    :mod:`territory.planning.account_types`) in their unit's territory wherever the unit has counted
    accounts: a unit stays whole whatever its accounts' types."""
    if units == ACCOUNT or counted.all():
        return result
    keys = unit_keys(accounts, units)
    out = result.assignment.copy()
    labels = out[schema.TERRITORY_ID].astype("string")
    unit_territory = labels[counted].groupby(keys[counted].to_numpy(dtype=object, na_value=None)).first()
    follow = ~counted & keys.isin(unit_territory.index).fillna(False).to_numpy(dtype=bool)
    if not follow.any():
        return result
    to = keys[follow].map(unit_territory).astype("string")
    previous = out.loc[follow, "previous_territory_id"].astype("string")
    changed = (to != labels[follow]).fillna(False).to_numpy(dtype=bool)
    out.loc[follow, schema.TERRITORY_ID] = to
    out.loc[follow, "moved"] = (previous.notna() & (previous != to)).fillna(False).to_numpy(dtype=bool)
    rows = out.index[follow][changed]
    out.loc[rows, "reason"] = [f"not counted for balancing; joins the rest of {k} in {t} ({UNIT_PLURAL[units]} move "
                               "whole)" for k, t in zip(keys[rows], to[changed])]
    out["moved"] = out["moved"].astype(bool)
    return replace(result, assignment=out)


def units_runner(units: str, runner=balance):
    """``runner`` on whole ``units``: a function with the engine's signature (``runner`` itself for account)."""
    check_units(units)
    if units == ACCOUNT:
        return runner
    return lambda accounts, params, territories: balance_by_units(accounts, params, territories, units, runner)
