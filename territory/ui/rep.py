"""The Rep page's pieces: the rep view cached, its tables made readable, and its printable page.

Numbers come from :func:`territory.planning.rep.rep_view`; the page (pages/rep.py) only lays them out.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from territory.data import schema
from territory.planning.basis import Basis
from territory.planning.forecast import BookingsForecast
from territory.planning.rep import RepView, rep_view
from territory.planning.review import QuarterlyReview
from territory.reporting.rep_page import build_rep_page
from territory.ui import cached, keys, state
from territory.ui import review as review_ui
from territory.ui.components import maps

MAP_WIDTH_PX, MAP_HEIGHT_PX = 370, 430
"""The Rep page's territory map: three quarters of half the page at 1500 px (its legend takes the rest)."""


@st.cache_data(show_spinner=False, max_entries=32)
def _view(dataset_key: str, labels_key: str, previous_key: str, review_key, territory_id: str, basis: Basis,  # noqa: ARG001  st.cache_data key: hashed in place of the unhashed _frames
          _accounts, _labels, _territories, _review, _forecast, _bookings, _previous, _reasons, _white) -> RepView:
    return rep_view(_accounts, _labels, territory_id, territories=_territories, review=_review, forecast=_forecast,
                    bookings=_bookings, previous=_previous, reasons=_reasons, white=_white, balance_on=basis.measure,
                    tolerance=basis.tolerance, counted=basis.mask(_accounts))


def cached_view(dataset: state.ActiveDataset, alignment: state.Alignment, territory_id: str,
                review: QuarterlyReview | None, forecast: BookingsForecast | None) -> RepView:
    """The rep view of ``territory_id`` in the alignment in use, its moves against the file's own alignment;
    its load on the alignment's own basis (what the Rebalance page or the scenario showed)."""
    previous = state.file_labels(dataset)
    result = alignment.result
    reasons = None
    if result is not None and getattr(result, "assignment", None) is not None and "reason" in result.assignment:
        reasons = pd.Series(result.assignment["reason"].to_numpy(), index=dataset.accounts.index)
    review_key = review.settings if review is not None else None  # the quota blend changes the review's figures
    return _view(dataset.fingerprint, alignment.fingerprint, cached.labels_fingerprint(previous), review_key,
                 territory_id, state.basis_of(alignment, dataset), dataset.accounts, alignment.labels,
                 dataset.territories, review, forecast, dataset.bookings, previous, reasons,
                 review_ui.cached_white_space(dataset, alignment.labels))


def territory_map(dataset: state.ActiveDataset, alignment: state.Alignment, colors: dict[str, str],
                  territory_id: str, penetration: bool) -> tuple[str, maps.MapView | None]:
    """(Markdown title, map) of one territory: its penetration hexagons, or (without bookings or potential,
    where every hexagon would read the same) its accounts in its colour; None without coordinates."""
    if penetration:
        return ("**Territory map** (penetration: last 4 quarters' bookings / potential per hexagon)",
                review_ui.penetration_map(dataset, alignment.labels, colors, territory_id, height=MAP_HEIGHT_PX))
    mine = (alignment.labels == territory_id).fillna(False).to_numpy()
    if not mine.any() or schema.LATITUDE not in dataset.accounts:
        return "**Territory map**", None
    # the shapes of the whole alignment: an owner's accounts spread over the country get no outline
    whole = cached.territory_shapes(f"{dataset.fingerprint}|{alignment.fingerprint}", dataset.accounts,
                                    alignment.labels)
    return "**Territory map**", maps.build_account_map(
        dataset.accounts[mine], alignment.labels[mine], dataset.territories, colors=colors, shapes=whole,
        states_geojson=cached.us_states_geojson(), width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT_PX)


def top_accounts_frame(view: RepView) -> pd.DataFrame:
    """The top accounts with readable headers (units in brackets)."""
    t = view.top_accounts
    frame = pd.DataFrame({"Account": t[schema.ACCOUNT_ID], "Name": t[schema.NAME], "Industry": t[schema.INDUSTRY],
                          "Revenue (USD/yr)": pd.to_numeric(t[schema.REVENUE], errors="coerce").round(0),
                          "Potential (USD/yr)": pd.to_numeric(t[schema.POTENTIAL], errors="coerce").round(0),
                          "Workload (h/yr)": pd.to_numeric(t[schema.WORKLOAD_HOURS], errors="coerce").round(0),
                          "Bookings, last 4 quarters (USD)":
                              pd.to_numeric(t["bookings_trailing_4q"], errors="coerce").round(0)})
    # a figure the data does not have (no bookings file, no revenue) is left out, not a column of "None"
    return frame.drop(columns=[c for c in frame.columns[3:] if frame[c].isna().all()])


def moves_frame(moves: pd.DataFrame) -> pd.DataFrame:
    """Accounts moving in or out with readable headers."""
    return pd.DataFrame({"Account": moves[schema.ACCOUNT_ID], "Name": moves[schema.NAME],
                         "From": moves["from_territory"], "To": moves["to_territory"],
                         "Revenue (USD/yr)": moves[schema.REVENUE].round(0), "Why": moves["reason"]})


MONEY = {c: st.column_config.NumberColumn(c, format="localized") for c in (
    "Revenue (USD/yr)", "Potential (USD/yr)", "Bookings, last 4 quarters (USD)")}


def download_ui(dataset: state.ActiveDataset, alignment: state.Alignment, view: RepView,
                review: QuarterlyReview | None, color: str) -> None:
    """The rep's page as one HTML file that prints on US Letter and opens offline (built when clicked)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in view.territory_id)

    def page() -> bytes:
        return build_rep_page(view, dataset.accounts, alignment.labels, review, cached.us_states_geojson(), color,
                              dataset.name, alignment.name).encode("utf-8")

    st.download_button("Download this page to print (HTML)", page, f"rep-{safe}.html", "text/html",
                       key=keys.REP_DOWNLOAD, on_click="ignore", icon=":material/print:",
                       help="One self-contained page (map, bookings, KPIs, top accounts, moves) that opens "
                            "offline and prints on US Letter.")
