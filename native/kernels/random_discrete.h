// random-discrete: samplers shared by the CPU and CUDA backends (see lib/ops/random-special.ts).
//
// poissonSample: k ~ Poisson(rate). rate < 10: inversion of the cdf with one uniform (the pmf by the
// recurrence p(k+1) = p(k) rate/(k+1) from e^-rate). rate >= 10: Hörmann's transformed rejection with
// squeeze, PTRS ("The transformed rejection method for generating Poisson random variables", Insurance:
// Mathematics and Economics 12, 1993), one Philox block (two uniforms) per attempt.
//
// binomialSample: k ~ Binomial(n, p), computed for q = min(p, 1 - p) and reflected (n - k) when p > 1/2.
// n q < 10: inversion with one uniform (p(0) = (1-q)^n, p(k+1) = p(k) (n-k)/(k+1) q/(1-q)); else Hörmann's
// BTRS ("The generation of binomial random variates", J. Statist. Comput. Simul. 46, 1993), one block
// per attempt, the acceptance test on log f(k)/f(m) written with Stirling-series tails.
//
// Element i of a draw reads only the Philox blocks i*kDiscreteBlocks ... i*kDiscreteBlocks + kDiscreteBlocks - 1
// of its (seed, stream), so a value is a pure function of (seed, stream, i) on either device; all arithmetic
// is in double. Every loop is bounded: the inversions stop after kInversionSteps terms (mean < 10; the mass
// beyond is below double's resolution), the rejections after kDiscreteBlocks attempts (below 2^-32 to exhaust
// even if an attempt accepted only half the time; Hörmann reports rates near 0.9); an exhausted rejection
// returns the mode.
#pragma once
#include "hd.h"
#include "philox.h"

namespace antler::kernels {

constexpr uint64_t kDiscreteBlocks = 32;
constexpr int kInversionSteps = 1000;

ANTLER_HD bool discreteIsNan(double v) { return v != v; }

// The tail of Stirling's series, log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2].
ANTLER_HD double stirlingTail(double k) {
  const double m = k + 1.0;
  if (k < 10.0) return lgamma(m) - ((k + 0.5) * log(m) - m + 0.91893853320467274178);
  const double r = 1.0 / (m * m);
  return (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0)))) / m;
}

// One Poisson(rate) value for element `index`: 0 for rate 0, +inf for rate +inf, NaN for rate < 0 or NaN.
ANTLER_HD double poissonSample(const PhiloxStream& s, uint64_t index, double rate) {
  if (discreteIsNan(rate) || rate < 0.0) return nan("");
  if (rate == 0.0) return 0.0;
  if (rate == HUGE_VAL) return rate;
  const uint64_t base = index * kDiscreteBlocks;
  if (rate < 10.0) {
    const PhiloxWords w = philoxBlock(s, base);
    const double u = uniformDouble(w.w[0], w.w[1]);
    double pk = exp(-rate), cdf = pk, k = 0.0;
    for (int i = 0; i < kInversionSteps && u >= cdf && pk > 0.0; ++i) {
      k += 1.0;
      pk *= rate / k;
      cdf += pk;
    }
    return k;
  }
  const double slam = sqrt(rate), loglam = log(rate);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
  const double invAlpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
  for (uint64_t t = 0; t < kDiscreteBlocks; ++t) {
    const PhiloxWords w = philoxBlock(s, base + t);
    const double u = uniformDouble(w.w[0], w.w[1]) - 0.5, v = uniformDouble(w.w[2], w.w[3]);
    const double us = 0.5 - fabs(u);
    const double k = floor((2.0 * a / us + b) * u + rate + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    // v > 0 here: v <= us < 0.013 or us >= 0.013 with v > vr.
    if (log(v) + log(invAlpha) - log(a / (us * us) + b) <= -rate + k * loglam - lgamma(k + 1.0)) return k;
  }
  return floor(rate);
}

// Binomial(n, q) for 0 < q <= 1/2 and n q >= 10 by BTRS.
ANTLER_HD double binomialBtrs(const PhiloxStream& s, uint64_t base, double n, double q) {
  const double spq = sqrt(n * q * (1.0 - q));
  const double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * q, c = n * q + 0.5;
  const double vr = 0.92 - 4.2 / b, r = q / (1.0 - q), alpha = (2.83 + 5.1 / b) * spq;
  const double m = floor((n + 1.0) * q);
  for (uint64_t t = 0; t < kDiscreteBlocks; ++t) {
    const PhiloxWords w = philoxBlock(s, base + t);
    const double u = uniformDouble(w.w[0], w.w[1]) - 0.5, v = uniformDouble(w.w[2], w.w[3]);
    const double us = 0.5 - fabs(u);
    const double k = floor((2.0 * a / us + b) * u + c);
    if (k < 0.0 || k > n) continue;
    if (us >= 0.07 && v <= vr) return k;
    if (!(v > 0.0)) return k;  // log(0) = -inf accepts
    const double lhs = log(v * alpha / (a / (us * us) + b));
    // log f(k) - log f(m) of the Binomial(n, q) pmf, with the factorials by Stirling.
    const double bound = (m + 0.5) * log((m + 1.0) / (r * (n - m + 1.0))) + (n + 1.0) * log((n - m + 1.0) / (n - k + 1.0)) +
                         (k + 0.5) * log(r * (n - k + 1.0) / (k + 1.0)) + stirlingTail(m) + stirlingTail(n - m) -
                         stirlingTail(k) - stirlingTail(n - k);
    if (lhs <= bound) return k;
  }
  return m;
}

// One Binomial(count, prob) value for element `index`: 0 for count 0 (any valid prob); NaN when count is not a
// nonnegative finite integer or prob is not in [0, 1].
ANTLER_HD double binomialSample(const PhiloxStream& s, uint64_t index, double count, double prob) {
  if (!(count >= 0.0) || count == HUGE_VAL || floor(count) != count || !(prob >= 0.0 && prob <= 1.0)) return nan("");
  if (count == 0.0 || prob == 0.0) return 0.0;
  if (prob == 1.0) return count;
  const bool flip = prob > 0.5;
  const double q = flip ? 1.0 - prob : prob;
  const uint64_t base = index * kDiscreteBlocks;
  double k;
  if (count * q >= 10.0) {
    k = binomialBtrs(s, base, count, q);
  } else {
    const PhiloxWords w = philoxBlock(s, base);
    const double u = uniformDouble(w.w[0], w.w[1]);
    const double ratio = q / (1.0 - q);
    double pk = exp(count * log1p(-q)), cdf = pk;
    k = 0.0;
    for (int i = 0; i < kInversionSteps && u >= cdf && pk > 0.0 && k < count; ++i) {
      pk *= (count - k) / (k + 1.0) * ratio;
      k += 1.0;
      cdf += pk;
    }
  }
  return flip ? count - k : k;
}

}  // namespace antler::kernels
