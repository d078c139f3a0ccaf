// topk indices along the middle axis of x viewed as [outer, n, inner] (out as
// [outer, k, inner]), with the selection passes of kernels::topkLine, shared
// with the CPU (cpu/topk.cpp): one thread per line (o, j), consecutive threads
// on consecutive inner positions, so the loads of a warp are coalesced when
// inner > 1. O(k·n) per line: meant for small k.
#include "../kernels/argreduce.h"
#include "ops.cuh"

namespace antler::cuda {

// Thread t takes line (o, j), o = t / inner, j = t % inner.
template <typename T>
static __global__ void topkKernel(int32_t* out, const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                                  bool largest) {
  for (int64_t t = gridStart(); t < outer * inner; t += gridStride()) {
    const int64_t o = t / inner, j = t % inner;
    kernels::topkLine(out + o * k * inner + j, inner, x, o * n * inner + j, n, inner, k, largest);
  }
}

template <typename T>
static void launchTopk(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                       bool largest) {
  topkKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<int32_t*>(out), static_cast<const T*>(x), outer, n, inner, k, largest);
  ANTLER_LAUNCH_CHECK("topk");
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
