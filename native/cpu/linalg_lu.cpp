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

template <typename T>
static void luFactorTyped(T* LU, int32_t* pivots, int32_t* info, const T* A, int64_t batch, int64_t m, int64_t n) {
  const int64_t kmin = m < n ? m : n;
  parallelFor(batch, batch * m * n * (kmin > 0 ? kmin : 1), [&](int64_t b) {
    T* M = LU + b * m * n;
    for (int64_t e = 0; e < m * n; ++e) M[e] = A[b * m * n + e];
    k::lanesLuFactor(k::SerialLanes{}, m, n, M, pivots + b * kmin, info + b);
  });
}

void luFactor(DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m, int64_t n) {
  if (batch <= 0) return;
  switch (t) {
    case DType::Float32:
      return luFactorTyped(static_cast<float*>(LU), pivots, info, static_cast<const float*>(A), batch, m, n);
    case DType::Float64:
      return luFactorTyped(static_cast<double*>(LU), pivots, info, static_cast<const double*>(A), batch, m, n);
    default: break;
  }
  fail(Code::Internal, "luFactor: unsupported dtype ", static_cast<int>(t));
}

void luPermutation(int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m) {
  parallelFor(batch, batch * (m + k), [&](int64_t b) {
    k::lanesLuPermutation(k::SerialLanes{}, m, k, pivots + b * k, perm + b * m);
  });
}

template <typename T>
static void choleskyTyped(T* Lout, int32_t* info, const T* A, int64_t batch, int64_t n) {
  parallelFor(batch, batch * n * n * (n > 0 ? n : 1), [&](int64_t b) {
    T* M = Lout + b * n * n;
    for (int64_t e = 0; e < n * n; ++e) M[e] = A[b * n * n + e];
    k::lanesCholesky(k::SerialLanes{}, n, M, info + b);
  });
}

void cholesky(DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n) {
  if (batch <= 0) return;
  switch (t) {
    case DType::Float32: return choleskyTyped(static_cast<float*>(L), info, static_cast<const float*>(A), batch, n);
    case DType::Float64: return choleskyTyped(static_cast<double*>(L), info, static_cast<const double*>(A), batch, n);
    default: break;
  }
  fail(Code::Internal, "cholesky: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
