"""Bring-your-own ground truth: every layout imports, round trips are exact, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.api.method import make_method
from benchmarks.api.task import make_task
from benchmarks.common.cache import cell_dir
from benchmarks.common.spec import SpecError
from benchmarks.groundtruth import transfer as gt_io
from benchmarks.groundtruth.executors import fill_ground_truth
from benchmarks.groundtruth.fill import open_store
from benchmarks.groundtruth.formats import GroundTruthFormatError
from benchmarks.groundtruth.transfer import ImportOptions
from benchmarks.runner import run_cell
from benchmarks.tasks.imported import import_gt

DATA = Path(__file__).parents[1] / "data" / "gt"
LAYOUTS = {"sample.npz": 1, "masks.csv": 1, "sample.json": 1, "modular_sample.json": 1,
           "coin_flip_train_ids_list.json": 5}


def _values(task) -> dict:
    """(metric, variant) -> value of linear_surrogate (OLS) on ``task`` (NaN as None, so that
    dicts compare equal: a filtered variant with no target kept is NaN)."""
    record = run_cell(task, open_store(task), make_method("linear_surrogate"))
    return {(r["metric"], r["variant"]): None if r["value"] != r["value"] else r["value"]
            for r in record["rows"]}


@pytest.mark.parametrize("file", sorted(LAYOUTS))
def test_every_layout_imports_and_evaluates(cache, file):
    names = import_gt(DATA / file, "byo")
    assert len(names) == LAYOUTS[file]
    task = make_task(names[-1])
    store = open_store(task)
    assert store.complete and task.K == store.rows.masks.shape[1]
    assert len(store.rows.index("loo")) == 0
    values = _values(task)
    assert np.isfinite(values[("lds", "spearman")])
    kernel = run_cell(task, store, make_method("kernel_sm", {"gamma": "auto", "lam": 0.01,
                                                              "center": False, "n_mc": 200}))
    assert kernel["rows"]
    assert run_cell(task, store, make_method("loo"))["skipped"]
    assert run_cell(task, store, make_method("influence"))["skipped"]


def test_icl_resplits_are_seeded_and_distinct(cache):
    a = import_gt(DATA / "coin_flip_train_ids_list.json", "icl", ImportOptions(splits=3))
    hashes = [gt_io.load_entry(n)["content_hash"] for n in a]
    assert len(set(hashes)) == 3
    again = import_gt(DATA / "coin_flip_train_ids_list.json", "icl", ImportOptions(splits=3))
    assert [gt_io.load_entry(n)["content_hash"] for n in again] == hashes


def _assert_same_split(a: gt_io.Split, b: gt_io.Split) -> None:
    for field in ("masks_fit", "targets_fit", "masks_eval", "targets_eval"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_round_trip_imported(cache, tmp_path):
    """import -> export -> import: identical arrays and identical metric values."""
    import_gt(DATA / "sample.npz", "first")
    first = make_task("first")
    gt_io.export_gt(first, open_store(first), tmp_path / "out", jsonl=True)
    import_gt(tmp_path / "out" / "groundtruth.npz", "second")
    _assert_same_split(gt_io.load_split(gt_io.load_entry("first")),
                       gt_io.load_split(gt_io.load_entry("second")))
    assert _values(first) == _values(make_task("second"))
    lines = (tmp_path / "out" / "rows.jsonl").read_text().splitlines()
    assert len(lines) == 20 and set(json.loads(lines[0])) == {"mask", "targets", "role"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["spec"]["params"]["content_hash"] == first.spec.params.content_hash


def test_round_trip_trained_task(cache, tmp_path):
    """Our retrained ground truth exports, re-imports bit-identically and scores the same."""
    over = {"design.n_fit": 8, "design.n_eval": 6, "train.steps": 20, "execution.batch": 16}
    fill_ground_truth(make_task("modular-quad", "tiny", over))
    ours = make_task("modular-quad", "tiny", over)
    store = open_store(ours)
    gt_io.export_gt(ours, store, tmp_path / "ours")
    import_gt(tmp_path / "ours" / "groundtruth.npz", "ours-imported")
    theirs = make_task("ours-imported", "tiny")
    s = gt_io.load_split(gt_io.load_entry("ours-imported"))
    fit, ev = store.rows.index("fit"), store.rows.index("eval")
    assert np.array_equal(s.masks_fit, store.rows.masks[fit])
    assert np.array_equal(s.targets_eval, store.array("loss")[ev])
    mine, other = _values(ours), _values(theirs)
    assert other and all(other[k] == mine[k] for k in other)
    manifest = json.loads((tmp_path / "ours" / "manifest.json").read_text())
    assert len(manifest["training_seeds"]) == len(store.rows)


def test_reimport_other_content_refused_unless_force(cache):
    import_gt(DATA / "sample.npz", "same")
    import_gt(DATA / "sample.npz", "same")  # identical content: fine
    with pytest.raises(GroundTruthFormatError, match="imported with other content"):
        import_gt(DATA / "sample.json", "same")
    import_gt(DATA / "sample.json", "same", ImportOptions(force=True))
    assert make_task("same").spec.params.source_format == "json"


def test_builtin_name_and_oracle_refused(cache):
    with pytest.raises(GroundTruthFormatError, match="built-in task"):
        import_gt(DATA / "sample.npz", "modular-quad")
    import_gt(DATA / "sample.npz", "noracle")
    task = make_task("noracle")
    with pytest.raises(SpecError, match="no oracle"):
        task.evaluate(np.ones((1, task.K), dtype=bool), [0])
    with pytest.raises(SpecError, match="no --set overrides"):
        make_task("noracle", "quick", {"train.steps": 5})


def _with_repeats(tmp_path: Path) -> Path:
    """sample.json (12 fit, 8 eval rows) with eval row 3 = fit row 3, fit row 5 = fit row 1 and
    eval row 6 = eval row 0."""
    data = json.loads((DATA / "sample.json").read_text())
    fit = [i for i, r in enumerate(data["split"]) if r == "fit"]
    ev = [i for i, r in enumerate(data["split"]) if r == "eval"]
    data["masks"][ev[3]] = data["masks"][fit[3]]
    data["masks"][fit[5]] = data["masks"][fit[1]]
    data["masks"][ev[6]] = data["masks"][ev[0]]
    path = tmp_path / "rep.json"
    path.write_text(json.dumps(data))
    return path


def test_repeated_subsets_kept_by_default_and_counted(cache, tmp_path, capsys):
    """Repeats are independent measurements: every row imported, the counts recorded."""
    import_gt(_with_repeats(tmp_path), "rep")
    entry = gt_io.load_entry("rep")
    assert (entry["n_fit"], entry["n_eval"]) == (12, 8)
    assert entry["repeats"] == {"repeated_fit": 1, "repeated_eval": 1, "fit_also_held_out": 1,
                                "dropped_fit_rows": []}
    assert "kept 3 repeated subset row(s)" in capsys.readouterr().err
    assert "repeated subsets kept: 2, fitting rows also held out: 1" in \
        gt_io.describe_entry(entry)
    assert np.isfinite(_values(make_task("rep"))[("lds", "spearman")])


def test_dedupe_drops_fitting_rows_only_and_says_which(cache, tmp_path, capsys):
    """--dedupe drops the fitting repeats (fit row 5, and fit row 3 which is held out too);
    the held-out set, its own repeat included, is exactly the file's."""
    path = _with_repeats(tmp_path)
    import_gt(path, "dd", ImportOptions(dedupe=True))
    err = capsys.readouterr().err
    assert "dropped 2 fitting row(s) [3, 5]" in err and "8 held-out rows are unchanged" in err
    entry = gt_io.load_entry("dd")
    assert (entry["n_fit"], entry["n_eval"]) == (10, 8)
    assert entry["repeats"]["dropped_fit_rows"] == [3, 5]
    import_gt(path, "kept")
    full, dd = (gt_io.load_split(gt_io.load_entry(n)) for n in ("kept", "dd"))
    assert np.array_equal(full.masks_eval, dd.masks_eval)
    assert np.array_equal(full.targets_eval, dd.targets_eval)
    assert np.array_equal(dd.masks_fit, np.delete(full.masks_fit, [3, 5], axis=0))


