"""Instance families of the robustness corpus (``benchmarks/corpus.py``) and their starting alignments.

The engine was tuned on ``benchmarks/generate.py`` (US metros plus rural scatter); nothing here
reuses it. Each family stresses a kind of geography that generator never makes: real US ZIP
centroids with office towers (many accounts at one point), one dense metro, a long thin country
with a remote island, archipelagos, a multi-country spread across seas, and a uniform box.

Every instance is a pure function of its :class:`InstanceSpec` (the random generator is seeded from
the spec's id), so any run can be rebuilt alone from its id.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

KM_PER_DEGREE = 111.195
WORKLOAD_CAP_SHARE = 0.40
"""No account is heavier than this share of the mean territory load (total / K): the instance stays
balanceable at +/-5% by construction, so a result outside the band is the engine's failure."""
PARETO_TOP_SHARE = 0.25
"""The Pareto variant is calibrated so that the top 1% of accounts carries this share (when the cap allows)."""
MEDIAN_HOURS = 20.0

FAMILIES = ("us_zip", "metro", "long_country", "archipelago", "europe", "uniform")
TAILS = ("ln0.3", "ln0.8", "ln1.2", "pareto")
STARTS = ("none", "own", "blocks", "owners", "k_pm3")


@dataclass(frozen=True)
class InstanceSpec:
    """One generated book of accounts: geography family and its variant, size, tail and seed."""

    family: str
    variant: str  # us_zip/metro: "t<percent in towers>"; long_country: "island"/"plain"; archipelago: layout
    n: int
    k: int
    tail: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.family}:{self.variant}:n{self.n}:k{self.k}:{self.tail}:s{self.seed}"

    @classmethod
    def from_id(cls, text: str) -> InstanceSpec:
        family, variant, n, k, tail, seed = text.split(":")
        return cls(family, variant, int(n[1:]), int(k[1:]), tail, int(seed[1:]))

    def rng(self, purpose: str = "accounts") -> np.random.Generator:
        """A generator seeded from the id (and a purpose), stable across Python runs (crc32, not hash())."""
        return np.random.default_rng([zlib.crc32(self.id.encode()), zlib.crc32(purpose.encode())])


# --- small geometry helpers ------------------------------------------------------------------------


def _offset(lat: np.ndarray, lon: np.ndarray, east_km: np.ndarray, north_km: np.ndarray):
    """Points moved by (east, north) km on a local tangent plane (fine for the < 1,000 km offsets here)."""
    new_lat = lat + north_km / KM_PER_DEGREE
    new_lon = lon + east_km / (KM_PER_DEGREE * np.cos(np.radians(new_lat)))
    return new_lat, new_lon


def _in_ellipse(rng, n, semi_major_km, semi_minor_km, bearing_deg):
    """(east, north) km of ``n`` uniform points in an ellipse whose major axis points along ``bearing``."""
    radius = np.sqrt(rng.random(n))
    angle = rng.uniform(0, 2 * np.pi, n)
    along, across = radius * np.cos(angle) * semi_major_km, radius * np.sin(angle) * semi_minor_km
    b = np.radians(bearing_deg)
    return along * np.sin(b) + across * np.cos(b), along * np.cos(b) - across * np.sin(b)


def _towers(rng, n, share, weights, per_tower=25, max_towers=300) -> tuple[np.ndarray, np.ndarray]:
    """(moved, source): move ``share`` of the ``n`` accounts onto a few hundred exact points (office
    towers), each the location of a ``source`` account chosen with probability ``weights``; tower
    sizes are unequal (Zipf-like). Apply as ``x[moved] = x[source]`` to every per-account array."""
    n_moved = int(round(share * n))
    if n_moved == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    n_towers = int(np.clip(round(n_moved / per_tower), 5, max_towers))
    sites = rng.choice(n, size=n_towers, replace=False, p=weights / weights.sum())
    popularity = 1.0 / np.arange(1, n_towers + 1) ** 0.7
    tower_of = rng.choice(n_towers, size=n_moved, p=popularity / popularity.sum())
    moved = rng.choice(n, size=n_moved, replace=False)
    return moved, sites[tower_of]


def _variant_share(variant: str) -> float:
    """'t15' -> 0.15 (share of accounts in towers)."""
    return int(variant[1:]) / 100.0 if variant.startswith("t") else 0.0


# --- families ----------------------------------------------------------------------------------------

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
    "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split()
)
ZIP_NEIGHBOUR_KM = 20.0


