"""``st.cache_data`` wrappers around the engine, keyed cheaply.

Big frames are not hashed by Streamlit: each wrapper takes the dataset ``fingerprint``
(``state.get_dataset().fingerprint``) plus the frames, and builds its cache key from the
fingerprint, a hash of the labels, and a hash of the accounts' ``territory_id`` and ``locked``
columns (the only columns pages change in place: manual moves, locks). If you change any other
account column, pass a different fingerprint (``frame_fingerprint(accounts)``).

Everything a cached function depends on is an argument; nothing reads a global. Engine errors
(``DataError``, ``ParameterError``, ``InfeasibleError``) are not cached and propagate to the page.

Functions
---------
load_sample()                                   -> territory.data.sample.Dataset
read_upload(data, filename)                     -> raw DataFrame (all str) of an uploaded file
load_upload(data, filename, mapping)            -> territory.data.io.LoadResult
load_territories_upload(data, filename)         -> territories DataFrame
load_bookings_upload(data, filename)            -> bookings DataFrame
load_quotas_upload(data, filename, territories) -> territory.planning.quotas.QuotaLoad
load_opportunities_upload(data, filename)       -> territory.planning.opportunities.OpportunityLoad
territory_table(fingerprint, accounts, labels, territories=None, balance_on="workload")
scorecard(fingerprint, accounts, labels, previous=None, territories=None, balance_on="workload")
cached_balance(fingerprint, accounts, params, territories=None) -> BalanceResult
territory_shapes(key, accounts, labels[, units]) -> territory.planning.geography.TerritoryShapes
has_territory_shapes(key, accounts, labels) -> bool (the geography files describe the alignment)
alignment_colors(fingerprint, accounts, labels, territories=None) -> {territory_id: colour}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from territory.balance import balance as run_balance
from territory.data import sample, schema
from territory.data.io import load_accounts, load_bookings, load_territories, read_table
from territory.planning import geography, metrics, whitespace
from territory.planning.opportunities import load_opportunities
from territory.planning.quotas import load_quotas
from territory.reporting import boundaries, colors


def frame_fingerprint(*objects: pd.DataFrame | pd.Series | None) -> str:
    """Content hash of frames/series (values, index, column names): a cheap, stable cache key."""
    digest = hashlib.sha1()
    for obj in objects:
        if obj is None:
            digest.update(b"<none>")
            continue
        if isinstance(obj, pd.DataFrame):
            digest.update(repr(list(obj.columns)).encode())
        digest.update(str(len(obj)).encode())
        digest.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def labels_fingerprint(labels: pd.Series | None) -> str:
    """Cache key of an alignment (territory_id per account)."""
    if labels is None:
        return "none"
    return frame_fingerprint(labels.astype("string"))


def _accounts_key(fingerprint: str, accounts: pd.DataFrame) -> str:
    """Dataset fingerprint + the columns pages edit in place (territory_id, locked) + the row count."""
    parts: list[pd.Series | None] = []
    for col in (schema.TERRITORY_ID, schema.LOCKED):
        parts.append(accounts[col].astype("string") if col in accounts else None)
    return f"{fingerprint}:{len(accounts)}:{frame_fingerprint(*parts)}"


def _measure_key(balance_on: str | Mapping[str, float]) -> Any:
    if isinstance(balance_on, Mapping):
        return tuple(sorted((str(k), float(v)) for k, v in balance_on.items()))
    return balance_on


def _measure_arg(key: Any) -> str | dict[str, float]:
    return dict(key) if isinstance(key, tuple) else key


# --- loading --------------------------------------------------------------------------------------


@st.cache_data(show_spinner="Loading the sample data...")
def load_sample():
    """The built-in sample (``territory.data.sample.load_sample()``), read once per process."""
    return sample.load_sample()


@st.cache_data(show_spinner=False)
def us_states_geojson() -> dict:
    """State outlines for maps (``territory.data.sample.us_states_geojson()``), read once per process."""
    return sample.us_states_geojson()


@st.cache_data(show_spinner="Reading the file...", max_entries=8)
def read_upload(data: bytes, filename: str) -> pd.DataFrame:
    """The raw table of an uploaded file, every cell a string (for the column-mapping step)."""
    return read_table(data, filename=filename)


@st.cache_data(show_spinner="Loading and validating accounts...", max_entries=8)
def load_upload(data: bytes, filename: str, mapping: tuple[tuple[str, str], ...] | None = None):
    """``territory.data.io.load_accounts`` on an uploaded file; ``mapping`` as sorted (canonical, source) pairs."""
    return load_accounts(data, mapping=dict(mapping) if mapping else None, filename=filename)


@st.cache_data(show_spinner=False, max_entries=8)
def load_territories_upload(data: bytes, filename: str) -> pd.DataFrame:
    """``territory.data.io.load_territories`` on an uploaded territories/reps file."""
    return load_territories(data, filename=filename)


@st.cache_data(show_spinner=False, max_entries=8)
def load_bookings_upload(data: bytes, filename: str) -> pd.DataFrame:
    """``territory.data.io.load_bookings`` on an uploaded bookings file."""
    return load_bookings(data, filename=filename)


@st.cache_data(show_spinner=False, max_entries=8)
def _quotas_upload(data: bytes, filename: str, territories_key: str, _territories: pd.DataFrame | None):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return load_quotas(data, filename=filename, territories=_territories)


def load_quotas_upload(data: bytes, filename: str, territories: pd.DataFrame | None):
    """``territory.planning.quotas.load_quotas`` on an uploaded quota file (reps resolved by ``territories``)."""
    return _quotas_upload(data, filename, frame_fingerprint(territories), territories)


@st.cache_data(show_spinner=False, max_entries=8)
def load_opportunities_upload(data: bytes, filename: str):
    """``territory.planning.opportunities.load_opportunities`` on an uploaded opportunity export."""
    return load_opportunities(data, filename=filename)


# --- metrics --------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _territory_table(
    accounts_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    labels_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    territories_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    measure: Any,
    _accounts: pd.DataFrame,
    _labels: pd.Series,
    _territories: pd.DataFrame | None,
) -> pd.DataFrame:
    return metrics.territory_table(_accounts, _labels, territories=_territories, balance_on=_measure_arg(measure))


def territory_table(
    fingerprint: str,
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None = None,
    balance_on: str | Mapping[str, float] = "workload",
) -> pd.DataFrame:
    """Cached ``territory.planning.metrics.territory_table`` (one row per territory)."""
    return _territory_table(
        _accounts_key(fingerprint, accounts),
        labels_fingerprint(labels),
        frame_fingerprint(territories),
        _measure_key(balance_on),
        accounts,
        labels,
        territories,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _scorecard(
    accounts_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    labels_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    previous_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    territories_key: str,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    measure: Any,
    _accounts: pd.DataFrame,
    _labels: pd.Series,
    _previous: pd.Series | None,
    _territories: pd.DataFrame | None,
) -> dict:
    return metrics.scorecard(
        _accounts,
        _labels,
        previous=_previous,
        territories=_territories,
        balance_on=_measure_arg(measure),
    )


def scorecard(
    fingerprint: str,
    accounts: pd.DataFrame,
    labels: pd.Series,
    previous: pd.Series | None = None,
    territories: pd.DataFrame | None = None,
    balance_on: str | Mapping[str, float] = "workload",
) -> dict:
    """Cached ``territory.planning.metrics.scorecard`` (balance, travel and disruption figures)."""
    return _scorecard(
        _accounts_key(fingerprint, accounts),
        labels_fingerprint(labels),
        labels_fingerprint(previous),
        frame_fingerprint(territories),
        _measure_key(balance_on),
        accounts,
        labels,
        previous,
        territories,
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _industry_matrix(accounts_key: str, labels_key: str, value: str, _accounts, _labels) -> pd.DataFrame:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return metrics.industry_matrix(_accounts, _labels, value=value)


def industry_matrix(fingerprint: str, accounts: pd.DataFrame, labels: pd.Series, value: str = "revenue"):
    """Cached ``territory.planning.metrics.industry_matrix`` (industry x territory sums of ``value``)."""
    return _industry_matrix(
        _accounts_key(fingerprint, accounts), labels_fingerprint(labels), value, accounts, labels
    )


# --- engine ---------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=128)
def _balance(accounts_key: str, territories_key: str, params: Any, _accounts, _territories):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return run_balance(_accounts, params, territories=_territories)


def cached_balance(fingerprint: str, accounts: pd.DataFrame, params, territories: pd.DataFrame | None = None):
    """Cached ``territory.balance.balance(accounts, params, territories)`` -> ``BalanceResult``.

    ``params`` is a (frozen, hashable) ``BalanceParams``; returning to a setting already computed is
    instant. Raises the engine's ``ParameterError``/``InfeasibleError`` uncached.
    """
    return _balance(
        _accounts_key(fingerprint, accounts), frame_fingerprint(territories), params, accounts, territories
    )


@st.cache_data(show_spinner="Drawing the territory boundaries...", max_entries=16)
def territory_shapes(key: str, _accounts: pd.DataFrame, _labels: pd.Series,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
                     units: str = "account") -> geography.TerritoryShapes:
    """:func:`territory.planning.geography.territory_shapes`, cached under ``key`` (it must name the
    accounts' coordinates and the alignment, as the maps' cache keys do) and ``units``."""
    return geography.territory_shapes(_accounts, _labels, units)


@st.cache_data(show_spinner=False, max_entries=32)
def has_territory_shapes(key: str, _accounts: pd.DataFrame, _labels: pd.Series) -> bool:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    """:func:`territory.reporting.boundaries.has_territory_shapes`, cached under ``key`` (it must name the
    accounts' coordinates and the alignment, as :func:`territory_shapes`'s key does)."""
    return boundaries.has_territory_shapes(_accounts, _labels)


@st.cache_data(show_spinner=False, max_entries=32)
def _alignment_colors(key: str, territory_ids: tuple[str, ...], _accounts: pd.DataFrame, _labels: pd.Series,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
                      _territories: pd.DataFrame | None) -> dict[str, str]:
    return colors.alignment_colors(_accounts, _labels, _territories)


def alignment_colors(fingerprint: str, accounts: pd.DataFrame, labels: pd.Series,
                     territories: pd.DataFrame | None = None) -> dict[str, str]:
    """:func:`territory.reporting.colors.alignment_colors`, cached per dataset (``fingerprint``: the
    accounts' coordinates), alignment and territory IDs: every page, map and chart of one alignment
    shows the same colours."""
    ids = tuple(colors.all_territory_ids(territories, labels))
    return dict(_alignment_colors(f"{fingerprint}|{labels_fingerprint(labels)}", ids, accounts, labels, territories))


@st.cache_data(show_spinner=False, max_entries=8)
def hire_suggestion(key: str, _accounts: pd.DataFrame, _labels: pd.Series,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
                    _bookings: pd.DataFrame | None) -> whitespace.HomeSuggestion | None:
    """:func:`territory.planning.whitespace.suggested_home_base` of the alignment, cached under ``key``
    (it must name the accounts, the alignment and the bookings)."""
    return whitespace.suggested_home_base(_accounts, whitespace.white_space(_accounts, _labels, _bookings))
