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


def view_for(lat: np.ndarray, lon: np.ndarray, width_px: int = FRAME_WIDTH_PX, height_px: int = 520) -> pdk.ViewState:
    """A view that frames the points in a ``width_px`` x ``height_px`` map (every point but strays far
    beyond the rest, so one stray account does not zoom the map out). Web-Mercator: the world is
    512 x 2^zoom px wide."""
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
    margin = 0.88  # keep a little air around the data
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
                       "the map shows each account in the colour of its territory.")
"""Shown instead of boundaries when :attr:`TerritoryShapes.geographic` is False (the engine's test)."""
OUTSIDE_NOTE = ("{n:,} accounts lie outside the boundary of their territory (a ZIP split between territories, "
                "or a point off the coast).")
SHAPE_FILL_ALPHA = 70
"""Opacity (of 255) of a territory's fill: the land reads as the territory's colour, points stay visible."""
SHAPE_LINE_COLOR = [70, 70, 70, 220]
"""One dark line for every territory border: shared borders are drawn by both sides, so one colour
keeps them from flickering between two."""


def territory_polygons(
    accounts: pd.DataFrame, labels: pd.Series, rgb: dict[str, list[int]], territories: pd.DataFrame | None,
    shapes: geography.TerritoryShapes | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """One row per polygon of each territory's shape (:mod:`territory.planning.geography`): rings
    (``[exterior, *holes]``), fill colour and a tooltip; and a note for the map.

    ``shapes`` may come from a larger set of accounts (the whole dataset behind a filtered view):
    only the territories in ``labels`` are drawn, and only their polygons near these accounts (no
    Alaska beside a lower-48 map unless accounts are there). A non-geographic alignment gets no
    polygons and :data:`NOT_GEOGRAPHIC_NOTE`."""
    columns = ["polygon", "fill", "tip"]
    if shapes is None:
        shapes = geography.territory_shapes(accounts, labels)
    if not shapes.geographic:
        return pd.DataFrame(columns=columns), NOT_GEOGRAPHIC_NOTE
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return pd.DataFrame(columns=columns), None
    near = shapely.box(lon[ok].min() - 1, lat[ok].min() - 1, lon[ok].max() + 1, lat[ok].max() + 1)
    shown = set(labels.dropna().astype(str))
    info = boundaries.territory_properties(accounts, labels, territories)
    rows = []
    for tid, geometry in zip(shapes.territory_ids, boundaries.display_shapes(shapes)):
        if tid not in shown:
            continue
        row = info.loc[tid] if tid in info.index else None
        rep = None if row is None else row["rep_name"]
        tip = (f"Territory {tid}\nRep: {_plain(rep)}\n{0 if row is None else int(row['accounts']):,} accounts"
               f" \u00b7 {0.0 if row is None else float(row['workload_hours']):,.0f} h/yr")
        color = rgb.get(tid, [150, 150, 150])
        parts = [p for p in shapely.get_parts(geometry) if p.intersects(near)]
        for rings in boundaries.polygon_rings(shapely.MultiPolygon(parts) if parts else shapely.Polygon()):
            rows.append({"polygon": rings, "fill": [*color, SHAPE_FILL_ALPHA], "tip": tip})
    outside = shapes.outside_of(shown)
    note = OUTSIDE_NOTE.format(n=outside) if outside else None
    return pd.DataFrame(rows, columns=columns), note


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
# Candidate spots around the ring, in order of preference: (text anchor, pixel offset).
LABEL_SPOTS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("start", (11, 0)), ("end", (-11, 0)), ("start", (8, -13)), ("start", (8, 13)),
    ("end", (-8, -13)), ("end", (-8, 13)),
)


