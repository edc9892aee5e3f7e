"""Regenerate the Territory Studio sample: ``python data/make_sample.py [--output-dir DIR] [--seed N]``.

Writes ``accounts.csv``, ``territories.csv`` and ``bookings.csv`` (about 5,000 US accounts, 20
territories in 4 regions, 8 quarters of bookings). Deterministic: one ``numpy.random.Generator``
seeded from ``--seed`` drives every draw, so running the script twice gives byte-identical files.

How the sample is built (and why, so the dashboard has something true-to-life to show):

* **Where**: accounts sit at real ZIP code centroids from the offline ``zipcodes`` package
  (MIT; GeoNames CC BY 4.0 / USPS). 88% are drawn around 50 real metros and 55 smaller
  towns (state capitals, college towns, energy, factory and hospital towns), weighted by size
  and falling off with distance from the centre (most within ~60 km); the remaining 12% are
  rural scatter over every ZIP of the lower 48 states + DC.
* **Industry**: 8 industries whose odds depend on the place: Energy in TX/OK/LA/ND/CO/WY/NM and
  its hubs, Technology in the SF Bay Area/Seattle/Austin/Boston/Raleigh, Financial Services in
  New York/Charlotte/Chicago, Manufacturing in the Midwest and Great Lakes, Government around DC
  and state capitals, Education near college towns, Healthcare and Retail everywhere.
* **Money**: potential (USD/year) is lognormal by industry; penetration (share of potential we
  already win) differs by region; quarterly bookings carry Q4 seasonality, uneven growth by
  region and industry (West grows, East declines) and some churned accounts; revenue is the
  trailing-12-month revenue, i.e. exactly the sum of the last 4 quarters of bookings.
* **Work**: ``workload_hours`` comes from ``territory.data.workload.derive_workload_hours``, the same
  documented rule the importer uses.
* **Alignment**: 20 territories drawn along state lines years ago (each one a set of whole
  states), so workload is out of balance the way real alignments drift: the Texas, California
  and Great Lakes reps carry 1.6-2x the mean workload, the Mountain, Southwest, New Jersey and
  Mid-South reps about 0.6x.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from territory.data import schema as S  # noqa: E402
from territory.data.workload import INDUSTRIES, derive_workload_hours  # noqa: E402

DEFAULT_SEED = 20261126
N_ACCOUNTS = 5_000
RURAL_SHARE = 0.12
QUARTERS: tuple[str, ...] = (
    "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3",
)
EARTH_RADIUS_KM = 6371.0088

# Lower 48 states + DC.
CONTINENTAL_STATES: frozenset[str] = frozenset(
    "AL AZ AR CA CO CT DE DC FL GA ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)

# --- places -----------------------------------------------------------------------------------
# (name, state, latitude, longitude, weight). Metro weight = metro population in millions
# (approximate, 2020s); accounts per metro grow a little slower than population (exponent below).
METROS: tuple[tuple[str, str, float, float, float], ...] = (
    ("New York", "NY", 40.7128, -74.0060, 19.5),
    ("Los Angeles", "CA", 34.0522, -118.2437, 13.0),
    ("Chicago", "IL", 41.8781, -87.6298, 9.4),
    ("Dallas", "TX", 32.7767, -96.7970, 7.9),
    ("Houston", "TX", 29.7604, -95.3698, 7.3),
    ("Washington", "DC", 38.9072, -77.0369, 6.3),
    ("Philadelphia", "PA", 39.9526, -75.1652, 6.2),
    ("Atlanta", "GA", 33.7490, -84.3880, 6.2),
    ("Miami", "FL", 25.7617, -80.1918, 6.1),
    ("Phoenix", "AZ", 33.4484, -112.0740, 5.0),
    ("Boston", "MA", 42.3601, -71.0589, 4.9),
    ("San Francisco", "CA", 37.7749, -122.4194, 4.6),
    ("Detroit", "MI", 42.3314, -83.0458, 4.3),
    ("Seattle", "WA", 47.6062, -122.3321, 4.0),
    ("Minneapolis", "MN", 44.9778, -93.2650, 3.7),
    ("San Diego", "CA", 32.7157, -117.1611, 3.3),
    ("Tampa", "FL", 27.9506, -82.4572, 3.3),
    ("Denver", "CO", 39.7392, -104.9903, 3.0),
    ("St. Louis", "MO", 38.6270, -90.1994, 2.8),
    ("Baltimore", "MD", 39.2904, -76.6122, 2.8),
    ("Charlotte", "NC", 35.2271, -80.8431, 2.7),
    ("Orlando", "FL", 28.5383, -81.3792, 2.7),
    ("San Antonio", "TX", 29.4241, -98.4936, 2.6),
    ("Portland", "OR", 45.5152, -122.6784, 2.5),
    ("Sacramento", "CA", 38.5816, -121.4944, 2.4),
    ("Pittsburgh", "PA", 40.4406, -79.9959, 2.4),
    ("Austin", "TX", 30.2672, -97.7431, 2.4),
    ("Las Vegas", "NV", 36.1699, -115.1398, 2.3),
    ("Cincinnati", "OH", 39.1031, -84.5120, 2.3),
    ("Kansas City", "MO", 39.0997, -94.5786, 2.2),
    ("Columbus", "OH", 39.9612, -82.9988, 2.1),
    ("Indianapolis", "IN", 39.7684, -86.1581, 2.1),
    ("Cleveland", "OH", 41.4993, -81.6944, 2.1),
    ("San Jose", "CA", 37.3382, -121.8863, 2.0),
    ("Nashville", "TN", 36.1627, -86.7816, 2.0),
    ("Jacksonville", "FL", 30.3322, -81.6557, 1.7),
    ("Milwaukee", "WI", 43.0389, -87.9065, 1.6),
    ("Raleigh", "NC", 35.7796, -78.6382, 1.5),
    ("Oklahoma City", "OK", 35.4676, -97.5164, 1.4),
    ("Salt Lake City", "UT", 40.7608, -111.8910, 1.3),
    ("Richmond", "VA", 37.5407, -77.4360, 1.3),
    ("New Orleans", "LA", 29.9511, -90.0715, 1.3),
    ("Louisville", "KY", 38.2527, -85.7585, 1.3),
    ("Memphis", "TN", 35.1495, -90.0490, 1.3),
    ("Hartford", "CT", 41.7658, -72.6734, 1.2),
    ("Birmingham", "AL", 33.5186, -86.8104, 1.1),
    ("Tulsa", "OK", 36.1540, -95.9928, 1.0),
    ("Omaha", "NE", 41.2565, -95.9345, 1.0),
    ("Albuquerque", "NM", 35.0844, -106.6504, 0.9),
    ("Boise", "ID", 43.6150, -116.2023, 0.8),
)
METRO_WEIGHT_EXPONENT = 0.7

# Smaller towns that pull accounts of one industry: (name, state, lat, lon, weight, industry).
TOWNS: tuple[tuple[str, str, float, float, float, str], ...] = (
    ("Midland", "TX", 31.9973, -102.0779, 0.5, "Energy"),
    ("Williston", "ND", 48.1470, -103.6180, 0.5, "Energy"),
    ("Bismarck", "ND", 46.8083, -100.7837, 0.4, "Energy"),
    ("Casper", "WY", 42.8666, -106.3131, 0.4, "Energy"),
    ("Lafayette", "LA", 30.2241, -92.0198, 0.5, "Energy"),
    ("Baton Rouge", "LA", 30.4515, -91.1871, 0.6, "Energy"),
    ("Corpus Christi", "TX", 27.8006, -97.3964, 0.3, "Energy"),
    ("Ann Arbor", "MI", 42.2808, -83.7430, 0.4, "Education"),
    ("Madison", "WI", 43.0731, -89.4012, 0.6, "Education"),
    ("Chapel Hill", "NC", 35.9132, -79.0558, 0.4, "Education"),
    ("Ithaca", "NY", 42.4440, -76.5019, 0.3, "Education"),
    ("State College", "PA", 40.7934, -77.8600, 0.3, "Education"),
    ("Champaign", "IL", 40.1164, -88.2434, 0.3, "Education"),
    ("Bloomington", "IN", 39.1653, -86.5264, 0.3, "Education"),
    ("Gainesville", "FL", 29.6516, -82.3248, 0.3, "Education"),
    ("Athens", "GA", 33.9519, -83.3576, 0.3, "Education"),
    ("Boulder", "CO", 40.0150, -105.2705, 0.3, "Education"),
    ("Eugene", "OR", 44.0521, -123.0868, 0.3, "Education"),
    ("Iowa City", "IA", 41.6611, -91.5302, 0.3, "Education"),
    ("Lawrence", "KS", 38.9717, -95.2353, 0.3, "Education"),
    ("Columbia", "MO", 38.9517, -92.3341, 0.3, "Education"),
    ("Albany", "NY", 42.6526, -73.7562, 0.5, "Government"),
    ("Harrisburg", "PA", 40.2732, -76.8867, 0.4, "Government"),
    ("Tallahassee", "FL", 30.4383, -84.2807, 0.4, "Government"),
    ("Springfield", "IL", 39.7817, -89.6501, 0.3, "Government"),
    ("Lansing", "MI", 42.7325, -84.5555, 0.4, "Government"),
    ("Des Moines", "IA", 41.5868, -93.6250, 0.6, "Government"),
    ("Topeka", "KS", 39.0473, -95.6752, 0.3, "Government"),
    ("Lincoln", "NE", 40.8136, -96.7026, 0.3, "Government"),
    ("Jackson", "MS", 32.2988, -90.1848, 0.4, "Government"),
    ("Montgomery", "AL", 32.3792, -86.3077, 0.3, "Government"),
    ("Columbia", "SC", 34.0007, -81.0348, 0.6, "Government"),
    ("Little Rock", "AR", 34.7465, -92.2896, 0.6, "Government"),
    ("Frankfort", "KY", 38.2009, -84.8733, 0.2, "Government"),
    ("Charleston", "WV", 38.3498, -81.6326, 0.2, "Government"),
    ("Olympia", "WA", 47.0379, -122.9007, 0.2, "Government"),
    ("Salem", "OR", 44.9429, -123.0351, 0.3, "Government"),
    ("Helena", "MT", 46.5891, -112.0391, 0.2, "Government"),
    ("Cheyenne", "WY", 41.1400, -104.8202, 0.2, "Government"),
    ("Santa Fe", "NM", 35.6870, -105.9378, 0.2, "Government"),
    ("Providence", "RI", 41.8240, -71.4128, 0.8, "Government"),
    ("Concord", "NH", 43.2081, -71.5376, 0.2, "Government"),
    ("Augusta", "ME", 44.3106, -69.7795, 0.2, "Government"),
    ("Trenton", "NJ", 40.2206, -74.7597, 0.3, "Government"),
    ("Dover", "DE", 39.1582, -75.5244, 0.2, "Government"),
    ("Sioux Falls", "SD", 43.5446, -96.7311, 0.3, "Healthcare"),
    ("Fargo", "ND", 46.8772, -96.7898, 0.3, "Healthcare"),
    ("Rochester", "MN", 44.0121, -92.4802, 0.2, "Healthcare"),
    ("Grand Rapids", "MI", 42.9634, -85.6681, 0.7, "Manufacturing"),
    ("Toledo", "OH", 41.6528, -83.5379, 0.4, "Manufacturing"),
    ("Fort Wayne", "IN", 41.0793, -85.1394, 0.4, "Manufacturing"),
    ("Rockford", "IL", 42.2711, -89.0940, 0.3, "Manufacturing"),
    ("Greenville", "SC", 34.8526, -82.3940, 0.9, "Manufacturing"),
    ("Spokane", "WA", 47.6588, -117.4260, 0.6, "Healthcare"),
    ("Billings", "MT", 45.7833, -108.5007, 0.2, "Energy"),
)

STATE_CAPITALS_EXTRA: tuple[tuple[float, float], ...] = (
    # Capitals that are also metros in METROS: Government odds rise near them too.
    (38.9072, -77.0369), (38.5816, -121.4944), (30.2672, -97.7431), (39.9612, -82.9988),
    (39.7684, -86.1581), (44.9537, -93.0900), (39.7392, -104.9903), (33.4484, -112.0740),
    (40.7608, -111.8910), (43.6150, -116.2023), (35.4676, -97.5164), (33.7490, -84.3880),
    (35.7796, -78.6382), (37.5407, -77.4360), (36.1627, -86.7816), (42.3601, -71.0589),
    (41.7658, -72.6734), (38.9784, -76.4922), (39.1638, -119.7674), (44.2601, -72.5754),
    (44.3683, -100.3510),
)

# --- industries ---------------------------------------------------------------------------------
BASE_MIX: dict[str, float] = {
    "Healthcare": 0.20,
    "Manufacturing": 0.13,
    "Financial Services": 0.11,
    "Technology": 0.11,
    "Retail": 0.20,
    "Education": 0.10,
    "Government": 0.07,
    "Energy": 0.03,
}
METRO_BOOST: dict[str, dict[str, float]] = {
    "San Francisco": {"Technology": 5.0, "Financial Services": 1.5},
    "San Jose": {"Technology": 7.0},
    "Seattle": {"Technology": 4.0},
    "Austin": {"Technology": 4.5},
    "Boston": {"Technology": 2.5, "Education": 2.5, "Financial Services": 1.5},
    "Raleigh": {"Technology": 3.5, "Education": 2.0},
    "Denver": {"Technology": 1.5, "Energy": 4.0},
    "New York": {"Financial Services": 6.0},
    "Charlotte": {"Financial Services": 6.0},
    "Chicago": {"Financial Services": 3.0, "Manufacturing": 1.3},
    "Hartford": {"Financial Services": 3.0},
    "Washington": {"Government": 6.0, "Technology": 1.5},
    "Houston": {"Energy": 9.0, "Healthcare": 1.3},
    "Dallas": {"Energy": 2.5, "Financial Services": 1.4},
    "San Antonio": {"Energy": 2.0, "Government": 1.5},
    "Oklahoma City": {"Energy": 7.0},
    "Tulsa": {"Energy": 8.0},
    "New Orleans": {"Energy": 3.0},
    "Detroit": {"Manufacturing": 3.0},
    "Cleveland": {"Manufacturing": 2.5, "Healthcare": 1.5},
    "Pittsburgh": {"Manufacturing": 1.8, "Healthcare": 1.5},
    "Nashville": {"Healthcare": 2.5},
    "Minneapolis": {"Healthcare": 1.5, "Manufacturing": 1.5},
    "Las Vegas": {"Retail": 2.0},
    "Orlando": {"Retail": 2.0},
    "Miami": {"Retail": 1.6, "Financial Services": 1.3},
}
STATE_BOOST: dict[str, dict[str, float]] = {
    **{st: {"Energy": 6.0} for st in ("TX", "OK", "LA", "ND", "WY", "NM")},
    "CO": {"Energy": 3.0},
    **{st: {"Manufacturing": 2.5} for st in ("OH", "MI", "IN", "IL", "WI", "PA", "MN", "IA")},
    **{st: {"Government": 2.5} for st in ("DC", "MD", "VA")},
}
TOWN_BOOST = 6.0  # a town's own industry, e.g. Education in Ann Arbor
CAPITAL_GOVERNMENT_BOOST = 2.5
CAPITAL_RADIUS_KM = 30.0

# Potential (USD/year) ~ lognormal(median, sigma) by industry.
POTENTIAL_PROFILE: dict[str, tuple[float, float]] = {
    "Healthcare": (40_000.0, 1.05),
    "Manufacturing": (45_000.0, 1.10),
    "Financial Services": (60_000.0, 1.25),
    "Technology": (50_000.0, 1.25),
    "Retail": (18_000.0, 1.00),
    "Education": (28_000.0, 0.85),
    "Government": (45_000.0, 1.05),
    "Energy": (80_000.0, 1.15),
}

# --- alignment ----------------------------------------------------------------------------------
# territory_id -> (region, district, states). Drawn along state lines years ago.
TERRITORIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "T01": ("West", "Pacific", ("CA",)),
    "T02": ("West", "Pacific", ("WA", "OR")),
    "T03": ("West", "Mountain", ("ID", "MT", "WY", "UT")),
    "T04": ("West", "Southwest", ("AZ", "NV")),
    "T05": ("West", "Southwest", ("CO", "NM")),
    "T06": ("Central", "Texas", ("TX",)),
    "T07": ("Central", "Plains", ("OK", "KS", "NE", "MO")),
    "T08": ("Central", "Great Lakes", ("IL", "WI", "IN")),
    "T09": ("Central", "Plains", ("MN", "IA", "ND", "SD")),
    "T10": ("Central", "Great Lakes", ("MI", "OH")),
    "T11": ("South", "Florida", ("FL",)),
    "T12": ("South", "Southeast", ("GA", "SC")),
    "T13": ("South", "Southeast", ("NC",)),
    "T14": ("South", "Mid-South", ("TN", "KY")),
    "T15": ("South", "Mid-South", ("AL", "MS", "LA", "AR")),
    "T16": ("East", "New York", ("NY",)),
    "T17": ("East", "Mid-Atlantic", ("NJ", "DE")),
    "T18": ("East", "Mid-Atlantic", ("PA",)),
    "T19": ("East", "New England", ("MA", "RI", "NH", "VT", "ME", "CT")),
    "T20": ("East", "Capital", ("MD", "DC", "VA", "WV")),
}
RAMPING_TERRITORIES: frozenset[str] = frozenset({"T05", "T13"})  # capacity 0.5 FTE

# Penetration (share of potential already won), mean by region: the South is under-penetrated.
PENETRATION_MEAN: dict[str, float] = {"West": 0.24, "Central": 0.30, "South": 0.16, "East": 0.36}
PENETRATION_CONCENTRATION = 6.0  # Beta(a, b) with a + b = this
PROSPECT_SHARE = 0.15  # accounts with no bookings yet (revenue 0)
CHURN_SHARE = 0.04  # accounts that stopped buying in the last 5 quarters

# Annual growth by region and by industry (multiplied), and quarterly seasonality (Q1..Q4).
REGION_GROWTH: dict[str, float] = {"West": 0.16, "Central": 0.03, "South": 0.06, "East": -0.09}
INDUSTRY_GROWTH: dict[str, float] = {
    "Healthcare": 0.05,
    "Manufacturing": -0.02,
    "Financial Services": 0.02,
    "Technology": 0.12,
    "Retail": -0.03,
    "Education": 0.01,
    "Government": 0.0,
    "Energy": -0.06,
}
SEASONALITY: dict[int, float] = {1: 0.85, 2: 0.95, 3: 0.95, 4: 1.25}
QUARTER_NOISE_SIGMA = 0.18
LOCKED_SHARE = 0.01

# --- names ----------------------------------------------------------------------------------------
NAME_STEMS: tuple[str, ...] = (
    "Summit", "Cedar", "Pioneer", "Granite", "Harbor", "Liberty", "Meridian", "Keystone", "Evergreen",
    "Northstar", "Riverbend", "Blue Ridge", "Ironwood", "Silver Lake", "Prairie", "Redwood", "Beacon",
    "Heritage", "Frontier", "Lakeside", "Oakmont", "Crestview", "Sterling", "Pinnacle", "Highland",
    "Bayview", "Canyon", "Clearwater", "Copper", "Eagle", "Falcon", "Foxhall", "Golden Gate", "Greenfield",
    "Hawthorne", "Horizon", "Juniper", "Landmark", "Magnolia", "Maple", "Millbrook", "Monarch", "Mosaic",
    "Neptune", "Oakridge", "Orchard", "Palisade", "Paramount", "Patriot", "Quarry", "Ridgeline",
    "Rockport", "Sagebrush", "Sequoia", "Shoreline", "Stonebridge", "Sunrise", "Tidewater", "Trident",
    "Unity", "Vanguard", "Westbrook", "Whitestone", "Willow", "Wolf Creek", "Atlas", "Apex", "Bluebird",
    "Cornerstone", "Crescent", "Delta", "Everest", "Fairview", "Gateway", "Hillcrest", "Ivy", "Kingsley",
    "Lighthouse", "Lone Star", "Mesa", "Midland", "Mountainview", "Northgate", "Olympic", "Pacifica",
    "Piedmont", "Polaris", "Red Rock", "Sapphire", "Tri-County", "Valley", "Vista", "Yellowstone",
    "Allegheny", "Badger", "Buckeye", "Cascade", "Chesapeake", "Cumberland", "Ozark", "Sierra", "Tahoe",
)
INDUSTRY_NOUNS: dict[str, tuple[str, ...]] = {
    "Healthcare": (
        "Health", "Medical Group", "Family Clinic", "Health System", "Orthopedics", "Pediatrics",
        "Home Health", "Dental Partners", "Surgical Center", "Imaging", "Senior Living", "Pharmacy",
    ),
    "Manufacturing": (
        "Manufacturing", "Industries", "Fabrication", "Tool & Die", "Plastics", "Metalworks",
        "Components", "Machining", "Packaging", "Precision Parts", "Foundry", "Controls",
    ),
    "Financial Services": (
        "Capital", "Bank", "Financial", "Credit Union", "Wealth Partners", "Insurance Group",
        "Advisors", "Trust", "Mortgage", "Asset Management", "Savings Bank", "Securities",
    ),
    "Technology": (
        "Software", "Systems", "Labs", "Technologies", "Data", "Networks", "Analytics", "Cloud",
        "Digital", "Robotics", "Cyber", "Semiconductor",
    ),
    "Retail": (
        "Markets", "Outfitters", "Supply", "Home Goods", "Grocers", "Hardware", "Apparel",
        "Furniture", "Sporting Goods", "Pet Supply", "Auto Parts", "Boutique",
    ),
    "Education": (
        "Academy", "College", "Learning Center", "Preparatory School", "Institute", "Charter Schools",
    ),
    "Government": (
        "Water Authority", "Transit Authority", "Housing Authority", "Port Authority", "Utility District",
        "Library District",
    ),
    "Energy": (
        "Energy", "Oil & Gas", "Power", "Resources", "Petroleum", "Midstream", "Solar", "Pipeline",
        "Drilling", "Renewables", "Wind", "Exploration",
    ),
}
CITY_PATTERNS: dict[str, tuple[str, ...]] = {
    "Healthcare": ("{city} Regional Medical Center", "{city} Community Hospital", "{city} Health Clinic"),
    "Education": (
        "{city} Community College", "{city} School District", "{city} Unified Schools",
        "{city} Technical College",
    ),
    "Government": (
        "City of {city}", "{city} Public Works", "{city} County Services", "{city} Police Department",
    ),
}
LEGAL_SUFFIXES: tuple[str, ...] = ("", "", "", " Inc.", " LLC", " Co.", " Corp.", " Group", " Partners")

FIRST_NAMES: tuple[str, ...] = (
    "Maria", "James", "Priya", "Daniel", "Aisha", "Kevin", "Laura", "Marcus", "Sofia", "Brian", "Elena",
    "Jamal", "Rachel", "Carlos", "Hannah", "Tyler", "Mei", "Andre", "Olivia", "Derek", "Nina", "Samuel",
    "Grace", "Victor", "Keisha", "Patrick", "Yuki", "Diego", "Megan", "Omar",
)
LAST_NAMES: tuple[str, ...] = (
    "Alvarez", "Bennett", "Chen", "Dawson", "Edwards", "Fischer", "Garcia", "Hughes", "Iyer", "Johnson",
    "Kowalski", "Lopez", "Mitchell", "Nguyen", "O'Brien", "Patel", "Quinn", "Robinson", "Sullivan",
    "Thompson", "Underwood", "Vasquez", "Washington", "Xu", "Young", "Zimmerman", "Brooks", "Carter",
    "Foster", "Morales",
)


# --- helpers ------------------------------------------------------------------------------------


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def load_zip_table() -> pd.DataFrame:
    """Active, standard US ZIP codes of the lower 48 + DC with centroids, sorted by ZIP."""
    import zipcodes

    rows = []
    for rec in zipcodes.list_all():
        if rec.get("zip_code_type") != "STANDARD" or not rec.get("active"):
            continue
        if rec.get("state") not in CONTINENTAL_STATES:
            continue
        try:
            lat, lon = float(rec["lat"]), float(rec["long"])
        except (TypeError, ValueError):
            continue
        if not (24.0 <= lat <= 50.0 and -125.0 <= lon <= -66.0):
            continue
        rows.append((rec["zip_code"], rec["city"], rec["state"], lat, lon))
    table = pd.DataFrame(rows, columns=["zip", "city", "state", "lat", "lon"])
    return table.sort_values("zip", kind="stable").reset_index(drop=True)


def _places() -> pd.DataFrame:
    """Metros and towns as one table: name, state, lat, lon, weight, town_industry ("" for metros)."""
    metros = pd.DataFrame(list(METROS), columns=["name", "state", "lat", "lon", "weight"])
    metros["weight"] = metros["weight"] ** METRO_WEIGHT_EXPONENT
    metros["town_industry"] = ""
    towns = pd.DataFrame(list(TOWNS), columns=["name", "state", "lat", "lon", "weight", "town_industry"])
    return pd.concat([metros, towns], ignore_index=True)


def _place_accounts(
    rng: np.random.Generator, zips: pd.DataFrame, n: int
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """ZIP row per account, the place it clustered around (-1: rural), and the places table."""
    places = _places()
    n_rural = int(round(n * RURAL_SHARE))
    n_clustered = n - n_rural
    place_share = (places["weight"] / places["weight"].sum()).to_numpy()
    place_idx = rng.choice(len(places), size=n_clustered, p=place_share)
    zlat, zlon = zips["lat"].to_numpy(), zips["lon"].to_numpy()
    zip_idx = np.empty(n, dtype=np.int64)
    for k in range(len(places)):
        members = np.flatnonzero(place_idx == k)
        if members.size == 0:
            continue
        place = places.iloc[k]
        dist = _haversine_km(zlat, zlon, place["lat"], place["lon"])
        radius = 70.0 if place["town_industry"] == "" else 35.0
        scale = 22.0 if place["town_industry"] == "" else 10.0
        near = np.flatnonzero(dist <= radius)
        weights = np.exp(-dist[near] / scale)
        zip_idx[members] = rng.choice(near, size=members.size, p=weights / weights.sum())
    zip_idx[n_clustered:] = rng.choice(len(zips), size=n_rural)
    place_of = np.concatenate([place_idx, np.full(n_rural, -1)])
    order = rng.permutation(n)
    return zip_idx[order], place_of[order], places


def _industry_odds(zips_of: pd.DataFrame, place_of: np.ndarray, places: pd.DataFrame) -> np.ndarray:
    """Unnormalised industry odds per account (n x 8) from its metro, town, state and capitals."""
    odds = np.tile(np.array([BASE_MIX[i] for i in INDUSTRIES]), (len(zips_of), 1))
    col = {ind: j for j, ind in enumerate(INDUSTRIES)}
    states = zips_of["state"].to_numpy()
    for state, boosts in STATE_BOOST.items():
        rows = states == state
        for ind, factor in boosts.items():
            odds[rows, col[ind]] *= factor
    names = np.where(place_of >= 0, places["name"].to_numpy()[np.clip(place_of, 0, None)], "")
    town_ind = np.where(place_of >= 0, places["town_industry"].to_numpy()[np.clip(place_of, 0, None)], "")
    for metro, boosts in METRO_BOOST.items():
        rows = (names == metro) & (town_ind == "")
        for ind, factor in boosts.items():
            odds[rows, col[ind]] *= factor
    for ind in INDUSTRIES:
        odds[town_ind == ind, col[ind]] *= TOWN_BOOST
    lat, lon = zips_of["lat"].to_numpy(), zips_of["lon"].to_numpy()
    capitals = [(t[2], t[3]) for t in TOWNS if t[5] == "Government"] + list(STATE_CAPITALS_EXTRA)
    near_capital = np.zeros(len(zips_of), dtype=bool)
    for clat, clon in capitals:
        near_capital |= _haversine_km(lat, lon, clat, clon) <= CAPITAL_RADIUS_KM
    odds[near_capital, col["Government"]] *= CAPITAL_GOVERNMENT_BOOST
    return odds


def _choose_rows(rng: np.random.Generator, odds: np.ndarray) -> np.ndarray:
    """One categorical draw per row of an odds matrix (vectorised inverse-CDF)."""
    cdf = np.cumsum(odds / odds.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(odds))[:, None]
    return np.minimum((u > cdf).sum(axis=1), odds.shape[1] - 1)


def _company_names(rng: np.random.Generator, industry: np.ndarray, city: np.ndarray) -> list[str]:
    """Plausible, unique company names built from word lists (deterministic given ``rng``)."""
    names: list[str] = []
    seen: set[str] = set()
    for ind, town in zip(industry, city, strict=True):
        for attempt in range(20):
            if ind in CITY_PATTERNS and rng.random() < 0.35:
                patterns = CITY_PATTERNS[ind]
                name = patterns[rng.integers(len(patterns))].format(city=town)
            else:
                stem = NAME_STEMS[rng.integers(len(NAME_STEMS))]
                nouns = INDUSTRY_NOUNS[ind]
                suffix = LEGAL_SUFFIXES[rng.integers(len(LEGAL_SUFFIXES))] if ind not in (
                    "Government", "Education") else ""
                name = f"{stem} {nouns[rng.integers(len(nouns))]}{suffix}"
            if attempt >= 10:
                name = f"{name} of {town}"
            if name not in seen:
                break
        else:  # pragma: no cover - 20 collisions in a row does not happen with these lists
            name = f"{name} {len(names)}"
        seen.add(name)
        names.append(name)
    return names


def _rep_names(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct first and last names, so every rep reads differently on a chart legend."""
    firsts = rng.choice(len(FIRST_NAMES), size=n, replace=False)
    lasts = rng.choice(len(LAST_NAMES), size=n, replace=False)
    return [f"{FIRST_NAMES[f]} {LAST_NAMES[last]}" for f, last in zip(firsts, lasts, strict=True)]


