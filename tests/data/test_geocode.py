"""Offline geocoding: ZIP normalisation, centroid lookup, coordinate validity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territory.data.geocode import normalize_us_zip, parse_coordinate, valid_coordinates, zip_centroids

CAMBRIDGE_MA = (42.3647, -71.1042)  # ZIP 02139 in the zipcodes package


@pytest.mark.parametrize(
    ("raw", "expected_zip", "expected_restored"),
    [
        ("02139", "02139", False),
        (" 02139 ", "02139", False),
        ("02139-4307", "02139", False),  # ZIP+4
        ("02139 4307", "02139", False),
        ("021394307", "02139", False),  # 9 digits
        ("2139", "02139", True),  # Excel dropped the leading zero
        ("2139.0", "02139", True),  # ... and wrote it as a float
        ("2139-4307", "02139", True),
        ("21394307", "02139", True),  # ZIP+4 without its leading zero
        ("501", "00501", True),  # 3 digits: restored because 00501 exists (Holtsville NY)
        ("'02139", "02139", False),  # Excel's text apostrophe
        ("1234x", None, False),
        ("123456", None, False),
        ("12", None, False),
        ("", None, False),
        ("SW1A 1AA", None, False),
        ("\u0660\u0662\u0661\u0663\u0669", None, False),  # Arabic-Indic digits are not a US ZIP
    ],
)
def test_normalize_us_zip(raw, expected_zip, expected_restored):
    zip5, restored = normalize_us_zip(pd.Series([raw]))
    if expected_zip is None:
        assert pd.isna(zip5.iloc[0])
    else:
        assert zip5.iloc[0] == expected_zip
    assert bool(restored.iloc[0]) is expected_restored


def test_three_digit_zip_is_restored_only_when_it_exists():
    # 00999 is not a ZIP, so "999" stays unreadable rather than becoming a made-up ZIP.
    zip5, restored = normalize_us_zip(pd.Series(["999", "501"]))
    assert pd.isna(zip5.iloc[0]) and not restored.iloc[0]
    assert zip5.iloc[1] == "00501" and restored.iloc[1]


def test_normalize_us_zip_accepts_numbers_and_missing_values_and_keeps_the_index():
    values = pd.Series([2139, 90210.0, None, np.nan], index=[10, 11, 12, 13], dtype=object)
    zip5, restored = normalize_us_zip(values)
    assert list(zip5.index) == [10, 11, 12, 13]
    assert zip5.iloc[:2].tolist() == ["02139", "90210"]
    assert zip5.iloc[2:].isna().all()
    assert restored.tolist() == [True, False, False, False]


def test_zip_centroids_looks_up_location_city_and_state():
    result = zip_centroids(pd.Series(["02139", "90210"], index=["a", "b"]))
    assert list(result.index) == ["a", "b"]
    assert result.loc["a", "latitude"] == pytest.approx(CAMBRIDGE_MA[0])
    assert result.loc["a", "longitude"] == pytest.approx(CAMBRIDGE_MA[1])
    assert (result.loc["a", "city"], result.loc["a", "state"]) == ("Cambridge", "MA")
    assert (result.loc["b", "city"], result.loc["b", "state"]) == ("Beverly Hills", "CA")


def test_zip_centroids_unknown_missing_and_military_zips():
    result = zip_centroids(pd.Series(["00000", None, "09001", "abcde"]))
    assert result["latitude"].iloc[[0, 1, 3]].isna().all()
    assert result["city"].iloc[[0, 1, 3]].isna().all()
    # APO ZIPs exist (state AE) but have no location: no coordinates rather than 0,0.
    assert np.isnan(result["latitude"].iloc[2])
    assert result["state"].iloc[2] == "AE"


def test_zip_centroids_is_vectorised_over_many_rows():
    zips = pd.Series(["02139", "90210", "10001"] * 10_000)
    result = zip_centroids(zips)
    assert len(result) == 30_000
    assert result["latitude"].notna().all()
    assert result["state"].iloc[-1] == "NY"


def test_valid_coordinates():
    lat = pd.Series([42.36, 95.0, -90.0, 0.0, np.nan, 10.0, 0.0])
    lon = pd.Series([-71.1, 10.0, 180.0, 0.0, 10.0, -180.5, 5.0])
    assert valid_coordinates(lat, lon).tolist() == [True, False, True, False, False, False, True]


def test_valid_coordinates_accepts_text():
    assert valid_coordinates(pd.Series(["42.36", "north"]), pd.Series(["-71.1", "1"])).tolist() == [True, False]


def test_parse_coordinate_reads_decimal_commas_and_degree_signs():
    parsed = parse_coordinate(pd.Series(["42.36", "42,36", " -71.1° ", "", "abc", "inf"]))
    assert parsed.iloc[:3].tolist() == [42.36, 42.36, -71.1]
    assert parsed.iloc[3:].isna().all()


def test_docstring_examples_run():
    import doctest

    import territory.data.geocode

    assert doctest.testmod(territory.data.geocode).failed == 0
