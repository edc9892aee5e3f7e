"""Before/after figures of the Rebalance page (plotly), pure functions of plain frames.

Kept apart from territory/ui/rebalance.py (widgets and engine calls) so each can be read, and
tested, on its own. Every axis names its unit; territory colours come from territory/reporting/colors.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from territory.data import schema
from territory.reporting.boundaries import outline_lines
from territory.reporting.text import chart_escape, chart_labels

BEFORE_COLOR = "#9aa5b1"


def measure_per_territory(table: pd.DataFrame) -> pd.DataFrame:
    """territory_id, value, target of the balance measure from a ``territory_table`` frame."""
    target = pd.to_numeric(table["target"], errors="coerce")
    if "value" in table:
        value = pd.to_numeric(table["value"], errors="coerce")
    else:
        value = target * (1.0 + pd.to_numeric(table["deviation_pct"], errors="coerce") / 100.0)
    return pd.DataFrame({
        schema.TERRITORY_ID: table[schema.TERRITORY_ID].astype("string").to_numpy(),
        "value": value.to_numpy(dtype=float),
        "target": target.to_numpy(dtype=float),
    })


def distribution_figure(
    before_table: pd.DataFrame,
    after_table: pd.DataFrame,
    tolerance: float,
    colors: Mapping[str, str],
    measure_label: str,
) -> go.Figure:
    """Bars of the balance measure per territory, before (grey) and after (territory colour),
    over the tolerance band around each territory's target (after targets; before where a
    territory exists only before)."""
    before = measure_per_territory(before_table).set_index(schema.TERRITORY_ID)
    after = measure_per_territory(after_table).set_index(schema.TERRITORY_ID)
    ids = sorted(set(before.index) | set(after.index))
    target = after["target"].reindex(ids).fillna(before["target"].reindex(ids))
    ticks = chart_labels(ids)  # plotly reads HTML in category labels: the IDs are shown as typed
    fig = go.Figure()
    fig.add_bar(
        x=ticks, y=(target * 2 * tolerance).to_numpy(), base=(target * (1 - tolerance)).to_numpy(),
        width=0.92, marker={"color": "rgba(46, 160, 67, 0.22)", "line": {"width": 0}},
        name=f"Target ±{tolerance:.0%}", hoverinfo="skip",
    )
    fig.add_bar(
        x=ticks, y=before["value"].reindex(ids).to_numpy(), offset=-0.4, width=0.38,
        marker={"color": BEFORE_COLOR}, name="Before",
        hovertemplate="%{x} before: %{y:,.0f}<extra></extra>",
    )
    fig.add_bar(
        x=ticks, y=after["value"].reindex(ids).to_numpy(), offset=0.02, width=0.38,
        marker={"color": [colors.get(t, "#444444") for t in ids]}, name="After",
        hovertemplate="%{x} after: %{y:,.0f}<extra></extra>",
    )
    fig.add_scatter(
        x=ticks, y=target.to_numpy(), mode="markers", name="Target",
        marker={"symbol": "line-ew", "size": 18, "line": {"width": 2, "color": "#1b5e20"}},
        hovertemplate="%{x} target: %{y:,.0f}<extra></extra>",
    )
    fig.update_layout(
        barmode="overlay", height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis_title="Territory", yaxis_title=measure_label, bargap=0.1,
    )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=ticks)
    fig.update_yaxes(tickformat=",")  # 3,000 h, not 3000
    return fig


def transfer_matrix(before: pd.Series, after: pd.Series, weight: pd.Series | None = None) -> pd.DataFrame:
    """Moved accounts (or the sum of ``weight``) from each territory (rows) to each other (columns).

    Only territories that lose or gain an account appear; the diagonal (stayed) is left out.
    """
    frame = pd.DataFrame({"from": before.astype("string"), "to": after.astype("string")})
    frame = frame.fillna("(none)")
    frame["w"] = 1.0 if weight is None else pd.to_numeric(weight, errors="coerce").fillna(0.0)
    frame = frame[frame["from"] != frame["to"]]
    if frame.empty:
        return pd.DataFrame(dtype=float)
    matrix = frame.pivot_table(index="from", columns="to", values="w", aggfunc="sum", fill_value=0.0)
    return matrix.sort_index().sort_index(axis=1)


def transfer_figure(counts: pd.DataFrame, revenue: pd.DataFrame | None = None) -> go.Figure:
    """Heatmap of :func:`transfer_matrix` counts, numbers written in the cells, revenue on hover."""
    z = counts.to_numpy(dtype=float)
    text = np.where(z > 0, np.vectorize(lambda v: f"{v:,.0f}")(z), "")
    custom = None
    if revenue is not None:
        custom = revenue.reindex(index=counts.index, columns=counts.columns).fillna(0.0).to_numpy() / 1e3
    fig = go.Figure(go.Heatmap(
        z=np.where(z > 0, z, np.nan), x=chart_labels(counts.columns), y=chart_labels(counts.index),
        text=text, texttemplate="%{text}", colorscale="Blues", customdata=custom,
        colorbar={"title": {"text": "accounts"}}, xgap=1, ygap=1,
        hovertemplate=(
            "from %{y} to %{x}: %{z:,.0f} accounts"
            + (", %{customdata:,.0f} k USD/year" if custom is not None else "")
            + "<extra></extra>"
        ),
    ))
    side = max(260, min(620, 28 * max(len(counts.index), len(counts.columns)) + 120))
    fig.update_layout(
        height=side, margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title="To territory (after)", yaxis_title="From territory (before)",
    )
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


_LABEL_SPOTS = {"top right": (1, 1), "bottom right": (1, -1), "top left": (-1, 1), "bottom left": (-1, -1)}
_LABEL_OFFSET = (0.05, 0.09)
"""How far a point's label sits from it, as a share of the x and y ranges of a 1000 x 360 px chart."""


