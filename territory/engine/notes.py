"""Structured messages: every sentence the engine writes comes with a code and its numbers, so
pages, the CLI and other modules act on the code and the data, never on the wording."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Note:
    """One message of a result: ``code`` (see :mod:`territory.engine.codes`), the sentence shown
    to people, whether it is a ``warning`` (something asked for could not be met) and the numbers."""

    code: str
    text: str
    warning: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text
