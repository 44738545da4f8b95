"""``export-gt --format dattri`` read by dattri's own metrics (``dattri.metric.lds`` and
``loo_corr``, dattri 0.3.0): the exported pairs give the same correlations as ours.

dattri's LDS pair is ``(-seed mean of F, subset indices)``, its scores ``(n_train, n_test)``
positive = helpful, so our scores a (positive = harmful) go in as ``-a``; rows shorter than the
longest subset are padded with index K, so a zero row is appended to the score
(``benchmarks/groundtruth/formats_dattri.py``). Then ``lds(-a)`` is the Spearman of
``sum_{k in s} a_k`` with the mean F over the held-out subsets, our ``per_target_spearman``;
``loo_corr(-a, loo pair)`` is the Pearson of a with ``F(full) - F(without k)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

dattri = pytest.importorskip("dattri", reason="dattri not installed")

from dattri.metric import lds, loo_corr  # noqa: E402

from benchmarks.api.task import make_task  # noqa: E402
from benchmarks.groundtruth import transfer as gt_io  # noqa: E402
from benchmarks.groundtruth.fill import open_store  # noqa: E402
from benchmarks.metrics.lds import per_target_spearman  # noqa: E402
from benchmarks.tasks.imported import import_gt  # noqa: E402

pytestmark = pytest.mark.slow

TOL = 1e-12  # measured 2.8e-17 (LDS) and 1.1e-16 (LOO); both sides float64


def test_dattri_lds_reads_a_padded_export(cache, tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((30, 12)) < 0.5
    masks[masks.sum(1) == 0, 0] = True
    np.savez(tmp_path / "gt.npz", masks_fit=masks[:10], masks_eval=masks[10:],
             targets_fit=rng.normal(size=(10, 2, 4)), targets_eval=rng.normal(size=(20, 2, 4)))
    import_gt(tmp_path / "gt.npz", "uneven")
    task = make_task("uneven")
    gt_io.export_gt(task, open_store(task), tmp_path / "out", fmt="dattri")
    pair = torch.load(tmp_path / "out" / "lds_eval.pt", weights_only=True)
    assert (pair[1] == task.K).any()  # padded
    a = rng.normal(size=(task.K, 4))
    score = torch.cat([torch.from_numpy(-a), torch.zeros(1, 4, dtype=torch.float64)])
    theirs = lds(score, pair)[0].numpy()
    split = gt_io.load_split(gt_io.load_entry("uneven"))
    ours = per_target_spearman(split.masks_eval @ a, split.targets_eval.mean(1))
    print(f"dattri lds vs ours: max diff {np.abs(theirs - ours).max():.1e}")
    assert np.abs(theirs - ours).max() <= TOL


def test_dattri_loo_corr_reads_the_loo_pair(tiny_addition, tmp_path):
    task, store = tiny_addition
    gt_io.export_gt(task, store, tmp_path, fmt="dattri")
    pair = torch.load(tmp_path / "loo.pt", weights_only=True)
    a = np.random.default_rng(1).normal(size=(task.K, task.n_targets))
    theirs = loo_corr(torch.from_numpy(-a), pair)[0].numpy()
    F = store.array(task.primary).mean(1)
    effect = F[store.rows.index("full")] - F[store.rows.index("loo")]  # (K, T)
    ours = np.array([pearsonr(a[:, t], effect[:, t])[0] for t in range(task.n_targets)])
    print(f"dattri loo_corr vs ours: max diff {np.nanmax(np.abs(theirs - ours)):.1e}")
    assert np.allclose(theirs, ours, rtol=0, atol=TOL, equal_nan=True)
