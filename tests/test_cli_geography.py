"""`python -m territory geography`: GeoJSON, KML and the ZIP CSV of an alignment; bad arguments in one line."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import shapely

from territory.cli import main
from territory.data.geocode import zip_table
from territory.data.sample import load_sample


def test_geojson_has_one_feature_per_territory_and_none_overlap(tmp_path: Path, capsys) -> None:
    out = tmp_path / "territories.geojson"
    assert main(["geography", "--output", str(out)]) == 0
    assert "Wrote 20 territory shapes" in capsys.readouterr().out
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["territory_id"] for f in features] == [f"T{i:02d}" for i in range(1, 21)]
    assert set(features[0]["properties"]) == {"territory_id", "rep_name", "accounts", "workload_hours"}
    assert features[0]["properties"]["rep_name"] == "Laura Mitchell"
    sample = load_sample().accounts
    assert sum(f["properties"]["accounts"] for f in features) == len(sample)
    assert sum(f["properties"]["workload_hours"] for f in features) == pytest.approx(sample["workload_hours"].sum(),
                                                                                      abs=0.5)
    shapes = [shapely.geometry.shape(f["geometry"]) for f in features]
    assert all(s.is_valid and s.area > 0 for s in shapes)
    overlap = sum(shapes[i].intersection(shapes[j]).area for i in range(20) for j in range(i + 1, 20))
    assert overlap < 1e-6
    minx, miny, maxx, maxy = shapely.union_all(shapes).bounds
    assert -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90  # WGS84 longitude, latitude


def test_csv_has_every_zip_once_and_agrees_with_the_shapes(tmp_path: Path) -> None:
    out = tmp_path / "zips.csv"
    assert main(["geography", "-o", str(out)]) == 0
    table = pd.read_csv(io.BytesIO(out.read_bytes()), dtype=str, encoding="utf-8-sig")
    assert list(table.columns) == ["postal_code", "territory_id", "state"]
    assert len(table) == int(zip_table().known.sum()) and table["postal_code"].is_unique
    assert table["territory_id"].notna().all()
    # the sample's accounts sit at ZIP centroids; their ZIP's row names their territory for almost all
    # (a ZIP split between two territories goes to the one with more of its accounts)
    sample = load_sample().accounts
    row = table.set_index("postal_code").loc[sample["postal_code"], "territory_id"].to_numpy()
    assert (row == sample["territory_id"].to_numpy()).mean() > 0.99


def test_kml_opens_as_xml_with_a_placemark_per_territory(tmp_path: Path) -> None:
    out = tmp_path / "territories.kml"
    assert main(["geography", "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    placemarks = root.findall(".//k:Placemark", ns)
    assert [p.find("k:name", ns).text for p in placemarks] == [f"T{i:02d}" for i in range(1, 21)]
    assert all(p.find(".//k:Polygon", ns) is not None for p in placemarks)


def test_a_scenario_alignment_is_written(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.sqlite")
    assert main(["balance", "-k", "22", "--save-as", "TwentyTwo", "--db", db, "--json"]) == 0
    capsys.readouterr()
    out = tmp_path / "twenty-two.geojson"
    assert main(["geography", "--scenario", "TwentyTwo", "--db", db, "-o", str(out)]) == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 22


@pytest.mark.parametrize("args,message", [
    (["-o", "x.txt"], "--output must end in .geojson, .kml or .csv"),
    (["--units", "parish", "-o", "x.csv"], "invalid choice: 'parish'"),
    (["no such file.csv", "-o", "x.csv"], "Cannot read no such file.csv"),
    ([], "the following arguments are required: --output"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, capsys, args, message) -> None:
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    try:
        code = main(["geography", *args])
    except SystemExit as stop:  # argparse's own errors exit from parse_args
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("units", ["zip", "zip3", "county", "state"])
def test_every_unit_is_accepted(tmp_path: Path, units) -> None:
    out = tmp_path / "zips.csv"
    assert main(["geography", "--units", units, "-o", str(out)]) == 0
    assert len(pd.read_csv(out, dtype=str, encoding="utf-8-sig")) == int(zip_table().known.sum())


def test_a_zip_alignment_gives_every_account_its_zips_row_and_the_scenario_remembers_its_units(tmp_path: Path,
                                                                                               capsys) -> None:
    """#13 item 3: for a `--units zip` alignment, every account's territory equals its ZIP's row."""
    db, alignment, out = str(tmp_path / "s.sqlite"), tmp_path / "by_zip.csv", tmp_path / "zips.csv"
    assert main(["balance", "--units", "zip", "-k", "24", "--save-as", "By ZIP", "--db", db,
                 "-o", str(alignment)]) == 0
    capsys.readouterr()
    assert main(["geography", "--scenario", "By ZIP", "--db", db, "-o", str(out)]) == 0  # units from the scenario
    accounts = pd.read_csv(alignment, dtype=str, encoding="utf-8-sig")
    table = pd.read_csv(out, dtype=str, encoding="utf-8-sig").set_index("postal_code")
    assert accounts.groupby("postal_code")["territory_id"].nunique().max() == 1
    row = table["territory_id"].reindex(accounts["postal_code"]).to_numpy()
    assert (row == accounts["territory_id"].to_numpy()).all()
    assert accounts["territory_id"].nunique() == 24


