"""The session-state contract (``territory/ui/keys.py``): every key the app uses is named there.

Parses ``territory/ui/`` and ``pages/`` and fails on any string written out as a session key: a
``key=`` argument, ``st.session_state[...]``, ``st.session_state.get/setdefault/pop(...)`` or
``... in st.session_state`` or a parameter ``key``'s default whose key is a string literal or an f-string.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from territory.ui import keys
from territory.ui.rebalance import SETTING_KEYS, RebalanceSettings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "territory" / "ui").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"])
SESSION_METHODS = {"get", "setdefault", "pop", "__getitem__", "__setitem__", "__delitem__", "__contains__"}


def _is_session_state(node: ast.AST) -> bool:
    return ast.unparse(node).endswith("session_state")


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def literal_keys(source: str) -> list[tuple[int, str]]:
    """(line, key as written) of every session key spelled as a literal in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "key":
            candidates = [node.value]
        elif isinstance(node, ast.Subscript) and _is_session_state(node.value):
            candidates = [node.slice]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in SESSION_METHODS and _is_session_state(node.func.value)):
            candidates = node.args[:1]
        elif isinstance(node, ast.Compare) and any(_is_session_state(c) for c in node.comparators):
            candidates = [node.left]
        elif isinstance(node, ast.arguments):  # def f(..., key="x"): a default key
            named = [*node.posonlyargs, *node.args]
            defaults = dict(zip([a.arg for a in named][len(named) - len(node.defaults):], node.defaults))
            defaults |= {a.arg: d for a, d in zip(node.kwonlyargs, node.kw_defaults) if d is not None}
            candidates = [defaults["key"]] if "key" in defaults else []
        else:
            continue
        found += [(c.lineno, ast.unparse(c)) for c in candidates if _is_literal(c)]
    return found


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name != "keys.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_session_key_comes_from_keys_py(path: Path) -> None:
    assert literal_keys(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("planted", [
    'st.slider("Stability", 0.0, 1.0, key="rb_stability")',
    'st.session_state["ts:dataset"] = None',
    'value = st.session_state.get("review_focus")',
    'if "ts_dataset" in st.session_state: pass',
    'st.selectbox("Map", [], key=f"scn_map_{name}")',
    'def notes_ui(key: str = "notes"): pass',
])
def test_a_planted_literal_key_is_found(planted: str) -> None:
    source = (ROOT / "pages" / "rebalance.py").read_text(encoding="utf-8") + "\n" + planted + "\n"
    assert [line for line, _ in literal_keys(source)] == [source.count("\n")]  # the planted line, nothing else


def test_every_key_has_the_one_prefix_and_none_is_named_twice() -> None:
    values = [v for name, v in vars(keys).items() if name.isupper() and isinstance(v, str) and name != "PREFIX"]
    values += list(SETTING_KEYS.values())
    assert all(v.startswith(keys.PREFIX) for v in values)
    assert len(values) == len(set(values))


def test_the_rebalance_settings_keys_are_the_dataclass_fields() -> None:
    assert list(SETTING_KEYS) == [f.name for f in dataclasses.fields(RebalanceSettings)]
    assert SETTING_KEYS["stability"] == "ts_rebalance_stability"