@lru_cache(maxsize=1)
def us_zip_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, state, population-like weight) of the real standard ZIP centroids (50 states, DC, PR), once
    per process.

    ``zipcodes`` has no population, so the weight is the number of ZIP centroids within 20 km:
    ZIPs are small where people are dense, so this grows with density (Manhattan ~ hundreds,
    rural Montana ~ 1), like population does.
    """
    import zipcodes
    from scipy.spatial import cKDTree

    from territory.geo import EARTH_RADIUS_KM, to_unit_vectors

    # STANDARD only: PO-box and unique ZIPs sit on their city's centroid, which would pile accounts up
    # even at 0% towers (the towers knob does that, from mild to extreme)
    rows = [r for r in zipcodes.list_all() if r["zip_code_type"] == "STANDARD" and r["state"] in US_STATES]
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["long"]) for r in rows])
    state = np.array([r["state"] for r in rows], dtype=object)
    keep = (lat != 0) | (lon != 0)
    lat, lon, state = lat[keep], lon[keep], state[keep]
    xyz = to_unit_vectors(lat, lon)
    chord = 2 * np.sin(ZIP_NEIGHBOUR_KM / (2 * EARTH_RADIUS_KM))
    weight = np.array([len(hits) for hits in cKDTree(xyz).query_ball_point(xyz, chord)], dtype=float)
    return lat, lon, state, weight


def us_zip_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounts at real ZIP centroids drawn by population-like weight, plus office towers."""
    zlat, zlon, zstate, weight = us_zip_table()
    pick = rng.choice(zlat.size, size=spec.n, p=weight / weight.sum())
    moved, source = _towers(rng, spec.n, _variant_share(spec.variant), weight[pick] ** 2)  # downtown ZIPs
    pick[moved] = pick[source]
    return zlat[pick], zlon[pick], zstate[pick]


# (lat, lon, sigma km, share): the New York area, about 60 km across
NYC_PARTS = (
    (40.754, -73.984, 1.5, 0.20),  # Midtown
    (40.708, -74.009, 1.0, 0.10),  # Downtown
    (40.660, -73.950, 4.0, 0.14),  # Brooklyn
    (40.725, -73.830, 5.0, 0.11),  # Queens
    (40.845, -73.880, 3.5, 0.06),  # Bronx
    (40.728, -74.050, 2.0, 0.06),  # Jersey City / Hoboken
    (40.735, -74.172, 3.0, 0.06),  # Newark
    (40.580, -74.150, 3.0, 0.03),  # Staten Island
    (40.735, -73.600, 6.0, 0.09),  # Nassau
    (41.000, -73.780, 6.0, 0.07),  # Westchester
    (40.930, -74.070, 5.0, 0.08),  # Bergen
)


