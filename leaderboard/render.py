"""Render the leaderboard as Markdown and a static HTML page from ``results.csv``.

This stage reads only the tidy results table written by the benchmark runs (strictly, through
``benchmarks.common.tables``); it never imports ``methods`` or the benchmark code beyond the base
layer (``fsio``, ``schema``, ``tables``), so the stages stay decoupled through files. Its
metric columns are those the metrics and stages register, read from ``metrics.csv``
(``definitions``). Each cell, and each column's best set, is ``cells``'s; which rows head a
table and which fold into another is ``headline``'s; each row's code version is compared with
the newest row's, so the page can say which cells come from older code. Text from the CSVs is
escaped for Markdown by ``md.escape``, for HTML by ``html.escape``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common import groups
from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.schema import PROFILES as PROFILE_ORDER
from benchmarks.common.schema import RESULTS, ROW_KEY
from benchmarks.common.tables import read_table

from . import cells, claims, definitions, headline, page, site
from .definitions import Column, for_results, present
from .md import escape
from .sections import ARROWS, DASH, Cell, Row, Section

PACKAGE_DIR = Path(__file__).resolve().parent


def _as_bool(series: pd.Series) -> pd.Series:
    """Parse True/False written as bools, strings or 0/1; unknown stays NA."""
    text = series.astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}
    return text.map(mapping).astype("boolean")


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise dtypes and keep only the latest row per results key (by ``created``)."""
    out = df.copy()
    for name in ("value", "ci_low", "ci_high", "cost_s", "n_labels"):
        out[name] = pd.to_numeric(out[name], errors="coerce")
    out["higher_is_better"] = _as_bool(out["higher_is_better"])
    for name in ("task", "method_label", "method_key", "profile", "git_sha", "created", "labels"):
        out[name] = out[name].astype("string").fillna("")
    if "method" not in out:
        out["method"] = out["method_key"].str.split("-").str[0]
    out["_code"] = code_of(out)
    out = out.sort_values("created", kind="stable")
    return out.drop_duplicates(ROW_KEY, keep="last").reset_index(drop=True)


def code_of(df: pd.DataFrame) -> pd.Series:
    """Each row's code version: its ``code_hash`` where the table records one, else its
    ``git_sha``."""
    sha = df["git_sha"].astype("string").fillna("") if "git_sha" in df else \
        pd.Series("", index=df.index, dtype="string")
    if "code_hash" not in df:
        return sha
    code = df["code_hash"].astype("string").fillna("")
    return code.where(code != "", sha)


def page_code(df: pd.DataFrame) -> tuple[str, str]:
    """The code version of the newest row (by ``created``) and that row's date: the code the
    page compares every section with."""
    if df.empty:
        return "", ""
    newest = df.sort_values("created", kind="stable").iloc[-1]
    return str(newest["_code"]), str(newest["created"])[:10]


def _format_cost(seconds: float) -> str:
    """Wall-clock seconds, with more decimals for sub-second fits."""
    return DASH if pd.isna(seconds) else f"{seconds:.{1 if seconds >= 1 else 3}f}"


def _format_count(count: float) -> str:
    """Integer count with thousands separators."""
    return DASH if pd.isna(count) else f"{int(count):,}"


def _meta(group: pd.DataFrame) -> dict[str, str]:
    """Header facts for a section: profile, code version(s), task key, latest run."""
    shas = sorted({s[:10] for s in group["git_sha"] if s}) or ["unknown"]
    return {
        "profile": str(group["profile"].iloc[0]),
        "git": ", ".join(shas),
        "task key": str(group["task_key"].iloc[0]),
        "latest run": str(group["created"].max() or "unknown"),
    }


def _methods(group: pd.DataFrame, first: pd.DataFrame | None) -> pd.DataFrame:
    """One line per method key, ordered by the first column (its direction), then label."""
    methods = group.groupby("method_key", sort=False).agg(
        label=("method_label", "first"), labels=("labels", "first"),
        method=("method", "first"), cost_s=("cost_s", "max"), n_labels=("n_labels", "max"))
    if first is None:
        return methods.sort_values("label")
    lower = cells.higher(first) is False
    methods = methods.assign(_first=first["value"].reindex(methods.index))
    return methods.sort_values(["_first", "label"], ascending=[lower, True])


def _fold(rows: list[Row]) -> None:
    """Mark each row whose shown values are all another's (``headline.fold``)."""
    values = [tuple("" if c.text == DASH else c.display for c in r.cells) for r in rows]
    keys = [r.key for r in rows]
    into = headline.fold(keys, values, [r.key for r in rows if r.headline])
    by_key = {r.key: r for r in rows}
    for row in rows:
        if row.key in into:
            row.same_as = into[row.key]
            by_key[row.same_as].folded.append((row.label, row.key))


