// Batched dense linear algebra: symmetric eigendecomposition (eigh) and SVD.
// Math shared by the CPU (native/cpu/linalg_spectral.cpp) and CUDA
// (native/cuda/linalg_spectral.cu) backends, written against a lane group (lanes.h).
//
// Both are Jacobi methods with the parallel (round-robin, "tournament") ordering:
// a sweep is N − 1 rounds (N = n rounded up to even), each round pairs every index
// with exactly one other (one pair holds the dummy index n when n is odd), so the
// N/2 rotations of a round touch disjoint rows/columns and are applied at once:
// lanes first over the pairs (the rotation angles), then over (pair, row/column).
// Arithmetic is in double whatever the storage type (float32 inputs get float64
// accuracy before the final rounding), on the matrix scaled by a power of two to
// a largest |entry| in [0.5, 1) (no overflow or underflow for extreme scales).
//  - eigh: cyclic two-sided Jacobi on the symmetric matrix (read from its lower
//    or upper triangle), accumulating V (when asked); a pair is rotated unless its entry is
//    negligible (|a_pq| ≤ eps64·√|a_pp a_qq|, Demmel–Veselić, which keeps the
//    small eigenvalues of graded positive definite matrices relatively accurate;
//    from sweep kEighFloorSweep on also ≤ eps64·‖A‖_F/n, so that a cluster of
//    eigenvalues near 0 cannot keep rounding noise rotating: applied from the
//    start, that floor cost graded matrices all relative accuracy), the rotated
//    entry is set to 0, and a sweep with no rotation ends it; eigenvalues
//    ascending, eigenvectors as columns. Above n = kEighTridiagMin, eigh is
//    linalg_tridiag.h's instead (Householder tridiagonalisation and implicit QR).
//  - SVD: one-sided Jacobi (Hestenes) on the columns of G = A (m ≥ n) or Aᵀ
//    (m < n): column pairs are rotated until every pair is orthogonal to
//    M·eps64 relative to their norms; the norms are the singular values
//    (descending), the normalised columns the left vectors; columns for zero
//    singular values and the extra columns of full matrices complete an
//    orthonormal basis (Gram–Schmidt against the unit vectors, lane 0). From min(m, n) = kSvdBidiagMinN on, the
//    SVD is linalg_bidiag.h's instead (Householder bidiagonalisation and bidiagonal QR).
// Both stop after kSpectralMaxSweeps sweeps; a matrix that did not converge or
// holds a non-finite value gets info = 1 and NaN outputs (so NaN input ends).
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"
#include "lanes.h"
#include "linalg_tridiag.h"

