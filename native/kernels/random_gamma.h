// random-gamma: samplers shared by the CPU and CUDA backends (see lib/ops/random-special.ts).
//
// standardGammaSample: x ~ Gamma(alpha, 1) by Marsaglia & Tsang ("A simple method for generating gamma
// variables", ACM TOMS 2000), alpha < 1 boosted as Gamma(alpha + 1) * U^(1/alpha). Element i of a draw
// reads only the Philox blocks i*kGammaBlocks ... i*kGammaBlocks + kGammaBlocks - 1 of its (seed, stream),
// two blocks per attempt (a Box-Muller normal; the acceptance and boost uniforms), so the value is a pure
// function of (seed, stream, i) on either device. All arithmetic is in double whatever the element type.
// The rejection loop is bounded at kGammaTries attempts (each rejects with probability < 0.05).
//
// standardGammaGrad: dx/dalpha = -dP(alpha, x)/dalpha / p(x; alpha) = dQ/dalpha / p. Below x = alpha + 1 from the
// series P(a, x) = sum_n x^(a+n) e^-x / Gamma(a+n+1): divided by p, term n is
// s_n = x^(n+1) Gamma(a)/Gamma(a+n+1) and its a-derivative factor is log x - psi(a+n+1). From x = alpha + 1 up,
// from Q's continued fraction and its alpha-derivative (standardGammaGradUpper), with no e^x / x^a factor.
//
// incompleteGamma: the regularized P(a, x) (series) or Q(a, x) (Lentz continued fraction), in double,
// with torch's (calc_igamma / calc_igammac) values at the edges.
#pragma once
#include "hd.h"
#include "philox.h"

namespace antler::kernels {

ANTLER_HD bool gammaIsNan(double v) { return v != v; }
ANTLER_HD bool gammaIsInf(double v) { return fabs(v) == HUGE_VAL; }

constexpr int kGammaTries = 16;
constexpr uint64_t kGammaBlocks = 2 * kGammaTries;

// psi(x) for x > 0 in double: shift up to x >= 10, then the asymptotic series.
ANTLER_HD double digammaPositive(double x) {
  double acc = 0.0;
  while (x < 10.0) { acc -= 1.0 / x; x += 1.0; }
  const double r = 1.0 / (x * x);
  const double tail = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132)))));
  return acc + log(x) - 0.5 / x - tail;
}

// One Gamma(alpha, 1) value for element `index`; NaN when alpha is not > 0. `minPositive` is the element
// type's smallest normal value (torch clamps a sample below it up to it).
ANTLER_HD double standardGammaSample(const PhiloxStream& s, uint64_t index, double alpha, double minPositive) {
  if (!(alpha > 0.0)) return nan("");
  if (gammaIsInf(alpha)) return alpha;
  const bool boost = alpha < 1.0;
  const double a = boost ? alpha + 1.0 : alpha;
  const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  const uint64_t base = index * kGammaBlocks;
  double x = d, uBoost = 0.5;
  for (int t = 0; t < kGammaTries; ++t) {
    const PhiloxWords w0 = philoxBlock(s, base + 2 * t);
    const PhiloxWords w1 = philoxBlock(s, base + 2 * t + 1);
    double z, z1;
    boxMullerDouble(uniformDouble(w0.w[0], w0.w[1]), uniformDouble(w0.w[2], w0.w[3]), z, z1);
    const double u = uniformDouble(w1.w[0], w1.w[1]);
    uBoost = uniformDouble(w1.w[2], w1.w[3]);
    const double v0 = 1.0 + c * z;
    if (v0 <= 0.0) continue;
    const double v = v0 * v0 * v0;
    if (log(1.0 - u) < 0.5 * z * z + d - d * v + d * log(v)) { x = d * v; break; }
  }
  // 1 - u lies in (0, 1]: log never sees zero.
  if (boost) x = exp(log(x) + log(1.0 - uBoost) / alpha);
  return x < minPositive ? minPositive : x;
}

