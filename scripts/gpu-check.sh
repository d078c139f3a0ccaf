#!/usr/bin/env bash
# Everything a GPU session should run, in one device call, with its logs under
# $OUT: a smoke check (seconds), the GPU test suite (every CUDA kernel against
# the CPU), the SRU benchmark's full grid and the DEER benchmark's quick one on
# the GPU, where a DEER forward's time goes (scripts/deer-profile.js), then
# compute-sanitizer over small cases of every kernel family.
#
# The device returns at most 8 files from $OUT: this writes 7 (summary.txt,
# gpu-tests.log, gpu-tests.json, bench-sru.log, bench-deer.log and the two
# benchmark JSONs), and an eighth, build-here.log, only when the carried addon
# must be rebuilt here. The steps' caps add up to more than the device call's
# 580 s (doctor 15, smoke 35, tests 200, SRU 120, DEER 60, profile 35, memcheck
# 60, racecheck 50 + 40, synccheck 40); on the H200 the tests took 125 s
# (2026-12-04), so the sanitizers, last, get their time unless a step runs
# long or the carried addon had to be rebuilt there (up to 190 s more). The
# files come back either way.
#
# Here (no GPU needed), build for the device's architecture and pack:
#   ANTLER_CUDA_ARCHS=90 npm run build && ../shared/gpu/pack.sh build/Release dist
# Then one device `run` with carry [".gpu"] and timeout_s 580:
#   bash .gpu/run.sh bash scripts/gpu-check.sh
# Copy what comes back into docs/gpu-status.md and BENCHMARKS.md with the device and date.
set -uo pipefail
out=${OUT:-/tmp/antler-gpu-check}
mkdir -p "$out"
# ANTLER_POISON (new buffers filled with NaN, so a kernel that reads what it never wrote fails) for the
# tests only: the benchmarks would time the fills too.
export ANTLER_REQUIRE_GPU=1

sum="$out/summary.txt"
{ date -u; nvidia-smi 2>&1 || echo "nvidia-smi failed"; } > "$sum"

source scripts/gpu-common.sh
find_cublas
ensure_addon
timeout 15 node dist/cli.js doctor 2>&1 | tee -a "$sum"
echo "=== smoke" | tee -a "$sum"
ANTLER_POISON=1 timeout 35 node scripts/gpu-smoke.js 2>&1 | tee -a "$sum"

ANTLER_POISON=1 step gpu-tests 200 node node_modules/jest/bin/jest.js --selectProjects gpu --ci --json --outputFile="$out/gpu-tests.json" --reporters default --reporters ./scripts/jest-case-reporter.js
# The SRU grid in full (L = 1024 too; each GPU measurement is capped at 1.5 s of repeats), the DEER grid's quick part.
ANTLER_BENCH_DEVICES=cuda:0 step bench-sru 120 node dist/cli.js bench sru --out "$out"
step bench-deer 60 node dist/cli.js bench deer --quick --out "$out"
echo "=== deer profile (limit 35s)" | tee -a "$sum"
timeout 45 node scripts/deer-profile.js 2>&1 | tee -a "$sum"
# Last, with whatever time is left: compute-sanitizer over small cases of every kernel family
# (scripts/gpu-sanitize.js; the build has -lineinfo, so a report names the file and line).
if [[ -n "$san" ]]; then
  echo "=== compute-sanitizer memcheck (limit 60s)" | tee -a "$sum"
  timeout 60 "$san" --tool memcheck --error-exitcode 9 --print-limit 20 node scripts/gpu-sanitize.js 2>&1 | tail -n 45 | tee -a "$sum"
  echo "memcheck: exit ${PIPESTATUS[0]}" | tee -a "$sum"
  # Racecheck is slow (about 2-6 s a case; ELK took a minute at T = 700, its cases are now T = 300):
  # the kernels not yet race-checked on a GPU first.
  # Done (2026-12-04): the cells' sequential (one-unit walks at B = 3, n = 8), deer and quasi modes, and
  # ELK for the GRU. Since changed: the one-unit walks' loads. Not yet: the fused Newton solve (new,
  # shared memory and shuffles), the one-unit cases at H = 128/256, ELK for the LSTM and RNN.
  race='^fused|one-unit|mode sequential'
  echo "=== compute-sanitizer racecheck on /$race/ (limit 50s)" | tee -a "$sum"
  timeout 50 "$san" --tool racecheck --error-exitcode 9 --print-limit 20 node scripts/gpu-sanitize.js --only "$race" 2>&1 | tail -n 20 | tee -a "$sum"
  echo "racecheck: exit ${PIPESTATUS[0]}" | tee -a "$sum"
  echo "=== compute-sanitizer racecheck on ELK for the LSTM and RNN (limit 40s)" | tee -a "$sum"
  timeout 40 "$san" --tool racecheck --error-exitcode 9 --print-limit 20 node scripts/gpu-sanitize.js --only '(LSTM|RNN) mode elk' 2>&1 | tail -n 12 | tee -a "$sum"
  echo "racecheck (ELK): exit ${PIPESTATUS[0]}" | tee -a "$sum"
  # synccheck: barriers reached by only part of a block, in the kernels that stage through shared memory.
  echo "=== compute-sanitizer synccheck on /sequential|one-unit|fused/ (limit 40s)" | tee -a "$sum"
  timeout 40 "$san" --tool synccheck --error-exitcode 9 --print-limit 20 node scripts/gpu-sanitize.js --only 'sequential|one-unit|^fused' 2>&1 | tail -n 20 | tee -a "$sum"
  echo "synccheck: exit ${PIPESTATUS[0]}" | tee -a "$sum"
else
  echo "compute-sanitizer not found: skipped" | tee -a "$sum"
fi
ls "$out" | tee -a "$sum"
