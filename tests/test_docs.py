"""Docs that cannot drift: every CLI option and every page is documented in the README."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from territory.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return found


COMMANDS = _subparsers(build_parser())
OPTIONS = sorted(
    {(name, option) for name, sub in COMMANDS.items() for action in sub._actions
     for option in action.option_strings if option.startswith("--") and option != "--help"}
)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"python -m territory {command}" in README


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_every_cli_option_is_in_the_readme(command: str, option: str) -> None:
    assert re.search(re.escape(option) + r"\b", README), f"{command} {option} is not documented"


@pytest.mark.parametrize("page", sorted(p.stem for p in (REPO / "pages").glob("*.py")))
def test_every_page_has_a_readme_section(page: str) -> None:
    titles = {"overview": "### Overview", "data": "### Data", "territories": "### Territories",
              "rebalance": "### Rebalance", "scenarios": "### Scenarios", "review": "### Quarterly review"}
    assert titles[page] in README


def test_quick_start_has_exactly_the_two_commands_ci_runs() -> None:
    quick = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make run", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
