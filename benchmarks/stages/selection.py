"""Downstream selection (methods/METHODS.md §3.6, claim C6): pick units with a surrogate, then
retrain.

The multitask analogue of the paper's selection experiments. Targets are split into ``groups``
(a seeded partition); for each group and method, the proposal is the candidate subset whose
*predicted* mean group loss is lowest, among (a) subsets of the design's size k = round(alpha K)
("budget") and (b) every subset that drops at most ``max_drop`` units ("best", the full set
included). For additive methods (a) is exactly their top-k units. Where the size-k space is too
large to enumerate (C(50, 25) image units), ``search`` proposes instead: steepest-descent local
search on the method's own prediction, exact for additive methods. Proposals come from each
method's own outputs, which never saw evaluation ground truth. The suite then retrains every
proposal (R seeds, the store's training seeds) and compares the true group loss with random
size-k subsets (``random_draws`` draws) and with all units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

import benchmarks.common.device as devices
from benchmarks.api.task import Task
from benchmarks.common.fsio import atomic_save_npy
from benchmarks.common.spec import derive_seed, fixed_size
from benchmarks.groundtruth.executors.driver import ChunkJob, frozen_overrides
from benchmarks.groundtruth.fill import seed_of
from benchmarks.groundtruth.store import GroundTruthStore


@dataclass(frozen=True)
class SelectionDesign:
    """Target groups, how far "best" may drop units, how many random baselines, the most
    candidate masks enumerated before proposals come from ``search``, and other outputs of the
    retrained proposals to report (``also``, higher is better: e.g. an RL task's ``return``)."""

    groups: int = 4
    max_drop: int = 4
    random_draws: int = 5
    enumerate_cap: int = 300_000
    also: tuple[str, ...] = ()


def target_groups(task: Task, groups: int) -> list[np.ndarray]:
    """A seeded partition of the targets into ``groups`` near-equal index arrays."""
    rng = np.random.default_rng(derive_seed(task.spec.base_key, "selection-groups"))
    return [np.sort(g) for g in np.array_split(rng.permutation(task.n_targets), groups)]


def budget(task: Task) -> int:
    """k: the size of the design's sampled subsets, where every surrogate was fitted."""
    return fixed_size(task.spec.design.alpha, task.K)


Predict = Callable[[np.ndarray], np.ndarray]  # masks (c, K) -> predicted F (c, n_targets)


def smallest_size(K: int, k: int, max_drop: int) -> int:
    """The smallest subset "best" may propose: the budget, or all but ``max_drop`` units."""
    return min(k, K - max_drop)


def candidates(K: int, k: int, max_drop: int, cap: int = 300_000) -> np.ndarray | None:
    """All masks ``(c, K)`` of size ``>= smallest_size``, the full set first.

    When that space exceeds ``cap`` masks (many units, e.g. 50 candidate demonstrations), only
    the size-k masks are enumerated (then "best" is the budget proposal); when the size-k space
    alone exceeds ``cap``, None: the proposals come from ``search``.
    """
    sizes = range(K, smallest_size(K, k, max_drop) - 1, -1)
    if sum(math.comb(K, size) for size in sizes) > cap:
        if math.comb(K, k) > cap:
            return None
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


def search(predict: Predict, groups: list[np.ndarray], K: int, k: int, low: int,
           max_rounds: int = 200) -> dict[str, np.ndarray]:
    """Per-group proposals ``{"budget": (G, K), "best": (G, K)}`` by steepest descent.

    Start: the k units whose removal from the full set the method predicts to hurt most. Each
    round moves every group to its best neighbour (one predict call for all groups) until none
    improves. "budget" moves swap one unit in for one out; "best" starts there and may also add
    or drop one unit (sizes ``low..K``). Exact for additive methods: a linear objective over
    size-k subsets has no 1-swap local optimum that is not global.
    """
    full = np.ones((1, K), dtype=bool)
    marginal = group_means(predict(full) - predict(~np.eye(K, dtype=bool)), groups)  # (K, G)
    start = np.zeros((len(groups), K), dtype=bool)
    for g in range(len(groups)):
        start[g, np.argsort(marginal[:, g], kind="stable")[:k]] = True
    budget = _descend(predict, groups, start, low=k, resize=False, max_rounds=max_rounds)
    best = _descend(predict, groups, budget, low=low, resize=True, max_rounds=max_rounds)
    return {"budget": budget, "best": best}


def _descend(predict: Predict, groups: list[np.ndarray], masks: np.ndarray, low: int,
             resize: bool, max_rounds: int) -> np.ndarray:
    """Steepest descent of each group's predicted mean loss over ``neighbours``."""
    cur = masks.copy()
    value = np.array([predict(cur[g:g + 1])[0, idx].mean() for g, idx in enumerate(groups)])
    active = np.ones(len(groups), dtype=bool)
    for _ in range(max_rounds):
        todo = np.flatnonzero(active)
        if not len(todo):
            break
        near = [neighbours(cur[g], low, resize) for g in todo]
        pred = predict(np.concatenate(near))
        start = 0
        for g, nb in zip(todo, near, strict=True):
            own = pred[start:start + len(nb), groups[g]].mean(1)
            start += len(nb)
            j = int(np.argmin(own))
            if own[j] < value[g] - 1e-12 * max(1.0, abs(value[g])):
                cur[g], value[g] = nb[j], own[j]
            else:
                active[g] = False
    return cur


def neighbours(mask: np.ndarray, low: int, resize: bool) -> np.ndarray:
    """Masks one swap away from ``mask: (K,)`` and, with ``resize``, one unit added or dropped
    (never below ``low`` units)."""
    on, off = np.flatnonzero(mask), np.flatnonzero(~mask)
    i, j = np.repeat(on, len(off)), np.tile(off, len(on))
    swaps = np.repeat(mask[None], len(i), 0)
    swaps[np.arange(len(i)), i], swaps[np.arange(len(i)), j] = False, True
    out = [swaps]
    if resize:
        adds = np.repeat(mask[None], len(off), 0)
        adds[np.arange(len(off)), off] = True
        out.append(adds)
        if len(on) > low:
            drops = np.repeat(mask[None], len(on), 0)
            drops[np.arange(len(on)), on] = False
            out.append(drops)
    return np.concatenate(out)


def random_masks(task: Task, k: int, draws: int) -> np.ndarray:
    """``draws`` random size-k masks from seeds derived from the task key."""
    out = np.zeros((draws, task.K), dtype=bool)
    for d in range(draws):
        rng = np.random.default_rng(derive_seed(task.spec.base_key, "selection-random", d))
        out[d, rng.choice(task.K, size=k, replace=False)] = True
    return out


def retrained_loss(task: Task, store: GroundTruthStore, masks: np.ndarray,
                   chunk: int = 16, output: str | None = None, workers: int = 1) -> np.ndarray:
    """True per-target ``output`` (default: the primary loss) ``(len(masks), n_targets)`` of
    each mask, seed-averaged.

    Each mask is trained once per seed (the store's seeds); every output is cached as
    ``<store>/selection/<mask hex>-<K>[.<output>].npy`` (atomic, the primary without a suffix),
    so repeated proposals cost nothing and a killed run resumes; missing masks are trained
    ``chunk`` at a time, the chunks spread over ``workers`` processes (each chunk is the same
    engine call whoever trains it, so the values do not depend on ``workers``).
    """
    folder = store.path / "selection"
    folder.mkdir(exist_ok=True)
    stems = [f"{np.packbits(m).tobytes().hex()}-{m.size}" for m in masks]
    wanted = {task.primary, output or task.primary}
    todo = sorted({s: i for i, s in enumerate(stems)
                   if not all(_path(folder, s, o, task).exists() for o in wanted)}.items())
    parts = [todo[start:start + chunk] for start in range(0, len(todo), chunk)]
    jobs = [_job(task, i, masks[[j for _, j in part]], [s for s, _ in part])
            for i, part in enumerate(parts)]
    run = _pool(workers) if workers > 1 and len(jobs) > 1 else _in_process(task)
    bar = tqdm(total=len(jobs), desc=f"selection retraining {task.label}", disable=not jobs)
    for job, values in run(jobs):
        _save(task, folder, [s for s, _ in parts[job.index]], values)
        bar.update()
    bar.close()
    return np.stack([np.load(_path(folder, s, output or task.primary, task)).mean(0)
                     for s in stems])


def _job(task: Task, index: int, masks: np.ndarray, stems: list[str]) -> ChunkJob:
    """One engine call: every seed of each mask (the ground truth's chunk format)."""
    R = task.spec.design.n_seeds
    seeds = tuple(seed_of(task, f"select/{s}", r) for s in stems for r in range(R))
    return ChunkJob(index, task.spec.name, task.spec.profile, frozen_overrides(task.overrides), (),
                    np.repeat(masks, R, 0), seeds, task.engine, 1, devices.requested(),
                    devices.tf32_allowed())


def _pool(workers: int):
    from benchmarks.groundtruth.executors import local

    return local.pool(workers, 1)


def _in_process(task: Task):
    """The jobs trained here, one after another, by the driver's own task object."""

    def run(jobs: list[ChunkJob]):
        for job in jobs:
            with devices.torch_threads(1):  # as a pool worker trains it
                values = task.evaluate(job.masks, list(job.seeds), job.engine)
            yield job, values

    return run


def _path(folder: Path, stem: str, output: str, task: Task) -> Path:
    return folder / (f"{stem}.npy" if output == task.primary else f"{stem}.{output}.npy")


def _save(task: Task, folder: Path, stems: list[str], values: dict[str, np.ndarray]) -> None:
    """Each mask's ``(R, n_targets)`` rows of every output (``values`` in ``_job``'s order)."""
    R = task.spec.design.n_seeds
    for j, stem in enumerate(stems):
        for output, vals in values.items():
            atomic_save_npy(_path(folder, stem, output, task), vals[j * R:(j + 1) * R])
