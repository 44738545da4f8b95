"""``describe`` covers stages, papers and profiles; ``profiles`` says what each is for, its
measured time (read from timings.csv, never made up) and the extras its tasks import; an
unknown name suggests the closest."""

from __future__ import annotations

import pytest

from benchmarks import catalogue
from benchmarks.__main__ import main
from benchmarks.api.registry import METHODS, PAPERS, UnknownNameError


@pytest.mark.parametrize("name, words", [
    ("hessian_trace", ("stage hessian_trace:", "probes")),
    ("agreement", ("stage agreement:", "leaderboard columns:")),
    ("kernelsm", ("paper kernelsm:", "tiny:", "quick:", "paper:", "cells on", "stages:")),
    ("tiny", ("profile tiny:", "seconds", "must still learn", "replicate runs")),
])
def test_describe_covers_stages_papers_and_profiles(capsys, name, words):
    assert main(["describe", name]) == 0
    out = capsys.readouterr().out
    assert all(w in out for w in words), out


def test_profiles_states_purpose_time_and_extras(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert [ln.split(":")[0] for ln in out.splitlines() if ln.startswith("profile ")] == [
        "profile tiny", "profile quick", "profile paper"]
    assert "GPU or a cluster" in out and "2-core" in out and "time: " in out
    assert "icl (pip install -e '.[icl]'): icl-coin-flip" in " ".join(out.split())
    assert "mt10" in out.split("rl (pip install -e '.[rl]')")[1]
    assert max(len(ln) for ln in out.splitlines()) <= 100


def test_measured_time_is_read_from_the_timings_file(tmp_path):
    path = tmp_path / "timings.csv"
    path.write_text("task,stage,kind,wall_s,cpu_s,profile,cache\n"
                    "a,ground truth,ground truth,5400,1,quick,cold\nb,x,x,1800,1,quick,cold\n"
                    "b,x,x,60,1,quick,warm\nc,x,x,99,1,tiny,cold\n")
    assert catalogue.measured_time("quick", path).startswith("2.00 h wall-clock (120 min)")
    assert "2 cold quick rows" in catalogue.measured_time("quick", path)  # not the warm one
    assert "not measured" in catalogue.measured_time("paper", path)
    assert "not measured" in catalogue.measured_time("quick", tmp_path / "absent.csv")


def test_task_extras_come_from_the_imports_of_the_task_code():
    extras = catalogue.task_extras(["icl-coin-flip", "mt10", "modular-addition"], "tiny")
    assert extras == {"icl": ["icl-coin-flip"], "rl": ["mt10"]}


def test_an_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError) as err:
        METHODS.get("kernel_smm")
    text = str(err.value)
    assert "Did you mean 'kernel_sm'?" in text and "Available:" in text
    with pytest.raises(UnknownNameError, match="Did you mean 'kernelsm'"):
        PAPERS.get("kernelms")
    with pytest.raises(UnknownNameError) as err:
        METHODS.get("zzzzzz")
    assert "Did you mean" not in str(err.value)


def test_describe_an_unknown_name_suggests_among_every_kind(capsys):
    assert main(["describe", "hesian_trace"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'hessian_trace'" in err and err.count("\n") == 1


def test_list_reads_the_catalogue_its_code_saved(cache, monkeypatch):
    """``list`` builds the catalogue once per code hash and then reads it without the
    registries; a damaged saved file is rebuilt, and the saved entries equal the live ones."""
    live = catalogue.catalogue()
    assert catalogue.catalogue(cached=True) == live
    saved = list((cache / catalogue.CATALOGUE).glob("*.json"))
    assert [p.stem for p in saved] == [catalogue.code_hash()]

    def refuse(kinds):
        raise AssertionError("rebuilt although a saved catalogue exists")

    monkeypatch.setattr(catalogue, "_built", refuse)
    assert catalogue.catalogue("methods", cached=True) == {"methods": live["methods"]}
    saved[0].write_text("{not json")
    monkeypatch.undo()
    monkeypatch.setenv("TASKATTR_CACHE", str(cache))
    assert catalogue.catalogue(cached=True) == live


def test_list_ignores_a_catalogue_of_other_code(cache, monkeypatch):
    """A catalogue saved by other code (another code hash) is not read."""
    (cache / catalogue.CATALOGUE).mkdir()
    (cache / catalogue.CATALOGUE / "0123456789abcdef.json").write_text(
        '{"methods": {"ghost": "x"}, "tasks": {}, "metrics": {}, "stages": {}, "papers": {}}')
    assert "ghost" not in catalogue.catalogue("methods", cached=True)["methods"]
