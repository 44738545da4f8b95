"""Gradient cosine similarity (METHODS.md §2.4, cosine-normalised variant): a cheap baseline.

Per-example training and target gradients are normalised to unit length before the unit sums,
so ``a_k = -sum_{i in T_k} w_i cos(g_i, grad phi_t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.api.registry import register_method
from methods.grad_dot import GradDot


@register_method("grad_cos")
@dataclass(frozen=True)
class GradCos(GradDot):
    """Sum of cosine similarities between unit members' and target gradients."""

    normalize = True
    label = "Grad-Cos"
