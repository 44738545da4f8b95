"""Paper figures, drawn from the leaderboard CSVs only (never from methods or benchmarks).

Each ``figures/fig_*.py`` module declares ``SLUG`` (output file stem), ``SOURCE``
(``"results"`` or ``"predictions"``), ``select(df)`` (the data it draws; empty means
nothing to draw) and ``make(df) -> Figure``; the first paragraph of its docstring is its caption
(a full sentence). They are discovered here so adding a figure is adding a module. Optional:
``ALSO`` (other sources ``make`` takes as keyword arguments, e.g. ``results``), ``CLAIMS`` (the
claim ids it bears on, where the page shows it), ``PER_TASK`` (also drawn once per task, into
``<SLUG>/<task>.png``, by ``make_task`` if it has one, else ``make``, on that task's rows, or
on the rows ``task_rows(df, task)`` picks where a task's panel needs its siblings' too, e.g. the
other regime of its pair) and ``TASK_CAPTION`` (the per-task caption; ``{task}`` is replaced by
the task). Their CSVs are
read strictly (``benchmarks.common.tables``): a damaged table is refused, naming it, before any
figure is drawn.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import pkgutil
import re
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


def caption(module: ModuleType) -> str:
    """A figure's caption: the first paragraph of its module docstring, on one line."""
    doc = (module.__doc__ or module.SLUG).strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


def task_caption(module: ModuleType, task: str) -> str:
    """The caption of a figure's panel for one task (``TASK_CAPTION``, else its caption)."""
    text = getattr(module, "TASK_CAPTION", None)
    return caption(module) if text is None else " ".join(text.split()).replace("{task}", task)


