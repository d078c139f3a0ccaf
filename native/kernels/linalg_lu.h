// Batched dense linear algebra: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky.
// Math shared by the CPU (native/cpu/linalg_lu.cpp) and CUDA
// (native/cuda/linalg_lu.cu) backends, written against a lane group (lanes.h).
#pragma once
#include <cstdint>

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {

// A strided view of one matrix: element (i, j) at p[i·rs + j·cs].
template <typename T>
struct MatView {
  T* p;
  int64_t rs, cs;
  ANTLER_HD T& operator()(int64_t i, int64_t j) const { return p[i * rs + j * cs]; }
};

// Triangular solve of one system, in place: A X = B with A n×n triangular (upper or lower; its
// diagonal taken as 1 and never read when unit; the other triangle never read) and X n×k holding B
// on entry and the solution on exit. Substitution by columns of A (LAPACK trsm's order for A X = B):
// for each pivot row i in elimination order, row i of X is divided by a(i, i), then a(j, i)·x(i, ·)
// is subtracted from every row j still to solve. Lanes split each phase's entries; two syncs per
// row. A zero diagonal gives ±inf/NaN as LAPACK's (no check: torch's solve_triangular has none).
// The right-hand form X A = B is this one on the transposed views (Aᵀ Xᵀ = Bᵀ, upper flipped).
template <typename Lanes, typename T>
ANTLER_HD void lanesTriangularSolve(const Lanes& L, int64_t n, int64_t k, MatView<const T> A, MatView<T> X, bool upper,
                                    bool unit) {
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t s = 0; s < n; ++s) {
    const int64_t i = upper ? n - 1 - s : s;
    if (!unit) {
      const T d = A(i, i);
      for (int64_t c = lane; c < k; c += count) X(i, c) = X(i, c) / d;
      L.sync();
    }
    // Rows still to solve: j < i (upper) or j > i (lower).
    const int64_t j0 = upper ? 0 : i + 1, rows = upper ? i : n - 1 - i;
    for (int64_t e = lane; e < rows * k; e += count) {
      const int64_t j = j0 + e / k, c = e % k;
      X(j, c) = X(j, c) - A(j, i) * X(i, c);
    }
    L.sync();
  }
}

// One matrix of the batched triangular solve (core/backend.h's triangularSolve): A n×n row-major,
// B and X row-major n×k (left: A X = B) or k×n (right: X A = B); X receives B's copy, then the solve.
template <typename Lanes, typename T>
ANTLER_HD void lanesTriangularSolveMatrix(const Lanes& L, int64_t n, int64_t k, const T* A, const T* B, T* X,
                                          bool upper, bool left, bool unit) {
  for (int64_t e = L.lane(); e < n * k; e += L.count()) X[e] = B[e];
  L.sync();
  if (left) {
    lanesTriangularSolve(L, n, k, MatView<const T>{A, n, 1}, MatView<T>{X, k, 1}, upper, unit);
  } else {
    // X A = B ⟺ Aᵀ Xᵀ = Bᵀ: Aᵀ is lower when A is upper; Xᵀ is n×k over the k×n row-major X.
    lanesTriangularSolve(L, n, k, MatView<const T>{A, 1, n}, MatView<T>{X, 1, n}, !upper, unit);
  }
}

// Partial pivoting's row in column k of a matrix of `rows` rows stored with row stride ld: the first
// row i ≥ k of the largest |M(i, k)| (BLAS iamax's choice; a NaN is never preferred to a number after
// it). Also the dense ELK step's Gauss–Jordan inverse (elk_dense.h).
template <typename T>
ANTLER_HD int64_t pivotRow(const T* M, int64_t rows, int64_t ld, int64_t k) {
  int64_t p = k;
  T best = M[k * ld + k] < T(0) ? -M[k * ld + k] : M[k * ld + k];
  for (int64_t i = k + 1; i < rows; ++i) {
    const T v = M[i * ld + k] < T(0) ? -M[i * ld + k] : M[i * ld + k];
    if (v > best) {
      best = v;
      p = i;
    }
  }
  return p;
}

