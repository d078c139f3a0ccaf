// The matrix exponential of one m×m matrix (row-major), shared by the CPU and
// CUDA backends: Padé approximation with scaling and squaring (Higham, "The
// scaling and squaring method for the matrix exponential revisited", SIAM J.
// Matrix Anal. Appl. 26(4), 2005):
//   1. ‖A‖₁ picks the lowest Padé degree d whose bound θ_d covers it; past the
//      largest, A is scaled by 2^−s so that ‖A/2^s‖₁ ≤ θ_max;
//   2. r_d(X) = (V − U)⁻¹ (V + U), U the odd and V the even part of the
//      degree-d Padé numerator Σ p_j X^j, p_j = (2d−j)! d! / ((2d)! j! (d−j)!);
//      the solve is an LU factorisation with partial pivoting;
//   3. the result is squared s times.
// Degrees and bounds θ_d are the paper's: 3, 5, 7, 9, 13 in double precision,
// 3, 5, 7 in single. A non-finite entry gives an all-NaN result (the DEER
// solver reads it as divergence), as does a column sum above 1e300.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// Scratch entries expmOne needs for an m×m matrix: 9 m×m slots.
ANTLER_HD int64_t expmWorkSize(int64_t m) { return 9 * m * m; }

template <typename T>
struct ExpmDegrees;
template <>
struct ExpmDegrees<double> {
  static constexpr int count = 5;
  ANTLER_HD static int degree(int i) {
    const int d[5] = {3, 5, 7, 9, 13};
    return d[i];
  }
  ANTLER_HD static double theta(int i) {
    const double t[5] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1, 2.097847961257068e0,
                         5.371920351148152e0};
    return t[i];
  }
};
template <>
struct ExpmDegrees<float> {
  static constexpr int count = 3;
  ANTLER_HD static int degree(int i) {
    const int d[3] = {3, 5, 7};
    return d[i];
  }
  ANTLER_HD static double theta(int i) {
    const double t[3] = {4.258730016922831e-1, 1.880152677804762e0, 3.925724783138660e0};
    return t[i];
  }
};

// An m×m scratch matrix whose entry i lives at p[i · stride]: stride 1 on
// the CPU; on the GPU the launch's threads interleave their scratch (stride =
// the threads in the launch), so a warp's accesses to one entry are adjacent.
template <typename T>
struct ExpmSlot {
  T* p;
  int64_t stride;
  ANTLER_HD T& operator[](int64_t i) const { return p[i * stride]; }
};

// c = a · b, all m×m row-major (pointers or slots); c must not alias a or b.
template <typename A, typename B, typename C>
ANTLER_HD void expmMatmul(const A& a, const B& b, const C& c, int64_t m) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < m; ++j) c[i * m + j] = 0;
    for (int64_t k = 0; k < m; ++k) {
      const auto aik = a[i * m + k];
      for (int64_t j = 0; j < m; ++j) c[i * m + j] += aik * b[k * m + j];
    }
  }
}

// The degree-d Padé coefficients p_0 … p_d (p_0 = 1), by p_{j+1} = p_j (d−j) / ((2d−j)(j+1)).
ANTLER_HD void expmPadeCoefficients(int d, double* p) {
  p[0] = 1;
  for (int j = 0; j < d; ++j) p[j + 1] = p[j] * double(d - j) / (double(2 * d - j) * double(j + 1));
}

