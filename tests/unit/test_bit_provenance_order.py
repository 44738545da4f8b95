"""The bit provenance a store records does not depend on which libraries happened to be
imported first: scipy (whose BLAS the fits use) is imported lazily by the plug-ins, yet its
BLAS is listed either way, so a store is not reported as built by other libraries."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
import benchmarks
if sys.argv[1] == "scipy-first":
    import scipy.linalg, scipy.stats
from benchmarks.common import provenance
print(json.dumps(provenance._cpu_bits()["numpy_blas"]))
"""


def _blas(order: str) -> list:
    out = subprocess.run([sys.executable, "-c", CODE, order], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_blas_list_is_the_same_whatever_was_imported_first():
    assert _blas("lazy") == _blas("scipy-first")
