"""Where a result came from: git commit, code hash, library versions, machine."""

from __future__ import annotations

import functools
import hashlib
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


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
