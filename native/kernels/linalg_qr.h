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

// Doubles of reduction scratch a lane group of `count` lanes needs (red below).
ANTLER_HD int64_t qrReductionSize(int64_t count) { return count < 1 ? 1 : count; }

// Householder QR of one row-major matrix A (m×n) by the lane group L. W
// (m·n) and tau (k) are scratch of T, red (qrReductionSize(L.count()))
// scratch of double; Q (m·qCols, or null when qCols is 0) and R (rRows·n) are
// written. ‖x‖² is accumulated in double (no overflow for float32 inputs).
template <typename T, typename Lanes>
ANTLER_HD void householderQr(const Lanes& L, const QrDims& d, const T* A, T* W, T* tau, double* red, T* Q, T* R) {
  const int64_t m = d.m, n = d.n, k = d.k, qc = d.qCols;
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t e = lane; e < m * n; e += count) W[e] = A[e];
  L.sync();
  for (int64_t j = 0; j < k; ++j) {
    // ‖x_1…‖² of column j below the diagonal, in lane-partial sums added in lane order.
    double part = 0;
    for (int64_t i = j + 1 + lane; i < m; i += count) {
      const double x = static_cast<double>(W[i * n + j]);
      part += x * x;
    }
    red[lane] = part;
    L.sync();
    if (lane == 0) {
      double s = 0;
      for (int64_t l = 0; l < count; ++l) s += red[l];
      const double alpha = static_cast<double>(W[j * n + j]);
      if (s == 0) {
        tau[j] = T(0);
        red[0] = 0;
      } else {
        const double beta = -copysign(sqrt(alpha * alpha + s), alpha);
        tau[j] = static_cast<T>((beta - alpha) / beta);
        red[0] = 1 / (alpha - beta);
        W[j * n + j] = static_cast<T>(beta);
      }
    }
    L.sync();
    const T scale = static_cast<T>(red[0]);
    const T t = tau[j];
    if (t != T(0))
      for (int64_t i = j + 1 + lane; i < m; i += count) W[i * n + j] *= scale;
    L.sync();
    // Columns right of j: c ← H_j c = c − τ v (vᵀ c), one lane per column.
    if (t != T(0))
      for (int64_t c = j + 1 + lane; c < n; c += count) {
        T w = W[j * n + c];
        for (int64_t i = j + 1; i < m; ++i) w += W[i * n + j] * W[i * n + c];
        w *= t;
        W[j * n + c] -= w;
        for (int64_t i = j + 1; i < m; ++i) W[i * n + c] -= W[i * n + j] * w;
      }
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
      for (int64_t c = j + lane; c < qc; c += count) {
        T w = Q[j * qc + c];
        for (int64_t i = j + 1; i < m; ++i) w += W[i * n + j] * Q[i * qc + c];
        w *= t;
        Q[j * qc + c] -= w;
        for (int64_t i = j + 1; i < m; ++i) Q[i * qc + c] -= W[i * n + j] * w;
      }
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
template <typename T>
inline void householderQr(const SerialLanes&, const QrDims& d, const T* A, T* W, T* tau, double* red, T* Q, T* R) {
  const int64_t m = d.m, n = d.n, k = d.k, qc = d.qCols;
  static thread_local std::vector<T> rowBuf;
  const int64_t wide = n > qc ? n : qc;
  if (static_cast<int64_t>(rowBuf.size()) < wide) rowBuf.resize(static_cast<size_t>(wide));
  T* __restrict w = rowBuf.data();
  for (int64_t e = 0; e < m * n; ++e) W[e] = A[e];
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t i = j + 1; i < m; ++i) {
      const double x = static_cast<double>(W[i * n + j]);
      s += x * x;
    }
    red[0] = s;
    const double alpha = static_cast<double>(W[j * n + j]);
    if (s == 0) {
      tau[j] = T(0);
      continue;
    }
    const double beta = -copysign(sqrt(alpha * alpha + s), alpha);
    const T t = static_cast<T>((beta - alpha) / beta);
    tau[j] = t;
    const T scale = static_cast<T>(1 / (alpha - beta));
    W[j * n + j] = static_cast<T>(beta);
    for (int64_t i = j + 1; i < m; ++i) W[i * n + j] *= scale;
    // w = (row j + Σ_i v_i row i)·τ over the columns right of j, then each row minus v_i w.
    const int64_t c0 = j + 1;
    for (int64_t c = c0; c < n; ++c) w[c] = W[j * n + c];
    for (int64_t i = j + 1; i < m; ++i) {
      const T vi = W[i * n + j];
      const T* __restrict row = W + i * n;
      for (int64_t c = c0; c < n; ++c) w[c] += vi * row[c];
    }
    for (int64_t c = c0; c < n; ++c) {
      w[c] *= t;
      W[j * n + c] -= w[c];
    }
    for (int64_t i = j + 1; i < m; ++i) {
      const T vi = W[i * n + j];
      T* __restrict row = W + i * n;
      for (int64_t c = c0; c < n; ++c) row[c] -= vi * w[c];
    }
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
    for (int64_t c = j; c < qc; ++c) w[c] = Q[j * qc + c];
    for (int64_t i = j + 1; i < m; ++i) {
      const T vi = W[i * n + j];
      const T* __restrict row = Q + i * qc;
      for (int64_t c = j; c < qc; ++c) w[c] += vi * row[c];
    }
    for (int64_t c = j; c < qc; ++c) {
      w[c] *= t;
      Q[j * qc + c] -= w[c];
    }
    for (int64_t i = j + 1; i < m; ++i) {
      const T vi = W[i * n + j];
      T* __restrict row = Q + i * qc;
      for (int64_t c = j; c < qc; ++c) row[c] -= vi * w[c];
    }
  }
}
#endif

}  // namespace antler::kernels
