"""Speed and reproducibility benchmarks (``nox -s bench``, ``nox -s reproducibility``),
writing ``leaderboard/bench.json``."""
