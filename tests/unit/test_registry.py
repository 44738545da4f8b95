"""Registry lookup, discovery, duplicate refusal and method parameter validation."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from benchmarks.api.method import Method, make_method
from benchmarks.api.registry import METHODS, METRICS, TASKS, Registry, UnknownNameError, discover
from benchmarks.api.task import make_task
from benchmarks.common.spec import SpecError

CORE_METHODS = {"loo", "linear_surrogate", "kernel_sm"}
CORE_METRICS = {"lds", "loo_corr", "residual"}
CORE_TASKS = {"modular-addition", "modular-sub", "modular-mul", "modular-quad"}


def test_discover_finds_core_plugins():
    """discover() imports methods/, benchmarks/tasks/ and benchmarks/metrics/."""
    discover()
    assert CORE_METHODS <= set(METHODS.names())
    assert CORE_METRICS <= set(METRICS.names())
    assert CORE_TASKS <= set(TASKS.names())
    assert METHODS.names() == sorted(METHODS.names())
    assert "kernel_sm" in METHODS and "nope" not in METHODS


def test_registered_classes_know_their_name():
    """Registering a class sets ``registry_name``."""
    for name in CORE_METHODS:
        assert METHODS.get(name).registry_name == name


@pytest.mark.parametrize("registry, real", [
    (METHODS, CORE_METHODS), (TASKS, CORE_TASKS), (METRICS, CORE_METRICS)])
def test_unknown_name_lists_available(registry, real):
    """An unknown name raises UnknownNameError (a KeyError) listing every real name."""
    with pytest.raises(UnknownNameError) as err:
        registry.get("no-such-thing")
    msg = str(err.value)
    assert "Available:" in msg and "'no-such-thing'" in msg
    for name in real:
        assert name in msg
    assert isinstance(err.value, KeyError)


def test_make_method_and_task_unknown_names():
    """The factories surface the same error."""
    with pytest.raises(UnknownNameError, match="Available:.*kernel_sm.*linear_surrogate.*loo"):
        make_method("kernelsm")
    with pytest.raises(UnknownNameError, match="Available:.*modular-addition"):
        make_task("modular-exponent", "tiny")


def test_unknown_profile_raises():
    with pytest.raises(SpecError, match="profile"):
        make_task("modular-addition", "huge")


def test_duplicate_registration_raises():
    """A second object under an existing name is refused; re-registering the same is a no-op."""
    reg: Registry = Registry("widget")
    first, second = object(), object()
    reg.register("a")(first)
    reg.register("a")(first)
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.register("a")(second)
    assert reg._items["a"] is first


def test_duplicate_on_global_registry_leaves_original():
    """Registering another class as ``loo`` fails and leaves the real method in place."""
    original = METHODS.get("loo")

    with pytest.raises(ValueError, match="already registered"):

        @METHODS.register("loo")
        @dataclass(frozen=True)
        class Impostor(Method):
            pass

    assert METHODS.get("loo") is original


def test_meta_is_recorded():
    """Metric metadata (direction, needs_loo) is kept per name."""
    assert METRICS.meta("lds")["higher_is_better"] is True
    assert METRICS.meta("residual")["higher_is_better"] is False
    assert METRICS.meta("loo_corr")["needs_loo"] is True


def test_invalid_method_param_names_field():
    """An unknown field raises SpecError naming method.field and listing valid fields."""
    with pytest.raises(SpecError) as err:
        make_method("kernel_sm", {"gama": 1.0})
    msg = str(err.value)
    assert "kernel_sm.gama" in msg
    for name in ("gamma", "lam", "center", "readoff"):
        assert repr(name) in msg
    with pytest.raises(SpecError, match=r"loo\.x"):
        make_method("loo", {"x": 1})


@pytest.mark.parametrize("name, params, field", [
    ("kernel_sm", {"readoff": "median"}, "kernel_sm.readoff"),
    ("kernel_sm", {"gamma": -1.0}, "kernel_sm.gamma"),
    ("kernel_sm", {"lam": "auto"}, "kernel_sm.lam"),
    ("kernel_sm", {"folds": 1}, "kernel_sm.folds"),
    ("linear_surrogate", {"fit_type": "lasso"}, "linear_surrogate.fit_type"),
])
def test_invalid_method_value_names_field(name, params, field):
    """Invalid values are refused by the method's validate(), naming the field."""
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        make_method(name, params)


def test_make_method_valid_params():
    """Valid params reach the instance."""
    m = make_method("kernel_sm", {"gamma": "auto", "lam": 0.01, "readoff": "main"})
    assert (m.gamma, m.lam, m.readoff) == ("auto", 0.01, "main")
    assert make_method("linear_surrogate", {"fit_type": "ridge"}).fit_type == "ridge"


def test_kernel_sm_rejects_bool_gamma():
    """``gamma`` must be 'cv', 'auto' or a positive number, not a bool."""
    with pytest.raises(SpecError, match=r"kernel_sm\.gamma"):
        make_method("kernel_sm", {"gamma": True})


def test_failing_plugin_is_an_error_naming_it_and_discovery_retries(tmp_path, monkeypatch):
    """A plug-in that fails to import stops discovery with its name; discovery is not marked
    done, so fixing the plug-in makes the next lookup complete."""
    import sys

    from benchmarks.api import registry

    pkg = tmp_path / "fakeplugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "broken.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_PACKAGES", ("fakeplugins",))
    monkeypatch.setitem(registry._state, "done", False)
    with pytest.raises(registry.PluginImportError, match="fakeplugins.broken.*boom"):
        registry.discover()
    assert registry._state["done"] is False
    (pkg / "broken.py").write_text("OK = 1\n")
    sys.modules.pop("fakeplugins.broken", None)
    registry.discover()
    assert registry._state["done"] is True