# --- the generator ------------------------------------------------------------------------------


def generate(seed: int = DEFAULT_SEED, n_accounts: int = N_ACCOUNTS) -> dict[str, pd.DataFrame]:
    """Build the three sample tables (accounts, territories, bookings) from one seed."""
    rng = np.random.default_rng(seed)
    zips = load_zip_table()
    state_to_territory = {st: tid for tid, (_, _, states) in TERRITORIES.items() for st in states}
    territory_region = {tid: region for tid, (region, _, _) in TERRITORIES.items()}
    missing = CONTINENTAL_STATES - set(state_to_territory)
    if missing:
        raise RuntimeError(f"states without a territory: {sorted(missing)}")

    zip_idx, place_of, places = _place_accounts(rng, zips, n_accounts)
    at = zips.iloc[zip_idx].reset_index(drop=True)
    industry = np.array(INDUSTRIES, dtype=object)[_choose_rows(rng, _industry_odds(at, place_of, places))]

    medians = np.array([POTENTIAL_PROFILE[i][0] for i in industry])
    sigmas = np.array([POTENTIAL_PROFILE[i][1] for i in industry])
    potential = np.round(medians * np.exp(sigmas * rng.standard_normal(n_accounts)), -2)
    potential = np.maximum(potential, 1_000.0)

    territory = at["state"].map(state_to_territory).to_numpy()
    region = pd.Series(territory).map(territory_region).to_numpy()

    # Bookings: a quarterly pattern (seasonality x growth x noise) scaled so the last 4 quarters
    # add up to potential x penetration; prospects get no bookings, churners stop at some quarter.
    pen_mean = pd.Series(region).map(PENETRATION_MEAN).to_numpy()
    penetration = rng.beta(pen_mean * PENETRATION_CONCENTRATION, (1 - pen_mean) * PENETRATION_CONCENTRATION)
    target_t12m = potential * penetration
    growth = (1 + pd.Series(region).map(REGION_GROWTH).to_numpy()) * (
        1 + pd.Series(industry).map(INDUSTRY_GROWTH).to_numpy()
    )
    q_of_year = np.array([int(q[-1]) for q in QUARTERS])
    t = np.arange(len(QUARTERS)) - (len(QUARTERS) - 1)  # 0 at the latest quarter
    season = np.array([SEASONALITY[q] for q in q_of_year])
    pattern = (
        season[None, :]
        * growth[:, None] ** (t[None, :] / 4.0)
        * np.exp(QUARTER_NOISE_SIGMA * rng.standard_normal((n_accounts, len(QUARTERS))))
    )
    pattern *= (target_t12m / pattern[:, -4:].sum(axis=1))[:, None]
    status = rng.random(n_accounts)
    prospect = status < PROSPECT_SHARE
    churned = (status >= PROSPECT_SHARE) & (status < PROSPECT_SHARE + CHURN_SHARE)
    last_active = rng.integers(2, len(QUARTERS) - 1, size=n_accounts)  # last quarter with bookings
    quarters_idx = np.arange(len(QUARTERS))[None, :]
    pattern[churned[:, None] & (quarters_idx > last_active[:, None])] = 0.0
    pattern[prospect] = 0.0
    amounts = np.round(pattern, 2)
    revenue = np.round(amounts[:, -4:].sum(axis=1), 2)

    workload = derive_workload_hours(
        pd.Series(potential), pd.Series(industry), at["lat"], at["lon"]
    ).to_numpy()

    # Strategic accounts (locked): drawn from the biggest 5% by potential.
    n_locked = int(round(n_accounts * LOCKED_SHARE))
    big = np.argsort(-potential, kind="stable")[: max(n_locked, n_accounts // 20)]
    locked = np.zeros(n_accounts, dtype=bool)
    locked[rng.choice(big, size=n_locked, replace=False)] = True

    account_ids = np.array([f"A{i:06d}" for i in range(1, n_accounts + 1)])
    accounts = pd.DataFrame(
        {
            S.ACCOUNT_ID: account_ids,
            S.NAME: _company_names(rng, industry, at["city"].to_numpy()),
            S.LATITUDE: at["lat"].to_numpy(),
            S.LONGITUDE: at["lon"].to_numpy(),
            S.POSTAL_CODE: at["zip"].to_numpy(),
            S.CITY: at["city"].to_numpy(),
            S.STATE: at["state"].to_numpy(),
            S.COUNTRY: "US",
            S.INDUSTRY: industry,
            S.REVENUE: revenue,
            S.POTENTIAL: potential,
            S.WORKLOAD_HOURS: workload,
            S.TERRITORY_ID: territory,
            S.LOCKED: locked,
        }
    )[list(S.ACCOUNT_COLUMNS)]

    has_history = amounts.sum(axis=1) > 0
    bookings = pd.DataFrame(
        {
            S.ACCOUNT_ID: np.repeat(account_ids[has_history], len(QUARTERS)),
            S.QUARTER: np.tile(np.array(QUARTERS), int(has_history.sum())),
            S.AMOUNT: amounts[has_history].ravel(),
        }
    )[list(S.BOOKING_COLUMNS)]

    territories = _territories(rng, zips, places)
    return {"accounts": accounts, "territories": territories, "bookings": bookings}


def _territories(rng: np.random.Generator, zips: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """One row per territory; the rep lives at the ZIP nearest the territory's largest place."""
    rows = []
    reps = _rep_names(rng, len(TERRITORIES))
    for (tid, (region, district, states)), rep in zip(TERRITORIES.items(), reps, strict=True):
        inside = places[places["state"].isin(states)]
        home = inside.loc[inside["weight"].idxmax()]
        candidates = zips[zips["state"].isin(states)]
        dist = _haversine_km(
            candidates["lat"].to_numpy(), candidates["lon"].to_numpy(), home["lat"], home["lon"]
        )
        nearest = candidates.iloc[int(np.argmin(dist))]
        rows.append(
            {
                S.TERRITORY_ID: tid,
                S.REP_NAME: rep,
                S.REGION: region,
                S.DISTRICT: district,
                S.HOME_LATITUDE: float(nearest["lat"]),
                S.HOME_LONGITUDE: float(nearest["lon"]),
                S.CAPACITY_FTE: 0.5 if tid in RAMPING_TERRITORIES else 1.0,
            }
        )
    return pd.DataFrame(rows)[list(S.TERRITORY_COLUMNS)]


def write(tables: dict[str, pd.DataFrame], output_dir: Path) -> list[Path]:
    """Write the tables as UTF-8 CSV with LF line endings; returns the paths written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, frame in tables.items():
        path = output_dir / f"{stem}.csv"
        frame.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent,
                        help="where to write the CSV files (default: the data/ folder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in write(generate(args.seed), args.output_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
