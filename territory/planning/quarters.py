"""Calendar quarters as text (``2026Q3``) and as consecutive integers, for bookings, quotas and forecasts."""

from __future__ import annotations

import re

from territory.errors import DataError

_QUARTER_RE = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Qq]\s*([1-4])\s*$")
_QUARTER_RE_REVERSED = re.compile(r"^\s*[Qq]\s*([1-4])\s*[-_ /]?\s*(\d{4})\s*$")


def quarter_index(text: str) -> int:
    """Quarters as consecutive integers (year x 4 + quarter - 1), so 4 back is a year earlier.

    >>> quarter_index("2026Q3") - quarter_index("2025Q3")
    4
    """
    match = _QUARTER_RE.match(str(text))
    if match:
        return int(match.group(1)) * 4 + int(match.group(2)) - 1
    match = _QUARTER_RE_REVERSED.match(str(text))
    if match:
        return int(match.group(2)) * 4 + int(match.group(1)) - 1
    raise DataError(f"quarter {text!r} is not readable; write quarters like 2026Q3")


def quarter_label(index: int) -> str:
    """Inverse of :func:`quarter_index`.

    >>> quarter_label(quarter_index("2025Q4") + 1)
    '2026Q1'
    """
    return f"{index // 4}Q{index % 4 + 1}"


def next_quarter(text: str) -> str:
    """The calendar quarter after ``text``: ``next_quarter("2026Q4") == "2027Q1"``."""
    return quarter_label(quarter_index(text) + 1)
