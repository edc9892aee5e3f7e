"""Offline pydeck maps of accounts, territories, rep home bases and workload/revenue heatmaps.

Offline rule (see /work/shared/OFFLINE.md): ``pdk.Deck(..., map_provider=None)`` with ``map_style``
left unset makes no request; the geography comes from the state outlines shipped in ``data/``.

Safety: deck.gl writes a tooltip's ``"html"`` with ``innerHTML`` and its ``"text"`` with
``innerText``. Streamlit 1.67 HTML-escapes the values it interpolates into an ``"html"`` template,
but older releases may not, and pre-escaped values would then show as ``&lt;`` (double escaping).
(The Quarterly review's map used an ``"html"`` template with pre-escaped values: in 1.67 its
``<b>`` and ``<br/>`` showed as typed and ``&`` in a rep name as ``&amp;``.) So every map uses
:data:`TOOLTIP`, ``{"text": "{tip}"}``: one plain-text ``tip`` field per object (lines joined with
newlines), written with ``innerText`` in every version, so an account named
``<img src=x onerror=alert(1)>`` shows as text, exactly as typed. The first line is the tooltip's
title: the app's CSS (``widgets.APP_CSS``) sets it in bold. The legend is HTML and is escaped here
(``esc``).

Main entry points
-----------------
``build_account_map(accounts, labels, ...) -> MapView`` builds the deck, the legend HTML and a
note (e.g. when points were sampled); ``render_map(view)`` draws it with the legend beside it.
``account_map(...)`` does both in one call.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
import streamlit as st

from territory.data import schema
from territory.errors import DataError
from territory.planning import geography
from territory.reporting import boundaries
from territory.reporting import colors as tcolors
from territory.reporting.text import md_escape
from territory.ui import cached
from territory.ui.cached import us_states_geojson
from territory.ui.components import widgets

MAX_POINTS = 8_000
"""Above this many accounts the map draws a random sample of points (and says so)."""
SAMPLED_POINTS = 8_000
"""How many points the sample holds (keeps the page light: each point, with its tooltip, travels to the
browser: 10,000 points were 1.85 MB of map JSON at 100,000 accounts)."""

FRAME_WIDTH_PX = 700
"""Width the maps beside a legend (Overview, Quarterly review) are framed for: their canvas in a
1366-px-wide browser window. Measured in Chromium: 632 px at 1280, 725 at 1400, 881 at 1600; a wider
canvas shows more margin, a narrower one cuts the coasts off (the review map, framed for 780 px, lost
the Pacific coast at 1400)."""

HEATMAPS: dict[str, str] = {
    "none": "Off",
    "workload": "Workload (hours/year)",
    "revenue": "Revenue (USD/year)",
}
"""Heatmap choices: key -> label (use the keys with ``build_account_map(heatmap=...)``)."""

HEAT_COLUMN = {"workload": schema.WORKLOAD_HOURS, "revenue": schema.REVENUE}
HEAT_UNIT = {"workload": "h/yr", "revenue": "USD/yr"}
# Sequential yellow -> red ramp (ColorBrewer YlOrRd, 6 classes).
HEAT_RAMP: tuple[tuple[int, int, int], ...] = (
    (255, 255, 178),
    (254, 217, 118),
    (254, 178, 76),
    (253, 141, 60),
    (240, 59, 32),
    (189, 0, 38),
)

TOOLTIP_STYLE = {
    "whiteSpace": "pre-line",
    "backgroundColor": "white",
    "color": "#262730",
    "fontSize": "12px",
    "border": "1px solid #d0d0d0",
    "borderRadius": "4px",
    "padding": "6px 8px",
    "boxShadow": "0 1px 4px rgba(0,0,0,0.15)",
}


TOOLTIP = {"text": "{tip}", "style": TOOLTIP_STYLE}
"""Every map's tooltip: each object's plain-text ``tip``, written with innerText (module docstring)."""


class CompactDeck(pdk.Deck):
    """A ``pdk.Deck`` whose JSON has no indentation and no spaces.

    pydeck serialises with ``indent=2``, which puts every number of every point's colour on its own
    line: the 5,000-account sample map was 2.6 MB of JSON, parsed by the browser on every rerun.
    Compact JSON carries the same spec in well under half of that (same keys, same values).
    """

    def to_json(self):  # noqa: D102 (same contract as pdk.Deck.to_json)
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


@dataclass(frozen=True)
class MapView:
    """A ready-to-draw map: the deck, its legend (safe HTML) and an optional note for the user."""

    deck: pdk.Deck
    legend_html: str
    note: str | None
    points_shown: int
    points_total: int


# --- formatting -----------------------------------------------------------------------------------


def esc(value: object) -> str:
    """HTML-escaped text of a value ('' for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _text_series(values: pd.Series, missing: str = "-") -> pd.Series:
    """Values as plain text for a ``"text"`` tooltip (innerText: no escaping needed or wanted)."""
    return values.astype("string").fillna(missing).astype(object)


def _plain(value: object) -> str:
    """Plain text of a value ('-' for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)


format_usd = widgets.format_usd  # one USD formatter for maps, KPIs and tables


def _fmt_num(values: pd.Series, fmt: str) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    return v.map(lambda x: "-" if pd.isna(x) else fmt.format(x)).astype(object)


# --- view -----------------------------------------------------------------------------------------


def _mercator_y(lat_deg: float) -> float:
    lat = math.radians(float(np.clip(lat_deg, -85.0, 85.0)))
    return math.log(math.tan(math.pi / 4 + lat / 2))


def _extent(values: np.ndarray, reach: float = 0.15) -> tuple[float, float]:
    """Lowest and highest value, leaving out strays: values more than ``reach`` of the 1st-99th
    percentile span beyond those percentiles (Hawaii beside the lower 48). The 1st-99th percentile
    alone cut the coasts off: the westernmost 1% of the sample's accounts are on the Pacific coast."""
    lo, hi = np.percentile(values, [1, 99])
    slack = reach * max(hi - lo, 1e-9)
    near = values[(values >= lo - slack) & (values <= hi + slack)]
    return float(near.min()), float(near.max())


def view_for(lat: np.ndarray, lon: np.ndarray, width_px: int = FRAME_WIDTH_PX, height_px: int = 520,
             margin: float = 0.88) -> pdk.ViewState:
    """A view that frames the points in a ``width_px`` x ``height_px`` map (every point but strays far
    beyond the rest, so one stray account does not zoom the map out), the points spanning ``margin`` of
    the binding side (the rest: air around the data). Web-Mercator: the world is 512 x 2^zoom px wide."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return pdk.ViewState(latitude=39.5, longitude=-98.35, zoom=3.0)
    lat, lon = lat[ok], lon[ok]
    if len(lat) >= 50:
        lat_lo, lat_hi = _extent(lat)
        lon_lo, lon_hi = _extent(lon)
    else:
        lat_lo, lat_hi, lon_lo, lon_hi = lat.min(), lat.max(), lon.min(), lon.max()
    lon_frac = max(lon_hi - lon_lo, 0.02) / 360.0
    y_frac = max(_mercator_y(lat_hi) - _mercator_y(lat_lo), 0.0005) / (2 * math.pi)
    zoom = min(math.log2(margin * width_px / (512 * lon_frac)), math.log2(margin * height_px / (512 * y_frac)))
    mid_y = (_mercator_y(lat_hi) + _mercator_y(lat_lo)) / 2
    mid_lat = math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2)
    return pdk.ViewState(
        latitude=float(mid_lat),
        longitude=float((lon_lo + lon_hi) / 2),
        zoom=float(np.clip(zoom, 0.5, 13.0)),
        pitch=0,
        bearing=0,
    )


def _is_us(accounts: pd.DataFrame) -> bool:
    if schema.COUNTRY in accounts and len(accounts):
        country = accounts[schema.COUNTRY].astype("string").str.upper().fillna("US")
        return bool(country.isin(["US", "USA"]).any())
    return True


# --- layer data -----------------------------------------------------------------------------------


def _point_frame(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None,
    rgb: dict[str, list[int]],
    max_points: int,
    seed: int,
) -> tuple[pd.DataFrame, int]:
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    ok = lat.notna() & lon.notna()
    idx = accounts.index[ok.to_numpy()]
    total = len(idx)
    if total > max_points:
        rng = np.random.default_rng(seed)
        size = min(SAMPLED_POINTS, max_points)
        idx = pd.Index(np.sort(rng.choice(np.asarray(idx), size=size, replace=False)))
    acc = accounts.loc[idx]
    lab = labels.reindex(idx).astype("string")
    rep = pd.Series(pd.NA, index=idx, dtype="string")
    if territories is not None and schema.REP_NAME in territories:
        rep_map = territories.set_index(territories[schema.TERRITORY_ID].astype("string"))[schema.REP_NAME]
        rep = lab.map(rep_map.astype("string").to_dict()).astype("string")
    name = acc[schema.NAME] if schema.NAME in acc else acc[schema.ACCOUNT_ID]
    revenue = acc[schema.REVENUE] if schema.REVENUE in acc else pd.Series(np.nan, index=idx)
    workload = acc[schema.WORKLOAD_HOURS] if schema.WORKLOAD_HOURS in acc else pd.Series(np.nan, index=idx)
    place = pd.Series("", index=idx, dtype=object)
    if schema.CITY in acc and schema.STATE in acc:
        place = (
            acc[schema.CITY].astype("string").fillna("") + ", " + acc[schema.STATE].astype("string").fillna("")
        ).str.strip(", ")
    # Plain text (innerText): raw values are safe; newlines separate the lines.
    tip = (
        _text_series(name)
        + "\n"
        + _text_series(place.astype("string"), "")
        + "\nTerritory: "
        + _text_series(lab, "unassigned")
        + " \u00b7 Rep: "
        + _text_series(rep)
        + "\nRevenue: "
        + _fmt_num(revenue, "${:,.0f}/yr")
        + "\nWorkload: "
        + _fmt_num(workload, "{:,.0f} h/yr")
    )
    grey = tcolors.hex_to_rgb(tcolors.UNASSIGNED_COLOR)
    color = [rgb.get(t, grey) if isinstance(t, str) else grey for t in lab.tolist()]
    frame = pd.DataFrame(
        {
            "lon": lon.loc[idx].round(5).to_numpy(),
            "lat": lat.loc[idx].round(5).to_numpy(),
            "color": color,
            "tip": tip.tolist(),
        }
    )
    return frame, total


NOT_GEOGRAPHIC_NOTE = ("No boundaries drawn: this alignment is not geographic (the accounts of different "
                       "territories are interleaved in the same areas, as when accounts are assigned by owner), so "
                       "the map shows each account in the colour of its territory, named in the legend.")
"""Shown instead of boundaries when :attr:`TerritoryShapes.geographic` is False (the engine's test). Such a
map names no territory on the map either: every owner's accounts span the country, so each label sat at
the middle of it, all of them stacked over Kansas with leader lines (:func:`build_account_map`)."""
def outside_note(n: int) -> str:
    """The note under a map when ``n`` accounts lie outside their territory's shape.

    >>> outside_note(1)
    '1 account lies outside the boundary of its territory (a ZIP split between territories, or a point off the coast).'
    >>> outside_note(1200)[:45]
    '1,200 accounts lie outside the boundary of th'
    """
    subject = "1 account lies" if n == 1 else f"{n:,} accounts lie"
    return (f"{subject} outside the boundary of {'its' if n == 1 else 'their'} territory (a ZIP split between "
            "territories, or a point off the coast).")


SHAPE_FILL_ALPHA = 70
"""Opacity (of 255) of a territory's fill: the land reads as the territory's colour, points stay visible."""
SHAPE_LINE_COLOR = [70, 70, 70, 220]
"""One dark line for every territory border: shared borders are drawn by both sides, so one colour
keeps them from flickering between two."""


TEAM_LINE_PX = 3.0
"""Width of an industry-team territory's outline, drawn in its colour over the geographic shapes..."""
TEAM_HALO_PX = 6.0
TEAM_HALO_COLOR = [255, 255, 255, 200]
"""...on a white halo this wide, so an orange team line stays apart from an orange geographic fill."""


def team_note(teams: Mapping[str, str]) -> str | None:
    """The note under a map whose alignment has industry teams (``teams``: territory ID -> industry).

    >>> team_note({"HC-1": "Healthcare", "HC-2": "Healthcare"})[:78]
    'Industry teams overlap the geographic territories by design: the Healthcare te'
    >>> team_note({}) is None
    True
    """
    if not teams:
        return None
    by_team: dict[str, list[str]] = {}
    for tid, industry in sorted(teams.items()):
        by_team.setdefault(industry, []).append(tid)
    parts = [f"the {industry} team ({', '.join(ids)}) holds every {industry} account"
             for industry, ids in by_team.items()]
    return ("Industry teams overlap the geographic territories by design: " + "; ".join(parts)
            + " wherever it lies (thick outlines); the shaded territories hold every other account.")


def _shape_rows(tid: str, geometry, info: pd.DataFrame, rgb: dict[str, list[int]], near, clip,
                team: str | None) -> list[dict]:
    """The map rows of one territory's shape: one per polygon near the accounts (cut at ``clip``)."""
    row = info.loc[tid] if tid in info.index else None
    rep = None if row is None else row["rep_name"]
    title = f"Territory {tid}" + (f" ({team} team)" if team else "")
    tip = (f"{title}\nRep: {_plain(rep)}\n{0 if row is None else int(row['accounts']):,} accounts"
           f" \u00b7 {0.0 if row is None else float(row['workload_hours']):,.0f} h/yr")
    if team:
        tip += f"\nHolds the {team} accounts of the geographic territories it overlaps"
    color = rgb.get(tid, [150, 150, 150])
    parts = [p for p in shapely.get_parts(geometry) if p.intersects(near)]
    if clip:  # cut at the frame (lon, lat box): a zoomed pair must not reach into the other map
        parts = [q for p in parts for q in shapely.get_parts(shapely.intersection(p, near))
                 if q.geom_type == "Polygon" and not q.is_empty]
    return [{"polygon": rings, "fill": [*color, SHAPE_FILL_ALPHA], "tip": tip, "team": team or ""}
            for rings in boundaries.polygon_rings(shapely.MultiPolygon(parts) if parts else shapely.Polygon())]


def territory_polygons(
    accounts: pd.DataFrame, labels: pd.Series, rgb: dict[str, list[int]], territories: pd.DataFrame | None,
    shapes: geography.TerritoryShapes | None = None, clip: tuple[float, float, float, float] | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """One row per polygon of each territory's shape (:mod:`territory.planning.geography`): rings
    (``[exterior, *holes]``), fill colour, a tooltip and ``team`` (the industry of an industry-team
    territory, drawn as an outline over the geographic shapes; "" for a geographic one); and a note.

    ``shapes`` may come from a larger set of accounts (the whole dataset behind a filtered view):
    only the territories in ``labels`` are drawn, and only their polygons near these accounts (no
    Alaska beside a lower-48 map unless accounts are there). A non-geographic alignment gets no
    polygons and :data:`NOT_GEOGRAPHIC_NOTE`."""
    columns = ["polygon", "fill", "tip", "team"]
    if shapes is None:
        shapes = geography.territory_shapes(accounts, labels)
    if not shapes.geographic:
        return pd.DataFrame(columns=columns), NOT_GEOGRAPHIC_NOTE
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return pd.DataFrame(columns=columns), None
    near = shapely.box(*clip) if clip else shapely.box(lon[ok].min() - 1, lat[ok].min() - 1, lon[ok].max() + 1,
                                                        lat[ok].max() + 1)
    shown = set(labels.dropna().astype(str))
    info = boundaries.territory_properties(accounts, labels, territories)
    rows = []
    layers = [(shapes, None)] + [(team.shapes, team.industry) for team in shapes.teams]
    for layer, team in layers:  # the geographic shapes first, the teams' outlines over them
        for tid, geometry in zip(layer.territory_ids, boundaries.display_shapes(layer)):
            if tid in shown:
                rows.extend(_shape_rows(tid, geometry, info, rgb, near, clip, team))
    outside = shapes.outside_of(shown)
    teams = {tid: team.industry for team in shapes.teams for tid in team.shapes.territory_ids if tid in shown}
    return pd.DataFrame(rows, columns=columns), join_notes(team_note(teams), outside_note(outside) if outside else None)


def home_bases(territories: pd.DataFrame | None, rgb: dict[str, list[int]]) -> pd.DataFrame:
    """One row per rep with a home base: position, colour, label and tooltip."""
    cols = ["lon", "lat", "color", "label", "tip"]
    if territories is None or schema.HOME_LATITUDE not in territories:
        return pd.DataFrame(columns=cols)
    t = territories.copy()
    t["lat"] = pd.to_numeric(t[schema.HOME_LATITUDE], errors="coerce")
    t["lon"] = pd.to_numeric(t[schema.HOME_LONGITUDE], errors="coerce")
    t = t.dropna(subset=["lat", "lon"])
    rows = []
    for _, r in t.iterrows():
        tid = str(r[schema.TERRITORY_ID])
        rep = r.get(schema.REP_NAME)
        rep_text = "" if pd.isna(rep) else str(rep)
        rows.append(
            {
                "lon": float(r["lon"]),
                "lat": float(r["lat"]),
                "color": rgb.get(tid, [90, 90, 90]),
                # The map's text label (plain text: deck.gl's TextLayer draws glyphs, never HTML).
                "label": home_label(tid, rep_text),
                "tip": f"Home base\nRep: {rep_text or '-'}\nTerritory: {tid}",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def join_notes(*notes: str | None) -> str | None:
    """The notes under a map, in order, as one line (None when there is none)."""
    return " ".join(note for note in notes if note) or None


def has_home_bases(territories: pd.DataFrame | None) -> bool:
    """True when at least one territory has a rep home base to draw (and to show in a legend)."""
    return not home_bases(territories, {}).empty


def home_label(territory_id: str, rep: str | None) -> str:
    """Text drawn beside a home base: "T01 · Mitchell" (territory and the rep's last name), or the id."""
    rep = (rep or "").strip()
    return f"{territory_id} \u00b7 {rep.split()[-1]}" if rep else territory_id


LABEL_CHAR_PX = 7.0  # average width of a 12 px semi-bold character
LABEL_HEIGHT_PX = 15.0
RING_PX = 20.0  # a home-base ring's box
LABEL_RADII_PX: tuple[float, ...] = (0, 16, 30, 46, 64, 84, 108, 136, 170)
"""How far from its anchor a label may move, tried in order (8 directions each beyond 0)."""
LEADER_MIN_PX = 8.0
"""A label moved off its anchor (any ring beyond the first spot) gets a leader line back to it."""
LABEL_REP_MAX_TERRITORIES = 25
"""Up to this many territories on a map, a label names the rep too ("T01 · Mitchell"); beyond, the ID alone."""
LABEL_TEXT_COLOR = [38, 39, 48, 255]
LEADER_COLOR = [38, 39, 48, 190]


def _world_px(lat: np.ndarray, lon: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator pixel coordinates at ``zoom`` (the world is 512 x 2^zoom px)."""
    scale = 512 * 2.0**zoom
    lat_r = np.radians(np.clip(lat, -85.0, 85.0))
    x = (lon + 180.0) / 360.0 * scale
    y = (math.pi - np.log(np.tan(math.pi / 4 + lat_r / 2))) / (2 * math.pi) * scale
    return x, y


def _world_lonlat(x: np.ndarray, y: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`_world_px`: (lon, lat) of Web-Mercator pixels at ``zoom``."""
    scale = 512 * 2.0**zoom
    lon = np.asarray(x, dtype=float) / scale * 360.0 - 180.0
    lat = np.degrees(2 * np.arctan(np.exp(math.pi - np.asarray(y, dtype=float) / scale * 2 * math.pi)) - math.pi / 2)
    return lon, lat


def _label_spots() -> list[tuple[float, float]]:
    spots = [(0.0, 0.0)]
    for radius in LABEL_RADII_PX[1:]:
        for k in range(8):
            angle = math.pi / 2 - k * math.pi / 4  # above first, then clockwise
            spots.append((radius * math.cos(angle), -radius * math.sin(angle) * 0.7))
    return spots


def _overlap(box, others: np.ndarray) -> float:
    """Total area ``box`` shares with the boxes in ``others`` ((m, 4): x0, y0, x1, y1)."""
    if not len(others):
        return 0.0
    w = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    return float((w * h).sum())


def _outside(box, frame) -> float:
    """How much of ``box`` lies outside ``frame`` (both x0, y0, x1, y1), weighed as a collision."""
    inside = _overlap(box, np.asarray([frame], dtype=float))
    return 2.0 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)


def place_labels(anchors: pd.DataFrame, zoom: float, obstacles: pd.DataFrame | None = None,
                 bounds: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
    """Where each label goes: on its anchor if it is free there, else at the nearest free spot around it
    (rings of :data:`LABEL_RADII_PX`), else where it overlaps least. Every label is placed: none is
    left out. Positions are geographic (at the map's initial ``zoom``), so a label and its leader line
    stay together when the map is zoomed.

    ``anchors``: columns lon, lat, label. ``obstacles``: points (lon, lat) labels keep clear of (rep home
    bases' rings). ``bounds`` (west, south, east, north): a label keeps inside this box where a spot
    allows (one copy of the Rebalance pair: a New England label ran into the other copy, or off the
    canvas). Labels are placed most crowded first, so dense areas get the spots closest to their
    anchors. Returns the anchors with ``label_lon``, ``label_lat`` and ``leader`` (moved farther than
    :data:`LEADER_MIN_PX`: draw a line back to the anchor), in the given order.
    """
    out = anchors.copy()
    if anchors.empty:
        return out.assign(label_lon=pd.Series(dtype=float), label_lat=pd.Series(dtype=float),
                          leader=pd.Series(dtype=bool))
    x, y = _world_px(anchors["lat"].to_numpy(dtype=float), anchors["lon"].to_numpy(dtype=float), zoom)
    width = np.array([LABEL_CHAR_PX * len(str(t)) + 6 for t in anchors["label"]])
    taken: list[tuple[float, float, float, float]] = []
    if obstacles is not None and len(obstacles):
        ox, oy = _world_px(obstacles["lat"].to_numpy(dtype=float), obstacles["lon"].to_numpy(dtype=float), zoom)
        taken = [(a - RING_PX / 2, b - RING_PX / 2, a + RING_PX / 2, b + RING_PX / 2) for a, b in zip(ox, oy)]
    frame = None
    if bounds is not None:
        fx, fy = _world_px(np.array([bounds[3], bounds[1]], dtype=float), np.array([bounds[0], bounds[2]], dtype=float),
                           zoom)
        frame = (float(fx[0]), float(fy[0]), float(fx[1]), float(fy[1]))  # x0, y0 (north), x1, y1 (south)
    crowd = ((np.abs(x[:, None] - x[None, :]) < 80) & (np.abs(y[:, None] - y[None, :]) < 40)).sum(axis=1)
    spots = _label_spots()
    px = np.zeros(len(x))
    py = np.zeros(len(y))
    for i in np.lexsort((np.arange(len(x)), -crowd)):
        half_w, half_h = width[i] / 2, LABEL_HEIGHT_PX / 2
        others = np.asarray(taken, dtype=float).reshape(-1, 4)
        best, best_overlap = spots[0], math.inf
        for dx, dy in spots:
            box = (x[i] + dx - half_w, y[i] + dy - half_h, x[i] + dx + half_w, y[i] + dy + half_h)
            overlap = _overlap(box, others) + (_outside(box, frame) if frame else 0.0)
            if overlap < best_overlap:
                best, best_overlap = (dx, dy), overlap
            if overlap == 0.0:
                break
        px[i], py[i] = x[i] + best[0], y[i] + best[1]
        taken.append((px[i] - half_w, py[i] - half_h, px[i] + half_w, py[i] + half_h))
    lon, lat = _world_lonlat(px, py, zoom)
    out["label_lon"], out["label_lat"] = np.round(lon, 5), np.round(lat, 5)
    out["leader"] = np.hypot(px - x, py - y) > LEADER_MIN_PX
    return out


def label_anchors(labels: pd.Series, accounts: pd.DataFrame, territories: pd.DataFrame | None,
                  shapes: geography.TerritoryShapes | None, near=None, with_rep: bool = True) -> pd.DataFrame:
    """One anchor per territory in ``labels``: inside its shape (the pole of inaccessibility of its
    largest part near the accounts) when the map draws shapes, else the median of its accounts.
    Columns territory_id, lon, lat, label (the ID alone without ``with_rep``: a small map)."""
    rows = []
    reps = {}
    if territories is not None and schema.REP_NAME in territories:
        reps = {str(t): r for t, r in zip(territories[schema.TERRITORY_ID], territories[schema.REP_NAME])}
    ids = sorted(set(labels.dropna().astype(str)))
    with_rep = with_rep and len(ids) <= LABEL_REP_MAX_TERRITORIES
    drawn = shapes is not None and shapes.geographic
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    for tid in ids:
        point = boundaries.label_point(shapes.shape(tid), near) if drawn else None
        if point is None:
            mine = (labels.astype("string") == tid).fillna(False).to_numpy()
            if not np.isfinite(lat[mine]).any():
                continue
            point = (float(np.nanmedian(lon[mine])), float(np.nanmedian(lat[mine])))
        rep = reps.get(tid)
        text = home_label(tid, None if rep is None or pd.isna(rep) else str(rep)) if with_rep else tid
        rows.append({"territory_id": tid, "lon": point[0], "lat": point[1], "label": text})
    return pd.DataFrame(rows, columns=["territory_id", "lon", "lat", "label"])


def territory_label_layers(anchors: pd.DataFrame, zoom: float, obstacles: pd.DataFrame | None = None,
                           prefix: str = "", lon_shift: float = 0.0,
                           bounds: tuple[float, float, float, float] | None = None) -> list[pdk.Layer]:
    """A TextLayer naming every territory (placed by :func:`place_labels`, none left out) and a
    LineLayer of leader lines for the labels moved off their anchors. 12 px text at every zoom.

    pydeck turns a plain string argument into a JavaScript expression (``"pixels"`` became
    ``"@@=pixels"``: deck.gl then sized the text in metres, so it grew with the zoom). Literal strings
    go through ``pdk.types.String``. ``character_set="auto"`` draws accented names (José) too.
    """
    placed = place_labels(anchors, zoom, obstacles, bounds)
    if lon_shift:
        placed = placed.assign(lon=placed["lon"] + lon_shift, label_lon=placed["label_lon"] + lon_shift)
    lit = pdk.types.String
    layers = []
    leaders = placed[placed["leader"]]
    if len(leaders):
        layers.append(pdk.Layer(
            "LineLayer", data=pd.DataFrame({"s": leaders[["lon", "lat"]].to_numpy().tolist(),
                                            "t": leaders[["label_lon", "label_lat"]].to_numpy().tolist()}),
            id=f"{prefix}label-leaders", get_source_position="s", get_target_position="t",
            get_color=LEADER_COLOR, get_width=1, pickable=False))
    layers.append(pdk.Layer(
        "TextLayer",
        data=placed[["territory_id", "label", "label_lon", "label_lat"]],
        id=f"{prefix}territory-labels",
        get_position=["label_lon", "label_lat"],
        get_text="label",
        get_size=12,
        size_units=lit("pixels"),
        get_color=LABEL_TEXT_COLOR,
        get_text_anchor=lit("middle"),
        get_alignment_baseline=lit("center"),
        font_family=lit("Source Sans Pro, Helvetica, Arial, sans-serif"),
        font_weight=600,
        character_set=lit("auto"),
        background=True,
        get_background_color=[255, 255, 255, 215],
        background_padding=[3, 1, 3, 1],
        pickable=False,
    ))
    return layers


def _h3_resolution(lat: np.ndarray, lon: np.ndarray) -> int:
    span = max(np.nanmax(lon) - np.nanmin(lon), np.nanmax(lat) - np.nanmin(lat)) if len(lat) else 0
    if span > 20:
        return 3  # ~12,000 km2 cells (~60 km edge): readable on a continent-wide map
    if span > 6:
        return 4
    if span > 1.5:
        return 5
    return 6


def heat_cells(accounts: pd.DataFrame, measure: str, resolution: int | None = None) -> tuple[pd.DataFrame, int]:
    """Sum of the measure per H3 cell: columns hex, value, accounts, tip (plain text), plus the resolution."""
    import h3

    column = HEAT_COLUMN[measure]
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    value = pd.to_numeric(accounts[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon, value = lat[ok], lon[ok], value[ok]
    res = resolution if resolution is not None else _h3_resolution(lat, lon)
    cells = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lon)]
    frame = (
        pd.DataFrame({"hex": cells, "value": value})
        .groupby("hex", sort=True)
        .agg(value=("value", "sum"), accounts=("value", "size"))
        .reset_index()
    )
    unit = HEAT_UNIT[measure]
    fmt = (lambda v: format_usd(v) + "/yr") if measure == "revenue" else (lambda v: f"{v:,.0f} {unit}")
    frame["tip"] = [
        f"{HEATMAPS[measure].split(' (')[0]}: {fmt(v)}\n{n:,} account{'s' if n != 1 else ''} in this hexagon"
        for v, n in zip(frame["value"], frame["accounts"])
    ]
    return frame, res


def heat_bins(values: pd.Series) -> np.ndarray:
    """Class edges (len(HEAT_RAMP)+1) by quantiles, so colours spread over the data."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy()
    if len(v) == 0:
        return np.zeros(len(HEAT_RAMP) + 1)
    edges = np.quantile(v, np.linspace(0, 1, len(HEAT_RAMP) + 1))
    return np.maximum.accumulate(edges)


def _heat_colors(values: pd.Series, edges: np.ndarray) -> list[list[int]]:
    inner = edges[1:-1]
    cls = np.clip(np.searchsorted(inner, values.to_numpy(), side="right"), 0, len(HEAT_RAMP) - 1)
    return [[*HEAT_RAMP[c], 170] for c in cls]


# Cached variants: the key names the data (the caller guarantees it changes when the data does);
# the frames themselves (leading underscore) are not hashed.
@st.cache_data(show_spinner=False, max_entries=16)
def _cached_points(key, colors_key, max_points, seed, _accounts, _labels, _territories, _rgb):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return _point_frame(_accounts, _labels, _territories, _rgb, max_points, seed)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_polygons(key, colors_key, clip, _accounts, _labels, _rgb, _territories, _shapes):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return territory_polygons(_accounts, _labels, _rgb, _territories, _shapes, clip)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_heat_cells(key, measure, _accounts):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return heat_cells(_accounts, measure)


# --- legend ---------------------------------------------------------------------------------------


def hexagon_size_text(resolution: int) -> str:
    """The heat hexagons' size in words (about twice the H3 grid's mean edge length), so the legend
    speaks of kilometres, not of an H3 resolution.

    >>> hexagon_size_text(4)
    'Hexagons about 52 km across'
    """
    import h3

    across = 2 * h3.average_hexagon_edge_length(int(resolution), unit="km")
    return f"Hexagons about {across:,.0f} km across"


def legend_html(
    territory_ids: list[str],
    colors: dict[str, str],
    territories: pd.DataFrame | None = None,
    heat_measure: str | None = None,
    heat_edges: np.ndarray | None = None,
    heat_resolution: int | None = None,
    show_homes: bool = True,
    note: str | None = None,
    max_items: int = 40,
    groups: Mapping[str, str] | None = None,
    groups_title: str = "Region",
    columns: int = 1,
    show_moved: bool = False,
    teams: Mapping[str, str] | None = None,
    before_colors: Mapping[str, str] | None = None,
) -> str:
    """The map legend as escaped HTML: territory swatches (+ rep), home-base marker, heat ramp.
    With ``groups`` ({region or district: colour}, a map coloured by level) the swatches are the
    groups', under ``groups_title``. ``columns``: the swatches in that many columns (a legend under a wide
    map); ``show_moved``: explain the ring around moved accounts (a before/after pair). ``teams``
    (territory ID -> industry): industry-team territories, listed apart with an outline swatch under
    "Industry teams (overlap by design)" (their shapes are outlines over the geographic ones).
    ``before_colors`` (the left map of a before/after pair): a territory drawn in another colour on that
    map gets its before swatch beside its after one, so every colour on either map is in the legend.

    Without any rep name (no territories file: e.g. territories keyed by account owner) the legend
    lists the territories alone; "no rep yet" marks a territory without a rep only beside others
    that have one (a new hire in a what-if)."""
    reps = {}
    if territories is not None and schema.REP_NAME in territories:
        reps = {tid: rep for tid, rep in zip(territories[schema.TERRITORY_ID].astype(str), territories[schema.REP_NAME])
                if not pd.isna(rep) and str(rep).strip()}
    parts = ['<div style="font-size:12px;line-height:1.45;">']
    if heat_measure and heat_edges is not None:
        unit = HEAT_UNIT[heat_measure]
        title = HEATMAPS[heat_measure].split(" (")[0]
        parts.append(f"<div style='font-weight:600;margin-bottom:2px'>{esc(title)} per hexagon ({esc(unit)})</div>")
        for i, c in enumerate(HEAT_RAMP):
            lo, hi = heat_edges[i], heat_edges[i + 1]
            if heat_measure == "revenue":
                rng = f"{format_usd(lo)} - {format_usd(hi)}"
            else:
                rng = f"{lo:,.0f} - {hi:,.0f}"
            parts.append(
                f"<div><span style='display:inline-block;width:14px;height:10px;background:rgb{c};"
                f"border:1px solid #bbb;margin-right:6px'></span>{esc(rng)}</div>"
            )
        if heat_resolution is not None:
            parts.append(f"<div style='color:#777;margin-bottom:6px'>{hexagon_size_text(heat_resolution)}</div>")
    if groups:
        territory_ids, colors, reps = list(groups), dict(groups), {}
    heading = esc(groups_title) if groups else "Territory &middot; rep" if reps else "Territory"
    parts.append(f"<div style='font-weight:600;margin:4px 0 2px'>{heading}</div>")
    teams = {} if groups or not teams else {t: i for t, i in teams.items() if t in set(territory_ids)}
    territory_ids = [t for t in territory_ids if t not in teams]
    shown = territory_ids[:max_items]
    changed = {tid: before_colors[tid] for tid in shown if before_colors and tid in before_colors
               and before_colors[tid] != colors.get(tid, tcolors.UNASSIGNED_COLOR)}
    if changed:
        parts.append("<div style='color:#666;margin-bottom:2px'>Two dots: its colour before, then after</div>")
    parts.append(f"<div style='column-count:{int(columns)};column-gap:18px'>")
    for tid in shown:
        rep = reps.get(tid)
        # a territory without a rep (added in a what-if, a new hire) says so instead of a bare ID
        rep_text = ("" if not reps else f" &middot; {esc(rep)}" if rep is not None
                    else " &middot; <span style='color:#888'>no rep yet</span>")
        # a long "T12 · Marcus Zimmerman" wraps under itself (was cut to "Marcus Zimme..." at 1500 px)
        swatches = [changed[tid]] if tid in changed else []
        swatches.append(colors.get(tid, tcolors.UNASSIGNED_COLOR))
        dots = "".join(f"<span style='flex:none;display:inline-block;width:10px;height:10px;border-radius:50%;"
                       f"background:{esc(color)};margin-right:{2 if i < len(swatches) - 1 else 6}px'></span>"
                       for i, color in enumerate(swatches))
        parts.append(
            f"<div style='display:flex;align-items:baseline;overflow-wrap:anywhere;break-inside:avoid'>"
            f"{dots}<span>{esc(tid)}{rep_text}</span></div>"
        )
    if len(territory_ids) > len(shown):
        parts.append(f"<div style='color:#777'>+ {len(territory_ids) - len(shown)} more</div>")
    parts.append("</div>")
    if teams:
        parts.append(_team_legend(teams, colors, reps))
    if show_moved:
        parts.append(
            "<div style='margin-top:6px'><span style='display:inline-block;width:9px;height:9px;"
            "border-radius:50%;border:1px solid #141414;background:#9e9e9e;margin-right:6px;"
            "vertical-align:middle'></span>"
            "Account that moves</div>"
        )
    if show_homes:
        parts.append(
            "<div style='margin-top:6px'><span style='display:inline-block;width:12px;height:12px;"
            "border-radius:50%;background:white;border:3px solid #333;margin-right:6px;"
            "vertical-align:middle'></span>Rep home base</div>"
        )
    if note:
        parts.append(f"<div style='color:#a15c00;margin-top:6px'>{esc(note)}</div>")
    parts.append("</div>")
    return "".join(parts)


def map_teams(shapes: geography.TerritoryShapes | None) -> dict[str, str]:
    """Territory ID -> industry of the industry-team territories drawn from ``shapes`` (none when the
    map draws no boundaries: a non-geographic alignment's legend lists every territory alike)."""
    if shapes is None or not shapes.geographic:
        return {}
    return {tid: team.industry for team in shapes.teams for tid in team.shapes.territory_ids}


def _team_legend(teams: Mapping[str, str], colors: dict[str, str], reps: dict) -> str:
    """The legend's industry-team section: an outline swatch per team territory, its rep and team."""
    parts = ["<div style='font-weight:600;margin:6px 0 2px'>Industry teams (overlap by design)</div>"]
    for tid, industry in sorted(teams.items()):
        rep = reps.get(tid)
        rep_text = f" &middot; {esc(rep)}" if rep is not None else ""
        parts.append(
            "<div style='display:flex;align-items:baseline;overflow-wrap:anywhere'>"
            "<span style='flex:none;display:inline-block;width:11px;height:9px;background:transparent;"
            f"border:3px solid {colors.get(tid, tcolors.UNASSIGNED_COLOR)};margin-right:6px'></span>"
            f"<span>{esc(tid)}{rep_text} <span style='color:#666'>({esc(industry)} team)</span></span></div>"
        )
    return "".join(parts)


# --- outlines as line segments ---------------------------------------------------------------------
# Outlines are drawn with deck.gl's LineLayer (one quad per segment), not the stroke of a GeoJsonLayer /
# PolygonLayer (a PathLayer: joints, caps, miters). Measured in headless Chromium with software WebGL,
# the PathLayer strokes were the most expensive part of a map (about 2 of its 4 GPU seconds).

BORDER_TOLERANCE_DEG = 0.02
"""State borders are simplified by this much (about 2 km; a fraction of a pixel on a national map)."""
BORDER_COLOR = [170, 170, 170, 255]
LAND_COLOR = [244, 244, 241, 255]


def geojson_segments(geojson: dict, lon_shift: float = 0.0, tolerance: float = BORDER_TOLERANCE_DEG) -> pd.DataFrame:
    """Every edge of every polygon ring of a FeatureCollection (simplified): columns ``s`` and ``t``."""
    from shapely.geometry import shape

    starts: list[list[float]] = []
    ends: list[list[float]] = []
    for feature in geojson.get("features", []):
        geometry = feature.get("geometry")
        if not geometry:
            continue
        geom = shape(geometry)
        if tolerance:
            geom = geom.simplify(tolerance, preserve_topology=True)
        polygons = list(getattr(geom, "geoms", [geom]))
        for polygon in polygons:
            if polygon.geom_type != "Polygon":
                continue
            for ring in [polygon.exterior, *polygon.interiors]:
                xy = np.round(np.asarray(ring.coords, dtype=float), 3)
                if len(xy) < 2:
                    continue
                xy[:, 0] += lon_shift
                starts.extend(xy[:-1].tolist())
                ends.extend(xy[1:].tolist())
    return pd.DataFrame({"s": starts, "t": ends})


def _geojson_key(geojson: dict) -> tuple:
    """A cheap identity of a FeatureCollection: feature names/ids and vertex counts of the first rings."""
    key = []
    for i, feature in enumerate(geojson.get("features", [])):
        props = feature.get("properties") or {}
        coords = (feature.get("geometry") or {}).get("coordinates") or []
        key.append((str(props.get("name", props.get("abbr", i))), len(json.dumps(coords[:1]))))
    return tuple(key)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_segments(key: tuple, lon_shift: float, tolerance: float, _geojson: dict) -> pd.DataFrame:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return geojson_segments(_geojson, lon_shift, tolerance)


def state_layers(geojson: dict, lon_shift: float = 0.0, prefix: str = "") -> list[pdk.Layer]:
    """Land fill (a GeoJsonLayer without strokes) and state borders (a LineLayer of segments)."""
    shifted = shift_geojson(geojson, lon_shift) if lon_shift else geojson
    segments = _cached_segments(_geojson_key(geojson), float(lon_shift), BORDER_TOLERANCE_DEG, geojson)
    return [
        pdk.Layer("GeoJsonLayer", data=shifted, id=f"{prefix}states", stroked=False, filled=True,
                  get_fill_color=LAND_COLOR, pickable=False),
        pdk.Layer("LineLayer", data=segments, id=f"{prefix}state-borders", get_source_position="s",
                  get_target_position="t", get_color=BORDER_COLOR, get_width=0.8, pickable=False),
    ]


def polygon_segments(polygons: pd.DataFrame) -> pd.DataFrame:
    """The edges of every ring (holes too) of the territory polygons: columns ``s`` and ``t``."""
    starts: list[list[float]] = []
    ends: list[list[float]] = []
    for rings in polygons["polygon"]:
        for ring in rings:
            starts.extend(ring[:-1])
            ends.extend(ring[1:])
    return pd.DataFrame({"s": starts, "t": ends})


def boundary_layer(polygons: pd.DataFrame, id: str, width_px: float = 1.2,  # noqa: A002  the name pdk.Layer(id=...) uses
                   color: list[int] | None = None) -> pdk.Layer:
    """Territory borders as a LineLayer, one dark colour (:data:`SHAPE_LINE_COLOR`) unless given."""
    return pdk.Layer("LineLayer", data=polygon_segments(polygons), id=id, get_source_position="s",
                     get_target_position="t", get_color=color or SHAPE_LINE_COLOR, get_width=width_px,
                     pickable=False)


def team_outline_layers(polygons: pd.DataFrame, id: str) -> list[pdk.Layer]:  # noqa: A002  the name pdk.Layer(id=...) uses
    """Industry-team territories' outlines (:data:`TEAM_LINE_PX` wide, each in its territory's colour,
    opaque, on a white halo) over the geographic shapes: the overlap is shown, not hidden under a
    second fill. Returns the halo and the line layer."""
    segments = [(s, t, [*fill[:3], 255]) for rings, fill in zip(polygons["polygon"], polygons["fill"])
                for ring in rings for s, t in zip(ring[:-1], ring[1:])]
    data = pd.DataFrame(segments, columns=["s", "t", "color"])
    common = {"data": data, "get_source_position": "s", "get_target_position": "t", "pickable": False}
    return [pdk.Layer("LineLayer", id=f"{id}-halo", get_color=TEAM_HALO_COLOR, get_width=TEAM_HALO_PX, **common),
            pdk.Layer("LineLayer", id=id, get_color="color", get_width=TEAM_LINE_PX, **common)]


# --- geometry helpers for the side-by-side map -----------------------------------------------------


def _map_coords(coords, fn):
    """Apply ``fn(lon, lat) -> [lon, lat]`` to every position of a GeoJSON coordinates array."""
    if coords and isinstance(coords[0], (int, float)):
        return fn(coords[0], coords[1])
    return [_map_coords(c, fn) for c in coords]


def shift_geojson(geojson: dict, lon_shift: float) -> dict:
    """A copy of a GeoJSON FeatureCollection moved ``lon_shift`` degrees east (same properties)."""
    features = []
    for feature in geojson.get("features", []):
        geometry = feature.get("geometry")
        if geometry:
            geometry = {**geometry, "coordinates": _map_coords(
                geometry["coordinates"], lambda x, y: [round(x + lon_shift, 4), y])}
        features.append({**feature, "geometry": geometry})
    return {**geojson, "features": features}


def _feature_bounds(feature: dict) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def collect(x, y):
        xs.append(x)
        ys.append(y)
        return None

    geometry = feature.get("geometry")
    if not geometry:
        return None
    _map_coords(geometry["coordinates"], collect)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def geojson_near(geojson: dict, lon: np.ndarray, lat: np.ndarray, margin_deg: float = 1.0) -> dict:
    """Only the features whose bounding box meets the points' box (plus ``margin_deg``)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return {**geojson, "features": []}
    x0, x1 = float(lon[ok].min()) - margin_deg, float(lon[ok].max()) + margin_deg
    y0, y1 = float(lat[ok].min()) - margin_deg, float(lat[ok].max()) + margin_deg
    keep = []
    for feature in geojson.get("features", []):
        b = _feature_bounds(feature)
        if b is not None and b[0] <= x1 and b[2] >= x0 and b[1] <= y1 and b[3] >= y0:
            keep.append(feature)
    return {**geojson, "features": keep}


@st.cache_data(show_spinner=False, max_entries=8)
def _cached_bounds(key: tuple, _geojson: dict) -> list[tuple[float, float, float, float] | None]:  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return [_feature_bounds(feature) for feature in _geojson.get("features", [])]


def _boxes_meet(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def land_around(geojson: dict, lon: np.ndarray, lat: np.ndarray, margin_deg: float = 1.0) -> dict:
    """The features near the points (as :func:`geojson_near`) and every feature joined to them through
    touching bounding boxes: the land the accounts are on, all of it, without far-off islands (Puerto
    Rico, Hawaii, Alaska beside the lower 48, which showed in the corner of a map framed on every
    account) unless accounts are there."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    features = geojson.get("features", [])
    if not ok.any() or not features:
        return {**geojson, "features": []}
    box = (float(lon[ok].min()) - margin_deg, float(lat[ok].min()) - margin_deg,
           float(lon[ok].max()) + margin_deg, float(lat[ok].max()) + margin_deg)
    bounds = _cached_bounds(_geojson_key(geojson), geojson)
    keep = {i for i, b in enumerate(bounds) if b is not None and _boxes_meet(b, box)}
    grown = True
    while grown:
        joined = {i for i, b in enumerate(bounds) if i not in keep and b is not None
                  and any(_boxes_meet(b, bounds[j]) for j in keep)}
        keep |= joined
        grown = bool(joined)
    return {**geojson, "features": [f for i, f in enumerate(features) if i in keep]}


def clip_geojson(geojson: dict, box: tuple[float, float, float, float]) -> dict:
    """The features cut to a (west, south, east, north) box; features outside it are left out."""
    from shapely.geometry import mapping, shape

    frame = shapely.box(*box)
    features = []
    for feature in geojson.get("features", []):
        geometry = feature.get("geometry")
        if not geometry:
            continue
        cut = shapely.intersection(shape(geometry), frame)
        if not cut.is_empty and cut.geom_type in ("Polygon", "MultiPolygon"):
            features.append({**feature, "geometry": mapping(cut)})
    return {**geojson, "features": features}


def geojson_lon_range(geojson: dict) -> tuple[float, float] | None:
    """(west, east) longitude of all features, or None when there are none."""
    bounds = [b for b in (_feature_bounds(f) for f in geojson.get("features", [])) if b is not None]
    if not bounds:
        return None
    return min(b[0] for b in bounds), max(b[2] for b in bounds)


SIDE_BY_SIDE_MAX_SPAN_DEG = 150.0
"""Wider data than this (longitude) cannot sit twice side by side on one Web-Mercator map."""
PAIR_GAP = 0.08
"""The gap between the before and after copies, as a share of one copy's longitude span (about 30 px
for the lower 48 at 1366 px: the copies read as two maps; 0.15 left the pair a third narrower)."""
PAIR_FILL = 0.96
"""Share of the canvas width the pair (both copies and the gap, state outlines included) spans: each
copy fills its half but for a little air for the labels on the outer coasts. With 0.88 of 95% of the
width, framed on the accounts, the lower 48 filled 72% of each half at 1500 px (82% at 1366)."""


# --- the map --------------------------------------------------------------------------------------


def _heat_layer(
    accounts: pd.DataFrame, heatmap: str, cache_key: str | None, layer_prefix: str
) -> tuple[pdk.Layer, np.ndarray, int]:
    """The H3 heatmap layer of :func:`build_account_map`, its bin edges and its H3 resolution."""
    if cache_key is None:
        cells, heat_res = heat_cells(accounts, heatmap)
    else:
        cells, heat_res = _cached_heat_cells(cache_key, heatmap, accounts)
    heat_edges = heat_bins(cells["value"])
    cells["color"] = _heat_colors(cells["value"], heat_edges)
    layer = pdk.Layer(
        "H3HexagonLayer",
        data=cells[["hex", "color", "tip"]],
        id=f"{layer_prefix}heat",
        get_hexagon="hex",
        get_fill_color="color",
        extruded=False,
        filled=True,
        stroked=False,  # no PathLayer: cell borders cost more software-WebGL time than they help
        pickable=True,
    )
    return layer, heat_edges, heat_res


def _outline_layers(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None,
    colors: dict[str, str],
    rgb: dict,
    heatmap: str,
    cache_key: str | None,
    lon_shift: float,
    layer_prefix: str,
    shapes: geography.TerritoryShapes | None,
    clip: tuple[float, float, float, float] | None = None,
) -> tuple[list[pdk.Layer], str | None]:
    """The territory boundaries of :func:`build_account_map` (filled shapes and their borders) and the
    note :func:`territory_polygons` gives."""
    if cache_key is None:
        polygons, outline_note = territory_polygons(accounts, labels, rgb, territories, shapes, clip)
    else:
        if shapes is None:
            shapes = cached.territory_shapes(cache_key, accounts, labels)
        polygons, outline_note = _cached_polygons(cache_key, tuple(sorted(colors.items())), clip, accounts, labels,
                                                  rgb, territories, shapes)
    if len(polygons) and lon_shift:
        polygons = polygons.assign(polygon=[[[[x + lon_shift, y] for x, y in ring] for ring in rings]
                                            for rings in polygons["polygon"]])
    if not len(polygons):
        return [], outline_note
    team = polygons["team"].astype(str).str.len().to_numpy() > 0
    polygons, team_polygons = polygons[~team], polygons[team]
    fill = pdk.Layer(
        "PolygonLayer",
        data=polygons,
        id=f"{layer_prefix}outlines",
        get_polygon="polygon",
        get_fill_color="fill" if heatmap == "none" else [0, 0, 0, 0],
        stroked=False,  # the borders are the LineLayer below (much cheaper to draw)
        filled=True,
        pickable=heatmap == "none",
    )
    layers = [fill, boundary_layer(polygons, id=f"{layer_prefix}outline-lines")]
    if len(team_polygons):
        layers.extend(team_outline_layers(team_polygons, id=f"{layer_prefix}team-outlines"))
    return layers, outline_note


def label_layers(accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame | None,
                 shapes: geography.TerritoryShapes | None, zoom: float, homes: pd.DataFrame, prefix: str = "",
                 lon_shift: float = 0.0, clip: tuple[float, float, float, float] | None = None,
                 bounds: tuple[float, float, float, float] | None = None, with_rep: bool = True) -> list[pdk.Layer]:
    """Every territory's label and its leader line (:func:`territory_label_layers`), anchored in its
    shape when ``shapes`` are drawn, else amid its accounts; clear of the ``homes`` rings, inside
    ``bounds`` where a spot allows."""
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return []
    near = shapely.box(*clip) if clip else shapely.box(lon[ok].min() - 1, lat[ok].min() - 1, lon[ok].max() + 1,
                                                        lat[ok].max() + 1)
    anchors = label_anchors(labels, accounts, territories, shapes, near, with_rep)
    obstacles = homes.assign(lon=homes["lon"] - lon_shift) if len(homes) and lon_shift else homes
    return territory_label_layers(anchors, zoom, obstacles if len(obstacles) else None, prefix, lon_shift, bounds)


def _geographic_labels(accounts: pd.DataFrame, labels: pd.Series, territories: pd.DataFrame | None,
                       shapes: geography.TerritoryShapes, show_outlines: bool, zoom: float, homes: pd.DataFrame,
                       prefix: str, lon_shift: float, clip, bounds, with_rep: bool = True) -> list[pdk.Layer]:
    """:func:`label_layers` when the alignment is geographic; none when owners are interleaved (their
    labels all sat at the middle of the country: the legend names them)."""
    if not shapes.geographic:
        return []
    return label_layers(accounts, labels, territories, shapes if show_outlines else None, zoom, homes, prefix,
                        lon_shift, clip, bounds, with_rep)


def build_account_map(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None = None,
    *,
    colors: dict[str, str] | None = None,
    heatmap: str = "none",
    show_outlines: bool = True,
    show_homes: bool = True,
    states_geojson: dict | None = None,
    max_points: int = MAX_POINTS,
    seed: int = 0,
    point_radius_px: float = 2.5,
    width_px: int = FRAME_WIDTH_PX,
    height_px: int = 520,
    cache_key: str | None = None,
    lon_shift: float = 0.0,
    layer_prefix: str = "",
    territory_labels: bool = True,
    legend_groups: Mapping[str, str] | None = None,
    legend_title: str = "Region",
    shapes: geography.TerritoryShapes | None = None,
    colour_note: str | None = None,
    clip: tuple[float, float, float, float] | None = None,
    point_opacity: float = 0.85,
    label_bounds: tuple[float, float, float, float] | None = None,
    label_reps: bool = True,
) -> MapView:
    """Accounts coloured by territory, territory boundaries, rep home bases, optional heatmap.

    ``width_px``/``height_px``: the expected size of the map on screen, used to frame the data.

    ``labels``: territory_id per account (index aligned with ``accounts``). ``colors``: the shared
    territory colour map (default: ``colors.territory_colors`` of the territories + labels).
    ``heatmap``: a key of :data:`HEATMAPS`. ``states_geojson``: state outlines (drawn only when some
    accounts are in the US; pass ``cached.us_states_geojson()``). Above ``max_points`` accounts a
    random sample (seeded, ``SAMPLED_POINTS``) is drawn and ``MapView.note`` says so; outlines and
    heatmaps still use all. ``cache_key``: when given (e.g. dataset fingerprint + alignment
    fingerprint + filters), the layer tables are cached under it, so reruns skip rebuilding them.
    ``lon_shift`` (degrees) moves every layer east (used by :func:`build_side_by_side` to draw two
    alignments in one deck); ``layer_prefix`` is prepended to every layer id. ``territory_labels``: name
    every territory on the map, inside its shape (:func:`territory_label_layers`: none is left out), when
    the alignment is geographic (a non-geographic one is named in the legend alone).
    ``legend_groups`` ({region: colour}, with ``colors`` giving each territory its region's colour):
    the legend lists the regions (or districts, ``legend_title``) instead of the territories.
    ``shapes``: the territories' shapes (:func:`territory.planning.geography.territory_shapes`), when
    the caller has them for more accounts than are drawn (a filtered view); default: built from these.
    ``colour_note``: what the colours mean when they are not the territories' own (load against target).
    ``clip`` (west, south, east, north): cut the shapes and place the labels within this box (a zoomed view).
    ``label_bounds`` (same form, before ``lon_shift``): labels keep inside it where they can (a copy of a pair).
    ``label_reps=False`` labels with the territory ID alone: "T17 · Underwood" ran off a 250 px map.
    """
    if heatmap not in HEATMAPS:
        raise ValueError(f"heatmap must be one of {sorted(HEATMAPS)}, got {heatmap!r}")
    if lon_shift and heatmap != "none":
        raise ValueError("a heatmap (H3 cells) cannot be shifted: use lon_shift=0")
    labels = labels.reindex(accounts.index).astype("string")
    if colors is None:
        colors = tcolors.territory_colors(tcolors.all_territory_ids(territories, labels))
    rgb = {k: tcolors.hex_to_rgb(v) for k, v in colors.items()}

    layers: list[pdk.Layer] = []
    if states_geojson is not None and _is_us(accounts):
        land = land_around(states_geojson, pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(float),
                           pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(float))
        layers.extend(state_layers(land, lon_shift, layer_prefix))

    heat_edges = None
    heat_res = None
    outline_note = None
    if heatmap != "none":
        heat_layer, heat_edges, heat_res = _heat_layer(accounts, heatmap, cache_key, layer_prefix)
        layers.append(heat_layer)

    if (show_outlines or territory_labels) and shapes is None:  # labels too: only a geographic map has them
        shapes = (geography.territory_shapes(accounts, labels) if cache_key is None
                  else cached.territory_shapes(cache_key, accounts, labels))
    if show_outlines:
        outline_layers, outline_note = _outline_layers(
            accounts, labels, territories, colors, rgb, heatmap, cache_key, lon_shift, layer_prefix, shapes, clip
        )
        layers.extend(outline_layers)

    if cache_key is None:
        points, total = _point_frame(accounts, labels, territories, rgb, max_points, seed)
    else:
        points, total = _cached_points(
            cache_key, tuple(sorted(colors.items())), max_points, seed, accounts, labels, territories, rgb
        )
    drawn = points.assign(lon=points["lon"] + lon_shift) if lon_shift else points
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=drawn,
            id=f"{layer_prefix}accounts",
            get_position=["lon", "lat"],
            get_fill_color="color",
            get_radius=1500,  # metres, clamped to a few pixels at every zoom
            radius_min_pixels=point_radius_px if heatmap == "none" else point_radius_px * 0.7,
            radius_max_pixels=point_radius_px * 2,
            opacity=point_opacity if heatmap == "none" else 0.35,
            stroked=False,
            pickable=True,
        )
    )

    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float) + lon_shift
    view = view_for(lat, lon, width_px, height_px)
    homes = home_bases(territories, rgb) if show_homes else pd.DataFrame()
    if len(homes) and clip:
        homes = homes[homes["lon"].between(clip[0], clip[2]) & homes["lat"].between(clip[1], clip[3])]
    if len(homes) and lon_shift:
        homes = homes.assign(lon=homes["lon"] + lon_shift)
    if len(homes):
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=homes,
                id=f"{layer_prefix}homes",
                get_position=["lon", "lat"],
                get_fill_color=[255, 255, 255, 255],
                get_line_color="color",
                stroked=True,
                filled=True,
                get_radius=8000,  # metres, clamped to a few pixels at every zoom
                radius_min_pixels=6,
                radius_max_pixels=9,
                get_line_width=2500,
                line_width_min_pixels=3,
                line_width_max_pixels=3,
                pickable=True,
            )
        )
    if territory_labels:
        layers.extend(_geographic_labels(accounts, labels, territories, shapes, show_outlines, view.zoom, homes,
                                         layer_prefix, lon_shift, clip, label_bounds, label_reps))

    deck = CompactDeck(
        layers=layers,
        initial_view_state=view,
        map_provider=None,  # offline: no basemap request (map_style deliberately left unset)
        tooltip=TOOLTIP,  # innerText: see the module docstring
    )
    notes = [colour_note, outline_note]
    if total > len(points):
        notes.append(f"Showing a random {len(points):,} of {total:,} accounts; boundaries and heatmaps use all.")
    missing = int(len(accounts) - total)
    if missing:
        notes.append(f"{missing:,} accounts without coordinates are not on the map.")
    note = join_notes(*notes)
    territory_ids = tcolors.all_territory_ids(None, labels)
    legend = legend_html(
        territory_ids,
        colors,
        territories,
        heat_measure=None if heatmap == "none" else heatmap,
        heat_edges=heat_edges,
        heat_resolution=heat_res,
        show_homes=bool(len(homes)),
        note=note,
        groups=legend_groups,
        groups_title=legend_title,
        teams=map_teams(shapes) if show_outlines else None,
    )
    return MapView(deck=deck, legend_html=legend, note=note, points_shown=len(points), points_total=total)


