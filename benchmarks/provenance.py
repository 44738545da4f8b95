"""Where a result came from: git commit, code hash, library versions, machine."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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

    return {"git_sha": git_sha(), "code_hash": code_hash(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "created": now_iso()}


ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")
BIT_ENV = ("MKL_CBWR", "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "MKL_ENABLE_INSTRUCTIONS")


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


@functools.lru_cache(maxsize=1)
def bit_provenance() -> dict:
    """What decides the bits of a trained model on a CPU: the instruction sets the math
    libraries dispatch on, their versions and builds, and the environment pins they honour.
    Two runs agree to the bit only where all of these agree (measured on an AVX-512 machine:
    forcing MKL or ATen onto its AVX2 code path alone moved the held-out loss of 200-step
    quick modular-addition models by up to 0.8; the thread count did not change them)."""
    import numpy
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


def bit_differences(stored: dict, current: dict) -> list[str]:
    """``key: stored -> current`` for every bit-deciding entry that differs."""
    return [f"{k}: {stored.get(k)!r} -> {current.get(k)!r}"
            for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)]


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
