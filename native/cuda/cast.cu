// Conversion between dtypes, elementwise through kernels::castValue.
#include "ops.cuh"

namespace antler::cuda {

template <typename TOut, typename TIn>
static __global__ void castKernel(TOut* dst, const TIn* src, int64_t n) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) dst[i] = kernels::castValue<TOut, TIn>(src[i]);
}

template <typename TOut, typename TIn>
static void launchCast(Context& ctx, void* dst, const void* src, int64_t n) {
  castKernel<TOut, TIn><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(static_cast<TOut*>(dst),
                                                                       static_cast<const TIn*>(src), n);
  ANTLER_LAUNCH_CHECK("cast");
}

template <typename TOut>
static void castTo(Context& ctx, void* dst, const void* src, DType srcType, int64_t n) {
  switch (srcType) {
    case DType::Float32: return launchCast<TOut, float>(ctx, dst, src, n);
    case DType::Float64: return launchCast<TOut, double>(ctx, dst, src, n);
    case DType::Int32: return launchCast<TOut, int32_t>(ctx, dst, src, n);
  }
  fail(Code::Internal, "cast: unknown source dtype ", static_cast<int>(srcType));
}

void cast(Context& ctx, void* dst, DType dstType, const void* src, DType srcType, int64_t n) {
  if (n <= 0) return;
  switch (dstType) {
    case DType::Float32: return castTo<float>(ctx, dst, src, srcType, n);
    case DType::Float64: return castTo<double>(ctx, dst, src, srcType, n);
    case DType::Int32: return castTo<int32_t>(ctx, dst, src, srcType, n);
  }
  fail(Code::Internal, "cast: unknown target dtype ", static_cast<int>(dstType));
}

}  // namespace antler::cuda