def test_kind_from_layout_or_flag_and_icl_group(cache):
    """The authors' layouts say what they hold; --kind overrides; re-splits form a group."""
    assert gt_io.load_entry(import_gt(DATA / "modular_sample.json", "m")[0])["kind"] == "modular"
    assert gt_io.load_entry(import_gt(DATA / "sample.npz", "g")[0])["kind"] == "generic"
    forced = import_gt(DATA / "sample.npz", "g2", ImportOptions(kind="modular"))
    assert gt_io.load_entry(forced[0])["kind"] == "modular"
    names = import_gt(DATA / "coin_flip_train_ids_list.json", "cf", ImportOptions(splits=3))
    entries = [gt_io.load_entry(n) for n in names]
    assert [(e["kind"], e["group"], e["split_index"]) for e in entries] == [
        ("icl", "cf", 0), ("icl", "cf", 1), ("icl", "cf", 2)]
    task = make_task(names[1])
    assert json.loads(task.params_json) == {"kind": "icl", "group": "cf", "split_index": 1}
    import_gt(DATA / "coin_flip_train_ids_list.json", "cf", ImportOptions(splits=2, seed=1,
                                                                          force=True))
    assert gt_io.load_entry("cf-split2") is None
    with pytest.raises(GroundTruthFormatError, match="unknown --kind"):
        import_gt(DATA / "sample.npz", "g3", ImportOptions(kind="cifar"))


