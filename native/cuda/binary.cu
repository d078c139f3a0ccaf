// Elementwise binary ops (add, sub, mul, div, maximum, minimum) between two
// tensors, with NumPy broadcasting, or between a tensor and a scalar. The
// math is kernels::applyBinary, shared with the CPU backend.
#include "ops.cuh"

namespace antler::cuda {

// out[i] = op(a[i], b[i]) when a, b and out share one shape.
template <typename T>
static __global__ void binarySameShapeKernel(kernels::BinaryOp op, T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) out[i] = kernels::applyBinary<T>(op, a[i], b[i]);
}

// out[i] = op(a[ia], b[ib]) where (ia, ib) are the offsets of out's index i
// in the inputs, whose strides are 0 along broadcast dims.
template <typename T>
static __global__ void binaryBroadcastKernel(kernels::BinaryOp op, T* out, const T* a, const T* b, int64_t n,
                                             kernels::BroadcastIndexer idx) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    int64_t ia = 0, ib = 0;
    idx.offsets(i, ia, ib);
    out[i] = kernels::applyBinary<T>(op, a[ia], b[ib]);
  }
}

// out[i] = op(a[i], s), or op(s, a[i]) when scalarFirst.
template <typename T>
static __global__ void binaryScalarKernel(kernels::BinaryOp op, T* out, const T* a, T s, bool scalarFirst,
                                          int64_t n) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    out[i] = scalarFirst ? kernels::applyBinary<T>(op, s, a[i]) : kernels::applyBinary<T>(op, a[i], s);
}

template <typename T>
static void launchBinary(Context& ctx, kernels::BinaryOp op, void* out, const void* a, const void* b, int64_t n,
                         const kernels::BroadcastIndexer* idx) {
  T* o = static_cast<T*>(out);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  if (idx == nullptr)
    binarySameShapeKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(op, o, x, y, n);
  else
    binaryBroadcastKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(op, o, x, y, n, *idx);
  ANTLER_LAUNCH_CHECK("binary");
}

void binary(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
            const kernels::BroadcastIndexer* idx) {
  if (n <= 0) return;
  if (idx != nullptr && (idx->ndim < 1 || idx->ndim > kernels::kMaxDims))
    fail(Code::Internal, "binary: broadcast indexer has ", idx->ndim, " dims; expected 1 to ", kernels::kMaxDims);
  switch (t) {
    case DType::Float32: return launchBinary<float>(ctx, op, out, a, b, n, idx);
    case DType::Float64: return launchBinary<double>(ctx, op, out, a, b, n, idx);
    case DType::Int32: return launchBinary<int32_t>(ctx, op, out, a, b, n, idx);
  }
  fail(Code::Internal, "binary: unknown dtype ", static_cast<int>(t));
}

template <typename T>
static void launchBinaryScalar(Context& ctx, kernels::BinaryOp op, void* out, const void* a, double s,
                               bool scalarFirst, int64_t n) {
  binaryScalarKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      op, static_cast<T*>(out), static_cast<const T*>(a), static_cast<T>(s), scalarFirst, n);
  ANTLER_LAUNCH_CHECK("binaryScalar");
}

void binaryScalar(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst,
                  int64_t n) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchBinaryScalar<float>(ctx, op, out, a, s, scalarFirst, n);
    case DType::Float64: return launchBinaryScalar<double>(ctx, op, out, a, s, scalarFirst, n);
    case DType::Int32: return launchBinaryScalar<int32_t>(ctx, op, out, a, s, scalarFirst, n);
  }
  fail(Code::Internal, "binaryScalar: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