def metro_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One dense metro (New York): neighbourhood clusters, addresses rounded to ~10 m, towers downtown."""
    parts = np.array(NYC_PARTS)
    part = rng.choice(len(parts), size=spec.n, p=parts[:, 3] / parts[:, 3].sum())
    east, north = rng.normal(size=(2, spec.n)) * parts[part, 2]
    lat, lon = _offset(parts[part, 0], parts[part, 1], east, north)
    lat, lon = np.round(lat, 4), np.round(lon, 4)
    downtown = np.where(parts[part, 2] <= 1.5, 20.0, 1.0)  # towers favour Midtown and Downtown
    moved, source = _towers(rng, spec.n, _variant_share(spec.variant), downtown)
    lat[moved], lon[moved] = lat[source], lon[source]
    return lat, lon, np.full(spec.n, "NY", dtype=object)


# Chile-like: (lat, lon of the coast) along 4,000 km; the country runs 200 km east of it.
LONG_COAST = ((-18.5, -70.3), (-23.6, -70.4), (-27.0, -70.9), (-30.0, -71.4), (-33.4, -71.7), (-37.0, -73.2),
              (-41.5, -73.8), (-46.0, -74.5), (-50.0, -75.0), (-54.0, -71.5))
LONG_WIDTH_KM = 200.0
# (lat, km east of the coast, population in millions)
LONG_CITIES = ((-18.48, 10, 0.2), (-20.21, 10, 0.3), (-23.65, 10, 0.4), (-27.37, 60, 0.15), (-29.90, 10, 0.5),
               (-33.05, 10, 1.0), (-33.45, 100, 7.0), (-34.17, 110, 0.3), (-35.43, 120, 0.25), (-36.83, 15, 1.0),
               (-38.74, 90, 0.35), (-39.81, 30, 0.17), (-41.47, 60, 0.25), (-45.57, 120, 0.06), (-53.16, 40, 0.13))
REMOTE_ISLAND = (-27.11, -109.35)  # Easter Island: about 3,500 km off the coast
REMOTE_ISLAND_SHARE = 0.25
"""The island's workload, as a share of one territory's mean load."""
LONG_RURAL_SHARE = 0.3


def long_country_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A long thin country: cities plus scatter along the whole strip; in the 'island' variant, the
    first accounts sit on a small island 3,500 km away (their workload is scaled later)."""
    coast = np.array(LONG_COAST)
    cities = np.array(LONG_CITIES)
    n_island = island_accounts(spec)
    n = spec.n - n_island
    rural = rng.random(n) < LONG_RURAL_SHARE
    city = rng.choice(len(cities), size=n, p=cities[:, 2] / cities[:, 2].sum())
    sigma = 8.0 * np.sqrt(cities[city, 2]) + 3.0
    north = np.where(rural, 0.0, rng.normal(size=n) * sigma)
    lat = np.where(rural, rng.uniform(coast[-1, 0], coast[0, 0], n), cities[city, 0] + north / KM_PER_DEGREE)
    east = np.where(rural, rng.uniform(0, LONG_WIDTH_KM, n), cities[city, 1] + rng.normal(size=n) * sigma)
    east = np.clip(east, 0, LONG_WIDTH_KM)
    coast_lon = np.interp(lat, coast[::-1, 0], coast[::-1, 1])
    lat, lon = _offset(lat, coast_lon, east, np.zeros(n))
    if n_island:
        east, north = _in_ellipse(rng, n_island, 12.0, 8.0, 60.0)
        ilat, ilon = _offset(np.full(n_island, REMOTE_ISLAND[0]), np.full(n_island, REMOTE_ISLAND[1]), east, north)
        lat, lon = np.r_[ilat, lat], np.r_[ilon, lon]
    return lat, lon, np.full(spec.n, "CL", dtype=object)


def island_accounts(spec: InstanceSpec) -> int:
    """Accounts on the remote island: about a quarter of one territory's accounts (0 without the island)."""
    if spec.family != "long_country" or spec.variant != "island":
        return 0
    return max(3, int(round(REMOTE_ISLAND_SHARE * spec.n / spec.k)))


# (name, lat, lon, semi-major km, semi-minor km, bearing of the major axis, share of accounts)
ARCHIPELAGOS = {
    "japan": (
        ("Honshu north", 39.6, 140.9, 280, 70, 0, 0.09),
        ("Honshu Kanto", 36.0, 139.5, 150, 90, 40, 0.38),
        ("Honshu Kansai", 35.0, 135.9, 230, 70, 75, 0.24),
        ("Honshu west", 34.6, 132.6, 180, 50, 70, 0.06),
        ("Hokkaido", 43.6, 143.2, 170, 110, 80, 0.05),
        ("Kyushu", 32.2, 130.7, 110, 70, 10, 0.10),
        ("Shikoku", 33.4, 133.6, 100, 35, 75, 0.03),
        ("Okinawa", 26.4, 127.9, 40, 10, 30, 0.012),
        ("Ogasawara", 27.1, 142.2, 10, 5, 0, 0.002),
    ),
    "indonesia": (
        ("Sumatra", 0.2, 100.8, 750, 150, 140, 0.21),
        ("Java", -7.4, 110.2, 480, 60, 100, 0.55),
        ("Bali-Lombok", -8.5, 116.0, 110, 30, 90, 0.04),
        ("Kalimantan", 0.2, 114.2, 420, 320, 20, 0.07),
        ("Sulawesi", -2.2, 120.6, 350, 90, 165, 0.07),
        ("Maluku", -3.6, 128.3, 60, 25, 100, 0.015),
        ("Papua", -4.2, 138.5, 550, 180, 110, 0.025),
    ),
}


