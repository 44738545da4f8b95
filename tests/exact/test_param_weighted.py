"""Parameter-weighted attribution (METHODS.md §2.9, sanity check a): with uniform weights the
wrapper reproduces its base method's scores, intercept and self-influence, for every base and
group granularity (float64; the groups only re-associate the same sums)."""

import numpy as np
import pytest

from benchmarks.context import build_context
from benchmarks.groundtruth import open_store
from benchmarks.method import make_method
from benchmarks.spec import SpecError
from benchmarks.task import make_task

TOL_UNIFORM = 1e-10  # relative (max-abs) difference to the base method: measured <= 1e-13

BASES = [
    ("tracin", {"n_checkpoints": 2}),
    ("tracin", {"n_checkpoints": 1, "normalize": True}),
    ("trak", {"proj_dim": 16, "block_projection": "layer"}),
    ("trak", {"proj_dim": 4096, "n_models": 2}),
    ("influence", {}),
    ("influence", {"solver": "ekfac"}),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("pw-cache")))
        task = make_task("modular-addition", "tiny", {"train.steps": 20})
        store = open_store(task)
        yield task, store


def _fit(method, tiny):
    task, store = tiny
    return method.fit(build_context(task, store, method))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("granularity", ["layer", "tensor"])
@pytest.mark.parametrize(("base", "params"), BASES)
def test_uniform_weights_reproduce_the_base(tiny, base, params, granularity):
    if granularity == "tensor" and params.get("block_projection") == "layer":
        params = {**params, "block_projection": "tensor"}
    ref = _fit(make_method(base, params), tiny)
    pw = make_method("param_weighted", {"base": base, "base_params": params,
                                        "granularity": granularity, "weights": "uniform"})
    got = _fit(pw, tiny)
    assert got.state["groups"] == (3 if granularity == "layer" else 5)
    assert _rel(got.scores, ref.scores) <= TOL_UNIFORM
    assert _rel(got.intercept, ref.intercept) <= TOL_UNIFORM
    if ref.self_influence is None:
        assert got.self_influence is None
    else:
        assert _rel(got.self_influence, ref.self_influence) <= TOL_UNIFORM


def test_learned_weights_are_on_the_scaled_simplex(tiny):
    fitted = _fit(make_method("param_weighted", {"base_params": {"n_checkpoints": 2},
                                                 "steps": 50}), tiny)
    w = np.array([v for k, v in fitted.state.items() if k.startswith("w:")])
    assert len(w) == 3 and (w >= 0).all()
    np.testing.assert_allclose(w.sum(), 3.0, rtol=1e-12)
    assert fitted.state["ssl_learned"] <= fitted.state["ssl_uniform"]


@pytest.mark.parametrize(("base", "params", "field"), [
    ("tracin", {"proj_dim": 16}, "tracin.proj_dim"),
    ("trak", {"proj_dim": 16}, "trak.block_projection"),
    ("trak", {"proj_dim": 16, "block_projection": "tensor"}, "trak.block_projection"),
    ("influence", {"solver": "cg"}, "influence.solver"),
])
def test_bases_that_mix_groups_are_refused(tiny, base, params, field):
    pw = make_method("param_weighted", {"base": base, "base_params": params})
    with pytest.raises(SpecError, match=field):
        _fit(pw, tiny)


def test_bad_configs_name_the_field():
    with pytest.raises(SpecError, match=r"param_weighted.base: 'loo'.*\['influence'"):
        make_method("param_weighted", {"base": "loo"})
    with pytest.raises(SpecError, match="tracin.n_checkpoints"):
        make_method("param_weighted", {"base_params": {"n_checkpoints": 0}})
    with pytest.raises(SpecError, match="param_weighted.granularity"):
        make_method("param_weighted", {"granularity": "block"})
    with pytest.raises(SpecError, match="param_weighted.top_k"):
        make_method("param_weighted", {"top_k": 0})


def test_single_layer_models_are_skipped():
    pw = make_method("param_weighted", {})
    assert "nothing to weight" in pw.skip(make_task("digits-logreg", "tiny", {}))
    assert pw.skip(make_task("digits-mlp", "tiny", {})) is None
    assert make_method("param_weighted", {"granularity": "tensor"}).skip(
        make_task("digits-logreg", "tiny", {})) is None
