"""Multi-objective RL on Meta-World MT10: units = the ten manipulation tasks (task.py)."""

from benchmarks.tasks.metaworld import task  # noqa: F401  (registers the family)
