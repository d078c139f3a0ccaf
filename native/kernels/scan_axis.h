// Per-line math of cumsum and cumprod along one axis (and cumprod's
// gradient), cummax/cummin and logcumsumexp, shared by cpu/cumsum.cpp and cuda/cumsum.cu. x is viewed as [outer, n, inner]: line l = (o, j), with
// o = l / inner and j = l % inner, holds the n elements x[o, 0 … n−1, j],
// inner apart. Consecutive lines are consecutive inner positions, so on the GPU
// (one thread per line) neighbouring threads load neighbouring elements.
//
//   inclusive: out_i = Σ_{k ≤ i} x_k        exclusive: out_i = Σ_{k < i} x_k
//   reverse:   the same from the end (k ≥ i, or k > i with exclusive)
//
// The running sum or product is kept in double (float32 and float64 alike, as
// PyTorch's CPU cumsum/cumprod do for float) and rounded to the dtype once per
// element.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// Offset of line l's first element (index 0 along the axis).
ANTLER_HD int64_t scanLineBase(int64_t line, int64_t n, int64_t inner) {
  return (line / inner) * n * inner + line % inner;
}

enum class CumOp : int { Sum = 0, Prod = 1 };

// Scans one line of n elements, `stride` apart from x + base (out + base):
// the running sum (CumOp::Sum, from 0) or product (CumOp::Prod, from 1).
// Each x element is read before its out element is written, so out may be x.
template <typename T>
ANTLER_HD void cumulativeLine(T* out, const T* x, int64_t base, int64_t n, int64_t stride, CumOp op, bool exclusive,
                              bool reverse) {
  const int64_t step = reverse ? -stride : stride;
  int64_t i = reverse ? base + (n - 1) * stride : base;
  const bool prod = op == CumOp::Prod;
  double acc = prod ? 1.0 : 0.0;
  for (int64_t k = 0; k < n; ++k, i += step) {
    const double v = static_cast<double>(x[i]);
    if (exclusive) out[i] = static_cast<T>(acc);
    acc = prod ? acc * v : acc + v;
    if (!exclusive) out[i] = static_cast<T>(acc);
  }
}

// The gradient of one line of cumprod (cumulativeLine with CumOp::Prod), in
// the line's walking order m = 0 … n−1 (from the end when reverse):
//   inclusive y_k = Π_{j ≤ k} x_j:  gx_m = E_m · S_m,  S_m = gy_m + x_{m+1} S_{m+1},  S_{n−1} = gy_{n−1}
//   exclusive y_k = Π_{j < k} x_j:  gx_m = E_m · S'_m, S'_m = gy_{m+1} + x_{m+1} S'_{m+1}, S'_{n−1} = 0
// with E_m = Π_{j < m} x_j. No division, so zeros in x give the exact
// gradient (the product of the other factors), as PyTorch's cumprod_backward.
// E and S are kept in double: E in `prefix` (a double per element, indexed as
// gx) between the two passes, so that float32 factors whose partial products
// leave float32's range (1e-30 · 1e-30 · 3 · 1e30 · 1e30) still give the exact
// gradient. With exclusive the last element feeds no output: its gradient is
// 0 outright (not E · 0, which is NaN for an infinite E).
template <typename T>
ANTLER_HD void cumprodBackwardLine(T* gx, const T* x, const T* gy, double* prefix, int64_t base, int64_t n,
                                   int64_t stride, bool exclusive, bool reverse) {
  const int64_t step = reverse ? -stride : stride;
  const int64_t first = reverse ? base + (n - 1) * stride : base;
  double e = 1.0;
  int64_t i = first;
  for (int64_t k = 0; k < n; ++k, i += step) {
    prefix[i] = e;
    e *= static_cast<double>(x[i]);
  }
  double s = 0.0, xNext = 0.0;
  i = first + (n - 1) * step;
  for (int64_t k = 0; k < n; ++k, i -= step) {
    const double xi = static_cast<double>(x[i]), gi = static_cast<double>(gy[i]);
    if (exclusive) {
      gx[i] = k == 0 ? T(0) : static_cast<T>(prefix[i] * s);
      s = gi + xi * s;
    } else {
      s = gi + xNext * s;
      gx[i] = static_cast<T>(prefix[i] * s);
      xNext = xi;
    }
  }
}

// cummax (largest) / cummin: the running extreme of one line and its index,
// torch's rule (cummax_cummin_helper): element k takes the place when it is a
// new extreme or ties it (≥ / ≤: the last position on ties) or is NaN (so a
// NaN, once seen, stays the value, its latest position the index). Compared
// in the dtype itself (int32 exactly). Element 0 always takes it.
template <typename T>
struct CumExtremeState {
  T best;
  int32_t index;
  ANTLER_HD void push(T v, int32_t k, bool largest) {
    const bool takes = k == 0 || v != v || (largest ? v >= best : v <= best);
    if (takes) {
      best = v;
      index = k;
    }
  }
};

// Scans one line of cummax/cummin: values (x's dtype) and indices (int32, the
// position along the axis), both indexed as x. n < 2^31.
template <typename T>
ANTLER_HD void cumExtremeLine(T* values, int32_t* indices, const T* x, int64_t base, int64_t n, int64_t stride,
                              bool largest) {
  CumExtremeState<T> s{T(0), 0};
  int64_t i = base;
  for (int64_t k = 0; k < n; ++k, i += stride) {
    s.push(x[i], static_cast<int32_t>(k), largest);
    values[i] = s.best;
    indices[i] = s.index;
  }
}