def _stale(rows: list[Row], titles: list[str], current: str) -> list[tuple[str, str, list]]:
    """(method, code, column titles) of the rows with cells produced by other code than
    ``current``."""
    out = []
    for row in rows:
        old = [(t, c.code) for t, c in zip(titles, row.cells, strict=True)
               if c.code and c.code != current and c.text != DASH]
        for code in dict.fromkeys(c for _, c in old):
            out.append((row.label, code, [t for t, c in old if c == code]))
    return out


def _build_section(group: pd.DataFrame, metric_columns: list[Column], sources: set[str],
                   current: str = "") -> Section:
    """Assemble one (task, profile) table: a row per method, a cell per column that has
    values in this table (the first column, which orders the rows, always)."""
    shown = [(col, values) for i, col in enumerate(metric_columns)
             if not (values := cells.column_values(group, col)).empty or i == 0]
    per_col = [cells.column_cells(values, col, sources) for col, values in shown]
    methods = _methods(group, shown[0][1] if shown else None)
    tops = headline.headline_keys(group)
    rows = []
    for key, info in methods.iterrows():
        rows.append(Row(info["label"] or str(key), str(key), info["labels"],
                        [col.get(str(key), Cell()) for col in per_col],
                        _format_cost(info["cost_s"]), _format_count(info["n_labels"]),
                        str(info["method"]), str(key) in tops,
                        headline.is_reference(info["method"])))
    _fold(rows)
    titles = [col.title + ARROWS[cells.higher(values)] for col, values in shown]
    first = group.iloc[0]
    regime = str(first["regime"]) if "regime" in group and first["regime"] == first["regime"] \
        else ""
    return Section(str(first["task"]), str(first["profile"]), _meta(group),
                   ["Method", "Key", "Labels", *titles, "Cost (s)", "F labels"], rows,
                   str(first["task_family"]) if "task_family" in group else "", regime,
                   [col for col, _ in shown], str(first["task_key"]).startswith("group:"),
                   _stale(rows, titles, current))


def build_sections(df: pd.DataFrame, metric_columns: list[Column] | None = None
                   ) -> list[Section]:
    """One section per (task, profile): by family and task, the most thorough profile first;
    ``metric_columns`` (default: every (metric, variant) of ``df``, ``definitions.present``)."""
    data = prepare(df)
    if data.empty:
        return []
    cols = present(data) if metric_columns is None else metric_columns
    rank = {p: i for i, p in enumerate(PROFILE_ORDER)}
    data["_shallowness"] = -data["profile"].map(rank).fillna(-1)
    order = data.sort_values(["task_family", "task", "_shallowness", "profile"], kind="stable")
    sources, current = cells.label_sources(data), page_code(data)[0]
    sections = [_build_section(g, cols, sources, current)
                for _, g in order.groupby(["task_key", "profile"], sort=False)]
    agg = groups.aggregate(data)
    if not agg.empty:
        sections += [_build_section(g, cols, sources)
                     for _, g in agg.groupby(["group", "profile"], sort=True)]
    return sections


def shown_variants(df: pd.DataFrame, metric_columns: list[Column]) -> list[tuple[str, str]]:
    """The (metric, variant) pairs the leaderboard's columns show for ``df``."""
    pairs = set(zip(df["metric"], df["variant"], strict=True))
    return [(c.metric, c.variant) for c in metric_columns if (c.metric, c.variant) in pairs]


def _markdown_section(section: Section) -> str:
    """A ``##`` heading, the header line and a pipe table; text from the CSV escaped."""
    meta = " · ".join(f"{escape(k)}: {escape(v, code=True)}" for k, v in section.meta.items())
    lines = [f"## {escape(section.task)} · {escape(section.profile)}", "", meta, ""]
    lines.append("| " + " | ".join(escape(h) for h in section.header) + " |")
    lines.append("|" + "|".join([" --- "] * 3 + [" ---: "] * (len(section.header) - 3)) + "|")
    for row in section.rows:
        shown = [escape(c.display) + (f" {FLAG}" if c.flag else "") for c in row.cells]
        shown = [f"**{c}**" if b else c for c, b in zip(shown, row.bold, strict=True)]
        lead = [escape(row.label), escape(row.key, code=True, cell=True),
                escape(row.labels or DASH)]
        lines.append("| " + " | ".join(lead + shown + [row.cost, row.n_labels]) + " |")
    return "\n".join(lines)


