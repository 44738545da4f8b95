"""Render the leaderboard as Markdown and a static HTML page from ``results.csv``.

This stage reads only the tidy results table written by the benchmark runs (strictly, through
``benchmarks.common.tables``); it never imports ``methods`` or the benchmark code beyond the base
layer (``fsio``, ``schema``, ``tables``), so the stages stay decoupled through files. Its
metric columns are those the metrics and stages register, read from ``metrics.csv``
(``definitions``). Text from the CSVs is escaped for Markdown by ``md.escape``, for HTML by
``html.escape``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from benchmarks.common import groups
from benchmarks.common.fsio import atomic_write_text
from benchmarks.common.schema import PROFILES as PROFILE_ORDER
from benchmarks.common.schema import RESULTS, ROW_KEY
from benchmarks.common.tables import read_table

from . import claims, definitions, page, site
from .definitions import Column, for_results, present
from .md import escape
from .sections import ARROWS, DASH, Row, Section

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
    out = out.sort_values("created", kind="stable")
    return out.drop_duplicates(ROW_KEY, keep="last").reset_index(drop=True)


def _column_values(group: pd.DataFrame, col: Column) -> pd.DataFrame:
    """Rows of ``group`` for one column, one per method_key (the latest, whatever its split)."""
    sub = group[(group["metric"] == col.metric) & (group["variant"] == col.variant)]
    return sub.drop_duplicates("method_key", keep="last").set_index("method_key")


def _higher(values: pd.DataFrame) -> bool | None:
    """A column's direction from its rows' ``higher_is_better`` (None if no rows say)."""
    higher = values["higher_is_better"].dropna()
    return None if higher.empty else bool(higher.iloc[0])


def _best_keys(values: pd.DataFrame) -> set[str]:
    """Method keys holding the best value of a column (ties all count)."""
    finite = values["value"].dropna()
    if finite.empty:
        return set()
    best = finite.min() if _higher(values) is False else finite.max()
    return {key for key, v in finite.items() if math.isclose(v, best, rel_tol=1e-12)}


def format_value(value: float, ci_low: float = math.nan, ci_high: float = math.nan) -> str:
    """Format a metric as ``0.571`` or, when a CI is known, ``0.571 [0.52, 0.61]``."""
    if pd.isna(value):
        return DASH
    ci = "" if pd.isna(ci_low) or pd.isna(ci_high) else f" [{ci_low:.2f}, {ci_high:.2f}]"
    return f"{value:.3f}{ci}"


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


def _build_section(group: pd.DataFrame, metric_columns: list[Column]) -> Section:
    """Assemble one (task, profile) table: a row per method, a cell per column that has
    values in this table (the first column, which orders the rows, always)."""
    shown = [(col, values) for i, col in enumerate(metric_columns)
             if not (values := _column_values(group, col)).empty or i == 0]
    columns, per_col = [c for c, _ in shown], [v for _, v in shown]
    best = [_best_keys(values) for values in per_col]
    methods = group.groupby("method_key", sort=False).agg(
        label=("method_label", "first"),
        labels=("labels", "first"),
        cost_s=("cost_s", "max"),
        n_labels=("n_labels", "max"),
    )
    first = per_col[0]["value"].reindex(methods.index) if per_col else math.nan
    lower = bool(per_col) and _higher(per_col[0]) is False  # the first column orders the rows
    methods = methods.assign(_first=first).sort_values(["_first", "label"],
                                                       ascending=[lower, True])
    header = ["Method", "Key", "Labels"]
    arrows = [ARROWS[_higher(values)] for values in per_col]
    header += [col.title + a for col, a in zip(columns, arrows, strict=True)]
    header += ["Cost (s)", "F labels"]
    rows = []
    for key, info in methods.iterrows():
        cells = [_cell(v, key, c) for c, v in zip(columns, per_col, strict=True)]
        cells += [_format_cost(info["cost_s"]), _format_count(info["n_labels"])]
        bold = [key in keys for keys in best] + [False, False]
        rows.append(Row(info["label"] or str(key), str(key), info["labels"], cells, bold))
    first = group.iloc[0]
    family = str(first["task_family"]) if "task_family" in group else ""
    regime = str(first["regime"]) if "regime" in group and first["regime"] == first["regime"] \
        else ""
    return Section(str(first["task"]), str(first["profile"]), _meta(group), header, rows,
                   family, regime)


def _cell(values: pd.DataFrame, key: str, col: Column) -> str:
    """One method's formatted value in one column (with its CI only in CI columns; a group's
    mean with its spread over splits)."""
    if key not in values.index:
        return DASH
    row = values.loc[key]
    if "std" in values.columns and not pd.isna(row["value"]):
        return format_value(row["value"]) + ("" if pd.isna(row["std"]) else
                                             f" ± {row['std']:.3f}")
    if not col.ci:
        return format_value(row["value"])
    return format_value(row["value"], row["ci_low"], row["ci_high"])


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
    sections = [_build_section(g, cols)
                for _, g in order.groupby(["task_key", "profile"], sort=False)]
    agg = groups.aggregate(data)
    if not agg.empty:
        sections += [_build_section(g, cols)
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
        cells = [escape(c) for c in row.cells]
        cells = [f"**{c}**" if b else c for c, b in zip(cells, row.bold, strict=True)]
        lead = [escape(row.label), escape(row.key, code=True, cell=True),
                escape(row.labels or DASH)]
        lines.append("| " + " | ".join(lead + cells) + " |")
    return "\n".join(lines)


INTRO = (
    "Bold marks the best value in each metric column (↑ higher is better, ↓ lower is "
    "better). LDS shows its 95% confidence interval in brackets; a group's rows show the mean "
    "± standard deviation over its splits. Metric definitions follow the tables."
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
