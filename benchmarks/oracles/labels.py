"""Label oracles for F(s): retrained ground truth, or first-order GradEx estimates (§2.8).

Surrogate methods receive an oracle's labels on fitting subsets only; evaluation subsets never
reach a method (docs/ARCHITECTURE.md, Label oracles). ``RetrainOracle`` reads retrained ground truth
from the store. ``GradExOracle`` estimates F at many more subsets from the full-set model W0
(methods/METHODS.md §2.8): the store's fitting masks first, then extra masks drawn with the task's
design sampler, all distinct and disjoint from the evaluation masks. Its labels are cached
under ``<store>/gradex/<config key>/`` (``labels.npz`` + ``meta.json``) and shared by every
method that asks for the same configuration; a cache written for another configuration is
refused, never overwritten. A method's ``labels`` field names the oracle: ``"retrain"``,
``"gradex"`` (profile defaults) or ``"gradex:k=512,m=4000,lam=0.01,proj=gaussian"``.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import time
import zipfile
from pathlib import Path

import numpy as np

from benchmarks.api.context import LabelSet
from benchmarks.api.task import Task
from benchmarks.common.fsio import CorruptFileError, make_temp_dir, publish_dir
from benchmarks.common.provenance import provenance
from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    content_key,
    derive_seed,
    fixed_size,
    to_plain,
)
from benchmarks.groundtruth.fullmodel import linearisation_point
from benchmarks.groundtruth.store import GroundTruthStore
from benchmarks.groundtruth.subsets import draw_mask
from benchmarks.oracles.gradex import estimate, gradex_config, shared_features, solve_subsets
from benchmarks.training.retrain_task import RetrainTask

ENUMERATE_MAX = 100_000  # subset spaces this small are enumerated (exact sampling w/o repl.)
_MAX_TRIES = 10_000


class GradExCacheMismatchError(ValueError):
    """The GradEx label cache on disk was written for another configuration."""


class RetrainOracle:
    """F(s) of the fitting subsets, averaged over the R retraining seeds."""

    name = "retrain"

    def __init__(self, task: Task, store: GroundTruthStore, output: str, **options) -> None:
        if options:
            raise SpecError(f"label oracle retrain takes no options, got {sorted(options)}")
        self.store = store
        self.output = output

    def fit_set(self) -> LabelSet:
        idx = self.store.rows.index("fit")
        R = self.store.done.shape[1]
        return LabelSet(self.store.rows.masks[idx], self.store.mean(self.output, "fit"),
                        float(len(idx) * R))


class GradExOracle:
    """First-order estimates of F on m fitting subsets (see the module docstring)."""

    name = "gradex"
    outputs = ("loss", "correct")

    def __init__(self, task: Task, store: GroundTruthStore, output: str, **options) -> None:
        if not isinstance(task, RetrainTask):
            raise SpecError(f"label oracle gradex needs a trained model; {type(task).__name__} "
                            f"has none")
        if output not in self.outputs:
            raise SpecError(f"label oracle gradex estimates {self.outputs}, not {output!r}")
        self.task, self.store, self.output = task, store, output
        self.config = gradex_config(task.spec.profile, options)
        self.folder = store.path / "gradex" / content_key("gradex", self.config)

    def masks(self) -> np.ndarray:
        """``(m', K)``: the store's fitting masks, then extra draws (m' <= m if the design has
        fewer distinct subsets outside the evaluation set)."""
        return gradex_masks(self.task.spec.design, self.store, self.config.n_subsets,
                            self.task.spec.base_key)

    def fit_set(self) -> LabelSet:
        meta, arrays = self._load() or self._compute()
        return LabelSet(arrays["masks"], arrays[self.output], 1.0, meta["cost_s"])

    def _meta_key(self) -> dict:
        return {"config": to_plain(self.config), "task_key": self.task.spec.key}

    def _load(self) -> tuple[dict, dict] | None:
        if not (self.folder / "meta.json").exists():
            return None
        meta = _read_meta(self.folder / "meta.json")
        want = self._meta_key()
        diff = [f"{k}: cache {meta.get(k)!r} != requested {v!r}" for k, v in want.items()
                if meta.get(k) != v]
        if diff:
            raise GradExCacheMismatchError(
                f"GradEx label cache {self.folder} was written for another configuration; "
                f"refusing to reuse or overwrite it:\n  " + "\n  ".join(diff))
        return meta, _read_labels(self.folder, meta, self.task.K, self.output)

    def _compute(self) -> tuple[dict, dict]:
        t0 = time.perf_counter()
        tm = linearisation_point(self.task, self.store)
        t1 = time.perf_counter()
        masks = self.masks()
        t2 = time.perf_counter()
        # the features' own cost, also when another method of the cell computed them first
        feat, feat_s = shared_features(tm, self.config, f"{self.task.spec.key}/gradex")
        t3 = time.perf_counter()
        sol = solve_subsets(feat, self.task.example_weights(masks), self.config.lam_z)
        arrays = {"masks": masks, **estimate(feat, sol.Z)}
        solve_s = time.perf_counter() - t3
        features_s = t2 - t1 + feat_s
        meta = {**self._meta_key(), "m": len(masks), "k": feat.k,
                "cost_s": features_s + solve_s, "w0_s": t1 - t0, "features_s": features_s,
                "solve_s": solve_s,
                "max_kkt": sol.max_residual, "iterations": sol.iterations,
                "provenance": provenance()}
        _write_atomic(self.folder, meta, arrays)
        return meta, arrays


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path}: cannot be read ({err.__class__.__name__}); remove "
                               f"{path.parent} to recompute the labels") from None
    if not isinstance(meta, dict) or "cost_s" not in meta:
        raise CorruptFileError(f"{path}: not a GradEx label manifest; remove {path.parent} to "
                               f"recompute the labels")
    return meta


def _read_labels(folder: Path, meta: dict, K: int, output: str) -> dict:
    """The cached arrays, checked against the manifest's checksum, their
    shapes and finiteness; damage is refused naming the file, never used."""
    path = folder / "labels.npz"
    fix = f"remove {folder} to recompute the labels"
    try:
        data = path.read_bytes()
        if "labels_sha256" not in meta:
            raise CorruptFileError(f"{path}: meta.json records no checksum (an older cache), "
                                   f"so the labels cannot be verified; {fix}")
        if meta["labels_sha256"] != hashlib.sha256(data).hexdigest():
            raise CorruptFileError(f"{path}: does not match its checksum in meta.json; {fix}")
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CorruptFileError(f"{path}: cannot be read ({err.__class__.__name__}); "
                               f"{fix}") from None
    masks, values = arrays.get("masks"), arrays.get(output)
    if masks is None or values is None or masks.ndim != 2 or masks.shape[1] != K \
            or values.ndim != 2 or len(values) != len(masks):
        raise CorruptFileError(f"{path}: lacks masks (m, {K}) and {output} (m, n_targets); {fix}")
    if not np.isfinite(values).all():
        raise CorruptFileError(f"{path}: {output} holds non-finite labels; {fix}")
    return arrays


def _write_atomic(folder: Path, meta: dict, arrays: dict) -> None:
    """Write into a temporary folder and rename it into place; a concurrent writer of the
    same configuration wins and this copy is dropped."""
    tmp = make_temp_dir(folder)
    np.savez(tmp / "labels.npz", **arrays)
    meta = {**meta, "labels_sha256": hashlib.sha256((tmp / "labels.npz").read_bytes()).hexdigest()}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    publish_dir(tmp, folder, "meta.json")


def gradex_masks(design: SubsetDesign, store: GroundTruthStore, m: int, key: str
                 ) -> np.ndarray:
    """The store's first ``m`` fitting masks, then distinct extra masks from the design's
    sampler (seeded by ``key`` and "gradex"), avoiding every evaluation and fitting mask."""
    rows = store.rows
    fit = rows.masks[rows.index("fit")][:m]
    seen = {x.tobytes() for x in rows.masks[rows.index("eval")]} | {x.tobytes() for x in fit}
    extra = extra_masks(design, rows.masks.shape[1], m - len(fit), seen, key)
    return np.concatenate([fit, extra]).astype(bool)


def extra_masks(design: SubsetDesign, K: int, n: int, seen: set[bytes], key: str
                ) -> np.ndarray:
    """``n`` (or all remaining, if fewer) distinct non-empty masks not in ``seen``, drawn
    without replacement from the design's distribution."""
    if n <= 0:
        return np.zeros((0, K), dtype=bool)
    space = math.comb(K, fixed_size(design.alpha, K)) if design.sampler == "fixed" else 2**K
    if space <= ENUMERATE_MAX:
        return _enumerated(design, K, n, seen, key)
    out = []
    for j in range(n):
        for attempt in range(_MAX_TRIES):
            mask = draw_mask(design, K, derive_seed(key, "gradex", j, attempt))
            if mask.any() and mask.tobytes() not in seen:
                seen.add(mask.tobytes())
                out.append(mask)
                break
        else:
            raise RuntimeError(f"could not draw a distinct GradEx subset #{j}")
    return np.stack(out)


def _enumerated(design: SubsetDesign, K: int, n: int, seen: set[bytes], key: str
                ) -> np.ndarray:
    """Weighted sampling without replacement over the whole (small) space of masks
    (Efraimidis-Spirakis keys ``log(u) / p(mask)``), i.e. sequential draws from the design,
    rejecting repeats."""
    if design.sampler == "fixed":
        size = fixed_size(design.alpha, K)
        cands = np.zeros((math.comb(K, size), K), dtype=bool)
        for i, c in enumerate(itertools.combinations(range(K), size)):
            cands[i, list(c)] = True
    else:
        cands = ((np.arange(1, 2**K)[:, None] >> np.arange(K)) & 1).astype(bool)
    cands = cands[[c.tobytes() not in seen for c in cands]]
    sizes = cands.sum(1)
    logp = sizes * np.log(design.alpha) + (K - sizes) * np.log1p(-design.alpha)
    u = np.random.default_rng(derive_seed(key, "gradex", "enumerated")).random(len(cands))
    order = np.argsort(-(np.log(u) / np.exp(logp)), kind="stable")
    return cands[order[:n]]


ORACLES = {"retrain": RetrainOracle, "gradex": GradExOracle}


def parse_labels(labels: str) -> tuple[str, dict[str, str]]:
    """``"gradex:k=512,m=4000"`` -> ``("gradex", {"k": "512", "m": "4000"})``."""
    name, _, rest = labels.partition(":")
    options = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        field, eq, value = item.partition("=")
        if not eq or not field.strip() or not value.strip():
            raise SpecError(f"invalid labels {labels!r}: expected name:field=value,...")
        options[field.strip()] = value.strip()
    return name.strip(), options


def make_oracle(labels: str, task: Task, store: GroundTruthStore, output: str):
    """The oracle named by a method's ``labels`` value; unknown names list the available."""
    name, options = parse_labels(labels)
    if name not in ORACLES:
        raise SpecError(f"unknown label oracle {labels!r}. Available: {', '.join(ORACLES)} "
                        f"(gradex options: gradex:k=..,m=..,lam=..,proj=..)")
    return ORACLES[name](task, store, output, **options)



def label_source(labels: str, max_labels: int = 0) -> str:
    """Display suffix of a surrogate's labels: ``""`` (all retrained), ``" [gradex, m=256]"``."""
    parts = ([] if labels == "retrain" else [labels]) + ([f"m={max_labels}"] if max_labels else [])
    return f" [{', '.join(parts)}]" if parts else ""
