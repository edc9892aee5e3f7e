"""Large datasets: what travels to the browser stays bounded (sampled or aggregated), and the maps'
home-base labels and side-by-side before/after map are built right.

Speed itself is measured in the browser by ``benchmarks/bench_app.py``, not asserted here: these
tests catch the regressions that made pages slow at 100,000 accounts (every account sent as a map
point or as a point of an 80/20 curve).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.data import schema
from territory.reporting import colors as tcolors
from territory.ui import state
from territory.ui.components import charts, maps
from tests.app.apptest import uploaded

REPO_ROOT = Path(__file__).resolve().parents[2]
N_LARGE = 100_000


@pytest.fixture(scope="module")
def large(sample):
    """The sample copied 20 times (coordinates jittered, new IDs, bookings copied too): 100,000 accounts."""
    rng = np.random.default_rng(1)
    copies = -(-N_LARGE // len(sample.accounts))
    accounts, bookings = [], []
    for r in range(copies):
        a = sample.accounts.copy()
        a[schema.ACCOUNT_ID] = a[schema.ACCOUNT_ID].astype(str) + f"-{r}"
        if r:
            a[schema.LATITUDE] = a[schema.LATITUDE] + rng.normal(0, 0.08, len(a))
            a[schema.LONGITUDE] = a[schema.LONGITUDE] + rng.normal(0, 0.08, len(a))
        accounts.append(a)
        b = sample.bookings.copy()
        b["account_id"] = b["account_id"].astype(str) + f"-{r}"
        bookings.append(b)
    accounts = pd.concat(accounts, ignore_index=True).head(N_LARGE)
    return accounts, sample.territories, pd.concat(bookings, ignore_index=True)


def app_with(large, page: str):
    """The router with the large dataset active (as after "Use this dataset"), switched to ``page``."""
    from streamlit.testing.v1 import AppTest

    accounts, territories, bookings = large
    territories = state.territories_for(accounts, territories)
    dataset, alignment = uploaded("large.csv", accounts, territories, bookings)
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=240).run()
    at.session_state[state.DATASET_KEY] = dataset
    at.session_state[state.ALIGNMENT_KEY] = alignment
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def layer(spec: dict, layer_id: str) -> dict:
    return next(lay for lay in spec["layers"] if lay["id"] == layer_id)


def test_overview_at_100k_sends_a_sample_of_points_and_says_so(large):
    at = app_with(large, "pages/overview.py")
    assert {m.label: m.value for m in at.metric}["Accounts"] == f"{N_LARGE:,}"
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert len(layer(spec, "accounts")["data"]) == maps.SAMPLED_POINTS < N_LARGE
    note = f"Showing a random {maps.SAMPLED_POINTS:,} of {N_LARGE:,} accounts"
    assert any(note in h.proto.body for h in at.get("html")), "the map's legend must say it shows a sample"
    assert not any(note in c.value for c in at.caption), "said once, in the legend, not again under the map"
    # boundaries use every account: 20 territories, each one or more polygons of its own
    assert len({row["tip"].split("\n")[0] for row in layer(spec, "outlines")["data"]}) == 20
    # Lines are LineLayers: a stroked GeoJson/Polygon layer (a PathLayer) cost about 2 s of software WebGL.
    for lay in spec["layers"]:
        if lay["@@type"] in ("GeoJsonLayer", "PolygonLayer", "H3HexagonLayer"):
            assert lay.get("stroked") is False, f"{lay['id']} draws its outline with a PathLayer"
    assert layer(spec, "state-borders")["@@type"] == layer(spec, "outline-lines")["@@type"] == "LineLayer"
    assert len(layer(spec, "outline-lines")["data"]) >= 20 * 3


def test_review_at_100k_thins_the_80_20_curves_and_aggregates_the_map(large):
    at = app_with(large, "pages/review.py")
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    pareto = next(f for f in figures if any(t.get("name") == "All accounts" for t in f["data"]))
    for trace in pareto["data"]:
        x = trace.get("x")
        n = len(x) if isinstance(x, list) else len(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"]))
        assert n <= charts.MAX_CURVE_POINTS, f"{trace.get('name')}: {n} points sent to the browser"
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    hexes = layer(spec, "review-penetration")["data"]
    assert 0 < len(hexes) < 2_000  # H3 cells, not accounts


def test_thin_curve_keeps_the_ends_and_at_most_the_limit():
    curve = pd.DataFrame({"account_share": np.linspace(0, 1, 10_001), "value_share": np.linspace(0, 1, 10_001)})
    thin = charts.thin_curve(curve, 400)
    assert len(thin) <= 400
    assert thin.iloc[0].tolist() == [0.0, 0.0] and thin.iloc[-1].tolist() == [1.0, 1.0]
    assert charts.thin_curve(curve.head(10), 400) is not None and len(charts.thin_curve(curve.head(10), 400)) == 10


def test_side_by_side_puts_after_east_of_before_in_one_deck(sample):
    labels = sample.accounts[schema.TERRITORY_ID]
    colors = tcolors.territory_colors(sample.territories[schema.TERRITORY_ID].tolist())
    from territory.data.sample import us_states_geojson

    states = us_states_geojson()
    view = maps.build_side_by_side(sample.accounts, labels, labels, sample.territories, sample.territories,
                                   colors=colors, states_geojson=states)
    assert view is not None
    spec = json.loads(view.deck.to_json())
    before = [p["lon"] for p in layer(spec, "before-accounts")["data"]]
    after = [p["lon"] for p in layer(spec, "after-accounts")["data"]]
    assert max(before) < min(after), "the after copy must sit wholly east of the before copy"

    def lons(feature_collection):
        out = []
        maps._map_coords([f["geometry"]["coordinates"] for f in feature_collection["features"]],
                         lambda x, _y: out.append(x))
        return out

    before_states, after_states = lons(layer(spec, "before-states")["data"]), lons(layer(spec, "after-states")["data"])
    assert max(before_states) < min(after_states), "state outlines of the two copies overlap"
    assert "AK" not in {f["properties"].get("abbr") for f in layer(spec, "before-states")["data"]["features"]}
    # data spanning most of the globe cannot be doubled: the caller draws two maps
    wide = sample.accounts.head(4).assign(longitude=[-170.0, -60.0, 10.0, 170.0])
    assert maps.build_side_by_side(wide, wide[schema.TERRITORY_ID], wide[schema.TERRITORY_ID],
                                   colors=colors) is None


def test_warm_overview_fills_the_cache_the_overview_reads(sample, monkeypatch):
    """Making a dataset active computes the Overview's table and scorecard with the Overview's own keys."""
    from territory.ui import cached
    from territory.ui.components import widgets

    calls = []
    real_table, real_score = cached._territory_table, cached._scorecard
    monkeypatch.setattr(cached, "_territory_table",
                        lambda *a, **k: calls.append(("table", a[:4])) or real_table(*a, **k))
    monkeypatch.setattr(cached, "_scorecard",
                        lambda *a, **k: calls.append(("score", a[:5])) or real_score(*a, **k))
    labels = sample.accounts[schema.TERRITORY_ID].astype("string").rename(schema.TERRITORY_ID)
    dataset = state.ActiveDataset(name="s", accounts=sample.accounts, territories=sample.territories,
                                  bookings=sample.bookings, fingerprint="fp-warm")
    alignment = state.Alignment(labels=labels, name="x", fingerprint=state.labels_fingerprint(labels), created="")
    widgets.warm_overview(dataset, alignment)
    widgets.overview_figures(dataset, alignment, widgets.overview_view(dataset, alignment, [], []))
    # the page's calls use exactly the keys the warm-up used (so Streamlit serves them from the cache)
    assert [c for c in calls if c[0] == "table"][0] == [c for c in calls if c[0] == "table"][1]
    assert [c for c in calls if c[0] == "score"][0] == [c for c in calls if c[0] == "score"][1]
