"""taskattr: task attribution benchmarks from Python (a thin facade over ``benchmarks``).

* ``evaluate(task, methods, profile)``: every metric of methods on a registered task, as
  ``python -m benchmarks run`` computes them, as a DataFrame.
* ``ground_truth(task, profile)``: a task's subsets and retrained F as arrays.
* ``fit(method, masks, F)``: a surrogate method on one's own arrays; ``.scores``,
  ``.predict(masks)``.
* ``attribute(model, train, targets, method)``: a gradient method on a trained torch model.
* ``lds(pred, F)``, ``residual(pred, F)``: the suite's metrics on plain arrays.
* ``register_task(...)``: a task family of one's own (``docs/extending/task.md``).

The command line is ``taskattr`` (= ``python -m benchmarks``); docs/python.md walks through a
session.
"""

from __future__ import annotations

# isort: off
import benchmarks  # noqa: F401  first: sets the math-library pins before numpy/torch load

# isort: on
from importlib import metadata as _metadata

from taskattr.arrays import Attribution, fit, lds, residual
from taskattr.models import attribute
from taskattr.suite import GroundTruth, evaluate, ground_truth, register_task


def _version() -> str:
    """The installed distribution's version (``0+unknown`` in a checkout never installed)."""
    try:
        return _metadata.version("taskattr")
    except _metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()
__all__ = ["Attribution", "GroundTruth", "__version__", "attribute", "evaluate", "fit",
           "ground_truth", "lds", "register_task", "residual"]