namespace antler::kernels {

constexpr int kSpectralMaxSweeps = 60;
// The sweep from which eigh also skips entries below its absolute floor (graded matrices converge under the
// relative criterion alone in ≤ 8 sweeps up to n = 48, random ones in ≤ 10 up to n = 128).
constexpr int kEighFloorSweep = 10;
constexpr double kSpectralEps = 2.220446049250313e-16;
// eigh above this n takes the O(n³) route of linalg_tridiag.h (Householder tridiagonalisation, implicit QR) instead
// of Jacobi. Measured (one float64 random symmetric matrix, one CPU thread, g++ -O3, best of 20; ms, eigh/eigvalsh):
//   n        8            16           24           32           48           64           128
//   Jacobi   0.017/0.017  0.147/0.145  0.577/0.569  1.43/1.43    12.6/8.9     33.2/32.8    190/215
//   tridiag  0.003/0.003  0.013/0.010  0.032/0.023  0.058/0.040  0.145/0.091  0.293/0.169  1.85/0.86
// The new route is faster at every n, so accuracy sets the threshold: Jacobi keeps the small eigenvalues of graded
// positive definite matrices relatively accurate, the tridiagonal route only to eps·‖A‖ (D·M·D with d_i = 10^(2i),
// n = 8: relative error 3e8 in the smallest eigenvalue where Jacobi's agree with the relative reference to 1e-12),
// and Jacobi still costs under 1.5 ms up to n = 32, above which its sweeps grow steeply.
constexpr int64_t kEighTridiagMin = 32;

// The index at position pos of round r of the round-robin schedule over N (even) indices: position 0 stays,
// the others rotate.
ANTLER_HD int64_t roundRobinIndex(int64_t pos, int64_t r, int64_t N) {
  return pos == 0 ? 0 : 1 + (pos - 1 + r) % (N - 1);
}

// Pair k of round r: p < q (q may be the dummy index N − 1 ≥ n when n is odd).
ANTLER_HD void roundRobinPair(int64_t k, int64_t r, int64_t N, int64_t& p, int64_t& q) {
  const int64_t a = roundRobinIndex(k, r, N), b = roundRobinIndex(N - 1 - k, r, N);
  p = a < b ? a : b;
  q = a < b ? b : a;
}

// t = tan θ of the rotation solving t² + 2ζt − 1 = 0, the smaller root (|θ| ≤ π/4).
ANTLER_HD double jacobiTangent(double zeta) {
  const double az = fabs(zeta);
  if (az > 1e150) return 0.5 / zeta;
  const double t = 1.0 / (az + sqrt(1.0 + az * az));
  return zeta < 0 ? -t : t;
}

// The end of a sweep: whether any lane rotated (red[0], which the lanes set during the sweep), then red[0]
// cleared for the next one. Every lane gets the same answer; it ends synced.
template <typename Lanes>
ANTLER_HD bool sweepRotated(const Lanes& L, double* red) {
  const double rotated = red[0];
  L.sync();
  if (L.lane() == 0) red[0] = 0;
  L.sync();
  return rotated != 0;
}

// Scales x[0 … size) by a power of two (exact) so that its largest |entry| is in [0.5, 1): no overflow of sums of
// squares, no underflow of the products of a tiny matrix. Returns the factor that undoes it (1 when x is 0 or
// holds a non-finite value, which the callers report). All lanes call it; it ends synced.
template <typename Lanes>
ANTLER_HD double lanesScaleUnit(const Lanes& L, int64_t size, double* x, double* slot) {
  if (L.lane() == 0) {
    double amax = 0;
    for (int64_t e = 0; e < size; ++e) amax = fabs(x[e]) > amax ? fabs(x[e]) : amax;
    int ex = 0;
    if (amax > 0 && amax <= 1.7e308) frexp(amax, &ex);
    *slot = ex;
  }
  L.sync();
  // ldexp, not a multiply by 2^−ex: for a subnormal largest entry (ex < −1021) 2^−ex overflows to +inf.
  const int ex = static_cast<int>(*slot);
  if (ex != 0)
    for (int64_t e = L.lane(); e < size; e += L.count()) x[e] = ldexp(x[e], -ex);
  L.sync();
  return ldexp(1.0, ex);
}

// Doubles of scratch lanesEigh needs for an n×n matrix (V's n×n only when `vectors`; the tridiagonal route's work
// above kEighTridiagMin).
ANTLER_HD int64_t eighScratchSize(int64_t n, bool vectors) {
  const int64_t N = n + (n & 1);
  return (vectors ? 2 : 1) * n * n + N + 4 + (n > kEighTridiagMin ? tridiagScratchSize(n) : 0);
}

// Writes the ascending order of d[0 … n) (stride `stride`) into perm as doubles (lane 0 only; selection, O(n²)).
ANTLER_HD void sortOrder(int64_t n, const double* d, int64_t stride, double* perm, bool descending) {
  for (int64_t i = 0; i < n; ++i) perm[i] = static_cast<double>(i);
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = i;
    for (int64_t j = i + 1; j < n; ++j) {
      const double a = d[static_cast<int64_t>(perm[j]) * stride], b = d[static_cast<int64_t>(perm[best]) * stride];
      if (descending ? a > b : a < b) best = j;
    }
    const double t = perm[i];
    perm[i] = perm[best];
    perm[best] = t;
  }
}

