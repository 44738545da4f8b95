"""Declared field rules of methods and task parameters: values from the command line are parsed
by the field's type and refused, naming the field, when they break the declared rule."""

from __future__ import annotations

import contextlib
import math
import re
import types
import typing
from dataclasses import fields, is_dataclass

import pytest

from benchmarks.api.method import make_method
from benchmarks.api.registry import METHODS, TASKS, discover
from benchmarks.api.task import make_task
from benchmarks.common.fields import Rule, field_type, rule_of
from benchmarks.common.spec import SpecError, TrainSpec

discover()
METHOD_NAMES = [name for name, _ in METHODS.items()]
OWN_TASKS = [n for n in TASKS.names() if n.startswith(("modular-", "digits-", "icl-"))]
MODULAR_TASKS = [n for n in OWN_TASKS if n.startswith("modular-")]


def _numeric(tp: typing.Any) -> type | None:
    """``int`` or ``float`` if the field takes a number (``float | str`` included), else None."""
    members = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union,
                                                               types.UnionType) else (tp,)
    for kind in (int, float):
        if kind in members:
            return kind
    return None


def _outside(rule: Rule, kind: type) -> list[tuple[str, str]]:
    """``(bound, text)``: for each declared bound, the nearest value of ``kind`` breaking it."""
    if kind is int:
        cases = [(rule.gt, "gt", math.floor), (rule.ge, "ge", lambda b: math.ceil(b) - 1),
                 (rule.lt, "lt", math.ceil), (rule.le, "le", lambda b: math.floor(b) + 1)]
        return [(word, str(f(b))) for b, word, f in cases if b is not None]
    # a strict bound is broken by the bound itself, a closed one by the next float past it
    cases = [(rule.gt, "gt", None), (rule.ge, "ge", -math.inf), (rule.lt, "lt", None),
             (rule.le, "le", math.inf)]
    return [(word, repr(float(b) if toward is None else math.nextafter(b, toward)))
            for b, word, toward in cases if b is not None]