def test_geojson_and_kml_of_an_industry_team_alignment_add_the_team_after_the_geographic_territories(
        tmp_path: Path, capsys) -> None:
    """The sample with its Healthcare accounts in a team (HC-1 east, HC-2 west): the 20 geographic
    territories do not overlap, the team's two features follow with ``industry_team`` and overlap
    them by design; the KML draws the team as outlines without fill."""
    accounts = load_sample().accounts.copy()
    healthcare = accounts["industry"] == "Healthcare"
    east = accounts["longitude"] > -95
    accounts["territory_id"] = accounts["territory_id"].astype("string")
    accounts.loc[healthcare & east, "territory_id"] = "HC-1"
    accounts.loc[healthcare & ~east, "territory_id"] = "HC-2"
    source = tmp_path / "team.csv"
    accounts.to_csv(source, index=False)
    out = tmp_path / "team.geojson"
    assert main(["geography", str(source), "--output", str(out)]) == 0
    assert "Wrote 22 territory shapes" in capsys.readouterr().out
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    ids = [f["properties"]["territory_id"] for f in features]
    assert ids == [f"T{i:02d}" for i in range(1, 21)] + ["HC-1", "HC-2"]
    assert [f["properties"].get("industry_team") for f in features[-2:]] == ["Healthcare", "Healthcare"]
    assert "industry_team" not in features[0]["properties"]
    assert sum(f["properties"]["accounts"] for f in features) == len(accounts)
    geo = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features[:20]])
    team = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features[20:]])
    assert team.intersection(geo).area == pytest.approx(geo.area, rel=1e-3)  # the team lies over the country
    kml = tmp_path / "team.kml"
    assert main(["geography", str(source), "--output", str(kml)]) == 0
    text = kml.read_text(encoding="utf-8")
    assert text.count("<Placemark>") == 22 and "Healthcare team: overlaps the geographic territories" in text
    ET.fromstring(text.encode("utf-8"))


def test_an_alignment_by_owner_is_written_with_a_warning(tmp_path: Path, capsys) -> None:
    """Accounts dealt to eight owners in turn: the files are written as asked (exit 0), with a warning
    that such territories have no shapes of their own (the app offers no such files for them)."""
    accounts = load_sample().accounts.copy()
    accounts["territory_id"] = [f"Owner {i % 8}" for i in range(len(accounts))]
    source, out = tmp_path / "owners.csv", tmp_path / "owners.geojson"
    accounts.to_csv(source, index=False)
    assert main(["geography", str(source), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Wrote 8 territory shapes" in captured.out and out.is_file()
    assert captured.err.startswith("warning: these territories are by owner, not by area")
    assert captured.err.count("\n") == 1
    assert main(["geography", "-o", str(tmp_path / "sample.csv")]) == 0  # the sample is drawn on a map
    assert capsys.readouterr().err == ""
