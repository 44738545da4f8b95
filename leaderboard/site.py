"""What the web page shows beside the tables, read from files only: the figures' manifest
(``figures/figures.json``, written by ``figures.render_all``), the method files to link, and
the provenance (git SHA, dates, profiles from ``results.csv``; the machine from the
``bench.json`` beside it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .page import FigureEntry, PageContext

REPO = Path(__file__).resolve().parent.parent
MANIFEST = "figures.json"


def figures(folder: Path) -> dict[str, FigureEntry]:
    """``{file: FigureEntry}`` of the figures drawn in ``folder`` whose file is there (empty
    without a manifest)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {f: FigureEntry(f, str(v.get("title", f)), tuple(str(t) for t in v.get("tasks", [])),
                           str(v.get("figure", Path(f).stem)),
                           tuple(str(c) for c in v.get("claims", [])), str(v.get("task", "")),
                           bool(v.get("per_task", False)))
            for f, v in data.items() if isinstance(v, dict) and (folder / f).is_file()}


def provenance(df: pd.DataFrame, bench_json: Path) -> dict[str, str]:
    """Code version, dates and profiles of the rows, and the machine that measured them."""
    out: dict[str, str] = {}
    if "git_sha" in df:
        shas = sorted({str(s)[:10] for s in df["git_sha"].dropna()})
        out["git"] = ", ".join(shas[-3:]) + (f" (+{len(shas) - 3} more)" if len(shas) > 3 else "")
    if "created" in df and df["created"].notna().any():
        dates = df["created"].dropna().astype(str)
        out["runs"] = f"{dates.min()[:10]} to {dates.max()[:10]}"
    if "profile" in df:
        out["profiles"] = ", ".join(sorted({str(p) for p in df["profile"].dropna()}))
    try:
        prov = json.loads(bench_json.read_text()).get("engine", {}).get("provenance", {})
    except (OSError, ValueError):
        prov = {}
    if prov:
        out["machine"] = f"{prov.get('machine', '?')}, {prov.get('cpus', '?')} CPUs, " \
                         f"torch {prov.get('torch', '?')}"
    out["source"] = "results.csv, claims.csv, metrics.csv only"
    return out


def context(df: pd.DataFrame, out_dir: Path, figures_dir: Path, results_csv: Path
            ) -> PageContext:
    """The page's context for a page written into ``out_dir``."""
    methods = REPO / "methods"
    files = frozenset(p.stem for p in methods.glob("*.py") if not p.stem.startswith("_"))
    def rel(target: Path) -> str:
        return Path(os.path.relpath(target, out_dir.resolve())).as_posix()

    return PageContext(figures=figures(figures_dir), figures_href=rel(figures_dir.resolve()),
                       methods_href=rel(methods), method_files=files,
                       provenance=provenance(df, results_csv.with_name("bench.json")))