def label_positions(x: np.ndarray, y: np.ndarray) -> list[str]:
    """A plotly ``textposition`` per point: the corner whose label lies furthest from every point and
    every label placed before it (at stability 0.5 and 0.6 the sample's two points sat close and "s=0.5"
    was drawn under its neighbour's marker and the current-setting ring).

    >>> label_positions(np.array([1410.0, 1455.0, 2480.0]), np.array([2.57, 2.7, 4.1]))  # two close points
    ['bottom right', 'top left', 'top right']
    """
    span = [max(float(np.ptp(v)), 1e-9) for v in (x, y)]
    points = np.column_stack([(x - x.min()) / span[0], (y - y.min()) / span[1]]) if len(x) else np.empty((0, 2))
    placed: list[np.ndarray] = []
    chosen = []
    for point in points:
        def clearance(spot: tuple[int, int], point=point) -> float:
            centre = point + np.array(spot) * _LABEL_OFFSET
            others = np.vstack([points, *placed]) if placed else points
            return float(np.min(np.hypot(*((others - centre) / _LABEL_OFFSET).T)))

        best = max(_LABEL_SPOTS, key=lambda name: clearance(_LABEL_SPOTS[name]))  # ties: the first, top right
        chosen.append(best)
        placed.append((point + np.array(_LABEL_SPOTS[best]) * _LABEL_OFFSET)[None, :])
    return chosen