// Symmetric eigendecomposition of the n×n row-major A (its lower triangle, or its upper when `upper`): w [n]
// ascending, V [n, n] with the eigenvectors as columns (when `vectors`; else the rotations are not accumulated),
// info (0, or 1 when not converged or non-finite: then w and V are NaN). s: eighScratchSize(n, vectors) doubles.
// Above kEighTridiagMin the Jacobi sweeps give way to lanesTridiagEigen (same loading, scaling, checks and output).
template <typename T, typename Lanes>
ANTLER_HD void lanesEigh(const Lanes& L, int64_t n, const T* A, bool upper, bool vectors, T* w, T* V, int32_t* info,
                         double* s) {
  const int64_t N = n + (n & 1), half = N / 2;
  double* a = s;
  double* v = a + n * n;                        // n×n, only when vectors
  double* cs = a + (vectors ? 2 : 1) * n * n;   // N: (c, s) per pair, later the permutation
  double* red = cs + N;     // [0]: state (0 go on, 1 converged, 2 failed)
  double* work = red + 4;   // lanesTridiagEigen's, above kEighTridiagMin
  const bool tridiag = n > kEighTridiagMin;
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t e = lane; e < n * n; e += count) {
    const int64_t i = e / n, j = e % n;
    const bool mine = upper ? i <= j : i >= j;
    a[e] = static_cast<double>(mine ? A[e] : A[j * n + i]);
    if (vectors) v[e] = i == j ? 1.0 : 0.0;
  }
  L.sync();
  const double undo = lanesScaleUnit(L, n * n, a, red + 3);
  if (lane == 0) {
    double all = 0;
    for (int64_t e = 0; e < n * n; ++e) all += a[e] * a[e];
    red[0] = 0;
    red[1] = all <= 1.7e308 ? 1.0 : 0.0;   // finite (NaN compares false)
    red[2] = kSpectralEps * sqrt(all) / static_cast<double>(n > 0 ? n : 1);   // the absolute floor
  }
  L.sync();
  bool ok = red[1] != 0;
  const double floor = red[2];
  if (tridiag && ok) ok = lanesTridiagEigen(L, n, a, vectors ? v : nullptr, work);   // v: the eigenvectors as rows
  for (int sweep = 0; ok && n > 1 && !tridiag; ++sweep) {
    const double fl = sweep >= kEighFloorSweep ? floor : 0.0;
    for (int64_t r = 0; r < N - 1; ++r) {
      for (int64_t k = lane; k < half; k += count) {
        int64_t p, q;
        roundRobinPair(k, r, N, p, q);
        double c = 1, sn = 0;
        const double apq = q < n ? a[p * n + q] : 0.0;
        if (fabs(apq) > fl && fabs(apq) > kSpectralEps * sqrt(fabs(a[p * n + p])) * sqrt(fabs(a[q * n + q]))) {
          red[0] = 1;
          const double t = jacobiTangent((a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]));
          c = 1 / sqrt(1 + t * t);
          sn = t * c;
        }
        cs[2 * k] = c;
        cs[2 * k + 1] = sn;
      }
      L.sync();
      for (int64_t e = lane; e < half * n; e += count) {   // rows p, q: Jᵀ A
        const int64_t k = e / n, j = e % n;
        int64_t p, q;
        roundRobinPair(k, r, N, p, q);
        if (q >= n) continue;
        const double c = cs[2 * k], sn = cs[2 * k + 1], x = a[p * n + j], y = a[q * n + j];
        a[p * n + j] = c * x - sn * y;
        a[q * n + j] = sn * x + c * y;
      }
      L.sync();
      for (int64_t e = lane; e < half * n; e += count) {   // columns p, q: (Jᵀ A) J and V J
        const int64_t k = e / n, i = e % n;
        int64_t p, q;
        roundRobinPair(k, r, N, p, q);
        if (q >= n) continue;
        const double c = cs[2 * k], sn = cs[2 * k + 1];
        double x = a[i * n + p], y = a[i * n + q];
        a[i * n + p] = c * x - sn * y;
        a[i * n + q] = sn * x + c * y;
        if (sn != 0 && i == p) a[i * n + q] = 0;   // what the rotation annihilates (exactly, but for rounding)
        if (sn != 0 && i == q) a[i * n + p] = 0;
        if (!vectors) continue;
        x = v[i * n + p];
        y = v[i * n + q];
        v[i * n + p] = c * x - sn * y;
        v[i * n + q] = sn * x + c * y;
      }
      L.sync();
    }
    if (!sweepRotated(L, red)) break;
    if (sweep + 1 >= kSpectralMaxSweeps) ok = false;
  }
  // The eigenvalues: a's diagonal (Jacobi) or work[0 … n); component i of eigenvector j at v[i·vi + j·vj].
  const double* ev = tridiag ? work : a;
  const int64_t evStride = tridiag ? 1 : n + 1, vi = tridiag ? 1 : n, vj = tridiag ? n : 1;
  if (lane == 0) sortOrder(n, ev, evStride, cs, false);
  L.sync();
  const double nan = NAN;
  for (int64_t i = lane; i < n; i += count) {
    const int64_t pi = static_cast<int64_t>(cs[i]);
    w[i] = static_cast<T>(ok ? ev[pi * evStride] * undo : nan);
  }
  if (vectors)
    for (int64_t e = lane; e < n * n; e += count) {
      const int64_t i = e / n, j = e % n;
      V[e] = static_cast<T>(ok ? v[i * vi + static_cast<int64_t>(cs[j]) * vj] : nan);
    }
  if (lane == 0) *info = ok ? 0 : 1;
  L.sync();
}

