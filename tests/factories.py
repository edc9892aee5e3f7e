"""Small hand-made inputs shared by tests of several modules: hostile text, accounts tables,
scenarios, scenario files (well-formed, or with a lying header) and a damaged scenario database."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from territory.planning import scenarios
from territory.planning.scenarios import Scenario

# --- hostile text: data that must show as typed, never as a link, an image, HTML or Markdown -----

IMAGE = "![b](https://evil.example/beacon.png)"
LINK = "[x](https://evil.example/phish)"
ANCHOR = '<a href="https://evil.example">T1</a>'
COLOUR = ":red[x]"
MATHS = "$x$"
HOSTILE = [IMAGE, LINK, ANCHOR, COLOUR, MATHS]


def make_accounts(**columns) -> pd.DataFrame:
    """Accounts A0, A1, ... with the given columns (``make_accounts(revenue=[1.0, 2.0])``)."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)]})
    for name, values in columns.items():
        frame[name] = values
    return frame


# --- scenarios, scenario files and the scenario database ------------------------------------------


def make_scenario(name: str = "Q3 plan", n: int = 6, territory_prefix: str = "T") -> Scenario:
    """A two-territory scenario of ``n`` accounts A0, A1, ..., every other one moved with a reason."""
    assignment = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "territory_id": [f"{territory_prefix}{i % 2 + 1}" for i in range(n)],
            "previous_territory_id": ["T1"] * n,
            "moved": [i % 2 == 1 for i in range(n)],
            "reason": ["" if i % 2 == 0 else "T1 was 20% over target; 3 km closer to T2" for i in range(n)],
        }
    )
    return Scenario(
        name=name,
        assignment=assignment,
        params={"n_territories": 2, "tolerance": 0.05, "balance_on": ("workload", 1.0)},
        metrics={"max_deviation_pct": 3.5, "cv": float("nan")},
        notes="Two reps, east/west",
        dataset_fingerprint="abc123",
    )


SCENARIO_HEADER = "account_id,territory_id,previous_territory_id,moved,reason\n"
SCENARIO_META = {"format": scenarios.FILE_FORMAT, "format_version": 2, "name": "Hand made", "accounts": 2}


SCENARIO_ROWS = "A1,T1,T1,False,\nA2,T2,T1,True,closer\n"


def scenario_zip(meta: object = None, csv_text: str = SCENARIO_HEADER + SCENARIO_ROWS) -> bytes:
    """A scenario file written by hand: ``meta`` as scenario.json, ``csv_text`` as assignment.csv."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scenario.json", json.dumps(SCENARIO_META if meta is None else meta))
        archive.writestr("assignment.csv", csv_text)
    return buffer.getvalue()


def declare_size(data: bytes, member: str, size: int) -> bytes:
    """The zip with ``member``'s uncompressed size rewritten to ``size`` in both of its headers."""
    out = bytearray(data)
    name = member.encode()
    for signature, field in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[start + field : start + field + 4] = size.to_bytes(4, "little")
            start += 4
    return bytes(out)


def corrupt_pages(path: Path, first: float = 0.5) -> None:
    """Overwrite the pages from ``first`` (a fraction of the file) to the end with garbage."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    start = int(len(data) // page * first) * page
    data[start:] = b"\xab" * (len(data) - start)
    path.write_bytes(bytes(data))


# --- engine inputs: strips, a tentacle, and the engine's problem of them --------------------------


def strip_accounts(widths=(10, 10, 10), rows: int = 10) -> pd.DataFrame:
    """Territories as vertical strips of a jittered grid, ``widths`` columns each (loads follow the
    widths), on the equator: away from it a row of points at one latitude is a small circle, and
    the sphere's convex hull joins the row's two ends with a chord (a neighbour edge from T1 to T3)."""
    rng = np.random.default_rng(0)
    records = []
    column = 0
    for t, width in enumerate(widths):
        for x in range(column, column + width):
            for y in range(rows):
                records.append({"latitude": 0.05 * y + rng.uniform(-0.01, 0.01),
                                "longitude": -100 + 0.05 * x + rng.uniform(-0.01, 0.01),
                                "workload_hours": 1.0, "territory_id": f"T{t + 1}"})
        column += width
    frame = pd.DataFrame(records)
    frame.insert(0, "account_id", [f"A{i:04d}" for i in range(len(frame))])
    return frame


def engine_problem(accounts: pd.DataFrame, **params):
    """The engine's prepared problem of ``accounts`` with these BalanceParams, and its neighbour graph."""
    from territory.engine.params import BalanceParams
    from territory.engine.prepare import prepare
    from territory.engine.solve import resolve_graph

    prep = prepare(accounts, BalanceParams(**params), None)
    problem = prep.problem
    return problem, resolve_graph(problem.adjacency)


def tentacle_accounts() -> pd.DataFrame:
    """T1: a block of 30 x 10 accounts and a one-row tentacle, 30 columns long (about 1,700 km),
    along the edge of T2's block (30 x 9 accounts of weight 1.2 above it). No current alignment."""
    records = []
    for x in range(60):
        for y in range(10):
            t = 0 if x < 30 or y == 0 else 1
            records.append({"latitude": 0.5 * y, "longitude": -100 + 0.5 * x, "workload_hours": 1.0 + 0.2 * t,
                            "t": t})
    frame = pd.DataFrame(records)
    frame.insert(0, "account_id", [f"A{i:04d}" for i in range(len(frame))])
    return frame


# --- map alignments: many geographic territories, and which of them share a border ----------------


def clustered_alignment(accounts: pd.DataFrame, k: int) -> pd.Series:
    """A geographic alignment of ``k`` territories (T001, ...): k-means clusters of the accounts'
    coordinates (what a rebalance into k territories looks like on a map, in a fraction of the time)."""
    from sklearn.cluster import KMeans

    xy = accounts[["latitude", "longitude"]].to_numpy(float)
    found = KMeans(k, n_init=1, random_state=0).fit(xy).labels_
    return pd.Series([f"T{c + 1:03d}" for c in found], index=accounts.index, dtype="string")


def shape_borders(shapes) -> set[tuple[str, str]]:
    """Pairs of territories whose shapes share a border of positive length (the map's neighbours)."""
    import shapely

    geoms = np.asarray(shapes.geometries, dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = set()
    for i, j in zip(left, right):
        if i < j and shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])).length > 0:
            pairs.add((shapes.territory_ids[i], shapes.territory_ids[j]))
    return pairs
