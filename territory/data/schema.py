"""The canonical tables every part of Territory Studio speaks.

Imports map CRM exports onto these names; the engine, metrics, app and CLI read only these names.
Keeping them in one module means a renamed column is one edit, not a hunt.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- accounts -------------------------------------------------------------------------------

ACCOUNT_ID = "account_id"
NAME = "name"
LATITUDE = "latitude"
LONGITUDE = "longitude"
POSTAL_CODE = "postal_code"
CITY = "city"
STATE = "state"
COUNTRY = "country"
INDUSTRY = "industry"
REVENUE = "revenue"
POTENTIAL = "potential"
WORKLOAD_HOURS = "workload_hours"
TERRITORY_ID = "territory_id"
LOCKED = "locked"
ACCOUNT_TYPE = "account_type"
COMPANY_REVENUE = "company_revenue"


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, pandas dtype, whether an import needs it, and its unit."""

    name: str
    dtype: str
    required: bool
    unit: str
    description: str


ACCOUNT_SCHEMA: tuple[Column, ...] = (
    Column(ACCOUNT_ID, "string", True, "", "Unique account identifier (CRM record ID)."),
    Column(NAME, "string", False, "", "Account (company) name."),
    Column(LATITUDE, "float64", False, "degrees", "WGS84 latitude; from the file or the ZIP centroid."),
    Column(LONGITUDE, "float64", False, "degrees", "WGS84 longitude; from the file or the ZIP centroid."),
    Column(POSTAL_CODE, "string", False, "", "Postal code; US ZIP normalised to 5 digits."),
    Column(CITY, "string", False, "", "City."),
    Column(STATE, "string", False, "", "State or province (US: two-letter code)."),
    Column(COUNTRY, "string", False, "", "ISO 3166-1 alpha-2 country code (US when unknown)."),
    Column(INDUSTRY, "string", False, "", "Industry; 'Other' when blank."),
    Column(REVENUE, "float64", False, "USD/year", "Trailing-12-month revenue from the account."),
    Column(POTENTIAL, "float64", False, "USD/year", "Annual opportunity (wallet) at the account."),
    Column(WORKLOAD_HOURS, "float64", False, "hours/year", "Annual hours a rep needs to serve it."),
    Column(TERRITORY_ID, "string", False, "", "Current territory (alignment); blank if unassigned."),
    Column(LOCKED, "boolean", False, "", "True: the account must stay in its current territory."),
)
ACCOUNT_COLUMNS: tuple[str, ...] = tuple(c.name for c in ACCOUNT_SCHEMA)
OPTIONAL_ACCOUNT_SCHEMA: tuple[Column, ...] = (
    Column(ACCOUNT_TYPE, "string", False, "",
           "Customer, Prospect, Partner, Vendor, Former customer or Other (Salesforce Type, HubSpot type or "
           "lifecycle stage); other values kept as written."),
    Column(COMPANY_REVENUE, "float64", False, "USD/year",
           "The customer company's own annual revenue (a CRM's 'Annual Revenue'), not revenue from the account."),
)
"""Columns an import carries only when the file has them (the sample has neither)."""
WORKLOAD_ESTIMATED = "workload_estimated"
POTENTIAL_ESTIMATED = "potential_estimated"
ESTIMATED_FLAG: dict[str, str] = {WORKLOAD_HOURS: WORKLOAD_ESTIMATED, POTENTIAL: POTENTIAL_ESTIMATED}
"""Boolean columns an import adds when it derived a value by the workload rule (True on those rows)."""
POTENTIAL_UNKNOWN = "potential_unknown"
"""Boolean column an import adds when some rows have neither potential nor revenue: the rule has
nothing to estimate from, so their potential is unknown (held as 0, never balanced on as if it were data)."""
MAPPABLE_ACCOUNT_SCHEMA: tuple[Column, ...] = ACCOUNT_SCHEMA + OPTIONAL_ACCOUNT_SCHEMA
MAPPABLE_ACCOUNT_COLUMNS: tuple[str, ...] = tuple(c.name for c in MAPPABLE_ACCOUNT_SCHEMA)

# --- territories / reps ---------------------------------------------------------------------

REP_NAME = "rep_name"
REGION = "region"
DISTRICT = "district"
HOME_LATITUDE = "home_latitude"
HOME_LONGITUDE = "home_longitude"
CAPACITY_FTE = "capacity_fte"

TERRITORY_SCHEMA: tuple[Column, ...] = (
    Column(TERRITORY_ID, "string", True, "", "Territory identifier, e.g. T07 (kept across re-alignments)."),
    Column(REP_NAME, "string", False, "", "Rep who owns the territory."),
    Column(REGION, "string", False, "", "Region (top of the hierarchy region > district > territory)."),
    Column(DISTRICT, "string", False, "", "Optional district between region and territory."),
    Column(HOME_LATITUDE, "float64", False, "degrees", "Rep home base latitude (optional)."),
    Column(HOME_LONGITUDE, "float64", False, "degrees", "Rep home base longitude (optional)."),
    Column(CAPACITY_FTE, "float64", False, "FTE", "Rep capacity; 1.0 full time, 0.5 part-time or ramping."),
)
TERRITORY_COLUMNS: tuple[str, ...] = tuple(c.name for c in TERRITORY_SCHEMA)
DEFAULT_CAPACITY_FTE = 1.0
MAX_CAPACITY_FTE = 1000.0
"""A territory's capacity above this many full-time reps is a typing error, not a team."""
MAX_AMOUNT = 1e15
"""The largest money or hours value a field may hold: above any account's revenue (world output is
about 10^14 USD a year), and small enough that a million of them add up without overflow."""

# --- bookings (quarterly review) --------------------------------------------------------------

QUARTER = "quarter"
AMOUNT = "amount"

BOOKING_SCHEMA: tuple[Column, ...] = (
    Column(ACCOUNT_ID, "string", True, "", "Account the booking belongs to."),
    Column(QUARTER, "string", True, "", "Calendar quarter, e.g. 2026Q3."),
    Column(AMOUNT, "float64", True, "USD", "Booked amount in the quarter."),
)
BOOKING_COLUMNS: tuple[str, ...] = tuple(c.name for c in BOOKING_SCHEMA)

# --- balance measures -------------------------------------------------------------------------

MEASURES: tuple[str, ...] = ("workload", "revenue", "potential", "accounts")
"""Quantities a territory can be balanced on. 'accounts' counts accounts."""

MEASURE_COLUMN: dict[str, str | None] = {
    "workload": WORKLOAD_HOURS,
    "revenue": REVENUE,
    "potential": POTENTIAL,
    "accounts": None,
}
MEASURE_LABEL: dict[str, str] = {
    "workload": "Workload (hours/year)",
    "revenue": "Revenue (USD/year)",
    "potential": "Potential (USD/year)",
    "accounts": "Accounts (count)",
}
