"""In-context learning tasks with a packaged causal LM: the prompt data, the model loader
and the task family."""

from benchmarks.tasks.icl import task  # noqa: F401  (registers the tasks)
