"""Float64 checks of the surrogate methods against methods/METHODS.md §2.6 and §2.7 sanity
checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.api.context import Context, LabelSet
from benchmarks.api.evaluation import Evaluation
from benchmarks.api.method import make_method
from benchmarks.api.registry import METRICS
from benchmarks.common.spec import SubsetDesign, derive_seed
from benchmarks.groundtruth.subsets import draw_mask
from methods._common.krr import fit_krr

TOL_OLS = 1e-10  # §2.6 (a): OLS recovers additive coefficients (reference 7e-15)
TOL_PRED = 1e-10  # exact additive predictions on held-out subsets
MIN_RIDGE_CORR = 0.999  # ridge shrinks slightly but keeps the coefficients' shape
TOL_INTERP = 1e-8  # §2.7 (a): KRR at lambda = 1e-10 interpolates the four XOR corners
TOL_INTERP_JITTER = 1e-7  # same, allowing fit_krr's fixed 1e-8 diagonal jitter
MAX_NE_KERNEL_XOR = 0.05  # §2.7 (a): RBF-KRR normalised error on XOR
MIN_NE_LINEAR_XOR = 0.9  # §2.7 (a): linear-with-intercept normalised error on XOR
MIN_R2_CORR = 0.95  # §2.7 (b): R2 read-off vs true additive coefficients
TOL_MULTI = 1e-10  # §2.7 (c): multi-target fit equals per-column fits
TOL_RELATION = 1e-10  # R2 vs R3 identity on one shared Monte Carlo sample
TOL_GRAD = 1e-6  # R4 vs central finite difference
FD_STEP = 1e-5

K = 8
BERNOULLI = SubsetDesign(sampler="bernoulli", alpha=0.5)
FIXED = SubsetDesign(sampler="fixed", alpha=0.5)


def _bernoulli(m: int, K: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((m, K)) < 0.5


def _fixed(m: int, K: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((m, K), dtype=bool)
    for j in range(m):
        out[j, rng.choice(K, K // 2, replace=False)] = True
    return out


def _additive(K: int, n_targets: int, seed: int = 7) -> tuple[float, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 0.7, rng.normal(size=(K, n_targets))


def _ctx(S: np.ndarray, Y: np.ndarray, design: SubsetDesign | None = None, seed: int = 11):
    task = None if design is None else SimpleNamespace(spec=SimpleNamespace(design=design))
    return Context(task=task, seed=seed, fit=LabelSet(S, Y, float(len(S))))


def _ne(G: np.ndarray, F: np.ndarray) -> np.ndarray:
    """The ``residual`` metric's ``ne`` per target."""
    ev = Evaluation(np.zeros((len(F), 1), bool), F, G, np.zeros((1, F.shape[1])), None, "t")
    (ne,) = [v for v in METRICS.get("residual")(ev) if v.variant == "ne"]
    return ne.per_target


def _xor(S: np.ndarray) -> np.ndarray:
    return (S[:, [0]] ^ S[:, [1]]).astype(np.float64)


def test_ols_recovers_additive_coefficients():
    """§2.6 (a): F = b0 + S a, Bernoulli(0.5) masks -> OLS returns a and b0 to 1e-10."""
    b0, a = _additive(K, 3)
    S = _bernoulli(60, K, 0)
    Y = b0 + S.astype(np.float64) @ a
    m = make_method("linear_surrogate", {"fit_type": "ols"})
    fitted = m.fit(_ctx(S, Y))
    np.testing.assert_allclose(m.scores(fitted), a, rtol=0, atol=TOL_OLS)
    np.testing.assert_allclose(fitted.intercept, np.full(3, b0), rtol=0, atol=TOL_OLS)
    H = _bernoulli(40, K, 1)
    np.testing.assert_allclose(m.predict(fitted, H), b0 + H @ a, rtol=0, atol=TOL_PRED)


def test_ols_fixed_size_predictions_exact():
    """Fixed-size masks: intercept collinear with sum(s), but held-out predictions are exact."""
    b0, a = _additive(K, 3)
    S = _fixed(60, K, 2)
    Y = b0 + S.astype(np.float64) @ a
    m = make_method("linear_surrogate", {"fit_type": "ols"})
    fitted = m.fit(_ctx(S, Y))
    H = _fixed(40, K, 3)
    np.testing.assert_allclose(m.predict(fitted, H), b0 + H @ a, rtol=0, atol=TOL_PRED)
    # coefficients are identified only up to a common shift c (absorbed by the intercept)
    shift = m.scores(fitted) - a
    np.testing.assert_allclose(shift, np.broadcast_to(shift.mean(0), shift.shape), atol=TOL_OLS)


