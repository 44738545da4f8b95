"""The papers' cells: every method row of a cell has its own key and its own label; papers are
tables whose cells ``replicate`` joins by (task, variant); each paper's claims are its own."""

import pandas as pd
import pytest

from benchmarks.api.claims import Noise
from benchmarks.api.method import make_method
from benchmarks.api.paper import merge
from benchmarks.api.registry import PAPERS
from benchmarks.common.schema import RESULTS
from benchmarks.common.tables import read_table
from benchmarks.papers import param_weighting
from benchmarks.replicate import plan, selected_papers
from leaderboard.build import LEADERBOARD_DIR


@pytest.mark.parametrize("profile", ["tiny", "quick"])
def test_method_rows_have_distinct_keys_and_labels(profile):
    for cell in merge([c for n in PAPERS.names() for c in PAPERS.get(n)().cells(profile)]):
        methods = [make_method(n, p) for n, p in cell.methods]
        labels = [m.display for m in methods]
        assert len(set(labels)) == len(labels), (cell.task, cell.overrides, labels)
        assert len({m.key for m in methods}) == len(methods)


def test_replicate_joins_the_papers_cells_so_each_ground_truth_trains_once():
    both = plan("quick", None, selected_papers(None))
    where = [(name, tuple(sorted(c.overrides.items()))) for name, c in both]
    assert len(set(where)) == len(where)
    weighted = {name for name, c in both if any(n == "param_weighted" for n, _ in c.methods)}
    assert "modular-addition" in weighted and "icl-coin-flip" not in weighted
    alone = plan("quick", None, selected_papers(["kernelsm"]))
    assert not any(n == "param_weighted" for _, c in alone for n, _ in c.methods)
    pw_only = plan("quick", None, selected_papers(["param-weighting"]))
    assert {name for name, _ in pw_only} == weighted


def test_each_paper_claims_only_its_own_checks():
    """``--paper kernelsm`` makes no C8 rows; ``--paper param-weighting`` makes only them."""
    results = read_table(LEADERBOARD_DIR / "results.csv", RESULTS)
    kernelsm = PAPERS.get("kernelsm")().claims(results, "quick", Noise())
    weighting = PAPERS.get("param-weighting")().claims(results, "quick", Noise())
    assert kernelsm and not any(r.claim.startswith("C8") for r in kernelsm)
    assert weighting and all(r.claim.startswith("C8") for r in weighting)


def test_c8_compares_each_base_with_its_learned_weights():
    """C8 rows pair each base method's LDS with its weighted row; a weighted variant that ran
    without its base row is shown as missing; where the variant did not run there is no row."""
    def row(name, params, value):
        return {"method_key": make_method(name, params).key, "metric": "lds",
                "variant": "spearman", "value": value}

    (b, p), (w, q) = param_weighting.BASES[0], param_weighting.WEIGHTED[0]
    w2, q2 = param_weighting.WEIGHTED[1]
    b3, p3 = param_weighting.BASES[2]
    df = pd.DataFrame([row(b, p, 0.30), row(w, q, 0.35), row(w2, q2, 0.2), row(b3, p3, 0.1)])
    df["ci_low"], df["ci_high"] = df.value - 0.005, df.value + 0.005
    rows = param_weighting.c8_rows(df, "t", Noise())
    assert len(rows) == 2 and rows[0].outcome == "holds" and "0.300 → 0.350" in rows[0].ours
    assert rows[1].outcome == "missing" and rows[1].ours == "missing → 0.200"
    assert rows[0].margin == pytest.approx(0.03) and rows[0].noise == pytest.approx(0.005)
    df.loc[1, ["value", "ci_low", "ci_high"]] = 0.31, 0.305, 0.315
    assert param_weighting.c8_rows(df, "t", Noise())[0].outcome == "fails"
    noisy = Noise({"lds/spearman": 0.02})  # a measured machine spread larger than the CIs
    assert param_weighting.c8_rows(df, "t", noisy)[0].outcome == "within noise"



def test_an_opt_in_paper_runs_only_when_named():
    """The overlap dial (opt-in: measured to carry no evidence at quick scale) is outside the
    default job and exactly the overlap cells when named, with the same methods as before."""
    default = [n for n, _ in selected_papers(None)]
    assert "overlap-dial" not in default and "kernelsm" in default
    assert not any("params.overlap" in c.overrides for _, c in plan("quick", None,
                                                                      selected_papers(None)))
    cells = plan("quick", None, selected_papers(["overlap-dial"]))
    assert [c.overrides["params.overlap"] for _, c in cells] == [0.25, 0.5, 0.75]
    kernelsm = PAPERS.get("kernelsm")().cells("quick")
    base = next(c for c in kernelsm if c.task == "modular-addition" and not c.overrides)
    assert {n for n, _ in cells[0][1].methods} <= {n for n, _ in base.methods}


def test_the_default_jobs_labels_are_those_its_tasks_show():
    """``default_labels`` (the wall-clock's default job) names each default cell as its task's
    ``label`` does, and no opt-in cell."""
    from benchmarks.api.task import make_task
    from benchmarks.replicate import default_labels

    labels = default_labels("quick")
    assert "modular-addition[block=7]" in labels and "mt10" in labels
    assert not any("overlap=" in label for label in labels)
    name, cell = next((n, c) for n, c in plan("quick", None, selected_papers(None))
                      if "params.block" in c.overrides)
    assert make_task(name, "quick", cell.overrides).label in labels
