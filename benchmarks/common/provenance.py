"""Where a result came from: git commit, code hash, library versions, machine."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from benchmarks.common.pins import PINS

REPO = Path(__file__).resolve().parents[2]  # the repository root (benchmarks/common/ -> ..)


@functools.lru_cache(maxsize=1)
def git_sha() -> str:
    """Short SHA of HEAD (with ``+dirty`` if the work tree differs), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 over the framework, task and method sources (recorded, not part of keys)."""
    h = hashlib.sha256()
    for sub in ("benchmarks", "methods"):
        for p in sorted((REPO / sub).rglob("*.py")):
            h.update(p.relative_to(REPO).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def provenance() -> dict:
    import numpy
    import torch

    import benchmarks.common.device as device

    return {"git_sha": git_sha(), "code_hash": code_hash(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "device": str(device.current()),
            "tf32": device.tf32_allowed(), "versions": versions(), "created": now_iso()}


DISTRIBUTIONS = ("taskattr", "numpy", "scipy", "scikit-learn", "torch", "transformers",
                 "tokenizers", "gguf", "metaworld", "mujoco", "gymnasium", "stable-baselines3")


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Installed versions of this distribution and the libraries that decide results, from
    package metadata (nothing is imported); those not installed are left out."""
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
BIT_ENV = (*PINS, "MKL_ENABLE_INSTRUCTIONS")
MACHINE = ("cpu", "isa")  # bit-deciding only where the libraries dispatch natively


def _cpu() -> tuple[str, list[str]]:
    """CPU model name and the instruction-set flags math libraries choose kernels by."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown", []
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), "unknown")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                  if ln.startswith("flags")), [])
    return model, [f for f in ISA_FLAGS if f in flags]


def bit_provenance() -> dict:
    """What decides the bits of a trained model: on a CPU, the instruction sets the math
    libraries dispatch on, their versions and builds, and the environment pins they honour.
    Two runs agree to the bit only where ``deciding`` of these agree (measured on an AVX-512
    machine: forcing MKL or ATen onto its AVX2 code path alone changed essentially every stored
    loss of quick modular-addition; the thread count changed none). The thread count is left
    out on purpose: every stored model is trained on one torch thread (``device.torch_threads``)
    and every method fit, prediction and metric runs on one math thread, torch and BLAS
    (``device.math_threads``), so a cell's scores, predictions and metric rows do not depend
    on the process's count. On a GPU (``--device cuda``), also the device's name and
    capability, CUDA and the TF32 choice (``device.bits``; nothing is added on the CPU, so CPU
    provenance is as before)."""
    import benchmarks.common.device as device

    return _cpu_bits() | device.bits()


@functools.lru_cache(maxsize=1)
def _cpu_bits() -> dict:
    import numpy
    import scipy.linalg  # noqa: F401  its BLAS is one the fits use: listed whether or not loaded yet
    import torch
    from threadpoolctl import threadpool_info

    model, flags = _cpu()
    blas = sorted(({k: lib.get(k) for k in ("internal_api", "version", "architecture")}
                   for lib in threadpool_info() if lib.get("user_api") == "blas"),
                  key=lambda lib: json.dumps(lib, sort_keys=True, default=str))
    return {"cpu": model, "isa": flags, "torch": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_mkl": bool(torch.backends.mkl.is_available()), "numpy": numpy.__version__,
            "numpy_blas": blas, "env": {k: os.environ[k] for k in BIT_ENV if k in os.environ}}


def _pinned(bits: dict) -> bool:
    return all(bits.get("env", {}).get(k) == v for k, v in PINS.items())


def deciding(bits: dict) -> dict:
    """The entries that decide the bits: with every pin set, the CPU model and its
    instruction sets no longer do (each library runs its AVX2 path), the builds still do."""
    return {k: v for k, v in bits.items() if not (_pinned(bits) and k in MACHINE)}


def bits_id(gt_bits: dict | None) -> str:
    """Short digest of what decided a result's bits: the ground truth's (``gt_bits``, from its
    store) and this process's; the ``bits`` column of a results row."""
    both = {"gt": deciding(gt_bits or {}), "fit": deciding(bit_provenance())}
    return hashlib.sha256(json.dumps(both, sort_keys=True, default=str).encode()).hexdigest()[:12]


def bit_differences(stored: dict, current: dict) -> list[str]:
    """``key: stored -> current`` for every bit-deciding entry that differs."""
    a, b = deciding(stored), deciding(current)
    return [f"{k}: {stored.get(k)!r} -> {current.get(k)!r}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
