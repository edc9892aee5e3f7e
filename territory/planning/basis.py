"""What an alignment's figures count: the measure it was balanced on, its tolerance band, its account types.

A what-if is balanced on one measure (or a blend), within one tolerance, counting some account types
(the others are shown apart). Its figures must read the same wherever the alignment appears: on the
Rebalance page, as a saved scenario (Open and Compare), on the Rep page and in the report. So a scenario
saves the types it counted with its engine parameters (``counted_types``), and every page scores an
alignment on its own basis, falling back to the session's choices for what it does not say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from territory.data import schema
from territory.engine.params import composite
from territory.errors import ParameterError
from territory.planning.account_types import counted_mask, describe_counted

COUNTED_TYPES_PARAM = "counted_types"
"""The key under which a scenario's parameters keep the account types its figures count."""

Measure = str | tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Basis:
    """The measure, tolerance band and counted account types of one alignment's figures (hashable)."""

    balance_on: Measure = "workload"  # a measure name or (measure, weight) pairs, as BalanceParams has it
    tolerance: float = 0.05  # +/- share of the target
    counted_types: tuple[str, ...] | None = None  # None: every account counts

    @property
    def measure(self) -> str | dict[str, float]:
        """``balance_on`` as :mod:`territory.planning.metrics` takes it (pairs become a mapping)."""
        return self.balance_on if isinstance(self.balance_on, str) else dict(self.balance_on)

    def mask(self, accounts: pd.DataFrame) -> np.ndarray:
        """True for the accounts these figures count. Types that do not apply count every account: a
        dataset without a type column, or none of the counted types (a scenario made on another file).

        >>> Basis(counted_types=("Customer",)).mask(pd.DataFrame({"account_type": ["Partner", "Customer"]}))
        array([False,  True])
        >>> Basis(counted_types=("Customer",)).mask(pd.DataFrame({"account_type": ["Partner", None]}))
        array([ True,  True])
        """
        mask = counted_mask(accounts, self.counted_types)
        return mask if schema.ACCOUNT_TYPE in accounts and mask.any() else np.ones(len(accounts), dtype=bool)

    def counted_for(self, accounts: pd.DataFrame) -> tuple[str, ...] | None:
        """The counted types that apply to ``accounts`` (None when every account counts, as :meth:`mask`)."""
        return None if self.mask(accounts).all() else self.counted_types

    def params(self) -> dict[str, Any]:
        """The basis as JSON-ready parameters (what a saved scenario or a kept session step stores);
        :func:`basis_from_params` reads them back. ``counted_types`` null: every account counts.

        >>> Basis((("workload", 0.5), ("revenue", 0.5)), 0.1, ("Customer",)).params()
        {'balance_on': [['workload', 0.5], ['revenue', 0.5]], 'tolerance': 0.1, 'counted_types': ['Customer']}
        """
        measure = self.balance_on if isinstance(self.balance_on, str) else [list(p) for p in self.balance_on]
        return {"balance_on": measure, "tolerance": self.tolerance,
                COUNTED_TYPES_PARAM: None if self.counted_types is None else list(self.counted_types)}

    def measure_text(self) -> str:
        """"workload" or "70% workload, 30% potential"."""
        if isinstance(self.balance_on, str):
            return self.balance_on
        return ", ".join(f"{weight:.0%} {name}" for name, weight in self.balance_on)

    def describe(self, accounts: pd.DataFrame) -> str:
        """One line for a caption: the measure, the band and which accounts count.

        >>> frame = pd.DataFrame({"account_type": ["Customer", "Partner"]})
        >>> Basis("revenue", 0.1, ("Customer",)).describe(frame)
        'On revenue, ±10%. Figures count 1 of 2 accounts (Customer); 1 shown apart (Partner: 1) get a \
territory but carry no load.'
        """
        text = f"On {self.measure_text()}, ±{self.tolerance:.0%}."
        if schema.ACCOUNT_TYPE in accounts:
            text += " " + describe_counted(accounts, self.counted_for(accounts))
        return text

    def notes(self, accounts: pd.DataFrame) -> tuple[str, ...]:
        """A report's line on what its figures count, when some accounts are shown apart (else none)."""
        return () if self.mask(accounts).all() else (self.describe(accounts),)


def _measure(value: Any) -> Measure | None:
    """A saved ``balance_on`` (a name, or pairs that JSON turned into lists) checked as the engine checks
    it (:func:`territory.engine.params.composite`), else None."""
    if isinstance(value, (list, tuple)) and not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        return None  # composite would read a two-letter string as a pair
    try:
        spec = composite(value)
    except (ParameterError, TypeError):
        return None
    return value if isinstance(value, str) else tuple(spec.items())


def _tolerance(value: Any) -> float | None:
    try:
        tolerance = float(value)
    except (TypeError, ValueError):
        return None
    return tolerance if math.isfinite(tolerance) and 0 < tolerance <= 1 else None


def _types(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        return None
    if not all(isinstance(kind, str) for kind in value):
        return None
    return tuple(value)


def basis_from_params(params: Mapping[str, Any] | None, fallback: Basis = Basis()) -> Basis:
    """The basis a scenario (or a what-if) was balanced on, from its saved parameters.

    What the parameters do not say, or say in a form that cannot be read (a hand-edited scenario file),
    comes from ``fallback``: a scenario saved before its counted types were kept is scored on the
    session's types.

    >>> basis_from_params({"balance_on": [["workload", 0.7], ["potential", 0.3]], "tolerance": 0.1,
    ...                    "counted_types": ["Customer"]})
    Basis(balance_on=(('workload', 0.7), ('potential', 0.3)), tolerance=0.1, counted_types=('Customer',))
    >>> basis_from_params({"balance_on": "sales", "tolerance": "x"}, Basis("revenue", 0.05))
    Basis(balance_on='revenue', tolerance=0.05, counted_types=None)
    """
    params = params if isinstance(params, Mapping) else {}
    measure = _measure(params.get("balance_on"))
    tolerance = _tolerance(params.get("tolerance"))
    counted = _types(params.get(COUNTED_TYPES_PARAM)) if COUNTED_TYPES_PARAM in params else fallback.counted_types
    return Basis(
        balance_on=fallback.balance_on if measure is None else measure,
        tolerance=fallback.tolerance if tolerance is None else tolerance,
        counted_types=counted,
    )
