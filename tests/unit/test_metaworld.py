"""Meta-World MT10 (benchmarks/tasks/metaworld): experts, rollouts, the task, what applies."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.extras import install_hint
from benchmarks.common.fields import SpecError
from benchmarks.common.spec import MissingExtraError
from benchmarks.tasks.metaworld import envs, sac
from benchmarks.tasks.metaworld.task import squared_error

pytest.importorskip("metaworld", reason="pip install 'taskattr[rl]'")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("mt10-cache")))
        yield make_task("mt10", "tiny")


def test_the_suite_orders_tasks_as_metaworld_does():
    assert tuple(envs.benchmark(0).train_classes) == envs.MT10


def test_expert_data_is_deterministic_and_labelled_with_clipped_actions():
    a = envs.expert_data(0, "reach-v3", [0], horizon=15, noise=0.1, seed=3)
    b = envs.expert_data(0, "reach-v3", [0], horizon=15, noise=0.1, seed=3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    X, Y = a
    assert X.shape == (15, 49) and Y.shape == (15, 4)
    assert np.abs(Y).max() <= 1.0
    np.testing.assert_array_equal(X[:, 39:], np.tile(envs.one_hot(0), (15, 1)))


def test_rollouts_are_deterministic_given_the_policy():
    def act(obs: np.ndarray) -> np.ndarray:
        return np.tanh(obs[:, :4])

    first = envs.rollouts(act, 0, [(0, 49), (1, 48)], horizon=12)
    again = envs.rollouts(act, 0, [(0, 49), (1, 48)], horizon=12)
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, y)
    assert first[0].shape == (2,) and set(np.unique(first[1])) <= {0.0, 1.0}


def _mlp(seed: int):
    """A batched act: a seeded random two-layer policy."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(49, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return 3 * net(torch.as_tensor(obs)).double().numpy()

    return act


@pytest.mark.parametrize("name", envs.MT10)
def test_fast_environment_steps_as_metaworlds_own_class(name):
    """``fastenv`` against metaworld's class (the old code path, ``upstream=True``) driven by
    the noisy scripted expert (it grasps and pushes: contacts): every step's observation,
    reward, info and ``touching_main_object`` bit-identical."""
    fast, ref = envs.environment(0, name, 49), envs.environment(0, name, 49, upstream=True)
    assert isinstance(fast, type(ref)) and type(fast) is not type(ref)
    expert = envs.metaworld().policies.ENV_POLICY_MAP[name]()
    rng = np.random.default_rng(1)
    obs, want = fast.reset()[0], ref.reset()[0]
    np.testing.assert_array_equal(obs, want)
    for _ in range(80):
        action = np.clip(expert.get_action(obs) + 0.3 * rng.standard_normal(4), -1.0, 1.0)
        got, want = fast.step(action), ref.step(action)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1:4] == want[1:4] and got[4] == want[4]
        assert _touching(fast) == _touching(ref)
        obs = got[0]


def _touching(env) -> bool | None:
    """``touching_main_object``, or None where the task cannot say (no ``objGeom``, or
    metaworld's outdated ``geom_name2id``)."""
    try:
        return env.touching_main_object
    except (KeyError, AttributeError):
        return None


def test_fast_environments_give_the_same_returns_and_successes():
    """The evaluation's outputs for a fixed set of policies (seeded random MLPs): returns and
    successes of ``task_rollouts`` bit-identical with metaworld's own classes."""
    for seed in (0, 1):
        got = envs.task_rollouts(_mlp(seed), 0, len(envs.MT10), 1, horizon=40)
        want = envs.task_rollouts(_mlp(seed), 0, len(envs.MT10), 1, horizon=40, upstream=True)
        for x, y in zip(got, want, strict=True):
            np.testing.assert_array_equal(x, y)


def test_task_units_targets_and_bit_identical_ground_truth(tiny):
    task = tiny
    assert task.K == 5 and task.n_targets == 5
    np.testing.assert_array_equal(task.membership.sum(0), np.ones(task.membership.shape[1]))
    masks = np.array([[1, 1, 0, 0, 1], [1, 1, 1, 1, 1]], dtype=bool)
    one, two = task.evaluate(masks, [7, 8]), task.evaluate(masks, [7, 8])
    assert set(one) == {"loss", "return", "success"}
    for key in one:
        assert one[key].shape == (2, 5)
        np.testing.assert_array_equal(one[key], two[key])


