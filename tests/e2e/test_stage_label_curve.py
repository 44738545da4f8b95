"""The label-curve stage on a tiny cell, checked against draws recomputed here: the fitting rows
from the seed rule, a ridge fit and Spearman by scipy, the paper-n probabilities by count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeCV

from benchmarks.api.context import Context, LabelSet
from benchmarks.api.method import make_method
from benchmarks.api.stage import CellInputs, run_cached
from benchmarks.common.spec import derive_seed
from benchmarks.runner import run_cell
from benchmarks.stages.label_curve import (
    CLAIM_COLUMNS,
    CLAIM_CSV,
    COLUMNS,
    CSV,
    KERNEL,
    MINNORM,
    RIDGE,
    LabelCurve,
)
from methods.linear_surrogate import RIDGE_GRID

# tiny modular addition: K = 9, 12 fitting and 8 evaluation subsets, so n = 0.8K = 7 and the
# pool; the paper's n = 1.6K = 14 exceeds the pool, so the test's paper-sized experiment is
# n = 0.8K on 5 held-out subsets
STAGE = LabelCurve(paper_ratio=0.8, paper_heldout=5, paper_draws=12)
N, HELDOUT = 7, 5


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """(task, store, the ridge and KernelSM (CV) records) of tiny modular addition in a cache
    of the module's own."""
    from benchmarks.api.task import make_task
    from benchmarks.groundtruth.fill import open_store, run_ground_truth

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKATTR_CACHE", str(tmp_path_factory.mktemp("tiny-curve")))
        task = make_task("modular-addition", "tiny")
        store = open_store(task)
        run_ground_truth(task, store, progress=False)
        yield task, store, tuple(run_cell(task, store, make_method(*m)) for m in (RIDGE, KERNEL))


@pytest.fixture(scope="module")
def output(cell):
    task, store, record = cell
    out = STAGE.run(CellInputs(task, store, (RIDGE, KERNEL), record))
    return out, {t.name: t for t in out.tables}


def _draw(key: str, n: int, draw: int, pool: int) -> np.ndarray:
    """The seed rule, restated: sorted positions among the pool's fitting rows."""
    rng = np.random.default_rng(derive_seed(key, f"label_curve/{n}/{draw}"))
    return np.sort(rng.choice(pool, size=n, replace=False))


def _heldout(key: str, draw: int, m_eval: int) -> np.ndarray:
    rng = np.random.default_rng(derive_seed(key, f"label_curve/heldout/{HELDOUT}/{draw}"))
    return np.sort(rng.choice(m_eval, size=HELDOUT, replace=False))


def _data(store, task) -> tuple[np.ndarray, ...]:
    """Fitting masks (12, K) and F (12, n_t), evaluation masks (8, K) and F (8, n_t)."""
    fit, ev = store.rows.index("fit"), store.rows.index("eval")
    return (store.rows.masks[fit], store.mean(task.primary, "fit"), store.rows.masks[ev],
            store.mean(task.primary, "eval"))


def _ridge(S: np.ndarray, Y: np.ndarray, masks: np.ndarray) -> np.ndarray:
    model = RidgeCV(alphas=RIDGE_GRID, fit_intercept=True).fit(S.astype(float), Y)
    return model.predict(masks.astype(float)).reshape(len(masks), -1)


