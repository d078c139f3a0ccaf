// The DEER residual of each sequence, shared by the CPU and CUDA backends:
// for column b of y and f [T, B, n] (f_t = cell(y_{t−1}, x_t) at the current
// iterate), over every t and i,
//   maxDiff = max |y − f|   (the solver's convergence test, ‖y − f(shift y)‖∞)
//   sumSq   = Σ (y − f)²    (ELK's merit)
//   maxF    = max |f|       (the scale rtol multiplies)
// accumulated in double. A NaN anywhere in a column makes its maxDiff (and,
// if it is in f, maxF) NaN, as torch.max would: the solver reads a NaN
// residual as divergence.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// Plain data (it lives in __shared__ arrays): start from residualZero().
struct ResidualAcc {
  double maxDiff, sumSq, maxF;
};

ANTLER_HD ResidualAcc residualZero() { return ResidualAcc{0, 0, 0}; }

// max(m, v) that keeps a NaN once seen.
ANTLER_HD double maxKeepNaN(double m, double v) {
  if (m != m) return m;
  if (v != v) return v;
  return v > m ? v : m;
}

template <typename T>
ANTLER_HD void residualAdd(ResidualAcc& a, T y, T f) {
  const double d = static_cast<double>(y) - static_cast<double>(f);
  const double ad = d < 0 ? -d : d, af = f < 0 ? -static_cast<double>(f) : static_cast<double>(f);
  a.maxDiff = maxKeepNaN(a.maxDiff, ad);
  a.sumSq += d * d;
  a.maxF = maxKeepNaN(a.maxF, af);
}

ANTLER_HD void residualMerge(ResidualAcc& a, const ResidualAcc& b) {
  a.maxDiff = maxKeepNaN(a.maxDiff, b.maxDiff);
  a.sumSq += b.sumSq;
  a.maxF = maxKeepNaN(a.maxF, b.maxF);
}

// out [3, B]: row 0 maxDiff, row 1 sumSq, row 2 maxF, for column b.
template <typename T>
ANTLER_HD void residualStore(const ResidualAcc& a, int64_t B, int64_t b, T* out) {
  out[b] = static_cast<T>(a.maxDiff);
  out[B + b] = static_cast<T>(a.sumSq);
  out[2 * B + b] = static_cast<T>(a.maxF);
}

}  // namespace antler::kernels
