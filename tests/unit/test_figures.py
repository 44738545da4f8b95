"""Tests for the figures package on small synthetic results and predictions tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import figures
from benchmarks.common.schema import RESULTS, parse_method_key
from benchmarks.common.tables import read_table
from figures import (
    fig_ablation,
    fig_interaction_gap,
    fig_param_weights,
    fig_pred_vs_true,
    fig_regimes,
    fig_selection,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# (method, method_key, label) -> LDS at overlap 0.0 and 0.5
LDS = {
    ("kernel_sm", "kernel_sm[gamma=cv]-aa", "KernelSM (CV)"): (0.60, 0.55),
    ("kernel_sm", "kernel_sm[gamma=1]-bb", "KernelSM (gamma=1)"): (0.50, 0.58),
    ("linear_surrogate", "linear_surrogate[ridge]-cc", "Linear (ridge+intercept)"): (0.58, 0.30),
    ("loo", "loo-dd", "LOO"): (0.10, 0.05),
}


def _result(task: str, params: dict, method: tuple, metric: str, value: float) -> dict:
    """One results.csv row at profile quick."""
    name, key, label = method
    return {
        "task": task,
        "task_key": f"{task}-key",
        "task_family": "modular-addition",
        "task_params": json.dumps(params),
        "method": name,
        "method_key": key,
        "method_label": label,
        "labels": "retrain",
        "metric": metric,
        "variant": "spearman" if metric == "lds" else "ne",
        "split": "eval",
        "value": value,
        "ci_low": value - 0.05,
        "ci_high": value + 0.05,
        "n_targets": 20,
        "n_dropped": 0,
        "higher_is_better": metric == "lds",
        "profile": "quick",
        "cost_s": 1.0,
        "n_labels": 256,
        "git_sha": "abc",
        "created": "2025-01-01T00:00:00",
    }


def results_frame() -> pd.DataFrame:
    """LDS and residual rows for a default task (no overlap key) and overlap=0.5."""
    tasks = [("modular-addition", {}), ("modular-addition[overlap=0.5]", {"overlap": 0.5})]
    rows = []
    for i, (task, params) in enumerate(tasks):
        for method, values in LDS.items():
            rows.append(_result(task, params, method, "lds", values[i]))
            rows.append(_result(task, params, method, "residual", 0.3))
    return pd.DataFrame(rows)


def predictions_frame() -> pd.DataFrame:
    """Predicted vs true F for two methods on one task: one exact, one noisy."""
    rng = np.random.default_rng(0)
    rows = []
    for key, label, noise in [("kernel_sm-aa", "KernelSM (CV)", 0.0), ("lin-cc", "Linear", 0.5)]:
        for subset in range(30):
            for target in range(3):
                true = float(rng.normal())
                rows.append(
                    {
                        "task": "modular-addition",
                        "task_key": "modular-addition-key",
                        "method": key.split("-")[0],
                        "method_key": key,
                        "method_label": label,
                        "subset": subset,
                        "target": target,
                        "true": true,
                        "predicted": true + noise * float(rng.normal()),
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def csvs(tmp_path: Path) -> tuple[Path, Path]:
    results, predictions = tmp_path / "results.csv", tmp_path / "predictions.csv"
    results_frame().to_csv(results, index=False)
    predictions_frame().to_csv(predictions, index=False)
    return results, predictions


def test_registry_discovers_all_figures() -> None:
    assert set(figures.FIGURES) == {"lds_by_method", "pred_vs_true", "interaction_gap",
                                    "c1_scatter", "ablation", "selection",
                                    "label_curve", "param_weights", "weight_sweep",
                                    "regimes", "label_cost", "gradex_budget", "interactions"}
    assert figures.SOURCES["c1_scatter"] == "scores"
    assert figures.SOURCES["pred_vs_true"] == "predictions"
    assert figures.SOURCES["lds_by_method"] == "results"


def test_render_all_writes_nonempty_pngs(csvs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "figs"
    paths = figures.render_all(*csvs, out)
    assert sorted(p.name for p in paths if p.parent == out) == [
        "interaction_gap.png",
        "lds_by_method.png",
        "pred_vs_true.png",
    ]
    assert sorted(p.relative_to(out).as_posix() for p in paths if p.parent != out) == [
        "lds_by_method/modular-addition-overlap-0-5.png",  # one per task, for its section
        "lds_by_method/modular-addition.png",
        "pred_vs_true/modular-addition.png",
    ]
    for path in paths:
        assert path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC
    manifest = json.loads((out / figures.MANIFEST).read_text())
    assert manifest["lds_by_method/modular-addition.png"]["tasks"] == ["modular-addition"]
    assert all(e["title"].endswith(".") for e in manifest.values())  # whole sentences


def test_a_figure_is_drawn_again_only_when_its_inputs_change(csvs, tmp_path, monkeypatch):
    out = tmp_path / "figs"
    figures.render_all(*csvs, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.png")}
    drawn = []
    draw = figures._draw
    monkeypatch.setattr(figures, "_draw", lambda make, df, extra, path: drawn.append(
        path.relative_to(out).as_posix()) or draw(make, df, extra, path))
    assert len(figures.render_all(*csvs, out)) == len(before) and drawn == []
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*.png")} == before
    (out / "pred_vs_true.png").unlink()  # a missing file is drawn again
    figures.render_all(*csvs, out)
    assert drawn == ["pred_vs_true.png"]
    drawn.clear()
    df = results_frame()
    df.loc[df.task != "modular-addition", "value"] *= 0.5  # one task's rows change
    df.to_csv(csvs[0], index=False)
    figures.render_all(*csvs, out)  # the suite figures and that task's are drawn again
    assert sorted(drawn) == ["interaction_gap.png", "lds_by_method.png",
                             "lds_by_method/modular-addition-overlap-0-5.png",
                             "pred_vs_true.png"]  # it prints the table's numbers


def test_missing_predictions_are_skipped(csvs, tmp_path: Path, capsys) -> None:
    paths = figures.render_all(csvs[0], tmp_path / "absent.csv", tmp_path / "figs")
    assert {p.stem for p in paths if p.parent.name == "figs"} == {"lds_by_method",
                                                                  "interaction_gap"}
    assert "skipping pred_vs_true" in capsys.readouterr().out


def test_results_without_lds_rows_are_skipped(csvs, tmp_path: Path, capsys) -> None:
    df = results_frame()
    no_lds = tmp_path / "no_lds.csv"
    df[df["metric"] != "lds"].to_csv(no_lds, index=False)
    paths = figures.render_all(no_lds, csvs[1], tmp_path / "figs")
    assert [p.relative_to(tmp_path / "figs").as_posix() for p in paths] == [
        "pred_vs_true.png", "pred_vs_true/modular-addition.png"]
    out = capsys.readouterr().out
    assert "skipping lds_by_method" in out and "skipping interaction_gap" in out


def test_gap_table_takes_best_config_and_defaults_overlap() -> None:
    table = fig_interaction_gap.gap_table(results_frame()).set_index("overlap")
    assert list(table.index) == [0.0, 0.5]
    assert table.loc[0.0, "kernel_sm"] == pytest.approx(0.60)
    assert table.loc[0.5, "kernel_sm"] == pytest.approx(0.58)
    assert table.loc[0.0, "gap"] == pytest.approx(0.02)
    assert table.loc[0.5, "gap"] == pytest.approx(0.28)
    assert fig_interaction_gap.overlap_of(float("nan")) == 0.0


def test_normalised_error_is_zero_for_exact_and_one_for_mean() -> None:
    df = predictions_frame()
    exact = df[df["method_key"] == "kernel_sm-aa"]
    assert fig_pred_vs_true.normalised_error(exact) == pytest.approx(0.0)
    means = exact.groupby("target")["true"].transform("mean")
    assert fig_pred_vs_true.normalised_error(exact.assign(predicted=means)) == pytest.approx(1.0)


def test_pred_vs_true_titles_show_error_per_method() -> None:
    fig = fig_pred_vs_true.make(predictions_frame())
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "KernelSM (CV)\nNE of the 3 targets plotted = 0.000, RE = 0.0%"
    assert titles[1].startswith("Linear\nNE of the 3 targets plotted = ")
    assert "= 0.000," not in titles[1]


def test_pred_vs_true_prints_the_tables_ne_and_says_what_it_plots() -> None:
    """The table's NE (all targets) is the one printed as the table's; the plotted subset's NE
    is labelled as such, with how many of how many targets it plots."""
    preds = predictions_frame()
    results = pd.DataFrame([{**_result("modular-addition", {}, ("kernel_sm", "kernel_sm-aa",
                                                                  "KernelSM (CV)"), "residual",
                                       0.25), "n_targets": 18, "n_dropped": 2}])
    results["task_key"] = "modular-addition-key"
    title = fig_pred_vs_true.make(preds, results).axes[0].get_title()
    assert title == "KernelSM (CV)\ntable: NE 0.250\nplotted 3 of 20 targets: NE 0.000"


def test_c1_scatter_reports_pooled_pearson(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    loo = rng.normal(size=200)
    df = pd.DataFrame({"task": "t", "profile": "quick", "task_key": "t-1", "unit": range(200),
                       "target": 0, "loo": loo, "linear": loo, "influence": -loo})
    df.to_csv(tmp_path / "scores.csv", index=False)
    paths = figures.render_all(None, None, tmp_path / "figs", tmp_path / "scores.csv")
    assert [p.relative_to(tmp_path / "figs").as_posix() for p in paths] == [
        "c1_scatter.png", "c1_scatter/t.png"]
    titles = [ax.get_title() for ax in figures.FIGURES["c1_scatter"](df).axes]
    assert titles[0].endswith("r = 1.000") and titles[1].endswith("r = -1.000")


def test_ablation_figure_reads_recipe_and_steps() -> None:
    rows = []
    for recipe, steps, value in (("none", 500, 10.0), ("none", 1000, 100.0), ("sam", 500, 5.0)):
        params = {"train.steps": steps} | ({"train.sharpness": recipe} if recipe != "none"
                                           else {})
        rows.append({"task_params": json.dumps(params), "metric": "hessian_trace",
                     "variant": "hutchinson", "method": "model", "value": value})
    df = pd.DataFrame(rows)
    sel = fig_ablation.select(df)
    pairs = sorted(zip(sel.recipe, sel.steps, strict=True))
    assert pairs == [("none", 500), ("none", 1000), ("sam", 500)]
    assert fig_ablation.make(df).axes[0].get_yscale() == "log"


def test_the_ablation_figure_draws_each_grid_in_its_own_row() -> None:
    """The full-batch and the minibatch grids share lengths (1000, 2000) but never a line."""
    rows = []
    for extra, value in (({}, 10.0), ({"train.batch_size": 64}, 1000.0)):
        for steps in (1000, 2000):
            rows.append({"task_params": json.dumps({"train.steps": steps} | extra),
                         "metric": "hessian_trace", "variant": "hutchinson", "method": "model",
                         "value": value + steps})
    fig = fig_ablation.make(pd.DataFrame(rows))
    assert len(fig.axes) == 6
    traces = [fig.axes[0], fig.axes[3]]  # first panel of each row
    ys = [sorted(y for line in ax.get_lines() for y in line.get_ydata()) for ax in traces]
    assert sorted(ys) == [[1010.0, 2010.0], [2000.0, 3000.0]]


def test_selection_figure_draws_methods_and_baselines() -> None:
    rows = [{"task": "t", "profile": "quick", "metric": "selection", "variant": "loss@k",
             "method": m, "method_key": k, "method_label": k, "value": v}
            for m, k, v in (("kernel_sm", "ksm", 1.0), ("baseline", "random-k", 2.0),
                            ("baseline", "all-units", 0.5))]
    fig = fig_selection.make(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ksm"]
    assert len(ax.get_lines()) == 2  # random-k and all-units reference lines


def test_a_method_key_names_the_method_and_its_non_default_fields() -> None:
    assert parse_method_key("kernel_sm-7883656e") == ("kernel_sm", {})
    assert parse_method_key("param_weighted[base=trak,base_params.block_projection=layer]"
                            "-51ceefdb") == ("param_weighted", {
                                "base": "trak", "base_params.block_projection": "layer"})
    assert parse_method_key("x[groups=[1, 2],lam=0.1]-0123abcd") == (
        "x", {"groups": "[1, 2]", "lam": "0.1"})
    assert parse_method_key("random-k") == ("random-k", {})  # a baseline's key


def test_figures_select_by_method_and_key_not_by_display_label() -> None:
    """Relabelling every method of the committed tables leaves what the figures pick as is."""
    board = figures.PACKAGE_DIR.parent / "leaderboard"
    results = read_table(board / "results.csv", RESULTS)
    weights = read_table(board / "param_weights.csv")
    picks = ((weights, fig_param_weights.select),
             (results, lambda d: d[fig_regimes._of(d, fig_regimes.SURROGATES)]))
    for df, pick in picks:
        chosen = pick(df).index
        assert len(chosen) and chosen.equals(pick(df.assign(method_label="?")).index)


def test_relative_error_matches_methods_formula() -> None:
    rows = pd.DataFrame({"predicted": [1.0, 2.0], "true": [1.0, 1.0]})
    assert fig_pred_vs_true.relative_error(rows) == pytest.approx(100 * (0.5**2) / 2)


def test_param_weights_heatmap_reads_the_weights_next_to_results(csvs, tmp_path: Path) -> None:
    """``param_weights.csv`` beside ``results.csv`` draws one heatmap panel per task, groups
    in model order."""
    rows = [{"task": t, "task_key": f"{t}-k", "profile": "quick",
             "method_key": f"param_weighted[base={b.lower()}{k}]-0123abcd",
             "method_label": f"{b} + learned w", "base": b, "group": g, "weight": w}
            for t in ("modular-addition", "digits-mlp") for b in ("TracIn", "TRAK")
            for k in ("", ",granularity=tensor")
            for g, w in (("embed", 0.5), ("hidden", 1.0), ("out", 1.5))]
    results = tmp_path / "results.csv"
    pd.read_csv(csvs[0]).to_csv(results, index=False)
    pd.DataFrame(rows).to_csv(tmp_path / "param_weights.csv", index=False)
    paths = figures.render_all(results, None, tmp_path / "figs")
    assert "param_weights.png" in {p.name for p in paths}
    fig = figures.FIGURES["param_weights"](pd.DataFrame(rows))
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == ["digits-mlp [quick]",
                                                   "modular-addition [quick]"]
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == ["embed", "hidden", "out"]
    assert len(fig_param_weights.select(pd.DataFrame(rows))) == len(rows) // 2  # layers only


def test_weight_sweep_figure_rings_the_uniform_point() -> None:
    rows = [{"task": "t", "profile": "quick", "method_label": m, "lds": 0.1 * i, "ssl": -0.01 * i,
             "uniform": i == 5} for m in ("a", "b") for i in range(11)]
    fig = figures.FIGURES["weight_sweep"](pd.DataFrame(rows))
    ax = fig.axes[0]
    assert ax.get_title() == "t [quick]" and len(ax.collections) == 4  # 2 methods x (grid, ring)


def test_label_cost_figure_draws_a_line_per_source_and_a_point_per_label_free_method() -> None:
    rows = [{"task": "t", "profile": "quick", "method": name, "method_label": f"{name} x",
             "labels": src, "n_labels": m, "label_cpu_s": 0.1 * m, "fit_s": 0.01, "lds": 0.5,
             "lds_low": 0.4, "lds_high": 0.6, "ne": 1.0}
            for name in ("kernel_sm", "linear_surrogate") for src in ("retrain", "gradex")
            for m in (4, 8)]
    rows += [{"task": "t", "profile": "quick", "method": "influence", "method_label": "IF",
              "labels": "none", "n_labels": 0,
              "label_cpu_s": 0.0, "fit_s": 2.0, "lds": 0.3, "lds_low": 0.2, "lds_high": 0.4,
              "ne": 1.0}]
    fig = figures.FIGURES["label_cost"](pd.DataFrame(rows))
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["KernelSM, retrained labels", "KernelSM, GradEx labels",
                      "linear, retrained labels", "linear, GradEx labels", "IF (fit only)"]
    assert ax.get_xscale() == "log"


def test_gradex_budget_figure_rings_the_cells_own_budget() -> None:
    rows = [{"task": t, "profile": "quick", "steps": s, "cell_steps": 10, "lr": 0.003,
             "re_est": 1.0 + s, "re_lin": 0.5 + s, "w0_acc": 0.3, "mean_acc": 0.4,
             "subset_spread": 0.1, "gt_s": 1.0} for t in ("a", "b") for s in (5, 10, 20)]
    fig = figures.FIGURES["gradex_budget"](pd.DataFrame(rows))
    ax = fig.axes[0]
    assert len(ax.lines) == 5  # 2 tasks x (est, lin) + the paper's line
    rings = [c.get_offsets().tolist() for c in ax.collections]
    assert rings == [[[10.0, 11.0]], [[10.0, 11.0]]]


def _tick_labels(fig) -> list[list[str]]:
    return [[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes if ax.get_visible()]


def test_lds_bars_ignore_timestamps_costs_and_row_order():
    """Tied LDS bars are ordered by label, whatever the rows' ``created``, ``cost_s`` or order
    (``results.csv`` keeps per-row timestamps; the figure must not depend on them)."""
    from figures import fig_lds_by_method

    df = results_frame()
    df = df[df.task == "modular-addition"].copy()
    df.loc[df.metric == "lds", "value"] = 0.5  # all four methods tie
    a = df.assign(created=[f"2025-01-0{1 + i % 9}T00:00:00" for i in range(len(df))])
    b = df.iloc[::-1].assign(created=[f"2026-02-0{1 + i % 9}T00:00:00" for i in range(len(df))],
                             cost_s=np.arange(len(df), dtype=float))
    labels = [_tick_labels(fig_lds_by_method.make(x)) for x in (a, b)]
    assert labels[0] == labels[1]
    top_down = labels[0][0][::-1]
    assert top_down == sorted(top_down)


def test_regimes_figure_pairs_scratch_and_fine_tuned_rows() -> None:
    """Only families with both regimes are drawn; bars come from the rows as written."""
    rows = []
    for family, regime, re_est, lds in (("fam", "scratch", 70.0, 0.5),
                                        ("fam-ft", "fine-tuned", 8.0, 0.6),
                                        ("solo", "scratch", 1.0, 0.1)):
        common = {"task": family, "task_family": family, "task_params": "{}",
                  "profile": "quick", "regime": regime}
        rows += [{**common, "method": "gradex", "method_key": "gradex-0123abcd",
                  "method_label": "GradEx (first-order)", "metric": "relerr",
                  "variant": "est", "value": re_est},
                 {**common, "method": "kernel_sm", "method_key": "kernel_sm-0123abcd",
                  "method_label": "KernelSM (CV)", "metric": "lds",
                  "variant": "spearman", "value": lds}]
    df = pd.DataFrame(rows)
    picked = fig_regimes.select(df)
    assert set(picked.family) == {"fam"} and set(picked.regime) == {"scratch", "fine-tuned"}
    table = fig_regimes._bars(picked, "relerr", None, fig_regimes.GRADEX)
    assert table.loc["RE_est (GradEx)"].to_dict() == {"fine-tuned": 8.0, "scratch": 70.0}
    assert len(fig_regimes.make(df).axes) == 2
    assert fig_regimes.select(df[df.task_family != "fam-ft"]).empty
