"""The KernelSM paper's cells, recipes and claims (see ``REPLICATION.md`` beside it)."""