MOVED_RING_COLOR = [20, 20, 20, 230]
"""The ring around an account that changes territory, on both maps of a before/after pair."""
PAIR_POINT_OPACITY = 0.3
"""Accounts that stay are drawn this faint on a before/after pair, so the moved ones stand out."""


def moved_layer(accounts: pd.DataFrame, before: pd.Series, after: pd.Series, colors: Mapping[str, str],
                id: str, lon_shift: float = 0.0, max_points: int = SAMPLED_POINTS, seed: int = 0,  # noqa: A002  the name pdk.Layer(id=...) uses
                ) -> pdk.Layer | None:
    """Every account whose territory differs between ``before`` and ``after``, in its territory's colour
    of ``colors`` with a thin dark ring (a seeded sample of ``max_points`` when more move), with a
    tooltip saying from where to where; None when nothing moves."""
    before = before.reindex(accounts.index).astype("string")
    after = after.reindex(accounts.index).astype("string")
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    moved = (before != after).fillna(before.isna() != after.isna()) & lat.notna() & lon.notna()
    idx = accounts.index[moved.to_numpy(dtype=bool)]
    if not len(idx):
        return None
    if len(idx) > max_points:
        idx = pd.Index(np.sort(np.random.default_rng(seed).choice(np.asarray(idx), size=max_points, replace=False)))
    name = accounts.loc[idx, schema.NAME] if schema.NAME in accounts else accounts.loc[idx, schema.ACCOUNT_ID]
    own = after if lon_shift else before  # each copy shows the account in its own territory's colour
    grey = tcolors.hex_to_rgb(tcolors.UNASSIGNED_COLOR)
    data = pd.DataFrame({
        "color": [tcolors.hex_to_rgb(colors[t]) if isinstance(t, str) and t in colors else grey
                  for t in own.loc[idx].tolist()],
        "lon": (lon.loc[idx] + lon_shift).round(5).to_numpy(), "lat": lat.loc[idx].round(5).to_numpy(),
        "tip": (_text_series(name) + "\nMoves: " + _text_series(before.loc[idx], "unassigned") + " \u2192 "
                + _text_series(after.loc[idx], "unassigned")).tolist(),
    })
    return pdk.Layer("ScatterplotLayer", data=data, id=id, get_position=["lon", "lat"], filled=True, stroked=True,
                     get_fill_color="color", get_line_color=MOVED_RING_COLOR, get_radius=2500, radius_min_pixels=3,
                     radius_max_pixels=7, line_width_min_pixels=1, line_width_max_pixels=1, pickable=True)


