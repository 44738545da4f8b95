"""Cross-check of our TracIn (``methods/tracin.py``) against captum's ``TracInCP``.

captum is not a dependency and this module skips without it (``pip install captum==0.9.0``;
``pytest tests/crosscheck -m slow``).

Conventions (read from captum 0.9.0's source, ``captum/influence/_core/tracincp.py``):
``TracInCP.influence((x_test, y_test))`` is ``(n_test, n_train)`` with entries
``sum_c lr_c g_test(theta_c) . g_train(theta_c)``: per-example gradients of ``loss_fn``
(``reduction="none"``), ``lr_c`` the number ``checkpoints_load_func`` returns for checkpoint c,
applied once per checkpoint (not squared), positive = proponent. Ours is
``a_kt = -sum_c eta_c u_k(theta_c) . g_t(theta_c)`` with ``u_k = sum_{i in T_k} w_i g_i`` (w the
full-set training weights, 1/n) and eta_c the learning rate over the interval before checkpoint
c, positive = harmful. So with the same checkpoints and rates ``ours = -(M * w) @ captumᵀ`` (M
the unit membership; ``-captumᵀ / n`` when units are examples), which holds to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn
from torch.utils.data import TensorDataset

captum = pytest.importorskip("captum", reason="captum not installed")

from captum.influence import TracInCP  # noqa: E402

from methods.tracin import TracIn, checkpoint_scores  # noqa: E402

pytestmark = pytest.mark.slow

N_CHECKPOINTS = 3
OTHER_RATES = (0.1, 0.02, 0.005)  # distinct per-checkpoint rates: lr applied once, not squared
# Measured with captum 0.9.0, torch 2.13 CPU, tiny modular addition (d = 1,487, n = 476 examples
# in K = 9 units, 53 targets): Spearman 1.0, max |ours - theirs| / max |ours| = 3.5e-16 (the
# method, eta = 0.03 at every checkpoint) and 5.3e-16 (the rates above).
MIN_SPEARMAN, MAX_REL_ERR = 0.9999999, 1e-10


def _captum(ctx, models, rates) -> np.ndarray:
    """captum's TracInCP over our checkpoints and rates, in our convention ``(K, n_t)``."""
    tm = ctx.model
    module = tm.module.double()
    X, Xt = tm.inputs()

    def load(model: nn.Module, c: int) -> float:
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(models[c].params[name].double())
        return rates[c]

    tracin = TracInCP(module, TensorDataset(X, tm.problem.y), checkpoints=list(range(len(models))),
                      checkpoints_load_func=load, loss_fn=nn.CrossEntropyLoss(reduction="none"),
                      batch_size=len(X))
    theirs = tracin.influence((Xt, tm.yt)).double().numpy()  # (n_t, n), > 0 = proponent
    return -(tm.membership * tm.weights[None, :]) @ theirs.T


def _check(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    rho = float(spearmanr(ours.ravel(), theirs.ravel())[0])
    rel = float(np.abs(ours - theirs).max() / np.abs(ours).max())
    print(f"TracIn vs captum ({what}): spearman={rho:.10f} rel={rel:.2e}")
    assert rho >= MIN_SPEARMAN
    assert rel <= MAX_REL_ERR


def test_tracin_matches_captum_tracincp(tiny_ctx):
    ctx = tiny_ctx
    method = TracIn(n_checkpoints=N_CHECKPOINTS)
    models, etas = method.checkpoints(ctx)
    assert len(models) == N_CHECKPOINTS and etas == [ctx.task.spec.train.lr] * N_CHECKPOINTS
    _check(method.fit(ctx).scores, _captum(ctx, models, etas), "the method")


def test_per_checkpoint_rates_enter_once(tiny_ctx):
    ctx = tiny_ctx
    models, _ = TracIn(n_checkpoints=N_CHECKPOINTS).checkpoints(ctx)
    ours = sum(checkpoint_scores(m, eta)[0] for m, eta in zip(models, OTHER_RATES, strict=True))
    _check(ours.numpy(), _captum(ctx, models, OTHER_RATES), f"rates {OTHER_RATES}")
