// Batched dense linear algebra: Householder QR.
// Math shared by the CPU (native/cpu/linalg_qr.cpp) and CUDA
// (native/cuda/linalg_qr.cu) backends, written against a lane group (lanes.h).
//
// LAPACK's convention (dgeqrf + dorgqr), so that Q and R are torch.linalg.qr's:
// for j = 0 … k − 1 (k = min(m, n)) the reflector H_j = I − τ_j v vᵀ (v_j = 1,
// v_i = 0 above j) maps column j's x = A[j:, j] to β e_1 with
//   β = −sign(α)·‖x‖ (α = x_0), τ = (β − α)/β, v = x/(α − β) below the diagonal,
// and H_j = I (τ = 0, R's diagonal entry α, of either sign) when x_1… are all
// zero (dlarfg). A = H_0 ⋯ H_{k−1} R, Q = (H_0 ⋯ H_{k−1}) I[:, :qCols] formed
// backwards (dorgqr). No division by zero on a zero column; no iteration, so
// NaN inputs give NaN outputs and never hang.
#pragma once
#include <cmath>
#include <cstdint>
#if !defined(__CUDACC__)
#include <vector>
#endif

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {

// One QR: A is m×n, k = min(m, n) reflectors; Q is m×qCols (k for 'reduced',
// m for 'complete', 0 when not formed); R is rRows×n (k, or m for 'complete').
struct QrDims {
  int64_t m, n, k, qCols, rRows;
};

// Doubles of reduction scratch a lane group of `count` lanes needs (red below):
// a (scale, sum of squares) pair per lane.
ANTLER_HD int64_t qrReductionSize(int64_t count) { return 2 * (count < 1 ? 1 : count); }

// ‖x‖ as LAPACK's dnrm2/dlassq keep it, scale·√ssq with scale = max |x_i|,
// so that neither squares of huge entries overflow nor those of tiny
// (float64) entries underflow to zero: adds x to one lane's (scale, ssq).
ANTLER_HD void qrAccumulate(double x, double& scale, double& ssq) {
  const double ax = fabs(x);
  if (ax > scale) {
    const double r = scale / ax;
    ssq = 1 + ssq * (r * r);
    scale = ax;
  } else if (ax != 0) {  // NaN included: it makes ssq NaN
    const double r = ax / scale;
    ssq += r * r;
  }
}

// dlarfg's reflector for column j from α and the lanes' (scale, ssq) pairs
// red[2l], red[2l + 1]: false (H = I, τ = 0) when x_1… are all zero, else τ,
// β and the v_i = (x_i / S)·rinv of the column scaled by S = max(|α|, |x_i|),
// where every quantity is of order 1 (no overflow or underflow short of β's
// own). An infinite entry gives LAPACK's NaN τ (and so NaN outputs).
ANTLER_HD bool qrReflector(double alpha, const double* red, int64_t count, double& tau, double& beta, double& S,
                                  double& rinv) {
  bool zero = true;
  S = fabs(alpha);
  for (int64_t l = 0; l < count; ++l) {
    if (red[2 * l + 1] != 0) zero = false;
    if (red[2 * l] > S) S = red[2 * l];
  }
  if (zero) return false;
  if (S > 1.7976931348623157e308) {  // an infinite entry: LAPACK's β = ∓∞, τ = NaN, v = x/∞ (0, NaN for ∞)
    tau = beta = rinv = S - S;
    beta = -copysign(S, alpha);
    rinv = 1;
    return true;
  }
  double s = 0;
  for (int64_t l = 0; l < count; ++l)
    if (red[2 * l + 1] != 0) {
      const double r = red[2 * l] / S;
      s += red[2 * l + 1] * (r * r);
    }
  const double a = alpha / S;
  const double b = -copysign(sqrt(a * a + s), a);
  tau = (b - a) / b;
  rinv = 1 / (a - b);
  beta = b * S;
  return true;
}

// Householder QR of one row-major matrix A (m×n) by the lane group L. W
// (m·n) and tau (k) are scratch of T, red (qrReductionSize(L.count()))
// scratch of double; Q (m·qCols, or null when qCols is 0) and R (rRows·n) are
// written. ‖x‖ is accumulated in double, scaled as LAPACK's dnrm2 (no
// overflow or underflow of the squares, float64 included).
// Column c of X (row stride ldx) ← (I − τ v vᵀ) column c on rows j … m − 1, v = (1, W[j + 1 …, j])
// (W's row stride n): c − τ v (vᵀ c). X may be W itself for a column right of j.
template <typename T>
ANTLER_HD void reflectColumn(int64_t m, int64_t n, int64_t j, const T* W, T t, T* X, int64_t ldx, int64_t c) {
  T w = X[j * ldx + c];
  for (int64_t i = j + 1; i < m; ++i) w += W[i * n + j] * X[i * ldx + c];
  w *= t;
  X[j * ldx + c] -= w;
  for (int64_t i = j + 1; i < m; ++i) X[i * ldx + c] -= W[i * n + j] * w;
}

template <typename T, typename Lanes>
ANTLER_HD void householderQr(const Lanes& L, const QrDims& d, const T* A, T* W, T* tau, double* red, T* Q, T* R) {
  const int64_t m = d.m, n = d.n, k = d.k, qc = d.qCols;
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t e = lane; e < m * n; e += count) W[e] = A[e];
  L.sync();
  for (int64_t j = 0; j < k; ++j) {
    // ‖x_1…‖ of column j below the diagonal as lane-partial (scale, ssq) pairs combined in lane order.
    double sc = 0, ssq = 0;
    for (int64_t i = j + 1 + lane; i < m; i += count) qrAccumulate(static_cast<double>(W[i * n + j]), sc, ssq);
    red[2 * lane] = sc;
    red[2 * lane + 1] = ssq;
    L.sync();
    if (lane == 0) {
      double tj, beta, S, rinv;
      if (!qrReflector(static_cast<double>(W[j * n + j]), red, count, tj, beta, S, rinv)) {
        tau[j] = T(0);
      } else {
        tau[j] = static_cast<T>(tj);
        W[j * n + j] = static_cast<T>(beta);
        red[0] = S;
        red[1] = rinv;
      }
    }
    L.sync();
    const T t = tau[j];
    if (t != T(0)) {
      const double S = red[0], rinv = red[1];
      for (int64_t i = j + 1 + lane; i < m; i += count)
        W[i * n + j] = static_cast<T>(static_cast<double>(W[i * n + j]) / S * rinv);
    }
    L.sync();
    // Columns right of j: c ← H_j c = c − τ v (vᵀ c), one lane per column.
    if (t != T(0))
      for (int64_t c = j + 1 + lane; c < n; c += count) reflectColumn(m, n, j, W, t, W, n, c);
    L.sync();
  }
  for (int64_t e = lane; e < d.rRows * n; e += count) {
    const int64_t i = e / n, c = e % n;
    R[e] = i <= c ? W[i * n + c] : T(0);
  }
  if (qc > 0) {
    for (int64_t e = lane; e < m * qc; e += count) Q[e] = (e / qc == e % qc) ? T(1) : T(0);
    L.sync();
    // Q = H_0 (H_1 (⋯ (H_{k−1} I))): H_j touches rows and columns j… only.
    for (int64_t j = k - 1; j >= 0; --j) {
      const T t = tau[j];
      if (t == T(0)) continue;  // the same for every lane
      for (int64_t c = j + lane; c < qc; c += count) reflectColumn(m, n, j, W, t, Q, qc, c);
      L.sync();
    }
  }
  L.sync();  // W and tau are reused by the group's next matrix
}