def _world_px(lat: np.ndarray, lon: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator pixel coordinates at ``zoom`` (the world is 512 x 2^zoom px)."""
    scale = 512 * 2.0**zoom
    lat_r = np.radians(np.clip(lat, -85.0, 85.0))
    x = (lon + 180.0) / 360.0 * scale
    y = (math.pi - np.log(np.tan(math.pi / 4 + lat_r / 2))) / (2 * math.pi) * scale
    return x, y


def place_home_labels(homes: pd.DataFrame, zoom: float) -> pd.DataFrame:
    """Give each home-base label a spot beside its ring where it overlaps no other ring or label.

    Greedy, west to east, at the map's initial ``zoom``: the first free spot of :data:`LABEL_SPOTS`
    wins; a label with no free spot is left out (its ring, tooltip and legend entry stay), so dense
    areas never turn into overprinted text. Adds columns ``anchor`` and ``offset``.
    """
    if homes.empty:
        return homes.assign(anchor=pd.Series(dtype=object), offset=pd.Series(dtype=object))
    x, y = _world_px(homes["lat"].to_numpy(dtype=float), homes["lon"].to_numpy(dtype=float), zoom)
    half = RING_PX / 2
    boxes = [(a - half, b - half, a + half, b + half) for a, b in zip(x, y)]  # rings are obstacles

    def free(box) -> bool:
        return all(box[2] <= o[0] or box[0] >= o[2] or box[3] <= o[1] or box[1] >= o[3] for o in boxes)

    keep, anchors, offsets = [], [], []
    for i in np.argsort(x, kind="stable"):
        width = LABEL_CHAR_PX * len(str(homes["label"].iloc[i])) + 6
        for anchor, (dx, dy) in LABEL_SPOTS:
            x0 = x[i] + dx if anchor == "start" else x[i] + dx - width
            box = (x0, y[i] + dy - LABEL_HEIGHT_PX / 2, x0 + width, y[i] + dy + LABEL_HEIGHT_PX / 2)
            if free(box):
                boxes.append(box)
                keep.append(i)
                anchors.append(anchor)
                offsets.append([dx, dy])
                break
    out = homes.iloc[keep].copy()
    out["anchor"] = anchors
    out["offset"] = offsets
    return out


def home_labels_layer(homes: pd.DataFrame, id: str = "home-labels", zoom: float | None = None) -> pdk.Layer:  # noqa: A002  the name pdk.Layer(id=...) uses
    """A TextLayer naming each home base, 12 px text beside its ring, the same size at every zoom.

    With ``zoom`` (the map's initial zoom) labels are placed by :func:`place_home_labels` (colliding
    ones left out); without it every label sits right of its ring.

    pydeck turns a plain string argument into a JavaScript expression (``"pixels"`` became
    ``"@@=pixels"``: deck.gl then sized the text in metres, so it grew with the zoom). Literal strings
    go through ``pdk.types.String``. ``character_set="auto"`` draws accented names (José) too.
    """
    lit = pdk.types.String
    if zoom is None:
        homes = homes.assign(anchor="start", offset=[[11, 0]] * len(homes))
    else:
        homes = place_home_labels(homes, zoom)
    return pdk.Layer(
        "TextLayer",
        data=homes[["lon", "lat", "label", "anchor", "offset"]],
        id=id,
        get_position=["lon", "lat"],
        get_text="label",
        get_size=12,
        size_units=lit("pixels"),
        get_color=[38, 39, 48, 255],
        get_text_anchor="anchor",  # a column: see place_home_labels
        get_alignment_baseline=lit("center"),
        get_pixel_offset="offset",
        font_family=lit("Source Sans Pro, Helvetica, Arial, sans-serif"),
        font_weight=600,
        character_set=lit("auto"),
        background=True,
        get_background_color=[255, 255, 255, 200],
        background_padding=[3, 1, 3, 1],
        pickable=False,
    )


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
def _cached_polygons(key, colors_key, _accounts, _labels, _rgb, _territories, _shapes):  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
    return territory_polygons(_accounts, _labels, _rgb, _territories, _shapes)


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
) -> str:
    """The map legend as escaped HTML: territory swatches (+ rep), home-base marker, heat ramp.
    With ``groups`` ({region or district: colour}, a map coloured by level) the swatches are the
    groups', under ``groups_title``.

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
    shown = territory_ids[:max_items]
    for tid in shown:
        rep = reps.get(tid)
        # a territory without a rep (added in a what-if, a new hire) says so instead of a bare ID
        rep_text = ("" if not reps else f" &middot; {esc(rep)}" if rep is not None
                    else " &middot; <span style='color:#888'>no rep yet</span>")
        # a long "T12 · Marcus Zimmerman" wraps under itself (was cut to "Marcus Zimme..." at 1500 px)
        parts.append(
            f"<div style='display:flex;align-items:baseline;overflow-wrap:anywhere'>"
            f"<span style='flex:none;display:inline-block;width:10px;height:10px;border-radius:50%;"
            f"background:{colors.get(tid, tcolors.UNASSIGNED_COLOR)};margin-right:6px'></span>"
            f"<span>{esc(tid)}{rep_text}</span></div>"
        )
    if len(territory_ids) > len(shown):
        parts.append(f"<div style='color:#777'>+ {len(territory_ids) - len(shown)} more</div>")
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


def geojson_lon_range(geojson: dict) -> tuple[float, float] | None:
    """(west, east) longitude of all features, or None when there are none."""
    bounds = [b for b in (_feature_bounds(f) for f in geojson.get("features", [])) if b is not None]
    if not bounds:
        return None
    return min(b[0] for b in bounds), max(b[2] for b in bounds)


SIDE_BY_SIDE_MAX_SPAN_DEG = 150.0
"""Wider data than this (longitude) cannot sit twice side by side on one Web-Mercator map."""


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
) -> tuple[list[pdk.Layer], str | None]:
    """The territory boundaries of :func:`build_account_map` (filled shapes and their borders) and the
    note :func:`territory_polygons` gives."""
    if cache_key is None:
        polygons, outline_note = territory_polygons(accounts, labels, rgb, territories, shapes)
    else:
        if shapes is None:
            shapes = cached.territory_shapes(cache_key, accounts, labels)
        polygons, outline_note = _cached_polygons(cache_key, tuple(sorted(colors.items())), accounts, labels, rgb,
                                                  territories, shapes)
    if len(polygons) and lon_shift:
        polygons = polygons.assign(polygon=[[[[x + lon_shift, y] for x, y in ring] for ring in rings]
                                            for rings in polygons["polygon"]])
    if not len(polygons):
        return [], outline_note
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
    return [fill, boundary_layer(polygons, id=f"{layer_prefix}outline-lines")], outline_note


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
    home_labels: bool = True,
    legend_groups: Mapping[str, str] | None = None,
    legend_title: str = "Region",
    shapes: geography.TerritoryShapes | None = None,
    colour_note: str | None = None,
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
    alignments in one deck); ``layer_prefix`` is prepended to every layer id. ``home_labels``: name each
    home base on the map ("T01 · Mitchell"; a TextLayer costs about 0.7 s of software-WebGL time).
    ``legend_groups`` ({region: colour}, with ``colors`` giving each territory its region's colour):
    the legend lists the regions (or districts, ``legend_title``) instead of the territories.
    ``shapes``: the territories' shapes (:func:`territory.planning.geography.territory_shapes`), when
    the caller has them for more accounts than are drawn (a filtered view); default: built from these.
    ``colour_note``: what the colours mean when they are not the territories' own (load against target).
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

    if show_outlines:
        outline_layers, outline_note = _outline_layers(
            accounts, labels, territories, colors, rgb, heatmap, cache_key, lon_shift, layer_prefix, shapes
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
            opacity=0.85 if heatmap == "none" else 0.35,
            stroked=False,
            pickable=True,
        )
    )

    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float) + lon_shift
    view = view_for(lat, lon, width_px, height_px)
    homes = home_bases(territories, rgb) if show_homes else pd.DataFrame()
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
        if home_labels:
            layers.append(home_labels_layer(homes, id=f"{layer_prefix}home-labels", zoom=view.zoom))

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
    )
    return MapView(deck=deck, legend_html=legend, note=note, points_shown=len(points), points_total=total)