def task_file(task: str) -> str:
    """``modular-addition-overlap-0-5.png`` for ``modular-addition[overlap=0.5]``."""
    return (re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-") or "task") + ".png"


def _sources(results_csv: Path | None, predictions_csv: Path | None,
             scores_csv: Path | None) -> dict[str, Path | None]:
    """Every source's path: the given tables and the side tables beside ``results_csv``."""
    if scores_csv is None and results_csv is not None:
        scores_csv = Path(results_csv).with_name("scores.csv")
    paths = {"results": results_csv, "predictions": predictions_csv, "scores": scores_csv}
    for source, name in SIDE_CSVS.items():
        paths[source] = Path(results_csv).with_name(name) if results_csv else None
    return paths


def render_all(
    results_csv: Path | None,
    predictions_csv: Path | None,
    out_dir: Path | None = None,
    scores_csv: Path | None = None,
) -> list[Path]:
    """Save every figure as ``<out_dir>/<SLUG>.png`` (dpi 150), and those drawn per task as
    ``<out_dir>/<SLUG>/<task>.png``; skip those lacking input.

    ``out_dir`` defaults to this package's folder; ``scores_csv`` (the C1 unit scores) defaults
    to the one next to ``results_csv``, and the parameter-weighting tables (``SIDE_CSVS``) are
    read from beside it. A figure whose inputs are those it was last drawn from (the
    ``inputs`` digest in the manifest) and whose PNG is the one drawn then (its ``png``
    sha256) is kept, not drawn again. Returns every figure's path, the suite's first.
    """
    out = Path(out_dir) if out_dir is not None else PACKAGE_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths = _sources(results_csv, predictions_csv, scores_csv)
    frames = {source: _read(path, SPECS.get(source)) for source, path in paths.items()}
    digests = {source: _file_digest(path) for source, path in paths.items()}
    drawn, manifest = _manifest(out), {}
    for module in MODULES.values():
        df = frames[module.SOURCE]
        shown = module.select(df) if df is not None else None
        if shown is None or shown.empty:
            print(f"figures: skipping {module.SLUG}: no {module.SOURCE} rows for it")
            continue
        extra = {name: frames.get(name) for name in getattr(module, "ALSO", ())}
        inputs = [digests[module.SOURCE], *(digests.get(n, "") for n in extra)]
        tasks = sorted(set(shown["task"].astype(str))) if "task" in shown else []
        manifest |= _suite(module, df, extra, inputs, tasks, out, drawn)
        if getattr(module, "PER_TASK", False):
            manifest |= _per_task(module, df, extra, tasks, out, drawn)
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    suite = [out / f for f, e in manifest.items() if not e.get("task")]
    return suite + [out / f for f, e in manifest.items() if e.get("task")]


def _suite(module: ModuleType, df: pd.DataFrame, extra: dict, inputs: list[str],
           tasks: list[str], out: Path, drawn: dict) -> dict[str, dict]:
    """Draw (or keep) a figure's whole-suite PNG; its manifest entry."""
    name = f"{module.SLUG}.png"
    digest = _inputs_digest(module, "/".join(inputs))
    png = _kept(out / name, drawn.get(name, {}), digest) or \
        _draw(module.make, df, extra, out / name)
    return {name: {"title": caption(module), "tasks": tasks, "inputs": digest, "png": png,
                   "figure": module.SLUG, "claims": list(getattr(module, "CLAIMS", ())),
                   "per_task": bool(getattr(module, "PER_TASK", False))}}


def _per_task(module: ModuleType, df: pd.DataFrame, extra: dict, tasks: list[str],
              out: Path, drawn: dict) -> dict[str, dict]:
    """Draw (or keep) one PNG per task of a ``PER_TASK`` figure from that task's rows (those
    its ``task_rows`` picks, where it has one), and remove those of tasks no longer drawn;
    their manifest entries."""
    make = getattr(module, "make_task", module.make)
    folder = out / module.SLUG
    folder.mkdir(exist_ok=True)
    entries: dict[str, dict] = {}
    files = [task_file(t) for t in tasks]
    if len(set(files)) < len(files):
        raise ValueError(f"{module.SLUG}: two tasks share a per-task file name: {tasks}")
    for task in tasks:
        mine = {k: _of_task(v, task) for k, v in extra.items()}
        rows = getattr(module, "task_rows", _of_task)(df, task)
        digest = _inputs_digest(module, "/".join(_frame_digest(f) for f in [rows, *mine.values()]))
        name = f"{module.SLUG}/{task_file(task)}"
        png = _kept(out / name, drawn.get(name, {}), digest) or \
            _draw(make, rows, mine, out / name)
        entries[name] = {"title": task_caption(module, task), "tasks": [task], "task": task,
                         "inputs": digest, "png": png, "figure": module.SLUG,
                         "claims": list(getattr(module, "CLAIMS", ()))}
    for stale in set(folder.glob("*.png")) - {out / n for n in entries}:
        stale.unlink()
    return entries


def _of_task(df: pd.DataFrame | None, task: str) -> pd.DataFrame | None:
    """The rows of one task (a table without a task column, whole)."""
    if df is None or "task" not in df:
        return df
    return df[df["task"].astype(str) == task]


def _kept(path: Path, last: dict, digest: str) -> str:
    """The PNG's sha256 where it is the one last drawn from these inputs, else ""."""
    png = _file_digest(path)
    return png if png and last.get("inputs") == digest and last.get("png") == png else ""


def _draw(make: Callable[..., Figure], df: pd.DataFrame, extra: dict, path: Path) -> str:
    """Draw a figure into ``path`` (through a temporary sibling, renamed into place); returns
    the sha256 of the PNG."""
    fig = make(df, **extra)
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


def _frame_digest(df: pd.DataFrame | None) -> str:
    """sha256 of a table's rows as CSV text ("" for none)."""
    if df is None:
        return ""
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()


def _inputs_digest(module: ModuleType, source_digest: str) -> str:
    """Digest of what a figure is drawn from: its module, this file, ``printed.py``, the files
    it names in ``DEPENDS``, matplotlib and its sources (``source_digest``); a figure whose
    digest is unchanged is not drawn again."""
    h = hashlib.sha256(f"{matplotlib.__version__}/{source_digest}".encode())
    files = (module.__file__, __file__, Path(__file__).with_name("printed.py"),
             *getattr(module, "DEPENDS", ()))
    for path in files:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    """Draw all figures from the default ``leaderboard/*.csv`` into this folder."""
    board = PACKAGE_DIR.parent / "leaderboard"
    for path in render_all(board / "results.csv", board / "predictions.csv"):
        print(f"wrote {path}")
