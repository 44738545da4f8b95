"""``python -m benchmarks.perf NAME [ARGS]``: run one speed or reproducibility benchmark.

Each benchmark is a module of this package with a ``main(argv)``; ``NAME`` is its module name
(``engine``, ``executors``, ``repro``, ...) and ``ARGS`` go to it unchanged. Without a name,
the available ones are listed with the first line of their docstrings.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> dict[str, str]:
    """Benchmark name -> the first line of its module docstring (read without importing)."""
    out = {}
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        text = (HERE / f"{info.name}.py").read_text()
        doc = text.split('"""', 2)[1].strip().splitlines()[0] if text.startswith('"""') else ""
        out[info.name] = doc
    return out


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``benchmarks.perf.NAME.main(ARGS)``; an unknown name lists the others."""
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nbenchmarks:")
        print("\n".join(f"  {n:16s} {d}" for n, d in names.items()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(f"error: unknown benchmark {name!r}. Available: {', '.join(names)}",
              file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.perf.{name}")
    sys.argv = [f"python -m benchmarks.perf {name}", *rest]
    module.main(*([rest] if _takes_argv(module.main) else []))
    return 0


def _takes_argv(fn: object) -> bool:
    import inspect

    return bool(inspect.signature(fn).parameters)


if __name__ == "__main__":
    sys.exit(main())
