"""Claims C2 and C3 (REPLICATION.md), only where the benchmark matches one the paper reports.

C2: KernelSM's LDS exceeds the linear surrogate's; C3: its residual is 1/4-1/3 of the linear
one. Both compare with published numbers computed by the authors' evaluation, so they use the
authors' metric forms: LDS ``spearman_repo`` and residual ``repo`` (targets with held-out
variance >= 0.1), except the image cells, read on groups of test images (``spearman_groups``,
``ne_groups``: the test images by class) as the paper's image targets. A task's benchmark is
``modular`` (the modular-arithmetic families and their variants), ``icl`` (the ICL families),
``image`` (Fashion-MNIST and CIFAR-10, against the paper's CIFAR-10 figures) or an import's
recorded ``kind``; sample-level and generic tasks have no published C2/C3 figure and get no
rows. The re-splits of one import (a task
group) are one claim unit: the mean over its splits, as the paper averages its five re-splits.

Beside those checks, unchanged, the paper's own readings: C2 as its abstract states it, "25%
higher correlation with the leave-one-out ground truth", checked where the cell has LOO rows
as KernelSM's pooled Pearson with LOO (``loo_corr/pearson_pooled``, the form of the authors'
notebook) relative to the linear surrogate's, gain >= 25%; the relative LDS gain printed with
the absolute one; and on modular cells C3 also by the authors' NE without the variance filter
(``residual/ne``: per target the authors' NE times (m-1)/m, so the ratio is theirs over all
non-constant targets). A C2/C3 check that fails or is within noise names ``where`` on the
cell's label curve it would hold (``curve.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import pandas as pd

from benchmarks.api.claims import (
    ClaimRow,
    Noise,
    num,
    ran,
    ratio_noise,
    row_of,
    value_of,
)
from benchmarks.papers.kernelsm.curve import Rule, units_of, where_on_curve

MODULAR = ("modular-addition", "modular-quad", "modular-division", "modular-addition-ft",
           "modular-quad-ft")
ICL = ("icl-coin-flip", "icl-sentiment")
IMAGE = ("fmnist-random", "fmnist-class", "fmnist-random-ft", "fmnist-class-ft", "cifar10")
RL = ("mt10", "mt10-sac")
PAPER_C2 = {"modular": "modular ~0.80 vs 0.58", "icl": "ICL ~0.88 vs 0.75",
            "image": "CIFAR-10 ~0.82 vs 0.76", "rl": "MT10 (SAC) ~0.73 vs 0.68"}
PAPER_C3 = {"modular": "modular 1.5/4.6 = 0.33", "icl": "1/4-1/3 (CIFAR-10, modular; no ICL)",
            "image": "CIFAR-10 1.0/4.4 = 0.23", "rl": "1/4-1/3 (CIFAR-10, modular; no RL)"}
PAPER_C2_LOO = "+25% vs linear and IF (abstract)"
LDS = ("lds", "spearman_repo")
RESIDUAL = ("residual", "repo")
NE = ("residual", "ne")  # the authors' NE over every non-constant target (no variance filter)
# the paper's image targets are groups of test images: those cells are read on their groups
FORMS = {"image": (("lds", "spearman_groups"), ("residual", "ne_groups"), "groups of test images"),
         # ten task-level targets whose imitation losses vary far below the 0.1 filter
         "rl": (("lds", "spearman"), ("residual", "ne"), "MT10 tasks")}
DEFAULT_FORM = (LDS, RESIDUAL, "targets with held-out var >= 0.1")


def benchmark_of(family: str, task_params: object) -> str | None:
    """``modular``, ``icl``, ``image`` or None for a task (family name and ``task_params``
    JSON)."""
    if family in MODULAR:
        return "modular"
    if family in ICL:
        return "icl"
    if family in IMAGE:
        return "image"
    if family in RL:
        return "rl"
    try:
        kind = json.loads(str(task_params)).get("kind")
    except (TypeError, ValueError, AttributeError):
        return None
    return kind if kind in PAPER_C2 else None


C2_MIN_GAP, C3_MAX_RATIO = 0.02, 0.5
C2_MIN_LOO_GAIN = 0.25  # the abstract's "25% higher correlation with the LOO ground truth"
C2, C2_LOO = "C2 LDS KernelSM > linear", "C2 LOO corr KernelSM +25% over linear"
C3 = "C3 residual RBF/linear <= 1/3"
OPEN = ("fails", "within noise")  # the outcomes that get a ``where``


@dataclass(frozen=True)
class Pair:
    """KernelSM against one linear baseline on one claim unit's rows."""

    g: pd.DataFrame
    task: str
    kernel: str
    base: str
    name: str
    noise: Noise

    @property
    def label(self) -> str:
        return f"{self.task} vs {self.name}"

    def rows(self, metric: str, variant: str) -> tuple[pd.Series | None, pd.Series | None]:
        """KernelSM's and the baseline's row of (metric, variant), None where absent."""
        return (row_of(self.g, metric, variant, self.kernel),
                row_of(self.g, metric, variant, self.base))

    def where(self, row: ClaimRow, variant: str, rule: Rule) -> ClaimRow:
        """``row`` with ``where`` on the label curve, if it fails or is within noise."""
        if row.outcome not in OPEN:
            return row
        return replace(row, where=where_on_curve(self.g, self.kernel, self.base, variant, rule,
                                                 units_of(self.g)))


