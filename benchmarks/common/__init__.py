"""The leaves every layer may use: declared fields and specs, atomic files and strict tables,
the math-library pins, provenance, the device setting, timing, shared formulas, the results
schema and the cache layout. Nothing here imports the rest of the suite (and this file imports
nothing: ``pins`` must run before numpy loads)."""
