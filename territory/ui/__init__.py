"""Streamlit-only helpers: session-state keys, cached wrappers, charts and maps.

The only part of the ``territory`` package allowed to import Streamlit.
"""
