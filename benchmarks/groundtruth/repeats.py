"""Repeated subsets in imported ground truth: counted and kept by default, dropped on request.

Subsets drawn at random repeat (the authors' ICL prompts are 4 of 50 demonstrations drawn 200
times, and a random re-split can put one subset on both sides). A repeated subset is an
independent measurement of F there (another run, another prompt order), so by default every row
is kept and the import says how many repeat: within the fitting rows, within the held-out rows,
and fitting rows whose subset is also held out.

``--dedupe`` drops *fitting* rows only: those repeating an earlier fitting subset and those
repeating a held-out subset (so no held-out subset is fitted). Held-out rows are never dropped
or altered, so every metric is computed on the file's own held-out set; the import names the
dropped rows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from benchmarks.groundtruth.formats import Split


@dataclass(frozen=True)
class Repeats:
    """Row indices (within their role) of repeated subsets.

    ``fit``: fitting rows repeating an earlier fitting row; ``eval``: held-out rows repeating an
    earlier held-out row; ``fit_held_out``: fitting rows whose subset is also held out."""

    fit: tuple[int, ...]
    eval: tuple[int, ...]
    fit_held_out: tuple[int, ...]

    @property
    def total(self) -> int:
        return len(set(self.fit) | set(self.fit_held_out)) + len(self.eval)

    def counts(self) -> dict[str, int]:
        return {"repeated_fit": len(self.fit), "repeated_eval": len(self.eval),
                "fit_also_held_out": len(self.fit_held_out)}


def _keys(masks: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in np.asarray(masks).astype(np.uint8)]


def _later_repeats(keys: list[bytes]) -> tuple[int, ...]:
    seen: set[bytes] = set()
    out = []
    for i, k in enumerate(keys):
        if k in seen:
            out.append(i)
        seen.add(k)
    return tuple(out)


def find_repeats(s: Split) -> Repeats:
    """The repeated subsets of a split (``masks_fit (m_f, K)``, ``masks_eval (m_e, K)``)."""
    fit, ev = _keys(s.masks_fit), _keys(s.masks_eval)
    held = set(ev)
    return Repeats(_later_repeats(fit), _later_repeats(ev),
                   tuple(i for i, k in enumerate(fit) if k in held))


def handle(s: Split, what: str, dedupe: bool) -> tuple[Split, dict]:
    """Keep repeats (saying how many) or, with ``dedupe``, drop the repeated fitting rows.

    Returns the split and the record of the import entry: the counts of ``find_repeats`` and
    ``dropped_fit_rows`` (indices into the file's fitting rows)."""
    rep = find_repeats(s)
    drop = sorted(set(rep.fit) | set(rep.fit_held_out)) if dedupe else []
    record = {**rep.counts(), "dropped_fit_rows": drop}
    if drop:
        keep = np.ones(len(s.masks_fit), dtype=bool)
        keep[drop] = False
        shown = ", ".join(map(str, drop[:10])) + (", ..." if len(drop) > 10 else "")
        print(f"note: {what}: --dedupe dropped {len(drop)} fitting row(s) [{shown}] (repeats "
              f"of an earlier fitting subset or of a held-out one); the {len(s.masks_eval)} "
              f"held-out rows are unchanged ({len(rep.eval)} repeated among them, kept)",
              file=sys.stderr)
        s = Split(s.masks_fit[keep], s.targets_fit[keep], s.masks_eval, s.targets_eval, s.fmt,
                  s.split)
    elif rep.total:
        c = rep.counts()
        print(f"note: {what}: kept {rep.total} repeated subset row(s) as independent "
              f"measurements ({c['repeated_fit']} among fitting rows, {c['repeated_eval']} "
              f"among held-out rows, {c['fit_also_held_out']} fitting rows also held out); "
              f"--dedupe drops the repeated fitting rows, never held-out ones", file=sys.stderr)
    return s, record
