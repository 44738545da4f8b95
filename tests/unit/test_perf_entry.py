"""``python -m benchmarks.perf NAME``: one entry point for the speed benchmarks."""

from benchmarks.perf.__main__ import available, main


def test_lists_every_benchmark_module_with_its_summary(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    names = available()
    assert {"engine", "executors", "repro", "replicate_stages"} <= set(names)
    assert all(f"  {n}" in out for n in names)


def test_an_unknown_name_lists_the_available_ones(capsys):
    assert main(["no-such-bench"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'no-such-bench'" in err and "engine" in err
