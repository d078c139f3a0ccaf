#!/usr/bin/env bash
# A second device call after scripts/gpu-check.sh, for a session that changed
# kernels: the GPU suite again (GPU_TESTS: a jest --testPathPattern, default
# all of it), the SRU benchmark's full grid, memcheck on the SRU cases, the
# relu float32 diagnostic (scripts/relu-kink-check.js; RELU_DIAG=0 skips it),
# then the DEER benchmark at n ∈ {1, 8}, T = 10k by launches (the fused solve
# off), and part of its grid with the defaults (ANTLER_BENCH_DEER_NS / _TS,
# defaults below), last because it is the longest and its log shows each cell
# as it goes. Steps' caps: tests 150, SRU 80, diagnostic 40, memcheck 30,
# DEER 60 + 200.
# Build and pack as for gpu-check.sh, then one device `run` with carry [".gpu"]:
#   bash .gpu/run.sh bash scripts/gpu-perf-check.sh
set -uo pipefail
out=${OUT:-/tmp/antler-gpu-perf}
mkdir -p "$out"
# ANTLER_POISON (new buffers filled with NaN, so a kernel that reads what it never wrote fails) for the
# tests only: the benchmarks would time the fills too.
export ANTLER_REQUIRE_GPU=1
sum="$out/summary.txt"
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1; } > "$sum"
source scripts/gpu-common.sh
find_cublas
ensure_addon
timeout 15 node dist/cli.js doctor 2>&1 | grep -E "CUDA|cuda:0|cuBLAS" | tee -a "$sum"
ANTLER_POISON=1 step gpu-tests 150 node node_modules/jest/bin/jest.js --selectProjects gpu --ci --reporters default --reporters ./scripts/jest-case-reporter.js ${GPU_TESTS:+--testPathPattern "$GPU_TESTS"}
ANTLER_BENCH_DEVICES=cuda:0 step bench-sru 80 node dist/cli.js bench sru --out "$out"
if [[ "${RELU_DIAG:-1}" != 0 ]]; then
  echo "=== relu float32 diagnostic" >> "$sum"
  timeout 40 node scripts/relu-kink-check.js cuda:0 10 2>&1 | tee -a "$sum"
fi
if [[ -n "$san" ]]; then
  echo "=== memcheck on /SRU/" >> "$sum"
  timeout 30 "$san" --tool memcheck --error-exitcode 9 node scripts/gpu-sanitize.js --only SRU 2>&1 | tail -n 8 | tee -a "$sum"
fi
# The fused solve against the iteration by launches (ANTLER_BENCH_DEER_FUSED=0) at the paper's
# headline sizes first, in its own folder (the JSON names would collide).
mkdir -p "$out/unfused"
ANTLER_BENCH_DEER_FUSED=0 ANTLER_BENCH_DEER_NS=1,8 ANTLER_BENCH_DEER_TS=10000 step bench-deer-unfused 60 node dist/cli.js bench deer --out "$out/unfused"
export ANTLER_BENCH_DEER_NS=${ANTLER_BENCH_DEER_NS:-1,2,4,8} ANTLER_BENCH_DEER_TS=${ANTLER_BENCH_DEER_TS:-1000,10000,100000}
step bench-deer 200 node dist/cli.js bench deer --out "$out"
ls "$out" | tee -a "$sum"