#if !defined(__CUDACC__)
// The same routine for one CPU thread: every entry is the same sum in the same
// order as the generic routine's (so the results are its to the bit); only the
// loops are reordered, so that the innermost runs along contiguous rows (the
// generic order walks a column, one entry per row, which thrashes the cache on
// large matrices).
// X ← (I − τ v vᵀ) X on rows j … m − 1 and columns c0 … c1 − 1 of X (row stride ldx), v = (1,
// W[j + 1 …, j]) (W's row stride n): w = (row j + Σ_i v_i row i)·τ, then each row minus v_i w. Rows
// walked contiguously; X may be W itself when the columns lie right of j.
template <typename T>
inline void reflectRows(int64_t m, int64_t n, int64_t j, const T* W, T t, T* X, int64_t ldx, int64_t c0, int64_t c1,
                        T* __restrict w) {
  for (int64_t c = c0; c < c1; ++c) w[c] = X[j * ldx + c];
  for (int64_t i = j + 1; i < m; ++i) {
    const T vi = W[i * n + j];
    const T* __restrict row = X + i * ldx;
    for (int64_t c = c0; c < c1; ++c) w[c] += vi * row[c];
  }
  for (int64_t c = c0; c < c1; ++c) {
    w[c] *= t;
    X[j * ldx + c] -= w[c];
  }
  for (int64_t i = j + 1; i < m; ++i) {
    const T vi = W[i * n + j];
    T* __restrict row = X + i * ldx;
    for (int64_t c = c0; c < c1; ++c) row[c] -= vi * w[c];
  }
}

template <typename T>
inline void householderQr(const SerialLanes&, const QrDims& d, const T* A, T* W, T* tau, double* red, T* Q, T* R) {
  const int64_t m = d.m, n = d.n, k = d.k, qc = d.qCols;
  static thread_local std::vector<T> rowBuf;
  const int64_t wide = n > qc ? n : qc;
  if (static_cast<int64_t>(rowBuf.size()) < wide) rowBuf.resize(static_cast<size_t>(wide));
  T* __restrict w = rowBuf.data();
  for (int64_t e = 0; e < m * n; ++e) W[e] = A[e];
  for (int64_t j = 0; j < k; ++j) {
    double sc = 0, ssq = 0;
    for (int64_t i = j + 1; i < m; ++i) qrAccumulate(static_cast<double>(W[i * n + j]), sc, ssq);
    red[0] = sc;
    red[1] = ssq;
    double tj, beta, S, rinv;
    if (!qrReflector(static_cast<double>(W[j * n + j]), red, 1, tj, beta, S, rinv)) {
      tau[j] = T(0);
      continue;
    }
    const T t = static_cast<T>(tj);
    tau[j] = t;
    W[j * n + j] = static_cast<T>(beta);
    for (int64_t i = j + 1; i < m; ++i) W[i * n + j] = static_cast<T>(static_cast<double>(W[i * n + j]) / S * rinv);
    reflectRows(m, n, j, W, t, W, n, j + 1, n, w);
  }
  for (int64_t e = 0; e < d.rRows * n; ++e) {
    const int64_t i = e / n, c = e % n;
    R[e] = i <= c ? W[i * n + c] : T(0);
  }
  if (qc == 0) return;
  for (int64_t e = 0; e < m * qc; ++e) Q[e] = (e / qc == e % qc) ? T(1) : T(0);
  for (int64_t j = k - 1; j >= 0; --j) {
    const T t = tau[j];
    if (t == T(0)) continue;
    reflectRows(m, n, j, W, t, Q, qc, j, qc, w);
  }
}
#endif

}  // namespace antler::kernels
