// cumsum along one axis of x viewed as [outer, n, inner]: one thread per line
// (o, j), walking its n elements with the double accumulator of
// kernels/scan_axis.h, shared with the CPU. Consecutive threads take
// consecutive inner positions j, so with inner > 1 every step's loads and
// stores are coalesced. A long axis with few lines (inner == 1, small outer)
// leaves most of the GPU idle: the walk along the axis is sequential.
#include "../kernels/scan_axis.h"
#include "ops.cuh"

namespace antler::cuda {

template <typename T>
static __global__ void cumsumKernel(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                                    bool reverse) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::cumsumLine(out, x, kernels::scanLineBase(line, n, inner), n, inner, exclusive, reverse);
}

template <typename T>
static void launchCumsum(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                         bool exclusive, bool reverse) {
  cumsumKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(out), static_cast<const T*>(x), outer, n, inner, exclusive, reverse);
  ANTLER_LAUNCH_CHECK("cumsum");
}

void cumsum(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool exclusive,
            bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchCumsum<float>(ctx, out, x, outer, n, inner, exclusive, reverse);
    case DType::Float64: return launchCumsum<double>(ctx, out, x, outer, n, inner, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumsum: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
