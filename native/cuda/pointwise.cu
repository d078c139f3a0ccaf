// The special functions of kernels/pointwise.h on the GPU: grid-stride loops
// that evaluate in double and round once to the tensor's type, the same
// formulas the CPU backend runs (cpu/pointwise.cpp).
#include "../kernels/pointwise.h"
#include "ops.cuh"

namespace antler::cuda {

using kernels::PointwiseOp;

// y[i] = op(a[i][, b[i]]) (b null for the unary ops).
template <typename T>
static __global__ void pointwiseKernel(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    y[i] = static_cast<T>(kernels::applyPointwise(op, a[i], b ? static_cast<double>(b[i]) : 0.0, p));
}

template <typename T>
static void launchPointwise(Context& ctx, PointwiseOp op, void* y, const void* a, const void* b, int64_t n, int p) {
  pointwiseKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(op, static_cast<T*>(y), static_cast<const T*>(a),
                                                                       static_cast<const T*>(b), n, p);
  ANTLER_LAUNCH_CHECK("pointwise");
}

void pointwise(Context& ctx, PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchPointwise<float>(ctx, op, y, a, b, n, p);
    case DType::Float64: return launchPointwise<double>(ctx, op, y, a, b, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "pointwise: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