def test_a_target_is_the_mean_squared_error_of_its_demonstrations():
    pred, y = torch.randn(3, 6, 4, dtype=torch.float64), torch.randn(3, 6, 4, dtype=torch.float64)
    want = ((pred - y) ** 2).mean(dim=(1, 2))
    torch.testing.assert_close(squared_error(pred, y), want, rtol=0, atol=1e-15)
    flat = squared_error(pred[0], y[0])
    torch.testing.assert_close(flat, ((pred[0] - y[0]) ** 2).mean(1), rtol=0, atol=1e-15)


@pytest.mark.parametrize(("name", "params", "applies"), [
    ("trak", {}, False), ("gradex", {}, True),
    ("influence_dual", {}, False), ("kernel_sm", {"labels": "gradex"}, True),
    ("influence", {"solver": "cg"}, True), ("influence", {"hessian": "exact"}, True),
    ("influence", {"solver": "ekfac"}, False), ("tracin", {}, True),
    ("kernel_sm", {}, True), ("linear_surrogate", {"fit_type": "ridge"}, True)])
def test_softmax_methods_decline_the_squared_loss(tiny, name, params, applies):
    reason = make_method(name, params).applies(tiny)
    assert (reason is None) == applies
    if not applies:
        assert "softmax_ce" in reason and "squared" in reason


@pytest.mark.parametrize(("override", "field"), [
    ({"params.train_variations": 40, "params.heldout_variations": 6,
      "params.eval_variations": 6}, "params.train_variations"),
    ({"params.horizon": 501}, "params.horizon"),
    ({"params.n_tasks": 11}, "params.n_tasks")])
def test_bad_params_name_the_field(override, field):
    with pytest.raises(SpecError, match=field):
        make_task("mt10", "tiny", override)


def test_sac_code_path_is_bit_identical_and_stores_minus_return(tmp_path, monkeypatch):
    """``mt10-sac`` at tiny (a few hundred SAC steps): W0, a fine-tuning from it and real
    rollouts; the same (mask, seed) twice in one process gives the same bits."""
    pytest.importorskip("stable_baselines3", reason="pip install 'taskattr[rl]'")
    import tempfile

    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where SB3 logs by default
    task = make_task("mt10-sac", "tiny")
    mask = np.array([[1, 0, 1, 0, 1]], dtype=bool)
    first, again = task.evaluate(mask, [5]), task.evaluate(mask, [5])
    for key in ("loss", "return", "success"):
        assert first[key].shape == (1, 5)
        np.testing.assert_array_equal(first[key], again[key])
    np.testing.assert_array_equal(first["loss"], -first["return"])
    assert not list((tmp_path / "tmp").glob("SB3-*"))  # no SB3 log folder left behind
    assert make_method("tracin", {}).applies(task) is not None  # no model to differentiate
    assert make_method("kernel_sm", {}).applies(task) is None


@pytest.mark.parametrize("missing", ["metaworld", "stable_baselines3", "gymnasium"])
def test_a_missing_rl_extra_is_the_suites_one_line(monkeypatch, missing):
    """envs.py and sac.py refuse through ``extras.require``: one line naming the rl extra."""
    monkeypatch.setitem(sys.modules, missing, None)  # an import of it raises ImportError
    calls = {"metaworld": envs.metaworld, "gymnasium": lambda: sac.subset_env([0], None, 0),
             "stable_baselines3": lambda: sac._sac(None, sac.SACParams(), 0)}
    with pytest.raises(MissingExtraError, match=re.escape(install_hint("rl"))) as err:
        calls[missing]()
    assert f"needs {missing} " in str(err.value) and "\n" not in str(err.value)


def test_mt10_families_are_fine_tuned_without_a_suffix():
    from benchmarks.api.task import make_task

    def regime(name: str) -> str:
        return make_task(name, "tiny").regime

    assert regime("mt10") == regime("mt10-sac") == regime("fmnist-class-ft") == "fine-tuned"
    assert regime("fmnist-class") == "scratch"
