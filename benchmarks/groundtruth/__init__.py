"""Ground truth: subset design, the resumable store, filling it (locally or in worker
processes), the full-set model cache, diagnostics, and import/export of files."""