def _bound_cases(cls: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(field, bound, text)`` for every numeric bound of a dataclass's fields."""
    cases = []
    for f in fields(cls):
        kind = _numeric(field_type(cls, f.name))
        if kind is not None:
            cases += [(prefix + f.name, word, text) for word, text in _outside(rule_of(f), kind)]
    return cases


def _raises_naming(path: str):
    """SpecError whose message names ``path`` itself (not a longer field that starts with it)."""
    return pytest.raises(SpecError, match=re.escape(path) + r"(?![\w.\[/])")


# --- every registered method ---------------------------------------------------------------

@pytest.mark.parametrize("name", METHOD_NAMES)
def test_method_fields_have_help_and_defaults_validate(name):
    """Each hyper-parameter says what it is, and the defaults pass every rule."""
    cls = METHODS.get(name)
    for f in fields(cls):
        assert rule_of(f).help.strip(), f"{name}.{f.name} has no help"
    make_method(name)
    make_method(name, dict(cls.tiny))


METHOD_BOUNDS = [(name, *case) for name in METHOD_NAMES
                 for case in _bound_cases(METHODS.get(name))]


@pytest.mark.parametrize("name, field, bound, text", METHOD_BOUNDS)
def test_method_value_just_outside_a_bound_is_refused(name, field, bound, text):
    with _raises_naming(f"{name}.{field}"):
        make_method(name, {field: text})


METHOD_CHOICES = [(name, f.name) for name in METHOD_NAMES for f in fields(METHODS.get(name))
                  if rule_of(f).choices is not None]


@pytest.mark.parametrize("name, field", METHOD_CHOICES)
def test_method_value_outside_the_choices_is_refused(name, field):
    with _raises_naming(f"{name}.{field}"):
        make_method(name, {field: "no-such-choice"})


METHOD_BOOLS = [(name, f.name) for name in METHOD_NAMES for f in fields(METHODS.get(name))
                if field_type(METHODS.get(name), f.name) is bool]


@pytest.mark.parametrize("name, field", METHOD_BOOLS)
def test_method_bool_text_is_a_bool(name, field):
    """``--param center=False`` is False (it used to be the truthy string "False")."""
    assert getattr(make_method(name, {field: "False"}), field) is False
    assert getattr(make_method(name, {field: "true"}), field) is True
    with _raises_naming(f"{name}.{field}"):
        make_method(name, {field: "no"})


def test_kernel_sm_center_false_is_false():
    assert make_method("kernel_sm", {"center": "False"}).center is False
    with _raises_naming("kernel_sm.center"):
        make_method("kernel_sm", {"center": "no"})


@pytest.mark.parametrize("name, params, field", [
    ("trak", {"reg": "NaN"}, "trak.reg"),
    ("trak", {"reg_rel": "inf"}, "trak.reg_rel"),
    ("trak", {"projection": "sparse"}, "trak.projection"),
    ("influence", {"cg_iters": "-1"}, "influence.cg_iters"),
    ("influence", {"lissa_depth": "0"}, "influence.lissa_depth"),
    ("influence", {"damping": "abc"}, "influence.damping"),
    ("influence", {"damping": "NaN"}, "influence.damping"),
    ("influence", {"damping": "0"}, "influence.damping"),
    ("influence", {"aggregate": "max"}, "influence.aggregate"),
    ("influence_dual", {"damping": "nan"}, "influence_dual.damping"),
    ("kernel_sm", {"n_mc": "-1"}, "kernel_sm.n_mc"),
    ("kernel_sm", {"folds": "abc"}, "kernel_sm.folds"),
    ("kernel_sm", {"folds": "2.5"}, "kernel_sm.folds"),
    ("kernel_sm", {"gamma": "-1"}, "kernel_sm.gamma"),
    ("kernel_sm", {"lam": "auto"}, "kernel_sm.lam"),
    ("kernel_sm", {"max_labels": "-3"}, "kernel_sm.max_labels"),
    ("linear_surrogate", {"max_labels": "1.5"}, "linear_surrogate.max_labels"),
    ("tracin", {"proj_dim": "-1"}, "tracin.proj_dim"),
    ("gradex", {"lam_z": "-0.1"}, "gradex.lam_z"),
    ("param_weighted", {"lr": "0"}, "param_weighted.lr"),
    ("param_weighted", {"lam": "NaN"}, "param_weighted.lam"),
])
def test_known_bad_values_name_the_field(name, params, field):
    with _raises_naming(field):
        make_method(name, params)


def test_method_values_parse_by_type():
    m = make_method("kernel_sm", {"gamma": "0.5", "lam": "cv", "folds": "3"})
    assert (m.gamma, m.lam, m.folds) == (0.5, "cv", 3)
    assert make_method("kernel_sm", {"gamma": "auto"}).gamma == "auto"
    assert make_method("influence", {"damping": "1e-2"}).damping == 0.01


@pytest.mark.parametrize("name, params, field", [
    ("influence", {"solver": "ekfac", "hessian": "exact"}, "influence.hessian"),
    ("trak", {"reg": "0", "reg_rel": "0"}, "trak.reg/reg_rel"),
    ("param_weighted", {"base": "loo"}, "param_weighted.base"),
    ("param_weighted", {"base_params": {"n_checkpoints": 0}}, "tracin.n_checkpoints"),
])
def test_cross_field_checks_remain(name, params, field):
    with _raises_naming(field):
        make_method(name, params)


# --- task parameters (modular arithmetic, digits, ICL) -------------------------------------

def _params_cls(task_name: str) -> type:
    params = make_task(task_name, "tiny").spec.params
    assert is_dataclass(params)
    return type(params)


@pytest.mark.parametrize("name", OWN_TASKS)
def test_task_params_have_help(name):
    cls = _params_cls(name)
    for f in fields(cls):
        assert rule_of(f).help.strip(), f"{cls.__name__}.{f.name} has no help"


TASK_BOUNDS = [(name, *case) for name in OWN_TASKS
               for case in _bound_cases(_params_cls(name), "params.")]


@pytest.mark.parametrize("name, field, bound, text", TASK_BOUNDS)
def test_task_param_just_outside_a_bound_is_refused(name, field, bound, text):
    with _raises_naming(field):
        make_task(name, "tiny", {field: text})


@pytest.mark.parametrize("name", MODULAR_TASKS)
@pytest.mark.parametrize("override, field", [
    ({"params.embed_dim": "0"}, "params.embed_dim"),
    ({"params.hidden": "-4"}, "params.hidden"),
    ({"params.train_frac": "NaN"}, "params.train_frac"),
    ({"params.overlap": "1.5"}, "params.overlap"),
    ({"params.arch": "rnn"}, "params.arch"),
    ({"params.block": "24"}, "params.block"),  # tiny p = 23: block <= p
])
def test_modular_bad_params_name_the_field(name, override, field):
    with _raises_naming(field):
        make_task(name, "tiny", override)


@pytest.mark.parametrize("name", MODULAR_TASKS)
@pytest.mark.parametrize("value", ["0", 0])
def test_modular_embed_dim_zero_is_refused_by_its_bound(name, value):
    """A zero-width embedding is refused for its value (text or native), not for its type."""
    with pytest.raises(SpecError, match=r"params\.embed_dim: 0 must be >= 1"):
        make_task(name, "tiny", {"params.embed_dim": value})


@pytest.mark.parametrize("name, override, field", [
    ("digits-logreg", {"params.hidden": "-1"}, "params.hidden"),
    ("digits-logreg", {"params.n_train": "1790"}, "params.n_train/n_targets"),
    ("digits-logreg-flip", {"params.flip_rate": "1"}, "params.flip_rate"),
    ("icl-coin-flip", {"params.device": "tpu"}, "params.device"),
    ("icl-coin-flip", {"params.model": ""}, "params.model"),
])
def test_other_task_params_name_the_field(name, override, field):
    with _raises_naming(field):
        make_task(name, "tiny", override)


# --- the training recipe (TrainSpec) --------------------------------------------------------

TRAIN_BOUNDS = _bound_cases(TrainSpec, "train.")


def test_train_steps_batch_size_and_learning_rates_have_upper_bounds():
    """``train.lr=1e308`` overflowed float32 in the optimizer (a traceback mid-run) and
    ``train.steps``/``train.batch_size`` took any size (hours of training or an out-of-memory
    crash from a typo): each now has a declared upper bound."""
    uppers = {field for field, bound, _ in TRAIN_BOUNDS if bound in ("le", "lt")}
    assert {"train.steps", "train.batch_size", "train.lr", "train.pretrain_steps",
            "train.pretrain_lr"} <= uppers


@pytest.mark.parametrize("field, bound, text", TRAIN_BOUNDS)
def test_train_value_just_outside_a_bound_is_refused(field, bound, text):
    """On a fine-tuned task, so that the W0 fields apply and only their bound can refuse."""
    with _raises_naming(field):
        make_task("modular-quad-ft", "tiny", {field: text})


def test_every_shipped_profile_is_inside_the_train_bounds(monkeypatch):
    """Each registered task's profile recipes (tiny, quick, paper) as written in its family,
    caught before the task is built (so no data or model is loaded), pass every rule."""
    import benchmarks.api.task as task_module
    from benchmarks.common.schema import PROFILES

    seen: list = []

    class Caught(Exception):
        pass

    def catch(spec, overrides):
        seen.append(spec)
        raise Caught

    monkeypatch.setattr(task_module, "finalize", catch)
    for name in (n for n in TASKS.names() if TASKS.get(n).trains):  # not imports: no recipe
        for profile in PROFILES:
            with contextlib.suppress(Caught):
                make_task(name, profile)
    assert {s.profile for s in seen} >= {"paper"} and max(s.train.steps for s in seen) >= 37_000
    for spec in seen:
        spec.train.validate()
