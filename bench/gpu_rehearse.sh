#!/usr/bin/env bash
# The GPU machine's one call, rehearsed on this CPU (`make gpu-rehearse`; CI runs it). Issue #27.
#
# 1. A Python 3.12 environment like that machine's (bench/gpu-env.txt: JAX's CPU build, numpy,
#    scikit-learn, scipy, h5py, rich, typer, ml-dtypes; no TensorFlow, no Keras, no packaging), kept outside
#    the clone (GPU_ENV_CACHE, default ~/.cache/cifar-tui: CI's clean clones reuse it) under the hash of that
#    file, built once under a lock. Checked strict before use.
# 2. The tree copied as the device tool copies it: tracked files and untracked ones git does not ignore,
#    plus the carried bench/gpu-wheels (made by `make gpu-wheels`); refused over the tool's 64 MiB.
# 3. In the copy, with that environment's python3 first on PATH and OUT set: bash bench/gpu_launch.sh
#    --smoke --strategies scratch, the device call's command at the smoke size.
# 4. What came back under OUT checked as the tool would return it (at most 8 files, plain names), and
#    bench.gpu_summary --require-complete: every phase done, the strategy finished, every figure measured.
#
# GPU_REHEARSE_PYTHON: the Python 3.12 to use; GPU_REHEARSE_OUT: a folder to keep OUT's files in;
# GPU_REHEARSE_LIMIT_S: the launch's limit (1200 s: the smoke took 577 s on this 2-core machine at load 20).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CACHE="${GPU_ENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cifar-tui}"
ENV_DIR="$CACHE/gpu-env-$(sha256sum bench/gpu-env.txt | cut -c1-16)"
fail() { echo "gpu_rehearse: $*" >&2; exit 1; }

python312() {
  if [ -n "${GPU_REHEARSE_PYTHON:-}" ]; then echo "$GPU_REHEARSE_PYTHON"; return; fi
  local root candidate
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidate in "$root"/versions/3.12*/bin/python3 python3.12; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  return 1
}

[ -f bench/gpu-wheels/python-version ] || fail "no bench/gpu-wheels: run 'make gpu-wheels' first"
mkdir -p "$CACHE"
exec 9>"$ENV_DIR.lock"
flock 9  # one build at a time; the others wait and reuse it
if [ ! -f "$ENV_DIR/.built" ]; then
  py="$(python312)" || fail "no Python 3.12 found (pyenv's or python3.12 on PATH; or set GPU_REHEARSE_PYTHON)"
  rm -rf "$ENV_DIR"
  "$py" -m venv "$ENV_DIR"
  "$ENV_DIR/bin/python" -m pip install -q --disable-pip-version-check -r bench/gpu-env.txt
  touch "$ENV_DIR/.built"
fi
flock -u 9
for module in keras tensorflow packaging; do  # what the GPU machine lacks, or may: the check must bring it
  if "$ENV_DIR/bin/python" -c "import $module" 2>/dev/null; then
    fail "$ENV_DIR has $module: not the GPU machine's environment (delete it to rebuild it)"
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-rehearse.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree" "$work/out" "$work/tmp"
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work/tree"
cp -r bench/gpu-wheels "$work/tree/bench/"  # carry = ["bench/gpu-wheels"]
size=$(du -sb "$work/tree" | cut -f1)
[ "$size" -le $((64 * 1024 * 1024)) ] || fail "the tree that would travel is $size bytes, over the tool's 64 MiB"

status=0
(cd "$work/tree" && env -u PYTHONPATH -u KERAS_BACKEND -u KERAS_HOME PATH="$ENV_DIR/bin:$PATH" OUT="$work/out" \
  TMPDIR="$work/tmp" GPU_CHECK_LIMIT_S="${GPU_REHEARSE_LIMIT_S:-1200}" \
  bash bench/gpu_launch.sh --smoke --strategies scratch) || status=$?
if [ -n "${GPU_REHEARSE_OUT:-}" ]; then mkdir -p "$GPU_REHEARSE_OUT" && cp -r "$work/out/." "$GPU_REHEARSE_OUT/"; fi
[ "$status" = 0 ] || fail "bench/gpu_launch.sh exited $status"
files=$(find "$work/out" -type f | wc -l)
[ "$files" -le 8 ] || fail "$files files under OUT: the device tool brings back 8 at most"
bad=$(find "$work/out" -mindepth 1 | sed "s|^$work/out/||" | grep -v -E '^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}$' || true)
[ -z "$bad" ] || fail "names under OUT the device tool would not bring back: $bad"
"$ENV_DIR/bin/python" -m bench.gpu_summary "$work/out/results-gpu.json" --require-complete > /dev/null \
  || fail "the results are not complete (above)"
echo "gpu_rehearse: the device call ran end to end here: $files files under OUT, every phase complete"
