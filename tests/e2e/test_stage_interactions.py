"""The interactions stage: an exactly additive F has no interaction share, a planted pairwise
interaction a clear one, seed noise is measured, and on a real tiny cell the gap at every
fitting row is the cell's own KernelSM - ridge LDS."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.api.method import make_method
from benchmarks.api.registry import TASKS
from benchmarks.api.stage import CellInputs, run_cached
from benchmarks.api.task import Task, make_task, register_family
from benchmarks.common.spec import SubsetDesign, TaskSpec, TrainSpec, derive_seed
from benchmarks.groundtruth.fill import open_store, run_ground_truth
from benchmarks.runner import run_cell
from benchmarks.stages.interactions import (
    COLUMNS,
    CSV,
    KERNEL,
    RIDGE,
    Interactions,
    heldout_r2,
    noise_share,
    pair_products,
    pairwise_predict,
)
from benchmarks.stages.resplits import file_lds

K, T = 8, 2
MAIN = np.linspace(-1.0, 2.0, K * T).reshape(K, T)  # (K, n_targets)
PAIRS = ((0, 1, 4.0), (2, 3, -4.0), (4, 5, 3.0))  # planted s_i s_j terms (i, j, weight)
NOISE_SD = 0.3


class Formula(Task):
    """F(S) = S @ MAIN (+ planted pairs) (+ seed noise): no training, a known truth."""

    engine = "loop"
    pairs: tuple = ()
    noise: float = 0.0

    @property
    def membership(self) -> np.ndarray:
        return np.eye(K, dtype=bool)

    @property
    def n_targets(self) -> int:
        return T

    def evaluate(self, masks, seeds, engine="loop"):  # (B, K) -> {loss: (B, T)}
        S = masks.astype(float)
        F = S @ MAIN + sum(w * S[:, [i]] * S[:, [j]] for i, j, w in self.pairs)
        return {"loss": F + np.stack([self._noise(s, m) for s, m in
                                     zip(seeds, masks, strict=True)])}

    def _noise(self, seed: int, mask: np.ndarray) -> np.ndarray:
        """A seed's offset shared by every subset (no noise across subsets) plus noise of
        this (seed, subset): only the second is seed noise in F's across-subset variance."""
        shared = np.random.default_rng(seed).normal(0, 5 * self.noise, T)
        own = np.random.default_rng([seed, *mask.astype(int)]).normal(0, self.noise, T)
        return shared + own


class Additive(Formula):
    pass


class Pairwise(Formula):
    pairs = PAIRS


class Noisy(Formula):
    noise = NOISE_SD


def _register(name: str, cls: type[Task], seeds: int) -> None:
    def spec(profile: str) -> TaskSpec:
        design = SubsetDesign(sampler="bernoulli", alpha=0.5, n_fit=48, n_eval=32,
                              n_seeds=seeds, loo=False)
        return TaskSpec(name, {}, TrainSpec(), design, profile)

    if name not in TASKS.names():
        register_family(name, cls, spec, f"{name}: a formula F (interactions test)")


_register("interact-additive", Additive, 1)
_register("interact-pairwise", Pairwise, 1)
_register("interact-noisy", Noisy, 2)


def _frame(name: str):
    task = make_task(name, "tiny")
    store = open_store(task)
    run_ground_truth(task, store, progress=False)
    records = tuple(run_cell(task, store, make_method(*m)) for m in (KERNEL, RIDGE))
    out = Interactions().run(CellInputs(task, store, (KERNEL, RIDGE), records))
    (table,) = out.tables
    return task, records, table


def test_an_additive_f_has_no_interaction_share(cache):
    task, _, table = _frame("interact-additive")
    frame = table.frame
    assert table.name == CSV and table.key == ("task_key", "profile", "n")
    assert tuple(frame.columns) == COLUMNS
    assert list(frame.n) == [2 * K, 48] and set(frame.regime) == {"scratch"}
    assert (frame.r2_additive > 0.99).all(), frame
    assert (frame.interaction_share.abs() < 0.02).all(), frame
    assert frame.noise_share.isna().all()  # one seed and distinct subsets: not measurable


def _planted_share() -> float:
    """The interaction share of ``PAIRS`` under Bernoulli(1/2) subsets: ``s_i s_j`` is additive
    but for ``(s_i - 1/2)(s_j - 1/2)`` (variance 1/16), orthogonal to every main effect."""
    main = MAIN.copy()
    for i, j, w in PAIRS:
        main[[i, j]] += w / 2
    pure = sum(w**2 / 16 for _, _, w in PAIRS)
    return float(np.mean(pure / ((main**2).sum(0) / 4 + pure)))


def test_a_planted_pairwise_interaction_shows(cache):
    _, _, table = _frame("interact-pairwise")
    frame = table.frame.set_index("n")
    assert frame.loc[48, "r2_pairwise"] > 0.99 and frame.loc[48, "r2_kernel"] > 0.95, frame
    assert frame.loc[48, "interaction_share"] == pytest.approx(_planted_share(), abs=0.1)
    assert (frame.interaction_share > 0.1).all(), frame


