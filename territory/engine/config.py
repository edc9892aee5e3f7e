"""Every tuning constant of the engine in one place (why each value: docs/engine.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineConfig:
    candidates: int = 6  # nearest centres a cell may join in the final assignment (plus its current and last territory)
    moving_candidates: int = 4  # ... while the centres move
    bordering: int = 3  # with today's alignment: the territories a cell borders (of its nearest accounts)...
    bordering_accounts: int = 32  # ... among this many nearest accounts (4x when the band needs deeper layers)
    all_candidates_up_to: int = 6  # with this many territories or fewer, every territory is a candidate
    cells_per_territory: int = 60  # equal-load cells per territory in the final assignment
    merge_cells: int = 3  # while the centres move, this many neighbouring cells act as one
    max_cells: int = 60_000  # at most this many cells (LP size at 500 territories)
    centre_moves: int = 12  # most centre moves of a fresh solve (it stops earlier once travel settles)
    settled: float = 0.002  # centres stop moving when travel fell by less than this share in one move
    median_steps: int = 8  # Weiszfeld steps per centre move
    contiguity_rounds: int = 2  # rounds of rejoining stray pieces (each an exact re-balance)
    lp_seconds: float = 120.0  # time limit of one LP (HiGHS)
    rounding_checks: int = 16  # HiGHS progress checks of one rounding MIP before its best whole assignment is taken...
    rounding_work: int = 32_000  # ... fewer on a large one: checks x variables at most this, but at least 4 checks
    join_checks: int = 64  # ... of one program joining stray pieces...
    join_work: int = 128_000  # ... fewer on a large one (checks x variables at most this, at least 4)
    exchange_checks: int = 256  # ... of one exchange program (territories still outside the band)
    least_move_checks: int = 16  # ... of one least-move program (an owner-based alignment at stability 1)...
    least_move_work: int = 32_000  # ... fewer on a large one (checks x variables at most this, at least 4)


DEFAULT = EngineConfig()
