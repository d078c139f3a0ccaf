// The special functions of kernels/pointwise.h on the CPU: OpenMP loops that
// evaluate in double and round once to the tensor's type. Binary operands may
// broadcast (a 0-d tensor for a number operand): they are read in place
// through their strides, never expanded to the output's shape.
#include "../core/error.h"
#include "../kernels/pointwise.h"
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

// Broadcast binary operands: the output row by row along its innermost
// dimension (after folding the dimensions both operands step through as one),
// each row's operand offsets found once by the indexer, the operands' steps
// along the row 1 or 0.
template <typename T>
static void pointwiseBroadcast(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p,
                               kernels::BroadcastIndexer idx) {
  while (idx.ndim > 1 && idx.shape[idx.ndim - 1] == 1) --idx.ndim;
  while (idx.ndim > 1) {
    const int d = idx.ndim - 2;
    const int64_t e = idx.shape[d + 1];
    if (idx.strideA[d] != idx.strideA[d + 1] * e || idx.strideB[d] != idx.strideB[d + 1] * e) break;
    idx.shape[d] *= e;
    idx.strideA[d] = idx.strideA[d + 1];
    idx.strideB[d] = idx.strideB[d + 1];
    --idx.ndim;
  }
  const int last = idx.ndim - 1;
  const int64_t len = idx.shape[last];
  if (len <= 0) return;
  const int64_t rows = n / len, sa = idx.strideA[last], sb = idx.strideB[last];
  // Tasks are pieces of rows, so a few long rows (a tensor with a number) still spread over the threads.
  constexpr int64_t kPiece = 4096;
  const int64_t pieces = (len + kPiece - 1) / kPiece;
  parallelFor(rows * pieces, n * kPointwiseCost, [&](int64_t task) {
    const int64_t r = task / pieces, j0 = (task % pieces) * kPiece;
    const int64_t m = len - j0 < kPiece ? len - j0 : kPiece;
    int64_t oa, ob;
    idx.offsets(r * len, oa, ob);
    const T* ar = a + oa + j0 * sa;
    const T* br = b + ob + j0 * sb;
    T* yr = y + r * len + j0;
    for (int64_t j = 0; j < m; ++j)
      yr[j] = static_cast<T>(kernels::applyPointwise(op, ar[j * sa], static_cast<double>(br[j * sb]), p));
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
