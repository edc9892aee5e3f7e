"""One group of territories, end to end: prepare -> solve -> repair -> further passes -> explain.

:func:`balance_single` is the whole engine for geographic territories; industry teams
(:mod:`territory.engine.teams`) run it once per team, and :func:`territory.engine.balance`
dispatches between the two.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from territory.data.schema import (
    ACCOUNT_ID,
    CAPACITY_FTE,
    INDUSTRY,
    LATITUDE,
    LONGITUDE,
    REGION,
    REP_NAME,
    TERRITORY_ID,
)
from territory.engine import also as also_pass
from territory.engine import codes, explain, ids, local, near, redraw
from territory.engine import focus as focus_pass
from territory.engine.centres import medians
from territory.engine.config import DEFAULT, EngineConfig
from territory.engine.exchange import exchange
from territory.engine.homeward import homeward
from territory.engine.join import join_pieces
from territory.engine.notes import Note
from territory.engine.params import BalanceParams, also_measures, measure_name, measure_values
from territory.engine.polish import far_accounts, polish
from territory.engine.prepare import Prepared, prepare
from territory.engine.repair import repair, settle_strays, stray_accounts
from territory.engine.result import MOVED, PREVIOUS_TERRITORY_ID, REASON, BalanceResult
from territory.engine.solve import Problem, Solution, outside_band, resolve_graph, solve


def balance_single(accounts: pd.DataFrame, params: BalanceParams, territories: pd.DataFrame | None = None,
                   config: EngineConfig = DEFAULT) -> BalanceResult:
    """Balance ``accounts`` among one group of territories (no industry teams)."""
    started = time.perf_counter()
    prep = prepare(accounts, params, territories, config)
    problem = prep.problem
    notes = list(prep.notes)
    solution = _solve(problem)
    if solution.redrawn:
        notes.append(_redrawn_note(problem, solution.redrawn))
    also = also_measures(params)
    if also and problem.adjacency is not None:
        _balance_also(prep, also, solution)
    if params.industry_focus > 0:
        if INDUSTRY in accounts.columns:
            codes_all, _ = pd.factorize(accounts[INDUSTRY].astype("string").fillna("Other"), sort=True)
            industry = codes_all[prep.geo].astype(np.int64)
            notes.append(focus_pass.apply(solution, problem, industry, params.industry_focus, problem.strict,
                                          _further_measures(prep, also) if also else None))
        else:
            notes.append(Note(codes.FOCUS_IGNORED,
                              "industry_focus is set but the accounts have no industry column, so it was ignored."))
    return _result(prep, solution, notes, started)


def _solve(problem: Problem) -> Solution:
    """The alignment, in up to three attempts, the first that needs no more wins: the local
    re-balance (high stability on a map-drawn alignment), the global solve from the problem's
    start, the global solve from the balanced fallback start. Otherwise the best by (load outside
    the band, stray load) is kept. Each attempt ends with the contiguity repair."""
    if problem.strict and not outside_band(problem, problem.start).any() and (problem.start == problem.current).all():
        # stability 1 and today's alignment already within the band: nothing needs to move
        solution = _as_it_is(problem)
        _repaired(problem, solution)
        return solution
    attempts = []
    if problem.local:
        attempts.append((lambda: local.rebalance(problem), False, True))
    if not problem.fix_outside_only:  # that mode asked for local moves only, whatever they reach
        attempts.append((lambda: solve(problem), False, False))
        if problem.fallback is not None:
            # a fresh start gives up on today's alignment: only for balance, never for contiguity
            attempts.append((lambda: solve(problem, problem.fallback), True, False))
    best, best_score = None, None
    for attempt, balance_only, keeps_ids in attempts:
        if balance_only and best_score is not None and best_score[0] == 0.0:
            break
        if keeps_ids:  # the local re-balance: its answers, each as it is and matched to today
            kept = _best_local(problem, attempt())
            if kept is None:
                continue
            solution, score = kept
        else:
            solution = attempt()
            if solution is None:
                continue
            _match_today(problem, solution)
            score = _repaired(problem, solution)
        if best_score is None or score < best_score:
            best, best_score = solution, score
        if score == (0.0, 0.0):
            break
    if best is None:  # nothing could move (no neighbour graph): today's alignment as it is
        best = _as_it_is(problem)
        _repaired(problem, best)
    elif best_score != (0.0, 0.0) and not problem.fix_outside_only and not problem.limits:
        # (the bisection ignores move budgets, and "fix only the territories outside" asked for local
        # moves; an alignment not drawn on a map kept at stability 1 keeps its owners: a moved
        # account joins a scattered territory, and redrawing the whole map to join it would move
        # nearly every account, so only a region short of the whole map is redrawn then)
        whole_map = best_score[0] > 0 or not (problem.strict and not problem.today_on_map)
        best = _no_worse_than_a_redraw(problem, best, best_score, whole_map)
    return best


def _redrawn_note(problem: Problem, redrawn: int) -> Note:
    """Why a region (or the whole map) was redrawn from scratch, and how many territories."""
    kept = problem.k - redrawn
    what = ("the territories were redrawn from scratch (a balanced recursive bisection)" if kept == 0 else
            f"the {redrawn} territories around them were redrawn from scratch (the other {kept} kept as they were)")
    text = f"The solves left territories in pieces or outside the band, so {what}"
    if problem.regions is not None:
        text += ", then accounts went back to today's territories wherever the band allowed"
    return Note(codes.REDRAWN, text + ".", data={"territories": redrawn, "whole_map": kept == 0})


def _no_worse_than_a_redraw(problem: Problem, best: Solution, best_score: tuple[float, float],
                             whole_map: bool = True) -> Solution:
    """A redrawn alignment when the best solve left pieces or missed the band: first only the
    territories in pieces and one, then two rings of their neighbours re-cut by a bisection
    (:mod:`territory.engine.redraw`), then the whole map's recursive bisection (balanced and in one
    piece by construction). Each is repaired like any attempt, has what it moved sent back home
    where the band allows (:mod:`territory.engine.homeward`), and is kept when it leaves less load
    outside the band, or as little and less stray load: the solves can end worse than their own
    start on coarse workloads (many accounts heavier than the band is wide, piled in one city) or
    leave pieces a lopsided start made, and the answer must never be. Contiguity comes before
    disruption here: a territory in pieces is a rule broken, a larger move is a cost.
    ``whole_map=False``: only the regions short of the whole map."""
    graph = resolve_graph(problem.adjacency)
    if best_score[0] <= 0 and graph is not None:  # only pieces: redraw around them first
        stray, _ = stray_accounts(problem, graph, best.labels)
        for rings in redraw.RINGS:
            redrawn = redraw.redraw_around(problem, graph, best.labels, stray, rings)
            if redrawn is None:
                continue
            trial = _as_it_is(problem, redrawn[0])
            score = _repaired(problem, trial)
            if score < best_score:
                best, best_score = _homeward(problem, trial), score
                best.redrawn = redrawn[1]
                if score == (0.0, 0.0):
                    return best
                stray, _ = stray_accounts(problem, graph, best.labels)
    if not whole_map:
        return best
    balanced = problem.fallback if problem.fallback is not None else problem.start
    trial = _as_it_is(problem, balanced)
    _match_today(problem, trial)
    score = _repaired(problem, trial)
    if score < best_score:
        trial.redrawn = problem.k
        return _homeward(problem, trial)
    return best


def _homeward(problem: Problem, solution: Solution) -> Solution:
    """The solution with moved accounts sent back to today's territory where the band allows (when
    the stability gives today any weight)."""
    if problem.regions is not None and problem.adjacency is not None:
        solution.labels = homeward(problem, resolve_graph(problem.adjacency), solution.labels, solution.how)
    return solution


def _match_today(problem: Problem, solution: Solution) -> None:
    """Give the solver's territories today's indices by shared load (what the result's IDs will
    be) before the repair: the repair keeps a piece of accounts that stay where they are today,
    and "stay" must mean the same territory the user will see."""
    if problem.today is None or problem.anchored.any():
        return
    k = problem.k
    have = problem.current >= 0
    overlap = np.bincount(solution.labels[have] * k + problem.current[have], weights=problem.weight[have] + 1e-6,
                          minlength=k * k).reshape(k, k)
    perm = ids.match(overlap, problem.target, problem.locked)
    if (perm == np.arange(k)).all():
        return
    inverse = np.empty(k, dtype=np.int64)
    inverse[perm] = np.arange(k)
    solution.labels = perm[solution.labels]
    solution.centres = solution.centres[inverse]
    solution.excess = solution.excess[inverse]


def _best_local(problem: Problem, answers: list[Solution]) -> tuple[Solution, tuple[float, float]] | None:
    """The best of the local re-balance's answers after the repair: least (load outside the band,
    stray load), then least moved load. Each answer keeps today's territory indices, so it is
    tried as it is and with its territories matched to today's by shared load: matching spares
    the moves of a territory that handed most of itself on (a lopsided start), but can swap a new
    territory's ID with the one it was carved from, and what stays there then reads as cut off
    and is moved again. They are repaired in order of moved load (those with an account far from
    its new territory last), and the rest are skipped once one is repaired whole and within the
    band moving no more than any of them moves before its repair (the repair joins and pulls in,
    rarely sends anything home). At stability 1 each repaired answer then sends home what the
    room between the flows' aim and the band's edge allows (:mod:`territory.engine.homeward`)."""
    options = []
    for answer in answers:
        options.append(answer)
        matched = replace(answer, labels=answer.labels.copy(), centres=answer.centres.copy(),
                          how=answer.how.copy(), excess=answer.excess.copy())
        _match_today(problem, matched)
        if not (matched.labels == answer.labels).all():
            options.append(matched)
    # an answer with a far account moves more than it shows: the repair pulls the account back
    options.sort(key=lambda option: (bool(far_accounts(problem, option.labels).any()),
                                     _moved_load(problem, option.labels)))
    before = [_moved_load(problem, option.labels) for option in options]
    best, best_key = None, None
    for i, option in enumerate(options):
        if best_key is not None and best_key[0] == (0.0, 0.0) and best_key[1] <= min(before[i:]):
            break
        score = _repaired(problem, option)
        if problem.strict and score == (0.0, 0.0) and problem.adjacency is not None:
            option.labels = homeward(problem, resolve_graph(problem.adjacency), option.labels, option.how)
        key = (score, _moved_load(problem, option.labels))
        if best_key is None or key < best_key:
            best, best_key = option, key
    return None if best is None else (best, best_key[0])


def _moved_load(problem: Problem, labels: np.ndarray) -> float:
    """Load of the accounts not in today's territory (accounts without one count as moved)."""
    return float(problem.weight[(labels != problem.current) | (problem.current < 0)].sum())


