// Elementwise functions of lib/ops/pointwise.ts that no composition of recorded
// ops gives accurately or with C's edge cases: log|Γ|, the polygamma
// functions, erf⁻¹, sinc, signbit, and the binary atan2, hypot, fmod,
// copysign, xlogy, logaddexp and logaddexp2 (operands read through a
// BroadcastIndexer where their shapes differ). Written
// once for the CPU loops (cpu/pointwise.cpp) and the CUDA kernels
// (cuda/pointwise.cu). Every function works in double; a float32 tensor's
// value is the double result rounded once (within ½ ulp of the float64 op).
// Their gradients are composed in TypeScript from these same ops:
//   lgamma' = ψ,  ψ⁽ⁿ⁾' = ψ⁽ⁿ⁺¹⁾,  erfinv' = √π/2 · e^(erfinv(x)²),
//   atan2(y, x): ∂y = x / (x² + y²), ∂x = −y / (x² + y²).
#pragma once
#include "hd.h"

namespace antler::kernels {

enum class PointwiseOp : int {
  Lgamma, Polygamma, Erfinv, Sinc, Signbit,
  Atan2, Hypot, Fmod, Copysign, Xlogy, Logaddexp, Logaddexp2,
};
constexpr int kPointwiseOpCount = 12;

namespace pointwise_math {

constexpr double kPi = 3.14159265358979323846;

// ln|Γ(x)| (torch.lgamma): +inf at 0 and the negative integers and at ±inf.
// glibc's lgamma_r on the host (the reentrant one: lgamma writes the global
// signgam from every OpenMP thread), CUDA's lgamma on the GPU.
ANTLER_HD double lgamma(double x) {
#if defined(__CUDA_ARCH__)
  return ::lgamma(x);
#else
  int sign;
  return ::lgamma_r(x, &sign);
#endif
}

// cot(πx), with the argument reduced exactly to r = x − the nearest integer
// (no rounding) so that it stays accurate near the poles at the integers, and
// as ±tan(π(½ − |r|)) for |r| > ¼ (½ − |r| exact too) so that it stays
// accurate near its zeros at the half-integers (0 there, not cos(π/2) ≈ 6e-17).
ANTLER_HD double cotPi(double x) {
  const double r = x - ::round(x);
  const double a = ::fabs(r);
  if (a > 0.25) return ::copysign(::tan(kPi * (0.5 - a)), r);
  return 1 / ::tan(kPi * r);
}
ANTLER_HD double piCotPi(double x) { return kPi * cotPi(x); }

// ψ(x) = Γ'(x)/Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to
// z ≥ 10, then the asymptotic series
//   ψ(z) ≈ ln z − 1/(2z) − Σ_{k=1..7} B_{2k} / (2k z^{2k})
// whose first omitted term is below 5e-17 at z = 10.
ANTLER_HD double digammaPositive(double x) {
  double shift = 0;
  while (x < 10) {
    shift += 1 / x;
    x += 1;
  }
  const double w = 1 / (x * x);
  const double series =
      w * (1.0 / 12 - w * (1.0 / 120 - w * (1.0 / 252 - w * (1.0 / 240 - w * (1.0 / 132 - w * (691.0 / 32760 - w / 12))))));
  return ::log(x) - 0.5 / x - series - shift;
}

// ψ near its positive zero x₀ = 1.46163…, where ψ(x + N) − Σ 1/(x + k)
// cancels: the Taylor series Σ_{k=1..10} ψ⁽ᵏ⁾(x₀)/k! (x − x₀)ᵏ (coefficients
// computed to 50 digits with mpmath), x − x₀ taken against x₀ split in two
// doubles. Used for |x − x₀| < 0.03, where the 11th term is below 2e-17 of the first.
ANTLER_HD double digammaNearRoot(double x) {
  const double d = (x - 1.4616321449683622) - 9.549995429965697e-17;
  const double c[10] = {0.9676722454476212,   -0.4427631689835921,  0.258499760955651,     -0.16394270544240652,
                        0.10782405069126237,  -0.07219956125645471, 0.04880428816414311,   -0.03316112647484736,
                        0.022597648232218104, -0.01542476590494896};
  double acc = 0;
  for (int k = 9; k >= 0; --k) acc = acc * d + c[k];
  return acc * d;
}

// ψ(x) (torch.digamma): −inf at ±0 times −sign (torch returns −inf at 0 and
// +inf at −0), NaN at the negative integers and −inf, +inf at +inf; below
// ½ the reflection ψ(x) = ψ(1 − x) − π cot(πx).
ANTLER_HD double digamma(double x) {
  if (x == 0) return ::copysign(INFINITY, -x);
  if (x < 0 && x == ::floor(x)) return NAN;
  if (x != x) return x;
  if (x == INFINITY) return x;
  if (x < 0.5) return digammaPositive(1 - x) - piCotPi(x);
  if (::fabs(x - 1.4616321449683622) < 0.03) return digammaNearRoot(x);
  return digammaPositive(x);
}

// ψ⁽ⁿ⁾(x) = (−1)ⁿ⁺¹ n! ζ(n + 1, x) for x ≥ ½, n ≥ 1: the Hurwitz zeta
// ζ(s, x) = Σ_{k<N} (x + k)^(−s) + ζ(s, z), z = x + N ≥ 10 + 2n (where the tail's terms shrink fast), the
// tail by Euler–Maclaurin:
//   ζ(s, z) ≈ z^(1−s)/(s − 1) + z^(−s)/2 + Σ_{j=1..8} B_{2j}/(2j)! · s(s+1)…(s+2j−2) · z^(−s−2j+1).
// Everything is summed relative to n!·x^(1−s) (the head's terms as (x/(x + k))^s / x, the tail as
// (x/z)^(s−1) times its bracket), so that x^(−s) underflowing (trigamma(1e170) = 1e-170, not 0) or
// n! overflowing (n > 170) loses nothing when the result itself is representable; that scale is
// n!·x^(−n) directly where both factors are normal and finite, else exp(ln n! − n ln x).
ANTLER_HD double polygammaPositive(int n, double x) {
  const double s = n + 1;
  const double x0 = x;
  double head = 0;
  const double zMin = 10.0 + 2 * n;
  while (x < zMin) {
    head += ::pow(x0 / x, s) / x0;
    x += 1;
  }
  // B_{2j} / (2j)!
  const double b[8] = {1.0 / 12, -1.0 / 720, 1.0 / 30240, -1.0 / 1209600, 1.0 / 47900160,
                       -691.0 / 1307674368000.0, 1.0 / 74724249600.0, -3617.0 / 10670622842880000.0};
  const double iz = 1 / x;
  double bracket = 1 / (s - 1) + iz / 2;
  double term = s * iz * iz;  // s z^(−2), then times (s+1)(s+2) / z² per step
  for (int j = 0; j < 8; ++j) {
    bracket += b[j] * term;
    term *= (s + 2 * j + 1) * (s + 2 * j + 2) * iz * iz;
  }
  const double tail = (x == x0 ? 1.0 : ::pow(x0 / x, s - 1)) * bracket;
  double factorial = 1;
  for (int k = 2; k <= n; ++k) factorial *= k;
  const double power = ::pow(x0, -static_cast<double>(n));
  const double scale = factorial < INFINITY && power >= 2.2250738585072014e-308 && power < INFINITY
                           ? factorial * power
                           : ::exp(lgamma(s) - n * ::log(x0));
  return ((n & 1) ? 1 : -1) * scale * (head + tail);
}

// dⁿ/dxⁿ [π cot(πx)] = πⁿ⁺¹ Qₙ(cot πx), Q₀(c) = c, Qₖ₊₁(c) = −(1 + c²) Qₖ'(c);
// Qₙ has degree n + 1 and the parity of n + 1. Orders up to kMaxCotOrder.
constexpr int kMaxCotOrder = 40;
ANTLER_HD double piCotPiDerivative(int n, double x) {
  const double c = cotPi(x);
  double q[kMaxCotOrder + 2] = {0, 1};  // coefficients of Q_k, lowest first
  for (int k = 0; k < n; ++k) {
    // Q' then times −(1 + c²): degree k + 1 → k + 2.
    double d[kMaxCotOrder + 2] = {0};
    for (int i = 1; i <= k + 1; ++i) d[i - 1] = i * q[i];
    for (int i = 0; i <= k + 2; ++i) q[i] = -((i <= k ? d[i] : 0) + (i >= 2 ? d[i - 2] : 0));
  }
  double v = 0;
  for (int i = n + 1; i >= 0; --i) v = v * c + q[i];
  return ::pow(kPi, n + 1) * v;
}

// ψ⁽ⁿ⁾(x) (torch.polygamma; n = 0 is ψ): (−1)ⁿ⁺¹ · inf at the poles (0 and
// the negative integers: torch's sign, its limit from the right), 0 at +inf,
// NaN at −inf; below ½ the
// reflection ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − dⁿ/dxⁿ π cot(πx), for orders up to
// kMaxCotOrder (NaN beyond; torch sums the series from x itself there).
ANTLER_HD double polygamma(int n, double x) {
  if (n == 0) return digamma(x);
  if (x != x) return x;
  if (x == INFINITY) return 0;
  if (x == -INFINITY) return NAN;
  if (x <= 0 && x == ::floor(x)) return (n & 1) ? INFINITY : -INFINITY;
  if (x < 0.5) {
    if (n > kMaxCotOrder) return NAN;
    return ((n & 1) ? -1 : 1) * polygammaPositive(n, 1 - x) - piCotPiDerivative(n, x);
  }
  return polygammaPositive(n, x);
}

// erf⁻¹(x) (torch.erfinv): ±inf at ±1, NaN beyond. A start within ~2e-3
// relative (Winitzki's closed form, a = 0.147; x·√π/2 for tiny x) refined by
// three Halley steps on f(y) = erf(y) − x, f' = 2/√π e^(−y²), f'' = −2y f':
//   y ← y − f / (f' + y f).
// For |x| ≥ ½, f is computed as (1 − |x|) − erfc(y), exact in 1 − |x|, so the
// tail keeps full relative accuracy up to the last double below 1.
ANTLER_HD double erfinv(double x) {
  if (x != x) return x;
  const double a = ::fabs(x);
  if (a > 1) return NAN;
  if (a == 1) return ::copysign(INFINITY, x);
  if (a == 0) return x;
  double y;
  if (a < 1e-4) {
    y = a * 0.88622692545275801365;
  } else {
    const double l = ::log((1 - a) * (1 + a));
    const double t = 2 / (kPi * 0.147) + l / 2;
    y = ::sqrt(::sqrt(t * t - l / 0.147) - t);
  }
  const double rest = 1 - a;
  for (int i = 0; i < 3; ++i) {
    const double f = a < 0.5 ? ::erf(y) - a : rest - ::erfc(y);
    const double fp = 1.12837916709551257390 * ::exp(-y * y);
    y -= f / (fp + y * f);
  }
  return ::copysign(y, x);
}

// sin(πx)/(πx) (torch.sinc), 1 at 0; NaN at ±inf as torch's.
ANTLER_HD double sinc(double x) {
  if (x == 0) return 1;
  const double px = kPi * x;
  return ::sin(px) / px;
}

// x · ln y (torch.xlogy): NaN when y is NaN, else 0 when x is 0 (even where
// ln y is ±inf), else the product.
ANTLER_HD double xlogy(double x, double y) {
  if (y != y) return y;
  if (x == 0) return 0;
  return x * ::log(y);
}

// ln(eᵃ + eᵇ) (torch.logaddexp) as max + ln(1 + e^(−|a − b|)); equal
// infinities give themselves (a − b would be NaN). logaddexp2 likewise in base 2.
ANTLER_HD double logaddexp(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b && ::fabs(a) == INFINITY) return a;
  const double m = a > b ? a : b;
  return m + ::log1p(::exp(-::fabs(a - b)));
}
ANTLER_HD double logaddexp2(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b && ::fabs(a) == INFINITY) return a;
  const double m = a > b ? a : b;
  return m + ::log1p(::exp2(-::fabs(a - b))) * 1.44269504088896340736;
}

}  // namespace pointwise_math

