"""The label-curve stage's grid of fitting-subset counts and its figure."""

from __future__ import annotations

import pandas as pd

from benchmarks.stages.label_curve import RATIOS, label_counts
from figures import fig_label_curve


def test_counts_are_the_ratios_within_the_pool_then_the_pool():
    assert label_counts(RATIOS, 16, 96) == [13, 26, 48, 96]  # quick modular: 0.8K .. 6K
    assert label_counts(RATIOS, 16, 320) == [13, 26, 48, 96, 192, 320]  # grown to 20K
    assert label_counts(RATIOS, 25, 40) == [20, 40]  # paper modular: n = 1.6K is the pool
    assert label_counts(RATIOS, 9, 12) == [7, 12]
    assert label_counts(RATIOS, 40, 24) == [24]  # the pool below 0.8K: the pool only
    assert label_counts(RATIOS, 2, 200) == [2, 3, 6, 12, 24, 40, 200]  # distinct, at least 2


def _frame() -> pd.DataFrame:
    keys = {"kernel_sm-7883656e": ("kernel_sm", "KernelSM (CV)"),
            "kernel_sm[center=False,gamma=auto,lam=0.01]-43aa0d7c": ("kernel_sm", "fixed"),
            "linear_surrogate[fit_type=ridge]-dca35369": ("linear_surrogate", "ridge"),
            "linear_surrogate[fit_type=minnorm]-5d989d7b": ("linear_surrogate", "min-norm")}
    return pd.DataFrame([
        {"task": t, "task_key": f"{t}-k", "profile": "quick", "K": 16, "method": m,
         "method_key": key, "method_label": label, "n": n, "n_over_K": n / 16,
         "draws": 5, "lds_mean": 0.1 * i + n / 1000, "lds_sd": 0.02, "ne_mean": 1.0 / n,
         "ne_sd": 0.01, "pool": 96}
        for t in ("a", "b") for i, (key, (m, label)) in enumerate(keys.items())
        for n in (13, 26, 96)])


def test_the_figure_draws_lds_over_ne_per_cell_with_the_papers_ratio():
    fig = fig_label_curve.make(_frame())
    axes = fig.axes
    assert len(axes) == 4  # 2 cells x (LDS, NE)
    top = [ax for ax in axes if ax.get_title()]
    assert [ax.get_title() for ax in top] == ["a (quick, K=16)", "b (quick, K=16)"]
    for ax in axes:
        assert ax.get_xscale() == "log" and len(ax.containers) == 4  # a line per surrogate
        assert any(list(line.get_xdata()) == [1.6, 1.6] for line in ax.get_lines())
    assert len(top[0].get_legend_handles_labels()[1]) == 4


def test_the_figure_styles_surrogates_by_key_not_label():
    frame = _frame()
    relabelled = frame.assign(method_label="?")
    colours = [[c.lines[0].get_color() for c in ax.containers]
               for ax in fig_label_curve.make(frame).axes]
    assert colours == [[c.lines[0].get_color() for c in ax.containers]
                       for ax in fig_label_curve.make(relabelled).axes]
    assert colours[0] == ["C0", "C1", "C3", "C2"]  # CV, fixed, min-norm, ridge (key order)


def test_the_figure_is_drawn_from_the_table_beside_results_and_skipped_without(tmp_path):
    import figures

    results = tmp_path / "results.csv"  # absent: only the side table can draw anything
    assert figures.render_all(results, None, tmp_path / "none") == []
    _frame().to_csv(tmp_path / "label_curve.csv", index=False)
    paths = figures.render_all(results, None, tmp_path / "figs")
    names = [p.relative_to(tmp_path / "figs").as_posix() for p in paths]
    assert names == ["label_curve.png", "label_curve/a.png", "label_curve/b.png"]  # and per task
    assert all(p.stat().st_size > 1000 for p in paths)
