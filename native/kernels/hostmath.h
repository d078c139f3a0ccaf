// Float32 transcendental functions for the CPU backend, written so that a loop
// over elements vectorises: no libm call, no branch (special cases are
// selects, which the build's -fno-trapping-math lets g++ compute as blends),
// bit reinterpretation through memcpy. glibc's expf, logf, log1pf, expm1f,
// erff and erfcf are correctly rounded or nearly, but each is a call per
// element that stops vectorisation: 2.8–3.3 ms for 512k floats on the CI
// machine (2 threads) against 0.17–0.3 ms for these (1 ms for erf and erfc,
// which work in double). The polynomials were fitted for this
// file (scripts/hostmath/fit.py: weighted least squares iterated towards
// minimax, coefficients rounded to float); scripts/hostmath/check.cpp
// compares each function with the double-precision libm function over every
// float, and the bounds quoted below are what it measured. test/cpu/ops.test.ts
// keeps a sampled version of that check. Host only: on the GPU, CUDA's own
// functions are used (unary.h).
#pragma once
#include <cstdint>
#include <cstring>

namespace antler::kernels::hostmath {

__attribute__((always_inline)) inline float fromBits(int32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
__attribute__((always_inline)) inline int32_t toBits(float f) {
  int32_t b;
  memcpy(&b, &f, 4);
  return b;
}

// ln 2 in two parts: the first has 15 significant bits, so k · kLn2Hi is
// exact for |k| < 512; the second is the remainder.
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.428606765330187e-06f;

// e^x: x = n ln 2 + r with |r| <= ln 2 / 2, e^r = 1 + r + r² q(r) with q of
// degree 4 fitted to e^r's relative error (3e-9 in exact arithmetic), and 2^n
// applied as two halves so that results down to the subnormals come out
// right. Within 1 ulp of float(exp(double(x))) over every float in (−110, 90),
// as glibc's expf is; ±inf, NaN, overflow and underflow as expf. Needs
// inlining to vectorise: g++ left it an out-of-line call inside the unary and
// softmax loops (3× slower than the vectorised loop), hence always_inline.
__attribute__((always_inline)) inline float expf(float x) {
  float xc = x > 88.8f ? 88.8f : x;  // e^88.8 overflows, as it should
  xc = xc > -104.0f ? xc : -104.0f;  // e^-104 rounds to 0; a NaN also lands here and is put back below
  const float shifter = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float t = xc * 1.44269502f + shifter;
  const int32_t n = toBits(t) - toBits(shifter);
  const float nf = t - shifter;
  const float r = (xc - nf * kLn2Hi) - nf * kLn2Lo;
  const float q = 0.4999999403953552f +
                  r * (0.1666652113199234f + r * (0.04166838899254799f + r * (0.008368710987269878f + r * 0.001381460577249527f)));
  const float p = 1.0f + (r + r * r * q);
  const int32_t n1 = n >> 1, n2 = n - n1;  // each in [−75, 64]: a normal power of two
  const float y = p * fromBits((n1 + 127) << 23) * fromBits((n2 + 127) << 23);
  return x == x ? y : x;
}

// ln x + lo for a positive finite x and a small correction lo (the caller
// handles 0, negatives, inf and NaN): x = 2^k m with m in [√½, √2)
// (subnormals scaled by 2^23 first), f = m − 1, s = f / (2 + f), so that
// ln(1 + f) = 2 atanh s = f − f²/2 + s (f²/2 + R) with R = s² P(s²), P of
// degree 3 fitted to (2 atanh s − 2s) / s³ (|s| <= 0.1716); k ln 2 is added in
// two parts, lo with the low part. Every term but f is summed before f is
// added: with f − f²/2 rounded first, log1p of tiny negatives was 2 ulp off.
__attribute__((always_inline)) inline float logPlus(float x, float lo) {
  const bool sub = x < 1.17549435e-38f;
  const float xs = sub ? x * 8388608.0f : x;
  // Unsigned so that a caller's negative x (whose result it replaces) cannot overflow.
  const uint32_t off = static_cast<uint32_t>(toBits(xs)) - 0x3f3504f3u;  // the bits of √½
  const int32_t e = static_cast<int32_t>(off) >> 23;
  const float m = fromBits(static_cast<int32_t>(static_cast<uint32_t>(toBits(xs)) - (static_cast<uint32_t>(e) << 23)));
  const float kf = static_cast<float>(sub ? e - 23 : e);
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float R = z * (0.6666666865348816f + z * (0.4000012278556824f + z * (0.2855079770088196f + z * 0.23330992460250854f)));
  const float hfsq = 0.5f * f * f;
  return kf * kLn2Hi + (f + ((s * (hfsq + R) + (kf * kLn2Lo + lo)) - hfsq));
}

// ln x. Within 1 ulp of float(log(double(x))) over every float; 0 gives −inf,
// negatives and NaN give NaN, +inf gives +inf, as logf.
__attribute__((always_inline)) inline float logf(float x) {
  const float y = logPlus(x, 0.0f);
  const float inf = fromBits(0x7f800000);
  const float special = x == 0.0f ? -inf : (x == inf ? inf : fromBits(0x7fc00000));
  return (x > 0.0f && x < inf) ? y : special;
}

// ln(1 + x): u = 1 + x rounded, and ln(1 + x) = ln u + c / u to first order in
// c = x − (u − 1), the rounding error of the sum (exact when |x| <= 1, and
// negligible against u when not), added among ln u's low-order terms.
// Within 1 ulp of float(log1p(double(x))) over every float; −1 gives −inf,
// below it NaN, ±0 and +inf stay.
__attribute__((always_inline)) inline float log1pf(float x) {
  const float u = 1.0f + x;
  const float c = x - (u - 1.0f);
  const float y = logPlus(u, c / u);
  const float inf = fromBits(0x7f800000);
  const float special = u == 0.0f ? -inf : (x == inf ? inf : (x == 0.0f ? x : fromBits(0x7fc00000)));
  return (u > 0.0f && x < inf && x != 0.0f) ? y : special;
}

// e^x − 1: x = k ln 2 + r, |r| <= ln 2 / 2, e^r − 1 = r + r² P(r) with P of
// degree 5 fitted to its relative error, and e^x − 1 = 2^k (e^r − 1) + (2^k − 1),
// where 2^k − 1 is exact for the k that matter. Beyond the reduction's range
// the answer is e^x − 1 from expf (x > 60, no cancellation) or −1 (x < −30,
// where e^x is below half an ulp of 1). Within 1 ulp of
// float(expm1(double(x))) over every float; −0, ±inf and NaN as expm1f.
__attribute__((always_inline)) inline float expm1f(float x) {
  float xc = x > 60.0f ? 60.0f : x;
  xc = xc > -30.0f ? xc : -30.0f;  // NaN lands here; it is put back below
  const float shifter = 12582912.0f;
  const float t = xc * 1.44269502f + shifter;
  const int32_t k = toBits(t) - toBits(shifter);
  const float kf = t - shifter;
  const float r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
  const float P = 0.5f + r * (0.1666666716337204f + r * (0.04166646674275398f + r * (0.008333360776305199f +
                                                                                   r * (0.0013933597365394235f + r * 0.00019857795268762857f))));
  const float em = r + (r * r) * P;
  const float scale = fromBits((k + 127) << 23);  // k in [−44, 87]: normal
  const float y = scale * em + (scale - 1.0f);
  const float big = expf(x) - 1.0f;
  const float out = x > 60.0f ? big : (x < -30.0f ? -1.0f : y);
  return (x == 0.0f || x != x) ? x : out;
}

// e^x in double for the x the erf functions need (x in [−111, 0]): the same
// reduction as expf, with r in double and the same degree-4 polynomial, whose
// relative error (3e-9) is a small fraction of a float ulp. Lets erfcLarge
// take its exponential from an argument that was not first rounded to float.
__attribute__((always_inline)) inline double expForFloat(double x) {
  const double xc = x > -111.0 ? x : -111.0;
  const double shifter = 6755399441055744.0;  // 1.5·2^52
  const double t = xc * 1.4426950408889634 + shifter;
  int64_t tb, sb;
  memcpy(&tb, &t, 8);
  memcpy(&sb, &shifter, 8);
  const int64_t n = tb - sb;  // in [−161, 0]
  const double nf = t - shifter;
  const double r = xc - nf * 0.6931471805599453;
  const double q = 0.4999999403953552 + r * (0.1666652113199234 + r * (0.04166838899254799 + r * (0.008368710987269878 + r * 0.001381460577249527)));
  const double p = 1.0 + (r + r * r * q);
  const int64_t b = (n + 1023) << 52;  // a normal double for every n here
  double s;
  memcpy(&s, &b, 8);
  return p * s;
}

// erfc(a) for a >= 0.875 (the large-argument branch of erf and erfc):
// e^{−a² + H(t)} t with t = 2 / (2 + a) and H of degree 8 in t fitted to
// ln(erfc(a) e^{a²} / t) over a in [0.875, 10.1], evaluated in double so that
// neither t's rounding nor a²'s (60 ulp of the result near a = 10 in float)
// reaches the result; rounded to float once by the caller. a is capped at
// 10.5, past which erfc is 0 in float.
__attribute__((always_inline)) inline double erfcLarge(float a) {
  const double ac = a < 10.5f ? a : 10.5f;
  const double t = 2.0 / (2.0 + ac);
  const double H = -1.2654885053634644 +
                   t * (0.9994449615478516 +
                        t * (0.3803095519542694 +
                             t * (0.05740423500537872 +
                                  t * (-0.023548565804958344 +
                                       t * (-0.17156410217285156 +
                                            t * (-0.3128713369369507 + t * (0.5454336404800415 + t * -0.2100241333246231)))))));
  return t * expForFloat(H - ac * ac);
}

// erf(x) / x − 1 = P(x²) for |x| < 0.875, P of degree 6 fitted to its
// absolute error (it crosses zero, so not its relative error); in double.
__attribute__((always_inline)) inline double erfSmallP(double z) {
  return 0.12837916612625122 +
         z * (-0.37612634897232056 +
              z * (0.11283736675977707 +
                   z * (-0.026861773803830147 + z * (0.005207219161093235 + z * (-0.0008216546848416328 + z * 8.698966121301055e-05)))));
}

// erf x: x + x P(x²) below 0.875 in magnitude, ±(1 − erfc|x|) above, in
// double, rounded once. Within 1 ulp of float(erf(double(x))) over every float.
__attribute__((always_inline)) inline float erff(float x) {
  const double xd = x;
  const float a = x < 0.0f ? -x : x;
  const double small = xd + xd * erfSmallP(xd * xd);
  const double big = 1.0 - erfcLarge(a);
  const float y = static_cast<float>(a < 0.875f ? small : (x < 0.0f ? -big : big));
  return x != x ? x : y;
}

// erfc x: 1 − erf x below 0.875 in magnitude, erfcLarge above and
// 2 − erfcLarge(−x) for x <= −0.875, in double, rounded once. Within 1 ulp of
// float(erfc(double(x))) over every float.
__attribute__((always_inline)) inline float erfcf(float x) {
  const double xd = x;
  const float a = x < 0.0f ? -x : x;
  const double small = 1.0 - (xd + xd * erfSmallP(xd * xd));
  const double large = erfcLarge(a);
  const float y = static_cast<float>(a < 0.875f ? small : (x < 0.0f ? 2.0 - large : large));
  return x != x ? x : y;
}

}  // namespace antler::kernels::hostmath
