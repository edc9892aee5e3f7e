"""Territory shapes made ready to draw and to hand over: rings for maps, GeoJSON, KML, the ZIP CSV.

The shapes come from :func:`territory.planning.geography.territory_shapes`. Maps draw them
simplified together (:func:`display_shapes`: a coverage simplification, so neighbours keep one
shared border, with no gap or overlap); the files carry them unsimplified.

>>> import shapely
>>> polygon_rings(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))
[[[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]]]
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely

from territory.data import schema
from territory.data.spreadsheet import to_csv_bytes
from territory.planning.geography import TerritoryShapes, is_drawn_on_map

DISPLAY_TOLERANCE_DEG = 0.02
"""Borders on maps are simplified by this much (about 2 km, as the state borders): a fraction of a
pixel on a national map."""
EXPORT_DECIMALS = 6
"""Coordinates in files: 6 decimals of a degree (about 0.1 m)."""
GEOJSON_PROPERTIES = ("territory_id", "rep_name", "accounts", "workload_hours")
ZIP_CSV_COLUMNS = ("postal_code", "territory_id", "state")


def display_shapes(shapes: TerritoryShapes, tolerance: float = DISPLAY_TOLERANCE_DEG) -> list:
    """The shapes simplified together for a map (same order as ``shapes.territory_ids``)."""
    geoms = np.asarray(shapes.geometries, dtype=object)
    if not len(geoms):
        return []
    return list(shapely.coverage_simplify(geoms, tolerance))


def label_point(geometry, near=None) -> tuple[float, float] | None:
    """Where a territory's name goes: the point of its largest part (within ``near``, when given)
    farthest from the part's edges (the pole of inaccessibility: inside, even for a crescent),
    as (lon, lat); None for an empty shape.

    >>> label_point(shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(10, 0, 11, 1)]))
    (1.0, 1.0)
    """
    from shapely.ops import polylabel

    if near is not None:
        geometry = shapely.intersection(geometry, near)
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    largest = max(parts, key=lambda p: p.area).simplify(DISPLAY_TOLERANCE_DEG)
    point = polylabel(largest, tolerance=max(float(np.sqrt(largest.area)) / 50, 0.005))
    return round(float(point.x), 5), round(float(point.y), 5)


def polygon_rings(geometry, decimals: int = 4) -> list[list[list[list[float]]]]:
    """Each polygon of a (multi)polygon as ``[exterior, *holes]``, every ring a list of ``[lon, lat]``
    (what deck.gl's PolygonLayer and GeoJSON both take)."""
    out = []
    for polygon in shapely.get_parts(geometry):
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        rings = [polygon.exterior, *polygon.interiors]
        out.append([np.round(np.asarray(ring.coords), decimals).tolist() for ring in rings])
    return out


def outline_lines(geojson: dict | None) -> tuple[list[float | None], list[float | None]]:
    """(longitudes, latitudes) of every ring of a GeoJSON FeatureCollection's polygons, each ring ended by
    None: one plotly line trace draws them all (the state outlines under a scatter map).

    >>> outline_lines({"features": [{"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1]]]}}]})
    ([0, 1, 0, None], [0, 0, 1, None])
    """
    xs: list[float | None] = []
    ys: list[float | None] = []
    for feature in (geojson or {}).get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        for polygon in [polygons] if geometry.get("type") == "Polygon" else polygons:
            for ring in polygon:
                xs += [p[0] for p in ring] + [None]
                ys += [p[1] for p in ring] + [None]
    return xs, ys


def territory_properties(accounts: pd.DataFrame, labels: pd.Series,
                         territories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per territory (index territory_id): rep_name, accounts and workload_hours (h/yr)."""
    lab = labels.reindex(accounts.index).astype("string")
    workload = (pd.to_numeric(accounts[schema.WORKLOAD_HOURS], errors="coerce").fillna(0.0)
                if schema.WORKLOAD_HOURS in accounts else pd.Series(0.0, index=accounts.index))
    frame = pd.DataFrame({"t": lab, "w": workload}).dropna(subset=["t"])
    table = frame.groupby("t").agg(accounts=("w", "size"), workload_hours=("w", "sum"))
    table.index = table.index.astype(str)
    reps: dict[str, str] = {}
    if territories is not None and schema.REP_NAME in territories:
        reps = {str(t): r for t, r in zip(territories[schema.TERRITORY_ID], territories[schema.REP_NAME])
                if not pd.isna(r)}
    table.insert(0, "rep_name", table.index.map(lambda t: reps.get(t)))
    return table


def _on_export_grid(shapes: TerritoryShapes) -> list:
    """The shapes snapped to the files' grid of :data:`EXPORT_DECIMALS` (GEOS snap-rounding keeps them
    valid: rounding the coordinates alone made two pieces of Florida's border cross)."""
    geoms = np.asarray(shapes.geometries, dtype=object)
    return list(shapely.set_precision(geoms, 10.0 ** -EXPORT_DECIMALS)) if len(geoms) else []


def _properties(shapes: TerritoryShapes, info: pd.DataFrame | None) -> list[dict]:
    """One property row per territory of ``shapes`` (only the IDs when ``info`` is None)."""
    return _with_info([{"territory_id": tid} for tid in shapes.territory_ids], info)


def _with_info(rows: list[dict], info: pd.DataFrame | None) -> list[dict]:
    if info is None:
        return rows
    out = []
    for props in rows:
        tid = props["territory_id"]
        row = info.loc[tid] if tid in info.index else None
        out.append({
            "territory_id": tid,
            "rep_name": None if row is None or pd.isna(row["rep_name"]) else str(row["rep_name"]),
            "accounts": 0 if row is None else int(row["accounts"]),
            "workload_hours": 0.0 if row is None else round(float(row["workload_hours"]), 2),
            **{k: v for k, v in props.items() if k != "territory_id"},
        })
    return out


def _layers(shapes: TerritoryShapes) -> list[tuple[list, list[dict]]]:
    """(geometries on the export grid, properties) of the geographic territories, then of each industry
    team's, whose properties also name the team (``industry_team``): they overlap the geographic ones."""
    out = [(_on_export_grid(shapes), _properties(shapes, None))]
    for team in shapes.teams:
        props = [{**row, "industry_team": team.industry} for row in _properties(team.shapes, None)]
        out.append((_on_export_grid(team.shapes), props))
    return out


def shapes_geojson(shapes: TerritoryShapes, info: pd.DataFrame) -> dict:
    """A GeoJSON FeatureCollection (WGS84), one MultiPolygon feature per territory, with the
    properties of :data:`GEOJSON_PROPERTIES` (``info``: :func:`territory_properties`). Industry-team
    territories follow the geographic ones with ``industry_team`` too (their features overlap the
    geographic ones by design)."""
    features = []
    for geometries, rows in _layers(shapes):
        for geometry, props in zip(geometries, _with_info(rows, info)):
            features.append({"type": "Feature", "properties": props,
                             "geometry": {"type": "MultiPolygon",
                                          "coordinates": polygon_rings(geometry, EXPORT_DECIMALS)}})
    return {"type": "FeatureCollection", "features": features}


def shapes_geojson_bytes(shapes: TerritoryShapes, info: pd.DataFrame) -> bytes:
    """:func:`shapes_geojson` as compact UTF-8 JSON."""
    return json.dumps(shapes_geojson(shapes, info), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _kml_color(hex_color: str, alpha: int) -> str:
    """KML's aabbggrr from '#rrggbb'."""
    r, g, b = hex_color[1:3], hex_color[3:5], hex_color[5:7]
    return f"{alpha:02x}{b}{g}{r}"


def _kml_ring(ring: list[list[float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in ring)


def shapes_kml(shapes: TerritoryShapes, info: pd.DataFrame, colors: dict[str, str]) -> str:
    """A KML document (opens in Google Earth): one styled placemark per territory, its polygons in
    a MultiGeometry, its rep, accounts and workload in the description (an industry team's territory:
    an outline without fill, its team named). Text is XML-escaped."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<kml xmlns="http://www.opengis.net/kml/2.2">',
             "<Document>", "<name>Territories</name>"]
    placed = [(g, p) for geometries, rows in _layers(shapes) for g, p in zip(geometries, _with_info(rows, info))]
    for i, (geometry, props) in enumerate(placed):
        color = colors.get(props["territory_id"], "#888888")
        team = props.get("industry_team")
        # a team territory is an outline over the geographic fills (it overlaps them by design)
        line, fill = (4, _kml_color(color, 0)) if team else (1.5, _kml_color(color, 110))
        parts.append(f'<Style id="t{i}"><LineStyle><color>{_kml_color(color, 255)}</color><width>{line}</width>'
                     f"</LineStyle><PolyStyle><color>{fill}</color></PolyStyle></Style>")
        description = (f"Rep: {props['rep_name'] or '-'}; {props['accounts']:,} accounts; "
                       f"{props['workload_hours']:,.0f} h/yr workload"
                       + (f"; {team} team: overlaps the geographic territories by design" if team else ""))
        polygons = []
        for rings in polygon_rings(geometry, EXPORT_DECIMALS):
            inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r)}</coordinates></LinearRing>"
                            "</innerBoundaryIs>" for r in rings[1:])
            polygons.append(f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_ring(rings[0])}"
                            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>")
        parts.append(f"<Placemark><name>{escape(props['territory_id'])}</name>"
                     f"<description>{escape(description)}</description><styleUrl>#t{i}</styleUrl>"
                     f"<MultiGeometry>{''.join(polygons)}</MultiGeometry></Placemark>")
    parts.extend(["</Document>", "</kml>"])
    return "\n".join(parts)


def zip_csv_bytes(table: pd.DataFrame) -> bytes:
    """The ZIP table as ``postal_code,territory_id,state`` CSV (formula-safe, UTF-8 with a BOM)."""
    return to_csv_bytes(table[list(ZIP_CSV_COLUMNS)])


GEOGRAPHY_FORMATS: dict[str, str] = {
    "geojson": "GeoJSON: one MultiPolygon per territory (WGS84)",
    "kml": "KML: one placemark per territory (Google Earth)",
    "csv": "CSV: postal_code,territory_id,state for every US ZIP",
}
"""The geography downloads, by file suffix (the CLI's ``geography --output`` and the app's buttons)."""
MIME_TYPES = {"geojson": "application/geo+json", "kml": "application/vnd.google-earth.kml+xml", "csv": "text/csv"}


BY_OWNER = ("these territories are by owner, not by area (each one's accounts are spread across the country, "
            "among the others')")
"""Why an alignment that is not drawn on a map (:func:`has_territory_shapes` False) has no shapes to hand
over: the app's note in place of the geography downloads and the CLI's ``geography`` warning."""


def has_territory_shapes(accounts: pd.DataFrame, labels: pd.Series) -> bool:
    """Whether the geography files describe this alignment: True when its territories are areas on a
    map; False when they are by owner (round robin, named accounts), where each territory's "shape"
    would be pieces all over the country and a ZIP code holds accounts of several territories. The test
    the maps use to draw no boundaries (:func:`territory.planning.geography.is_drawn_on_map`), without
    building the shapes, so a page can decide whether to offer the files at all."""
    return is_drawn_on_map(accounts, labels)


def geography_bytes(fmt: str, shapes: TerritoryShapes, accounts: pd.DataFrame, labels: pd.Series,
                    territories: pd.DataFrame | None = None) -> bytes:
    """The file of format ``fmt`` (a key of :data:`GEOGRAPHY_FORMATS`) for these shapes and accounts.
    The CSV is empty of rows when no account is in the US (there is no ZIP to own)."""
    from territory.planning.geography import zip_territory_table
    from territory.reporting.colors import alignment_colors

    if fmt not in GEOGRAPHY_FORMATS:
        raise ValueError(f"format must be one of {sorted(GEOGRAPHY_FORMATS)}, got {fmt!r}")
    if fmt == "csv":
        return zip_csv_bytes(zip_territory_table(shapes))
    info = territory_properties(accounts, labels, territories)
    if fmt == "geojson":
        return shapes_geojson_bytes(shapes, info)
    colors = alignment_colors(accounts, labels, territories)
    return shapes_kml(shapes, info, colors).encode("utf-8")
