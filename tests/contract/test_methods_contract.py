"""Contracts every registered method, metric and task must meet (new plugins are picked up).

Methods run on a real tiny task whose ground truth is trained once per session.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.api.context import Context, LabelSet
from benchmarks.api.evaluation import Evaluation, MetricValue
from benchmarks.api.method import Fitted, Method, Need, make_method
from benchmarks.api.registry import METHODS, METRICS, TASKS
from benchmarks.api.task import make_task
from benchmarks.common.spec import SubsetDesign
from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.oracles.fit import build_context
from benchmarks.tasks.images.sources import DataNotFoundError
from benchmarks.tasks.imported import is_imported

TASK = "modular-addition"
TINY_OVERRIDES = {"design.n_fit": 12, "design.n_eval": 8, "train.steps": 20}
MIN_SIGN_CORR = 0.9  # scores vs true coefficients of an additive synthetic F
SYNTH_K, SYNTH_M, SYNTH_T = 6, 40, 2
# needs a synthetic Context can provide; methods with other needs skip the sign check
SYNTH_NEEDS = {Need.FIT_LABELS, Need.LOO}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """(task, store) of the tiny task with every ground-truth row trained."""
    root = tmp_path_factory.mktemp("gt-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(root))
        task = make_task(TASK, "tiny", TINY_OVERRIDES)
        store = open_store(task)
        assert store.path.is_relative_to(root)
        run_ground_truth(task, store, progress=False)
    assert store.complete
    return task, store


def _method(name: str) -> Method:
    return make_method(name, dict(METHODS.get(name).tiny))


def _fit(name: str, tiny) -> tuple[Method, Fitted, np.ndarray, np.ndarray]:
    task, store = tiny
    m = _method(name)
    fitted = m.fit(build_context(task, store, m))
    preds = m.predict(fitted, store.rows.masks[store.rows.index("eval")])
    return m, fitted, np.asarray(m.scores(fitted)), np.asarray(preds)


@pytest.fixture(scope="session")
def fits(tiny):
    """One fit per method, shared by the read-only checks."""
    return {name: _fit(name, tiny) for name in METHODS.names()}


# ------------------------------------------------------------------------------------ methods


@pytest.mark.parametrize("name", METHODS.names())
def test_scores_and_predictions_shape_finite(name, tiny, fits):
    task, _ = tiny
    _, fitted, scores, preds = fits[name]
    assert isinstance(fitted, Fitted)
    assert scores.shape == (task.K, task.n_targets)
    assert preds.shape == (8, task.n_targets)
    assert np.isfinite(scores).all() and np.isfinite(preds).all()


@pytest.mark.parametrize("name", METHODS.names())
def test_self_influence_is_a_finite_unit_vector(name, tiny, fits):
    """Where a method reports self-influence (mislabel_auc), it is ``(K,)`` and finite."""
    task, _ = tiny
    own = fits[name][1].self_influence
    if own is None:
        pytest.skip(f"{name} reports no self-influence")
    assert own.shape == (task.K,) and np.isfinite(own).all()


@pytest.mark.parametrize("name", METHODS.names())
def test_fit_is_deterministic(name, tiny, fits):
    """Fitting again on the same task gives bit-identical scores and predictions."""
    _, _, scores, preds = fits[name]
    _, _, scores2, preds2 = _fit(name, tiny)
    np.testing.assert_array_equal(scores, scores2)
    np.testing.assert_array_equal(preds, preds2)


def _tuplify(value, default):
    """config() turns tuples into lists; restore them where the default is a tuple."""
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    return value


@pytest.mark.parametrize("name", METHODS.names())
def test_key_stable_and_config_round_trip(name):
    """Equal params -> equal keys; rebuilding from config() gives the same key and object."""
    m = _method(name)
    assert m.key == _method(name).key
    assert m.key.startswith(name)
    defaults = {f.name: getattr(m, f.name) for f in dataclasses.fields(m)}
    config = m.config()
    assert set(config) == set(defaults)
    rebuilt = type(m)(**{k: _tuplify(v, defaults[k]) for k, v in config.items()})
    assert rebuilt.key == m.key
    assert rebuilt == m
    assert make_method(name, config).key == m.key


@pytest.mark.parametrize("name", METHODS.names())
def test_key_changes_with_a_field(name):
    """A different value of any field gives a different key (checked on the first field)."""
    m = _method(name)
    fields = dataclasses.fields(m)
    if not fields:
        assert m.key.startswith(f"{name}-")
        return
    f = fields[0]
    value = getattr(m, f.name)
    change = {bool: lambda v: not v, int: lambda v: v + 1, float: lambda v: v * 2,
              str: lambda v: v + "x"}.get(type(value))
    if change is None:
        pytest.skip(f"no generic change for a {type(value).__name__} field")
    other = change(value)
    changed = dataclasses.replace(m, **{f.name: other})
    assert changed.key != m.key
    assert f"{f.name}=" in changed.key


@pytest.mark.parametrize("name", METHODS.names())
def test_frozen(name):
    """Methods are immutable: assigning a field raises."""
    m = _method(name)
    fields = dataclasses.fields(m)
    target = fields[0].name if fields else "anything"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(m, target, None)


@pytest.mark.parametrize("name", METHODS.names())
def test_declares_needs_and_display(name):
    """needs are Need members; display is a non-empty string."""
    m = _method(name)
    assert all(isinstance(n, Need) for n in m.needs)
    assert isinstance(m.display, str) and m.display


def test_loo_scores_are_retrained_deltas(tiny, fits):
    """LOO: scores = F(1) - F(1 - e_k) exactly, and g is exact on full and LOO rows."""
    _, store = tiny
    m, fitted, scores, _ = fits["loo"]
    full = store.mean("loss", "full")
    loo = store.mean("loss", "loo")
    np.testing.assert_array_equal(scores, full - loo)
    K = scores.shape[0]
    np.testing.assert_allclose(m.predict(fitted, np.ones((1, K), bool)), full, rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(m.predict(fitted, ~np.eye(K, dtype=bool)), loo, rtol=0,
                               atol=1e-12)


def _synthetic_ctx():
    """Additive F = 0.5 + s a on Bernoulli(0.5) masks, with LOO values; a has mixed signs."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(SYNTH_K, SYNTH_T))
    S = rng.random((SYNTH_M, SYNTH_K)) < 0.5

    def F(M):
        return 0.5 + M.astype(np.float64) @ a

    task = SimpleNamespace(spec=SimpleNamespace(design=SubsetDesign(sampler="bernoulli",
                                                                    alpha=0.5)))
    ctx = Context(task=task, seed=1, fit=LabelSet(S, F(S), float(SYNTH_M)),
                  full=F(np.ones((1, SYNTH_K), bool))[0], loo=F(~np.eye(SYNTH_K, dtype=bool)))
    return ctx, a


