#!/usr/bin/env bash
# The GPU check of issue #14 part 4, for a machine with JAX and a GPU but no TensorFlow and no Keras.
#
# Here (with the registries):   make gpu-wheels          # Keras and the three small wheels it needs, for
#                                                        # CPython 3.12 on x86_64, into bench/gpu-wheels/
# There (offline, repo root):   bash bench/gpu_check.sh [--smoke] [--out bench/results-gpu.json]
#
# The wheels are installed into a private folder (never into the machine's own environment), and the check
# runs on the JAX backend with full-size synthetic CIFAR-10 in the genuine file format and random init.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${GPU_WHEELS:-bench/gpu-wheels}"
SITE="${GPU_SITE:-${TMPDIR:-/tmp}/cifar-tui-gpu-site}"
PY="${PYTHON:-python3}"

if ! "$PY" -c "import keras" 2>/dev/null; then
  if [ ! -d "$WHEELS" ]; then
    echo "gpu_check: no Keras here and no wheels in $WHEELS: run 'make gpu-wheels' where a registry is reachable, then carry that folder" >&2
    exit 2
  fi
  "$PY" -m pip install -q --no-index --no-deps --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax
export KERAS_HOME="${KERAS_HOME:-${TMPDIR:-/tmp}/cifar-tui-gpu-keras}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m bench.gpu_check "$@"
