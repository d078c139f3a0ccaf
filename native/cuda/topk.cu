// topk indices along the middle axis of x viewed as [outer, n, inner] (out as
// [outer, k, inner]), in the total order of kernels/argreduce.h, shared with
// the CPU (cpu/topk.cpp). Two paths:
//  - selection (k ≤ kTopkSelect and enough lines to fill the device): one
//    thread per line (o, j) runs kernels::topkLine's k passes, consecutive
//    threads on consecutive inner positions so a warp's loads are coalesced
//    when inner > 1. O(k·n) per line.
//  - sort (otherwise, so sort/argsort, k = n, and long single lines): every
//    line is copied as (value, index) pairs to pool scratch, runs of kRun are
//    insertion-sorted by one thread each (kernels::sortRun), then merge passes
//    double the run width until one run is left, one thread per element
//    (kernels::mergeTarget: a binary search in the partner run), ping-ponging
//    between two buffers; the first k indices of each line are written out.
//    O(n log² n) work per line, parallel over every element.
#include "../kernels/argreduce.h"
#include "ops.cuh"

namespace antler::cuda {

constexpr int64_t kTopkSelect = 8;
constexpr int64_t kRun = 16;
// Below this many lines the selection path leaves most of the device idle: sort instead when lines are long.
constexpr int64_t kFewLines = 2048;
constexpr int64_t kLongLine = 1024;

// Thread t takes line (o, j), o = t / inner, j = t % inner.
template <typename T>
static __global__ void topkKernel(int32_t* out, const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                                  bool largest) {
  for (int64_t t = gridStart(); t < outer * inner; t += gridStride()) {
    const int64_t o = t / inner, j = t % inner;
    kernels::topkLine(out + o * k * inner + j, inner, x, o * n * inner + j, n, inner, k, largest);
  }
}

// Thread t takes run r = t / lines of line l = t % lines (consecutive threads on consecutive lines, so
// on consecutive inner positions: coalesced loads when inner > 1): loads it as pairs into keys/idx
// (line l at l·n) and sorts it.
template <typename T>
static __global__ void sortRunsKernel(T* keys, int32_t* idx, const T* x, int64_t lines, int64_t n, int64_t inner,
                                      int64_t runs, bool largest) {
  for (int64_t t = gridStart(); t < lines * runs; t += gridStride()) {
    const int64_t l = t % lines, r = t / lines;
    const int64_t o = l / inner, j = l % inner;
    const int64_t begin = r * kRun, len = begin + kRun <= n ? kRun : n - begin;
    T* k = keys + l * n + begin;
    int32_t* i = idx + l * n + begin;
    for (int64_t a = 0; a < len; ++a) {
      k[a] = x[(o * n + begin + a) * inner + j];
      i[a] = static_cast<int32_t>(begin + a);
    }
    kernels::sortRun(k, i, len, largest);
  }
}

// One merge pass of runs of `width` into runs of 2·width: thread t moves element t % n of line t / n.
template <typename T>
static __global__ void mergePassKernel(T* dstKeys, int32_t* dstIdx, const T* srcKeys, const int32_t* srcIdx,
                                       int64_t lines, int64_t n, int64_t width, bool largest) {
  for (int64_t t = gridStart(); t < lines * n; t += gridStride()) {
    const int64_t l = t / n, p = t % n;
    const T* k = srcKeys + l * n;
    const int32_t* i = srcIdx + l * n;
    const int64_t to = kernels::mergeTarget(k, i, n, width, p, largest);
    dstKeys[l * n + to] = k[p];
    dstIdx[l * n + to] = i[p];
  }
}

// The first k indices of every sorted line, into out [outer, k, inner].
static __global__ void takeFirstKernel(int32_t* out, const int32_t* idx, int64_t lines, int64_t n, int64_t inner,
                                       int64_t k) {
  for (int64_t t = gridStart(); t < lines * k; t += gridStride()) {
    const int64_t l = t % lines, c = t / lines;
    const int64_t o = l / inner, j = l % inner;
    out[(o * k + c) * inner + j] = idx[l * n + c];
  }
}

template <typename T>
static void launchTopk(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                       bool largest) {
  const int64_t lines = outer * inner;
  const bool select = k <= kTopkSelect && (lines >= kFewLines || n <= kLongLine);
  if (select) {
    topkKernel<T><<<gridFor(ctx, lines), kBlockSize, 0, ctx.stream>>>(
        static_cast<int32_t*>(out), static_cast<const T*>(x), outer, n, inner, k, largest);
    ANTLER_LAUNCH_CHECK("topk");
    return;
  }
  const int64_t total = lines * n;
  PoolBuffer keysA(ctx, static_cast<size_t>(total) * sizeof(T)), keysB(ctx, static_cast<size_t>(total) * sizeof(T));
  PoolBuffer idxA(ctx, static_cast<size_t>(total) * sizeof(int32_t)), idxB(ctx, static_cast<size_t>(total) * sizeof(int32_t));
  T* keys[2] = {static_cast<T*>(keysA.get()), static_cast<T*>(keysB.get())};
  int32_t* idx[2] = {static_cast<int32_t*>(idxA.get()), static_cast<int32_t*>(idxB.get())};
  const int64_t runs = (n + kRun - 1) / kRun;
  sortRunsKernel<T><<<gridFor(ctx, lines * runs), kBlockSize, 0, ctx.stream>>>(
      keys[0], idx[0], static_cast<const T*>(x), lines, n, inner, runs, largest);
  ANTLER_LAUNCH_CHECK("topk (sorting runs)");
  int cur = 0;
  for (int64_t width = kRun; width < n; width *= 2) {
    mergePassKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(
        keys[1 - cur], idx[1 - cur], keys[cur], idx[cur], lines, n, width, largest);
    ANTLER_LAUNCH_CHECK("topk (merge pass)");
    cur = 1 - cur;
  }
  takeFirstKernel<<<gridFor(ctx, lines * k), kBlockSize, 0, ctx.stream>>>(static_cast<int32_t*>(out), idx[cur], lines,
                                                                          n, inner, k);
  ANTLER_LAUNCH_CHECK("topk (first k)");
}

void topk(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
          bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0 || k <= 0) return;
  switch (t) {
    case DType::Float32: return launchTopk<float>(ctx, out, x, outer, n, inner, k, largest);
    case DType::Float64: return launchTopk<double>(ctx, out, x, outer, n, inner, k, largest);
    case DType::Int32: return launchTopk<int32_t>(ctx, out, x, outer, n, inner, k, largest);
  }
  fail(Code::Internal, "topk: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
