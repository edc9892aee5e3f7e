"""The documented rule that turns an account into annual workload hours and potential.

The sample generator and the importer both call these functions, so an uploaded file without a
``workload_hours`` or ``potential`` column gets exactly the numbers the sample would have given it.

Rule (also in docs/importing.md):

* **Tier** by annual potential (USD/year): A >= 1,000,000; B >= 250,000; C >= 50,000; D below.
* **Visits per year** by tier: A 12, B 6, C 3, D 1.
* **Meeting hours per visit** by industry (prep + meeting + follow-up), ``MEETING_HOURS``.
* **Travel hours per visit**: 0.75 h where the account sits in a dense ZIP area (a metro:
  ``METRO_MIN_ZIPS`` or more US ZIP centroids in its 0.25-degree grid cell), 2.0 h elsewhere
  (rural, or outside the US where we have no density data).
* ``workload_hours = visits_per_year x (meeting_hours + travel_hours)``.
* When potential is missing: ``potential = revenue x POTENTIAL_MULTIPLIER[industry]`` (the wallet
  is a multiple of what the account already spends with us). Unknown industries use ``DEFAULT_*``.
* An industry from a CRM picklist counts as its sector (``territory.data.picklists.INDUSTRY_SECTOR``:
  Computer Software as Technology, Banking as Financial Services) for both lookups.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from territory.data.picklists import INDUSTRY_SECTOR
from territory.data.schema import ESTIMATED_FLAG

INDUSTRIES: tuple[str, ...] = (
    "Healthcare",
    "Manufacturing",
    "Financial Services",
    "Technology",
    "Retail",
    "Education",
    "Government",
    "Energy",
)

TIER_THRESHOLDS_USD: tuple[tuple[str, float], ...] = (
    ("A", 1_000_000.0),
    ("B", 250_000.0),
    ("C", 50_000.0),
    ("D", 0.0),
)
VISITS_PER_YEAR: dict[str, int] = {"A": 12, "B": 6, "C": 3, "D": 1}

MEETING_HOURS: dict[str, float] = {
    "Healthcare": 3.0,
    "Manufacturing": 2.5,
    "Financial Services": 2.5,
    "Technology": 2.0,
    "Retail": 1.5,
    "Education": 2.0,
    "Government": 3.5,
    "Energy": 3.0,
}
DEFAULT_MEETING_HOURS = 2.5

POTENTIAL_MULTIPLIER: dict[str, float] = {
    "Healthcare": 3.0,
    "Manufacturing": 2.5,
    "Financial Services": 2.0,
    "Technology": 3.5,
    "Retail": 2.0,
    "Education": 2.5,
    "Government": 2.0,
    "Energy": 2.5,
}
DEFAULT_POTENTIAL_MULTIPLIER = 2.5

METRO_TRAVEL_HOURS = 0.75
RURAL_TRAVEL_HOURS = 2.0
GRID_DEGREES = 0.25
METRO_MIN_ZIPS = 15


def account_tier(potential: pd.Series) -> pd.Series:
    """Tier letter (A-D) for each potential in USD/year; missing potential counts as tier D."""
    values = pd.to_numeric(potential, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    tiers = np.full(values.shape, "D", dtype=object)
    for tier, threshold in reversed(TIER_THRESHOLDS_USD):
        tiers[values >= threshold] = tier
    return pd.Series(tiers, index=potential.index, name="tier")


@lru_cache(maxsize=1)
def _zip_density_grid() -> dict[tuple[int, int], int]:
    """Count of US ZIP centroids per grid cell: a population-density proxy that ships offline."""
    import zipcodes

    counts: dict[tuple[int, int], int] = {}
    for record in zipcodes.list_all():
        try:
            lat, lon = float(record["lat"]), float(record["long"])
        except (TypeError, ValueError):
            continue
        key = (int(np.floor(lat / GRID_DEGREES)), int(np.floor(lon / GRID_DEGREES)))
        counts[key] = counts.get(key, 0) + 1
    return counts


def is_metro(latitude: pd.Series, longitude: pd.Series) -> pd.Series:
    """True where the location's grid cell holds at least ``METRO_MIN_ZIPS`` ZIP centroids."""
    grid = _zip_density_grid()
    lat = pd.to_numeric(latitude, errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(longitude, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    result = np.zeros(lat.shape, dtype=bool)
    if ok.any():
        rows = np.floor(lat[ok] / GRID_DEGREES).astype(np.int64)
        cols = np.floor(lon[ok] / GRID_DEGREES).astype(np.int64)
        # Pack each cell into one integer so the lookup is a vectorised join, not a Python loop.
        keys = rows * 100_000 + cols
        grid_keys = np.fromiter((r * 100_000 + c for r, c in grid), dtype=np.int64, count=len(grid))
        grid_counts = np.fromiter(grid.values(), dtype=np.int64, count=len(grid))
        order = np.argsort(grid_keys)
        grid_keys, grid_counts = grid_keys[order], grid_counts[order]
        pos = np.clip(np.searchsorted(grid_keys, keys), 0, len(grid_keys) - 1)
        found = grid_keys[pos] == keys
        result[ok] = found & (grid_counts[pos] >= METRO_MIN_ZIPS)
    return pd.Series(result, index=latitude.index, name="metro")


def _by_sector(industry: pd.Series, table: dict[str, float]) -> pd.Series:
    """``table`` looked up by each industry's sector (NaN where neither the industry nor its sector is in it)."""
    lookup = {name: table[sector] for name, sector in INDUSTRY_SECTOR.items() if sector in table}
    lookup.update(table)
    return industry.map(lookup).astype(float)


def derive_potential(revenue: pd.Series, industry: pd.Series) -> pd.Series:
    """Potential (USD/year) estimated from revenue: revenue x the industry's wallet multiplier."""
    multiplier = _by_sector(industry, POTENTIAL_MULTIPLIER).fillna(DEFAULT_POTENTIAL_MULTIPLIER)
    rev = pd.to_numeric(revenue, errors="coerce").fillna(0.0).clip(lower=0.0)
    return (rev * multiplier).rename("potential")


def derive_workload_hours(
    potential: pd.Series, industry: pd.Series, latitude: pd.Series, longitude: pd.Series
) -> pd.Series:
    """Annual hours = visits/year (by tier) x (meeting hours (by industry) + travel hours)."""
    visits = account_tier(potential).map(VISITS_PER_YEAR).astype(float)
    meeting = _by_sector(industry, MEETING_HOURS).fillna(DEFAULT_MEETING_HOURS)
    travel = np.where(is_metro(latitude, longitude), METRO_TRAVEL_HOURS, RURAL_TRAVEL_HOURS)
    return (visits * (meeting + travel)).rename("workload_hours")


RULE_MARKDOWN = """\
**Estimated by this rule** (the same in the app, the command line and the exports):

- **Potential** (when the file has none): revenue × the industry's wallet multiplier (Healthcare 3.0,
  Manufacturing 2.5, Financial Services 2.0, Technology 3.5, Retail 2.0, Education 2.5, Government 2.0,
  Energy 2.5; other industries 2.5). A CRM's *Annual Revenue* (the company's own revenue) is not used.
- **Workload** (hours/year, when the file has none): visits per year × (meeting hours + travel hours).
  Visits by tier of potential: A (≥ $1M) 12, B (≥ $250k) 6, C (≥ $50k) 3, D 1. Meeting hours by
  industry (Healthcare 3.0, Manufacturing 2.5, Financial Services 2.5, Technology 2.0, Retail 1.5,
  Education 2.0, Government 3.5, Energy 3.0; other 2.5); a picklist industry counts as its sector.
  Travel 0.75 h in a metro, 2.0 h elsewhere.
"""
"""The rule in a few lines, for the app's "Estimated" popover (kept beside the code it describes)."""


def estimated_shares(accounts: pd.DataFrame) -> dict[str, float]:
    """Share (0-1) of accounts whose workload / potential the importer estimated, for each that has any.

    Read from the ``*_estimated`` flags an import adds (``territory.data.schema.ESTIMATED_FLAG``); a
    dataset without them (the sample, a file with both columns) gives ``{}``.

    >>> estimated_shares(pd.DataFrame({"workload_estimated": [True, True, False, True]}))
    {'workload_hours': 0.75}
    """
    shares = {}
    for column, flag in ESTIMATED_FLAG.items():
        if flag in accounts and len(accounts):
            share = float(accounts[flag].astype("boolean").fillna(False).to_numpy(dtype=bool).mean())
            if share > 0:
                shares[column] = share
    return shares
