// searchsorted on CUDA: one thread per value, each a binary search
// (kernels/selection.h, shared with the CPU) in its row of seq [B, M];
// values [B, K], out [B, K] int32.
#include "../kernels/selection.h"
#include "ops.cuh"

namespace antler::cuda {

template <typename T>
static __global__ void searchsortedKernel(int32_t* out, const T* seq, const T* values, int64_t B, int64_t M, int64_t K,
                                          bool right) {
  for (int64_t i = gridStart(); i < B * K; i += gridStride())
    out[i] = static_cast<int32_t>(kernels::searchsortedPosition(seq + (i / K) * M, M, values[i], right));
}

template <typename T>
static void launchSearchsorted(Context& ctx, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M,
                               int64_t K, bool right) {
  searchsortedKernel<T><<<gridFor(ctx, B * K), kBlockSize, 0, ctx.stream>>>(
      out, static_cast<const T*>(seq), static_cast<const T*>(values), B, M, K, right);
  ANTLER_LAUNCH_CHECK("searchsorted");
}

void searchsorted(Context& ctx, DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M,
                  int64_t K, bool right) {
  if (B <= 0 || K <= 0) return;
  switch (t) {
    case DType::Float32: return launchSearchsorted<float>(ctx, out, seq, values, B, M, K, right);
    case DType::Float64: return launchSearchsorted<double>(ctx, out, seq, values, B, M, K, right);
    case DType::Int32: return launchSearchsorted<int32_t>(ctx, out, seq, values, B, M, K, right);
  }
  fail(Code::Internal, "searchsorted: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