def test_same_content_under_two_names_gives_identical_results(cache):
    """Method seeds derive from the imported content, not the name: CV KernelSM picks the
    same (gamma, lambda) and gives the same scores, predictions and metrics."""
    import_gt(DATA / "sample.json", "name-a")
    import_gt(DATA / "sample.json", "another-name")
    method = make_method("kernel_sm", {"n_mc": 200, "readoff": "main", "folds": 3})
    recs, outs = [], []
    for name in ("name-a", "another-name"):
        task = make_task(name)
        recs.append(run_cell(task, open_store(task), method))
        outs.append(cell_dir(task.spec.key, method.key))
    assert recs[0]["state"] == recs[1]["state"]
    for f in ("scores.npy", "predictions.npy"):
        assert np.array_equal(np.load(outs[0] / f), np.load(outs[1] / f)), f
    values = [[(r["metric"], r["variant"], r["value"]) for r in rec["rows"]] for rec in recs]
    assert str(values[0]) == str(values[1])


# ------------------------------------------------------------------- a corpus of bad inputs

def _sample() -> dict:
    return json.loads((DATA / "sample.json").read_text())


def _with(**changes) -> dict:
    data = _sample()
    data.update(changes)
    return data


def _edit(key: str, row: int, col: int, value) -> dict:
    data = _sample()
    data[key][row][col] = value
    return data


def _npz(path: Path, **arrays) -> None:
    base = dict(np.load(DATA / "sample.npz"))
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})


