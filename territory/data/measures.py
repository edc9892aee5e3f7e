"""The balance measures as numbers: which column each one reads, composites, their labels.

``schema.MEASURES`` names the quantities a territory can be balanced on; these functions turn a
measure (or a weighted composite) into one value per account. The engine balances on them and the
metrics report loads in them, so both read this one definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from territory.data import schema
from territory.errors import ParameterError

BalanceOn = str | Mapping[str, float] | tuple[tuple[str, float], ...]

__all__ = ["BalanceOn", "column_values", "measure_label", "measure_values", "normalize_balance_on", "parse_balance_on",
           "potential_unknown_share", "usable_measures"]


def normalize_balance_on(balance_on: BalanceOn) -> str | tuple[tuple[str, float], ...]:
    """Validate a balance measure: a name from ``schema.MEASURES`` or (measure, weight) pairs.

    Composite weights are normalised to sum to 1, zero weights dropped, measures merged; a
    composite with a single measure becomes that measure's name.

    >>> normalize_balance_on({"workload": 7, "potential": 3})
    (('workload', 0.7), ('potential', 0.3))
    >>> normalize_balance_on((("revenue", 2.0),))
    'revenue'
    """
    if isinstance(balance_on, str):
        if balance_on not in schema.MEASURES:
            raise ParameterError(
                f"unknown balance measure {balance_on!r}; choose one of {', '.join(schema.MEASURES)} "
                "or a weighted composite such as workload=0.7,potential=0.3"
            )
        return balance_on
    pairs = list(balance_on.items()) if isinstance(balance_on, Mapping) else list(balance_on)
    weights: dict[str, float] = {}
    for pair in pairs:
        try:
            name, weight = pair
            weight = float(weight)
        except (TypeError, ValueError):
            raise ParameterError(f"a composite measure needs (measure, weight) pairs, got {pair!r}") from None
        normalize_balance_on(str(name))
        if not math.isfinite(weight) or weight < 0:
            raise ParameterError(f"weight of {name!r} is {weight}; weights must be >= 0")
        weights[str(name)] = weights.get(str(name), 0.0) + weight
    total = sum(weights.values())
    if total <= 0:
        raise ParameterError("a composite measure needs at least one positive weight")
    kept = tuple((name, w / total) for name, w in weights.items() if w > 0)
    return kept[0][0] if len(kept) == 1 else kept


def parse_balance_on(text: str) -> str | tuple[tuple[str, float], ...]:
    """Parse a CLI/UI spelling: ``"workload"`` or ``"workload=0.7,potential=0.3"`` (``:`` works too).

    >>> parse_balance_on("workload=70, potential=30")
    (('workload', 0.7), ('potential', 0.3))
    """
    text = text.strip()
    if "=" not in text and ":" not in text and "," not in text:
        return normalize_balance_on(text)
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.replace(":", "=").partition("=")
        if not sep:
            raise ParameterError(f"composite measure part {part!r} needs a weight, e.g. {part}=0.5")
        try:
            pairs.append((name.strip(), float(weight)))
        except ValueError:
            raise ParameterError(f"weight {weight.strip()!r} of {name.strip()!r} is not a number") from None
    return normalize_balance_on(tuple(pairs))


def measure_label(balance_on: BalanceOn) -> str:
    """Human label with unit, e.g. 'Workload (hours/year)' or '70% workload + 30% potential (share)'."""
    measure = normalize_balance_on(balance_on)
    if isinstance(measure, str):
        return schema.MEASURE_LABEL[measure]
    return " + ".join(f"{w:.0%} {name}" for name, w in measure) + " (share of total)"


def potential_unknown_share(accounts: pd.DataFrame) -> float:
    """Share (0-1) of accounts whose potential is unknown: the import found neither potential nor
    revenue for them (``schema.POTENTIAL_UNKNOWN``), so the 0 they hold is not data.

    >>> potential_unknown_share(pd.DataFrame({"potential_unknown": [True, False, True, True]}))
    0.75
    >>> potential_unknown_share(pd.DataFrame({"potential": [1.0]}))
    0.0
    """
    if schema.POTENTIAL_UNKNOWN not in accounts or not len(accounts):
        return 0.0
    return float(accounts[schema.POTENTIAL_UNKNOWN].astype("boolean").fillna(False).to_numpy(dtype=bool).mean())


def usable_measures(accounts: pd.DataFrame) -> tuple[str, ...]:
    """The measures of ``schema.MEASURES`` that carry data here: not potential when it is unknown for
    every account, not revenue when every account's is 0 (a file without a revenue column).

    >>> usable_measures(pd.DataFrame({"workload_hours": [5.0], "revenue": [0.0], "potential": [0.0],
    ...                               "potential_unknown": [True]}))
    ('workload', 'accounts')
    """
    usable = []
    for measure in schema.MEASURES:
        column = schema.MEASURE_COLUMN[measure]
        if column is not None and column not in accounts:
            continue
        if measure == "potential" and potential_unknown_share(accounts) == 1.0:
            continue
        if measure == "revenue" and len(accounts) and not column_values(accounts, measure).any():
            continue
        usable.append(measure)
    return tuple(usable)


def column_values(accounts: pd.DataFrame, measure: str) -> np.ndarray:
    """One measure's column as floats (missing values 0; 'accounts' is 1 per account)."""
    column = schema.MEASURE_COLUMN[measure]
    if column is None:
        return np.ones(len(accounts))
    if column not in accounts.columns:
        raise ParameterError(
            f"cannot balance on {measure!r}: the accounts have no {column!r} column "
            f"(columns: {', '.join(map(str, accounts.columns))})"
        )
    values = pd.to_numeric(accounts[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.nan_to_num(values, nan=0.0)


def measure_values(accounts: pd.DataFrame, balance_on: BalanceOn) -> np.ndarray:
    """Per-account value of the balance measure (float array, missing values count as 0).

    A single measure keeps its unit ('accounts' is 1 per account). A weighted composite is
    dimensionless: each measure is divided by its total over all accounts (so hours and dollars
    cancel) and the weighted shares are added; the composite values sum to 1.

    >>> frame = pd.DataFrame({"workload_hours": [10.0, 30.0], "potential": [300.0, 100.0]})
    >>> measure_values(frame, "workload").tolist()
    [10.0, 30.0]
    >>> measure_values(frame, {"workload": 0.5, "potential": 0.5}).tolist()
    [0.5, 0.5]
    """
    measure = normalize_balance_on(balance_on)
    if isinstance(measure, str):
        return column_values(accounts, measure)
    result = np.zeros(len(accounts))
    for name, weight in measure:
        values = column_values(accounts, name)
        total = values.sum()
        if total != 0:
            result += weight * values / total
    return result
