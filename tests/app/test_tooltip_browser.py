"""Map tooltips in Chromium: formatted text, data shown exactly as typed and never as HTML.

Found walking the app: the Quarterly review's penetration map showed "<b>Penetration 13.8%</b><br/>"
as typed (Streamlit 1.67 escapes values put into a pydeck "html" tooltip template) and would have
shown a rep "Smith & Co" as "Smith &amp; Co" (the app escaped them too). Here the sample is uploaded
through the Data page with T01's rep renamed to a hostile name with an ampersand; the mouse goes over
a hexagon and over T01's home base, found by projecting its coordinates with the map's own view.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from tests.app import test_browser as tb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

REP = "<img src=x onerror=alert(1)> & Co"
TOOLTIP = ".deck-tooltip"


def _csv(frame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _mercator(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _shown_tooltip(page) -> dict | None:
    return page.evaluate(
        """(sel) => { const t = Array.from(document.querySelectorAll(sel))
                .find(e => e.style.display !== 'none' && e.innerText.trim());
            return t ? {text: t.innerText, tags: Array.from(t.querySelectorAll('*')).map(e => e.tagName),
                        weight: getComputedStyle(t, '::first-line').fontWeight} : null; }""",
        TOOLTIP,
    )


def test_review_map_tooltips_show_formatted_text_and_names_as_typed(streamlit_server, browser):
    from territory.data import schema
    from territory.data.sample import load_sample
    from territory.ui.components import maps

    sample = load_sample()
    territories = sample.territories.copy()
    territories.loc[territories[schema.TERRITORY_ID] == "T01", schema.REP_NAME] = REP
    home = territories.set_index(schema.TERRITORY_ID).loc["T01"]
    accounts = sample.accounts
    view = maps.view_for(accounts[schema.LATITUDE].to_numpy(dtype=float),
                         accounts[schema.LONGITUDE].to_numpy(dtype=float), maps.FRAME_WIDTH_PX, 520)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        blocked = tb.open_app_offline(page, streamlit_server)
        tb.upload_dataset(page, [("accounts.csv", _csv(accounts)), ("reps.csv", _csv(territories)),
                                 ("bookings.csv", _csv(sample.bookings))])
        tb.open_nav(page, "Quarterly review")
        deck = page.locator('[data-testid="stDeckGlJsonChart"]').first
        deck.scroll_into_view_if_needed()
        page.wait_for_timeout(tb.PAINT_MS)
        assert page.locator(tb.EXCEPTION_BOX).count() == 0

        box = deck.bounding_box()
        scale = 512 * 2 ** view.zoom
        # a hexagon: sweep the middle of the map until a penetration tooltip shows
        cell = None
        for fy in np.linspace(0.3, 0.7, 5):
            for fx in np.linspace(0.3, 0.7, 9):
                page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                page.wait_for_timeout(150)
                cell = _shown_tooltip(page)
                if cell and cell["text"].startswith(("Penetration", "No potential")):
                    break
            if cell and cell["text"].startswith(("Penetration", "No potential")):
                break
        assert cell, "no hexagon tooltip found"
        assert "<b>" not in cell["text"] and "<br" not in cell["text"], cell["text"]
        assert set(cell["tags"]) <= {"BR"}, cell["tags"]  # lines, no markup
        assert int(cell["weight"]) >= 600  # the first line is the title
        assert "\nBookings (trailing 4Q): $" in cell["text"] and " in this hexagon" in cell["text"]

        # T01's home base, projected with the map's view (Web Mercator, centred on the canvas)
        x = box["x"] + box["width"] / 2 + (float(home[schema.HOME_LONGITUDE]) - view.longitude) / 360 * scale
        y = box["y"] + box["height"] / 2 - (_mercator(float(home[schema.HOME_LATITUDE]))
                                            - _mercator(view.latitude)) / (2 * math.pi) * scale
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        ring = _shown_tooltip(page)
        assert ring is not None and ring["text"].startswith("Home base"), ring
        assert f"Rep: {REP}\n" in ring["text"]  # as typed: no &amp;, no image
        assert set(ring["tags"]) <= {"BR"}
        assert page.locator("img[src='x']").count() == 0
    finally:
        context.close()
    assert blocked == []
