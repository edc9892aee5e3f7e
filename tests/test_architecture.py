"""The layering rules of STYLE.md, checked on the source so they cannot quietly erode.

* The engine (``territory/`` outside ``territory/ui/``) never imports Streamlit.
* ``app.py`` is a router: Streamlit page set-up, session-state init and the sidebar status only.
* Pages are thin: no numerical or geometry libraries, so algorithms cannot hide in them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_FILES = sorted(p for p in (ROOT / "territory").rglob("*.py") if "ui" not in p.relative_to(ROOT).parts[1:2])
PAGE_FILES = sorted((ROOT / "pages").glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports (import x.y -> x; from x.y import z -> x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_files_are_found():
    names = {p.name for p in ENGINE_FILES}
    assert {"schema.py", "errors.py"} <= names
    assert not any("ui" in p.relative_to(ROOT / "territory").parts[:1] for p in ENGINE_FILES)


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_streamlit(path):
    assert "streamlit" not in imported_modules(path), f"{path.relative_to(ROOT)} imports streamlit"


def test_import_scanner_sees_streamlit_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\nfrom streamlit.testing import v1\n")
    assert imported_modules(sample) == {"os", "streamlit"}


ALLOWED_APP_CALLS = {
    "st.set_page_config",
    "st.Page",
    "st.navigation",
    "state.init_state",
    "widgets.sidebar_status",
    "widgets.app_style",
    "pg.run",
}


def _call_name(node: ast.Call) -> str:
    func = node.func
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def test_app_is_a_router_only():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    calls = {_call_name(n) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls <= ALLOWED_APP_CALLS, f"app.py calls more than routing: {sorted(calls - ALLOWED_APP_CALLS)}"
    assert {"st.navigation", "pg.run", "st.set_page_config", "state.init_state"} <= calls
    assert not any(isinstance(n, (ast.FunctionDef, ast.For, ast.While, ast.ClassDef)) for n in ast.walk(tree))
    assert imported_modules(ROOT / "app.py") <= {"streamlit", "territory"}


def test_app_routes_every_page_file():
    text = (ROOT / "app.py").read_text(encoding="utf-8")
    for page in PAGE_FILES:
        assert f'"pages/{page.name}"' in text, f"pages/{page.name} is not in st.navigation"


HEAVY = {"numpy", "scipy", "sklearn", "shapely", "h3", "pydeck", "plotly", "highspy", "k_means_constrained"}


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_pages_hold_no_algorithms(path):
    heavy = imported_modules(path) & HEAVY
    assert not heavy, f"pages/{path.name} imports {sorted(heavy)}: move that code to territory/ or territory/ui/"


def test_the_code_passes_the_linter():
    """`ruff check .` with the rules in pyproject.toml: the suite fails on what CI would flag."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
