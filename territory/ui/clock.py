"""Times as the user reads them: in the browser's time zone (``st.context.timezone``), 24-hour.

The server may run in UTC on another continent; a user who made an alignment at 09:14 should read
09:14, not 14:14 UTC. Where the browser does not say its zone (AppTest, old browsers) the times stay
in UTC and say so.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st


def browser_zone() -> ZoneInfo | None:
    """The browser's IANA time zone, or None when it is not known."""
    try:
        name = st.context.timezone
    except (AttributeError, RuntimeError):  # pragma: no cover - no script context
        return None
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_suffix() -> str:
    """"" in the browser's zone, " UTC" when the times shown are UTC (for column headers)."""
    return "" if browser_zone() is not None else " (UTC)"


def clock_now() -> str:
    """The time now as "14:02" in the browser's zone ("14:02 UTC" when the zone is unknown)."""
    zone = browser_zone()
    now = datetime.now(timezone.utc)
    return now.astimezone(zone).strftime("%H:%M") if zone is not None else now.strftime("%H:%M UTC")


def local_times(values: pd.Series) -> pd.Series:
    """UTC timestamps (text or datetimes) as times in the browser's zone, for a DatetimeColumn."""
    stamps = pd.to_datetime(values, utc=True, errors="coerce")
    zone = browser_zone()
    return stamps.dt.tz_convert(zone) if zone is not None else stamps
