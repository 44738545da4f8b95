"""Derived seeds, content keys, task keys and dotted overrides (benchmarks/common/spec.py)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from benchmarks.common.spec import (
    SpecError,
    SubsetDesign,
    TaskSpec,
    TrainSpec,
    apply_overrides,
    canonical_json,
    content_key,
    derive_seed,
)

SEED_BITS = 63
N_SEEDS = 256  # enough draws that a seed >= 2**62 appears (fails only with prob 2**-256)


def _spec(**design) -> TaskSpec:
    return TaskSpec("toy", {"a": 1, "b": [1, 2]}, TrainSpec(steps=7),
                    SubsetDesign(**{"n_fit": 10, "n_eval": 5, **design}), "tiny")


def test_derive_seed_is_deterministic_and_pinned():
    """Same key and path -> same seed; value is sha256("key/path")[:16] masked to 63 bits."""
    expected = int(hashlib.sha256(b"abc/train/3").hexdigest()[:16], 16) & (2**63 - 1)
    assert derive_seed("abc", "train", 3) == expected
    assert derive_seed("abc", "train", 3) == derive_seed("abc", "train", 3)


def test_derive_seed_differs_by_key_and_path():
    """Every component of key and path changes the seed."""
    seeds = {derive_seed("abc", "train", 3), derive_seed("abc", "train", 4),
             derive_seed("abc", "eval", 3), derive_seed("abd", "train", 3),
             derive_seed("abc", "train"), derive_seed("abc")}
    assert len(seeds) == 6


def test_derive_seed_uses_63_bits():
    """Seeds are in [0, 2**63) and actually reach the top bit range (not 32-bit seeds)."""
    seeds = [derive_seed("k", i) for i in range(N_SEEDS)]
    assert all(0 <= s < 2**SEED_BITS for s in seeds)
    assert max(seeds) >= 2 ** (SEED_BITS - 1)
    assert len(set(seeds)) == N_SEEDS


def test_canonical_json_sorted_and_plain():
    """Canonical JSON sorts keys, drops whitespace and turns tuples into lists."""
    assert canonical_json({"b": (1, 2), "a": {"d": 1, "c": 2}}) == '{"a":{"c":2,"d":1},"b":[1,2]}'
    assert canonical_json(float("inf")) == '"inf"'


def test_content_key_stable_under_key_order():
    """Dict insertion order does not change the key."""
    a = content_key("x", {"alpha": 0.5, "beta": [1, 2], "gamma": {"p": 1, "q": 2}})
    b = content_key("x", {"gamma": {"q": 2, "p": 1}, "beta": [1, 2], "alpha": 0.5})
    assert a == b
    assert a.startswith("x-") and len(a) == len("x-") + 12


def test_content_key_changes_with_any_field():
    """Changing a value, a nested value, or the name changes the key."""
    base = {"alpha": 0.5, "beta": [1, 2]}
    k = content_key("x", base)
    assert content_key("x", {**base, "alpha": 0.6}) != k
    assert content_key("x", {**base, "beta": [1, 3]}) != k
    assert content_key("y", base) != k


def test_task_key_vs_base_key_for_counts():
    """Subset counts, seeds and profile change ``key`` but not ``base_key``."""
    spec = _spec()
    for changed in (replace(spec, design=replace(spec.design, n_fit=20)),
                    replace(spec, design=replace(spec.design, n_eval=9)),
                    replace(spec, design=replace(spec.design, n_seeds=5)),
                    replace(spec, profile="quick")):
        assert changed.key != spec.key
        assert changed.base_key == spec.base_key


def test_base_key_changes_with_sampler_training_and_params():
    """Everything that changes the masks or models changes ``base_key``."""
    spec = _spec()
    for changed in (replace(spec, design=replace(spec.design, alpha=0.5)),
                    replace(spec, design=replace(spec.design, sampler="bernoulli")),
                    replace(spec, train=replace(spec.train, steps=8)),
                    replace(spec, params={"a": 2, "b": [1, 2]})):
        assert changed.base_key != spec.base_key
        assert changed.key != spec.key


def test_key_is_deterministic_across_instances():
    """Two equal specs built separately have the same key."""
    assert _spec().key == _spec().key
    assert _spec().key.startswith("toy-")


def test_apply_overrides_sets_nested_fields_and_coerces():
    """Dotted paths reach nested dataclasses; int -> float and list -> tuple are coerced."""
    spec = apply_overrides(_spec(), {"train.steps": 50, "train.lr": 1, "train.betas": [0.8, 0.9],
                                     "design.sampler": "bernoulli"})
    assert spec.train.steps == 50
    assert spec.train.lr == 1.0 and isinstance(spec.train.lr, float)
    assert spec.train.betas == (0.8, 0.9)
    assert spec.design.sampler == "bernoulli"
    assert _spec().train.steps == 7  # the original is untouched


def test_apply_overrides_unknown_field_names_it_and_lists_valid():
    """An unknown field raises SpecError naming the path and listing the valid fields."""
    with pytest.raises(SpecError) as err:
        apply_overrides(_spec(), {"train.stepz": 3})
    msg = str(err.value)
    assert "train.stepz" in msg
    for name in ("optimizer", "lr", "weight_decay", "steps", "batch_size", "weighting", "betas"):
        assert repr(name) in msg


def test_apply_overrides_unknown_top_level_field():
    """Unknown top-level fields list TaskSpec's fields."""
    with pytest.raises(SpecError, match=r"nope.*'design'"):
        apply_overrides(_spec(), {"nope": 1})


def test_apply_overrides_path_through_non_dataclass():
    """A path below a non-dataclass value (here a dict) is refused."""
    with pytest.raises(SpecError, match=r"params\.a"):
        apply_overrides(_spec(), {"params.a": 2})


@pytest.mark.parametrize("path, value", [
    ("train.steps", 2.5),
    ("train.steps", "1.5"),
    ("train.lr", "fast"),
    ("design.sampler", 3),
    ("design.n_fit", [1]),
])
def test_apply_overrides_wrong_type(path, value):
    """A value of the wrong type raises SpecError naming the field."""
    with pytest.raises(SpecError, match=path.replace(".", r"\.")):
        apply_overrides(_spec(), {path: value})


def test_apply_overrides_rejects_bool_for_int():
    """``--set train.steps=true`` parses to True; it must not be accepted as an int."""
    with pytest.raises(SpecError):
        apply_overrides(_spec(), {"train.steps": True})


def test_validate_names_the_field():
    """Design validation names the failing field."""
    with pytest.raises(SpecError, match=r"design\.alpha"):
        SubsetDesign(alpha=1.5).validate(8)
    with pytest.raises(SpecError, match=r"design\.n_eval"):
        SubsetDesign(n_eval=2).validate(8)
    with pytest.raises(SpecError, match=r"train\.steps"):
        TrainSpec(steps=0).validate()


def test_extension_fields_leave_keys_unchanged_at_their_default():
    """Fields added after caches exist (spec.extension) do not move existing task keys."""
    from dataclasses import replace

    from benchmarks.common.spec import TrainSpec, content_hash, to_plain

    base = TrainSpec()
    assert content_hash(base) == content_hash(replace(base, sam_rho=0.05))
    assert content_hash(base) != content_hash(replace(base, sharpness="sam"))
    assert "sharpness" not in to_plain(base)
