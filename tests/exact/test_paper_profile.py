"""The paper profile's transformer runs through the same code, shrunk to a tiny configuration."""

import torch

from benchmarks.api.task import make_task
from benchmarks.groundtruth.subsets import build_rows
from benchmarks.training.engine import train

TOL_ENGINE = 1e-9
TINY_PAPER = {"params.p": 7, "params.block": 3, "params.embed_dim": 16, "params.heads": 2,
              "params.mlp": 32, "train.steps": 4, "train.batch_size": 8, "design.n_fit": 4,
              "design.n_eval": 3}


def test_paper_spec_is_the_published_setting():
    task = make_task("modular-quad", "paper")
    p, t, d = task.spec.params, task.spec.train, task.spec.design
    assert (p.p, p.block, task.K, p.arch, p.embed_dim, p.layers, p.heads, p.mlp) == (
        97, 20, 25, "transformer", 128, 2, 4, 512)
    assert (t.lr, t.weight_decay, t.batch_size, t.steps) == (1e-4, 1.0, 512, 37_000)
    assert (round(d.alpha * task.K), d.n_fit, d.n_eval) == (22, 40, 10)
    assert task.engine == "loop"
    n_params = sum(v.numel() for v in task.problem().init(0).parameters())
    assert 400_000 < n_params < 450_000  # the paper's ~423k


def test_tiny_paper_transformer_batched_equals_loop():
    task = make_task("modular-addition", "paper", TINY_PAPER)
    rows = build_rows(task.spec.design, task.K, task.spec.base_key)
    masks = rows.masks[rows.index("fit")[:3]]
    problem = task.problem(torch.float64)
    w = torch.as_tensor(task.example_weights(masks))
    a = train(problem, w, [1, 2, 3], task.spec.train, "batched")
    b = train(problem, w, [1, 2, 3], task.spec.train, "loop")
    for name in a:
        assert float((a[name] - b[name]).abs().max()) <= TOL_ENGINE, name
    out = task.evaluate(masks[:2], [1, 2], "loop")
    assert out["loss"].shape == (2, task.n_targets)
