"""The Gauss-Newton output Hessian Λ (methods/influence.py): the softmax closed form equals
autograd's, and autograd's is exact for the squared loss."""

from __future__ import annotations

from dataclasses import replace

import torch

from benchmarks.tasks.metaworld.task import squared_error
from benchmarks.training.engine import Problem
from methods.influence import output_hessian

TOL = 1e-12  # float64


def _problem(loss, form: str) -> Problem:
    return Problem(make_model=lambda: torch.nn.Identity(), X=torch.zeros(1, 1),
                   y=torch.zeros(1), loss=loss, dtype=torch.float64, loss_form=form)


def test_softmax_closed_form_equals_autograd():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(7, 5, dtype=torch.float64, generator=g)
    y = torch.randint(0, 5, (7,), generator=g)
    w = torch.rand(7, dtype=torch.float64, generator=g)
    u = torch.randn(7, 5, dtype=torch.float64, generator=g)

    def ce(o, t):
        return torch.nn.functional.cross_entropy(o, t, reduction="none")

    closed = _problem(ce, "softmax_ce")
    generic = replace(closed, loss_form="autograd")
    torch.testing.assert_close(output_hessian(closed, out, y, w)(u),
                               output_hessian(generic, out, y, w)(u), rtol=0, atol=TOL)


def test_squared_loss_hessian_is_two_over_c_times_the_weights():
    """mean over c outputs of (o - y)²: Λ_i = (2 / c) I, so w_i Λ_i u_i = 2 w_i u_i / c."""
    g = torch.Generator().manual_seed(1)
    out, y = (torch.randn(6, 4, dtype=torch.float64, generator=g) for _ in range(2))
    w = torch.rand(6, dtype=torch.float64, generator=g)
    u = torch.randn(6, 4, dtype=torch.float64, generator=g)
    got = output_hessian(_problem(squared_error, "squared"), out, y, w)(u)
    torch.testing.assert_close(got, 2.0 * w[:, None] * u / 4, rtol=0, atol=TOL)
