// The special functions of kernels/pointwise.h on the GPU: grid-stride loops
// that evaluate in double and round once to the tensor's type, the same
// formulas the CPU backend runs (cpu/pointwise.cpp). Binary operands may
// broadcast (a 0-d tensor for a number operand): read in place through their
// strides, never expanded to the output's shape.
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

// y[i] = op(a[ia], b[ib]) where (ia, ib) are the offsets of y's index i in the
// operands, whose strides are 0 along broadcast dims.
template <typename T>
static __global__ void pointwiseBroadcastKernel(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p,
                                                kernels::BroadcastIndexer idx) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    int64_t ia = 0, ib = 0;
    idx.offsets(i, ia, ib);
    y[i] = static_cast<T>(kernels::applyPointwise(op, a[ia], static_cast<double>(b[ib]), p));
  }
}

template <typename T>
static void launchPointwise(Context& ctx, PointwiseOp op, void* y, const void* a, const void* b, int64_t n, int p,
                            const kernels::BroadcastIndexer* idx) {
  if (idx == nullptr)
    pointwiseKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(op, static_cast<T*>(y), static_cast<const T*>(a),
                                                                         static_cast<const T*>(b), n, p);
  else
    pointwiseBroadcastKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
        op, static_cast<T*>(y), static_cast<const T*>(a), static_cast<const T*>(b), n, p, *idx);
  ANTLER_LAUNCH_CHECK("pointwise");
}

void pointwise(Context& ctx, PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p,
               const kernels::BroadcastIndexer* idx) {
  if (n <= 0) return;
  if (idx != nullptr && (b == nullptr || idx->ndim < 1 || idx->ndim > kernels::kMaxDims))
    fail(Code::Internal, "pointwise: broadcast indexer has ", idx->ndim, " dims", b ? "" : " for a unary op",
         "; expected 1 to ", kernels::kMaxDims);
  switch (t) {
    case DType::Float32: return launchPointwise<float>(ctx, op, y, a, b, n, p, idx);
    case DType::Float64: return launchPointwise<double>(ctx, op, y, a, b, n, p, idx);
    case DType::Int32: break;
  }
  fail(Code::Internal, "pointwise: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
