"""Which rows of a task table are its headline, decided from the rows themselves.

A method family (the registered name, ``method``) is shown by default at one key: the one naming no
field (the family's defaults, ``name-hash8``) or, where the task ran none such, the one naming the
fewest fields. The keys in ``PINNED`` are shown by default too: the claims are judged against them
(the ridge and the authors' minimum-norm linear surrogates are the baselines of KernelSM's lead),
so the page's headline and the README's table (``scorecard.HEADLINE``, a subset of these) name the
same rows. Every other key of the family is a variant or an ablation, one click away. Reference
rows (``REFERENCE_METHODS``: the stages' random and all-units proposals and the full-set model)
give context: always shown, never the best. Rows whose shown values are all the same as an earlier
row's are folded into it (``fold``), so four solvers that agree take one line. Nothing here names a
result: the page reads which keys ran, not what they scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

from benchmarks.common.schema import parse_method_key

PINNED = ("linear_surrogate[fit_type=ridge]", "linear_surrogate[fit_type=minnorm]")  # key stems
REFERENCE_METHODS = ("baseline", "model")  # the ``method`` of the stages' reference rows
_HASH = re.compile(r"-[0-9a-f]{8}$")


def is_reference(method: object) -> bool:
    """Whether a row's ``method`` marks a reference (a baseline or the full-set model)."""
    return str(method) in REFERENCE_METHODS


def key_stem(key: object) -> str:
    """``linear_surrogate[fit_type=ridge]`` of ``linear_surrogate[fit_type=ridge]-dca35369``:
    a method across tasks."""
    return _HASH.sub("", str(key))


def _order(key: str) -> tuple[int, int, str]:
    """Preference among a family's keys: fewest fields named, then the shortest, then by
    name."""
    return len(parse_method_key(key)[1]), len(key), key


def headline_keys(rows: pd.DataFrame) -> set[str]:
    """The method keys of one task's ``rows`` (columns ``method``, ``method_key``) shown by
    default: each family's default key (see the module docstring), the ``PINNED`` ones and
    every reference."""
    keys = rows.drop_duplicates("method_key")[["method", "method_key"]].astype(str)
    pinned = keys["method_key"].map(key_stem).isin(PINNED)
    shown = set(keys.loc[keys["method"].map(is_reference) | pinned, "method_key"])
    for _, family in keys[~keys["method"].map(is_reference)].groupby("method", sort=False):
        shown.add(min(family["method_key"], key=_order))
    return shown


def fold(keys: Sequence[str], values: Sequence[tuple], first: Iterable[str] = ()
         ) -> dict[str, str]:
    """``{key: the key it is folded into}`` for rows whose ``values`` (one tuple per key, the
    texts shown, "" where none) equal an earlier row's. The keys in ``first`` (the headline)
    are never folded and absorb the variants that match them; rows without any value stay."""
    keep = set(first)
    order = sorted(range(len(keys)), key=lambda i: (keys[i] not in keep, i))
    seen: dict[tuple, str] = {}
    folded: dict[str, str] = {}
    for i in order:
        if not any(values[i]):
            continue
        if values[i] in seen and keys[i] not in keep:
            folded[keys[i]] = seen[values[i]]
        else:
            seen.setdefault(values[i], keys[i])
    return folded