def _as_it_is(problem: Problem, labels: np.ndarray | None = None) -> Solution:
    """The start (or ``labels``) itself as a solution (its centres: the medians of its territories)."""
    labels = problem.start if labels is None else labels
    centres = medians(problem.xyz, problem.weight, labels, problem.k, problem.anchor_centres)
    centres[problem.anchored] = problem.anchor_centres[problem.anchored]
    return Solution(labels.copy(), centres, np.zeros(labels.size, dtype=np.int8), np.zeros(problem.k))


def _repaired(problem: Problem, solution: Solution) -> tuple[float, float]:
    """Repair the solution's pieces and far accounts in place; (load outside the band, stray load)
    afterwards."""
    if problem.repair_contiguity and problem.adjacency is not None:
        graph = resolve_graph(problem.adjacency)
        stray = _make_contiguous(problem, graph, solution)
        stray = _bring_near(problem, graph, solution, stray)
        if stray.any():
            stray = _hand_back_left(problem, graph, solution)
        stray = _exchange(problem, graph, solution, stray)
        if stray.any():
            stray = _join(problem, graph, solution, stray)
        stray_load = float(problem.weight[stray].sum())
    else:
        stray_load = 0.0
    load = np.bincount(solution.labels, weights=problem.weight, minlength=problem.k) + problem.fixed_load
    t = problem.target
    outside = float((np.maximum(load - t * (1 + problem.tolerance), 0.0)
                     + np.maximum(t * (1 - problem.tolerance) - load, 0.0)).sum())
    solution.excess = np.maximum(load - t * (1 + problem.tolerance), 0.0) + np.maximum(
        t * (1 - problem.tolerance) - load, 0.0)
    return (round(outside, 9), round(stray_load, 9))


