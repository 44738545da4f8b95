#!/bin/sh
# Issue 20's GPU checks as one run of the device tool (`run`, timeout_s <= 600), from the repo
# root; everything comes back as at most 8 files under $OUT:
#   gpu.txt, test_cuda.log (pytest -m gpu), engine_gpu.log + bench.json (entry engine_gpu),
#   paper.log, results.csv + run.json (the budgeted paper modular run), paper_store.tar.gz.
# DEVICE, PROFILE and BUDGET_S default to cuda, paper and 360 s of the run's compute; the test
# (tests/e2e/test_device_check.py) runs it on the CPU at the tiny profile.
set -u
: "${OUT:?set OUT to the folder that comes back}"
DEVICE=${DEVICE:-cuda} PROFILE=${PROFILE:-paper} BUDGET_S=${BUDGET_S:-360}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .whl ]; then  # wheels carried for packages the device image lacks
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
(nvidia-smi -L 2>&1 || echo "no nvidia-smi") > "$OUT/gpu.txt"
$PY -m pytest -q -p no:cacheprovider -m gpu tests/exact/test_cuda.py > "$OUT/test_cuda.log" 2>&1
$PY -m benchmarks.perf.engine_gpu --out "$OUT/bench.json" > "$OUT/engine_gpu.log" 2>&1
WORK=$(mktemp -d)
$PY -m benchmarks.perf.paper_gpu --profile "$PROFILE" --budget-s "$BUDGET_S" \
    --device "$DEVICE" --out "$WORK" > "$OUT/paper.log" 2>&1
cp "$WORK/results.csv" "$WORK/run.json" "$OUT/" 2>/dev/null
tar -czf "$OUT/paper_store.tar.gz" -C "$WORK" cache 2>/dev/null
ls "$OUT"
