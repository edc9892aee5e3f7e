"""One territory -> colour mapping shared by every page, map and chart.

On a map, neighbours must not look alike: :func:`alignment_colors` colours the territories of an
alignment over :data:`HUES` (nine well-separated hues) so that no two territories whose shapes
border each other (:func:`territory.planning.geography.territory_neighbours`) share one. It is
deterministic (the same alignment gets the same colours on every page, map and chart, and in the
report) and stable: a territory keeps its preferred hue (the previous alignment's, or its place
among the sorted IDs) unless a neighbour already holds it, so a before/after pair differs only
where a new border made two neighbours clash. With nine hues for many territories, a hue names a
territory only together with the map's labels.

:func:`territory_colors` (the IDs alone, all different) colours what has no geography: regions and
districts (:func:`level_colors`).

Example
-------
>>> cmap = neighbour_colors(["T01", "T02", "T10"], [("T01", "T10")])
>>> cmap["T01"], cmap["T02"], cmap["T10"] != cmap["T01"]
('#1f77b4', '#ff7f0e', True)
>>> territory_colors(["T02", "T01", "T02"])
{'T01': '#1f77b4', 'T02': '#ff7f0e'}
>>> territory_rgb(["T01"])["T01"]
[31, 119, 180]
"""

from __future__ import annotations

import colorsys
import math
import re
import zlib
from collections.abc import Iterable, Mapping

import pandas as pd

from territory.data import schema

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
    """Hex colour per ID, all different, deterministic from the sorted unique IDs (blanks ignored):
    for what has no map geography (regions, districts). Maps use :func:`alignment_colors`."""
    colors: dict[str, str] = {}
    for i, tid in enumerate(_sorted_ids(territory_ids)):
        colors[tid] = PALETTE[i] if i < len(PALETTE) else _extra_color(i - len(PALETTE))
    return colors


HUES: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
)
"""The territory colours of a map: Tableau 10 without its grey (grey means unassigned, and within
the band on the load map). Any two are at least :data:`MIN_HUE_DISTANCE` apart."""
MIN_HUE_DISTANCE = 25.0
"""Smallest CIE76 colour difference (Delta E in CIELAB) between two :data:`HUES` (purple and pink: 27.7);
about 2.3 is the smallest difference a person notices."""


def _lab(color: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a '#rrggbb' sRGB colour."""
    rgb = [c / 255 for c in hex_to_rgb(color)]
    r, g, b = (((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in rgb)
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def color_distance(a: str, b: str) -> float:
    """CIE76 Delta E between two '#rrggbb' colours (0: identical; below about 2.3: indistinguishable).

    >>> round(color_distance("#9467bd", "#e377c2"), 1), color_distance("#1f77b4", "#1f77b4")
    (27.7, 0.0)
    """
    return math.dist(_lab(a), _lab(b))


def _pick_hue(taken: list[str], prefer: str) -> str:
    """``prefer`` when no neighbour has it; else the free hue farthest from the neighbours' (in
    :data:`HUES` order on ties); with none free, the hue fewest neighbours have."""
    if prefer not in taken:
        return prefer
    free = [h for h in HUES if h not in taken]
    if free:
        return max(free, key=lambda h: min((color_distance(h, t) for t in set(taken)), default=0.0))
    return min(HUES, key=taken.count)


def preferred_hue(territory_id: str) -> str:
    """The hue a territory takes unless a neighbour holds it: by the number its ID ends in (T01 the first
    hue, T02 the second, ...), else by a checksum of the ID. It depends on the ID alone, so adding or
    closing another territory changes no one else's preference.

    >>> preferred_hue("T01") == HUES[0], preferred_hue("T10") == HUES[0], preferred_hue("Jane Doe") in HUES
    (True, True, True)
    """
    digits = re.search(r"(\d+)\D*$", territory_id)
    position = int(digits.group(1)) - 1 if digits else zlib.crc32(territory_id.encode("utf-8"))
    return HUES[position % len(HUES)]


def neighbour_colors(territory_ids: Iterable, neighbours: Iterable[tuple[str, str]],
                     previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """Hex colour per territory from :data:`HUES`, different for every pair in ``neighbours``
    (blank IDs ignored).

    Each territory prefers its ``previous`` colour (when it is one of the hues) or else
    :func:`preferred_hue`. Territories whose preferred hue no neighbour prefers keep it; the others
    are coloured one by one, the one with the most differently coloured neighbours first (DSatur; ties:
    more neighbours, then the lower ID), keeping their preference when they can. So a small change of
    the alignment changes few colours. Nine hues colour any map of territories (four would do in
    theory); a territory with neighbours in every hue (territories interleaved, not a map) gets the
    hue fewest of them have. Up to nine territories all get different hues.
    """
    ids = _sorted_ids(territory_ids)
    if len(ids) <= len(HUES):  # few enough for a hue each: every one is every other's neighbour
        neighbours = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    adjacent: dict[str, set[str]] = {t: set() for t in ids}
    for a, b in neighbours:
        a, b = str(a), str(b)
        if a in adjacent and b in adjacent and a != b:
            adjacent[a].add(b)
            adjacent[b].add(a)
    previous = previous or {}
    prefer = {t: previous[t] if previous.get(t) in HUES else preferred_hue(t) for t in ids}
    clash = [t for t in ids if any(prefer[t] == prefer[n] for n in adjacent[t])]
    color = {t: prefer[t] for t in ids if t not in set(clash)}
    while clash:
        # max() keeps the first of equals: clash is in ID order
        nxt = max(clash, key=lambda t: (len({color[n] for n in adjacent[t] if n in color}), len(adjacent[t])))
        clash.remove(nxt)
        color[nxt] = _pick_hue([color[n] for n in adjacent[nxt] if n in color], prefer[nxt])
    return {t: color[t] for t in ids}


def alignment_colors(accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame | None = None,
                     previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """The colours of an alignment's maps and charts: :func:`neighbour_colors` of its territories
    (those of ``territories`` too) over the borders of their shapes. ``previous``: the colours of the
    alignment this one is compared with (the before of a what-if), so that they agree where they can."""
    from territory.planning.geography import territory_neighbours

    ids = all_territory_ids(territories, labels)
    pairs: list[tuple[str, str]] = []
    if schema.LATITUDE in accounts and schema.LONGITUDE in accounts:
        names, index_pairs = territory_neighbours(accounts, labels)
        pairs = [(names[a], names[b]) for a, b in index_pairs]
    return neighbour_colors(ids, pairs, previous)


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
