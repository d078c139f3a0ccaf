// The DEER residual of each sequence, shared by the CPU and CUDA backends:
// for column b of y and f [T, B, n] (f_t = cell(y_{t−1}, x_t) at the current
// iterate), over every t and i,
//   maxDiff   = max |y − f|            (the residual ‖y − f(shift y)‖∞: growth, stalls, stats)
//   sumSq     = Σ (y − f)²             (ELK's merit)
//   maxF      = max |f|                (the scale of the rounding floor)
//   maxExcess = max (|y − f| − rtol·|f|)  (the convergence test: ≤ atol, i.e.
//               |y − f| ≤ atol + rtol·|f| at every step and unit, as
//               torch.allclose; a bound on max |f| instead would let the
//               steps of a growing state pass with errors as large as
//               their values)
// accumulated in double. A NaN anywhere in a column makes its maxDiff and
// maxExcess (and, if it is in f, maxF) NaN, as torch.max would: the solver
// reads a NaN residual as divergence.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// Plain data (it lives in __shared__ arrays): start from residualZero().
struct ResidualAcc {
  double maxDiff, sumSq, maxF, maxExcess;
};

ANTLER_HD ResidualAcc residualZero() { return ResidualAcc{0, 0, 0, -HUGE_VAL}; }

// max(m, v) that keeps a NaN once seen.
ANTLER_HD double maxKeepNaN(double m, double v) {
  if (m != m) return m;
  if (v != v) return v;
  return v > m ? v : m;
}

// |y − f| − rtol·|f|: NaN where f is not finite (af − af), +∞ where only y is infinite; neither passes the test.
ANTLER_HD double residualExcess(double ad, double af, double rtol) {
  return ad - rtol * af + (af - af);
}

template <typename T>
ANTLER_HD void residualAdd(ResidualAcc& a, T y, T f, double rtol) {
  const double d = static_cast<double>(y) - static_cast<double>(f);
  const double ad = d < 0 ? -d : d, af = f < 0 ? -static_cast<double>(f) : static_cast<double>(f);
  a.maxDiff = maxKeepNaN(a.maxDiff, ad);
  a.sumSq += d * d;
  a.maxF = maxKeepNaN(a.maxF, af);
  a.maxExcess = maxKeepNaN(a.maxExcess, residualExcess(ad, af, rtol));
}

ANTLER_HD void residualMerge(ResidualAcc& a, const ResidualAcc& b) {
  a.maxDiff = maxKeepNaN(a.maxDiff, b.maxDiff);
  a.sumSq += b.sumSq;
  a.maxF = maxKeepNaN(a.maxF, b.maxF);
  a.maxExcess = maxKeepNaN(a.maxExcess, b.maxExcess);
}

// out [4, B]: row 0 maxDiff, row 1 sumSq, row 2 maxF, row 3 maxExcess, for column b.
template <typename T>
ANTLER_HD void residualStore(const ResidualAcc& a, int64_t B, int64_t b, T* out) {
  out[b] = static_cast<T>(a.maxDiff);
  out[B + b] = static_cast<T>(a.sumSq);
  out[2 * B + b] = static_cast<T>(a.maxF);
  out[3 * B + b] = static_cast<T>(a.maxExcess);
}

}  // namespace antler::kernels
