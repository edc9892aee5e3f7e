"""Realistic synthetic accounts for benchmarks: US metros by real population, rural scatter, lognormal workload.

Why not uniform points: territory engines behave very differently on clustered data (a metro holds
several territories' worth of accounts while Montana holds a fraction of one), and that is what real
CRM exports look like. The generator is vectorised (1,000,000 accounts in a couple of seconds) and
deterministic: the same ``n`` and ``seed`` always give the same accounts.

Usage: ``python benchmarks/generate.py N [--seed S] [--output accounts.csv]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from territory.data.schema import (  # noqa: E402
    ACCOUNT_ID,
    COUNTRY,
    INDUSTRY,
    LATITUDE,
    LONGITUDE,
    NAME,
    POTENTIAL,
    REVENUE,
    STATE,
    WORKLOAD_HOURS,
)
from territory.data.workload import INDUSTRIES, POTENTIAL_MULTIPLIER  # noqa: E402

# (name, state, latitude, longitude, metro population in millions; US Census 2020 MSA, rounded)
METROS: tuple[tuple[str, str, float, float, float], ...] = (
    ("New York", "NY", 40.71, -74.01, 20.1),
    ("Los Angeles", "CA", 34.05, -118.24, 13.2),
    ("Chicago", "IL", 41.88, -87.63, 9.6),
    ("Dallas", "TX", 32.78, -96.80, 7.6),
    ("Houston", "TX", 29.76, -95.37, 7.1),
    ("Washington", "DC", 38.91, -77.04, 6.4),
    ("Philadelphia", "PA", 39.95, -75.17, 6.2),
    ("Miami", "FL", 25.76, -80.19, 6.1),
    ("Atlanta", "GA", 33.75, -84.39, 6.1),
    ("Boston", "MA", 42.36, -71.06, 4.9),
    ("Phoenix", "AZ", 33.45, -112.07, 4.8),
    ("San Francisco", "CA", 37.77, -122.42, 4.7),
    ("Riverside", "CA", 33.95, -117.40, 4.6),
    ("Detroit", "MI", 42.33, -83.05, 4.4),
    ("Seattle", "WA", 47.61, -122.33, 4.0),
    ("Minneapolis", "MN", 44.98, -93.27, 3.7),
    ("San Diego", "CA", 32.72, -117.16, 3.3),
    ("Tampa", "FL", 27.95, -82.46, 3.2),
    ("Denver", "CO", 39.74, -104.99, 3.0),
    ("St. Louis", "MO", 38.63, -90.20, 2.8),
    ("Baltimore", "MD", 39.29, -76.61, 2.8),
    ("Charlotte", "NC", 35.23, -80.84, 2.7),
    ("Orlando", "FL", 28.54, -81.38, 2.7),
    ("San Antonio", "TX", 29.42, -98.49, 2.6),
    ("Portland", "OR", 45.52, -122.68, 2.5),
    ("Sacramento", "CA", 38.58, -121.49, 2.4),
    ("Pittsburgh", "PA", 40.44, -80.00, 2.4),
    ("Austin", "TX", 30.27, -97.74, 2.3),
    ("Las Vegas", "NV", 36.17, -115.14, 2.3),
    ("Cincinnati", "OH", 39.10, -84.51, 2.3),
    ("Kansas City", "MO", 39.10, -94.58, 2.2),
    ("Columbus", "OH", 39.96, -83.00, 2.1),
    ("Indianapolis", "IN", 39.77, -86.16, 2.1),
    ("Cleveland", "OH", 41.50, -81.69, 2.1),
    ("San Jose", "CA", 37.34, -121.89, 2.0),
    ("Nashville", "TN", 36.16, -86.78, 2.0),
    ("Virginia Beach", "VA", 36.85, -75.98, 1.8),
    ("Providence", "RI", 41.82, -71.41, 1.7),
    ("Jacksonville", "FL", 30.33, -81.66, 1.6),
    ("Milwaukee", "WI", 43.04, -87.91, 1.6),
    ("Raleigh", "NC", 35.78, -78.64, 1.4),
    ("Oklahoma City", "OK", 35.47, -97.52, 1.4),
    ("Memphis", "TN", 35.15, -90.05, 1.3),
    ("Louisville", "KY", 38.25, -85.76, 1.3),
    ("Salt Lake City", "UT", 40.76, -111.89, 1.3),
    ("New Orleans", "LA", 29.95, -90.07, 1.3),
    ("Richmond", "VA", 37.54, -77.44, 1.3),
    ("Birmingham", "AL", 33.52, -86.80, 1.1),
    ("Buffalo", "NY", 42.89, -78.88, 1.2),
    ("Honolulu", "HI", 21.31, -157.86, 1.0),
    ("Albuquerque", "NM", 35.08, -106.65, 0.9),
    ("Omaha", "NE", 41.26, -95.93, 1.0),
    ("Boise", "ID", 43.62, -116.20, 0.8),
    ("Des Moines", "IA", 41.59, -93.62, 0.7),
    ("Anchorage", "AK", 61.22, -149.90, 0.4),
    ("Billings", "MT", 45.78, -108.50, 0.2),
    ("Fargo", "ND", 46.88, -96.79, 0.25),
    ("Sioux Falls", "SD", 43.55, -96.73, 0.28),
)

# Industry tilts: a metro's mix leans towards what it is known for (Houston energy, San Jose tech).
METRO_INDUSTRY_TILT: dict[str, dict[str, float]] = {
    "Houston": {"Energy": 4.0},
    "Dallas": {"Energy": 1.5, "Financial Services": 1.5},
    "Oklahoma City": {"Energy": 3.0},
    "Denver": {"Energy": 2.0},
    "San Francisco": {"Technology": 3.0, "Financial Services": 1.5},
    "San Jose": {"Technology": 5.0},
    "Seattle": {"Technology": 3.0},
    "Austin": {"Technology": 3.0},
    "New York": {"Financial Services": 3.0},
    "Charlotte": {"Financial Services": 3.0},
    "Washington": {"Government": 5.0},
    "Sacramento": {"Government": 3.0},
    "Detroit": {"Manufacturing": 4.0},
    "Cleveland": {"Manufacturing": 2.5, "Healthcare": 2.0},
    "Milwaukee": {"Manufacturing": 2.5},
    "Pittsburgh": {"Manufacturing": 2.0, "Healthcare": 1.5},
    "Boston": {"Healthcare": 2.5, "Education": 3.0},
    "Nashville": {"Healthcare": 3.0},
    "Minneapolis": {"Healthcare": 2.0, "Retail": 1.5},
    "Miami": {"Retail": 2.0},
    "Orlando": {"Retail": 2.0},
}
BASE_INDUSTRY_MIX: dict[str, float] = {
    "Healthcare": 0.17,
    "Manufacturing": 0.16,
    "Financial Services": 0.12,
    "Technology": 0.12,
    "Retail": 0.16,
    "Education": 0.10,
    "Government": 0.08,
    "Energy": 0.09,
}
RURAL_INDUSTRY_MIX: dict[str, float] = {
    "Healthcare": 0.15,
    "Manufacturing": 0.22,
    "Financial Services": 0.06,
    "Technology": 0.04,
    "Retail": 0.20,
    "Education": 0.12,
    "Government": 0.09,
    "Energy": 0.12,
}

# A coarse outline of the contiguous US (lon, lat) for rural scatter: no accounts in the Gulf or Canada.
LOWER48_OUTLINE: tuple[tuple[float, float], ...] = (
    (-124.7, 48.4),
    (-123.0, 49.0),
    (-95.2, 49.0),
    (-89.6, 48.0),
    (-84.8, 46.5),
    (-82.4, 45.3),
    (-82.5, 42.0),
    (-79.0, 42.9),
    (-79.8, 43.3),
    (-76.5, 44.2),
    (-74.9, 45.0),
    (-71.5, 45.0),
    (-69.2, 47.4),
    (-67.8, 47.1),
    (-67.0, 44.8),
    (-70.2, 43.6),
    (-70.6, 41.6),
    (-73.9, 40.5),
    (-75.0, 38.8),
    (-76.0, 36.9),
    (-75.5, 35.3),
    (-78.0, 33.8),
    (-81.0, 31.5),
    (-81.2, 29.5),
    (-80.1, 26.0),
    (-81.1, 25.2),
    (-82.6, 27.5),
    (-82.7, 29.2),
    (-84.3, 30.0),
    (-86.5, 30.4),
    (-89.6, 30.2),
    (-89.4, 29.1),
    (-91.6, 29.6),
    (-94.0, 29.6),
    (-97.3, 27.5),
    (-97.2, 25.9),
    (-99.2, 26.4),
    (-101.4, 29.8),
    (-103.0, 29.0),
    (-104.7, 29.9),
    (-106.5, 31.8),
    (-108.2, 31.3),
    (-111.1, 31.3),
    (-114.8, 32.5),
    (-117.1, 32.5),
    (-118.5, 34.0),
    (-120.6, 34.6),
    (-122.5, 37.5),
    (-123.8, 39.8),
    (-124.4, 42.0),
    (-124.1, 46.0),
)

METRO_SHARE = 0.8
"""Share of accounts in metros; the rest is rural scatter across the lower 48."""


def _rural_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside the coarse lower-48 outline (rejection sampling, vectorised)."""
    import shapely

    outline = shapely.Polygon(LOWER48_OUTLINE)
    lon_min, lat_min, lon_max, lat_max = outline.bounds
    lats: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    have = 0
    while have < n:
        batch = max(1024, int((n - have) * 1.6))
        lon = rng.uniform(lon_min, lon_max, batch)
        # uniform on the sphere: sample sin(latitude) uniformly
        lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max)), batch)))
        inside = shapely.contains_xy(outline, lon, lat)
        lats.append(lat[inside])
        lons.append(lon[inside])
        have += int(inside.sum())
    return np.concatenate(lats)[:n], np.concatenate(lons)[:n]