@pytest.mark.parametrize("name", METHODS.names())
def test_sign_convention_on_additive(name):
    """Score > 0 means including the unit raises F: scores track the true coefficients."""
    m = _method(name)
    if not m.needs <= SYNTH_NEEDS:
        pytest.skip(f"{name} needs {m.needs - SYNTH_NEEDS}, not available synthetically")
    ctx, a = _synthetic_ctx()
    scores = m.scores(m.fit(ctx))
    for t in range(SYNTH_T):
        assert np.corrcoef(scores[:, t], a[:, t])[0, 1] >= MIN_SIGN_CORR


# ------------------------------------------------------------------------------------ metrics


def _random_evaluation(seed: int, loo: bool = True) -> Evaluation:
    rng = np.random.default_rng(seed)
    m, K, T = 15, 6, 5
    masks = rng.random((m, K)) < 0.5
    return Evaluation(masks, rng.normal(size=(m, T)), rng.normal(size=(m, T)),
                      rng.normal(size=(K, T)), rng.normal(size=(K, T)) if loo else None,
                      "contract/random", self_influence=-rng.random(K),
                      flipped=np.arange(K) < 2, method_state={"re_lin": 1.5})


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_returns_finite_values(name):
    rows = METRICS.get(name)(_random_evaluation(0))
    assert rows and all(isinstance(r, MetricValue) for r in rows)
    for r in rows:
        assert math.isfinite(r.value), r.variant
        assert isinstance(r.variant, str) and r.variant and r.split
    assert len({(r.variant, r.split) for r in rows}) == len(rows)
    assert isinstance(METRICS.meta(name)["higher_is_better"], bool)


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_is_deterministic(name):
    a = METRICS.get(name)(_random_evaluation(1))
    b = METRICS.get(name)(_random_evaluation(1))
    assert [(r.variant, r.value, r.ci_low, r.ci_high) for r in a] == \
        [(r.variant, r.value, r.ci_low, r.ci_high) for r in b]


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_runs_without_loo_unless_declared(name):
    """A metric that does not declare needs_loo must work with loo_delta=None."""
    if METRICS.meta(name).get("needs_loo"):
        pytest.skip("declares needs_loo; the runner skips it without LOO rows")
    rows = METRICS.get(name)(_random_evaluation(2, loo=False))
    assert all(math.isfinite(r.value) for r in rows)


