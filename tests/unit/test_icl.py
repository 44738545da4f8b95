"""ICL tasks (benchmarks/tasks/icl/task.py): data, prompts, the tiny model, engines, local files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytest.importorskip("transformers")

from benchmarks.api.task import make_task  # noqa: E402
from benchmarks.common.spec import SpecError  # noqa: E402
from benchmarks.groundtruth.subsets import build_rows  # noqa: E402
from benchmarks.tasks.icl import data as icl_data  # noqa: E402
from benchmarks.training.retrain_task import RetrainTask  # noqa: E402
from methods._common.taskgrads import needs_retraining_task  # noqa: E402

TASKS = ("icl-coin-flip", "icl-sentiment")


def _coin_answer(text: str) -> int:
    """Still heads up (1) iff an even number of people flip the coin."""
    return int(len(re.findall(r"\w+ flips the coin\.", text)) % 2 == 0)


@pytest.mark.parametrize("dataset", tuple(icl_data.FORMATS))
def test_generation_deterministic_balanced_disjoint(dataset):
    pool, queries = icl_data.pool_and_queries(dataset, 50, 40, seed=3)
    again = icl_data.pool_and_queries(dataset, 50, 40, seed=3)
    other = icl_data.pool_and_queries(dataset, 50, 40, seed=4)
    assert (pool, queries) == again and (pool, queries) != other
    assert len(pool) == 50 and len(queries) == 40
    assert sum(ex.label for ex in pool) == 25 and sum(ex.label for ex in queries) == 20
    texts = [ex.text for ex in pool + queries]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize("n_people", [1, 2, 3])
def test_coin_flip_labels_follow_parity(n_people):
    pool, queries = icl_data.pool_and_queries("coin-flip", 30, 30, seed=0, n_people=n_people)
    for ex in pool + queries:
        assert ex.text.startswith("A coin is heads up.") and ex.text.endswith("heads up?")
        assert ex.text.count("the coin.") == n_people
        assert ex.label == _coin_answer(ex.text)


def test_prompt_is_demonstrations_in_unit_order_then_query():
    task = make_task("icl-coin-flip", "tiny")
    pool, queries = task.data
    mask = np.zeros(task.K, dtype=bool)
    mask[[5, 1]] = True
    text = task.prompt_text(mask, query=2)
    first = f"Q: {pool[1].text}\nA: {('no', 'yes')[pool[1].label]}\n\n"
    second = f"Q: {pool[5].text}\nA: {('no', 'yes')[pool[5].label]}\n\n"
    assert text == first + second + f"Q: {queries[2].text}\nA:"
    header, demos, _, options = task.tokens
    assert task.prefix(mask) == header + demos[1] + demos[5]
    assert task.lm.encode(" yes")[0] == options[1]
    assert demos[1] == task.lm.encode(first) and options[pool[1].label] in demos[1]


@pytest.mark.parametrize("name", TASKS)
def test_tiny_evaluate_shapes_and_values(name):
    task = make_task(name, "tiny")
    assert not isinstance(task, RetrainTask) and needs_retraining_task(task)
    rows = build_rows(task.spec.design, task.K, task.spec.base_key)
    assert (rows.masks.sum(1) == 2).all() and len(rows) == 20
    masks = rows.masks[:4]
    out = task.evaluate(masks, [1, 2, 3, 4])
    assert set(out) == {"loss", "correct"}
    for value in out.values():
        assert value.shape == (4, task.n_targets) and np.isfinite(value).all()
    assert set(np.unique(out["correct"])) <= {0.0, 1.0}
    assert (out["loss"] > 0).all()
    # two options: correct iff the gold option has probability > 1/2
    np.testing.assert_array_equal(out["correct"] == 1, out["loss"] < np.log(2))
    same = task.evaluate(masks, [9, 9, 9, 9])  # seeds are ignored: inference is deterministic
    np.testing.assert_array_equal(out["loss"], same["loss"])
    assert out["loss"].std(0).max() > 1e-4  # the prompt changes F


@pytest.mark.parametrize("name", TASKS)
def test_batched_equals_loop_and_chunking(name):
    task = make_task(name, "tiny")
    masks = np.zeros((3, task.K), dtype=bool)
    masks[0, [0, 3]] = True
    masks[1] = True
    batched = task.evaluate(masks, [0, 0, 0], "batched")
    loop = task.evaluate(masks, [0, 0, 0], "loop")
    np.testing.assert_allclose(batched["loss"], loop["loss"], atol=1e-5, rtol=0)
    chunked = make_task(name, "tiny", {"params.query_batch": 4}).evaluate(masks, [0] * 3)
    np.testing.assert_allclose(batched["loss"], chunked["loss"], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="engine"):
        task.evaluate(masks, [0] * 3, "warp")


def test_data_file_loader_jsonl_and_csv(tmp_path):
    words = ["good", "bad", "great", "poor", "fine", "awful", "nice", "dull", "superb", "weak"]
    path = tmp_path / "sst2.jsonl"
    path.write_text("".join(json.dumps({"sentence": f"a {w} film", "label": int(i % 2 == 0),
                                        "idx": i}) + "\n" for i, w in enumerate(words)))
    examples = icl_data.load_file(path, ("negative", "positive"), text_field="sentence")
    assert [ex.label for ex in examples] == [1, 0] * 5 and examples[0].text == "a good film"
    csv_path = tmp_path / "small.csv"
    csv_path.write_text("text,label\n\"fun, light\",positive\nslow,negative\n")
    assert icl_data.load_file(csv_path, ("negative", "positive")) == [
        icl_data.Example("fun, light", 1), icl_data.Example("slow", 0)]
    task = make_task("icl-sentiment", "tiny", {
        "params.data_file": str(path), "params.text_field": "sentence",
        "params.n_candidates": 6, "params.n_queries": 4, "design.n_fit": 6, "design.n_eval": 4,
        "design.alpha": 0.34})
    pool, queries = task.data
    assert sum(ex.label for ex in pool) == 3 and sum(ex.label for ex in queries) == 2
    assert not {ex.text for ex in pool} & {ex.text for ex in queries}
    out = task.evaluate(build_rows(task.spec.design, 6, task.spec.base_key).masks[:2], [0, 0])
    assert out["loss"].shape == (2, 4) and np.isfinite(out["loss"]).all()


def test_data_file_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "label": "meh"}) + "\n")
    with pytest.raises(SpecError, match="params.label_names"):
        icl_data.load_file(bad, ("negative", "positive"))
    with pytest.raises(SpecError, match="params.text_field"):
        icl_data.load_file(bad, ("negative", "positive"), text_field="sentence")
    with pytest.raises(SpecError, match="params.data_file"):
        icl_data.load_file(tmp_path / "missing.jsonl", ("negative", "positive"))
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({"text": "x", "label": 1}) + "\n")
    with pytest.raises(SpecError, match="params.n_candidates"):
        _ = make_task("icl-sentiment", "tiny", {"params.data_file": str(small)}).data


@pytest.mark.parametrize("override, field", [
    ({"params.dataset": "weather"}, "params.dataset"),
    ({"params.n_candidates": 1}, "params.n_candidates"),
    ({"params.n_queries": 0}, "params.n_queries"),
    ({"params.query_batch": 0}, "params.query_batch"),
    ({"params.dtype": "int8"}, "params.dtype"),
    ({"params.n_people": 0}, "params.n_people"),
    ({"params.n_queries": "many"}, "params.n_queries"),
    ({"design.alpha": 0.01}, "design.alpha"),
    ({"params.nonsense": 1}, "params.nonsense"),
])
def test_bad_params_name_the_field(override, field):
    with pytest.raises(SpecError, match=re.escape(field)):
        make_task("icl-coin-flip", "tiny", override)


def test_unknown_packaged_model_is_a_spec_error():
    task = make_task("icl-coin-flip", "tiny", {"params.model": "packaged:gpt5"})
    with pytest.raises(SpecError, match="params.model"):
        _ = task.lm


def test_profiles_follow_the_paper_design():
    for profile in ("quick", "paper"):
        spec = make_task("icl-coin-flip", profile).spec
        assert spec.params.n_candidates == 50 and spec.design.n_seeds == 1
        assert spec.design.sampler == "fixed" and round(spec.design.alpha * 50) == 4
        assert not spec.design.loo and spec.design.n_fit + spec.design.n_eval >= 200
    assert make_task("icl-coin-flip", "quick").spec.params.model == "packaged:smollm2"
