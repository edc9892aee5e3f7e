"""Every module of the package runs its doctests (the examples in docstrings are kept true)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import territory

# territory.__main__ runs the CLI when imported: it holds no examples
MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(territory.__path__, "territory.")
                 if name != "territory.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_the_module_s_examples_hold(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_the_engine_s_headline_example_is_among_them() -> None:
    assert doctest.testmod(importlib.import_module("territory.engine")).attempted >= 5