// dx/dalpha on the lower side (x < alpha + 1): -dP/dalpha / p from the series of P (terms below).
ANTLER_HD double standardGammaGradLower(double a, double x) {
  const double lx = log(x);
  double sn = x / a, psi = digammaPositive(a) + 1.0 / a;  // s_0 and psi(a + 1)
  double sum = sn * (lx - psi);
  for (int n = 1; n < 1000000; ++n) {
    sn *= x / (a + n);
    psi += 1.0 / (a + n);
    const double term = sn * (lx - psi);
    sum += term;
    if (a + n > x && fabs(term) <= 1e-17 * fabs(sum) && sn <= 1e-17 * (fabs(sum) + sn)) break;
  }
  return -sum;
}

// dx/dalpha on the upper side (x >= alpha + 1): Q(a, x) = x^a e^-x F(a, x) / Gamma(a) with F the continued
// fraction 1/(x + 1 - a - 1(1 - a)/(x + 3 - a - ...)), so dQ/da / p(x; a) = x ((log x - psi(a)) F + dF/da):
// no exponential factor is ever formed (the series' terms grow like e^x / x^a there, overflowing past x ~ 700
// and cancelling to nothing in the far tail). dF/da by differentiating each step of the modified Lentz
// recurrence (an = -i (i - a), b_i = x + 2i + 1 - a: dan/da = i, db/da = -1).
ANTLER_HD double standardGammaGradUpper(double a, double x) {
  const double tiny = 1e-300;
  const double lp = log(x) - digammaPositive(a);
  double b = x + 1.0 - a;
  double c = 1.0 / tiny, dc = 0.0;
  double d = 1.0 / b, dd = d * d;  // d(1/b)/da = 1/b^2
  double h = d, dh = dd;
  double g = lp * h + dh;
  for (int i = 1; i < 1000000; ++i) {
    const double an = -i * (i - a), dan = i;
    b += 2.0;
    double den = an * d + b;
    const double dden = dan * d + an * dd - 1.0;
    if (fabs(den) < tiny) den = tiny;
    double cn = b + an / c;
    const double dcn = -1.0 + dan / c - an * dc / c / c;
    if (fabs(cn) < tiny) cn = tiny;
    d = 1.0 / den;
    dd = -dden * d * d;
    c = cn;
    dc = dcn;
    const double delta = d * c, ddelta = dd * c + d * dc;
    dh = dh * delta + h * ddelta;
    h *= delta;
    const double gn = lp * h + dh;
    const bool done = fabs(delta - 1.0) < 1e-16 && fabs(gn - g) <= 2e-16 * fabs(gn);
    g = gn;
    if (done) break;
  }
  return x * g;
}

// The reparameterised gradient dx/dalpha of x ~ Gamma(alpha, 1); NaN outside alpha > 0, x >= 0.
ANTLER_HD double standardGammaGrad(double a, double x) {
  if (!(a > 0.0) || !(x >= 0.0) || gammaIsInf(a) || gammaIsInf(x)) return nan("");
  if (x == 0.0) return 0.0;
  return x < a + 1.0 ? standardGammaGradLower(a, x) : standardGammaGradUpper(a, x);
}

// P(a, x) by its power series, for 0 < x < a + 1 (lgamma: available on both devices).
ANTLER_HD double lowerRegularizedSeries(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum * exp(a * log(x) - x - lgamma(a));
}

ANTLER_HD double upperRegularizedFraction(double a, double x) {
  // Q(a, x) = e^-x x^a / Gamma(a) * 1/(x + 1 - a - 1(1-a)/(x + 3 - a - ...)) by modified Lentz.
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (fabs(delta - 1.0) < 1e-16) break;
  }
  return exp(a * log(x) - x - lgamma(a)) * h;
}

// The regularized lower (upper == false) or upper incomplete gamma function, torch's edge values.
ANTLER_HD double incompleteGamma(double a, double x, bool upper) {
  if (gammaIsNan(a) || gammaIsNan(x) || x < 0.0 || a < 0.0) return nan("");
  if (a == 0.0) return x > 0.0 ? (upper ? 0.0 : 1.0) : nan("");
  if (x == 0.0) return upper ? 1.0 : 0.0;
  if (gammaIsInf(a)) return gammaIsInf(x) ? nan("") : (upper ? 1.0 : 0.0);
  if (gammaIsInf(x)) return upper ? 0.0 : 1.0;
  if (x < a + 1.0) {
    const double p = lowerRegularizedSeries(a, x);
    return upper ? 1.0 - p : p;
  }
  const double q = upperRegularizedFraction(a, x);
  return upper ? q : 1.0 - q;
}

}  // namespace antler::kernels