# ------------------------------------------------------------------------------------ tasks


# imported ground truth in the user's cache has no oracle and no profiles (tests/unit/test_gt_io)
BUILTIN_TASKS = [n for n in TASKS.names() if not is_imported(n)]


def _tiny_task(name: str):
    """The task at tiny, or a skip naming how to get its data where only the user has it
    (CIFAR-10; its readers and task run on generated files in tests/unit/test_images.py)."""
    try:
        task = make_task(name, "tiny", {"train.steps": 5})
        assert task.n_targets > 0  # reads the data
        return task
    except DataNotFoundError as err:
        pytest.skip(str(err))


@pytest.mark.parametrize("name", BUILTIN_TASKS)
def test_task_contract(name):
    """Builds at tiny; K >= 2; every training example is in some unit; key is stable."""
    task = _tiny_task(name)
    again = make_task(name, "tiny", {"train.steps": 5})
    M = task.membership
    assert task.K >= 2 and M.shape[0] == task.K and M.dtype == bool
    assert M.any(0).all()
    assert task.n_targets > 0
    assert task.spec.key == again.spec.key and task.spec.key.startswith(name)
    assert task.spec.profile == "tiny"
    assert task.primary in task.outputs


@pytest.mark.parametrize("name", BUILTIN_TASKS)
def test_task_evaluate_shapes(name):
    """evaluate on 2 masks x 1 seed returns every output as (2, n_targets), finite."""
    task = _tiny_task(name)
    masks = np.ones((2, task.K), dtype=bool)
    masks[1, 0] = False
    out = task.evaluate(masks, [0, 0])
    assert set(out) == set(task.outputs)
    for key, value in out.items():
        assert value.shape == (2, task.n_targets), key
        assert np.isfinite(value).all(), key
    assert not np.array_equal(out[task.primary][0], out[task.primary][1])


@pytest.mark.parametrize("name", METHODS.names())
def test_declared_capabilities_match_the_code(name):
    """A capability is declared, and the declaration agrees with what the class implements:
    ``additive`` iff ``predict`` is the base's, ``weightable`` iff it splits scores by group,
    ``labels``/``max_labels`` fields iff it fits labels."""
    cls = METHODS.get(name)
    assert cls.additive == (cls.predict is Method.predict), name
    assert cls.weightable == ("group_contributions" in vars(cls)), name
    names = {f.name for f in dataclasses.fields(cls)}
    assert ({"labels", "max_labels"} <= names) == (Need.FIT_LABELS in cls.needs), name
