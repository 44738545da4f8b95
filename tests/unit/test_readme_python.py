"""The README's Python block runs as written (tiny profile, a cache of its own)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_python_block_runs(tmp_path):
    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    check = "\nassert len(df) and set(df.method) == {'kernel_sm', 'trak'}\nprint('ok')\n"
    proc = subprocess.run([sys.executable, "-c", block + check], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "TASKATTR_CACHE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    lds = float(proc.stdout.strip().splitlines()[-2])
    assert -1.0 <= lds <= 1.0 and proc.stdout.strip().endswith("ok")