def test_ridge_recovers_additive_approximately():
    """Ridge (CV penalty, unpenalised intercept) keeps the additive coefficients' shape."""
    b0, a = _additive(K, 3)
    S = _bernoulli(60, K, 0)
    m = make_method("linear_surrogate", {"fit_type": "ridge"})
    fitted = m.fit(_ctx(S, b0 + S @ a))
    scores = m.scores(fitted)
    assert scores.shape == (K, 3)
    for t in range(3):
        assert np.corrcoef(scores[:, t], a[:, t])[0, 1] >= MIN_RIDGE_CORR
    assert fitted.state["alpha"] > 0


def test_minnorm_without_intercept_on_pure_additive():
    """The repo's min-norm variant (no intercept) is exact when b0 = 0."""
    _, a = _additive(K, 2)
    S = _bernoulli(60, K, 4)
    m = make_method("linear_surrogate", {"fit_type": "minnorm"})
    fitted = m.fit(_ctx(S, S @ a))
    np.testing.assert_allclose(m.scores(fitted), a, rtol=0, atol=TOL_OLS)
    np.testing.assert_array_equal(fitted.intercept, np.zeros(2))


CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=bool)


@pytest.mark.parametrize("center", [False, True])
def test_krr_interpolates_xor_corners(center):
    """§2.7 (a): K = 2, all four corners, lambda = 1e-10 (no jitter), gamma = 1/K: exact."""
    Y = _xor(CORNERS)
    krr = fit_krr(CORNERS, Y, gamma=0.5, lam=1e-10, center=center, jitter=0.0)
    assert np.abs(krr.predict(CORNERS) - Y).max() <= TOL_INTERP


@pytest.mark.parametrize("center", [False, True])
def test_kernel_sm_nearly_interpolates_xor_corners(center):
    """KernelSM with fixed gamma = 1/K and lam = 1e-10 fits the corners up to the jitter."""
    Y = _xor(CORNERS)
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 1e-10, "center": center})
    fitted = m.fit(_ctx(CORNERS, Y))
    assert fitted.state["gamma"] == 0.5 and fitted.state["lam"] == 1e-10
    assert np.abs(m.predict(fitted, CORNERS) - Y).max() <= TOL_INTERP_JITTER


@pytest.mark.parametrize("center", [False, True])
def test_kernel_sm_interpolates_xor_corners_to_spec(center):
    """§2.7 (a) through the method: lam = 1e-10 at gamma = 1/K interpolates to 1e-8."""
    Y = _xor(CORNERS)
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 1e-10, "center": center})
    fitted = m.fit(_ctx(CORNERS, Y))
    assert np.abs(m.predict(fitted, CORNERS) - Y).max() <= TOL_INTERP


@pytest.fixture(scope="module")
def xor_data():
    S, H = _bernoulli(200, K, 10), _bernoulli(400, K, 11)
    return S, _xor(S), H, _xor(H)


def test_kernel_sm_cv_fits_xor(xor_data):
    """§2.7 (a): KernelSM with CV-selected (gamma, lambda) has held-out NE <= 0.05 on XOR."""
    S, Y, H, F = xor_data
    m = make_method("kernel_sm", {})
    fitted = m.fit(_ctx(S, Y))
    assert _ne(m.predict(fitted, H), F)[0] <= MAX_NE_KERNEL_XOR
    assert fitted.state["cv_err"].shape == (7, 9)


def test_kernel_sm_repo_fixed_fits_xor(xor_data):
    """§2.7 (a) literal setting: gamma = 1/K, lambda = 1e-3, centred."""
    S, Y, H, F = xor_data
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 1e-3})
    fitted = m.fit(_ctx(S, Y))
    assert _ne(m.predict(fitted, H), F)[0] <= MAX_NE_KERNEL_XOR


def test_linear_fails_xor(xor_data):
    """§2.7 (a): OLS with intercept cannot represent XOR: held-out NE >= 0.9."""
    S, Y, H, F = xor_data
    m = make_method("linear_surrogate", {"fit_type": "ols"})
    fitted = m.fit(_ctx(S, Y))
    assert _ne(m.predict(fitted, H), F)[0] >= MIN_NE_LINEAR_XOR


@pytest.fixture(scope="module")
def additive_data():
    b0, a = _additive(K, 3, seed=12)
    S = _bernoulli(200, K, 13)
    return S, b0 + S @ a, a


