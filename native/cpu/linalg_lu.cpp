// Batched dense linear algebra on the CPU: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky (kernels/linalg_lu.h).
// One serial lane group per matrix, matrices in parallel (parallelFor over the batch): a single large
// matrix runs on one thread.
#include "../core/error.h"
#include "../kernels/linalg_lu.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

template <typename T>
static void triangularSolveTyped(T* X, const T* A, const T* B, int64_t batch, int64_t n, int64_t kk, bool upper,
                                 bool left, bool unit) {
  parallelFor(batch, batch * n * n * (kk > 0 ? kk : 1), [&](int64_t b) {
    k::lanesTriangularSolveMatrix(k::SerialLanes{}, n, kk, A + b * n * n, B + b * n * kk, X + b * n * kk, upper, left,
                                  unit);
  });
}

void triangularSolve(DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t kk, bool upper,
                     bool left, bool unit) {
  if (batch <= 0 || n <= 0 || kk <= 0) return;
  switch (t) {
    case DType::Float32:
      return triangularSolveTyped(static_cast<float*>(X), static_cast<const float*>(A), static_cast<const float*>(B),
                                  batch, n, kk, upper, left, unit);
    case DType::Float64:
      return triangularSolveTyped(static_cast<double*>(X), static_cast<const double*>(A), static_cast<const double*>(B),
                                  batch, n, kk, upper, left, unit);
    default: break;
  }
  fail(Code::Internal, "triangularSolve: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