// logcumsumexp's running log Σ exp(x_k), in double: the running maximum m and
// s = Σ exp(x_k − m), rescaled when m grows; out = m + log s. Overflow-free
// ([−1000, 0] gives [−1000, 0]); −∞ adds nothing (all −∞ so far gives −∞);
// +∞ gives +∞ from there on (a second +∞ adds 1 to s, not ∞ − ∞); a NaN makes
// s NaN for good, so the rest of the line is NaN.
struct LogSumExpState {
  double m, s;
  ANTLER_HD void push(double v) {
    if (v > m) {
      s = s * exp(m - v) + 1.0;  // m = −∞ at first: exp(−∞) = 0
      m = v;
    } else if (v == m) {
      if (v != -INFINITY) s += 1.0;
    } else if (v != -INFINITY) {
      s += exp(v - m);  // NaN v (or m = +∞ with finite v: exp(−∞) = 0) as it comes
    }
  }
  ANTLER_HD double value() const { return m + log(s); }
};

// Scans one line of logcumsumexp (from the end when reverse: out_i = log Σ_{k ≥ i} exp(x_k)),
// rounding to the dtype once per element. out may be x.
template <typename T>
ANTLER_HD void logCumSumExpLine(T* out, const T* x, int64_t base, int64_t n, int64_t stride, bool reverse) {
  const int64_t step = reverse ? -stride : stride;
  int64_t i = reverse ? base + (n - 1) * stride : base;
  LogSumExpState s{-INFINITY, 0.0};
  for (int64_t k = 0; k < n; ++k, i += step) {
    s.push(static_cast<double>(x[i]));
    out[i] = static_cast<T>(s.value());
  }
}

// logcumsumexp's gradient, torch's gx_k = Σ_{i ≥ k} g_i·e^(x_k − y_i) (i from k on in the scan's
// order), in one pass against that order, in double: with r_k = Σ_{i ≥ k} g_i·e^(y_k − y_i),
//   r_k = g_k + e^(y_k − y_{k+1})·r_{k+1},   gx_k = e^(x_k − y_k)·r_k,
// where both factors are ≤ 1 (y never decreases along the scan and x_k ≤ y_k): no overflow. r sums
// the terms with finite y_i and finite g_i; the others are flags, so the non-finite results are the
// recorded formula's (lib/ops/statistics.ts, logCumSumExpGrad: torch's log-space sums
// e^(x_k + lcse_{i ≥ k}(log|g_i| − y_i)) of the positive and the negative g apart):
//   - a term of y_i = −∞ (all x so far −∞) or of a NaN or zero g_i adds nothing;
//   - a NaN y_i (a NaN x at or before i), or an infinite g_i under y_i = +∞ (∞ − ∞), makes
//     gx NaN for every k ≤ i;
//   - an infinite g_i under a finite y_i makes gx_k ±∞ for finite x_k (NaN when both signs
//     occur), NaN for x_k = −∞ (−∞ + ∞);
//   - otherwise x_k = −∞ gives 0 (a leading −∞ run included: torch's is NaN there), x_k = +∞
//     NaN (−∞ + ∞ in log space), and a finite x_k under y_k = +∞ gives 0.
// Elements are pushed from the last in the scan's order to the first.
struct LogCumSumExpGradState {
  double r, yRef;    // r relative to yRef, the latest finite y pushed (none while !finite)
  bool finite, nan, posInf, negInf;
  ANTLER_HD double push(double x, double y, double g) {
    const bool gInf = g == INFINITY || g == -INFINITY;
    if (y != y) {
      nan = true;
    } else if (y == INFINITY) {
      if (gInf) nan = true;
    } else if (y != -INFINITY) {
      if (g == INFINITY) posInf = true;
      if (g == -INFINITY) negInf = true;
      const double carry = finite ? exp(y - yRef) * r : 0.0;
      r = (g == g && !gInf ? g : 0.0) + carry;
      yRef = y;
      finite = true;
    }
    if (nan || x != x || x == INFINITY) return NAN;
    if (x == -INFINITY) return posInf || negInf ? NAN : 0.0;
    if (posInf) return negInf ? NAN : INFINITY;
    if (negInf) return -INFINITY;
    if (y == INFINITY) return 0.0;
    return exp(x - y) * r;
  }
};

// The gradient of one line of logCumSumExpLine (same base, n, stride, reverse) from x, its output y
// and the output's gradient gy. gx may be gy.
template <typename T>
ANTLER_HD void logCumSumExpBackwardLine(T* gx, const T* x, const T* y, const T* gy, int64_t base, int64_t n,
                                        int64_t stride, bool reverse) {
  // The scan's last element first: index n − 1 forwards, 0 when reverse.
  const int64_t step = reverse ? stride : -stride;
  int64_t i = reverse ? base : base + (n - 1) * stride;
  LogCumSumExpGradState s{0.0, 0.0, false, false, false, false};
  for (int64_t k = 0; k < n; ++k, i += step)
    gx[i] = static_cast<T>(s.push(static_cast<double>(x[i]), static_cast<double>(y[i]), static_cast<double>(gy[i])));
}

}  // namespace antler::kernels
