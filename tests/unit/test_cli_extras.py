"""A missing optional extra is one ``error:`` line naming ``pip install -e '.[EXTRA]'`` and exit
status 2: never a traceback nor an 'invalid config field'."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from benchmarks.__main__ import error_line
from benchmarks.catalogue import extra_of_module, missing_extra
from benchmarks.common.spec import ExecutorError, MissingExtraError, SpecError


def _raised(outer: Exception, inner: Exception | None, suppress: bool = False) -> Exception:
    """``outer`` raised while handling ``inner`` (``from None`` where ``suppress``)."""
    try:
        try:
            raise inner
        except Exception as err:
            if suppress:
                raise outer from None
            raise outer from err
    except Exception as err:
        return err


def test_the_extras_come_from_the_package_metadata():
    extras = extra_of_module()
    if not extras:
        pytest.skip("taskattr is not installed (no package metadata)")
    assert extras["metaworld"] == extras["stable_baselines3"] == extras["mujoco"] == "rl"
    assert extras["transformers"] == "icl" and extras["distributed"] == "dask"


@pytest.mark.parametrize("err, extra", [
    (ModuleNotFoundError("No module named 'gymnasium'", name="gymnasium"), "rl"),
    (_raised(SpecError("invalid config field params.model: ..."),
             ModuleNotFoundError("x", name="transformers.models")), "icl"),
    (_raised(MissingExtraError("mt10 needs metaworld; pip install 'taskattr[rl]'"),
             ModuleNotFoundError("x", name="metaworld"), suppress=True), "rl"),
])
def test_an_import_of_an_extra_anywhere_in_the_chain_names_it(err, extra):
    if not extra_of_module():
        pytest.skip("taskattr is not installed (no package metadata)")
    line = error_line(err)
    assert f"pip install -e '.[{extra}]'" in line and "\n" not in line
    assert "invalid config field" not in line


def test_other_errors_keep_their_words():
    assert missing_extra(ModuleNotFoundError("x", name="no_such_lib")) is None
    assert error_line(ModuleNotFoundError("x", name="no_such_lib")) is None  # a bug: traceback
    assert error_line(SpecError("invalid --out x")) == "invalid --out x"
    err = _raised(ExecutorError("--executor dask needs the dask extra"),
                  ModuleNotFoundError("x", name="distributed"), suppress=True)
    if extra_of_module():
        assert error_line(err).startswith("--executor dask needs the dask extra (in a checkout: "
                                          "pip install -e '.[dask]')")


def test_a_missing_icl_extra_exits_2_in_one_line(tmp_path):
    """transformers absent: 'invalid config field params.model' before."""
    code = ("import sys\nsys.modules['transformers'] = None\n"
            "from benchmarks.__main__ import main\n"
            "sys.exit(main(['ground-truth', '--task', 'icl-coin-flip', '--profile', 'tiny']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"TASKATTR_CACHE": str(tmp_path), "OMP_NUM_THREADS": "1",
                               "PATH": ""}, timeout=300)
    errors = re.findall(r"error: [^\r\n]*", proc.stderr)  # the progress bar aside
    if not extra_of_module():
        pytest.skip("taskattr is not installed (no package metadata)")
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr
    assert "pip install -e '.[icl]'" in errors[0] and "invalid config field" not in errors[0]
