// The special functions of kernels/pointwise.h on the CPU: OpenMP loops that
// evaluate in double and round once to the tensor's type.
#include "../core/error.h"
#include "../kernels/pointwise.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::PointwiseOp;

template <typename T>
static void pointwiseTyped(PointwiseOp op, T* y, const T* a, const T* b, int64_t n, int p) {
  // A special function costs tens to hundreds of element operations.
  parallelFor(n, n * 32, [&](int64_t i) {
    y[i] = static_cast<T>(kernels::applyPointwise(op, a[i], b ? static_cast<double>(b[i]) : 0.0, p));
  });
}

void pointwise(PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return pointwiseTyped<float>(op, static_cast<float*>(y), static_cast<const float*>(a), static_cast<const float*>(b), n, p);
    case DType::Float64:
      return pointwiseTyped<double>(op, static_cast<double*>(y), static_cast<const double*>(a), static_cast<const double*>(b), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "pointwise: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