// From min(m, n) = kSvdBidiagMinN on, lanesSvd is lanesSvdBidiag (linalg_bidiag.h: Householder bidiagonalisation and
// bidiagonal QR, O(M·N²)) rather than one-sided Jacobi (O(M·N²) per sweep, ≈ 6…10 sweeps). One float64 matrix on one
// CPU thread (SerialLanes, g++ -O3, CPU time, best of several), Jacobi / bidiagonal in ms, svd reduced (svdvals):
//   N×N:    8: 0.016 / 0.004 (0.009 / 0.003)   16: 0.17 / 0.020 (0.094 / 0.014)   32: 1.6 / 0.086 (0.82 / 0.054)
//           64: 14 / 0.49 (7.3 / 0.25)         128: 123 / 3.2 (65 / 1.3)
//   4N×N:   8: 0.039 / 0.007 (0.031 / 0.005)   16: 0.38 / 0.042 (0.31 / 0.024)   32: 3.5 / 0.25 (2.8 / 0.13)
//           64: 32 / 1.6 (26 / 0.72)           128: 287 / 11 (232 / 4.7)
// The bidiagonal path is faster on the CPU at every size measured (4× at 8); below 16 Jacobi stays all the same, so
// that batches of tiny matrices keep its relative accuracy (small singular values of graded matrices) and, on CUDA
// (not measured: no GPU here), its parallel rounds, where the bidiagonal QR's bulge chase runs on one lane.
constexpr int64_t kSvdBidiagMinN = 16;

template <typename T, typename Lanes>
ANTLER_HD void lanesSvdBidiag(const Lanes& L, int64_t m, int64_t n, const T* A, bool full, bool vectors, T* U, T* S,
                              T* Vh, int32_t* info, double* s);
ANTLER_HD int64_t svdBidiagScratchSize(int64_t m, int64_t n, bool full, bool vectors);

// Doubles of scratch lanesSvd needs for an m×n matrix: G's left factor Uw is M×M for full matrices, M×N reduced.
ANTLER_HD int64_t svdScratchSize(int64_t m, int64_t n, bool full, bool vectors) {
  const int64_t M = m > n ? m : n, N = m > n ? n : m, Np = N + (N & 1);
  if (N >= kSvdBidiagMinN) return svdBidiagScratchSize(m, n, full, vectors);
  return M * N + N + Np + 4 + (vectors ? N * N + M * (full ? M : N) + 2 * M : 0);
}