def archipelago_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Island groups of unequal size 100-1,500 km apart; within an island half the accounts crowd a
    core (a city), half spread over the island."""
    islands = ARCHIPELAGOS[spec.variant]
    share = np.array([i[6] for i in islands])
    which = rng.choice(len(islands), size=spec.n, p=share / share.sum())
    east, north = np.zeros(spec.n), np.zeros(spec.n)
    for j, (_, _, _, major, minor, bearing, _) in enumerate(islands):
        members = np.flatnonzero(which == j)
        e, n_ = _in_ellipse(rng, members.size, major, minor, bearing)
        core = rng.random(members.size) < 0.5
        e[core] *= 0.15
        n_[core] *= 0.15
        east[members], north[members] = e, n_
    centre_lat = np.array([i[1] for i in islands])[which]
    centre_lon = np.array([i[2] for i in islands])[which]
    lat, lon = _offset(centre_lat, centre_lon, east, north)
    return lat, lon, np.array([i[0] for i in islands], dtype=object)[which]


# (city, country, lat, lon, metro population in millions; rough)
EUROPE_CITIES = (
    ("London", "UK", 51.51, -0.13, 9.5), ("Manchester", "UK", 53.48, -2.24, 2.8),
    ("Birmingham", "UK", 52.49, -1.89, 2.9), ("Leeds", "UK", 53.80, -1.55, 1.9), ("Glasgow", "UK", 55.86, -4.25, 1.7),
    ("Edinburgh", "UK", 55.95, -3.19, 0.9), ("Belfast", "UK", 54.60, -5.93, 0.6), ("Dublin", "IE", 53.35, -6.26, 1.9),
    ("Cork", "IE", 51.90, -8.47, 0.4), ("Paris", "FR", 48.86, 2.35, 11.0), ("Lyon", "FR", 45.76, 4.84, 2.3),
    ("Marseille", "FR", 43.30, 5.37, 1.9), ("Toulouse", "FR", 43.60, 1.44, 1.4), ("Bordeaux", "FR", 44.84, -0.58, 1.2),
    ("Lille", "FR", 50.63, 3.06, 1.2), ("Madrid", "ES", 40.42, -3.70, 6.7), ("Barcelona", "ES", 41.39, 2.17, 5.6),
    ("Valencia", "ES", 39.47, -0.38, 1.6), ("Seville", "ES", 37.39, -5.98, 1.5), ("Palma", "ES", 39.57, 2.65, 0.4),
    ("Lisbon", "PT", 38.72, -9.14, 2.9), ("Porto", "PT", 41.15, -8.61, 1.7), ("Berlin", "DE", 52.52, 13.40, 4.5),
    ("Hamburg", "DE", 53.55, 9.99, 2.5), ("Munich", "DE", 48.14, 11.58, 2.9), ("Frankfurt", "DE", 50.11, 8.68, 2.3),
    ("Cologne", "DE", 50.94, 6.96, 2.0), ("Stuttgart", "DE", 48.78, 9.18, 1.8), ("Amsterdam", "NL", 52.37, 4.90, 2.5),
    ("Rotterdam", "NL", 51.92, 4.48, 1.8), ("Brussels", "BE", 50.85, 4.35, 2.1), ("Zurich", "CH", 47.38, 8.54, 1.4),
    ("Vienna", "AT", 48.21, 16.37, 2.9), ("Prague", "CZ", 50.08, 14.44, 2.2), ("Warsaw", "PL", 52.23, 21.01, 3.1),
    ("Krakow", "PL", 50.06, 19.94, 1.4), ("Budapest", "HU", 47.50, 19.04, 3.0), ("Bucharest", "RO", 44.43, 26.10, 2.3),
    ("Sofia", "BG", 42.70, 23.32, 1.3), ("Belgrade", "RS", 44.79, 20.45, 1.4), ("Zagreb", "HR", 45.81, 15.98, 1.1),
    ("Athens", "GR", 37.98, 23.73, 3.2), ("Thessaloniki", "GR", 40.64, 22.94, 1.0), ("Rome", "IT", 41.90, 12.50, 4.3),
    ("Milan", "IT", 45.46, 9.19, 4.3), ("Naples", "IT", 40.85, 14.27, 3.1), ("Turin", "IT", 45.07, 7.69, 1.7),
    ("Palermo", "IT", 38.12, 13.36, 1.0), ("Copenhagen", "DK", 55.68, 12.57, 2.1),
    ("Stockholm", "SE", 59.33, 18.07, 2.4), ("Gothenburg", "SE", 57.71, 11.97, 1.0), ("Oslo", "NO", 59.91, 10.75, 1.6),
    ("Bergen", "NO", 60.39, 5.32, 0.4), ("Trondheim", "NO", 63.43, 10.40, 0.3), ("Helsinki", "FI", 60.17, 24.94, 1.5),
    ("Tampere", "FI", 61.50, 23.79, 0.4), ("Oulu", "FI", 65.01, 25.47, 0.2), ("Tallinn", "EE", 59.44, 24.75, 0.6),
    ("Riga", "LV", 56.95, 24.11, 0.6), ("Vilnius", "LT", 54.69, 25.28, 0.7), ("Reykjavik", "IS", 64.15, -21.94, 0.23),
)
EUROPE_SPREAD_SHARE = 0.25
"""Accounts in a city's wider region (sigma 60 km) rather than the city itself."""