def c2_c3_rows(g: pd.DataFrame, task: str, bench: str | None, kernel: str,
               linears: tuple[tuple[str, str], ...], noise: Noise) -> list[ClaimRow]:
    """C2 and C3 of one claim unit (where KernelSM ran) against each ``(name, method_key)``
    linear baseline; an absent row makes the check ``missing``."""
    if bench is None or not ran(g, kernel):
        return []
    lds, residual, what = FORMS.get(bench, DEFAULT_FORM)
    k_row = row_of(g, *lds, method_key=kernel)
    kept = f" ({what}: {int(k_row['n_targets'])})" if k_row is not None else ""
    rows = []
    for name, key in linears:
        pair = Pair(g, task, kernel, key, name, noise)
        rows += [_c2(pair, bench, lds, kept), *_c2_loo(pair), _c3(pair, bench, residual, "")]
        if bench == "modular":
            rows.append(_c3(pair, bench, NE, " (NE, no variance filter)"))
    return rows


def _c2(pair: Pair, bench: str, lds: tuple[str, str], kept: str) -> ClaimRow:
    """C2 as today: KernelSM's LDS above the baseline's by more than the gap."""
    k_row, l_row = pair.rows(*lds)
    k, base = value_of(k_row), value_of(l_row)
    ours = f"{num(k)} vs {num(base)}{_relative(k, base)}{kept}"
    row = ClaimRow(C2, pair.label, ours, PAPER_C2[bench], f"gap > +{C2_MIN_GAP}",
                   k - base - C2_MIN_GAP, pair.noise.of(k_row, l_row))
    return pair.where(row, "lds", lambda a, b: a - b > C2_MIN_GAP)


def _c2_loo(pair: Pair) -> list[ClaimRow]:
    """C2 as the abstract states it (where the cell has LOO rows): KernelSM's pooled Pearson
    with LOO at least 25% above the baseline's, relative ``(k - base) / |base|``."""
    k_row, l_row = pair.rows("loo_corr", "pearson_pooled")
    if k_row is None:
        return []
    k, base = value_of(k_row), value_of(l_row)
    gain = (k - base) / abs(base) if base else math.nan
    noise = ratio_noise(k / base if base else math.nan, k, pair.noise.of(k_row), base,
                        pair.noise.of(l_row))
    return [ClaimRow(C2_LOO, pair.label, f"{num(k)} vs {num(base)}{_relative(k, base)}",
                     PAPER_C2_LOO, f"(k - base)/|base| >= +{C2_MIN_LOO_GAIN:.0%} (pooled "
                     f"Pearson vs LOO)", gain - C2_MIN_LOO_GAIN, noise, source="paper text")]


def _c3(pair: Pair, bench: str, residual: tuple[str, str], form: str) -> ClaimRow:
    """C3: KernelSM's residual over the baseline's at most ``C3_MAX_RATIO``."""
    k_res, l_res = pair.rows(*residual)
    k, base = value_of(k_res), value_of(l_res)
    ratio = k / base if base else math.nan
    row = ClaimRow(C3, pair.label + form, f"{num(k)}/{num(base)} = {num(ratio, '.2f')}",
                   PAPER_C3[bench], f"ratio <= {C3_MAX_RATIO}", C3_MAX_RATIO - ratio,
                   ratio_noise(ratio, k, pair.noise.of(k_res), base, pair.noise.of(l_res)))
    return pair.where(row, "ne", lambda a, b: b != 0 and a / b <= C3_MAX_RATIO)


def _relative(k: float, base: float) -> str:
    """`` (+3.1%)``: the relative gain over the baseline, empty where it is unknown."""
    return f" ({(k - base) / abs(base):+.1%})" if k == k and base == base and base else ""
