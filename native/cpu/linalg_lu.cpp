// Batched dense linear algebra on the CPU: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky (kernels/linalg_lu.h).
// Small matrices: one serial lane group per matrix, matrices in parallel (parallelFor over the batch).
// Large ones (blas::useLapack: at or above the op's threshold under 'default', every size under 'lapack'):
// LAPACK/BLAS from the opened OpenBLAS (getrf, potrf, trsm), one call per matrix, the batch in sequence,
// OpenBLAS's threads inside each call.
//
// Precision: the built-in kernels compute float32 in float (only QR's norms are accumulated in double), so
// float32 goes to the s-routines (sgetrf, spotrf, strsm), float64 to the d-routines.
//
// Thresholds (the n of n×n, min(m, n) for LU, from which 'default' runs LAPACK): timed through the ops
// (linalg.luFactor, cholesky, solveTriangular) under 'builtin' and 'lapack' on the 2-core dev machine while other
// builds ran (load average 15–18, so noisy: the minimum of interleaved runs), OpenBLAS 0.3.21 on 2 threads,
// float64, ms per call, built-in → LAPACK:
//   luFactor,  one matrix:  n=12 .015→.015  16 .014→.012  24 .020→.015  32 .29→.020  64 .43→.044  128 1.6→.25
//              256 23→10;  a batch of 64:  n=12 .38→.10  16 .51→.15  24 6.2→.35  32 1.9→.63  64 28→6.3  128 199→39
//   cholesky,  one matrix:  n=12 .013→.012  16 .015→.012  24 .021→.012  32 .30→.016  64 .45→.041  128 3.8→.12
//              256 29→.46;  a batch of 64:  n=12 .37→.062  16 .48→.099  24 1.2→.20  32 2.4→.33  64 37→1.9  128 276→21
//   trsm (k = n right-hand sides, solve's and inv's shape), one matrix:  n=12 .010→.009  16 .011→.009  24 .020→.010
//              32 .29→.015  64 .56→.027  128 2.5→.10  256 45→.57;  a batch of 64:  n=12 .38→.050  16 .54→.075
//              24 1.2→.16  32 9.2→.49  64 45→1.5  128 359→17
// LAPACK is never slower from n = 16 on (float32 alike: n=16 lu .017→.016, cholesky .014→.011, trsm .013→.010)
// and ties below it; the built-in's ~.25 ms from n = 32 on one matrix is parallelFor entering an OpenMP
// region (work n³ ≥ kParallelWork) for its one matrix under this load.
#include <climits>
#include <shared_mutex>
#include <vector>

#include "../core/error.h"
#include "../kernels/linalg_lu.h"
#include "blas.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

namespace {

constexpr int64_t kLuLapack = 16;
constexpr int64_t kCholeskyLapack = 16;
constexpr int64_t kTrsmLapack = 16;

// LAPACK's Fortran routines (every argument by pointer; potrf's uplo is followed by its hidden length) and
// CBLAS's trsm, by element type.
template <typename T>
using GetrfFn = void (*)(const int*, const int*, T*, const int*, int*, int*);
template <typename T>
using PotrfFn = void (*)(const char*, const int*, T*, const int*, int*, size_t);
template <typename T>
using TrsmFn = void (*)(int, int, int, int, int, int, int, T, const T*, int, T*, int);

template <typename T>
struct Names;
template <>
struct Names<float> {
  static constexpr const char* getrf = "sgetrf_";
  static constexpr const char* potrf = "spotrf_";
  static constexpr const char* trsm = "cblas_strsm";
};
template <>
struct Names<double> {
  static constexpr const char* getrf = "dgetrf_";
  static constexpr const char* potrf = "dpotrf_";
  static constexpr const char* trsm = "cblas_dtrsm";
};

template <typename F>
F lapackFn(const char* name) {
  return reinterpret_cast<F>(blas::lapackSymbol(name));
}

// CBLAS's enum values (the standard's).
constexpr int kLeft = 141, kRight = 142, kUpper = 121, kLower = 122, kNonUnit = 131, kUnit = 132;

bool fitsInt(int64_t a, int64_t b = 0, int64_t c = 0) {
  return a <= INT_MAX && b <= INT_MAX && c <= INT_MAX;
}

}  // namespace

