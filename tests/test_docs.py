"""Docs that cannot drift: every CLI option and page is documented, every link resolves, and the
README stays a front door."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from territory.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOC_FILES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
CLI_DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
ALL_DOCS = "\n".join(path.read_text(encoding="utf-8") for path in DOC_FILES)


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
def test_every_command_is_documented(command: str) -> None:
    assert f"python -m territory {command}" in ALL_DOCS


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_every_cli_option_is_in_the_cli_guide(command: str, option: str) -> None:
    if command == "check":  # check is documented with the importer it runs
        text = (REPO / "docs" / "importing.md").read_text(encoding="utf-8")
    else:
        text = CLI_DOC
    assert re.search(re.escape(option) + r"\b", text), f"{command} {option} is not documented"


@pytest.mark.parametrize("page", sorted(p.stem for p in (REPO / "pages").glob("*.py")))
def test_every_page_has_a_section_in_the_tour_and_the_guide(page: str) -> None:
    titles = {"overview": "Overview", "data": "Data", "territories": "Territories",
              "rebalance": "Rebalance", "scenarios": "Scenarios", "review": "Quarterly review",
              "routing": "Routing", "rep": "Rep page"}
    assert f"### {titles[page]}" in README
    assert f"## {titles[page]}" in (REPO / "docs" / "app.md").read_text(encoding="utf-8")


def test_quick_start_has_exactly_the_two_commands_ci_runs() -> None:
    quick = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make run", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_is_a_front_door() -> None:
    assert len(README.splitlines()) <= 250
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in README, f"the README does not link docs/{page.name}"


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1 for repeats."""
    seen: dict[str, int] = {}
    found = set()
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        match = None if fence else re.match(r"^#{1,6} (.+)$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return found


LINKS = [(path, target) for path in DOC_FILES
         for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"),
                                                             flags=re.S))
         if not re.match(r"[a-z]+:", target)]


def test_the_readme_says_what_is_and_is_not_protected() -> None:
    """#18: local use, the outbound-request and Host checks, no sign-in yet, and where serving a
    team is explained."""
    security = README.split("## Security", 1)[1].split("\n## ", 1)[0]
    for words in ("localhost", "Host header", "no sign-in", "docs/app.md#serving-a-team"):
        assert words in security, f"the README's security section does not say {words!r}"


@pytest.mark.parametrize(("path", "target"), LINKS, ids=[f"{p.name}->{t}" for p, t in LINKS])
def test_every_relative_link_resolves(path: Path, target: str) -> None:
    file_part, _, anchor = target.partition("#")
    linked = (path.parent / file_part).resolve() if file_part else path
    assert linked.exists(), f"{path.name} links to a missing {file_part}"
    if anchor and linked.suffix == ".md":
        assert anchor in _anchors(linked.read_text(encoding="utf-8")), f"{path.name}: no #{anchor} in {linked.name}"


EXAMPLES = [(path, block) for path in DOC_FILES
            for block in re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)]


@pytest.mark.parametrize(("path", "code"), EXAMPLES, ids=[f"{p.name}-{i}" for i, (p, _) in enumerate(EXAMPLES)])
def test_every_python_example_runs(path: Path, code: str) -> None:
    """Every ```python block of the docs runs as written, with the sample's ``accounts`` and
    ``territories`` at hand (the examples that use them stand for your own data)."""
    from territory.data.sample import load_sample

    sample = load_sample()
    exec(compile(code, f"{path.name} example", "exec"),
         {"accounts": sample.accounts, "territories": sample.territories})
