"""Data in: the canonical columns, reading and mapping CRM files, geocoding, the workload rule, the
sample, the balance measures and formula-safe spreadsheet files.

The lowest layer: it imports nothing of Territory Studio but :mod:`territory.errors`, and every
other part reads the names of :mod:`territory.data.schema`.
"""
