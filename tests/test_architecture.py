"""The layering rules of STYLE.md, checked on the source so they cannot quietly erode.

* The engine (``territory/`` outside ``territory/ui/``) never imports Streamlit.
* ``app.py`` is a router: Streamlit page set-up, session-state init and the sidebar status only.
* Pages are thin: no numerical or geometry libraries, so algorithms cannot hide in them.
* The package is layered (``LAYERS``): a module imports only its own layer and the ones below, so
  nothing outside ``territory/ui/`` imports ``territory.ui`` and the subpackages have no cycles.
  Imports inside functions count: a lazy import is still a dependency.
* No module imports itself back through others (no import cycles, functions included).
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


LAYERS: tuple[tuple[str, ...], ...] = (
    ("territory", "territory.errors", "territory.geo"),  # shared vocabulary: exceptions, sphere geometry
    ("territory.data",),  # canonical columns, reading files, geocoding, workload rule, sample, measures
    ("territory.engine", "territory.balance"),  # the balancing pipeline and its public API
    ("territory.planning",),  # metrics, scenarios, quarterly review, rep events, industry teams
    ("territory.reporting",),  # assignment export, HTML report, colours, text escaping
    ("territory.ui", "territory.cli", "territory.__main__"),  # the two front ends, side by side
)
"""Bottom to top. A module may import its own layer and those below; ``territory.ui`` and the CLI
share the top layer but not each other."""


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def territory_imports(path: Path, name: str) -> set[str]:
    """Every ``territory`` module ``path`` imports, inside functions too (relative imports resolved;
    ``from territory.x import y`` counts as ``territory.x.y``, which may be a module or a name)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in found if n == "territory" or n.startswith("territory.")}


def _group(module: str) -> tuple[int, str]:
    """(layer index, the LAYERS entry the module falls under): the longest matching prefix."""
    matches = [(len(entry), rank, entry) for rank, layer in enumerate(LAYERS) for entry in layer
               if module == entry or module.startswith(entry + ".")]
    if not matches:
        raise AssertionError(f"{module} is in no layer of LAYERS")
    _, rank, entry = max(matches)
    return rank, entry


def layer_violations(root: Path) -> list[str]:
    """'a imports b' for every import of a higher layer, or between the UI and the CLI (the top layer)."""
    found = []
    for path in sorted((root / "territory").rglob("*.py")):
        name = module_name(path, root)
        rank, entry = _group(name)
        for imported in sorted(territory_imports(path, name)):
            other_rank, other_entry = _group(imported)
            front_ends = (entry == "territory.ui", other_entry == "territory.ui")
            if other_rank > rank or (other_rank == rank == len(LAYERS) - 1 and front_ends[0] != front_ends[1]):
                found.append(f"{name} imports {imported}")
    return found


def import_cycles(root: Path) -> list[list[str]]:
    """Module-level import cycles of the package (strongly connected modules), imports in functions too."""
    paths = {module_name(p, root): p for p in (root / "territory").rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        deps = set()
        for imported in territory_imports(path, name):
            while imported not in paths:  # territory.x.name -> territory.x
                imported = imported.rpartition(".")[0]
            deps.add(imported)
        graph[name] = deps - {name}
    reach = {name: set() for name in graph}
    for name in graph:
        todo = list(graph[name])
        while todo:
            nxt = todo.pop()
            if nxt not in reach[name]:
                reach[name].add(nxt)
                todo.extend(graph[nxt])
    cycles = {tuple(sorted({name} | {other for other in reach[name] if name in reach[other]}))
              for name in graph if name in reach[name]}
    return [list(c) for c in sorted(cycles)]


def test_the_top_level_holds_only_the_entry_points_and_the_shared_base():
    top = {p.name for p in (ROOT / "territory").glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "cli.py", "errors.py", "balance.py", "geo.py"}, sorted(top)
    packages = {p.name for p in (ROOT / "territory").iterdir() if (p / "__init__.py").exists()}
    assert packages == {"data", "engine", "planning", "reporting", "ui"}, sorted(packages)


def test_only_the_ui_imports_the_ui():
    outside = [p for p in (ROOT / "territory").rglob("*.py") if "ui" not in p.relative_to(ROOT / "territory").parts[:1]]
    offenders = [f"{module_name(p, ROOT)} imports {m}" for p in outside
                 for m in sorted(territory_imports(p, module_name(p, ROOT)))
                 if m == "territory.ui" or m.startswith("territory.ui.")]
    assert not offenders, offenders


def test_each_layer_imports_only_the_layers_below():
    assert not layer_violations(ROOT), "\n".join(layer_violations(ROOT))


def test_the_package_has_no_import_cycles():
    assert not import_cycles(ROOT)


def _plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"territory/__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_layer_check_sees_an_upward_import_inside_a_function(tmp_path):
    root = _plant(tmp_path, {
        "territory/data/__init__.py": "",
        "territory/data/io.py": "def f():\n    from territory.planning import metrics\n",
        "territory/planning/__init__.py": "",
        "territory/planning/metrics.py": "from territory.data import io\n",
        "territory/reporting/__init__.py": "",
        "territory/reporting/report.py": "from ..ui import colors\n",
        "territory/ui/__init__.py": "",
        "territory/ui/colors.py": "import territory.cli\n",
        "territory/cli.py": "",
    })
    assert layer_violations(root) == ["territory.data.io imports territory.planning.metrics",
                                      "territory.reporting.report imports territory.ui.colors",
                                      "territory.ui.colors imports territory.cli"]
    assert import_cycles(root) == [["territory.data.io", "territory.planning.metrics"]]


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
