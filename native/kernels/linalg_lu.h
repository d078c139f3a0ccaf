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

}  // namespace antler::kernels