def _hand_back_left(problem: Problem, graph, solution: Solution) -> np.ndarray:
    """The hand-backs again for the pieces left at the end: the polish, repair and near steps
    moved load since the first hand-backs, so a piece the band refused then may fit now (and
    each piece handed back can make room for the next). The stray accounts left, (n,) bool."""
    for _ in range(HAND_BACK_PASSES):
        labels = settle_strays(problem, solution.labels, solution.how)
        if (labels == solution.labels).all():
            break
        solution.labels = labels
    return stray_accounts(problem, graph, solution.labels)[0]


HAND_BACK_PASSES = 4


def _exchange(problem: Problem, graph, solution: Solution, stray: np.ndarray) -> np.ndarray:
    """Territories still outside the band trade border accounts with their neighbours in one exact
    program (:mod:`territory.engine.exchange`), then the hand-backs join what that cut off. Kept
    when it leaves less load outside the band. The stray accounts left."""
    how = solution.how.copy()
    traded = exchange(problem, graph, solution.labels, how)
    if traded is None:
        return stray
    trial = replace(solution, labels=traded, how=how)
    trial_stray = _hand_back_left(problem, graph, trial)
    if outside_band(problem, trial.labels).sum() >= outside_band(problem, solution.labels).sum() - 1e-9:
        return stray
    solution.labels, solution.how = trial.labels, trial.how
    return trial_stray