def europe_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cities across Europe by rough population (UK, Ireland, the Nordics and Iceland across the sea)."""
    cities = EUROPE_CITIES
    population = np.array([c[4] for c in cities])
    city = rng.choice(len(cities), size=spec.n, p=population / population.sum())
    sigma = np.where(rng.random(spec.n) < EUROPE_SPREAD_SHARE, 60.0, 6.0 * np.sqrt(population[city]))
    east, north = rng.normal(size=(2, spec.n)) * sigma
    lat, lon = _offset(np.array([c[2] for c in cities])[city], np.array([c[3] for c in cities])[city], east, north)
    return lat, lon, np.array([c[1] for c in cities], dtype=object)[city]


UNIFORM_BOX = (35.0, 45.0, -100.0, -85.0)  # lat min, lat max, lon min, lon max


def uniform_points(spec: InstanceSpec, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform on a lat/lon box (about 1,100 x 1,300 km): the easy case, as a control."""
    lat_min, lat_max, lon_min, lon_max = UNIFORM_BOX
    lat, lon = rng.uniform(lat_min, lat_max, spec.n), rng.uniform(lon_min, lon_max, spec.n)
    return lat, lon, np.full(spec.n, "US", dtype=object)


POINTS = {
    "us_zip": us_zip_points,
    "metro": metro_points,
    "long_country": long_country_points,
    "archipelago": archipelago_points,
    "europe": europe_points,
    "uniform": uniform_points,
}


# --- workloads -----------------------------------------------------------------------------------------


def capped(values: np.ndarray, k: int, cap_share: float = WORKLOAD_CAP_SHARE) -> tuple[np.ndarray, float]:
    """(workloads, cap): values clipped at ``cap_share`` x total / k, iterated to a fixed point
    (clipping lowers the total, which lowers the cap)."""
    values = values.astype(float)
    cap = np.inf
    for _ in range(100):
        cap = cap_share * values.sum() / k
        if values.max() <= cap * (1 + 1e-12):
            break
        values = np.minimum(values, cap)
    return values, float(cap)


def top_share(values: np.ndarray, fraction: float = 0.01) -> float:
    """Share of the total carried by the heaviest ``fraction`` of accounts."""
    top = max(1, int(round(fraction * values.size)))
    return float(np.sort(values)[-top:].sum() / values.sum())


def _pareto(n: int, k: int, rng) -> np.ndarray:
    """Pareto workloads whose top 1% carries PARETO_TOP_SHARE after the cap (stratified quantiles,
    so the tail does not hinge on a few draws). When the cap forbids it, the heaviest tail allowed."""
    u = (rng.permutation(n) + 0.5) / n

    def draw(alpha: float) -> np.ndarray:
        return MEDIAN_HOURS * (1.0 - u) ** (-1.0 / alpha)

    low, high = 1.05, 4.0  # share falls as alpha rises
    for _ in range(40):
        mid = 0.5 * (low + high)
        if top_share(capped(draw(mid), k)[0]) > PARETO_TOP_SHARE:
            low = mid
        else:
            high = mid
    return draw(low)


def workloads(spec: InstanceSpec, rng) -> tuple[np.ndarray, float]:
    """(workload hours, cap) for the spec's tail: lognormal sigma 0.3/0.8/1.2 or Pareto, capped."""
    if spec.tail == "pareto":
        raw = _pareto(spec.n, spec.k, rng)
    elif spec.tail.startswith("ln"):
        raw = np.exp(rng.normal(np.log(MEDIAN_HOURS), float(spec.tail[2:]), spec.n))
    else:
        raise ValueError(f"unknown workload tail {spec.tail!r}; choose from {', '.join(TAILS)}")
    return capped(raw, spec.k)


