"""New hire in headless Chromium (#15, item 4): click a ZIP on the home-base map, the ZIP box takes
it, and *New hire* carves the new territory around it (the event names the ZIP)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from tests.app import test_browser as tb

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _clear_point(points) -> int:
    """A point no other lies near (so the click at its centre picks it and no neighbour)."""
    xy = points[["longitude", "latitude"]].to_numpy(dtype=float)
    distance, _ = cKDTree(xy).query(xy, k=2)
    return int(np.argmax(distance[:, 1]))


def test_clicking_a_zip_on_the_map_sets_the_new_hire_s_home_base(streamlit_server, browser):
    from territory.data.sample import load_sample
    from territory.ui.components.rebalance_charts import home_base_points

    sample = load_sample()
    points = home_base_points(sample.accounts, sample.accounts["territory_id"])
    index = _clear_point(points)
    zip_code = points["postal_code"].iloc[index]
    context = browser.new_context(viewport={"width": 1500, "height": 2200})
    page = context.new_page()
    try:
        blocked = tb.open_app_offline(page, streamlit_server)
        tb.open_nav(page, "Rebalance")
        page.get_by_text("Pick the home base on the map").click()  # lazy: opening it reruns the page
        tb._wait_for_rerun(page)
        page.wait_for_timeout(tb.PAINT_MS)
        dots = page.locator('[data-testid="stPlotlyChart"] g.trace.scatter').first.locator("path.point")
        assert dots.count() == len(points)
        dots.nth(index).click(force=True)
        tb._wait_for_rerun(page)
        box = page.get_by_role("textbox", name="New hire's home base (ZIP)")
        box.wait_for()
        for _ in range(40):  # the callback's value reaches the box with the rerun
            if box.input_value() == zip_code:
                break
            page.wait_for_timeout(250)
        assert box.input_value() == zip_code
        tb._screenshot(page, "rebalance-home-map")
        page.get_by_role("button", name="New hire", exact=True).click()
        tb._wait_for_rerun(page)
        page.get_by_text("Headcount 20 → 21 territories: adds T21.").wait_for(timeout=60_000)
        applied = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Applied:")
        assert f"home base ZIP {zip_code}" in applied.first.inner_text()
        assert page.locator(tb.EXCEPTION_BOX).count() == 0
        assert blocked == [], f"requests left the machine: {blocked}"
    finally:
        context.close()