def _join(problem: Problem, graph, solution: Solution, stray: np.ndarray) -> np.ndarray:
    """Pieces the hand-backs left, joined by an exact trade that cannot cut
    (:mod:`territory.engine.join`), then the hand-backs again; each round kept only when it leaves
    less stray load and no more load outside the band. The stray accounts left."""
    for _ in range(JOIN_ROUNDS):
        how = solution.how.copy()
        joined = join_pieces(problem, graph, solution.labels, how)
        if joined is None:
            break
        trial = replace(solution, labels=joined, how=how)
        trial_stray = _hand_back_left(problem, graph, trial)
        if (outside_band(problem, trial.labels).sum() > outside_band(problem, solution.labels).sum() + 1e-9
                or problem.weight[trial_stray].sum() >= problem.weight[stray].sum() - 1e-9
                or far_accounts(problem, trial.labels).sum() > far_accounts(problem, solution.labels).sum()):
            break
        solution.labels, solution.how, stray = trial.labels, trial.how, trial_stray
    return stray


JOIN_ROUNDS = 8
"""Rounds of joining pieces (each joins what one layer of trades makes room for)."""


def _make_contiguous(problem: Problem, graph, solution: Solution) -> np.ndarray:
    """Join the solution's stray pieces in place: safe moves first (cheap), the exact re-solves of
    the repair only for what they leave. The stray accounts left, (n,) bool."""
    solution.labels = settle_strays(problem, solution.labels, solution.how)
    solution.labels = polish(problem, graph, solution.labels, solution.how)
    stray, _ = stray_accounts(problem, graph, solution.labels)
    if stray.any():
        kept, kept_how = solution.labels, solution.how.copy()
        solution.labels, _ = repair(problem, solution)
        if (solution.labels == kept).all():  # nothing re-solved: a second polish would repeat the first
            solution.how = kept_how
            return stray
        solution.labels = polish(problem, graph, solution.labels, solution.how)
        again, _ = stray_accounts(problem, graph, solution.labels)
        if (outside_band(problem, solution.labels).sum() > outside_band(problem, kept).sum() + 1e-9
                or problem.weight[again].sum() >= problem.weight[stray].sum()):
            solution.labels, solution.how = kept, kept_how
        else:
            stray = again
    return stray


