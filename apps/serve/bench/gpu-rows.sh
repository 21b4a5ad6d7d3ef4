#!/usr/bin/env bash
# The GPU rows issue 15 asks for, in one device call of about seven minutes: on a machine lent through the `device`
# tool (see ../shared/GPU.md), after `npm ci && npm run build` and `bash ../shared/gpu/pack.sh` here, one `run` with
# carry [".gpu"] and the command
#
#   bash .gpu/remote.sh bash apps/serve/bench/gpu-rows.sh
#
# WebGPU is required (no silent CPU fallback). In order, each part's output in $OUT (remote.sh copies its log there):
#   1. greedy decode, batch 1, stories-15m and stories-110m (decode-bench.mjs; llama.cpp, CPU-only, is left out);
#   2. the engine's decode step at batch 1 and 16 (decode-step-bench.mjs), both presets;
#   3. the load generator, `realistic`, stories-15m, 1 / 4 / 16 / 64 clients, the default scheduler (adaptive prefill
#      first on WebGPU) beside `--prefill-first off`, then stories-110m at 1 and 16 clients.
# GPU_ROWS_SECONDS sets the seconds per load level (default 15); GPU_ROWS_QUICK=1 runs a few seconds of each part, to
# check the script on lavapipe before spending device time on it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/gpu-rows}"
mkdir -p "$out"
export ANDES_BACKEND=webgpu ANDES_REQUIRE_WEBGPU=1
quick="${GPU_ROWS_QUICK:-0}"
seconds="${GPU_ROWS_SECONDS:-15}"
steps=256
step_count=48
levels=1,4,16,64
if [ "$quick" = 1 ]; then
  seconds=3
  steps=16
  step_count=8
  levels=1,16
fi
variants="default:;off:--prefill-first off"

echo "# gpu-rows: $(date -u +%FT%TZ), seconds per level $seconds" | tee "$out/gpu-rows.md"
part() {
  echo "## $1" | tee -a "$out/gpu-rows.md"
  shift
  # A part that fails is reported and the next one still runs: device time is too short to lose the rest.
  if ! "$@" 2>&1 | grep -v 'artificially reduced' | tee -a "$out/gpu-rows.md"; then
    echo "(part failed: $*)" | tee -a "$out/gpu-rows.md"
  fi
}

part "greedy decode (decode-bench)" env DECODE_STEPS="$steps" DECODE_REPEATS=2 DECODE_LLAMA=0 node bench/decode-bench.mjs
part "engine decode step (decode-step-bench)" env STEP_PRESETS=stories-15m,stories-110m STEP_BATCHES=1,16 \
  STEP_COUNT="$step_count" STEP_TEMPERATURE=0.8 node bench/decode-step-bench.mjs
part "load, stories-15m" env BENCH_PRESET=stories-15m BENCH_SECONDS="$seconds" BENCH_LEVELS="$levels" \
  BENCH_SERVERS=andes BENCH_WORKLOADS=realistic BENCH_CLIENTS=process BENCH_ANDES_VARIANTS="$variants" \
  BENCH_JSON="$out/load-15m.json" node bench/serve-bench.mjs
part "load, stories-110m" env BENCH_PRESET=stories-110m BENCH_SECONDS="$seconds" BENCH_LEVELS=1,16 \
  BENCH_SERVERS=andes BENCH_WORKLOADS=realistic BENCH_CLIENTS=process BENCH_ANDES_VARIANTS="$variants" \
  BENCH_JSON="$out/load-110m.json" node bench/serve-bench.mjs
echo "# gpu-rows: done $(date -u +%FT%TZ)" | tee -a "$out/gpu-rows.md"
