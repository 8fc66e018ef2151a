"""The registry's own read models, applied in each command's transaction (inline projections)."""
