"""Each territory's industry mix and how concentrated it is; industry teams live in the engine.

The industry *focus* setting (geographic territories that specialise in fewer industries) is a
trading pass after the balancing solve (:mod:`territory.engine.focus`); this module reports its
effect: the industry mix and a concentration score (share of the top industry,
Herfindahl-Hirschman index) per territory. Specialist industry teams overlaid on the geographic
territories are an engine feature (:mod:`territory.engine.teams`), re-exported here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from territory.data.schema import TERRITORY_ID
from territory.engine.teams import (  # noqa: F401 (re-exported: the teams API lived here)
    GEOGRAPHIC,
    TEAM_PREFIXES,
    allocate_team_territories,
    balance_with_teams,
    team_prefix,
)
from territory.planning.metrics import industry_matrix


def _natural_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def industry_mix(accounts: pd.DataFrame, labels: pd.Series, value: str = "workload") -> pd.DataFrame:
    """Share of each industry in each territory (rows: territory_id, columns: industries, rows sum to 1).

    ``value`` weighs the accounts: a measure ("workload", "revenue", "potential", "accounts") or a
    numeric column. Workload by default because that is what a rep's week is made of. The totals
    come from ``territory.planning.metrics.industry_matrix``; this turns them into shares.
    """
    totals = industry_matrix(accounts, labels, value).T.astype(float)
    sums = totals.sum(axis=1).replace(0.0, np.nan)
    shares = totals.div(sums, axis=0).fillna(0.0)
    shares.index = shares.index.astype(str)
    shares.index.name = TERRITORY_ID
    shares.columns.name = None
    return shares.loc[sorted(shares.index, key=_natural_key)]


def industry_concentration(accounts: pd.DataFrame, labels: pd.Series, value: str = "workload") -> pd.DataFrame:
    """Per territory: top industry, its share, and the Herfindahl-Hirschman index (0..1) of the mix.

    HHI is the sum of squared shares: 1.0 for a single-industry territory, 1/8 for an even split
    over eight industries. It is what the industry-focus setting pushes up.
    """
    shares = industry_mix(accounts, labels, value)
    out = pd.DataFrame(
        {
            TERRITORY_ID: shares.index.astype("string"),
            "top_industry": shares.idxmax(axis=1).astype("string").to_numpy(),
            "top_industry_share": shares.max(axis=1).to_numpy(),
            "industry_hhi": (shares**2).sum(axis=1).to_numpy(),
        }
    )
    return out.reset_index(drop=True)
