"""``methods/_common/krr.py`` against scikit-learn's ``KernelRidge(kernel="rbf")`` in float64.

At fixed (gamma, lambda) on random binary masks our Cholesky solve ``theta = (K + lam I)^-1
(Y - mu)`` is scikit-learn's dual problem on the centred targets: fitting ``KernelRidge(alpha=lam,
gamma=gamma)`` on ``Y - mu`` gives ``dual_coef_ == theta`` and ``predict + mu == ours``. The CV
grid's eigendecomposition path (``cv_select``) gives, at every grid point, the held-out squared
error of scikit-learn refitted on each training fold.
"""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from methods._common.krr import cv_select, fit_krr, folds, median_gamma

# Measured (numpy 2.4.6, scikit-learn 1.9.1, OpenBLAS, one thread), max |ours - sklearn| /
# max |sklearn| over the grid below: dual coefficients 2.6e-14, predictions 2.2e-14 (both at
# lambda = 1e-3, the worst-conditioned point; 1e-16 at lambda = 1); CV error table 2.2e-15.
TOL = 1e-10
GRID = [(0.5, 1e-3), (1.0, 1e-2), (2.0, 0.1), (10.0, 1.0)]  # (gamma factor, lambda)


def _data(m: int = 60, K: int = 30, T: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    S = (rng.random((m, K)) < 0.5).astype(np.float64)
    Y = S @ rng.normal(size=(K, T)) + 0.3 * np.sin(3 * S[:, :T]) + rng.normal(size=(m, T))
    Q = (rng.random((25, K)) < 0.5).astype(np.float64)
    return S, Y, Q


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize(("factor", "lam"), GRID)
def test_fit_krr_is_sklearn_kernel_ridge(factor, lam, center):
    S, Y, Q = _data()
    gamma = factor * median_gamma(S)
    ours = fit_krr(S, Y, gamma, lam, center=center)
    assert np.array_equal(ours.mu, Y.mean(0) if center else np.zeros(Y.shape[1]))
    sk = KernelRidge(kernel="rbf", gamma=gamma, alpha=lam).fit(S, Y - ours.mu)
    assert _rel(ours.theta, sk.dual_coef_) <= TOL
    assert _rel(ours.predict(Q), sk.predict(Q) + ours.mu) <= TOL
    assert _rel(ours.predict(S), sk.predict(S) + ours.mu) <= TOL


def test_cv_errors_are_sklearn_refits_on_each_fold():
    S, Y, _ = _data(seed=1)
    g0 = median_gamma(S)
    gammas, lams = [f * g0 for f in (0.5, 1.0, 4.0)], [1e-3, 1e-1, 1.0]
    gamma, lam, err = cv_select(S, Y, gammas, lams, n_folds=5, seed=3)
    expected = np.zeros_like(err)
    for val in folds(len(S), 5, 3):
        tr = np.setdiff1d(np.arange(len(S)), val)
        mu = Y[tr].mean(0)
        for gi, g in enumerate(gammas):
            for li, lm in enumerate(lams):
                sk = KernelRidge(kernel="rbf", gamma=g, alpha=lm).fit(S[tr], Y[tr] - mu)
                expected[gi, li] += ((sk.predict(S[val]) + mu - Y[val]) ** 2).sum()
    expected /= Y.size
    assert _rel(err, expected) <= TOL
    gi, li = np.unravel_index(np.argmin(expected), expected.shape)
    assert (gamma, lam) == (gammas[gi], lams[li])