def _bring_near(problem: Problem, graph, solution: Solution, stray: np.ndarray) -> np.ndarray:
    """Far accounts the polish could not pull (:mod:`territory.engine.near`): each round re-solves
    them exactly, then joins the pieces that leaves; a round is kept only when it leaves fewer far
    accounts with no more load outside the band and no more stray load. The stray accounts left."""
    score = _score(problem, solution.labels, stray)
    for _ in range(near.ROUNDS):
        if score[2] == 0:
            break
        leave = far_accounts(problem, solution.labels)
        moved = near.bring_near(problem, graph, solution.labels, leave, solution.scale)
        if moved is None:
            break
        trial = replace(solution, labels=moved, how=solution.how.copy())
        near.mark_moves(solution.labels, moved, leave, trial.how)
        trial_stray, _ = stray_accounts(problem, graph, trial.labels)
        if trial_stray.any():
            trial_stray = _make_contiguous(problem, graph, trial)
        trial_score = _score(problem, trial.labels, trial_stray)
        if not trial_score < score:
            break
        solution.labels, solution.how = trial.labels, trial.how
        stray, score = trial_stray, trial_score
    return stray


def _score(problem: Problem, labels: np.ndarray, stray: np.ndarray) -> tuple[float, float, int]:
    """(load outside the band, stray load, far accounts): lower is better, in that order."""
    return (round(float(outside_band(problem, labels).sum()), 9), round(float(problem.weight[stray].sum()), 9),
            int(far_accounts(problem, labels).sum()))


