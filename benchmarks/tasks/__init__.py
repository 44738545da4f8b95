"""Benchmark task families (one file per family, registered on import)."""