def test_seed_noise_is_measured_from_seed_pairs(cache):
    task, _, table = _frame("interact-noisy")
    store = open_store(task)
    rows = np.concatenate([store.rows.index("fit"), store.rows.index("eval")])
    F = store.rows.masks[rows].astype(float) @ MAIN  # (m, T): the noise-free truth
    noise = NOISE_SD**2 / 2  # the variance of a two-seed mean's noise
    expected = np.mean(noise / (F.var(0, ddof=1) + noise))
    assert table.frame.noise_share.iloc[0] == pytest.approx(expected, rel=0.35)
    assert 0 < table.frame.noise_share.iloc[0] < 0.2


def test_noise_share_formula_on_known_arrays():
    rng = np.random.default_rng(0)
    m, R = 4000, 3
    signal = rng.normal(0, 1.0, (m, 1, T))
    values = signal + rng.normal(0, 0.5, (m, R, T))  # noise var 0.25, of the mean 0.25 / 3
    masks = np.arange(m)[:, None] >> np.arange(12) & 1  # (m, 12) distinct subsets
    expected = (0.25 / R) / (1.0 + 0.25 / R)
    assert noise_share(values, masks.astype(bool)) == pytest.approx(expected, rel=0.05)
    assert np.isnan(noise_share(values[:, :1], masks.astype(bool)))  # one seed, no repeats
    twice = np.concatenate([masks, masks]).astype(bool)  # repeated subsets, one seed each
    rep = np.concatenate([signal, signal]) + rng.normal(0, 0.5, (2 * m, 1, T))
    assert noise_share(rep, twice) == pytest.approx(0.25 / (1.0 + 0.25), rel=0.05)


def test_r2_and_pair_products():
    truth = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])  # the second target is constant
    assert heldout_r2(truth, truth) == 1.0
    assert heldout_r2(np.zeros_like(truth) + 1.0, truth) == 0.0  # the mean: R^2 = 0
    masks = np.array([[1, 1, 0], [1, 0, 1]], dtype=bool)
    assert pair_products(masks).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_the_pairwise_ridge_is_sklearns_on_the_explicit_products():
    """The dual (n x n Gram) form gives RidgeCV's penalty and predictions on the K^2 / 2
    product columns, and the scale chosen is the one with RidgeCV's best LOO score."""
    from sklearn.linear_model import RidgeCV

    from methods.linear_surrogate import RIDGE_GRID

    rng = np.random.default_rng(1)
    S, S_eval = rng.random((40, 10)) < 0.5, rng.random((15, 10)) < 0.5
    Y = S @ rng.normal(size=(10, 3)) + 2.0 * (S[:, :1] & S[:, 1:2]) + rng.normal(0, 0.5, (40, 3))
    fits = {}
    for c in (0.0, 0.3, 1.0):
        X = np.hstack([S, c * pair_products(S)])
        fits[c] = RidgeCV(alphas=RIDGE_GRID).fit(X, Y)
        ours = pairwise_predict(S, Y, S_eval, (c,))
        want = fits[c].predict(np.hstack([S_eval, c * pair_products(S_eval)]))
        assert np.abs(ours - want).max() < 1e-10
    best = max(fits, key=lambda c: fits[c].best_score_)
    assert np.array_equal(pairwise_predict(S, Y, S_eval, (0.0, 0.3, 1.0)),
                          pairwise_predict(S, Y, S_eval, (best,)))


def test_the_draw_at_2k_is_seeded_by_the_content_key(cache):
    _, _, a = _frame("interact-pairwise")
    _, _, b = _frame("interact-pairwise")
    assert a.frame.equals(b.frame)
    assert derive_seed("x", "interactions", 16) != derive_seed("y", "interactions", 16)


def test_a_tiny_cell_gap_at_every_row_is_its_own_result_rows(tiny_addition):
    task, store = tiny_addition
    records = tuple(run_cell(task, store, make_method(*m)) for m in (KERNEL, RIDGE))
    cell = CellInputs(task, store, (KERNEL, RIDGE), records)
    stage = Interactions()
    frame = run_cached(stage, cell).tables[0].frame
    assert run_cached(stage, cell).tables[0].frame.equals(frame)  # the saved output
    last = frame[frame.n == len(store.rows.index("fit"))].iloc[0]
    assert last.lds_gap == file_lds(records[0]) - file_lds(records[1])
    alone = stage.run(CellInputs(task, store, (), ()))  # no records: computed here
    assert alone.tables[0].frame.lds_gap.iloc[-1] == pytest.approx(last.lds_gap, abs=1e-12)
    for col in ("r2_additive", "r2_pairwise", "r2_kernel", "noise_share"):
        assert np.isfinite(frame[col]).all(), col


def test_registered_and_drawn_from_its_table(cache, tmp_path):
    import pandas as pd

    from benchmarks.api.registry import STAGES
    from figures import fig_interactions, render_all

    assert "interactions" in STAGES.names()
    frames = [_frame(name)[2].frame for name in ("interact-additive", "interact-pairwise")]
    pd.concat(frames).to_csv(tmp_path / "interactions.csv", index=False)
    shown = fig_interactions.select(pd.read_csv(tmp_path / "interactions.csv"))
    assert sorted(shown.panel.unique()) == sorted(fig_interactions.PANELS) and len(shown) == 4
    paths = render_all(tmp_path / "results.csv", None, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in paths] == [
        "interactions.png", "interactions/interact-additive.png",
        "interactions/interact-pairwise.png"]  # the suite figure, then one panel per task
    assert (tmp_path / "out" / "interactions.png").read_bytes()[:4] == b"\x89PNG"
