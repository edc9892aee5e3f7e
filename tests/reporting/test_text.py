"""md_escape and chart_escape (territory/reporting/text.py) on their own (issue #18, item 1).

Hostile text comes out inert, checked against the syntax and the post-parse transforms of
Streamlit's Markdown, and shows exactly as typed; ordinary text comes out unchanged. The hostile
strings (tests/factories.py) are shared with tests/app/test_escaping.py, which runs the pages on them.
"""

from __future__ import annotations

import re

import pytest

from territory.reporting.text import WORD_JOINER, chart_escape, md_escape
from tests.factories import ANCHOR, HOSTILE, IMAGE

MORE_HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<https://evil.example/auto>",
    "https://evil.example/bare and www.evil.example and bob@evil.example",
    "**bold** _it_ `code` ~~gone~~ ~one~",
    ":smile: :+1: :material/home: :streamlit: :red-background[x] ::leaf[x]",
    "$$x$$ and $5 to $10",
    "# heading",
    "- item",
    "+ item",
    "1. first",
    "7) seventh",
    "> quote",
    "=== setext",
    "| a | b |",
    "&lt;b&gt; &#60;i&#62; &amp;",
    "line one\n\n    indented code\n- list\n# heading",
    "A -> B -- C <- D <-> E >= F <= G ~= H",
    "\\[x](https://evil.example/escaped) and a\\",
    "[^1] and [ref]: https://evil.example",
]
ORDINARY = [
    "Built-in sample (5,000 accounts)",
    "crm.csv",
    "Rebalanced 14:02",
    "Current alignment",
    "T01",
    "Laura Mitchell",
    "Acme & Sons",
    "Scenario: Plan B",
    "North-East",
    "Q3 2026 - 22 reps, workload +/-5%",
    "O'Brien Ltd.",
    "St. Louis, MO",
    "T1 was 50% over target; 5 km closer to T2's centre",
    "02134",
]


# --- what Streamlit's Markdown would do with a string ---------------------------------------------

ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _split_escapes(body: str) -> list[tuple[str, bool]]:
    """(character, escaped) pairs: a backslash before ASCII punctuation escapes it (CommonMark)."""
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in ASCII_PUNCTUATION:
            out.append((body[i + 1], True))
            i += 2
        else:
            out.append((body[i], False))
            i += 1
    return out


def shown_text(body: str) -> str:
    """The text a reader sees for a Markdown body with no construct in it."""
    return "".join(ch for ch, _ in _split_escapes(body)).replace(WORD_JOINER, "")


# Streamlit 1.67's post-parse transforms (frontend StreamlitMarkdown.tsx and its plugins: remark-emoji,
# the :material/ and :streamlit: plugins, mdast-util-gfm-autolink-literal, typographical symbols).
EMOJI = re.compile(r":[\w+-][\w_+-]*:")
AUTOLINK = re.compile(r"(?i)(https?://|www(?=\.))|[-.\w+]+@[-\w]+(?:\.[-\w]+)+")
TYPOGRAPHY = re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)")


def markdown_constructs(body: str) -> list[str]:
    """What in ``body`` Streamlit would render as something other than its characters."""
    found = []
    chars = _split_escapes(body)
    raw = [(i, ch) for i, (ch, escaped) in enumerate(chars) if not escaped]
    following = {i: chars[i + 1][0] if i + 1 < len(chars) else "" for i, _ in raw}
    for i, ch in raw:
        if ch in "[]<`*_~$|":
            found.append(f"syntax {ch!r}")
        elif ch == "&" and re.match(r"[#A-Za-z]", following[i]):
            found.append("entity")
        elif ch == ":" and re.match(r"[A-Za-z:]", following[i]):
            found.append("directive")
    if re.match(r"\s*([#+\-=>]|\d+[.)](\s|$))", body):
        found.append("block at line start")
    if "\n" in body:
        found.append("line break")
    if ":material/" in body:
        found.append("material icon")
    text = "".join(ch for ch, _ in chars)
    for name, pattern in (("shortcode", EMOJI), ("autolink", AUTOLINK), ("typography", TYPOGRAPHY)):
        if pattern.search(text):
            found.append(name)
    return found


# --- the helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE + MORE_HOSTILE)
def test_md_escape_makes_hostile_text_inert_and_shows_it_as_typed(text):
    escaped = md_escape(text)
    assert markdown_constructs(escaped) == [], escaped
    assert shown_text(escaped) == re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("text", HOSTILE + MORE_HOSTILE[:6])
def test_the_checker_sees_the_hostile_text_unescaped(text):
    assert markdown_constructs(text), f"the checker misses {text!r}: the test above would prove nothing"


@pytest.mark.parametrize("text", ORDINARY)
def test_md_escape_leaves_ordinary_text_unchanged(text):
    assert md_escape(text) == text


def test_md_escape_keeps_the_apps_own_formatting_around_it():
    assert f"**{md_escape(IMAGE)}** saved" == "**!\\[b\\](https:\u2060//evil.example/beacon.png)** saved"
    assert md_escape(None) == "None" and md_escape(12.5) == "12.5"


@pytest.mark.parametrize("text", [ANCHOR, "<b>bold</b>", "a<br>b", "Tom & Jerry", "&lt;", '"quoted" & \'single\''])
def test_chart_escape_leaves_no_tag_and_plotly_decodes_it_back(text):
    escaped = chart_escape(text)
    assert "<" not in escaped and ">" not in escaped
    # plotly decodes &amp; &lt; &gt; (and numeric entities) and shows anything else as typed
    decoded = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert decoded == text
    assert "&quot;" not in escaped  # plotly would show &quot; literally


def test_chart_escape_leaves_ordinary_ids_unchanged():
    assert [chart_escape(t) for t in ORDINARY if "&" not in t] == [t for t in ORDINARY if "&" not in t]


def test_doctests_of_the_text_module_pass():
    import doctest

    from territory.reporting import text

    assert doctest.testmod(text).failed == 0
