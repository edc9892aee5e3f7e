"""Offline US geocoding: ZIP codes to centroids, with the repairs spreadsheets make necessary.

The ZIP list ships with the ``zipcodes`` package (GeoNames CC BY 4.0 and USPS data, 42,789 ZIPs),
so nothing leaves the machine. It is loaded once into dense arrays indexed by the ZIP number
(00000-99999), which turns a million lookups into one numpy ``take`` instead of a Python loop.

Rules (also in docs/importing.md):

* ``12345``, ``12345-6789``, ``12345 6789`` and ``123456789`` are read as ZIP ``12345``.
* Excel turns ZIP columns into numbers: ``2139.0`` is read as ``2139``; a 4-digit ZIP (or an
  8-digit ZIP+4) lost its leading zero and is restored to ``02139``; a 3-digit one (``501``) is
  restored to ``00501`` only when that ZIP exists. Restored ZIPs are flagged so callers can warn.
* Coordinates are valid when latitude is in [-90, 90], longitude in [-180, 180], and they are not
  both 0 (the "null island" a failed geocoder writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

ZIP_SPACE = 100_000
"""Number of possible 5-digit ZIPs; the lookup arrays have one slot per ZIP."""


@dataclass(frozen=True)
class ZipTable:
    """Dense per-ZIP arrays (index = ZIP as an integer). ``known``: the ZIP is in the list."""

    known: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    city: np.ndarray
    state: np.ndarray


@lru_cache(maxsize=1)
def zip_table() -> ZipTable:
    """Load the ``zipcodes`` data once per process (about 2 s) into dense lookup arrays."""
    import zipcodes

    known = np.zeros(ZIP_SPACE, dtype=bool)
    latitude = np.full(ZIP_SPACE, np.nan)
    longitude = np.full(ZIP_SPACE, np.nan)
    city = np.full(ZIP_SPACE, np.nan, dtype=object)
    state = np.full(ZIP_SPACE, np.nan, dtype=object)
    for record in zipcodes.list_all():
        code = record.get("zip_code") or ""
        if len(code) != 5 or not code.isdigit():
            continue
        slot = int(code)
        known[slot] = True
        city[slot] = record.get("city") or np.nan
        state[slot] = record.get("state") or np.nan
        try:
            lat, lon = float(record["lat"]), float(record["long"])
        except (KeyError, TypeError, ValueError):
            continue
        # Military (APO/FPO) ZIPs carry 0,0: they exist but have no location.
        if _valid_pair(lat, lon):
            latitude[slot], longitude[slot] = lat, lon
    return ZipTable(known, latitude, longitude, city, state)


def _valid_pair(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and not (lat == 0.0 and lon == 0.0)


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped strings (missing stays missing), whatever dtype they came in."""
    text = values if isinstance(values, pd.Series) else pd.Series(values)
    if text.dtype != "str":
        text = text.astype("str")
    return text.str.strip()


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    """Writable bool array: where the whole value matches ``pattern`` (missing never matches)."""
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool, copy=True)