BAD_JSON = {
    "fewer_targets": (_with(targets=_sample()["targets"][:-1]), "20 mask rows but 19 target"),
    "non_binary": (_edit("masks", 2, 1, 2), "masks must be 0/1, found 2.0"),
    "nan": (_edit("targets", 4, 0, float("nan")), "NaN or inf"),
    "empty": (_with(masks=[], targets=[], split=[]), "expected 2-D, got shape"),
    "empty_subset": (_with(masks=[[0] * 8] + _sample()["masks"][1:]), "fit row 0 is an empty"),
    "ragged": (_edit("masks", 1, 0, [1, 1]), "ragged or non-numeric"),
    "short_split": (_with(split=_sample()["split"][:-2]), "split has 18 labels for 20"),
    "bad_label": (_with(split=["test"] + _sample()["split"][1:]), "got 'test'"),
    "no_split": ({"masks": _sample()["masks"], "targets": _sample()["targets"]},
                 "no split given"),
    "n_fit_too_big": ({"masks": _sample()["masks"], "targets": _sample()["targets"],
                       "n_fit": 20}, "--n-fit 20 must be in"),
    "n_fit_text": ({"masks": _sample()["masks"], "targets": _sample()["targets"],
                    "n_fit": "ten"}, "n_fit must be an integer, got 'ten'"),
    "n_fit_and_split": (_with(n_fit=5), "give 'split' or 'n_fit', not both"),
    "text_mask": (_edit("masks", 2, 1, "1"), "text values"),
    "few_eval": (_with(split=["fit"] * 18 + ["eval"] * 2), "need >= 2 fitting and >= 3 eval"),
    "wrong_keys": ({"rows": []}, "expected an object with 'masks'"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_refused(cache, tmp_path, case):
    data, match = BAD_JSON[case]
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GroundTruthFormatError, match=match):
        import_gt(path, "bad")
    assert gt_io.load_entry("bad") is None


def test_bad_files_refused(cache, tmp_path):
    """Truncated JSON, broken NPZ, wrong ranks and K, CSV and release-layout problems."""
    text = (DATA / "sample.json").read_text()
    cases = {"trunc.json": (text[: len(text) // 2], {}, "invalid or truncated JSON"),
             "blank.json": ("", {}, "invalid or truncated JSON"),
             "garbage.npz": ("not a zip", {}, "not a readable NPZ"),
             "k.json": (json.dumps({"train_w": [[1]]}), {"fmt": "kernelsm"}, "missing key"),
             "m.csv": ("u0,u1\n", {"n_fit": 1}, "--n-fit 1 must be in"),
             "x.txt": ("", {}, "cannot tell the format")}
    (tmp_path / "targets.csv").write_text("t0\n")
    for name, (content, opts, match) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(GroundTruthFormatError, match=match):
            import_gt(tmp_path / name, "bad", ImportOptions(**opts))
    _npz(tmp_path / "rank.npz", masks_fit=np.ones((2, 3, 4)))
    _npz(tmp_path / "kdiff.npz", masks_eval=np.ones((8, 7)))
    _npz(tmp_path / "nofit.npz", targets_fit=None)
    for name, match in (("rank.npz", "masks_fit: expected 2-D"),
                        ("kdiff.npz", "fit masks have 8 units, eval masks 7"),
                        ("nofit.npz", r"missing array\(s\) \['targets_fit'\]")):
        with pytest.raises(GroundTruthFormatError, match=match):
            import_gt(tmp_path / name, "bad")
    with pytest.raises(GroundTruthFormatError, match="no such file"):
        import_gt(tmp_path / "absent.npz", "bad")


def test_bad_icl_and_csv(cache, tmp_path):
    ids = DATA / "coin_flip_train_ids_list.json"
    with pytest.raises(GroundTruthFormatError, match="unit id 9 >= --n-units 5"):
        import_gt(ids, "bad", ImportOptions(n_units=5))
    bad = tmp_path / "x_train_ids_list.json"
    bad.write_text(json.dumps([[0, 1], [2, -1]]))
    with pytest.raises(GroundTruthFormatError, match="integers >= 0"):
        import_gt(bad, "bad")
    bad.write_text(json.dumps([[0, 1], [2, 3]]))
    with pytest.raises(GroundTruthFormatError, match="score file x_subset_scores_loss.json"):
        import_gt(bad, "bad")
    masks = pd.read_csv(DATA / "masks.csv")
    masks.drop(columns="split").to_csv(tmp_path / "masks.csv", index=False)
    pd.read_csv(DATA / "targets.csv").head(12).to_csv(tmp_path / "targets.csv", index=False)
    with pytest.raises(GroundTruthFormatError, match="20 mask rows but 12 target rows"):
        import_gt(tmp_path / "masks.csv", "bad", ImportOptions(n_fit=10))


def test_complex_targets_and_repeated_icl_ids_refused(cache, tmp_path):
    """Values that would change silently on conversion are refused, naming the file."""
    data = dict(np.load(DATA / "sample.npz"))
    data["targets_fit"] = data["targets_fit"] + 5j
    np.savez(tmp_path / "c.npz", **data)
    with pytest.raises(GroundTruthFormatError, match="complex values"):
        import_gt(tmp_path / "c.npz", "c")
    ids = json.loads((DATA / "coin_flip_train_ids_list.json").read_text())
    ids[0] = [ids[0][0], ids[0][0]] + ids[0][1:]
    (tmp_path / "r_train_ids_list.json").write_text(json.dumps(ids))
    scores = (DATA / "coin_flip_subset_scores_loss.json").read_text()
    (tmp_path / "r_subset_scores_loss.json").write_text(scores)
    with pytest.raises(GroundTruthFormatError, match="list a unit id twice"):
        import_gt(tmp_path / "r_train_ids_list.json", "r")


@pytest.mark.parametrize("name", [" ", "a b", "../x", ".hidden", "", "x/y", "é"])
def test_import_names_are_plain(cache, name):
    with pytest.raises(GroundTruthFormatError, match="invalid task name"):
        import_gt(DATA / "sample.json", name)