// E = exp(A) for one m×m matrix; w holds expmWorkSize(m) entries, entry i at
// w[i · stride]. A and E must not overlap.
template <typename T>
ANTLER_HD void expmOne(const T* A, T* E, int64_t m, T* w, int64_t stride = 1) {
  const int64_t mm = m * m;
  double norm = 0;
  bool finite = true;
  for (int64_t j = 0; j < m; ++j) {
    double col = 0;
    for (int64_t i = 0; i < m; ++i) {
      const double v = static_cast<double>(A[i * m + j]);
      if (!(v - v == 0)) finite = false;  // NaN or ±inf
      col += v < 0 ? -v : v;
    }
    if (col > norm) norm = col;
  }
  // A column sum past 1e300 (entries near the float64 range) is refused as NaN too: the scaling
  // would need about a thousand squarings of a matrix scaled near the bottom of the range. Its
  // exponential usually overflows, but not always (exp(−a·P) for an idempotent P is I − P at
  // any large a): NaN here means 'out of range', not 'infinite'.
  if (!finite || !(norm <= 1e300)) {
    for (int64_t i = 0; i < mm; ++i) E[i] = static_cast<T>(NAN);
    return;
  }
  typedef ExpmDegrees<T> D;
  int pick = D::count - 1, s = 0;
  for (int i = 0; i < D::count; ++i)
    if (norm <= D::theta(i)) {
      pick = i;
      break;
    }
  if (norm > D::theta(D::count - 1)) {
    s = static_cast<int>(ceil(log2(norm / D::theta(D::count - 1))));
    if (s < 0) s = 0;
  }
  const int d = D::degree(pick);
  double p[14];
  expmPadeCoefficients(d, p);

  typedef ExpmSlot<T> S;
  const S X{w, stride}, X2{w + mm * stride, stride}, X4{w + 2 * mm * stride, stride}, X6{w + 3 * mm * stride, stride},
      X8{w + 4 * mm * stride, stride}, U{w + 5 * mm * stride, stride}, V{w + 6 * mm * stride, stride},
      tmp{w + 7 * mm * stride, stride}, R{w + 8 * mm * stride, stride};
  const double scale = ldexp(1.0, -s);  // in double: 2^−s is below float's range for s > 149
  for (int64_t i = 0; i < mm; ++i) X[i] = static_cast<T>(static_cast<double>(A[i]) * scale);
  expmMatmul(X, X, X2, m);
  if (d >= 5) expmMatmul(X2, X2, X4, m);
  if (d >= 7) expmMatmul(X4, X2, X6, m);
  if (d == 9) expmMatmul(X4, X4, X8, m);
  const S pw[5] = {X, X2, X4, X6, X8};  // pw[k] = X^{2k} for k >= 1
  if (d == 13) {
    // U = X [X6 (p13 X6 + p11 X4 + p9 X2) + p7 X6 + p5 X4 + p3 X2 + p1 I]
    // V =    X6 (p12 X6 + p10 X4 + p8 X2) + p6 X6 + p4 X4 + p2 X2 + p0 I
    for (int64_t i = 0; i < mm; ++i) tmp[i] = T(p[13]) * X6[i] + T(p[11]) * X4[i] + T(p[9]) * X2[i];
    expmMatmul(X6, tmp, V, m);  // V as scratch for the odd part
    for (int64_t i = 0; i < mm; ++i) V[i] += T(p[7]) * X6[i] + T(p[5]) * X4[i] + T(p[3]) * X2[i];
    for (int64_t i = 0; i < m; ++i) V[i * m + i] += T(p[1]);
    expmMatmul(X, V, U, m);
    for (int64_t i = 0; i < mm; ++i) tmp[i] = T(p[12]) * X6[i] + T(p[10]) * X4[i] + T(p[8]) * X2[i];
    expmMatmul(X6, tmp, V, m);
    for (int64_t i = 0; i < mm; ++i) V[i] += T(p[6]) * X6[i] + T(p[4]) * X4[i] + T(p[2]) * X2[i];
    for (int64_t i = 0; i < m; ++i) V[i * m + i] += T(p[0]);
  } else {
    // U = X Σ_k p_{2k+1} X^{2k},  V = Σ_k p_{2k} X^{2k}
    for (int64_t i = 0; i < mm; ++i) tmp[i] = T(0), V[i] = T(0);
    for (int64_t i = 0; i < m; ++i) tmp[i * m + i] = T(p[1]), V[i * m + i] = T(p[0]);
    for (int k = 1; 2 * k <= d; ++k) {
      const S P = pw[k];
      const T odd = 2 * k + 1 <= d ? T(p[2 * k + 1]) : T(0), even = T(p[2 * k]);
      for (int64_t i = 0; i < mm; ++i) tmp[i] += odd * P[i], V[i] += even * P[i];
    }
    expmMatmul(X, tmp, U, m);
  }
  // Q = V − U (in X, no longer needed), P = V + U (in R); solve Q R = P in place.
  for (int64_t i = 0; i < mm; ++i) X[i] = V[i] - U[i], R[i] = V[i] + U[i];
  for (int64_t c = 0; c < m; ++c) {
    int64_t best = c;
    T bestAbs = X[c * m + c] < T(0) ? -X[c * m + c] : X[c * m + c];
    for (int64_t r = c + 1; r < m; ++r) {
      const T v = X[r * m + c] < T(0) ? -X[r * m + c] : X[r * m + c];
      if (v > bestAbs) best = r, bestAbs = v;
    }
    if (best != c)
      for (int64_t j = 0; j < m; ++j) {
        const T q = X[c * m + j];
        X[c * m + j] = X[best * m + j];
        X[best * m + j] = q;
        const T e = R[c * m + j];
        R[c * m + j] = R[best * m + j];
        R[best * m + j] = e;
      }
    const T inv = T(1) / X[c * m + c];
    for (int64_t r = c + 1; r < m; ++r) {
      const T f = X[r * m + c] * inv;
      if (f == T(0)) continue;
      for (int64_t j = c + 1; j < m; ++j) X[r * m + j] -= f * X[c * m + j];
      for (int64_t j = 0; j < m; ++j) R[r * m + j] -= f * R[c * m + j];
    }
  }
  for (int64_t c = m - 1; c >= 0; --c) {
    const T inv = T(1) / X[c * m + c];
    for (int64_t j = 0; j < m; ++j) {
      T v = R[c * m + j];
      for (int64_t k = c + 1; k < m; ++k) v -= X[c * m + k] * R[k * m + j];
      R[c * m + j] = v * inv;
    }
  }
  // Square s times, alternating between R and tmp; the last result goes to E.
  S cur = R, other = tmp;
  for (int i = 0; i < s; ++i) {
    expmMatmul(cur, cur, other, m);
    const S t = cur;
    cur = other;
    other = t;
  }
  for (int64_t k = 0; k < mm; ++k) E[k] = cur[k];
}

}  // namespace antler::kernels
