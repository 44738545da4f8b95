"""Is the paper's architecture affordable in the fine-tuning cells? ``python -m
benchmarks.perf.transformer`` -> ``bench.json`` entry ``finetune_transformer``.

For quick ``modular-addition-ft`` with the default model (embeddings + MLP) and with the
paper's small pre-LN transformer (``params.arch=transformer``, the paper's blocks and heads at
the quick width), in a fresh cache: W0 trained for real with the cell's pretraining recipe and
with the longer, gentler ``LONG_W0`` recipe (the paper's transformer learns at lr 1e-3 over
tens of thousands of steps), W0's held-out accuracy; then the CPU-seconds of fine-tuning
``N_MODELS`` subset models from W0 with each architecture's engine, and the ground-truth cost
of the whole cell (every row and seed of its design) projected from that per-model cost.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np
import torch

from benchmarks.api.task import make_task
from benchmarks.common.provenance import provenance
from benchmarks.groundtruth.fill import model_seed, open_store
from benchmarks.perf.engine import cpu_timed, write_entry
from benchmarks.training.pretrained import w0_quality

TASK = "modular-addition-ft"
ARCHS = {"embed-mlp": {}, "transformer": {"params.arch": "transformer", "params.embed_dim": 32}}
LONG_W0 = {"train.pretrain_steps": 1500, "train.pretrain_lr": 1e-3}
N_MODELS = 8


def w0_row(overrides: dict) -> dict:
    """W0's real training CPU-s and its held-out accuracy, in a fresh cache."""
    task = make_task(TASK, "quick", overrides)
    secs, quality = cpu_timed(lambda: w0_quality(task))
    return {"pretrain_steps": task.spec.train.pretrain_steps,
            "pretrain_lr": task.spec.train.pretrain_lr, "w0_cpu_s": secs, **quality}


def finetune_cost(overrides: dict) -> dict:
    """CPU-s per fine-tuned subset model (``N_MODELS`` of the design's fitting rows, the
    task's own engine) and the whole design's ground truth projected from it."""
    task = make_task(TASK, "quick", overrides)
    store = open_store(task)
    rows = store.rows
    fit = rows.index("fit")[:N_MODELS]
    seeds = [model_seed(task, rows, j, 0) for j in fit]
    engine = task.training_engine
    task.evaluate(rows.masks[fit[:1]], seeds[:1], engine)  # warm-up: first-call costs untimed
    secs, _ = cpu_timed(lambda: task.evaluate(rows.masks[fit], seeds, engine))
    n_models = int(np.prod(store.done.shape))
    per_model = secs / len(fit)
    n_params = sum(p.numel() for p in task.problem().init(0).parameters())
    return {"engine": engine, "steps": task.spec.train.steps, "n_params": n_params,
            "cpu_s_per_model": per_model, "design_models": n_models,
            "projected_ground_truth_cpu_s": per_model * n_models}


def measure(arch: str) -> dict:
    overrides = ARCHS[arch]
    out = {"arch": arch, "overrides": overrides}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TASKATTR_CACHE"] = tmp
        out["w0_cell_recipe"] = w0_row(overrides)
        out["w0_long_recipe"] = w0_row({**overrides, **LONG_W0})
        out.update(finetune_cost(overrides))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.transformer",
                                 description=__doc__)
    ap.add_argument("--archs", nargs="+", default=list(ARCHS), choices=list(ARCHS))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = [measure(a) for a in args.archs]
    for r in rows:
        print(json.dumps(r, default=float))
    by = {r["arch"]: r for r in rows}
    ratio = (by["transformer"]["projected_ground_truth_cpu_s"]
             / by["embed-mlp"]["projected_ground_truth_cpu_s"]) if len(by) == 2 else None
    write_entry("finetune_transformer", {"task": TASK, "profile": "quick", "rows": rows,
                                         "transformer_over_mlp_ground_truth": ratio,
                                         "threads": 1, "provenance": provenance()})


if __name__ == "__main__":
    main()