def normalize_us_zip(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Read US ZIP codes written in any common way.

    Returns ``(zip5, restored)``: ``zip5`` is the 5-digit ZIP as a string or missing when the
    value is not a ZIP; ``restored`` is True where a leading zero a spreadsheet dropped was put
    back (the caller should warn). Whether the ZIP exists is ``zip_centroids``' business, except
    for 3-digit values, which are only restored when the ZIP exists.

    >>> zip5, restored = normalize_us_zip(pd.Series(["02139-4307", "2139.0", "501", "1234x"]))
    >>> zip5.tolist(), restored.tolist()
    (['02139', '02139', '00501', nan], [False, True, True, False])
    """
    text = _as_text(values)
    # Excel floats ("2139.0") and the apostrophe Excel uses to force text ("'02139").
    text = text.str.replace(r"^'", "", regex=True)
    excel_float = _matches(text, r"[0-9]+\.0*")
    if excel_float.any():  # (a back-reference would push pandas off Arrow's fast regex path)
        text = text.where(~excel_float, text.str.replace(r"\.0*$", "", regex=True))
    # (No \s or top-level "|" here: pandas would leave Arrow's fast regex engine for Python's.)
    full = _matches(text, r"[0-9]{5}(?:[- ][0-9]{4})?") | _matches(text, r"[0-9]{9}")
    four = _matches(text, r"[0-9]{4}(?:[- ][0-9]{4})?") | _matches(text, r"[0-9]{8}")
    three = _matches(text, r"[0-9]{3}")

    zip5 = pd.Series(np.nan, index=pd.RangeIndex(len(text)), dtype="str")
    if full.any():
        zip5.iloc[np.flatnonzero(full)] = text[full].str.slice(0, 5).to_numpy()
    if four.any():
        zip5.iloc[np.flatnonzero(four)] = ("0" + text[four].str.slice(0, 4)).to_numpy()
    if three.any():
        candidates = ("00" + text[three]).to_numpy(dtype=object)
        exists = zip_table().known[candidates.astype(int)]
        positions = np.flatnonzero(three)
        three[positions[~exists]] = False
        zip5.iloc[positions[exists]] = candidates[exists]
    zip5.index = text.index
    restored = pd.Series(four | three, index=text.index, name="restored_leading_zero")
    return zip5.rename("zip5"), restored


def zip_centroids(zip5: pd.Series) -> pd.DataFrame:
    """Centroid and place of each 5-digit ZIP: columns latitude, longitude, city, state.

    Unknown ZIPs (and military ZIPs, which have no location) give NaN coordinates; city and
    state are NaN only when the ZIP is not in the list at all.

    >>> zip_centroids(pd.Series(["02139", "99999"]))[["city", "state"]].iloc[0].tolist()
    ['Cambridge', 'MA']
    """
    table = zip_table()
    text = _as_text(zip5)
    n = len(text)
    slots = np.full(n, -1, dtype=np.int64)
    well_formed = _matches(text, r"[0-9]{5}")
    if well_formed.any():
        slots[well_formed] = text[well_formed].astype("int64").to_numpy()
    found = slots >= 0
    found[found] = table.known[slots[found]]
    take = slots[found]

    latitude = np.full(n, np.nan)
    longitude = np.full(n, np.nan)
    latitude[found] = table.latitude[take]
    longitude[found] = table.longitude[take]
    slots[~found] = -1
    return pd.DataFrame(
        {
            "latitude": latitude,
            "longitude": longitude,
            "city": _take_text("city", slots),
            "state": _take_text("state", slots),
        },
        index=text.index,
    )


def _take_text(column: str, slots: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``zip_table().<column>[slots]`` as a str array (missing where slot is -1), via Arrow's take."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pandas without pyarrow: slower object path
        values = getattr(zip_table(), column)
        out = np.full(len(slots), np.nan, dtype=object)
        out[slots >= 0] = values[slots[slots >= 0]]
        return pd.array(out, dtype="str")
    taken = _arrow_column(column).take(pa.array(slots, mask=slots < 0))
    return pd.Series(taken.to_pandas(), dtype="str").array


@lru_cache(maxsize=4)
def _arrow_column(column: str) -> object:
    """An Arrow copy of a text column of the ZIP table, made once per process."""
    import pyarrow as pa

    return pa.array(getattr(zip_table(), column), type=pa.string(), from_pandas=True)


def city_key(city: pd.Series) -> pd.Series:
    """City names compared loosely: upper case, no punctuation, 'Saint'/'Fort'/'Mount' as 'ST'/'FT'/'MT'.

    >>> city_key(pd.Series(["St. Louis", "Saint Louis", " fort  worth"])).tolist()
    ['ST LOUIS', 'ST LOUIS', 'FT WORTH']
    """
    key = _as_text(city).str.upper().str.replace(r"[^A-Z0-9 ]", " ", regex=True)
    key = key.str.replace(r" +", " ", regex=True).str.strip()
    for word, short in (("SAINT", "ST"), ("FORT", "FT"), ("MOUNT", "MT"), ("SAINTE", "STE")):
        key = key.str.replace(rf"(^| ){word}( |$)", rf"\1{short}\2", regex=True)
    return key


@lru_cache(maxsize=1)
def city_table() -> pd.DataFrame:
    """Centroid of every US city in the ZIP list: the mean of its ZIP centroids (offline, built once).

    Indexed by ``(city_key, state)``; columns ``city`` (as the ZIP list writes it), ``latitude``,
    ``longitude`` and ``zips`` (how many ZIP centroids were averaged). Made from the same
    ``zipcodes`` data as the ZIP lookup, so there is no second file to keep in step.
    """
    table = zip_table()
    has = table.known & np.isfinite(table.latitude)
    frame = pd.DataFrame({
        "city": pd.array(table.city[has], dtype="str"),
        "state": pd.array(table.state[has], dtype="str"),
        "latitude": table.latitude[has],
        "longitude": table.longitude[has],
    })
    frame = frame[frame["city"].notna() & frame["state"].notna()]
    frame["key"] = city_key(frame["city"])
    grouped = frame.groupby(["key", "state"], sort=True)
    return pd.DataFrame({
        "city": grouped["city"].first(),
        "latitude": grouped["latitude"].mean(),
        "longitude": grouped["longitude"].mean(),
        "zips": grouped.size(),
    })


def city_centroids(city: pd.Series, state: pd.Series) -> pd.DataFrame:
    """Centroid of each (city, two-letter US state): columns latitude, longitude, city, zips.

    NaN (and ``zips`` 0) where the city is not in the ZIP list for that state.

    >>> found = city_centroids(pd.Series(["cambridge", "Nowhere"]), pd.Series(["MA", "MA"]))
    >>> found["city"].tolist(), bool(found["zips"].iloc[0] > 1), int(found["zips"].iloc[1])
    (['Cambridge', nan], True, 0)
    """
    table = city_table()
    keys = pd.MultiIndex.from_arrays([city_key(city).fillna(""), _as_text(state).str.upper().fillna("")])
    found = table.reindex(keys)
    found.index = city.index
    found["zips"] = found["zips"].fillna(0).astype(int)
    return found


_PLAIN_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"


def parse_numbers(text: pd.Series) -> np.ndarray:
    """Floats from number text (NaN where blank or not a plain number such as "1e5" or "-3.25").

    Plain numbers are found with one Arrow regex and converted by Arrow's cast, several times
    faster than ``pd.to_numeric`` on a million strings; the rest goes through ``pd.to_numeric``.
    """
    text = _as_text(text)
    values = np.full(len(text), np.nan)
    plain = _matches(text, _PLAIN_NUMBER)
    if plain.any():
        values[plain] = text[plain].astype("float64").to_numpy()
    rest = ~plain & (text.fillna("") != "").to_numpy()
    if rest.any():
        values[rest] = pd.to_numeric(text[rest], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    values[~np.isfinite(values)] = np.nan
    return values


def parse_coordinate(values: pd.Series) -> pd.Series:
    """Numbers from coordinate text ("42.36", "42,36", " -71.1 "); NaN where unreadable."""
    text = _as_text(values)
    numbers = parse_numbers(text)
    retry = np.isnan(numbers) & (text.fillna("") != "").to_numpy()
    if retry.any():
        fixed = text[retry].str.replace("°", "", regex=False).str.replace(",", ".", regex=False)
        numbers[retry] = pd.to_numeric(fixed.str.strip(), errors="coerce").to_numpy(float, na_value=np.nan)
    numbers[~np.isfinite(numbers)] = np.nan
    return pd.Series(numbers, index=text.index)


def valid_coordinates(lat: pd.Series, lon: pd.Series) -> pd.Series:
    """True where (lat, lon) is a usable WGS84 position.

    Latitude in [-90, 90], longitude in [-180, 180], both finite and not both exactly 0.

    >>> valid_coordinates(pd.Series([42.36, 95.0, 0.0]), pd.Series([-71.1, 10.0, 0.0])).tolist()
    [True, False, False]
    """
    lat_values = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lon_values = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(lat_values)
            & np.isfinite(lon_values)
            & (np.abs(lat_values) <= 90.0)
            & (np.abs(lon_values) <= 180.0)
            & ~((lat_values == 0.0) & (lon_values == 0.0))
        )
    index = lat.index if isinstance(lat, pd.Series) else None
    return pd.Series(ok, index=index, name="valid_coordinates")


@lru_cache(maxsize=1)
def zip_counties() -> np.ndarray:
    """County name of every ZIP (``"Middlesex County"``), indexed like :func:`zip_table`'s arrays (NaN
    where the ZIP is unknown or the list gives no county). Loaded once per process, from the same
    ``zipcodes`` data, for balancing by county (:mod:`territory.planning.units`).

    >>> str(zip_counties()[2139])
    'Middlesex County'
    """
    import zipcodes

    county = np.full(ZIP_SPACE, np.nan, dtype=object)
    for record in zipcodes.list_all():
        code = record.get("zip_code") or ""
        if len(code) == 5 and code.isdigit() and record.get("county"):
            county[int(code)] = record["county"]
    return county
