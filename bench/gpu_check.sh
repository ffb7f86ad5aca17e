#!/usr/bin/env bash
# The GPU check (issues #14 part 4, #27), for a machine with JAX but no TensorFlow and no Keras.
#
# Here (with the registries):   make gpu-wheels          # Keras and every wheel `import keras` needs beyond
#                                                        # jax/numpy/h5py/rich/ml-dtypes, for CPython 3.12
#                                                        # on x86_64, into bench/gpu-wheels/
# There (offline, repo root):   bash bench/gpu_launch.sh # the one device call: docs/gpu.md
#                               bash bench/gpu_check.sh [--smoke] [--out FILE] [--budget-s S]  # the check alone
#
# With wheels made for this Python (bench/gpu-wheels/python-version), they are installed into a private
# folder (never into the machine's own environment) and imported before anything installed: the check
# runs on the Keras it brings. Without, it needs a Python whose Keras imports (the project's .venv).
# It runs on the JAX backend with full-size synthetic CIFAR-10 in the genuine file format and random init.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${GPU_WHEELS:-bench/gpu-wheels}"
SITE="${GPU_SITE:-${TMPDIR:-/tmp}/cifar-tui-gpu-site}"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1

if ! command -v "$PY" >/dev/null 2>&1; then
  echo "gpu_check: no Python at '$PY' (set PYTHON)" >&2
  exit 2
fi
here="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
made_for="$(cat "$WHEELS/python-version" 2>/dev/null || true)"
if [ -n "$made_for" ] && [ "$made_for" = "$here" ]; then
  rm -rf "$SITE"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  source="the wheels in $WHEELS"
elif "$PY" -c "import keras" 2>/dev/null; then
  source="this Python's own"
elif [ -n "$made_for" ]; then
  echo "gpu_check: the wheels in $WHEELS are for Python $made_for, this is $here: run 'make gpu-wheels' for it" >&2
  exit 2
else
  echo "gpu_check: no Keras here and no wheels in $WHEELS: run 'make gpu-wheels' where a registry is reachable, then carry that folder" >&2
  exit 2
fi
export KERAS_BACKEND=jax
export KERAS_HOME="${KERAS_HOME:-${TMPDIR:-/tmp}/cifar-tui-gpu-keras}"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the package (src/, not installed there) and bench/
if [ "$source" != "this Python's own" ] && ! error="$("$PY" -c "import keras" 2>&1)"; then
  echo "gpu_check: 'import keras' fails with $source: $(printf '%s\n' "$error" | tail -n 1)" >&2
  exit 2
fi
exec "$PY" -m bench.gpu_check "$@"
