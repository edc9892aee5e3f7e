"""Text from the data, made inert before it reaches Markdown or a chart label.

Account and territory IDs, names, reps, regions, industries, file names, scenario names and notes,
and every message that quotes them (engine notes, import errors) are the user's data, not markup.
Two plain functions (no Streamlit here, so the HTML report uses the second one too):

* :func:`md_escape` for anything Streamlit renders as Markdown: ``st.markdown``, ``st.caption``,
  ``st.info/warning/error/success``, ``st.write`` of a string, and widget labels (buttons,
  expanders, metrics, tabs), where Markdown images and links are allowed too.
* :func:`chart_escape` for plotly text (category ticks, legend names, hover text, annotations),
  which plotly renders as a small HTML subset (``<a href>``, ``<b>``, ``<br>``...).

Streamlit's Markdown has two layers, and both are handled:

1. Syntax (CommonMark + GFM + ``$`` maths + ``:name[...]`` directives), undone by a backslash
   before the punctuation that opens a construct (CommonMark's escape; Streamlit documents it).
2. Transforms that run on the text *after* parsing, so a backslash does not stop them: emoji
   and ``:streamlit:`` shortcodes, ``:material/icon:``, bare URLs / ``www.`` / e-mail addresses
   becoming links (GFM autolink literals), and ``->`` / ``--`` typography. Their patterns are
   broken with an invisible WORD JOINER (U+2060), inserted only where such a pattern would match.

Ordinary text ("Built-in sample (5,000 accounts)", "crm.csv", "Rebalanced 14:02") comes out
unchanged, so what the user sees, and copies, is exactly the data.
"""

from __future__ import annotations

import math
import re

WORD_JOINER = "\u2060"
"""Zero-width and non-breaking: splits a pattern without changing what is shown."""

_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# Applied to the text, in order; the first ones insert word joiners, the last ones backslashes.
_TYPOGRAPHY = re.compile(r"(?<!\S)(?:<->|->|<-|--|>=|<=|~=)(?!\S)")  # Streamlit: -> becomes an arrow
_SHORTCODE_COLON = re.compile(r":(?=[\w+-]+:|material/|//)")  # :smile:, :material/x:, https://
_WWW_DOT = re.compile(r"(?i)(?<=www)(?=\.)")  # www.host autolinks
_EMAIL_AT = re.compile(r"@(?=[\w-])")  # name@host autolinks
_ALWAYS = re.compile(r"([\\`*_\[\]<>~$|])")  # code, emphasis, links/images, HTML/autolinks, maths, tables
_ENTITY = re.compile(r"&(?=[#A-Za-z])")  # &lt; &#60; would be decoded
_DIRECTIVE = re.compile(r":(?=[A-Za-z:])")  # :red[...], :material..., ::leaf directives
_LINE_START = re.compile(r"^(?:([#+\-=])|(\d+)([.)])(?=\s|$))")  # headings, lists, setext, "1. "


def md_escape(value: object) -> str:
    """``value`` as Markdown that Streamlit shows literally, on one line.

    >>> md_escape("![b](https://evil.example/beacon.png)")
    '!\\\\[b\\\\](https:\\u2060//evil.example/beacon.png)'
    >>> md_escape("Built-in sample (5,000 accounts)")
    'Built-in sample (5,000 accounts)'

    Line breaks become spaces: a name cannot start a list, heading or code block of its own.
    Put the app's own formatting around the result: ``f"**{md_escape(name)}** saved"``.
    """
    text = _SPACES.sub(" ", str(value)).strip()
    text = _TYPOGRAPHY.sub(lambda match: WORD_JOINER.join(match.group(0)), text)
    text = _SHORTCODE_COLON.sub(":" + WORD_JOINER, text)
    text = _WWW_DOT.sub(WORD_JOINER, text)
    text = _EMAIL_AT.sub("@" + WORD_JOINER, text)
    text = _ALWAYS.sub(r"\\\1", text)
    text = _ENTITY.sub(r"\\&", text)
    text = _DIRECTIVE.sub(r"\\:", text)
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else f"{m.group(2)}\\{m.group(3)}", text)


def chart_escape(value: object) -> str:
    """``value`` as plotly text that shows literally: ``&``, ``<`` and ``>`` as entities.

    Plotly decodes ``&amp;``, ``&lt;`` and ``&gt;`` back (``&quot;`` it would show as typed, so
    quotes are left alone), and no tag survives, so ``<a href=...>`` is text, not a link.

    >>> chart_escape('<a href="https://evil.example">T1</a> & co')
    '&lt;a href="https://evil.example"&gt;T1&lt;/a&gt; &amp; co'
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_labels(values) -> list[str]:
    """:func:`chart_escape` of every value (category ticks, legend names, hover texts)."""
    return [chart_escape(v) for v in values]


def short_usd(value: object, digits: int = 1, missing: str = "n/a") -> str:
    """Money in a few characters for KPI tiles and tooltips: $27.9M / $450k / $900 (``digits`` decimals
    of millions; ``missing`` for no number).

    >>> short_usd(27_942_912.96), short_usd(450_120.0), short_usd(None, missing="-")
    ('$27.9M', '$450k', '-')
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(number):
        return missing
    size = abs(number)
    if size >= 1e6:
        return f"${number / 1e6:,.{digits}f}M"
    if size >= 1e4:
        return f"${number / 1e3:,.0f}k"
    return f"${number:,.0f}"
