"""Cells that differ only in training length share one training (``design.shared_lengths``).

The Hessian ablation trains each recipe at several lengths. With ``design.shared_lengths`` the
sibling cells draw the same subsets and seeds (``TaskSpec.base_key`` takes the longest length),
so one run to the longest length, read after each length, is every sibling's ground truth:
``engine.train_at`` makes each snapshot bit-identical to that sibling's own training, and every
sibling keeps its own key and store (a sibling filled alone gets the same bits:
``tests/exact/test_prefix_sharing.py``). Filling any sibling fills all of them, chunk by chunk
(a chunk is pending while any sibling lacks one of its rows; each store gets only the rows it
lacks, so a killed run resumes bit-identically); a sibling found complete later costs nothing.
Which stores form a family: ``fill.family``. A store at an explicit ``path`` and the SLURM
executor train their own cell only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.api.task import Task
from benchmarks.groundtruth.store import GroundTruthStore

Chunk = list[tuple[int, int]] | tuple  # (row, seed) jobs
SEP = "@"  # ``{output}@{steps}``: a length's outputs in one flat chunk result


@dataclass(frozen=True)
class Family:
    """The stores one training writes, ``{steps: store}`` (this cell's among them), and the
    task that trains them."""

    task: Task
    stores: dict[int, GroundTruthStore]

    @property
    def own(self) -> GroundTruthStore:
        """The store of ``task``'s own cell."""
        return self.stores[self.task.spec.train.steps]

    @property
    def shared(self) -> bool:
        """Whether a chunk trains several lengths at once."""
        return len(self.stores) > 1

    def pending(self, chunk: Chunk) -> bool:
        return any(s.done[j, r] == 0 for s in self.stores.values() for j, r in chunk)

    def check_resumable(self) -> None:
        for store in self.stores.values():
            store.check_resumable()

    def evaluate(self, masks: np.ndarray, seeds: list[int], engine: str
                 ) -> dict[int, dict[str, np.ndarray]]:
        """``{steps: {output: (B, n_targets)}}`` of one chunk, for every length."""
        if self.shared:
            return self.task.evaluate_lengths(masks, seeds, engine)
        return {self.task.spec.train.steps: self.task.evaluate(masks, seeds, engine)}

    def write(self, chunk: Chunk, values: dict[int, dict[str, np.ndarray]]) -> int:
        """Write each length's rows its store lacks; returns the models trained for them (the
        chunk's jobs missing from at least one store)."""
        missing = sum(any(s.done[j, r] == 0 for s in self.stores.values()) for j, r in chunk)
        for steps, store in self.stores.items():
            store.write_chunk(chunk, values[steps])
        return missing


def flatten(values: dict[int, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One chunk's outputs of every length as the flat arrays a worker returns."""
    return {f"{name}{SEP}{steps}": v for steps, out in values.items() for name, v in out.items()}


def unflatten(flat: dict[str, np.ndarray]) -> dict[int, dict[str, np.ndarray]]:
    """``flatten``'s inverse."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for key, v in flat.items():
        name, steps = key.rsplit(SEP, 1)
        out.setdefault(int(steps), {})[name] = v
    return out
