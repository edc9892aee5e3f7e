"""Building blocks the pages share: maps, charts and widgets (pure figure builders where possible)."""
