"""The documented workload rule, pinned on hand-computed accounts."""

import pandas as pd
import pytest

from territory.data import workload


def test_tiers_follow_the_documented_thresholds():
    potential = pd.Series([2_000_000, 1_000_000, 999_999, 250_000, 50_000, 49_999, None])
    assert workload.account_tier(potential).tolist() == ["A", "A", "B", "B", "C", "D", "D"]


def test_metro_is_decided_by_zip_density_not_by_the_dataset():
    # Manhattan and downtown Los Angeles are dense ZIP areas; central Nevada and the ocean are not.
    lat = pd.Series([40.75, 34.05, 39.5, 30.0, None])
    lon = pd.Series([-73.99, -118.24, -116.5, -140.0, -73.99])
    assert workload.is_metro(lat, lon).tolist() == [True, True, False, False, False]


def test_workload_is_visits_times_meeting_plus_travel():
    potential = pd.Series([2_000_000.0, 100_000.0, 10_000.0])
    industry = pd.Series(["Healthcare", "Retail", "Unknown industry"])
    lat = pd.Series([40.75, 39.5, 39.5])  # Manhattan (metro), Nevada (rural) twice
    lon = pd.Series([-73.99, -116.5, -116.5])
    hours = workload.derive_workload_hours(potential, industry, lat, lon)
    expected = [
        12 * (3.0 + workload.METRO_TRAVEL_HOURS),  # tier A, Healthcare, metro
        3 * (1.5 + workload.RURAL_TRAVEL_HOURS),  # tier C, Retail, rural
        1 * (workload.DEFAULT_MEETING_HOURS + workload.RURAL_TRAVEL_HOURS),  # tier D, default meeting
    ]
    assert hours.tolist() == pytest.approx(expected)


def test_potential_is_revenue_times_industry_multiplier_and_never_negative():
    revenue = pd.Series([100_000.0, -5.0, None, 10.0])
    industry = pd.Series(["Technology", "Retail", "Energy", "Nope"])
    potential = workload.derive_potential(revenue, industry)
    assert potential.tolist() == pytest.approx([350_000.0, 0.0, 0.0, 10.0 * workload.DEFAULT_POTENTIAL_MULTIPLIER])
