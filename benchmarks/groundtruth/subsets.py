"""The rows of a ground-truth store: full set, leave-one-out, evaluation and fitting subsets.

Masks are drawn from seeds derived from the spec's ``base_key`` and the row's name, so a row's
mask never depends on how many other rows exist (methods/METHODS.md §1.1). All sampled masks are
distinct: evaluation subsets are drawn first, then fitting subsets that avoid every earlier mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.common.spec import SubsetDesign, derive_seed, fixed_size

ROLES = ("full", "loo", "eval", "fit")
_MAX_TRIES = 10_000


@dataclass(frozen=True)
class Rows:
    """Row table of a store. ``masks: (m, K)`` bool; ``roles``/``names`` length m."""

    masks: np.ndarray
    roles: tuple[str, ...]
    names: tuple[str, ...]

    def index(self, role: str) -> np.ndarray:
        """Row indices of one role, in order."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {ROLES}")
        return np.array([i for i, r in enumerate(self.roles) if r == role], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.roles)


def draw_mask(design: SubsetDesign, K: int, seed: int) -> np.ndarray:
    """One subset mask ``(K,)`` bool from the design's sampler."""
    rng = np.random.default_rng(seed)
    if design.sampler == "fixed":
        mask = np.zeros(K, dtype=bool)
        mask[rng.choice(K, size=fixed_size(design.alpha, K), replace=False)] = True
        return mask
    return rng.random(K) < design.alpha


def build_rows(design: SubsetDesign, K: int, base_key: str) -> Rows:
    """All rows of the design: full, K leave-one-out, n_eval evaluation, n_fit fitting subsets."""
    design.validate(K)
    masks: list[np.ndarray] = []
    roles: list[str] = []
    names: list[str] = []
    if design.loo:
        masks.append(np.ones(K, dtype=bool))
        roles.append("full")
        names.append("full")
        for k in range(K):
            m = np.ones(K, dtype=bool)
            m[k] = False
            masks.append(m)
            roles.append("loo")
            names.append(f"loo/{k}")
    seen: set[bytes] = set()
    tag = f"{design.sampler}/{design.alpha}"
    for role, count in (("eval", design.n_eval), ("fit", design.n_fit)):
        for j in range(count):
            masks.append(_distinct(design, K, base_key, tag, role, j, seen))
            roles.append(role)
            names.append(f"{role}/{j}")
    return Rows(np.stack(masks), tuple(roles), tuple(names))


def _distinct(design: SubsetDesign, K: int, base_key: str, tag: str, role: str, j: int,
              seen: set[bytes]) -> np.ndarray:
    for attempt in range(_MAX_TRIES):
        mask = draw_mask(design, K, derive_seed(base_key, "subset", tag, role, j, attempt))
        if 0 < mask.sum() and mask.tobytes() not in seen:
            seen.add(mask.tobytes())
            return mask
    raise RuntimeError(f"could not draw a distinct {role} subset #{j} after {_MAX_TRIES} tries")