def _is_label_layer(layer: pdk.Layer) -> bool:
    return layer.id.endswith(("territory-labels", "label-leaders"))


def _before_labels(layers: list[pdk.Layer], extra: pdk.Layer | None) -> list[pdk.Layer]:
    """``layers`` with ``extra`` put in before the territory labels and their leader lines."""
    if extra is None:
        return list(layers)
    first_label = next((i for i, layer in enumerate(layers) if _is_label_layer(layer)), len(layers))
    return [*layers[:first_label], extra, *layers[first_label:]]


def build_side_by_side(
    accounts: pd.DataFrame,
    left_labels: pd.Series,
    right_labels: pd.Series,
    left_territories: pd.DataFrame | None = None,
    right_territories: pd.DataFrame | None = None,
    *,
    colors: dict[str, str],
    left_colors: dict[str, str] | None = None,
    states_geojson: dict | None = None,
    left_key: str | None = None,
    right_key: str | None = None,
    gap: float = PAIR_GAP,
    width_px: int = 1000,
    height_px: int = 340,
    left_shapes: geography.TerritoryShapes | None = None,
    right_shapes: geography.TerritoryShapes | None = None,
    clip: tuple[float, float, float, float] | None = None,
    **kwargs,
) -> MapView | None:
    """Two alignments of the same accounts in ONE deck: ``left`` as is, ``right`` moved east.

    One deck means one WebGL context in the browser: its shaders compile once instead of twice
    (with software WebGL that was most of the Rebalance page's time). Panning and zooming move both
    copies together. The right copy is moved by the data's longitude span plus ``gap`` of it; state
    outlines are limited to the states near the accounts, so a far-off state (Alaska beside a
    lower-48 dataset) cannot overlap the other copy. Returns None when the data spans more than
    :data:`SIDE_BY_SIDE_MAX_SPAN_DEG` of longitude (draw two maps instead). The returned view's
    note is the right map's (e.g. sampling). ``colors``: the right map's; ``left_colors``: the left
    map's when they differ (each alignment's own neighbour colours), by default the same. Accounts that
    change territory are ringed on both copies (:func:`moved_layer`).

    A zoomed pair (one area of the map on both sides): pass the accounts in that area, its box as ``clip``
    (west, south, east, north; shapes and state outlines are cut there, and the copies sit one box apart)
    and the whole alignments' shapes as ``left_shapes`` / ``right_shapes``.
    """
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    west, east = float(lon[ok].min()), float(lon[ok].max())
    states = None
    if states_geojson is not None and _is_us(accounts):
        states = geojson_near(states_geojson, lon, lat) if clip is None else clip_geojson(states_geojson, clip)
        extent = geojson_lon_range(states)
        if extent is not None:
            west, east = min(west, extent[0]), max(east, extent[1])
    if clip is not None:
        west, east = min(west, clip[0]), max(east, clip[2])
    span = max(east - west, 0.05)
    if span > SIDE_BY_SIDE_MAX_SPAN_DEG:
        return None
    shift = span * (1 + gap)
    # each copy's labels keep to its own half: its outlines and half the gap on either side
    bounds = (west - span * gap / 2, -85.0, east + span * gap / 2, 85.0)
    common = {"states_geojson": states, "width_px": width_px // 2, "height_px": height_px, "clip": clip,
              "point_opacity": PAIR_POINT_OPACITY, "label_bounds": bounds, **kwargs}
    left = build_account_map(accounts, left_labels, left_territories, cache_key=left_key, layer_prefix="before-",
                             colors=colors if left_colors is None else left_colors, shapes=left_shapes, **common)
    right = build_account_map(accounts, right_labels, right_territories, cache_key=right_key, colors=colors,
                              lon_shift=shift, layer_prefix="after-", shapes=right_shapes, **common)
    # Framed on the pair itself (the left copy's west edge to the right copy's east edge, outlines
    # included), with a little air for the labels at the outer coasts: each copy fills its half.
    lat_lo, lat_hi = _extent(lat[ok]) if ok.sum() >= 50 else (float(lat[ok].min()), float(lat[ok].max()))
    view = view_for(np.array([lat_lo, lat_hi]), np.array([west, east + shift]), width_px, height_px, margin=PAIR_FILL)
    # the accounts that move, ringed on both copies (on top of the points, under the labels)
    moved = [moved_layer(accounts, left_labels, right_labels, own, f"{prefix}moved", offset)
             for prefix, offset, own in (("before-", 0.0, colors if left_colors is None else left_colors),
                                         ("after-", shift, colors))]
    # both copies' labels last: the after copy's shapes must not cover a before label near the gap
    stacks = [_before_labels(copy.deck.layers, ring) for copy, ring in ((left, moved[0]), (right, moved[1]))]
    labels_last = sorted((layer for stack in stacks for layer in stack), key=_is_label_layer)  # stable
    deck = CompactDeck(
        layers=labels_last,
        initial_view_state=view,
        map_provider=None,  # offline: no basemap request (map_style deliberately left unset)
        tooltip=TOOLTIP,
    )
    # The right map's note, after the left's when it differs (outlines left out before, not after).
    own = f"Before: {left.note}" if left.note and left.note != right.note else None
    note = join_notes(own, right.note and (f"After: {right.note}" if own else right.note))
    return MapView(deck=deck, legend_html=right.legend_html, note=note,
                   points_shown=right.points_shown, points_total=right.points_total)


def render_map(view: MapView, height: int = 560, legend_width: float = 0.22, key: str | None = None) -> None:
    """Draw a :class:`MapView`: the map with its legend in a column beside it."""
    map_col, legend_col = st.columns([1 - legend_width, legend_width], gap="small")
    with map_col:
        st.pydeck_chart(view.deck, height=height, key=key)
        if view.note and esc(view.note) not in view.legend_html:  # said once: most legends carry their note
            st.caption(md_escape(view.note))  # a team note names industries from the data
    with legend_col:
        st.html(view.legend_html)


def account_map(
    accounts: pd.DataFrame,
    labels: pd.Series,
    territories: pd.DataFrame | None = None,
    *,
    height: int = 560,
    key: str | None = None,
    **kwargs,
) -> MapView:
    """Build and draw the account map (keywords as :func:`build_account_map`); returns the view."""
    if "states_geojson" not in kwargs:
        try:
            kwargs["states_geojson"] = us_states_geojson()
        except (ImportError, DataError, OSError):
            kwargs["states_geojson"] = None
    kwargs.setdefault("height_px", height)
    view = build_account_map(accounts, labels, territories, **kwargs)
    render_map(view, height=height, key=key)
    return view
