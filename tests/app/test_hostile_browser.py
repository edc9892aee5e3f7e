"""Hostile names in the real app (#18, item 1): uploaded through the Data page, rendered by Streamlit's
own Markdown and plotly in Chromium, with every non-local request blocked.

A Markdown image in a territory ID would make the browser fetch its URL (recorded and failed here);
a Markdown link, an autolinked URL or an ``<a href>`` in a plotly label would leave a live link to
the outside in the page (looked for in the DOM, plotly's SVG included).
"""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest

from tests.app.test_browser import APP_ROOT, EXCEPTION_BOX, PAINT_MS, open_app_offline, open_nav, upload_dataset
from tests.factories import ANCHOR, IMAGE, LINK

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

EVIL = "evil.example"
TERRITORIES = [IMAGE, LINK, ANCHOR, "https://evil.example/bare"]


def hostile_csv() -> bytes:
    rows = []
    for i in range(40):
        rows.append({
            "account_id": f"A{i:03d}",
            "name": [IMAGE, LINK, ANCHOR, "www.evil.example", f"Plain {i}"][i % 5],
            "latitude": 40.0 + (i % 8) * 0.4, "longitude": -100.0 + (i // 8) * 0.5,
            "industry": [LINK, "Retail"][i % 2], "revenue": 1000.0 + 37 * i, "workload_hours": 20.0 + i % 7,
            "territory_id": TERRITORIES[(i // 10) % 4],
        })
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def outside_links(page) -> list[str]:
    """href / src of every element in the page (HTML and SVG) that points at the outside host."""
    return page.evaluate(
        """(evil) => Array.from(document.querySelectorAll('a, img, image, [href], [src]'))
              .map(e => e.getAttribute('href') || e.getAttribute('xlink:href') || e.getAttribute('src') || '')
              .filter(v => v.includes(evil))""",
        EVIL,
    )


def test_hostile_names_render_as_text_and_nothing_leaves_the_machine(streamlit_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    try:
        blocked = open_app_offline(page, streamlit_server)

        def open_page(title: str) -> None:
            open_nav(page, title)
            page.wait_for_timeout(PAINT_MS)
            assert page.locator(EXCEPTION_BOX).count() == 0, page.locator(EXCEPTION_BOX).first.inner_text()

        upload_dataset(page, [("hostile.csv", hostile_csv())])

        seen: dict[str, list[str]] = {}
        for title in ("Overview", "Territories", "Scenarios", "Quarterly review", "Rebalance"):
            open_page(title)
            seen[title] = outside_links(page)
        text = page.locator(APP_ROOT).inner_text()
        # The engine's note names the territories, as typed (the escapes do not show).
        assert any(t in text.replace("\u2060", "") for t in TERRITORIES), "no territory ID on the Rebalance page"
        time.sleep(0.5)  # let a late image request, if any, reach the router
    finally:
        context.close()

    assert seen == {title: [] for title in seen}, f"live links or images to the outside: {seen}"
    assert blocked == [], f"requests tried to leave the machine: {sorted(set(blocked))}"
