"""Where a C2/C3 check that fails (or is within noise) would hold: the cell's label curve.

The label-curve stage (``benchmarks/stages/label_curve.py``) writes ``label_curve`` results
rows: per surrogate (``method_key``), variant ``lds`` or ``ne``, the mean over random draws of
n fitting subsets (``split`` ``n=<n>``, ``n_labels = n``). ``where_on_curve`` names the
smallest n at which the check's own rule holds between KernelSM's mean and the baseline's:
``holds from n=96 (6.0K)`` (n in units of K, the cell's number of units, where known),
``first holds at n=..., not at every larger n`` when the rule breaks again further on,
``holds nowhere measured (n ≤ 320)``, or ``no curve`` where either curve is absent.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

CURVE = "label_curve"
Rule = Callable[[float, float], bool]  # (KernelSM's mean, the baseline's mean) -> holds


def curve(g: pd.DataFrame, method_key: str, variant: str) -> pd.Series:
    """``n -> mean value`` of one surrogate's curve, ascending n (empty without rows)."""
    sel = g[(g.metric == CURVE) & (g.variant == variant) & (g.method_key == method_key)]
    if sel.empty:
        return pd.Series(dtype=float)
    n = sel["split"].astype(str).str.removeprefix("n=")
    if "n_labels" in sel.columns and sel["n_labels"].notna().all():
        n = sel["n_labels"]
    values = pd.Series(sel["value"].astype(float).to_numpy(),
                       index=pd.to_numeric(n).astype(int).to_numpy())
    return values.groupby(level=0).first().sort_index()


def units_of(g: pd.DataFrame) -> int | None:
    """K of a claim unit: leave-one-out retrains the full set and each of the K units left
    out, so its rows carry ``n_labels = K + 1`` (None without LOO rows)."""
    if "n_labels" not in g.columns or "method" not in g.columns:
        return None
    labels = g.loc[g["method"] == "loo", "n_labels"].dropna()
    return int(labels.iloc[0]) - 1 if len(labels) and labels.iloc[0] > 1 else None


def where_on_curve(g: pd.DataFrame, kernel: str, base: str, variant: str, rule: Rule,
                   units: int | None = None) -> str:
    """Where on the label curve the rule first holds (module docstring)."""
    k, b = curve(g, kernel, variant), curve(g, base, variant)
    common = [n for n in k.index if n in b.index]
    if not common:
        return "no curve"
    held = [n for n in common if rule(float(k[n]), float(b[n]))]
    if not held:
        return f"holds nowhere measured (n ≤ {common[-1]})"
    first = held[0]
    at = f"n={first}" + (f" ({first / units:.1f}K)" if units else "")
    if held == common[common.index(first):]:
        return f"holds from {at}"
    return f"first holds at {at}, not at every larger n"
