// Batched dense linear algebra on the CPU: Householder QR (kernels/linalg_qr.h),
// one matrix per task of parallelFor, each on one thread (SerialLanes).
#include <vector>

#include "../core/error.h"
#include "../kernels/linalg_qr.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void linalgQrTyped(int64_t B, const kernels::QrDims& d, const T* A, T* Q, T* R) {
  const int64_t m = d.m, n = d.n;
  const int64_t work = B * (m * n * (d.k + d.qCols) + 1);
  parallelFor(B, work, [&](int64_t b) {
    static thread_local std::vector<T> scratch;
    const size_t need = static_cast<size_t>(m * n + d.k + 1);
    if (scratch.size() < need) scratch.resize(need);
    double red[2];
    kernels::householderQr(kernels::SerialLanes{}, d, A + b * m * n, scratch.data(), scratch.data() + m * n, red,
                           d.qCols > 0 ? Q + b * m * d.qCols : nullptr, R + b * d.rRows * n);
  });
}

void linalgQr(DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n, int64_t qCols, int64_t rRows) {
  if (B <= 0) return;
  const kernels::QrDims d{m, n, m < n ? m : n, qCols, rRows};
  switch (t) {
    case DType::Float32:
      return linalgQrTyped(B, d, static_cast<const float*>(A), static_cast<float*>(Q), static_cast<float*>(R));
    case DType::Float64:
      return linalgQrTyped(B, d, static_cast<const double*>(A), static_cast<double*>(Q), static_cast<double*>(R));
    default:
      break;
  }
  fail(Code::Internal, "linalg.qr: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
