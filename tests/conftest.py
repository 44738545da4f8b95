"""Shared test fixtures: a per-test cache folder, single-threaded torch for speed."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point ``TASKATTR_CACHE`` (read at call time by ``cache_root``) at a fresh folder."""
    monkeypatch.setenv("TASKATTR_CACHE", str(tmp_path))
    return tmp_path