// y = op(a[, b]) in double; p is the order n of Polygamma.
ANTLER_HD double applyPointwise(PointwiseOp op, double a, double b, int p) {
  switch (op) {
    case PointwiseOp::Lgamma: return pointwise_math::lgamma(a);
    case PointwiseOp::Polygamma: return pointwise_math::polygamma(p, a);
    case PointwiseOp::Erfinv: return pointwise_math::erfinv(a);
    case PointwiseOp::Sinc: return pointwise_math::sinc(a);
    case PointwiseOp::Signbit: return ::copysign(1.0, a) < 0 ? 1 : 0;
    case PointwiseOp::Atan2: return ::atan2(a, b);
    case PointwiseOp::Hypot: return ::hypot(a, b);
    case PointwiseOp::Fmod: return ::fmod(a, b);
    case PointwiseOp::Copysign: return ::copysign(a, b);
    case PointwiseOp::Xlogy: return pointwise_math::xlogy(a, b);
    case PointwiseOp::Logaddexp: return pointwise_math::logaddexp(a, b);
    case PointwiseOp::Logaddexp2: return pointwise_math::logaddexp2(a, b);
  }
  return NAN;
}

ANTLER_HD constexpr bool pointwiseIsBinary(PointwiseOp op) { return static_cast<int>(op) >= static_cast<int>(PointwiseOp::Atan2); }

}  // namespace antler::kernels