def _further_measures(prep: Prepared, also: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values of the geo-located accounts (n_g, m), solve targets (k, m), fixed load (k, m)) of
    the ``also_balance`` measures, with the same bookkeeping as the main measure: targets follow
    capacity, accounts without coordinates are fixed load (or leave room when unassigned)."""
    capacity = prep.plan.capacity
    k = capacity.size
    share = capacity / capacity.sum()
    values = [measure_values(prep.accounts, measure) for measure in also]
    return (np.column_stack([v[prep.geo] for v in values]),
            np.column_stack([v.sum() * share - v[prep.no_geo_free].sum() * share for v in values]),
            np.column_stack([np.bincount(prep.cur_idx[prep.no_geo_fixed], weights=v[prep.no_geo_fixed], minlength=k)
                             for v in values]))


def _balance_also(prep: Prepared, also: tuple[str, ...], solution: Solution) -> None:
    """Bring the ``also_balance`` measures within the tolerance too (:mod:`territory.engine.also`)."""
    from territory.geo import delaunay_neighbors, to_lat_lon

    problem = prep.problem
    k = problem.k
    values, further_targets, further_fixed = _further_measures(prep, also)
    measures = np.column_stack([problem.weight, values])
    targets = np.column_stack([problem.target, further_targets])
    fixed = np.column_stack([problem.fixed_load, further_fixed])
    # a little inside the hard band, like the main solve, so rounding never tips a territory out
    band = 0.8 * problem.tolerance
    labels = solution.labels.copy()
    free = problem.free
    if free.all():
        graph = resolve_graph(problem.adjacency)
    else:
        # locked accounts are fixed load, and territories are kept whole on the graph of the free
        # accounts: the same graph territory.planning.metrics counts pieces on (a lock is not a fragment)
        fixed = fixed + np.column_stack([np.bincount(labels[~free], weights=measures[~free, j], minlength=k)
                                         for j in range(measures.shape[1])])
        lat, lon = to_lat_lon(problem.xyz[free])
        graph = delaunay_neighbors(lat, lon)
    new, changed = also_pass.balance_measures(labels[free], measures[free], targets, fixed, graph, problem.xyz[free],
                                              solution.centres, np.ones(int(free.sum()), dtype=bool), band)
    labels[free] = new
    solution.how[np.flatnonzero(free)[changed]] = also_pass.MOVED_BY_SECONDARY
    solution.labels = labels


def _place_without_coordinates(labels: np.ndarray, free: np.ndarray, weight: np.ndarray,
                               target: np.ndarray, k: int) -> np.ndarray:
    """Accounts with no coordinates and no current territory go where there is most room."""
    if not free.any():
        return labels
    load = np.bincount(labels[labels >= 0], weights=weight[labels >= 0], minlength=k)
    for i in np.flatnonzero(free)[np.argsort(-weight[free], kind="stable")]:
        j = int(np.argmax(target - load))
        labels[i] = j
        load[j] += weight[i]
    return labels


def _result(prep: Prepared, solution: Solution, notes: list[Note], started: float) -> BalanceResult:
    from territory.geo import to_lat_lon

    params, plan, accounts = prep.params, prep.plan, prep.accounts
    k = len(plan.ids)
    n = len(accounts)
    weight, target, unit = prep.weight, prep.target, prep.unit
    labels = np.full(n, -1, dtype=np.int64)
    labels[prep.geo] = solution.labels
    labels[prep.no_geo_fixed] = prep.cur_idx[prep.no_geo_fixed]
    labels = _place_without_coordinates(labels, prep.no_geo_free, weight, target, k)
    how = np.zeros(n, dtype=np.int8)
    how[prep.geo] = solution.how
    centres = solution.centres  # today's IDs were matched before the repair (_match_today)
    anchored = prep.problem.anchored

    names = np.asarray(plan.ids, dtype=object)
    previous = prep.current.astype("string")
    moved = previous.notna().to_numpy() & (previous.fillna("").to_numpy(dtype=object) != names[labels])
    clat, clon = to_lat_lon(centres)
    if anchored.any():
        clat[anchored], clon[anchored] = plan.home_lat[anchored], plan.home_lon[anchored]
    load = np.bincount(labels, weights=weight, minlength=k)
    dev = (load - target) / np.maximum(target, 1e-12)

    also_text = " and ".join((measure_name(params.balance_on),) + also_measures(params))
    reason = explain.reasons(plan, labels, prep.cur_idx, prep.current, moved, how, clat, clon, prep.lat, prep.lon,
                             weight, target, also_text)
    assignment = pd.DataFrame(
        {ACCOUNT_ID: accounts[ACCOUNT_ID].astype("string").to_numpy(), TERRITORY_ID: pd.array(names[labels],
                                                                                               dtype="string"),
         PREVIOUS_TERRITORY_ID: previous.to_numpy(), MOVED: moved, REASON: reason},
        index=accounts.index)
    assignment[PREVIOUS_TERRITORY_ID] = assignment[PREVIOUS_TERRITORY_ID].astype("string")
    centers = pd.DataFrame({TERRITORY_ID: pd.array(names, dtype="string"), LATITUDE: clat, LONGITUDE: clon})
    table = pd.DataFrame({
        TERRITORY_ID: pd.array(names, dtype="string"),
        REP_NAME: pd.array(plan.rep_name, dtype="string"),
        REGION: pd.array(plan.region, dtype="string"),
        CAPACITY_FTE: plan.capacity,
        "target": target,
    })
    excess = solution.excess
    feasible, warnings = explain.feasibility(accounts, params, names, labels, prep.locked, prep.cur_idx, weight,
                                             target, dev, unit, excess)
    least = least_nearby = None
    if prep.has_current:
        had = prep.current.notna().to_numpy()
        least = explain.least_moved(weight, prep.cur_idx, had, target, params.tolerance)
        least_nearby = local.least_moved_across_borders(prep.problem) if least > 0 else 0.0
        if least_nearby is not None:
            least_nearby = max(least_nearby, least)
    budget_notes = _budget_notes(prep, moved, feasible)
    if params.only_fix_outside:
        budget_notes += _outside_only_notes(prep, load, target, feasible)
    redrawn = any(note.code == codes.NOT_GEOGRAPHIC and not note.data.get("strict") for note in notes)
    summary = explain.summary(params, names, dev, load, target, unit, moved, accounts, weight, least,
                              least_nearby, redrawn=redrawn)
    also_ok, also_notes = explain.also_report(accounts, params, plan.capacity, names, labels)
    feasible = feasible and also_ok
    also_warnings = [note for note in also_notes if note.warning]
    also_summary = [note for note in also_notes if not note.warning]
    ordered = tuple(budget_notes + warnings + also_warnings + notes + summary + also_summary)
    return BalanceResult(
        assignment=assignment, centers=centers, territories=table, feasible=feasible, notes=ordered,
        params=params, seconds=time.perf_counter() - started, n_iter=solution.n_iter,
        load=pd.Series(load, index=pd.Index(names, name=TERRITORY_ID), name="load"), least_moved=least,
        least_moved_nearby=least_nearby)


def _outside_only_notes(prep: Prepared, load: np.ndarray, target: np.ndarray, feasible: bool) -> list[Note]:  # noqa: ARG001  the lead's engine signature; the engine issue (#12) trims it
    tol = prep.params.tolerance
    have = prep.cur_idx >= 0
    before = np.bincount(prep.cur_idx[have], weights=prep.weight[have], minlength=target.size)
    outside_before = int((np.abs(before / np.maximum(target, 1e-12) - 1) > tol + 1e-9).sum())
    text = (f"Only the {outside_before} territor{'y' if outside_before == 1 else 'ies'} outside +/-{100 * tol:g}% "
            "handed accounts to their neighbours; no other territory lost any.")
    if not feasible:
        text += (" Some territories stay outside the band: their neighbours could not give or take enough this "
                 "way. A full re-balance (without 'fix only the territories outside the band') can move load "
                 "along chains of neighbours.")
    return [Note(codes.ONLY_OUTSIDE, text, warning=not feasible, data={"outside_before": outside_before})]


def _budget_notes(prep: Prepared, moved: np.ndarray, feasible: bool) -> list[Note]:
    params = prep.params
    if params.move_budget_accounts is None and params.move_budget_revenue_pct is None:
        return []
    revenue = explain.revenue_of(prep.accounts)
    share = 100 * revenue[moved].sum() / revenue.sum() if revenue.sum() > 0 else 0.0
    budget = " and ".join(x for x in (
        f"{params.move_budget_accounts:,} accounts" if params.move_budget_accounts is not None else "",
        f"{params.move_budget_revenue_pct:g}% of revenue" if params.move_budget_revenue_pct is not None else "")
        if x)
    data = {"moved": int(moved.sum()), "revenue_pct": share, "budget_accounts": params.move_budget_accounts,
            "budget_revenue_pct": params.move_budget_revenue_pct}
    if feasible:
        return [Note(codes.BUDGET_MET, f"Move budget ({budget}): {int(moved.sum()):,} accounts moved ({share:.1f}% "
                     "of revenue), within the budget and the tolerance.", data=data)]
    return [Note(codes.BUDGET_BINDING, f"Move budget ({budget}) stopped balancing: {int(moved.sum()):,} accounts "
                 f"moved ({share:.1f}% of revenue); the moves within the budget that bring the territories closest "
                 "to the band were made, and the territories below remain outside it.", warning=True, data=data)]