def test_kernel_sm_main_readoff_tracks_additive(additive_data):
    """§2.7 (b): R2 ('main') scores correlate >= 0.95 with the true coefficients per target."""
    S, Y, a = additive_data
    m = make_method("kernel_sm", {"readoff": "main", "n_mc": 2000})
    fitted = m.fit(_ctx(S, Y, BERNOULLI))
    for t in range(a.shape[1]):
        assert np.corrcoef(m.scores(fitted)[:, t], a[:, t])[0, 1] >= MIN_R2_CORR


def test_kernel_sm_main_readoff_is_deterministic(additive_data):
    """The Monte Carlo read-off is seeded from ctx.seed."""
    S, Y, _ = additive_data
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 1e-2, "readoff": "main", "n_mc": 300})
    one = m.scores(m.fit(_ctx(S, Y, BERNOULLI, seed=5)))
    two = m.scores(m.fit(_ctx(S, Y, BERNOULLI, seed=5)))
    other = m.scores(m.fit(_ctx(S, Y, BERNOULLI, seed=6)))
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other)


def test_kernel_sm_contains_and_main_relation(additive_data):
    """On one shared sample, R2 = (R3 - mean g) / (1 - p_k) (§2.7, R2 vs R3)."""
    S, Y, _ = additive_data
    params = {"gamma": "auto", "lam": 1e-2, "n_mc": 400}
    ctx = _ctx(S, Y, FIXED)  # fixed size: balanced-ish inclusion
    main = make_method("kernel_sm", {**params, "readoff": "main"})
    contains = make_method("kernel_sm", {**params, "readoff": "contains"})
    r2 = main.scores(main.fit(ctx))
    r3 = contains.scores(contains.fit(ctx))
    # rebuild the shared MC sample to get p_k and mean g
    sample = np.stack([draw_mask(FIXED, K, derive_seed(ctx.seed, "mc", u)) for u in range(400)])
    g = main.predict(main.fit(ctx), sample)
    p = sample.mean(0)[:, None]
    np.testing.assert_allclose(r2, (r3 - g.mean(0)) / (1 - p), rtol=0, atol=TOL_RELATION)


def test_kernel_sm_loo_readoff_definition(additive_data):
    """R1: a_k = g(1) - g(1 - e_k) from the fitted surrogate."""
    S, Y, _ = additive_data
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 1e-2, "readoff": "loo"})
    fitted = m.fit(_ctx(S, Y))
    g_full = m.predict(fitted, np.ones((1, K), bool))
    g_loo = m.predict(fitted, ~np.eye(K, dtype=bool))
    np.testing.assert_array_equal(m.scores(fitted), g_full - g_loo)


def test_multi_target_krr_equals_per_column():
    """§2.7 (c): one multi-target fit equals separate per-column fits."""
    rng = np.random.default_rng(20)
    S = _bernoulli(50, K, 21)
    Y = rng.normal(size=(50, 4))
    H = _bernoulli(30, K, 22)
    for center in (False, True):
        multi = fit_krr(S, Y, gamma=0.2, lam=1e-2, center=center)
        for t in range(4):
            single = fit_krr(S, Y[:, [t]], gamma=0.2, lam=1e-2, center=center)
            np.testing.assert_allclose(multi.theta[:, [t]], single.theta, rtol=0, atol=TOL_MULTI)
            np.testing.assert_allclose(multi.predict(H)[:, [t]], single.predict(H), rtol=0,
                                       atol=TOL_MULTI)


def test_krr_centering_uses_target_mean():
    """centre=True sets mu to the column means; centre=False to zero."""
    S = _bernoulli(20, K, 23)
    Y = np.random.default_rng(24).normal(size=(20, 2)) + 5.0
    np.testing.assert_array_equal(fit_krr(S, Y, 0.2, 1e-2, center=True).mu, Y.mean(0))
    np.testing.assert_array_equal(fit_krr(S, Y, 0.2, 1e-2, center=False).mu, np.zeros(2))


def test_grad_readoff_matches_finite_difference(additive_data):
    """R4: dg/ds_k at s = 1 equals a central finite difference of g."""
    S, Y, _ = additive_data
    Y = Y + 0.5 * _xor(S)  # make g non-additive so the gradient is not trivial
    m = make_method("kernel_sm", {"gamma": 0.15, "lam": 1e-2, "readoff": "grad"})
    fitted = m.fit(_ctx(S, Y))
    krr = fitted.state["krr"]
    ones = np.ones((1, K))
    fd = np.stack([(krr.predict(ones + FD_STEP * e) - krr.predict(ones - FD_STEP * e))[0]
                   / (2 * FD_STEP) for e in np.eye(K)])
    np.testing.assert_allclose(m.scores(fitted), fd, rtol=0, atol=TOL_GRAD)
    assert np.abs(fd).max() > 0.01  # the check is not vacuous
