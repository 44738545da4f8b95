"""The ``taskattr`` facade: exact answers on planted truths, the same numbers as the suite's own
code path on a retrained task, and refusals that name what is missing."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch

import taskattr
from benchmarks.api.context import seed_key
from benchmarks.api.method import make_method
from benchmarks.api.registry import TASKS
from benchmarks.api.task import Task
from benchmarks.common.spec import SpecError, SubsetDesign, TaskSpec, TrainSpec, derive_seed
from benchmarks.oracles.fit import fit_method
from methods.kernel_sm import fitted_design

RNG = np.random.default_rng(7)
TRUTH = RNG.normal(size=(8, 3))  # (K, n_targets): generic values, so no two subsets tie


class PlantedAdditive(Task):
    """F(S) = S @ TRUTH exactly: eight units, three targets, nothing trained."""

    engine = "loop"

    @property
    def membership(self) -> np.ndarray:
        return np.eye(len(TRUTH), dtype=bool)

    @property
    def n_targets(self) -> int:
        return TRUTH.shape[1]

    def evaluate(self, masks, seeds, engine="loop"):
        return {"loss": masks.astype(np.float64) @ TRUTH}


def planted_spec(profile: str) -> TaskSpec:
    design = SubsetDesign(alpha=0.5, n_fit=40, n_eval=20, n_seeds=1)
    return TaskSpec("planted-additive", {}, TrainSpec(), design, profile)


@pytest.fixture
def planted(cache) -> str:
    """The planted task's name, registered once per process (on first use, so that tests
    which walk every registered task do not meet it unless this module ran first)."""
    if "planted-additive" not in TASKS.names():
        taskattr.register_task("planted-additive", PlantedAdditive, planted_spec,
                               "F = S @ TRUTH (tests/unit/test_taskattr_api.py)")
    return "planted-additive"


def _fixed_masks(m: int, K: int, size: int) -> np.ndarray:
    S = np.zeros((m, K), dtype=bool)
    for j in range(m):
        S[j, RNG.choice(K, size, replace=False)] = True
    return S


def test_the_version_is_the_installed_distributions():
    assert taskattr.__version__ == metadata.version("taskattr")


def test_a_linear_surrogate_recovers_planted_coefficients():
    S = RNG.random((200, 12)) < 0.5
    beta, c = RNG.normal(size=(12, 3)), RNG.normal(size=3)
    fitted = taskattr.fit("linear_surrogate", S, S @ beta + c)
    np.testing.assert_allclose(fitted.scores, beta, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fitted.fitted.intercept, c, rtol=0, atol=1e-10)
    held = RNG.random((30, 12)) < 0.5
    np.testing.assert_allclose(fitted.predict(held), held @ beta + c, rtol=0, atol=1e-10)


def test_metrics_on_plain_arrays():
    F = RNG.normal(size=(25, 4))
    assert taskattr.lds(F, F) == pytest.approx(1.0, abs=1e-12)
    assert taskattr.lds(-F, F) == pytest.approx(-1.0, abs=1e-12)
    assert taskattr.residual(F, F) == 0.0
    mean = np.broadcast_to(F.mean(0), F.shape)
    assert taskattr.residual(mean, F) == pytest.approx(1.0, abs=1e-12)
    assert taskattr.lds(F[:, 0], F[:, 0]) == pytest.approx(1.0, abs=1e-12)  # one target
    with pytest.raises(SpecError, match="spearman_repo"):
        taskattr.lds(F, F, variant="nope")
    with pytest.raises(ValueError, match="differ in shape"):
        taskattr.lds(F[:, :2], F)


def test_kernel_sm_main_readoff_runs_on_plain_arrays():
    """It failed with AttributeError 'NoneType' has no attribute 'spec' (no task, no design)."""
    S = _fixed_masks(120, 10, 5)
    beta = RNG.normal(size=(10, 2))
    fitted = taskattr.fit("kernel_sm", S, S @ beta, readoff="main", n_mc=2000)
    assert fitted.scores.shape == (10, 2) and np.isfinite(fitted.scores).all()
    for t in range(2):  # additive truth: the main effects are the coefficients, near enough
        assert np.corrcoef(fitted.scores[:, t], beta[:, t])[0, 1] > 0.99
    again = taskattr.fit("kernel_sm", S, S @ beta, readoff="main", n_mc=2000)
    np.testing.assert_array_equal(fitted.scores, again.scores)


def test_the_design_read_off_fitting_subsets():
    assert fitted_design(_fixed_masks(20, 8, 6)) == SubsetDesign(sampler="fixed", alpha=0.75)
    S = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    assert fitted_design(S) == SubsetDesign(sampler="bernoulli", alpha=0.5)


@pytest.mark.parametrize("method, missing", [("influence", "trained model"),
                                             ("loo", "leave-one-out"),
                                             ("tracin", "trained model")])
def test_fit_refuses_a_method_plain_arrays_cannot_feed(method, missing):
    S = RNG.random((10, 4)) < 0.5
    with pytest.raises(SpecError, match=missing):
        taskattr.fit(method, S, RNG.normal(size=(10, 2)))


def test_fit_refuses_bad_arrays():
    with pytest.raises(ValueError, match="0/1"):
        taskattr.fit("linear_surrogate", np.full((5, 3), 2), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="m=5"):
        taskattr.fit("linear_surrogate", np.ones((5, 3)), np.zeros((4, 1)))


def test_ground_truth_and_evaluate_on_a_planted_task(planted):
    gt = taskattr.ground_truth(planted, profile="tiny")
    assert gt.masks.shape == (40, 8) and gt.F.shape == (40, 3) and gt.eval_F.shape == (20, 3)
    assert gt.F_seeds.shape == (40, 1, 3)
    np.testing.assert_array_equal(gt.F, gt.masks @ TRUTH)
    np.testing.assert_array_equal(gt.eval_F, gt.eval_masks @ TRUTH)
    np.testing.assert_allclose(gt.loo_delta, TRUTH, rtol=0, atol=1e-12)
    assert not (gt.masks[:, None] == gt.eval_masks[None]).all(-1).any()  # disjoint splits

    df = taskattr.evaluate(planted, ["linear_surrogate", "kernel_sm"],
                           profile="tiny", params={"kernel_sm": {"readoff": "main",
                                                                 "n_mc": 200}})
    assert {"metric", "variant", "value", "ci_low", "ci_high", "method"} <= set(df.columns)
    lds = df[(df.metric == "lds") & (df.variant == "spearman")].set_index("method").value
    assert lds["linear_surrogate"] == pytest.approx(1.0, abs=1e-12)
    assert set(df.method) == {"linear_surrogate", "kernel_sm"}
    assert "loo_corr" in set(df.metric)  # the design has leave-one-out rows


def test_evaluate_refuses_params_of_no_listed_method(planted):
    with pytest.raises(SpecError, match="kernel_sm"):
        taskattr.evaluate(planted, ["linear_surrogate"], profile="tiny",
                          params={"kernel_sm": {"readoff": "main"}})


def test_evaluate_takes_an_imported_group_as_run_does(cache):
    """A group name (an ICL import's re-splits) gives every member's rows, the same values
    ``run`` averages; a member name is still one task."""
    from benchmarks import task_groups
    from benchmarks.common.groups import aggregate
    from benchmarks.groundtruth.transfer import ImportOptions
    from benchmarks.tasks.imported import import_gt

    data = Path(__file__).parents[1] / "data" / "gt" / "coin_flip_train_ids_list.json"
    names = import_gt(data, "cf", ImportOptions(splits=3))
    ridge = {"fit_type": "ridge"}
    df = taskattr.evaluate("cf", "linear_surrogate", params=ridge)
    assert list(dict.fromkeys(df.task)) == names
    records = task_groups.run_group("cf", make_method("linear_surrogate", ridge))
    expected = [r["value"] for rec in records for r in rec["rows"]]
    np.testing.assert_array_equal(df.value.to_numpy(), expected)
    mean = aggregate(df).set_index(["metric", "variant"]).loc[("residual", "ne")]
    assert mean.n_splits == 3 and mean.value == pytest.approx(np.mean(
        [r["value"] for rec in records for r in rec["rows"] if r["variant"] == "ne"]))
    assert set(taskattr.evaluate(names[1], "linear_surrogate", params=ridge).task) == {names[1]}


def test_ground_truth_matches_the_store(tiny_addition):
    """The arrays are the store's, and a fit on them is the runner's fit, bit for bit."""
    task, store = tiny_addition
    gt = taskattr.ground_truth("modular-addition", "tiny", overrides=task.overrides)
    assert gt.task_key == task.spec.key and gt.output == "loss"
    np.testing.assert_array_equal(gt.F, store.mean("loss", "fit"))
    np.testing.assert_array_equal(gt.eval_F, store.mean("loss", "eval"))
    np.testing.assert_array_equal(gt.loo, store.mean("loss", "loo"))
    np.testing.assert_array_equal(gt.masks, store.rows.masks[store.rows.index("fit")])
    method = make_method("kernel_sm", {"readoff": "main", "n_mc": 300})
    _, fitted = fit_method(task, store, method)
    ours = taskattr.fit("kernel_sm", gt.masks, gt.F, readoff="main", n_mc=300,
                        seed=derive_seed(seed_key(task), method.key))
    np.testing.assert_array_equal(ours.scores, fitted.scores)


def _trained_linear() -> tuple[torch.nn.Module, tuple, tuple]:
    torch.manual_seed(0)
    X, y = torch.randn(12, 4, dtype=torch.float64), torch.randint(0, 3, (12,))
    Xt, yt = torch.randn(3, 4, dtype=torch.float64), torch.randint(0, 3, (3,))
    net = torch.nn.Linear(4, 3).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(50):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(X), y).backward()
        opt.step()
    return net, (X, y), (Xt, yt)


def _grad(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x[None]), y[None]).backward()
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()])


def test_attribute_grad_dot_is_the_gradient_product():
    """a_k = -(1/n) g_k . g_t at the trained model (every example its own unit)."""
    net, (X, y), (Xt, yt) = _trained_linear()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    att = taskattr.attribute(net, (X, y), (Xt, yt), method="grad_dot")
    G = torch.stack([_grad(net, X[i], y[i]) for i in range(len(X))])
    Gt = torch.stack([_grad(net, Xt[j], yt[j]) for j in range(len(Xt))])
    np.testing.assert_allclose(att.scores, -(G @ Gt.T).numpy() / len(X), rtol=0, atol=1e-12)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])  # the user's model is left as it was


def test_attribute_units_sum_their_examples():
    net, train, targets = _trained_linear()
    units = np.zeros((3, 12), dtype=bool)
    for k in range(3):
        units[k, 4 * k:4 * k + 4] = True
    per_example = taskattr.attribute(net, train, targets, method="grad_dot").scores
    grouped = taskattr.attribute(net, train, targets, method="grad_dot", units=units).scores
    np.testing.assert_allclose(grouped, units @ per_example, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method, why", [("tracin", "training recipe"),
                                         ("kernel_sm", "fit_labels")])
def test_attribute_refuses_what_a_model_alone_cannot_give(method, why):
    net, train, targets = _trained_linear()
    with pytest.raises(SpecError, match=why):
        taskattr.attribute(net, train, targets, method=method)


def test_provenance_records_the_installed_versions():
    import numpy

    from benchmarks.common.provenance import DISTRIBUTIONS, provenance

    versions = provenance()["versions"]
    assert versions["taskattr"] == taskattr.__version__
    assert versions["numpy"] == numpy.__version__ and set(versions) <= set(DISTRIBUTIONS)