// Completes columns [0, cols) of the column-major M×cols matrix Uw: the columns with have[j] == 0 become unit
// vectors orthogonal to every other column (Gram–Schmidt, twice, of a unit vector e_i: the first whose residual
// norm exceeds 1/2, else the one with the largest, which is at least √(missing/M)). tmp: M doubles. Lane 0.
ANTLER_HD double basisResidual(int64_t M, int64_t cols, int64_t j, const double* Uw, const double* have, int64_t i,
                               double* tmp) {
  for (int64_t r = 0; r < M; ++r) tmp[r] = r == i ? 1.0 : 0.0;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t c = 0; c < cols; ++c) {
      if (c == j || (have[c] == 0 && c > j)) continue;
      double d = 0;
      for (int64_t r = 0; r < M; ++r) d += Uw[c * M + r] * tmp[r];
      for (int64_t r = 0; r < M; ++r) tmp[r] -= d * Uw[c * M + r];
    }
  double nrm = 0;
  for (int64_t r = 0; r < M; ++r) nrm += tmp[r] * tmp[r];
  return sqrt(nrm);
}

ANTLER_HD void completeBasis(int64_t M, int64_t cols, double* Uw, const double* have, double* tmp) {
  int64_t start = 0;
  for (int64_t j = 0; j < cols; ++j) {
    if (have[j] != 0) continue;
    int64_t best = -1;
    double bestNorm = -1;
    for (int64_t t = 0; t < M; ++t) {
      const int64_t i = (start + t) % M;
      const double nrm = basisResidual(M, cols, j, Uw, have, i, tmp);
      if (nrm > bestNorm) {
        bestNorm = nrm;
        best = i;
      }
      if (nrm > 0.5) break;
    }
    if (best < 0) continue;
    const double nrm = basisResidual(M, cols, j, Uw, have, best, tmp);
    for (int64_t r = 0; r < M; ++r) Uw[j * M + r] = tmp[r] / nrm;
    start = best + 1;
  }
}

