"""The explain stage: what a sales leader needs to defend the result, as structured notes.

Every message is a :class:`territory.engine.notes.Note` (a code, the sentence, the numbers).
Infeasibility is proven with numbers: an account heavier than the band, locked load above a
territory's upper bound, fewer accounts with load than territories, or (from the LP) a band that
no alignment of the candidate territories can meet. Every moved account gets a short reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territory.data.schema import ACCOUNT_ID, REVENUE, TERRITORY_ID
from territory.engine import codes
from territory.engine.also import MOVED_BY_SECONDARY
from territory.engine.focus import MOVED_BY_FOCUS
from territory.engine.notes import Note
from territory.engine.params import MEASURE_UNIT, BalanceParams, also_measures, fmt, measure_name, measure_values
from territory.engine.solve import MOVED_BY_CONTIGUITY
from territory.geo import haversine_km


def pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def revenue_of(accounts: pd.DataFrame) -> np.ndarray:
    if REVENUE not in accounts.columns:
        return np.zeros(len(accounts))
    values = pd.to_numeric(accounts[REVENUE], errors="coerce").fillna(0.0).clip(lower=0).to_numpy(float)
    return np.nan_to_num(values, nan=0.0, posinf=0.0)


def least_moved(weight: np.ndarray, cur_idx: np.ndarray, had_territory: np.ndarray, target: np.ndarray,
                tolerance: float) -> float:
    """The least load any alignment within the band must move away from today's territories.

    Today's load above a territory's upper bound must leave it; a territory below its lower bound
    must be filled by moved accounts or by accounts without a territory today; every account of a
    territory that no longer exists moves. So at least
    ``dropped + max(sum of excesses, sum of shortfalls - dropped - unassigned)`` moves, wherever
    the accounts go (the LP relaxation of the least-move problem with every territory allowed)."""
    k = target.size
    here = cur_idx >= 0
    load = np.bincount(cur_idx[here], weights=weight[here], minlength=k)
    excess = np.maximum(load - target * (1 + tolerance), 0.0).sum()
    shortfall = np.maximum(target * (1 - tolerance) - load, 0.0).sum()
    dropped = float(weight[~here & had_territory].sum())
    unassigned = float(weight[~had_territory].sum())
    return dropped + max(excess, shortfall - dropped - unassigned, 0.0)


def summary(params: BalanceParams, ids, dev: np.ndarray, load: np.ndarray, target: np.ndarray, unit: str,  # noqa: ARG001  the lead's engine signature; the engine issue (#12) trims it
            moved: np.ndarray, accounts: pd.DataFrame, weight: np.ndarray, least: float | None,
            least_nearby: float | None = None, redrawn: bool = False) -> list[Note]:
    """The summary, what moved and the proven least disruption. ``redrawn``: today's alignment was
    not drawn on a map and the territories were drawn afresh (the bound is then far below the moves,
    and the note says why)."""
    j = int(np.argmax(np.abs(dev)))
    name = measure_name(params.balance_on)
    out = [Note(codes.SUMMARY, f"Balanced {len(ids)} territories on {name}: worst {ids[j]} "
                f"{pct(dev[j])} of target (tolerance +/-{100 * params.tolerance:g}%).",
                data={"territories": len(ids), "worst": str(ids[j]), "worst_deviation": float(dev[j]),
                      "tolerance": params.tolerance})]
    n_moved = int(moved.sum())
    if n_moved or (TERRITORY_ID in accounts.columns):
        rev = revenue_of(accounts)
        total_rev = rev.sum()
        share = 100 * rev[moved].sum() / total_rev if total_rev > 0 else None  # no revenue: no share
        moved_load = float(weight[moved].sum())
        of_revenue = f", {share:.1f}% of revenue" if share is not None else ""
        out.append(Note(codes.MOVES, f"{n_moved:,} of {len(moved):,} accounts change territory "
                        f"({fmt(moved_load, unit)} of {name}{of_revenue}).",
                        data={"accounts": n_moved, "of": len(moved), "load": moved_load, "unit": unit,
                              "revenue_pct": share}))
        if least is not None:
            text = (f"Moved {fmt(moved_load, unit)} of {name}; no alignment within +/-{100 * params.tolerance:g}% "
                    f"can move less than {fmt(least, unit)}")
            if least_nearby is not None and least_nearby > least * 1.001:
                text += (f", or less than {fmt(least_nearby, unit)} if accounts only move to a territory bordering "
                         "theirs (load passed on from neighbour to neighbour)")
            if redrawn:
                text += (". Today's territories are not drawn on a map, so they were redrawn; stability 1 keeps "
                         "them and moves only what the tolerance needs")
            elif params.stability < 1 and moved_load > 1.1 * max(least_nearby or least, 0.0):
                text += (f". At stability {params.stability:g} accounts also move for shorter travel; stability 1 "
                         "moves as little as it can")
            out.append(Note(codes.LEAST_MOVES, text + ".",
                            data={"moved": moved_load, "least": least, "least_nearby": least_nearby, "unit": unit,
                                  "redrawn": redrawn, "stability": params.stability}))
    return out


def feasibility(accounts: pd.DataFrame, params: BalanceParams, ids, labels: np.ndarray, locked: np.ndarray,  # noqa: ARG001  the lead's engine signature; the engine issue (#12) trims it
                cur_idx: np.ndarray, weight: np.ndarray, target: np.ndarray, dev: np.ndarray, unit: str,
                excess: np.ndarray) -> tuple[bool, list[Note]]:
    """(feasible, notes): within tolerance everywhere, and if not, why, with numbers."""
    tol = params.tolerance
    k = len(ids)
    notes: list[Note] = []
    equal = np.allclose(target, target[0])
    target_text = (f"target {fmt(target[0], unit)} each" if equal else
                   f"targets {fmt(target.min(), unit)} to {fmt(target.max(), unit)} by capacity")
    head = f"Requested {k} territories within +/-{100 * tol:g}% ({target_text})"
    upper = target.max() * (1 + tol)
    big = np.flatnonzero(weight > upper)
    if big.size:
        i = big[np.argmax(weight[big])]
        notes.append(Note(
            codes.ACCOUNT_TOO_HEAVY,
            f"{head}, but account {accounts[ACCOUNT_ID].iloc[i]} alone is {fmt(weight[i], unit)} "
            f"({100 * weight[i] / target.max():.0f}% of target)"
            + (f"; {big.size - 1} more accounts also exceed the band" if big.size > 1 else "")
            + ". Raise the tolerance, split the account, or give it a dedicated territory.", warning=True,
            data={"account_id": str(accounts[ACCOUNT_ID].iloc[i]), "load": float(weight[i]),
                  "upper": float(upper), "accounts": int(big.size)}))
    if locked.any():
        lk = np.where(locked & (cur_idx >= 0), cur_idx, -1)
        locked_load = np.bincount(lk[lk >= 0], weights=weight[lk >= 0], minlength=k)
        for j in np.flatnonzero(locked_load > target * (1 + tol))[:5]:
            notes.append(Note(
                codes.LOCKED_OVER,
                f"Locked accounts in {ids[j]} already total {fmt(locked_load[j], unit)}, "
                f"{100 * locked_load[j] / target[j]:.0f}% of its target {fmt(target[j], unit)} "
                f"(upper bound {fmt(target[j] * (1 + tol), unit)}); unlock some to balance it.", warning=True,
                data={"territory": str(ids[j]), "locked_load": float(locked_load[j]),
                      "upper": float(target[j] * (1 + tol))}))
    positive = int((weight > 0).sum())
    if positive < k:
        notes.append(Note(
            codes.TOO_FEW_ACCOUNTS,
            f"{head}, but only {positive:,} accounts have a positive {measure_name(params.balance_on)}: "
            f"at least {k - positive} territories cannot reach their target. Use fewer territories.", warning=True,
            data={"accounts": positive, "territories": k}))
    feasible = bool(np.all(np.abs(dev) <= tol + 1e-9))
    band = 2 * tol * target.min()
    if not feasible and not notes and weight.max() > band:
        coarse = int((weight > band).sum())
        notes.append(Note(
            codes.COARSE_ACCOUNTS,
            f"Accounts are coarse for this band: {coarse:,} of them are larger than the whole "
            f"+/-{100 * tol:g}% band ({fmt(band, unit)}), the largest {fmt(weight.max(), unit)}; whole "
            "accounts cannot always add up to within the band. Raise the tolerance or use fewer territories.",
            warning=True, data={"accounts": coarse, "band": float(band), "largest": float(weight.max())}))
    if not feasible and not notes and excess.max(initial=0.0) > 0:
        notes.append(Note(
            codes.NO_NEARBY_ROOM,
            f"No alignment that moves accounts only to nearby territories meets the band: the exact "
            f"assignment leaves {fmt(float(excess.sum()), unit)} outside it. Raise the tolerance, or add or "
            "remove territories where the load is.", warning=True, data={"outside": float(excess.sum())}))
    if not feasible:
        bad = np.flatnonzero(np.abs(dev) > tol + 1e-9)
        bad = bad[np.argsort(-np.abs(dev[bad]))]
        load = target * (1 + dev)
        detail = "; ".join(f"{ids[j]} {pct(dev[j])} ({fmt(load[j], unit)} vs target {fmt(target[j], unit)})"
                           for j in bad[:5])
        notes.append(Note(
            codes.OUTSIDE_BAND,
            f"Best balance found leaves {bad.size} of {k} territories outside +/-{100 * tol:g}%: {detail}"
            + (" ..." if bad.size > 5 else "") + ".", warning=True,
            data={"territories": tuple(str(ids[j]) for j in bad), "deviations": tuple(float(dev[j]) for j in bad)}))
    return feasible, notes


def also_report(accounts: pd.DataFrame, params: BalanceParams, capacity: np.ndarray, ids,
                labels: np.ndarray) -> tuple[bool, list[Note]]:
    """(all within tolerance, notes) for the ``also_balance`` measures."""
    ok, notes = True, []
    tol = params.tolerance
    k = len(ids)
    for measure in also_measures(params):
        values = measure_values(accounts, measure)
        unit = MEASURE_UNIT[measure]
        target = values.sum() * capacity / capacity.sum()
        load = np.bincount(labels, weights=values, minlength=k)
        dev = (load - target) / np.maximum(target, 1e-12)
        bad = np.flatnonzero(np.abs(dev) > tol + 1e-9)
        j = int(np.argmax(np.abs(dev)))
        notes.append(Note(codes.ALSO_SUMMARY, f"Also balanced on {measure}: worst {ids[j]} {pct(dev[j])} of target "
                          f"(tolerance +/-{100 * tol:g}%).",
                          data={"measure": measure, "worst": str(ids[j]), "worst_deviation": float(dev[j])}))
        if bad.size:
            ok = False
            bad = bad[np.argsort(-np.abs(dev[bad]))]
            detail = "; ".join(f"{ids[t]} {pct(dev[t])} ({fmt(load[t], unit)} vs target {fmt(target[t], unit)})"
                               for t in bad[:5])
            notes.append(Note(
                codes.ALSO_OUTSIDE,
                f"{measure.capitalize()} could not be brought within +/-{100 * tol:g}% as well: {bad.size} of {k} "
                f"territories are outside ({detail}{' ...' if bad.size > 5 else ''}). Moving boundary accounts "
                f"between neighbours is not enough when {measure} per unit of {measure_name(params.balance_on)} "
                "differs this much between areas; raise the tolerance or balance on a composite measure instead.",
                warning=True, data={"measure": measure, "territories": tuple(str(ids[t]) for t in bad)}))
    # the summaries come after the warnings, as in the main measure's messages
    notes.sort(key=lambda note: not note.warning)
    return ok, notes


def reasons(plan, labels, cur_idx, current, moved, how, clat, clon, lat, lon, weight, target,
            also_text: str = "the other measures"):
    """One short sentence per moved account ('' for the others), vectorised over moved accounts."""
    n = labels.size
    out = np.full(n, "", dtype=object)
    idx = np.flatnonzero(moved)
    if idx.size == 0:
        return pd.array(out, dtype="string")
    ids = np.asarray(plan.ids, dtype=object)
    k = ids.size
    prev_ids = current.iloc[idx].astype(object).to_numpy()
    new = labels[idx]
    new_ids = ids[new]
    prev = cur_idx[idx]
    # deviation of each ID in the previous alignment, against the new targets
    have = cur_idx >= 0
    prev_load = np.bincount(cur_idx[have], weights=weight[have], minlength=k)
    prev_dev = (prev_load - target) / np.maximum(target, 1e-12)
    d_new = haversine_km(lat[idx], lon[idx], clat[new], clon[new])
    safe_prev = np.where(prev >= 0, prev, 0)
    d_old = haversine_km(lat[idx], lon[idx], clat[safe_prev], clon[safe_prev])
    closer = np.nan_to_num(d_old - d_new, nan=0.0)
    closer_txt = np.char.mod("%d", np.round(np.abs(closer)).astype(np.int64)).astype(object)
    pd_txt = np.char.mod("%d", np.round(100 * np.abs(prev_dev[safe_prev])).astype(np.int64)).astype(object)
    nd_txt = np.char.mod("%d", np.round(100 * np.abs(prev_dev[new])).astype(np.int64)).astype(object)
    dn_txt = np.char.mod("%d", np.round(np.nan_to_num(d_new)).astype(np.int64)).astype(object)
    prev_existing = set(current.dropna().unique().tolist())
    is_new_territory = np.array([t not in prev_existing for t in ids])[new]

    prev_safe_ids = np.where(prev >= 0, prev_ids, "its old territory")
    geo_part = np.where(closer >= 1, closer_txt + " km closer to " + new_ids + "'s centre than to "
                        + prev_safe_ids + "'s",
                        np.where(closer <= -1, new_ids + "'s centre is " + dn_txt + " km away (" + closer_txt
                                 + " km farther, nearest with room)", "about as close to " + new_ids + "'s centre"))
    over_prev = (prev >= 0) & (prev_dev[safe_prev] > 0.005)
    under_new = prev_dev[new] < -0.005
    text = np.where(over_prev, prev_ids + " was " + pd_txt + "% over target; " + geo_part,
                    np.where(under_new, new_ids + " was " + nd_txt + "% under target; " + geo_part,
                             geo_part + " (more compact)"))
    text = np.where(is_new_territory, new_ids + " is a new territory; " + geo_part, text)
    text = np.where(prev < 0, prev_ids + " is no longer a territory; " + new_ids + "'s centre is " + dn_txt
                    + " km away", text)
    text = np.where(how[idx] == MOVED_BY_SECONDARY,
                    "evens out " + also_text + " between " + prev_safe_ids + " and " + new_ids + "; " + geo_part, text)
    text = np.where(how[idx] == MOVED_BY_FOCUS,
                    "industry focus: " + new_ids + " specialises in this account's industry in this area and takes "
                    "it over from " + prev_safe_ids + " (specialised territories overlap here)", text)
    text = np.where(how[idx] == MOVED_BY_CONTIGUITY,
                    "joins " + new_ids + "'s contiguous area (it would be an isolated piece of "
                    + np.where(prev >= 0, prev_ids, "its territory") + ")", text)
    out[idx] = text
    return pd.array(out, dtype="string")


