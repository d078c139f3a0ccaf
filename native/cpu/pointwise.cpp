// The special functions of kernels/pointwise.h on the CPU: OpenMP loops that
// evaluate in double and round once to the tensor's type. Binary operands may
// broadcast (a 0-d tensor for a number operand): they are read in place
// through their strides, never expanded to the output's shape.
#include "../core/error.h"
#include "../kernels/pointwise.h"
#include "broadcast_rows.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::PointwiseOp;

// A special function costs tens to hundreds of element operations.
constexpr int64_t kPointwiseCost = 32;

template <typename T>
static void pointwiseTyped(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p) {
  parallelFor(n, n * kPointwiseCost, [&](int64_t i) {
    y[i] = static_cast<T>(kernels::applyPointwise(op, a[i], b ? static_cast<double>(b[i]) : 0.0, p));
  });
}

// Broadcast binary operands: the output row by row along its innermost dimension (broadcast_rows.h), the
// operands' steps along a row 1 or 0.
template <typename T>
static void pointwiseBroadcast(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p,
                               const kernels::BroadcastIndexer& idx) {
  forEachBroadcastRow(idx, n, 4096, kPointwiseCost, [&](int64_t at, int64_t oa, int64_t ob, int64_t m, int64_t sa, int64_t sb) {
    for (int64_t j = 0; j < m; ++j)
      y[at + j] = static_cast<T>(kernels::applyPointwise(op, a[oa + j * sa], static_cast<double>(b[ob + j * sb]), p));
  });
}

void pointwise(PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p,
               const kernels::BroadcastIndexer* idx) {
  if (n <= 0) return;
  if (idx != nullptr && (b == nullptr || idx->ndim < 1 || idx->ndim > kernels::kMaxDims))
    fail(Code::Internal, "pointwise: broadcast indexer has ", idx->ndim, " dims", b ? "" : " for a unary op",
         "; expected 1 to ", kernels::kMaxDims);
  switch (t) {
    case DType::Float32:
      if (idx)
        return pointwiseBroadcast<float>(op, static_cast<float*>(y), static_cast<const float*>(a),
                                         static_cast<const float*>(b), n, p, *idx);
      return pointwiseTyped<float>(op, static_cast<float*>(y), static_cast<const float*>(a), static_cast<const float*>(b), n, p);
    case DType::Float64:
      if (idx)
        return pointwiseBroadcast<double>(op, static_cast<double*>(y), static_cast<const double*>(a),
                                          static_cast<const double*>(b), n, p, *idx);
      return pointwiseTyped<double>(op, static_cast<double*>(y), static_cast<const double*>(a), static_cast<const double*>(b), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "pointwise: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