def _scale_island(values: np.ndarray, n_island: int, k: int) -> np.ndarray:
    """Scale the first ``n_island`` workloads so the island carries REMOTE_ISLAND_SHARE of a mean territory."""
    if not n_island:
        return values
    mainland = values[n_island:].sum()
    island_total = REMOTE_ISLAND_SHARE * mainland / (k - REMOTE_ISLAND_SHARE)
    values = values.copy()
    values[:n_island] *= island_total / values[:n_island].sum()
    return values


def make_accounts(spec: InstanceSpec) -> tuple[pd.DataFrame, dict]:
    """(accounts in the canonical schema, facts about the instance: cap, top-1% share, towers...)."""
    if spec.family not in POINTS:
        raise ValueError(f"unknown family {spec.family!r}; choose from {', '.join(FAMILIES)}")
    rng = spec.rng()
    lat, lon, region = POINTS[spec.family](spec, rng)
    hours, cap = workloads(spec, rng)
    if island_accounts(spec):  # scaling the island changes the total, so the cap is taken again
        hours, cap = capped(_scale_island(hours, island_accounts(spec), spec.k), spec.k)
    width = len(str(spec.n))
    accounts = pd.DataFrame({
        "account_id": [f"A{i:0{width}d}" for i in range(1, spec.n + 1)],
        "latitude": lat,
        "longitude": lon,
        "region": region.astype(str),
        "workload_hours": hours,
    })
    locations = pd.MultiIndex.from_arrays([lat, lon])
    facts = {
        "cap_hours": cap,
        "cap_share_of_target": WORKLOAD_CAP_SHARE,
        "capped_accounts": int(np.sum(hours >= cap * (1 - 1e-9))),
        "top1_share": top_share(hours),
        "max_account_share_of_target": float(hours.max() / (hours.sum() / spec.k)),
        "locations": int(locations.nunique()),
        "largest_pile": int(locations.value_counts().iloc[0]),
    }
    return accounts, facts


# --- starts (the current alignment handed to the engine) -------------------------------------------------


