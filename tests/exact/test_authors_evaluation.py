"""The suite's surrogates and filtered LDS on an imported file with repeated subsets equal an
independent re-implementation of the KernelSM authors' evaluation (their ``kernelsm_score``).

The authors: min-norm least squares (``solver='lstsq'``) or RBF kernel ridge (γ = 1/K, λ, no
centring, 1e-8 jitter) fitted on the fitting subsets; per target, Spearman(true, predicted)
over the held-out subsets, kept when the held-out variance (``torch.var``, ddof=1) is >= 0.1;
the mean over kept targets. Written here in a few lines of numpy/scipy, from the file itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.groundtruth import transfer as gt_io
from benchmarks.groundtruth.fill import open_store
from benchmarks.runner import run_cell
from benchmarks.tasks.imported import import_gt

THRESHOLD = 0.1


def _release_with_repeats(path: Path) -> Path:
    """A file in the authors' modular release layout: 40 fitting and 30 held-out subsets of
    K = 10 units, 12 targets of mixed variance, with repeated subsets on both sides."""
    rng = np.random.default_rng(7)
    K, T = 10, 12
    masks = (rng.random((70, K)) < 0.7).astype(float)
    masks[masks.sum(1) == 0, 0] = 1.0
    masks[5] = masks[1]      # a repeated fitting subset
    masks[45] = masks[2]     # a held-out subset that was also fitted
    masks[60] = masks[44]    # a repeated held-out subset
    W = rng.normal(size=(K, T))
    scale = np.where(np.arange(T) % 3 == 0, 0.05, 1.0)  # every third target: low variance
    F = (masks @ W + 0.8 * np.sin(3 * masks @ W) + rng.normal(size=(70, T)) * 0.3) * scale
    path.write_text(json.dumps({"train_w": masks[:40].tolist(), "test_w": masks[40:].tolist(),
                                "train_subset_scores": F[:40].tolist(),
                                "test_subset_scores": F[40:].tolist()}))
    return path


def _authors_lds(train_w, train_y, test_w, test_y, solver: str, lam: float) -> tuple[float, int]:
    """The authors' evaluation, re-implemented: (mean Spearman over kept targets, n kept)."""
    if solver == "lstsq":
        pred = test_w @ np.linalg.lstsq(train_w, train_y, rcond=None)[0]
    else:
        gamma = 1.0 / train_w.shape[1]
        def kern(a, b):
            return np.exp(-gamma * ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
        alpha = np.linalg.solve(kern(train_w, train_w) + (lam + 1e-8) * np.eye(len(train_w)),
                                train_y)
        pred = kern(test_w, train_w) @ alpha
    rhos = [spearmanr(test_y[:, j], pred[:, j])[0] for j in range(test_y.shape[1])
            if np.var(test_y[:, j], ddof=1) >= THRESHOLD]
    return float(np.mean(rhos)), len(rhos)


AUTHORS = {"lstsq": ("linear_surrogate", {"fit_type": "minnorm"}),
           "krr": ("kernel_sm", {"gamma": "auto", "lam": 0.01, "center": False, "n_mc": 200})}


@pytest.mark.parametrize("solver", sorted(AUTHORS))
def test_suite_equals_authors_evaluation_on_file_with_repeats(cache, tmp_path, solver):
    path = _release_with_repeats(tmp_path / "modular_rep.json")
    import_gt(path, "rep")
    entry = gt_io.load_entry("rep")
    assert (entry["n_fit"], entry["n_eval"]) == (40, 30)  # every repeated row kept
    assert entry["repeats"]["repeated_fit"] >= 1 and entry["repeats"]["repeated_eval"] >= 1
    data = json.loads(path.read_text())
    arrays = [np.asarray(data[k]) for k in ("train_w", "train_subset_scores", "test_w",
                                            "test_subset_scores")]
    expected, kept = _authors_lds(*arrays, solver=solver, lam=0.01)
    assert 0 < kept < 12  # the filter bites: some targets dropped, some kept
    task = make_task("rep")
    record = run_cell(task, open_store(task), make_method(*AUTHORS[solver]))
    row = next(r for r in record["rows"] if (r["metric"], r["variant"]) == ("lds",
                                                                          "spearman_repo"))
    assert row["n_targets"] == kept and row["n_dropped"] == 12 - kept
    assert abs(row["value"] - expected) <= 1e-9
    unfiltered = next(r for r in record["rows"] if (r["metric"], r["variant"]) == ("lds",
                                                                                 "spearman"))
    assert unfiltered["n_targets"] == 12