def _industry_choice(rng: np.random.Generator, metro_index: np.ndarray, rural: np.ndarray) -> np.ndarray:
    """Pick an industry per account from its metro's tilted mix (or the rural mix)."""
    names = list(INDUSTRIES)
    n_metros = len(METROS)
    probs = np.empty((n_metros + 1, len(names)))
    for m, metro in enumerate(METROS):
        tilt = METRO_INDUSTRY_TILT.get(metro[0], {})
        row = np.array([BASE_INDUSTRY_MIX[i] * tilt.get(i, 1.0) for i in names])
        probs[m] = row / row.sum()
    rural_row = np.array([RURAL_INDUSTRY_MIX[i] for i in names])
    probs[n_metros] = rural_row / rural_row.sum()
    group = np.where(rural, n_metros, metro_index)
    cumulative = probs.cumsum(axis=1)[group]
    u = rng.random(len(group))[:, None]
    choice = (u > cumulative).sum(axis=1).clip(0, len(names) - 1)
    return np.asarray(names, dtype=object)[choice]


def generate_accounts(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` accounts in the canonical schema: metro clusters sized by population plus rural scatter.

    Workload is lognormal (median about 20 hours/year, a long tail of big accounts), revenue is
    lognormal and correlated with workload, potential follows the documented industry multiplier.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    n_metro = int(round(n * METRO_SHARE))
    n_rural = n - n_metro

    population = np.array([m[4] for m in METROS])
    metro_index = rng.choice(len(METROS), size=n_metro, p=population / population.sum())
    # Metro spread grows with the metro's size; a mix of a dense core and a wider suburban ring.
    core_sigma_deg = 0.08 * np.sqrt(population)[metro_index]
    suburb = rng.random(n_metro) < 0.45
    sigma = np.where(suburb, core_sigma_deg * 3.0, core_sigma_deg)
    metro_lat = np.array([m[2] for m in METROS])[metro_index] + rng.normal(0.0, 1.0, n_metro) * sigma
    coslat = np.cos(np.radians(np.array([m[2] for m in METROS])[metro_index]))
    metro_lon = np.array([m[3] for m in METROS])[metro_index] + rng.normal(0.0, 1.0, n_metro) * sigma / coslat
    metro_state = np.array([m[1] for m in METROS], dtype=object)[metro_index]

    rural_lat, rural_lon = _rural_points(n_rural, rng)

    lat = np.concatenate([metro_lat, rural_lat])
    lon = np.concatenate([metro_lon, rural_lon])
    rural = np.concatenate([np.zeros(n_metro, dtype=bool), np.ones(n_rural, dtype=bool)])
    metro_all = np.concatenate([metro_index, np.full(n_rural, -1)])
    state = np.concatenate([metro_state, np.full(n_rural, None, dtype=object)])

    # Shuffle so that the file order says nothing about geography (as in a CRM export).
    order = rng.permutation(n)
    lat, lon, rural, metro_all, state = lat[order], lon[order], rural[order], metro_all[order], state[order]

    industry = _industry_choice(rng, np.where(metro_all < 0, 0, metro_all), rural)
    workload = np.exp(rng.normal(np.log(20.0), 0.8, n)).clip(1.0, 2_000.0)
    # Rural accounts need more travel per visit: same rule of thumb as territory.data.workload.
    workload = np.where(rural, workload * 1.3, workload).round(1)
    revenue = (workload * np.exp(rng.normal(np.log(2_500.0), 0.6, n))).round(-2)
    multiplier = pd.Series(industry).map(POTENTIAL_MULTIPLIER).to_numpy(dtype=float)
    potential = (revenue * multiplier).round(-2)

    width = max(6, len(str(n)))
    ids = pd.array([f"A{i:0{width}d}" for i in range(1, n + 1)], dtype="string")
    return pd.DataFrame(
        {
            ACCOUNT_ID: ids,
            NAME: pd.array([f"Account {i}" for i in range(1, n + 1)], dtype="string"),
            LATITUDE: lat.astype(float),
            LONGITUDE: lon.astype(float),
            STATE: pd.array(state, dtype="string"),
            COUNTRY: pd.array(["US"] * n, dtype="string"),
            INDUSTRY: pd.array(industry, dtype="string"),
            REVENUE: revenue.astype(float),
            POTENTIAL: potential.astype(float),
            WORKLOAD_HOURS: workload.astype(float),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of accounts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="CSV path (default: print a summary)")
    args = parser.parse_args(argv)
    accounts = generate_accounts(args.n, seed=args.seed)
    if args.output:
        accounts.to_csv(args.output, index=False)
        print(f"wrote {len(accounts):,} accounts to {args.output}")
    else:
        print(accounts.describe(include="all").T.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
