"""Metrics (one file per metric, registered on import)."""
