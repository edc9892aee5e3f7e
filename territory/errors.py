"""Exception types the engine raises on purpose.

Pages and the CLI catch exactly these and show their message; anything else is a bug and is
allowed to fail loudly (so tests see it).
"""

from __future__ import annotations


class TerritoryError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class DataError(TerritoryError):
    """An input file or table cannot be read at all (not a per-row problem: those are reported)."""


class ParameterError(TerritoryError):
    """An engine or CLI parameter is out of range or inconsistent with the data."""


class InfeasibleError(TerritoryError):
    """The constraints cannot all hold; the message carries the numbers that prove it."""
