"""Mixed-integer programs stopped by a limit of work, never by the clock: same input, same answer.

The engine's MIPs (the rounding of split accounts, the joining of stray pieces, the exchange
between territories outside the band) need a good whole solution, not a proof of the best one,
so their search is cut short. A clock limit makes the answer depend on the machine's load: a
program stopped at 0.5 s on a busy machine returns a worse incumbent than on a quiet one, and the
alignment that follows differs. HiGHS' own node limit does not bound the root node, where cut
rounds on a 15,000-variable rounding program can run for a minute. So the search here stops after
a number of HiGHS' progress checks: its interrupt callback runs at fixed points of the search
(between the root's cut rounds, after nodes), so counting them measures work the same way on any
machine. The clock limit stays as a guard far above what a program needs (docs/engine.md,
"Same input, same answer").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Work:
    """How far one program's search may go before its best whole solution is taken."""

    checks: int  # HiGHS progress checks (interrupt callbacks), once it has a whole solution
    gap: float  # the search stops within this relative gap of the best possible cost
    nodes: int | None = None  # branch-and-bound nodes (None: no limit beyond the checks)
    guard_seconds: float = 60.0  # a clock limit for a pathological program only (the answer may then depend on load)


FEWEST_CHECKS = 4
"""A program's search gets at least this many progress checks, however large it is."""


def scaled_checks(checks: int, work: int, variables: int) -> int:
    """``checks``, fewer on a large program: checks x variables at most ``work``, but at least
    ``FEWEST_CHECKS`` (a check there costs a cut round over all its variables)."""
    return max(FEWEST_CHECKS, min(checks, work // max(variables, 1)))


NO_SOLUTION_CHECKS = 4
"""Without a whole solution after the budget, the search goes on for up to this many times the
budget before giving up (a program with no incumbent yet has nothing to return)."""


@dataclass(frozen=True)
class MipResult:
    """The best whole solution found (None when none was) and why the search ended."""

    x: np.ndarray | None
    ended: str  # "optimal" (within the gap), "work" (budget spent), "infeasible", "guard" (clock), "error", "other"
    checks: int  # progress checks the search used


def solve(cost: np.ndarray, matrix, lower: np.ndarray, upper: np.ndarray, col_lower: np.ndarray,
          col_upper: np.ndarray, integral: np.ndarray, work: Work) -> MipResult:
    """Minimise ``cost @ x`` subject to ``lower <= matrix @ x <= upper`` and the column bounds,
    ``x[integral]`` whole."""
    import highspy

    model = highs_model(cost, matrix, lower, upper, col_lower, col_upper, integral)
    # the core class, not the highspy.Highs wrapper: the wrapper's constructor prints HiGHS' banner
    # on stdout before output can be turned off, and stdout carries the CLI's JSON
    highs = highspy._core._Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", float(work.gap))
    highs.setOptionValue("time_limit", float(work.guard_seconds))
    if work.nodes is not None:
        highs.setOptionValue("mip_max_nodes", int(work.nodes))
    highs.passModel(model)
    checks = [0]
    raised: list[BaseException] = []

    def check(kind, message, data_out, data_in, user_data) -> None:  # noqa: ARG001  HiGHS' callback signature
        try:
            checks[0] += 1
            found = data_out.mip_primal_bound < highspy.kHighsInf
            if (checks[0] > work.checks and found) or checks[0] > NO_SOLUTION_CHECKS * work.checks:
                data_in.user_interrupt = True
        except BaseException as error:  # noqa: BLE001  Ctrl-C or an alarm lands here: stop, re-raise after run()
            raised.append(error)
            data_in.user_interrupt = True

    highs.setCallback(check, None)
    highs.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    ran = highs.run()
    if raised:  # raised inside HiGHS' C++ it would be lost: it ends the search and goes on from here
        raise raised[0]
    if ran == highspy.HighsStatus.kError:  # an exception at the callback's first instruction (a signal) ends
        return MipResult(x=None, ended="error", checks=checks[0])  # the search in C++, where it is lost
    status = highs.getModelStatus()
    ended = {highspy.HighsModelStatus.kOptimal: "optimal", highspy.HighsModelStatus.kInterrupt: "work",
             highspy.HighsModelStatus.kSolutionLimit: "work", highspy.HighsModelStatus.kInfeasible: "infeasible",
             highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
             highspy.HighsModelStatus.kTimeLimit: "guard"}.get(status, "other")
    has_solution = highs.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(highs.getSolution().col_value, dtype=float) if has_solution else None
    return MipResult(x=x, ended=ended, checks=checks[0])


def highs_model(cost: np.ndarray, matrix, lower: np.ndarray, upper: np.ndarray, col_lower: np.ndarray,
                col_upper: np.ndarray, integral: np.ndarray):
    """The program as HiGHS' ``HighsLp`` (column-wise matrix)."""
    import highspy

    n = int(np.asarray(cost).size)
    a = sp.csc_matrix(matrix, shape=(np.asarray(lower).size, n))
    model = highspy.HighsLp()
    model.num_col_ = n
    model.num_row_ = a.shape[0]
    model.col_cost_ = np.asarray(cost, dtype=float)
    model.col_lower_ = np.broadcast_to(np.asarray(col_lower, dtype=float), n).copy()
    model.col_upper_ = np.broadcast_to(np.asarray(col_upper, dtype=float), n).copy()
    model.row_lower_ = np.asarray(lower, dtype=float)
    model.row_upper_ = np.asarray(upper, dtype=float)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr
    model.a_matrix_.index_ = a.indices
    model.a_matrix_.value_ = a.data
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    model.integrality_ = [kinds[int(flag)] for flag in np.asarray(integral, dtype=bool)]
    return model