def _lds(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean over targets with non-constant truth of scipy's Spearman."""
    rho = [spearmanr(pred[:, t], true[:, t]).statistic for t in range(true.shape[1])
           if np.ptp(true[:, t]) > 0]
    return float(np.mean(rho))


def _ne(pred: np.ndarray, true: np.ndarray) -> float:
    keep = np.ptp(true, axis=0) > 0
    err = ((pred - true) ** 2).sum(0) / ((true - true.mean(0)) ** 2).sum(0)
    return float(err[keep].mean())


def test_the_table_has_every_method_and_count(cell, output):
    task, store, _ = cell
    tables = output[1]
    frame = tables[CSV].frame
    assert tuple(frame.columns) == COLUMNS and tables[CSV].group == ("task_key", "profile")
    assert tables[CSV].key == ("task_key", "profile", "method_key", "n")
    assert len(frame) == 4 * 2 and set(frame.method_key) == {
        make_method(*m).key for m in STAGE.surrogates}
    assert set(zip(frame.n, frame.draws, strict=True)) == {(N, 5), (12, 1)}  # pool: 1 draw
    assert (frame.loc[frame.n == 12, ["lds_sd", "ne_sd"]] == 0).all().all()
    assert np.allclose(frame.n_over_K, frame.n / 9) and set(frame.K) == {task.K}
    for col in ("lds_mean", "lds_sd", "ne_mean", "ne_sd"):
        assert np.isfinite(frame[col].to_numpy(float)).all(), col


def test_a_ridge_point_is_the_hand_computed_mean_over_the_same_draws(cell, output):
    """Same fitting rows (the seed rule), same held-out rows (all), scipy's Spearman."""
    task, store, _ = cell
    S, Y, E, F = _data(store, task)
    lds, ne = [], []
    for d in range(5):
        pos = _draw(task.seed_key, N, d, len(S))
        pred = _ridge(S[pos], Y[pos], E)
        lds.append(_lds(pred, F))
        ne.append(_ne(pred, F))
    frame = output[1][CSV].frame
    row = frame[(frame.method_key == make_method(*RIDGE).key) & (frame.n == N)].iloc[0]
    assert row.lds_mean == pytest.approx(np.mean(lds), abs=1e-10)
    assert row.lds_sd == pytest.approx(np.std(lds, ddof=1), abs=1e-10)
    assert row.ne_mean == pytest.approx(np.mean(ne), rel=1e-9)
    assert row.ne_sd == pytest.approx(np.std(ne, ddof=1), rel=1e-9)


@pytest.mark.parametrize("i, method", [(0, RIDGE), (1, KERNEL)])
def test_the_whole_pool_is_the_cells_own_fit(cell, output, i, method):
    """The pool's one draw is the runner's fit (its rows, its seed): the cell's LDS and NE."""
    frame = output[1][CSV].frame
    row = frame[(frame.method_key == make_method(*method).key) & (frame.n == 12)].iloc[0]
    rows = {(r["metric"], r["variant"]): r["value"] for r in cell[2][i]["rows"]}
    assert row.lds_mean == rows[("lds", "spearman")]
    assert row.ne_mean == rows[("residual", "ne")]


def test_the_paper_sized_probabilities_are_a_direct_count(cell, output):
    task, store, _ = cell
    S, Y, E, F = _data(store, task)
    kernel = make_method(*KERNEL)
    seed = derive_seed(task.seed_key, kernel.key)
    hits = {"ridge": np.zeros(2), "minnorm": np.zeros(2)}
    for d in range(STAGE.paper_draws):
        pos, rows = _draw(task.seed_key, N, d, len(S)), _heldout(task.seed_key, d, len(E))
        fitted = kernel.fit(Context(task, seed, LabelSet(S[pos], Y[pos], 0.0)))
        k = kernel.predict(fitted, E[rows])
        beta = np.linalg.lstsq(S[pos].astype(float), Y[pos], rcond=None)[0]
        preds = {"ridge": _ridge(S[pos], Y[pos], E[rows]), "minnorm": E[rows] @ beta}
        for b, pred in preds.items():
            hits[b] += (_lds(k, F[rows]) - _lds(pred, F[rows]) > STAGE.c2_gap,
                        _ne(k, F[rows]) / _ne(pred, F[rows]) <= STAGE.c3_ratio)
    claim = output[1][CLAIM_CSV]
    frame = claim.frame
    assert tuple(frame.columns) == CLAIM_COLUMNS and len(frame) == 2
    assert set(frame.n) == {N} and set(frame.heldout) == {HELDOUT} and set(frame.draws) == {12}
    for b, h in zip((RIDGE, MINNORM), hits.values(), strict=True):
        row = frame[frame.baseline == make_method(*b).key].iloc[0]
        assert (row.p_c2, row.p_c3) == (h[0] / 12, h[1] / 12), b


def test_results_rows_carry_mean_and_sd_per_method_and_count(cell, output):
    task, _, _ = cell
    rows, frame = output[0].rows, output[1][CSV].frame
    assert len(rows) == 2 * len(frame) and {r["metric"] for r in rows} == {"label_curve"}
    for r in rows:
        point = frame[(frame.method_key == r["method_key"])
                      & (frame.n == int(r["split"].removeprefix("n=")))].iloc[0]
        mean, sd = point[f"{r['variant']}_mean"], point[f"{r['variant']}_sd"]
        assert (r["value"], r["ci_low"], r["ci_high"]) == (mean, mean - sd, mean + sd)
        assert r["n_labels"] == point.n and r["higher_is_better"] == (r["variant"] == "lds")
        assert r["task_key"] == task.spec.key and r["method_label"] == point.method_label


def test_a_warm_rerun_reads_the_cached_output(cell, monkeypatch):
    """The default paper-sized n (1.6K = 14) exceeds tiny's pool: no probability table."""
    task, store, records = cell
    inputs = CellInputs(task, store, (RIDGE, KERNEL), records)
    stage = LabelCurve(surrogates=(RIDGE,), draws=2)
    cold = run_cached(stage, inputs)
    monkeypatch.setattr(LabelCurve, "run", lambda self, c: pytest.fail("not cached"))
    warm = run_cached(stage, inputs)
    assert [t.name for t in cold.tables] == [CSV] and warm.rows == cold.rows
    assert warm.tables[0].frame.equals(cold.tables[0].frame)


def test_a_larger_pool_grows_the_cells_store_and_keeps_its_subsets(cell):
    """``pool``: a variant store whose evaluation and first fitting subsets are the cell's."""
    from benchmarks.stages.label_curve import grown

    task, store, records = cell
    variant, grown_store = grown(task, 20, 1)
    assert variant.spec.key != task.spec.key and variant.label == task.label
    S, Y, E, F = _data(store, task)
    S2, Y2, E2, F2 = _data(grown_store, variant)
    assert len(S2) == 20 and np.array_equal(S2[:12], S) and np.array_equal(E2, E)
    # trained alike: a batched chunk's composition may move the last bits (quick fine-tuned
    # modular addition: evaluation values bit-equal, the cell's last chunk's fits 3e-6 apart)
    assert np.allclose(F2, F, rtol=0, atol=1e-5) and np.allclose(Y2[:12], Y, rtol=0, atol=1e-5)
    out = LabelCurve(surrogates=(RIDGE,), draws=2, pool=20).run(
        CellInputs(task, store, (RIDGE, KERNEL), records))
    frame = out.tables[0].frame
    assert set(frame.pool) == {20} and list(frame.n) == [N, 14, 20]
    assert set(frame.task_key) == {task.spec.key}  # the cell's rows, from the grown pool
    assert grown(task, 10, 1) is None  # no larger than the cell's own pool
