"""Smoke test of the weight-learning benchmark (benchmarks/perf/param_weighted.py); timings
are measured by ``nox -s bench``, never asserted."""

from benchmarks.perf.param_weighted import bench_width


def test_width_sweep_reports_parameter_count_and_both_timings():
    (row,) = bench_width(widths=(8,))
    assert row["d"] == 64 * 8 + 8 + 8 * 10 + 10
    assert set(row) == {"width", "d", "ekfac_scoring_s", "learning_s", "learning_over_scoring"}
