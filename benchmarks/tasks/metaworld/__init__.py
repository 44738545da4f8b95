"""Multi-objective RL on Meta-World MT10: units = the ten manipulation tasks; behaviour
cloning fine-tuned from a multi-task W0 (task.py, the default) or SAC (sac.py, the paper's)."""

from benchmarks.tasks.metaworld import sac, task  # noqa: F401  (register the families)