def local_xy_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(east, north) km on a plane through the points' mean latitude (longitudes unwrapped round
    their circular mean, so a set across the antimeridian stays in one piece)."""
    mean_lon = np.degrees(np.angle(np.mean(np.exp(1j * np.radians(lon)))))
    dlon = (lon - mean_lon + 180.0) % 360.0 - 180.0
    return np.column_stack([dlon * KM_PER_DEGREE * np.cos(np.radians(np.mean(lat))), lat * KM_PER_DEGREE])


def bisection_labels(lat: np.ndarray, lon: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Plain recursive weighted bisection into ``k`` parts (0..k-1): the reference that shows an
    instance is easy to balance.

    Each split cuts the widest axis at the weighted quantile k_left / k. A heavy account straddling
    the cut would leave the sides off by up to its weight, so the accounts in a narrow window round
    the cut (5% of the node, widened while that is not enough) fill the left side greedily, heaviest
    first: the boundary gets a little ragged and the sides come out within 0.1% of their goal.
    """
    labels = np.zeros(lat.size, dtype=np.int64)
    stack = [(np.arange(lat.size), k, 0)]
    while stack:
        members, parts, first = stack.pop()
        if parts == 1 or members.size <= 1:
            labels[members] = first
            continue
        xy = local_xy_km(lat[members], lon[members])
        axis = int(np.argmax(xy.max(axis=0) - xy.min(axis=0)))
        order = members[np.argsort(xy[:, axis], kind="stable")]
        cumulative = np.cumsum(weights[order])
        left_parts = parts // 2
        goal = cumulative[-1] * left_parts / parts
        cut = int(np.searchsorted(cumulative, goal))
        half_window = max(5, order.size // 40)
        while True:
            left, right, short = _fill_round_cut(order, weights, cumulative, goal, cut, half_window)
            if short <= 1e-3 * goal or 2 * half_window >= order.size:
                break
            half_window *= 2
        if left.size == 0 or right.size == 0:  # degenerate (fewer accounts than parts): split by count
            left, right = order[: order.size * left_parts // parts], order[order.size * left_parts // parts:]
        stack.append((left, left_parts, first))
        stack.append((right, parts - left_parts, first + left_parts))
    return labels


def _fill_round_cut(order, weights, cumulative, goal, cut, half_window):
    """(left, right, shortfall): the accounts before the window go left, then the window's accounts
    fill what is left of ``goal``, heaviest first."""
    low, high = max(0, cut - half_window), min(order.size, cut + half_window)
    room = goal - (cumulative[low - 1] if low else 0.0)
    window = order[low:high][np.argsort(-weights[order[low:high]], kind="stable")]
    to_left = np.zeros(window.size, dtype=bool)
    for j, account in enumerate(window):
        if weights[account] <= room:
            to_left[j] = True
            room -= weights[account]
    return np.r_[order[:low], window[to_left]], np.r_[window[~to_left], order[high:]], room


LOPSIDED_RANGE = (0.1, 5.0)
"""Block loads of the 'blocks' start range from 0.1x to 5x each other before normalisation (-90% .. +400%)."""


def lopsided_blocks(accounts: pd.DataFrame, k: int, rng, group_column: str = "region") -> np.ndarray:
    """Block index (0..k-1) per account: whole regions (states, islands, countries) in order along the
    widest axis when there are at least 2k of them, else strips along that axis; the blocks' loads
    follow a shuffled geometric ramp, so some are nearly empty and some hold several targets."""
    lat, lon = accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy()
    weights = accounts["workload_hours"].to_numpy()
    xy = local_xy_km(lat, lon)
    key = xy[:, int(np.argmax(xy.max(axis=0) - xy.min(axis=0)))]
    groups = accounts[group_column].to_numpy() if group_column in accounts else None
    if groups is not None and pd.unique(groups).size >= 2 * k:
        codes, _ = pd.factorize(groups)
        unit_key = pd.Series(key).groupby(codes).mean()
        unit_of = codes
        unit_order = unit_key.sort_values(kind="stable").index.to_numpy()
    else:
        unit_of = np.empty(lat.size, dtype=np.int64)
        unit_order = np.argsort(key, kind="stable")
        unit_of[unit_order] = np.arange(lat.size)
        unit_order = np.arange(lat.size)
    unit_load = np.bincount(unit_of, weights=weights, minlength=unit_order.size)[unit_order]
    cumulative = np.cumsum(unit_load)
    share = rng.permutation(np.geomspace(*LOPSIDED_RANGE, k))
    goals = np.cumsum(share / share.sum())[:-1] * cumulative[-1]
    ends = np.searchsorted(cumulative, goals) + 1  # block b ends after unit ends[b] - 1
    for b in range(k - 1):  # every block holds at least one unit
        ends[b] = min(max(ends[b], (ends[b - 1] if b else 0) + 1), unit_order.size - (k - 1 - b))
    block_of_position = np.searchsorted(ends, np.arange(unit_order.size), side="right")
    block_of_unit = np.empty(unit_order.size, dtype=np.int64)
    block_of_unit[unit_order] = block_of_position
    return block_of_unit[unit_of]


def territory_names(codes: np.ndarray, prefix: str = "T") -> np.ndarray:
    """Codes 0..m-1 -> 'T001'... (fixed width, so the engine's natural sort keeps their order)."""
    width = max(3, len(str(int(codes.max()) + 1)))
    names = np.array([f"{prefix}{i + 1:0{width}d}" for i in range(int(codes.max()) + 1)], dtype=object)
    return names[codes]


def k_pm3_start_k(spec: InstanceSpec) -> int:
    """K of the previous alignment for the 'k_pm3' start: K+3 or K-3 (alternating by seed; +3 when K < 8)."""
    return spec.k + 3 if spec.k < 8 or spec.seed % 2 == 0 else spec.k - 3


def start_labels(start: str, spec: InstanceSpec, accounts: pd.DataFrame, own: np.ndarray | None = None):
    """Current territory_id per account for a start kind (None for 'none'); ``own`` is the engine's
    output from the no-start run on the same instance (needed for 'own')."""
    weights = accounts["workload_hours"].to_numpy()
    if start == "none":
        return None
    if start == "own":
        if own is None:
            raise ValueError("the 'own' start needs the engine's no-start result on the same instance")
        return np.asarray(own, dtype=object)
    if start == "blocks":
        return territory_names(lopsided_blocks(accounts, spec.k, spec.rng("blocks")))
    if start == "owners":
        return territory_names(np.arange(spec.n) % spec.k)
    if start == "k_pm3":
        lat, lon = accounts["latitude"].to_numpy(), accounts["longitude"].to_numpy()
        return territory_names(bisection_labels(lat, lon, weights, k_pm3_start_k(spec)))
    raise ValueError(f"unknown start {start!r}; choose from {', '.join(STARTS)}")
