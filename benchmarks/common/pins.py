"""Math-library pins: the same arithmetic on every x86-64 machine of one kind.

MKL, oneDNN, ATen's vectorised kernels and OpenBLAS each pick a code path by the CPU's
instruction sets, and different paths round differently: on an AVX-512 machine, forcing the AVX2
path alone changed essentially every stored loss of the quick modular tasks (``bench.json``
``reproducibility``). Pinning all four to their AVX2 path, which every machine of this kind has,
makes the bits a function of the library builds only, at no measured cost (0.85-1.03x).

``apply()`` runs first thing in ``benchmarks/__init__`` (before numpy or torch load, which is
when OpenBLAS reads its variable) and only sets variables the user has not set; worker
processes inherit them. ``TASKATTR_NATIVE_MATH=1`` leaves every library on its native path.
A leaf module: it must not import numpy or torch.
"""

from __future__ import annotations

import os

PINS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell"}
OPT_OUT = "TASKATTR_NATIVE_MATH"
MARK = "TASKATTR_PINNED"  # the pins this suite set (not the user), inherited by children


def wanted() -> bool:
    """False when the user asked for native code paths (``TASKATTR_NATIVE_MATH`` truthy)."""
    return os.environ.get(OPT_OUT, "").strip().lower() not in ("1", "true", "yes", "on")


def apply() -> None:
    """Set each pin the environment does not already set, recording which in ``MARK``. Opted
    out, remove the pins a parent process of the suite set (a child asked for native math
    must not inherit them); a pin the user set is never touched."""
    ours = [n for n in os.environ.get(MARK, "").split(",") if n in PINS]
    if not wanted():
        for name in ours:
            os.environ.pop(name, None)
        os.environ.pop(MARK, None)
        return
    for name, value in PINS.items():
        if name not in os.environ:
            os.environ[name] = value
            ours.append(name)
    os.environ[MARK] = ",".join(sorted(set(ours)))
