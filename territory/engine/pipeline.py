"""The public entry point: :func:`balance` and its scikit-learn shaped wrapper.

The pipeline, stage by stage (one module each): :mod:`~territory.engine.prepare` (tables to
arrays, IDs, targets, the start) -> :mod:`~territory.engine.solve` (centre moves with an exact
balanced assignment each time) -> :mod:`~territory.engine.repair` (every territory in one
piece, re-balanced exactly) -> :mod:`~territory.engine.near` (far accounts near a territory they
touch, by an exact re-solve) -> optional passes (:mod:`~territory.engine.also`,
:mod:`~territory.engine.focus`) -> :mod:`~territory.engine.explain` (notes, reasons, proofs).
Industry teams run the same pipeline once per team (:mod:`~territory.engine.teams`).

>>> import pandas as pd
>>> accounts = pd.DataFrame({
...     "account_id": ["A1", "A2", "A3", "A4"],
...     "latitude": [40.0, 40.1, 34.0, 34.1], "longitude": [-74.0, -74.1, -118.0, -118.1],
...     "workload_hours": [10.0, 10.0, 10.0, 10.0]})
>>> result = balance(accounts, BalanceParams(n_territories=2))
>>> result.assignment.groupby("territory_id").size().tolist()
[2, 2]
>>> result.feasible
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import pandas as pd

from territory.data.schema import ACCOUNT_ID, LATITUDE, LONGITUDE, TERRITORY_ID
from territory.engine.params import BalanceParams, validate_params
from territory.engine.result import BalanceResult
from territory.engine.single import balance_single
from territory.engine.teams import balance_with_teams
from territory.errors import ParameterError

DEFAULT_PARAMS = BalanceParams()


def balance(accounts: pd.DataFrame, params: BalanceParams = DEFAULT_PARAMS,
            territories: pd.DataFrame | None = None) -> BalanceResult:
    """Align accounts to territories balanced on ``params.balance_on`` within ``params.tolerance``.

    ``accounts`` uses the canonical columns (territory.data.schema); ``territory_id`` (current
    alignment) and ``locked`` are optional. ``territories`` optionally gives IDs, reps, capacity
    and home bases. Never raises for an infeasible tolerance: the result says why, with numbers.
    """
    validate_params(params)
    if params.industry_teams:
        return balance_with_teams(accounts, params, territories)
    if not isinstance(accounts, pd.DataFrame):
        raise ParameterError(f"accounts must be a pandas DataFrame, got {type(accounts).__name__}.")
    for column in (ACCOUNT_ID, LATITUDE, LONGITUDE):
        if column not in accounts.columns:
            raise ParameterError(f"accounts need a {column!r} column (see territory.data.schema).")
    if len(accounts) == 0:
        raise ParameterError("there are no accounts to balance.")
    validate_params(params, n_accounts=len(accounts))
    return balance_single(accounts, params, territories)


class TerritoryBalancer:
    """Scikit-learn-shaped estimator over :func:`balance`.

    Parameters are those of :class:`BalanceParams` (stored untouched by ``__init__``); ``fit``
    validates them, runs the engine and sets ``labels_`` (territory ID per account), ``centers_``,
    ``result_``, ``feasible_`` and ``n_iter_``.
    """

    def __init__(self, n_territories: int | None = None,
                 balance_on: str | tuple[tuple[str, float], ...] = "workload", tolerance: float = 0.05,
                 stability: float = 0.5, compactness: float = 0.5, anchor: str = "free",
                 move_budget_accounts: int | None = None, move_budget_revenue_pct: float | None = None,
                 industry_teams: tuple[str, ...] = (), industry_team_sizes: tuple[tuple[str, int], ...] = (),
                 industry_focus: float = 0.0, also_balance: tuple[str, ...] = (), seed: int = 0,
                 only_fix_outside: bool = False) -> None:
        self.n_territories = n_territories
        self.balance_on = balance_on
        self.tolerance = tolerance
        self.stability = stability
        self.compactness = compactness
        self.anchor = anchor
        self.move_budget_accounts = move_budget_accounts
        self.move_budget_revenue_pct = move_budget_revenue_pct
        self.industry_teams = industry_teams
        self.industry_team_sizes = industry_team_sizes
        self.industry_focus = industry_focus
        self.also_balance = also_balance
        self.seed = seed
        self.only_fix_outside = only_fix_outside

    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002  scikit-learn get_params(deep=True) API
        return {f.name: getattr(self, f.name) for f in fields(BalanceParams)}

    def set_params(self, **params: Any) -> TerritoryBalancer:
        valid = {f.name for f in fields(BalanceParams)}
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(f"unknown parameter {name!r}; valid: {', '.join(sorted(valid))}.")
            setattr(self, name, value)
        return self

    def _params(self) -> BalanceParams:
        values = self.get_params()
        if isinstance(values["balance_on"], Mapping):
            values["balance_on"] = tuple(values["balance_on"].items())
        values["industry_teams"] = tuple(values["industry_teams"])
        values["industry_team_sizes"] = tuple(tuple(x) for x in values["industry_team_sizes"])
        return BalanceParams(**values)

    def fit(self, accounts: pd.DataFrame, territories: pd.DataFrame | None = None, y: Any = None) -> TerritoryBalancer:  # noqa: ARG002  scikit-learn fit(X, y=None) API
        """Balance ``accounts``; returns self."""
        params = self._params()
        validate_params(params, n_accounts=len(accounts) if hasattr(accounts, "__len__") else None)
        self.result_ = balance(accounts, params, territories)
        self.labels_ = self.result_.assignment[TERRITORY_ID]
        self.centers_ = self.result_.centers
        self.feasible_ = self.result_.feasible
        self.n_iter_ = self.result_.n_iter
        return self

    def fit_predict(self, accounts: pd.DataFrame, territories: pd.DataFrame | None = None, y: Any = None) -> pd.Series:  # noqa: ARG002  scikit-learn fit_predict(X, y=None) API
        return self.fit(accounts, territories).labels_

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != getattr(BalanceParams(), k)}
        return f"TerritoryBalancer({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
