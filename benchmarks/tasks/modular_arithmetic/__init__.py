"""Modular-arithmetic tasks: the MLP models and the task family."""

from benchmarks.tasks.modular_arithmetic import task  # noqa: F401  (registers the tasks)