def build_side_by_side(
    accounts: pd.DataFrame,
    left_labels: pd.Series,
    right_labels: pd.Series,
    left_territories: pd.DataFrame | None = None,
    right_territories: pd.DataFrame | None = None,
    *,
    colors: dict[str, str],
    states_geojson: dict | None = None,
    left_key: str | None = None,
    right_key: str | None = None,
    gap: float = 0.15,
    width_px: int = 1000,
    height_px: int = 340,
    **kwargs,
) -> MapView | None:
    """Two alignments of the same accounts in ONE deck: ``left`` as is, ``right`` moved east.

    One deck means one WebGL context in the browser: its shaders compile once instead of twice
    (with software WebGL that was most of the Rebalance page's time). Panning and zooming move both
    copies together. The right copy is moved by the data's longitude span plus ``gap`` of it; state
    outlines are limited to the states near the accounts, so a far-off state (Alaska beside a
    lower-48 dataset) cannot overlap the other copy. Returns None when the data spans more than
    :data:`SIDE_BY_SIDE_MAX_SPAN_DEG` of longitude (draw two maps instead). The returned view's
    note is the right map's (e.g. sampling).
    """
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    west, east = float(lon[ok].min()), float(lon[ok].max())
    states = None
    if states_geojson is not None and _is_us(accounts):
        states = geojson_near(states_geojson, lon, lat)
        extent = geojson_lon_range(states)
        if extent is not None:
            west, east = min(west, extent[0]), max(east, extent[1])
    span = max(east - west, 0.05)
    if span > SIDE_BY_SIDE_MAX_SPAN_DEG:
        return None
    shift = span * (1 + gap)
    common = {"colors": colors, "states_geojson": states, "width_px": width_px // 2, "height_px": height_px,
              **kwargs}
    left = build_account_map(accounts, left_labels, left_territories, cache_key=left_key,
                             layer_prefix="before-", **common)
    right = build_account_map(accounts, right_labels, right_territories, cache_key=right_key,
                              lon_shift=shift, layer_prefix="after-", **common)
    # Framed a little wider than the data, so the labels at the outer edges stay on the canvas.
    view = view_for(np.concatenate([lat, lat]), np.concatenate([lon, lon + shift]), int(width_px * 0.9), height_px)
    deck = CompactDeck(
        layers=[*left.deck.layers, *right.deck.layers],
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
        if view.note:
            st.caption(view.note)
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
