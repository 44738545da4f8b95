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
    provenance is as before). Under ``libraries``, the versions of the other installed
    libraries that decide some task's bits (``LIBRARIES``; compared by ``bit_differences``,
    kept out of ``deciding``)."""
    import benchmarks.common.device as device

    return _cpu_bits() | device.bits() | {"libraries": libraries()}


# Besides torch and numpy (recorded above from the modules loaded): scipy and scikit-learn
# decide every fit and metric; transformers, tokenizers and gguf the ICL logits; mujoco,
# metaworld, gymnasium and stable-baselines3 the MT10 rollouts.
LIBRARIES = ("scipy", "scikit-learn", "transformers", "tokenizers", "gguf", "metaworld",
             "mujoco", "gymnasium", "stable-baselines3")
RECORDED = "libraries"  # the key compared on its own, out of ``deciding`` (see bits_id)


def libraries() -> dict[str, str]:
    """Versions of the installed ``LIBRARIES``, from package metadata (nothing imported)."""
    return {name: v for name, v in versions().items() if name in LIBRARIES}


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
    """The entries that decide the bits and make up their digest (``bits_id``, stage cache
    keys): with every pin set, the CPU model and its instruction sets no longer do (each
    library runs its AVX2 path), the builds still do. The library versions (``RECORDED``) are
    left out here and compared by ``bit_differences`` instead."""
    return {k: v for k, v in bits.items()
            if k != RECORDED and not (_pinned(bits) and k in MACHINE)}


def bits_id(gt_bits: dict | None) -> str:
    """Short digest of what decided a result's bits: the ground truth's (``gt_bits``, from its
    store) and this process's; the ``bits`` column of a results row. It digests ``deciding``,
    without the library versions: those were recorded only later, and digesting them would
    give every new row another id than the committed rows and cached cell records of the same
    machine and builds (and drop every stage's cache), though nothing they decide changed.
    A store whose libraries differ is named by ``bit_differences`` (a warning, or a refusal to
    resume), and every ``record.json`` keeps the versions in full."""
    both = {"gt": deciding(gt_bits or {}), "fit": deciding(bit_provenance())}
    return hashlib.sha256(json.dumps(both, sort_keys=True, default=str).encode()).hexdigest()[:12]


def bit_differences(stored: dict, current: dict) -> list[str]:
    """``key: stored -> current`` for every bit-deciding entry that differs, and
    ``libraries.NAME: stored -> current`` for every library both record at other versions.
    A library one side lacks is no difference (it was not installed there, so no bits of that
    side came from it), nor is a record from before the versions were kept: with other
    differences, that is said as ``libraries: not recorded``, so a committed store stays
    valid and a message never reads the unknown versions as equal."""
    a, b = deciding(stored), deciding(current)
    out = [f"{k}: {stored.get(k)!r} -> {current.get(k)!r}"
           for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    old, new = stored.get(RECORDED), current.get(RECORDED)
    if old is None or new is None:
        return out + [f"{RECORDED}: not recorded"] if out else out
    return out + [f"{RECORDED}.{k}: {old[k]!r} -> {new[k]!r}"
                  for k in sorted(set(old) & set(new)) if old[k] != new[k]]


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
