"""Planning on top of the engine: metrics of an alignment, saved scenarios, the quarterly review,
rep events (leaves, new hire), industry teams, account types that count and routing rules.

Imports :mod:`territory.data` and :mod:`territory.engine`; never reporting or the UI.
"""
