"""Suite-wide fixtures: no test writes to the user's real scenario database; the sample, once per module."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_scenario_db(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point TERRITORY_STUDIO_DB at a fresh file unless the test sets its own."""
    path = tmp_path_factory.mktemp("scenario-db") / "scenarios.sqlite"
    monkeypatch.setenv("TERRITORY_STUDIO_DB", str(path))
    return path


@pytest.fixture(scope="module")
def sample():
    """The shipped sample (accounts, territories, bookings), loaded once per test module."""
    from territory.data.sample import load_sample

    return load_sample()