FLAG = "†"  # a normalised error above 1
INTRO = (
    "Bold marks each metric column's best set (↑ higher is better, ↓ lower is better): the "
    "leader and every method whose interval overlaps the leader's (95% CI where the column "
    "shows one, a group's mean ± sd over its splits; otherwise the same shown value), so a tie "
    "is a tie. Baselines (random and all-units proposals, the full-set model) are context, "
    f"never best. {FLAG} marks a normalised error above 1, worse than predicting each target's "
    "held-out mean, which is never best; relative error to F is shown (not n/a) only for "
    "methods that predict F (surrogates fitted on labels and label sources such as GradEx). "
    "Metric definitions follow the tables."
)


def render_markdown(df: pd.DataFrame, claim_rows: pd.DataFrame | None = None,
                    defs: pd.DataFrame | None = None) -> str:
    """The whole leaderboard as Markdown: one section per (task, profile) and per task group
    (the columns ``defs`` declares, ``definitions.for_results``), the definitions of the metric
    variants shown, then the claims."""
    cols = for_results(df, defs)
    sections = build_sections(df, cols)
    parts = ["# taskattr leaderboard", "", INTRO]
    if not sections:
        parts += ["", "_No results yet._"]
    for section in sections:
        parts += ["", _markdown_section(section)]
    items = definitions.shown(defs, shown_variants(df, cols)) if len(df) else []
    text = definitions.markdown(items)
    if text:
        parts += ["", text]
    if claim_rows is not None:
        parts += ["", claims.markdown(claim_rows)]
    return "\n".join(parts) + "\n"


def render_html(df: pd.DataFrame, claim_rows: pd.DataFrame | None = None,
                defs: pd.DataFrame | None = None, ctx: page.PageContext | None = None) -> str:
    """The leaderboard as one self-contained web page (``page``); its overview shows the
    columns declared for it."""
    cols = for_results(df, defs)
    items = definitions.shown(defs, shown_variants(df, cols)) if len(df) else []
    ctx = ctx or page.PageContext()
    ctx.code = page_code(prepare(df)) if len(df) else ("", "")
    return page.html_page(build_sections(df, cols), INTRO, claim_rows,
                          definitions.html_section(items), ctx, PROFILE_ORDER,
                          tuple(c.title for c in cols if c.overview))


def missing_columns(df: pd.DataFrame) -> list[str]:
    """Columns the leaderboard needs that ``df`` lacks."""
    need = [*ROW_KEY, "task", "task_family", "method_label", "labels", "value", "ci_low",
            "ci_high", "higher_is_better", "cost_s", "n_labels", "git_sha", "created"]
    return [c for c in dict.fromkeys(need) if c not in df.columns]


def write_all(results_csv: Path, out_dir: Path, figures_dir: Path | None = None) -> list[Path]:
    """Write ``LEADERBOARD.md`` and ``index.html`` for ``results_csv`` (and the ``claims.csv``
    and ``metrics.csv`` beside it, if any) into ``out_dir``; the page embeds the figures of
    ``figures_dir`` (default: the repository's ``figures/`` for the leaderboard folder, else
    ``out_dir/figures``). A table lacking columns is said on the page and warned, not drawn;
    a damaged one is refused (``benchmarks.common.tables``) before anything is written."""
    df = read_table(results_csv, RESULTS)
    out_dir = Path(out_dir)
    if figures_dir is None:
        figures_dir = (PACKAGE_DIR.parent / "figures" if out_dir.resolve() == PACKAGE_DIR
                       else out_dir / "figures")
    ctx = site.context(df, out_dir, Path(figures_dir), Path(results_csv))
    lacking = missing_columns(df)
    if lacking:
        msg = f"{results_csv}: lacks columns {', '.join(lacking)}; no tables drawn"
        print(f"warning: {msg}", file=sys.stderr)
        ctx.warnings.append(msg)
        df = df.iloc[0:0].reindex(columns=list(dict.fromkeys([*df.columns, *lacking])))
    claim_rows = claims.read(Path(results_csv).with_name("claims.csv"))
    defs = definitions.read(Path(results_csv).with_name("metrics.csv"))
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = {"LEADERBOARD.md": render_markdown(df, claim_rows, defs),
             "index.html": render_html(df, claim_rows, defs, ctx)}
    for name, text in pages.items():
        atomic_write_text(out_dir / name, text)
    return [out_dir / name for name in pages]


def main(argv: list[str] | None = None) -> None:
    """CLI: ``python -m leaderboard.render [--results CSV] [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=PACKAGE_DIR / "results.csv")
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR)
    args = parser.parse_args(argv)
    if not args.results.is_file():
        parser.error(f"no results file at {args.results}")
    for path in write_all(args.results, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
