"""The weight-grid diagnostic (benchmarks/stages/weight_sweep.py) on the tiny modular task."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.metrics.lds import per_target_spearman
from benchmarks.oracles.fit import build_context
from benchmarks.stages.weight_sweep import simplex_grid, summary, sweep_rows

TOL_UNIFORM_LDS = 1e-9


def test_simplex_grid_is_scaled_so_uniform_is_ones():
    grid = simplex_grid(3, 10)  # steps rounded up to 12: C(14, 2) points
    assert grid.shape == (91, 3)
    np.testing.assert_allclose(grid.sum(1), 3.0)
    assert (grid >= 0).all()
    for G in (2, 3, 5):
        assert np.isclose(simplex_grid(G, 10), 1.0).all(1).sum() == 1
    assert simplex_grid(8, 10) is None  # C(23, 7) = 245,157 points: refused, not enumerated


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("sweep")))
        task = make_task("modular-addition", "tiny", {"train.steps": 20, "design.n_fit": 8,
                                                      "design.n_eval": 8, "design.loo": False})
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store


def test_uniform_grid_point_is_the_base_methods_lds(tiny):
    """The grid's uniform point reproduces the base method's LDS; non-weighted rows and
    uniform-weight wrappers are ignored."""
    task, store = tiny
    params = {"base": "tracin", "base_params": {"n_checkpoints": 2}, "steps": 5}
    df = sweep_rows(task, store, [("param_weighted", params), ("tracin", {}),
                                  ("param_weighted", {**params, "weights": "uniform"})])
    assert len(df) == 91 and df.uniform.sum() == 1
    assert json.loads(df.groups.iloc[0]) == ["embed", "hidden", "out"]
    base = make_method("tracin", {"n_checkpoints": 2})
    fitted = base.fit(build_context(task, store, base))
    masks = store.rows.masks[store.rows.index("eval")].astype(float)
    ref = np.nanmean(per_target_spearman(masks @ fitted.scores, store.mean("loss", "eval")))
    assert abs(df[df.uniform].lds.iloc[0] - ref) <= TOL_UNIFORM_LDS
    results = pd.DataFrame([{"task_key": k, "method_key": df.method_key.iloc[0], "metric": "lds",
                             "variant": "spearman", "value": v}
                            for k, v in (("other-task", 0.9), (task.spec.key, 0.5))])
    (row,) = summary(df, results).to_dict("records")
    assert row["learned"] == 0.5 and row["oracle_best"] == df.lds.max()
    assert row["unweighted"] == df[df.uniform].lds.iloc[0]
