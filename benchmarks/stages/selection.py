"""Downstream selection (methods/METHODS.md §3.6, claim C6): pick units with a surrogate, then
retrain.

The multitask analogue of the paper's selection experiments. Targets are split into ``groups``
(a seeded partition); for each group and method, the proposal is the candidate subset whose
*predicted* mean group loss is lowest, among (a) subsets of the design's size k = round(alpha K)
("budget") and (b) every subset that drops at most ``max_drop`` units ("best", the full set
included). For additive methods (a) is exactly their top-k units. Proposals come from each
method's own outputs, which never saw evaluation ground truth. The suite then retrains every
proposal (R seeds, the store's training seeds) and compares the true group loss with random
size-k subsets (``random_draws`` draws) and with all units.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks.fsio import atomic_save_npy
from benchmarks.groundtruth.fill import seed_of
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.spec import derive_seed, fixed_size
from benchmarks.task import Task


@dataclass(frozen=True)
class SelectionDesign:
    """Target groups, how far "best" may drop units, and how many random baselines."""

    groups: int = 4
    max_drop: int = 4
    random_draws: int = 5


def target_groups(task: Task, groups: int) -> list[np.ndarray]:
    """A seeded partition of the targets into ``groups`` near-equal index arrays."""
    rng = np.random.default_rng(derive_seed(task.spec.base_key, "selection-groups"))
    return [np.sort(g) for g in np.array_split(rng.permutation(task.n_targets), groups)]


def budget(task: Task) -> int:
    """k: the size of the design's sampled subsets, where every surrogate was fitted."""
    return fixed_size(task.spec.design.alpha, task.K)


def candidates(K: int, k: int, max_drop: int, cap: int = 300_000) -> np.ndarray:
    """All masks ``(c, K)`` of size ``>= min(k, K - max_drop)``, the full set first.

    When that space exceeds ``cap`` masks (many units, e.g. 50 candidate demonstrations), only
    the size-k masks are enumerated (then "best" is the budget proposal); a size-k space larger
    than ``cap`` is refused with the numbers, rather than searched approximately in silence.
    """
    low = min(k, K - max_drop)
    sizes = range(K, low - 1, -1)
    if sum(math.comb(K, size) for size in sizes) > cap:
        if math.comb(K, k) > cap:
            raise ValueError(f"selection: C({K}, {k}) = {math.comb(K, k):,} candidate subsets "
                             f"exceed the cap of {cap:,}; lower the budget or raise the cap")
        sizes = range(k, k - 1, -1)
    masks = []
    for size in sizes:
        for keep in itertools.combinations(range(K), size):
            m = np.zeros(K, dtype=bool)
            m[list(keep)] = True
            masks.append(m)
    return np.stack(masks)


def group_means(pred: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``(c, n_targets) -> (c, G)``: mean over each group's targets."""
    return np.stack([pred[:, g].mean(1) for g in groups], axis=1)


def propose(pred_groups: np.ndarray, cands: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-group argmin of predicted loss: ``{"budget": (G, K), "best": (G, K)}`` masks."""
    sized = np.flatnonzero(cands.sum(1) == k)
    out = {"budget": cands[sized[np.argmin(pred_groups[sized], axis=0)]],
           "best": cands[np.argmin(pred_groups, axis=0)]}
    return out


def random_masks(task: Task, k: int, draws: int) -> np.ndarray:
    """``draws`` random size-k masks from seeds derived from the task key."""
    out = np.zeros((draws, task.K), dtype=bool)
    for d in range(draws):
        rng = np.random.default_rng(derive_seed(task.spec.base_key, "selection-random", d))
        out[d, rng.choice(task.K, size=k, replace=False)] = True
    return out


def retrained_loss(task: Task, store: GroundTruthStore, masks: np.ndarray,
                   chunk: int = 16) -> np.ndarray:
    """True per-target loss ``(len(masks), n_targets)`` of each mask, seed-averaged.

    Each mask is trained once per seed (the store's seeds) and cached as
    ``<store>/selection/<mask hex>.npy`` (atomic), so repeated proposals cost nothing and a
    killed run resumes; missing masks are trained ``chunk`` at a time.
    """
    folder = store.path / "selection"
    folder.mkdir(exist_ok=True)
    paths = [folder / f"{np.packbits(m).tobytes().hex()}-{m.size}.npy" for m in masks]
    todo = sorted({p: i for i, p in enumerate(paths) if not p.exists()}.items())
    for start in tqdm(range(0, len(todo), chunk), desc=f"selection retraining {task.label}",
                      disable=not todo):
        part = todo[start:start + chunk]
        _train_and_save(task, masks[[i for _, i in part]], [p for p, _ in part])
    return np.stack([np.load(p).mean(0) for p in paths])


def _train_and_save(task: Task, masks: np.ndarray, paths: list[Path]) -> None:
    R = task.spec.design.n_seeds
    seeds = [seed_of(task, f"select/{p.stem}", r) for p in paths for r in range(R)]
    loss = task.evaluate(np.repeat(masks, R, 0), seeds, task.engine)[task.primary]
    for j, path in enumerate(paths):
        atomic_save_npy(path, loss[j * R:(j + 1) * R])