// SVD of the m×n row-major A: S [k] descending (k = min(m, n)); when `vectors`, U [m, uc] and Vh [vr, n] row-major
// with uc = vr = k (reduced) or uc = m, vr = n (full). info 0, or 1 when not converged or non-finite (then every
// output is NaN). s: svdScratchSize(m, n, full, vectors) doubles.
template <typename T, typename Lanes>
ANTLER_HD void lanesSvd(const Lanes& L, int64_t m, int64_t n, const T* A, bool full, bool vectors, T* U, T* S, T* Vh,
                        int32_t* info, double* s) {
  if ((m < n ? m : n) >= kSvdBidiagMinN) {
    lanesSvdBidiag(L, m, n, A, full, vectors, U, S, Vh, info, s);
    return;
  }
  const bool trans = m < n;
  const int64_t M = trans ? n : m, N = trans ? m : n, Np = N + (N & 1), half = Np / 2;
  double* G = s;              // M×N column-major
  double* sv = G + M * N;     // N
  double* cs = sv + N;        // Np: (c, s) per pair, later the permutation
  double* red = cs + Np;      // [0]: rotated in this sweep; [1]: state
  double* Vw = red + 4;       // N×N column-major (vectors)
  double* Uw = Vw + N * N;    // M×uc column-major (vectors; uc = M full, N reduced): G's left vectors, completed
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t e = lane; e < M * N; e += count) {
    const int64_t j = e / M, i = e % M;   // G[i][j] = A[i][j], or Aᵀ[i][j] = A[j][i]
    G[e] = static_cast<double>(trans ? A[j * n + i] : A[i * n + j]);
  }
  if (vectors)
    for (int64_t e = lane; e < N * N; e += count) Vw[e] = e / N == e % N ? 1.0 : 0.0;
  if (lane == 0) red[0] = 0;
  L.sync();
  const double undo = lanesScaleUnit(L, M * N, G, red + 3);
  bool ok = true;
  for (int sweep = 0; N > 1; ++sweep) {
    for (int64_t r = 0; r < Np - 1; ++r) {
      for (int64_t k = lane; k < half; k += count) {
        int64_t p, q;
        roundRobinPair(k, r, Np, p, q);
        double c = 1, sn = 0;
        if (q < N) {
          const double* gp = G + p * M;
          const double* gq = G + q * M;
          double al = 0, be = 0, ga = 0;
          for (int64_t i = 0; i < M; ++i) {
            al += gp[i] * gp[i];
            be += gq[i] * gq[i];
            ga += gp[i] * gq[i];
          }
          if (fabs(ga) > static_cast<double>(M) * kSpectralEps * sqrt(al) * sqrt(be)) {
            const double t = jacobiTangent((be - al) / (2 * ga));
            c = 1 / sqrt(1 + t * t);
            sn = t * c;
            red[0] = 1;
          }
        }
        cs[2 * k] = c;
        cs[2 * k + 1] = sn;
      }
      L.sync();
      const int64_t rows = vectors ? M + N : M;
      for (int64_t e = lane; e < half * rows; e += count) {
        const int64_t k = e / rows, i = e % rows;
        int64_t p, q;
        roundRobinPair(k, r, Np, p, q);
        if (q >= N || cs[2 * k + 1] == 0) continue;
        const double c = cs[2 * k], sn = cs[2 * k + 1];
        double* X = i < M ? G : Vw;
        const int64_t ld = i < M ? M : N, ii = i < M ? i : i - M;
        const double x = X[p * ld + ii], y = X[q * ld + ii];
        X[p * ld + ii] = c * x - sn * y;
        X[q * ld + ii] = sn * x + c * y;
      }
      L.sync();
    }
    if (!sweepRotated(L, red)) break;
    if (sweep + 1 >= kSpectralMaxSweeps) {
      ok = false;
      break;
    }
  }
  for (int64_t j = lane; j < N; j += count) {
    double nrm = 0;
    for (int64_t i = 0; i < M; ++i) nrm += G[j * M + i] * G[j * M + i];
    sv[j] = sqrt(nrm);
  }
  L.sync();
  if (lane == 0) {
    bool finite = true;
    for (int64_t j = 0; j < N; ++j) finite = finite && sv[j] <= 1.7e308;
    red[1] = ok && finite ? 1.0 : 0.0;
    sortOrder(N, sv, 1, cs, true);
  }
  L.sync();
  ok = red[1] != 0;
  const double nan = NAN;
  for (int64_t j = lane; j < N; j += count) S[j] = static_cast<T>(ok ? sv[static_cast<int64_t>(cs[j])] * undo : nan);
  if (vectors) {
    const int64_t uc = full ? M : N;   // columns of G's left factor
    // Uw column j = G column perm[j] / its norm (zero singular values: marked for completion in red… via sv).
    for (int64_t e = lane; e < M * N; e += count) {
      const int64_t j = e / M, i = e % M, pj = static_cast<int64_t>(cs[j]);
      const double d = sv[pj];
      Uw[e] = d > 0 && ok ? G[pj * M + i] / d : 0.0;
    }
    L.sync();
    if (lane == 0 && ok) {
      double* have = Uw + M * uc;   // uc flags, then M of completeBasis's vector
      double* tmp = have + M;
      for (int64_t j = 0; j < uc; ++j) have[j] = j < N && sv[static_cast<int64_t>(cs[j])] > 0 ? 1.0 : 0.0;
      completeBasis(M, uc, Uw, have, tmp);
    }
    L.sync();
    // G's right factor in the permuted order: column j of Vw' = Vw column perm[j] (N×N).
    // A = G: U = Uw (m×uc), Vh = Vw'ᵀ (N×N = n×n). A = Gᵀ: U = Vw' (N×N = m×m), Vh = Uwᵀ (uc×M = vr×n).
    const int64_t ucA = trans ? N : uc, vrA = trans ? uc : N;
    for (int64_t e = lane; e < m * ucA; e += count) {
      const int64_t i = e / ucA, j = e % ucA;
      const double x = trans ? Vw[static_cast<int64_t>(cs[j]) * N + i] : Uw[j * M + i];
      U[e] = static_cast<T>(ok ? x : nan);
    }
    for (int64_t e = lane; e < vrA * n; e += count) {
      const int64_t j = e / n, i = e % n;
      const double x = trans ? Uw[j * M + i] : Vw[static_cast<int64_t>(cs[j]) * N + i];
      Vh[e] = static_cast<T>(ok ? x : nan);
    }
  }
  if (lane == 0) *info = ok ? 0 : 1;
  L.sync();
}

}  // namespace antler::kernels

#include "linalg_bidiag.h"   // lanesSvdBidiag, declared above
