#!/usr/bin/env bash
# The GPU check as the lent GPU machine runs it: ONE device `run` call (issue #27; docs/gpu.md).
#
#   here, first:  make gpu-wheels                  # bench/gpu-wheels/ (git-ignored: it must be carried)
#   the call:     command   = bash bench/gpu_launch.sh
#                 carry     = ["bench/gpu-wheels"]
#                 timeout_s = 300                  # a rerun still fits the 15 minutes of device time
#
# Everything comes back under $OUT (the only folder that does): results-gpu.json (rewritten after every
# phase, so a timeout still brings back what was measured), gpu-check.log (all output, unbuffered) and
# nvidia-smi.txt. The check's deadline is GPU_CHECK_LIMIT_S (280 s) after this script starts, less 20 s
# for the check to stop, write and exit; `timeout` ends it at the limit whatever happens.
# Extra arguments go to bench/gpu_check.py (the CI rehearsal passes --smoke --strategies scratch).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OUT:-}" ]; then
  echo "gpu_launch: OUT is not set (the device machine sets it to the folder that comes back)" >&2
  exit 2
fi
mkdir -p "$OUT"
LIMIT_S="${GPU_CHECK_LIMIT_S:-280}"
export PYTHONUNBUFFERED=1
started=$(date +%s)
{ nvidia-smi 2>&1 || echo "gpu_launch: nvidia-smi did not run here"; } > "$OUT/nvidia-smi.txt"
timeout -k 5 "$LIMIT_S" bash bench/gpu_check.sh --deadline-at $((started + LIMIT_S - 20)) \
  --out "$OUT/results-gpu.json" "$@" 2>&1 | tee "$OUT/gpu-check.log"
rc=${PIPESTATUS[0]}
if [ -f "$OUT/results-gpu.json" ]; then  # the figures beside the anchors, at the end of the output
  "${PYTHON:-python3}" -m bench.gpu_summary "$OUT/results-gpu.json" || true
fi
echo "gpu_launch: exit $rc after $(( $(date +%s) - started )) s (124: stopped by timeout; 3: killed at the deadline); results in $OUT"
exit $rc
