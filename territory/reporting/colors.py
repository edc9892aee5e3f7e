"""One territory -> colour mapping shared by every page, map and chart.

Colours are assigned by position in the *sorted* list of territory IDs, so the same dataset
always gives T01 the same colour on Overview, Territories and Rebalance (before and after).
Pass every ID that can appear (the territories table plus any alignment's labels) so that a
territory that only exists "after" (a new hire) does not shift the others.

Example
-------
>>> cmap = territory_colors(["T02", "T01", "T02"])
>>> cmap["T01"], cmap["T02"]
('#1f77b4', '#ff7f0e')
>>> territory_rgb(["T01"])["T01"]
[31, 119, 180]
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Mapping

import pandas as pd

# 26 hand-picked, mutually distinguishable colours (Tableau/D3 category 10 + 20b/c variants
# chosen for contrast on a light background), then a golden-angle hue walk beyond that.
PALETTE: tuple[str, ...] = (
    # Tableau 10: the first ten territories (neighbouring IDs get very different hues)
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    # then alternating dark / light tones that stay apart from the first ten
    "#393b79", "#ffbb78", "#98df8a", "#ad494a", "#c5b0d5",
    "#8c6d31", "#f7b6d2", "#e7ba52", "#dbdb8d", "#9edae5",
    "#7b4173", "#637939", "#aec7e8", "#ff9896", "#c49c94", "#00a087",
)

UNASSIGNED_COLOR = "#c7c7c7"
"""Colour of accounts without a territory (blank territory_id)."""


def _extra_color(k: int) -> str:
    """The k-th colour beyond the palette: golden-angle hue steps, alternating lightness."""
    hue = (0.11 + k * 0.618033988749895) % 1.0
    lightness = (0.42, 0.58, 0.34)[k % 3]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _sorted_ids(territory_ids: Iterable) -> list[str]:
    ids = pd.Series(list(territory_ids), dtype="string").dropna()
    ids = ids[ids.str.len() > 0]
    return sorted(set(ids.tolist()))


def territory_colors(territory_ids: Iterable) -> dict[str, str]:
    """Hex colour per territory ID, deterministic from the sorted unique IDs (blanks ignored)."""
    colors: dict[str, str] = {}
    for i, tid in enumerate(_sorted_ids(territory_ids)):
        colors[tid] = PALETTE[i] if i < len(PALETTE) else _extra_color(i - len(PALETTE))
    return colors


def hex_to_rgb(color: str) -> list[int]:
    """'#1f77b4' -> [31, 119, 180] (the form pydeck layers take)."""
    color = color.lstrip("#")
    return [int(color[i : i + 2], 16) for i in (0, 2, 4)]


def territory_rgb(territory_ids: Iterable) -> dict[str, list[int]]:
    """Same mapping as :func:`territory_colors`, as [r, g, b] lists for pydeck."""
    return {tid: hex_to_rgb(c) for tid, c in territory_colors(territory_ids).items()}


def all_territory_ids(territories: pd.DataFrame | None, *labels: pd.Series | None) -> list[str]:
    """Every territory ID that can appear: the territories table plus each alignment's labels.

    Build the colour map from this so before/after views agree:
    ``territory_colors(all_territory_ids(ds.territories, before, after))``.
    """
    ids: list = []
    if territories is not None and "territory_id" in territories:
        ids.extend(territories["territory_id"].dropna().tolist())
    for series in labels:
        if series is not None:
            ids.extend(pd.Series(series).dropna().unique().tolist())
    return _sorted_ids(ids)


def colors_for_labels(labels: pd.Series, colors: dict[str, str]) -> pd.Series:
    """Hex colour per account (UNASSIGNED_COLOR where the label is missing or unknown)."""
    return labels.astype("string").map(colors).fillna(UNASSIGNED_COLOR).astype(str)


def level_colors(territories: pd.DataFrame | None, territory_ids: Iterable, level: str
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """(territory -> colour, region or district -> colour) for a map coloured by ``level``: every
    territory of a region takes the region's colour (the palette in order of the sorted names).

    >>> reps = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "region": ["West", "East", "West"]})
    >>> level_colors(reps, ["T1", "T2", "T3"], "region")
    ({'T1': '#ff7f0e', 'T2': '#1f77b4', 'T3': '#ff7f0e'}, {'East': '#1f77b4', 'West': '#ff7f0e'})
    """
    from territory.planning.hierarchy import level_names

    ids = [str(t) for t in territory_ids]
    names = level_names(territories, level, ids)
    groups = territory_colors(names.tolist())
    return {t: groups[names[t]] for t in ids}, groups


LOAD_NEUTRAL = "#d9d9d9"
"""Colour of a territory within the tolerance band on the load-against-target map."""
LOAD_OVER = ("#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
"""Above the band, darker the further (ColorBrewer Reds): up to 2, 4, 8 and beyond 8 tolerances."""
LOAD_UNDER = ("#bdd7e7", "#6baed6", "#3182bd", "#08519c")
"""Below the band, the same steps in ColorBrewer Blues."""
LOAD_STEPS = (2.0, 4.0, 8.0)
"""Class edges in multiples of the tolerance (a 5% band: 10%, 20%, 40% from target)."""


def load_colors(deviation_pct: Mapping[str, float], tolerance_pct: float) -> dict[str, str]:
    """Hex colour per territory by its load against target: neutral grey within the band, reds
    above and blues below, darker the further (a diverging scale: overloaded territories stand out).

    >>> load_colors({"A": 3.0, "B": 12.0, "C": -50.0, "D": float("nan")}, 5.0)
    {'A': '#d9d9d9', 'B': '#fb6a4a', 'C': '#08519c', 'D': '#c7c7c7'}
    """
    out: dict[str, str] = {}
    for tid, deviation in deviation_pct.items():
        if deviation is None or deviation != deviation:  # NaN: no target to measure against
            out[str(tid)] = UNASSIGNED_COLOR
        elif abs(deviation) <= tolerance_pct:
            out[str(tid)] = LOAD_NEUTRAL
        else:
            steps = abs(deviation) / max(tolerance_pct, 1e-9)
            shade = sum(steps > edge for edge in LOAD_STEPS)
            out[str(tid)] = (LOAD_OVER if deviation > 0 else LOAD_UNDER)[shade]
    return out


def load_legend_text(tolerance_pct: float) -> str:
    """One line saying what the load colours mean."""
    edges = ", ".join(f"{tolerance_pct * e:.0f}%" for e in LOAD_STEPS)
    return (f"Colour: workload against target. Grey within ±{tolerance_pct:.0f}%; red above, blue below, "
            f"darker beyond {edges}.")
