"""Territory Studio: the router. Pages live in pages/; the engine in territory/ (no Streamlit there)."""

import streamlit as st

from territory.ui import state
from territory.ui.components import widgets

st.set_page_config(page_title="Territory Studio", page_icon="static/favicon.png", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
    st.Page("pages/territories.py", title="Territories", icon=":material/grid_view:"),
    st.Page("pages/rebalance.py", title="Rebalance", icon=":material/balance:"),
    st.Page("pages/scenarios.py", title="Scenarios", icon=":material/compare_arrows:"),
    st.Page("pages/routing.py", title="Routing", icon=":material/alt_route:"),
    st.Page("pages/review.py", title="Quarterly review", icon=":material/event_note:"),
    st.Page("pages/rep.py", title="Rep page", icon=":material/badge:"),
]
pg = st.navigation(pages)
state.init_state()  # after st.navigation: see state._leave_legacy_multipage_mode
widgets.app_style()
widgets.sidebar_status()
pg.run()