template <typename T>
static void triangularSolveTyped(T* X, const T* A, const T* B, int64_t batch, int64_t n, int64_t kk, bool upper,
                                 bool left, bool unit) {
  // BLAS trsm (row major: no transposition), in place on X = B's copy; the other triangle, and the diagonal
  // when unit, are never read (as the kernel's); a zero diagonal gives ±inf/NaN (no check, as the kernel).
  if (fitsInt(n, kk, n * kk) && blas::useLapack(n, kTrsmLapack, {Names<T>::trsm})) {
    static const auto trsm = lapackFn<TrsmFn<T>>(Names<T>::trsm);
    const std::shared_lock<std::shared_mutex> threads(blas::threadCountLock());
    const int ni = static_cast<int>(n), ki = static_cast<int>(kk);
    for (int64_t b = 0; b < batch; ++b) {
      T* x = X + b * n * kk;
      for (int64_t e = 0; e < n * kk; ++e) x[e] = B[b * n * kk + e];
      // Left: A X = B, X n×k (M = n, N = k); right: X A = B, X k×n (M = k, N = n).
      trsm(blas::kRowMajor, left ? kLeft : kRight, upper ? kUpper : kLower, blas::kNoTrans, unit ? kUnit : kNonUnit,
           left ? ni : ki, left ? ki : ni, T(1), A + b * n * n, ni, x, left ? ki : ni);
    }
    return;
  }
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
  // getrf on a column-major copy (the row-major matrix read as column-major would be Aᵀ, whose LU pivots
  // columns): the same result as the kernel's, 1-based pivots, info = the first exactly zero U[k − 1, k − 1]
  // (getrf's, the kernel's). Rounding differs (blocked, recursive), and so can a pivot between rows whose |a|
  // tie but for rounding, or info where a pivot is exactly 0 in one order and ~1e-16 in the other (measured on
  // 10 000 random integer matrices up to 8×8: 2 pivot sequences and 1 info differ from the kernel's).
  if (kmin > 0 && fitsInt(m, n, m * n) && blas::useLapack(kmin, kLuLapack, {Names<T>::getrf})) {
    static const auto getrf = lapackFn<GetrfFn<T>>(Names<T>::getrf);
    const std::shared_lock<std::shared_mutex> threads(blas::threadCountLock());
    const int mi = static_cast<int>(m), ni = static_cast<int>(n);
    std::vector<T> cm(static_cast<size_t>(m * n));
    for (int64_t b = 0; b < batch; ++b) {
      const T* a = A + b * m * n;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) cm[i + j * m] = a[i * n + j];
      int inf = 0;
      getrf(&mi, &ni, cm.data(), &mi, pivots + b * kmin, &inf);
      if (inf < 0) fail(Code::Internal, "luFactor: LAPACK ", Names<T>::getrf, " refused argument ", -inf);
      info[b] = inf;
      T* lu = LU + b * m * n;
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < m; ++i) lu[i * n + j] = cm[i + j * m];
    }
    return;
  }
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
  // potrf 'U' on the row-major matrix read as column-major (its transpose): the column-major upper triangle
  // read is the row-major lower one, and U with Aᵀ = Uᵀ U is L = Uᵀ row-major. info = the order of the first
  // leading minor that is not positive definite (a pivot ≤ 0 or NaN: potrf's, the kernel's); L then holds
  // LAPACK's partial factor (unspecified, as torch's). The strict upper triangle is zeroed (potrf leaves it).
  if (n > 0 && fitsInt(n, n * n) && blas::useLapack(n, kCholeskyLapack, {Names<T>::potrf})) {
    static const auto potrf = lapackFn<PotrfFn<T>>(Names<T>::potrf);
    const std::shared_lock<std::shared_mutex> threads(blas::threadCountLock());
    const int ni = static_cast<int>(n);
    const char uplo = 'U';
    for (int64_t b = 0; b < batch; ++b) {
      T* M = Lout + b * n * n;
      for (int64_t e = 0; e < n * n; ++e) M[e] = A[b * n * n + e];
      int inf = 0;
      potrf(&uplo, &ni, M, &ni, &inf, 1);
      if (inf < 0) fail(Code::Internal, "cholesky: LAPACK ", Names<T>::potrf, " refused argument ", -inf);
      // OpenBLAS's potf2 stops at a pivot ≤ 0 but not at a NaN one (NaN ≤ 0 is false): it runs on with
      // NaN. A NaN pivot makes its L[j, j] NaN and every later pivot NaN, the earlier ones untouched, so the
      // first L[j, j] that is not > 0 is the kernel's info.
      if (inf == 0)
        for (int64_t j = 0; j < n; ++j)
          if (!(M[j * n + j] > T(0))) {
            inf = static_cast<int>(j + 1);
            break;
          }
      info[b] = inf;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) M[i * n + j] = T(0);
    }
    return;
  }
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