def tradeoff_figure(sweep: pd.DataFrame, current_stability: float) -> go.Figure:
    """Max deviation (%) against moved accounts for each stability value; colour = travel (km).

    ``sweep`` has columns stability, max_deviation_pct, moved_accounts, weighted_mean_distance_km.
    The current stability setting is ringed.
    """
    sweep = sweep[sweep["error"].fillna("") == ""] if "error" in sweep else sweep
    sweep = sweep.sort_values("stability")
    km = sweep["weighted_mean_distance_km"].to_numpy(dtype=float)
    fig = go.Figure()
    fig.add_scatter(
        x=sweep["moved_accounts"], y=sweep["max_deviation_pct"], mode="lines+markers+text",
        text=[f"s={s:.1f}" for s in sweep["stability"]],
        textposition=label_positions(sweep["moved_accounts"].to_numpy(dtype=float),
                                     sweep["max_deviation_pct"].to_numpy(dtype=float)),
        line={"color": "#b0b7bf", "width": 1},
        customdata=np.column_stack([sweep["stability"].to_numpy(), km]),
        marker={
            "size": 14, "color": km, "colorscale": "Viridis",
            "colorbar": {"title": {"text": "mean distance<br>(km)"}}, "line": {"width": 1, "color": "#333"},
        },
        hovertemplate=(
            "stability %{customdata[0]:.2f}<br>moved %{x:,.0f} accounts<br>"
            "max deviation %{y:.1f}%<br>mean distance %{customdata[1]:,.0f} km<extra></extra>"
        ),
        showlegend=False,
    )
    current = sweep[np.isclose(sweep["stability"], current_stability)]
    if len(current):
        fig.add_scatter(
            x=current["moved_accounts"], y=current["max_deviation_pct"], mode="markers",
            marker={"size": 24, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#d62728"}},
            name="current setting", hoverinfo="skip",
        )
    fig.update_layout(
        height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="Accounts moved (count)", yaxis_title="Max deviation from target (%)",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return fig


def selection_figure(accounts: pd.DataFrame, labels: pd.Series, colors: Mapping[str, str]) -> go.Figure:
    """Accounts as a lon/lat scatter (one trace per territory) to pick with box or lasso.

    Each point carries its account_id as ``customdata``, so the selection names accounts whatever
    trace they are in. The aspect ratio follows the mean latitude, so shapes look like on a map.
    """
    lat = pd.to_numeric(accounts[schema.LATITUDE], errors="coerce")
    lon = pd.to_numeric(accounts[schema.LONGITUDE], errors="coerce")
    ids = accounts[schema.ACCOUNT_ID].astype("string")
    names = accounts[schema.NAME].astype("string").fillna("") if schema.NAME in accounts else ids
    lab = labels.reindex(accounts.index).astype("string")
    fig = go.Figure()
    for territory_id in sorted(lab.dropna().unique()):
        mask = (lab == territory_id).fillna(False).to_numpy(dtype=bool) & lat.notna().to_numpy()
        # customdata keeps the raw IDs (the selection names accounts by them); everything shown is
        # escaped, since plotly reads a few HTML tags (<a href>, <b>...) in names and hover text. The
        # hover shows the ID from customdata when it needs no escaping (the usual case: no second copy
        # of every ID travels to the browser), else from an escaped copy in ``text``.
        trace_ids = ids[mask].to_numpy(dtype=object)
        shown_ids = chart_labels(trace_ids)
        plain = shown_ids == [str(i) for i in trace_ids]
        fig.add_scattergl(
            x=lon[mask].round(4).to_numpy(), y=lat[mask].round(4).to_numpy(), mode="markers",
            name=chart_escape(territory_id), customdata=trace_ids,
            hovertext=chart_labels(names[mask]), text=None if plain else shown_ids,
            marker={"size": 5, "color": colors.get(str(territory_id), "#888888")},
            hovertemplate=("%{hovertext}<br>" + ("%{customdata}" if plain else "%{text}") + " · "
                           + chart_escape(territory_id) + "<extra></extra>"),
        )
    mid_lat = float(np.nanmean(lat)) if lat.notna().any() else 0.0
    fig.update_layout(
        height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10}, dragmode="lasso",
        xaxis_title="Longitude (°)", yaxis_title="Latitude (°)", legend_title_text="Territory (after)",
        plot_bgcolor="#fafafa",
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(mid_lat)), 0.2))
    return fig


HOME_MAP_SVG_POINTS = 5_000
"""Up to this many ZIPs the home-base map draws SVG points (each one a clickable element); above it
WebGL, which draws tens of thousands quickly."""


