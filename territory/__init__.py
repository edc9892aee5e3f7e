"""Territory Studio engine: accounts in, balanced, compact, low-disruption territories out.

Nothing in this package imports Streamlit except ``territory.ui``; a notebook gets the same
numbers as the app.
"""

__version__ = "0.1.0"
