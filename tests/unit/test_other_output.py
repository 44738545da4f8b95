"""The other_output stage: retrained-label methods refitted on a stored non-primary output."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.api.method import make_method
from benchmarks.api.stage import CellInputs
from benchmarks.runner import run_cell
from benchmarks.stages.other_output import OtherOutput

METHODS = (("loo", {}), ("linear_surrogate", {"fit_type": "ridge"}), ("kernel_sm", {}),
           ("tracin", {}))


def test_rows_name_the_output_in_their_variant_and_skip_model_methods(tiny_addition):
    task, store = tiny_addition
    rows = OtherOutput("correct", METHODS).run(CellInputs(task, store, METHODS, ())).rows
    assert all(r["variant"].endswith("@correct") for r in rows)
    assert {r["metric"] for r in rows} == {"lds", "residual"}
    keys = {r["method_key"] for r in rows}
    assert make_method("tracin", {}).key not in keys  # needs the model: not from labels
    assert make_method("kernel_sm", {}).key in keys
    assert all(math.isfinite(r["value"]) or r["n_targets"] == 0 for r in rows)


def test_refitting_on_the_primary_reproduces_the_methods_own_rows(tiny_addition):
    """On the primary output the stage's LDS equals the runner's (same fit, same truth)."""
    task, store = tiny_addition
    methods = METHODS[1:2]
    rows = OtherOutput(task.primary, methods).run(CellInputs(task, store, methods, ())).rows
    own = run_cell(task, store, make_method(*methods[0]))["rows"]
    pick = {(r["metric"], r["variant"].split("@")[0]): r["value"] for r in rows}
    want = {(r["metric"], r["variant"]): r["value"] for r in own if r["split"] == "eval"
            and r["metric"] in ("lds", "residual")}
    assert set(pick) == set(want)
    for k, v in want.items():
        np.testing.assert_allclose(pick[k], v, rtol=0, atol=1e-12)


def test_an_output_the_task_does_not_store_is_refused(tiny_addition):
    task, store = tiny_addition
    with pytest.raises(ValueError, match="stores"):
        OtherOutput("return", METHODS).run(CellInputs(task, store, METHODS, ()))
