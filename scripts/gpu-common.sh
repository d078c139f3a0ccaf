# Shared by scripts/gpu-check.sh and scripts/gpu-perf-check.sh (sourced, after
# they set $out, the folder that comes back, and $sum, its summary file).

# cuBLAS is opened at run time; on the GPU machine it lives in PyTorch's environment.
find_cublas() {
  if [[ -z "${ANTLER_CUBLAS:-}" ]]; then
    local dir found
    for dir in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
      found=$(find "$dir" -name 'libcublas.so.1[23]' 2>/dev/null | head -n 1)
      if [[ -n "$found" ]]; then export ANTLER_CUBLAS=$found; break; fi
    done
  fi
  echo "ANTLER_CUBLAS=${ANTLER_CUBLAS:-<not found: the built-in GEMM runs>}" | tee -a "$sum"
}

# The addon built on the developer's machine may not load there (other system
# libraries) or may not see the GPU: then build it there, for that GPU (at most 150 s).
ensure_addon() {
  local probe='const a=require("./dist");const c=a.backends().cuda;console.log(JSON.stringify(c));process.exit(c.available?0:3)'
  if ! timeout 20 node -e "$probe" >> "$sum" 2>&1; then
    echo "=== the carried addon does not load or sees no GPU: building here (limit 150s)" | tee -a "$sum"
    export PATH=$PATH:/usr/local/cuda/bin
    ANTLER_CUDA_ARCHS=90 timeout 150 node scripts/build-cmake.js > "$out/build-here.log" 2>&1
    echo "build here: exit $? ($(tail -n 3 "$out/build-here.log" | tr '\n' ' '))" | tee -a "$sum"
    timeout 20 node -e "$probe" 2>&1 | tee -a "$sum"
  fi
}

# step NAME SECONDS COMMAND...: runs it with a time limit, its output in $out/NAME.log;
# the exit status and the log's last lines go to the summary.
step() {
  local name=$1 secs=$2; shift 2
  echo "=== $name (limit ${secs}s)"
  local t0=$SECONDS
  timeout "$secs" "$@" > "$out/$name.log" 2>&1
  echo "$name: exit $? after $((SECONDS - t0)) s" | tee -a "$sum"
  tail -n 5 "$out/$name.log" | tee -a "$sum"
}

# compute-sanitizer's path, or nothing.
san=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