def home_base_points(accounts: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """One row per US ZIP of the accounts: ``postal_code``, its centroid (``latitude``, ``longitude``:
    where the engine places a typed home base), ``city``, ``accounts`` and the ``territory_id`` most of
    them are in (lowest ID on ties); sorted by ZIP. Empty when no account has a known US ZIP.

    >>> frame = pd.DataFrame({"postal_code": ["02139", "02139", "10001", "X1"]})
    >>> points = home_base_points(frame, pd.Series(["T2", "T1", "T3", "T3"]))
    >>> points[["postal_code", "accounts", "territory_id"]].values.tolist()
    [['02139', 2, 'T1'], ['10001', 1, 'T3']]
    """
    from territory.data.geocode import zip_centroids

    columns = ["postal_code", "latitude", "longitude", "city", "accounts", schema.TERRITORY_ID]
    if schema.POSTAL_CODE not in accounts:
        return pd.DataFrame(columns=columns)
    zips = accounts[schema.POSTAL_CODE].astype("string").str.strip()
    frame = pd.DataFrame({"postal_code": zips.to_numpy(dtype=object),
                          "t": labels.reindex(accounts.index).astype("string").to_numpy(dtype=object)})
    frame = frame[zips.str.fullmatch(r"[0-9]{5}").fillna(False).to_numpy() & frame["t"].notna().to_numpy()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.groupby(["postal_code", "t"]).size().rename("n").reset_index()
    counts = counts.sort_values(["postal_code", "n", "t"], ascending=[True, False, True])
    points = counts.groupby("postal_code", sort=True).agg(accounts=("n", "sum"), territory_id=("t", "first"))
    points = points.reset_index()
    place = zip_centroids(points["postal_code"])
    points = pd.concat([points, place[["latitude", "longitude", "city"]].set_axis(points.index)], axis=1)
    located = np.isfinite(points["latitude"].to_numpy(dtype=float))
    return points[located].reset_index(drop=True)[columns]


def home_base_figure(points: pd.DataFrame, colors: Mapping[str, str], states_geojson: Mapping | None = None,
                     chosen_zip: str = "") -> go.Figure:
    """The accounts' ZIPs (:func:`home_base_points`) on a longitude/latitude map to click a new hire's
    home base: each point in the colour of its ZIP's territory, ``customdata`` the ZIP (what a click
    selects), over the state outlines; ``chosen_zip`` is ringed."""
    fig = go.Figure()
    if states_geojson:
        xs, ys = outline_lines(states_geojson)
        fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line={"color": "#c8c8c8", "width": 0.7},
                                   hoverinfo="skip", showlegend=False))
    kind = go.Scatter if len(points) <= HOME_MAP_SVG_POINTS else go.Scattergl
    territory = points[schema.TERRITORY_ID].astype(str)
    hover = [f"ZIP {z}{' · ' + chart_escape(c) if isinstance(c, str) and c else ''} · {n:,} account"
             f"{'s' if n != 1 else ''} · {chart_escape(t)}"
             for z, c, n, t in zip(points["postal_code"], points["city"], points["accounts"], territory)]
    fig.add_trace(kind(
        x=points["longitude"].round(4), y=points["latitude"].round(4), mode="markers", name="ZIPs",
        customdata=points["postal_code"].astype(str).to_numpy(dtype=object), hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        marker={"size": 6, "color": [colors.get(t, "#888888") for t in territory], "opacity": 0.85},
    ))
    chosen = points[points["postal_code"] == str(chosen_zip or "").strip()]
    if len(chosen):
        fig.add_trace(go.Scatter(
            x=chosen["longitude"], y=chosen["latitude"], mode="markers", name="Home base", hoverinfo="skip",
            customdata=chosen["postal_code"].astype(str).to_numpy(dtype=object), showlegend=False,
            marker={"size": 16, "symbol": "circle-open", "color": "#d62728", "line": {"width": 3}},
        ))
    lat, lon = points["latitude"].to_numpy(dtype=float), points["longitude"].to_numpy(dtype=float)
    mid_lat = float(np.mean(lat)) if len(lat) else 0.0
    fig.update_layout(height=330, margin={"l": 0, "r": 0, "t": 0, "b": 0}, plot_bgcolor="white",
                      dragmode="pan", hovermode="closest")
    if len(lat):
        fig.update_xaxes(range=[float(lon.min()) - 1, float(lon.max()) + 1])
        fig.update_yaxes(range=[float(lat.min()) - 1, float(lat.max()) + 1])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(mid_lat)), 0.2))
    return fig
