"""RBF kernel ridge regression on subset masks, with K-fold CV over (gamma, lambda).

Because masks are binary, ``||s - s'||^2`` is the Hamming distance (METHODS.md §2.7). One
eigendecomposition per (gamma, fold) serves every lambda and every target column, so the CV grid
is cheap. Float64 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LAMBDA_GRID = tuple(10.0**e for e in range(-6, 3))
GAMMA_FACTORS = tuple(10.0**e for e in (-2, -1, -0.5, 0, 0.5, 1, 2))


def sq_dists(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances ``(len(A), len(B))``."""
    A, B = A.astype(np.float64), B.astype(np.float64)
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


def median_gamma(S: np.ndarray) -> float:
    """``1 / (2 * median nonzero pairwise squared distance)`` (the repo's CV centre)."""
    d = sq_dists(S, S)
    nz = d[d > 0]
    return 1.0 / (2.0 * float(np.median(nz))) if nz.size else 1.0


@dataclass(frozen=True)
class KRR:
    """A fitted model ``g(s) = mu + k(s, S) theta``. ``theta: (m, n_targets)``."""

    S: np.ndarray
    theta: np.ndarray
    mu: np.ndarray
    gamma: float
    lam: float

    def predict(self, masks: np.ndarray) -> np.ndarray:
        """``(len(masks), n_targets)``."""
        return self.mu + np.exp(-self.gamma * sq_dists(masks, self.S)) @ self.theta


def fit_krr(S: np.ndarray, Y: np.ndarray, gamma: float, lam: float, center: bool = True,
            jitter: float = 1e-8) -> KRR:
    """Solve ``theta = (K + lam I)^-1 (Y - mu)`` by Cholesky.

    ``jitter`` is only a numerical fallback: it is added to ``lam`` if the Cholesky factorisation
    of ``K + lam I`` fails (the repo always adds 1e-8, which caps how exactly it interpolates).
    """
    from scipy.linalg import cho_factor, cho_solve  # here: `list` need not load scipy

    mu = Y.mean(0) if center else np.zeros(Y.shape[1])
    Kmat = np.exp(-gamma * sq_dists(S, S))
    eye = np.eye(len(S))
    try:
        factor = cho_factor(Kmat + lam * eye, lower=True)
    except np.linalg.LinAlgError:
        factor = cho_factor(Kmat + (lam + jitter) * eye, lower=True)
    return KRR(S.astype(np.float64), cho_solve(factor, Y - mu), mu, gamma, lam)


def folds(m: int, n_folds: int, seed: int) -> list[np.ndarray]:
    """A seeded split of ``range(m)`` into ``n_folds`` validation index sets."""
    perm = np.random.default_rng(seed).permutation(m)
    return [perm[i::n_folds] for i in range(n_folds)]


def cv_select(S: np.ndarray, Y: np.ndarray, gammas: list[float], lams: list[float],
              n_folds: int, seed: int, center: bool = True) -> tuple[float, float, np.ndarray]:
    """(gamma, lambda) minimising K-fold CV squared error summed over targets.

    Returns the pair and the ``(len(gammas), len(lams))`` table of CV mean squared errors.
    """
    D = sq_dists(S, S)
    err = np.zeros((len(gammas), len(lams)))
    for val in folds(len(S), n_folds, seed):
        tr = np.setdiff1d(np.arange(len(S)), val)
        mu = Y[tr].mean(0) if center else np.zeros(Y.shape[1])
        for gi, g in enumerate(gammas):
            w, V = np.linalg.eigh(np.exp(-g * D[np.ix_(tr, tr)]))
            proj = V.T @ (Y[tr] - mu)
            Kvt = np.exp(-g * D[np.ix_(val, tr)]) @ V
            for li, lam in enumerate(lams):
                pred = mu + Kvt @ (proj / (np.maximum(w, 0.0) + lam)[:, None])
                err[gi, li] += ((pred - Y[val]) ** 2).sum()
    err /= Y.size
    gi, li = np.unravel_index(np.argmin(err), err.shape)
    return float(gammas[gi]), float(lams[li]), err
