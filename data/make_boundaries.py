"""Regenerate ``data/us_states.geojson`` (state outlines for the offline maps).

Source: US Census Bureau 2016 cartographic boundary file ``cb_2016_us_state_500k`` (public domain),
as shipped by the PyPI package ``plotly-geo`` (MIT). It is read with ``pyshp`` and simplified with
``shapely`` (tolerance 0.02 degrees, coordinates rounded to 4 decimals) into a ~0.3 MB GeoJSON
FeatureCollection with properties ``name`` ("Texas") and ``abbr`` ("TX"), one feature per state,
DC and Puerto Rico, sorted by ``abbr``.

``plotly-geo`` and ``pyshp`` are needed only to run this script, not to run Territory Studio::

    .venv/bin/python -m pip install plotly-geo pyshp
    .venv/bin/python data/make_boundaries.py [--output PATH]

The output is deterministic: running the script twice gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SIMPLIFY_DEGREES = 0.02
DECIMALS = 4
MIN_PART_AREA_DEG2 = 0.002  # drop islets smaller than ~20 km^2 after simplification
KEEP_EXTRA = frozenset({"PR"})  # territories beyond the 50 states + DC worth drawing
SHAPEFILE_STEM = "cb_2016_us_state_500k"


def _shapefile_path() -> Path:
    """The Census shapefile inside the installed ``plotly-geo`` package."""
    try:
        import _plotly_geo
    except ImportError as exc:  # pragma: no cover - only when the optional tool is missing
        raise SystemExit(
            "plotly-geo is not installed: run `.venv/bin/python -m pip install plotly-geo pyshp` first"
        ) from exc
    path = Path(_plotly_geo.__file__).resolve().parent / "package_data" / f"{SHAPEFILE_STEM}.shp"
    if not path.is_file():  # pragma: no cover
        raise SystemExit(f"{path} not found in the installed plotly-geo package")
    return path


def _round_coords(value):
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], float):
            return [round(v, DECIMALS) for v in value]
        return [_round_coords(v) for v in value]
    return value


def _simplified(geometry):
    """Simplify, snap to the 4-decimal grid, and drop islets that vanish at this scale."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    simple = shapely.set_precision(geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True), 10**-DECIMALS)
    parts = list(simple.geoms) if isinstance(simple, MultiPolygon) else [simple]
    parts = [p for p in parts if isinstance(p, Polygon) and not p.is_empty]
    largest = max(parts, key=lambda p: p.area)
    kept = [p for p in parts if p.area >= MIN_PART_AREA_DEG2] or [largest]
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def build_geojson(shapefile: Path) -> dict:
    """Read the Census shapefile and return the simplified FeatureCollection."""
    import shapefile as pyshp  # the `pyshp` package
    from shapely.geometry import mapping, shape

    reader = pyshp.Reader(str(shapefile))
    fields = [f[0] for f in reader.fields[1:]]
    features = []
    for record, shp in zip(reader.records(), reader.shapes(), strict=True):
        attrs = dict(zip(fields, record, strict=True))
        abbr = attrs["STUSPS"]
        if int(attrs["STATEFP"]) > 56 and abbr not in KEEP_EXTRA:
            continue
        geometry = mapping(_simplified(shape(shp.__geo_interface__)))
        features.append(
            {
                "type": "Feature",
                "properties": {"name": attrs["NAME"], "abbr": abbr},
                "geometry": {"type": geometry["type"], "coordinates": _round_coords(geometry["coordinates"])},
            }
        )
    features.sort(key=lambda f: f["properties"]["abbr"])
    return {"type": "FeatureCollection", "features": features}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert Census state boundaries to data/us_states.geojson.")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "us_states.geojson")
    args = parser.parse_args(argv)
    collection = build_geojson(_shapefile_path())
    args.output.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    size_kb = args.output.stat().st_size / 1024
    print(f"wrote {args.output}: {len(collection['features'])} features, {size_kb:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
