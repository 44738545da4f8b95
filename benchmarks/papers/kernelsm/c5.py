"""Claim C5 (REPLICATION.md): the Hessian-regularisation ablation, from ``results.csv`` rows.

Plain training: the Hessian trace grows with training length and the linear surrogate's LDS
falls; SAM and noise stability (NSO) keep both stable. Each statement is checked between the
shortest and the longest training of the ablation (``train.steps``), at our scale, once per
ablation design (the ablation cells' training settings other than the recipe and the length,
e.g. a minibatch design beside the full-batch one). A check that fails or is within noise in
one design names ``where`` the same check holds in another. A design whose longest trainings
have their models at chance is not meaningful (its checks ``not applicable``).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd

from benchmarks.api.claims import AT_CHANCE, ClaimRow, Noise, largest, not_meaningful, num
from benchmarks.api.method import make_method

LINEAR = make_method("linear_surrogate", {"fit_type": "ridge"}).key
RECIPE_NAMES = {"none": "AdamW", "sam": "SAM", "nso": "NSO"}
MIN_LDS_DROP = 0.05
OPEN = ("fails", "within noise")  # the outcomes that get a ``where``


def ablation_table(df: pd.DataFrame, noise: Noise) -> pd.DataFrame:
    """``(design, recipe, steps) -> trace, linear LDS (and its noise), linear residual, the
    full model's held-out accuracy (NaN in rows written before it was recorded)`` from
    the ablation's rows (``design``: the cell's other training settings, as text)."""
    params = df["task_params"].fillna("{}").map(json.loads)
    rows = df[params.map(lambda p: "train.steps" in p)].copy()
    if rows.empty:
        return pd.DataFrame()
    p = params[rows.index]
    rows["design"] = p.map(_design)
    rows["recipe"] = p.map(lambda d: d.get("train.sharpness", "none"))
    rows["steps"] = p.map(lambda d: int(d["train.steps"]))
    keys = ["design", "recipe", "steps"]

    def pick(metric: str, variant: str, key: str | None, how=lambda r: r["value"]):
        sel = rows[(rows.metric == metric) & (rows.variant == variant)]
        if key:
            sel = sel[sel.method_key == key]
        if sel.empty:  # a metric not recorded: NaN in its column, every key kept
            return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=keys))
        return sel.groupby(keys).apply(lambda g: how(g.iloc[0]), include_groups=False)

    if AT_CHANCE not in rows.columns:  # the ground-truth diagnostics were not joined
        rows[AT_CHANCE] = False
    return pd.DataFrame({"trace": pick("hessian_trace", "hutchinson", None),
                         "lds": pick("lds", "spearman", LINEAR),
                         "lds_noise": pick("lds", "spearman", LINEAR, noise.of),
                         "residual": pick("residual", "repo", LINEAR),
                         "acc": pick("heldout_acc", "full_model", None),
                         AT_CHANCE: rows.groupby(keys)[AT_CHANCE].apply(
                             lambda x: bool(x.fillna(False).astype(bool).any()))
                         }).reset_index()


def _design(params: dict) -> str:
    """The ablation design of a cell: its settings but the recipe and the length, as
    ``batch_size=64, lr=0.001`` (empty for the default design)."""
    rest = {k: v for k, v in params.items() if k not in ("train.steps", "train.sharpness")}
    return ", ".join(f"{k.removeprefix('train.')}={v}" for k, v in sorted(rest.items()))


def c5_rows(df: pd.DataFrame, noise: Noise) -> list[ClaimRow]:
    """C5 statements per ablation design; empty without ablation rows. A failing check names
    the designs where the same check holds."""
    t = ablation_table(df, noise)
    if t.empty:
        return []
    per = {d: not_meaningful(_design_rows(g, d), _last_at_chance(g))
           for d, g in t.groupby("design", sort=True)}
    out = []
    for design, rows in per.items():
        for i, row in enumerate(rows):
            held = [d or "default design" for d, other in per.items()
                    if d != design and i < len(other) and other[i].outcome == "holds"]
            where = f"holds in {'; '.join(held)}" if held and row.outcome in OPEN else ""
            out.append(replace(row, where=where))
    return out


def _last_at_chance(t: pd.DataFrame) -> bool:
    """Whether a cell of the design's longest training (any recipe) has its models at chance:
    then none of its statements is meaningful (the shorter trainings may be, on the way to
    learning)."""
    last = t[t.steps == t.steps.max()]
    return bool(last[AT_CHANCE].fillna(False).astype(bool).any())


def _design_rows(t: pd.DataFrame, design: str) -> list[ClaimRow]:
    """C5 statements of one design (traces are single Hutchinson estimates: no CI, no
    measured spread, so their noise is not measured)."""
    if "none" not in set(t.recipe):
        return []
    first, last = t.steps.min(), t.steps.max()
    tag = f" ({design})" if design else ""

    def at(recipe: str, steps: int, col: str) -> float:
        sel = t[(t.recipe == recipe) & (t.steps == steps)][col]
        return float(sel.iloc[0]) if len(sel) else float("nan")

    tr0, tr1 = at("none", first, "trace"), at("none", last, "trace")
    l0, l1 = at("none", first, "lds"), at("none", last, "lds")
    n1 = at("none", last, "lds_noise")
    a0, a1 = at("none", first, "acc"), at("none", last, "acc")
    acc = f" (held-out acc {num(a0, '.2f')} → {num(a1, '.2f')})" if a0 == a0 or a1 == a1 else ""
    out = [ClaimRow("C5 plain training: trace grows", f"AdamW {first} → {last} steps{tag}",
                    f"{num(tr0, '.3g')} → {num(tr1, '.3g')}{acc}", "2e5 → 1e7", "grows",
                    tr1 - tr0),
           ClaimRow("C5 plain training: linear LDS falls", f"AdamW {first} → {last} steps{tag}",
                    f"{num(l0)} → {num(l1)}", "0.375 → 0.01", f"falls by > {MIN_LDS_DROP}",
                    l0 - l1 - MIN_LDS_DROP, largest(at("none", first, "lds_noise"), n1))]
    for recipe in ("sam", "nso"):
        name = RECIPE_NAMES[recipe]
        tr, lds = at(recipe, last, "trace"), at(recipe, last, "lds")
        out.append(ClaimRow("C5 regularised: lower trace",
                            f"{name} vs AdamW at {last} steps{tag}",
                            f"{num(tr, '.3g')} vs {num(tr1, '.3g')}",
                            "SAM ~1e5, NSO 1e3 vs 1e7", "lower", tr1 - tr))
        out.append(ClaimRow("C5 regularised: linear LDS kept", f"{name} vs AdamW at {last}{tag}",
                            f"{num(lds)} vs {num(l1)}", "SAM 0.35, NSO 0.36 vs 0.01", "higher",
                            lds - l1, largest(at(recipe, last, "lds_noise"), n1)))
    return out
