"""What the engine returns: an alignment plus what a leader needs to defend it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from territory.data.schema import TERRITORY_ID
from territory.engine.notes import Note
from territory.engine.params import BalanceParams

PREVIOUS_TERRITORY_ID = "previous_territory_id"
MOVED = "moved"
REASON = "reason"


@dataclass(frozen=True)
class BalanceResult:
    """An alignment plus what a leader needs to defend it."""

    assignment: pd.DataFrame  # index of accounts; account_id, territory_id, previous_territory_id, moved, reason
    centers: pd.DataFrame  # territory_id, latitude, longitude
    territories: pd.DataFrame  # territory_id, rep_name, region, capacity_fte, target (measure units)
    feasible: bool
    notes: tuple[Note, ...]
    params: BalanceParams
    seconds: float
    n_iter: int = 0  # centre moves used (the estimator's n_iter_)
    load: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # balance measure per territory
    least_moved: float | None = None  # proven least load any alignment within the band must move (with a start)
    least_moved_nearby: float | None = None  # ... if accounts move only to a territory bordering theirs today

    @property
    def messages(self) -> tuple[str, ...]:
        """The notes' sentences, in order."""
        return tuple(note.text for note in self.notes)

    @property
    def labels(self) -> pd.Series:
        """Territory ID per account (index aligned with the input accounts)."""
        return self.assignment[TERRITORY_ID]

    def note(self, code: str) -> Note | None:
        """The first note with this code, or None."""
        return next((n for n in self.notes if n.code == code), None)
