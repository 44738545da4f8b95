"""Paper figures, drawn from the leaderboard CSVs only (never from methods or benchmarks).

Each ``figures/fig_*.py`` module declares ``SLUG`` (output file stem), ``SOURCE``
(``"results"`` or ``"predictions"``), ``select(df)`` (the data it draws; empty means
nothing to draw) and ``make(df) -> Figure``. They are discovered here so adding a figure
is adding a module. Their CSVs are read strictly (``benchmarks.common.tables``): a damaged table
is refused, naming it, before any figure is drawn.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from benchmarks.common.fsio import atomic_write_bytes, atomic_write_text  # noqa: E402
from benchmarks.common.schema import PREDICTIONS, RESULTS, TableSpec  # noqa: E402
from benchmarks.common.tables import read_table  # noqa: E402

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = "figures.json"  # {file: {title, tasks, inputs, png}}: what each figure shows (read
# by the web page), the digest of what it was drawn from and the sha256 of the PNG drawn
SOURCES_ALLOWED = ("results", "predictions", "scores", "weights", "weight_sweep", "label_cost",
                   "gradex_budget", "interactions", "label_curve")
# sources read from a CSV next to results.csv
SIDE_CSVS = {"weights": "param_weights.csv", "weight_sweep": "param_weight_sweep.csv",
             "label_cost": "label_cost.csv", "gradex_budget": "gradex_budget.csv",
             "interactions": "interactions.csv", "label_curve": "label_curve.csv"}
# the schema of a source the schema declares (the others: the key their manifest records)
SPECS: dict[str, TableSpec] = {"results": RESULTS, "predictions": PREDICTIONS}


def _discover() -> dict[str, ModuleType]:
    """Import every ``fig_*`` module of this package, keyed by its ``SLUG``."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("fig_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if module.SOURCE not in SOURCES_ALLOWED:
            raise ValueError(f"{info.name}: SOURCE must be one of {SOURCES_ALLOWED}")
        if module.SLUG in found:
            raise ValueError(f"duplicate figure slug {module.SLUG!r}")
        found[module.SLUG] = module
    return found


MODULES: dict[str, ModuleType] = _discover()
FIGURES: dict[str, Callable[[pd.DataFrame], Figure]] = {
    slug: module.make for slug, module in MODULES.items()
}
SOURCES: dict[str, str] = {slug: module.SOURCE for slug, module in MODULES.items()}


def _read(path: Path | None, spec: TableSpec | None) -> pd.DataFrame | None:
    """The table at ``path`` (read strictly), or None when it is missing or has no rows."""
    if path is None or not Path(path).is_file():
        return None
    df = read_table(path, spec)
    return None if df.empty else df


def render_all(
    results_csv: Path | None,
    predictions_csv: Path | None,
    out_dir: Path | None = None,
    scores_csv: Path | None = None,
) -> list[Path]:
    """Save every figure as ``<out_dir>/<SLUG>.png`` (dpi 150); skip those lacking input.

    ``out_dir`` defaults to this package's folder; ``scores_csv`` (the C1 unit scores) defaults
    to the one next to ``results_csv``, and the parameter-weighting tables (``SIDE_CSVS``) are
    read from beside it. A figure whose inputs are those it was last drawn from (the
    ``inputs`` digest in the manifest) and whose PNG is the one drawn then (its ``png``
    sha256) is kept, not drawn again. Returns every figure's path.
    """
    out = Path(out_dir) if out_dir is not None else PACKAGE_DIR
    out.mkdir(parents=True, exist_ok=True)
    if scores_csv is None and results_csv is not None:
        scores_csv = Path(results_csv).with_name("scores.csv")
    paths = {"results": results_csv, "predictions": predictions_csv, "scores": scores_csv}
    for source, name in SIDE_CSVS.items():
        paths[source] = Path(results_csv).with_name(name) if results_csv else None
    frames = {source: _read(path, SPECS.get(source)) for source, path in paths.items()}
    sources = {source: _file_digest(path) for source, path in paths.items()}
    drawn = _manifest(out)
    written: list[Path] = []
    manifest: dict[str, dict] = {}
    for slug, module in MODULES.items():
        df = frames[module.SOURCE]
        shown = module.select(df) if df is not None else None
        if shown is None or shown.empty:
            print(f"figures: skipping {slug}: no {module.SOURCE} rows for it")
            continue
        path = out / f"{slug}.png"
        digest = _inputs_digest(module, sources[module.SOURCE])
        last, png = drawn.get(path.name, {}), _file_digest(path)
        if not png or last.get("inputs") != digest or last.get("png") != png:
            png = _draw(module, df, path)  # new inputs, or a PNG missing or not the one drawn
        written.append(path)
        tasks = sorted(set(shown["task"].astype(str))) if "task" in shown else []
        manifest[path.name] = {"title": (module.__doc__ or slug).strip().splitlines()[0],
                               "tasks": tasks, "inputs": digest, "png": png}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return written


def _draw(module: ModuleType, df: pd.DataFrame, path: Path) -> str:
    """Draw a figure into ``path`` (through a temporary sibling, renamed into place); returns
    the sha256 of the PNG."""
    fig = module.make(df)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _manifest(folder: Path) -> dict:
    """The figures last drawn into ``folder``, ``{file: entry}`` (empty when none or
    unreadable; an unreadable entry is left out, so its figure is drawn again)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) \
        else {}


def _file_digest(path: Path | None) -> str:
    """sha256 of the file at ``path`` ("" when there is none)."""
    if path is None or not Path(path).is_file():
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _inputs_digest(module: ModuleType, source_digest: str) -> str:
    """Digest of what a figure is drawn from: its module, this file, matplotlib and its
    source CSV (``source_digest``); a figure whose digest is unchanged is not drawn again."""
    h = hashlib.sha256(f"{matplotlib.__version__}/{source_digest}".encode())
    for path in (Path(module.__file__), Path(__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    """Draw all figures from the default ``leaderboard/*.csv`` into this folder."""
    board = PACKAGE_DIR.parent / "leaderboard"
    for path in render_all(board / "results.csv", board / "predictions.csv"):
        print(f"wrote {path}")
