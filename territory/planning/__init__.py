"""Planning on top of an alignment: metrics, scenarios, the quarterly review and routing rules."""