// LU factorisation with partial pivoting of one m×n row-major matrix, in place (LAPACK getrf's
// result): A = P L U with L unit lower m×min(m, n) below the diagonal, U upper min(m, n)×n on and
// above it. piv[j] (1-based, min(m, n) of them) is the row swapped with row j at step j: the first
// row of the largest |a(i, j)|, i ≥ j (BLAS iamax's choice; a NaN is never preferred to a number
// after it). A zero pivot column skips its swap and scaling (LAPACK's) and sets *info to the first
// such step + 1 (else 0). Right-looking elimination: lane 0 searches the pivot and publishes it in
// piv (global/shared memory seen by every lane after sync), lanes split the swap, the column
// scaling and the rank-1 update.
template <typename Lanes, typename T>
ANTLER_HD void lanesLuFactor(const Lanes& L, int64_t m, int64_t n, T* A, int32_t* piv, int32_t* info) {
  const int64_t lane = L.lane(), count = L.count(), kmin = m < n ? m : n;
  if (lane == 0) *info = 0;
  for (int64_t j = 0; j < kmin; ++j) {
    if (lane == 0) {
      const int64_t p = pivotRow(A, m, n, j);
      piv[j] = static_cast<int32_t>(p + 1);
      if (A[p * n + j] == T(0) && *info == 0) *info = static_cast<int32_t>(j + 1);
    }
    L.sync();
    const int64_t p = piv[j] - 1;
    const bool zero = A[p * n + j] == T(0);
    L.sync();  // every lane has read the pivot before the swap moves it
    if (zero) continue;  // every lane read the same value: all skip, no lane waits alone
    if (p != j)
      for (int64_t c = lane; c < n; c += count) {
        const T t = A[j * n + c];
        A[j * n + c] = A[p * n + c];
        A[p * n + c] = t;
      }
    L.sync();
    const T pivot = A[j * n + j];
    for (int64_t i = j + 1 + lane; i < m; i += count) A[i * n + j] = A[i * n + j] / pivot;
    L.sync();
    // Rounded twice (mulRn, addRn), not fused into an FMA by nvcc: CUDA's factors, pivots and info
    // equal the CPU's bit for bit (an exactly singular matrix gives a zero pivot on both, and ties
    // in |a| break alike).
    const int64_t rows = m - j - 1, cols = n - j - 1;
    for (int64_t e = lane; e < rows * cols; e += count) {
      const int64_t i = j + 1 + e / cols, c = j + 1 + e % cols;
      A[i * n + c] = addRn(A[i * n + c], -mulRn(A[i * n + j], A[j * n + c]));
    }
    L.sync();
  }
}

// The permutation of an LU factorisation's pivots (k of them, 1-based) on m rows: perm[i] is the row
// of A that row i of Pᵀ A = L U came from (the swaps applied in order to 0 … m − 1). Serial (lane 0):
// O(m + k). A pivot outside [1, m] is not applied.
template <typename Lanes>
ANTLER_HD void lanesLuPermutation(const Lanes& L, int64_t m, int64_t k, const int32_t* piv, int32_t* perm) {
  if (L.lane() != 0) return;
  for (int64_t i = 0; i < m; ++i) perm[i] = static_cast<int32_t>(i);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t p = static_cast<int64_t>(piv[i]) - 1;
    if (p < 0 || p >= m || p == i) continue;
    const int32_t t = perm[i];
    perm[i] = perm[p];
    perm[p] = t;
  }
}

// Cholesky factorisation of one symmetric n×n row-major matrix, in place (LAPACK potrf, lower):
// M holds A on entry (its lower triangle read) and L with A = L Lᵀ on exit, the strict upper
// triangle zeroed. A leading minor that is not positive definite (a pivot ≤ 0 or NaN) stops the
// factorisation with *info = its order (LAPACK's), L then holding the columns done so far and
// the partly updated rest; else *info = 0. Right-looking: per column, the square root, the
// column's division and the trailing lower update, lanes splitting each phase.
template <typename Lanes, typename T>
ANTLER_HD void lanesCholesky(const Lanes& L, int64_t n, T* M, int32_t* info) {
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t e = lane; e < n * n; e += count)
    if (e % n > e / n) M[e] = T(0);
  if (lane == 0) *info = 0;
  L.sync();
  for (int64_t j = 0; j < n; ++j) {
    const T d = M[j * n + j];
    if (!(d > T(0))) {
      if (lane == 0) *info = static_cast<int32_t>(j + 1);
      return;  // every lane read the same d: all return
    }
    const T s = ::sqrt(d);
    L.sync();  // every lane has read M[j, j] before lane 0 overwrites it
    if (lane == 0) M[j * n + j] = s;
    for (int64_t i = j + 1 + lane; i < n; i += count) M[i * n + j] = M[i * n + j] / s;
    L.sync();
    // Trailing update of the lower triangle: M[i, c] −= M[i, j]·M[c, j], j < c ≤ i.
    const int64_t r = n - j - 1;
    for (int64_t e = lane; e < r * r; e += count) {
      const int64_t i = j + 1 + e / r, c = j + 1 + e % r;
      if (c <= i) M[i * n + c] = M[i * n + c] - M[i * n + j] * M[c * n + j];
    }
    L.sync();
  }
}

}  // namespace antler::kernels
