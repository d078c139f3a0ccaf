// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a counter-based generator, so element i of a draw is a pure
// function of (key, counter) and CPU and CUDA produce the same bits.
//
// Layout of one draw: key = seed (64 bits), counter = (block lo, block hi,
// stream lo, stream hi), where block = i / valuesPerBlock. One block yields
// four 32-bit words.
#pragma once
#include "hd.h"

namespace antler::kernels {

struct PhiloxKey { uint32_t k0, k1; };
struct PhiloxWords { uint32_t w[4]; };

ANTLER_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

ANTLER_HD PhiloxWords philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, PhiloxKey key) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(M0, c0, hi0, lo0);
    mulhilo32(M1, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n1 = lo1;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    const uint32_t n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += W0; k1 += W1;
  }
  PhiloxWords out;
  out.w[0] = c0; out.w[1] = c1; out.w[2] = c2; out.w[3] = c3;
  return out;
}

struct PhiloxStream {
  PhiloxKey key;
  uint32_t stream0, stream1;
};

ANTLER_HD PhiloxWords philoxBlock(const PhiloxStream& s, uint64_t block) {
  return philox4x32(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                    s.stream0, s.stream1, s.key);
}

// Uniform in [0, 1): the top 24 bits of a word (float) or 53 bits of two words
// (double), so every value is exactly representable and 1.0 never appears.
ANTLER_HD float uniformFloat(uint32_t w) {
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}

ANTLER_HD double uniformDouble(uint32_t hi, uint32_t lo) {
  const uint64_t bits = (static_cast<uint64_t>(hi >> 5) << 26) | static_cast<uint64_t>(lo >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// Box–Muller on (u1, u2) with u1 moved into (0, 1] so log never sees zero.
// The float path evaluates in float on both backends; CUDA's logf/sincosf
// differ from glibc's by a few ulp, which is why randn is "equal to 1e-6
// relative" across devices while rand is bit-identical.
ANTLER_HD void boxMullerFloat(float u1, float u2, float& z0, float& z1) {
  const float r = sqrtf(-2.0f * logf(1.0f - u1));
  const float theta = 6.28318530717958647692f * u2;
  z0 = r * cosf(theta);
  z1 = r * sinf(theta);
}

ANTLER_HD void boxMullerDouble(double u1, double u2, double& z0, double& z1) {
  const double r = sqrt(-2.0 * log(1.0 - u1));
  const double theta = 6.28318530717958647692 * u2;
  z0 = r * cos(theta);
  z1 = r * sin(theta);
}

// A float32 draw of n elements is cut into blocks of 4: element i is lane i%4
// of block i/4. Uniform lanes are the block's four words; normal lanes are the
// two Box–Muller pairs built from words (0,1) and (2,3).
ANTLER_HD void randomFloatBlock(const PhiloxStream& s, uint64_t block, bool normal, float out[4]) {
  const PhiloxWords w = philoxBlock(s, block);
  if (!normal) {
    for (int l = 0; l < 4; ++l) out[l] = uniformFloat(w.w[l]);
    return;
  }
  boxMullerFloat(uniformFloat(w.w[0]), uniformFloat(w.w[1]), out[0], out[1]);
  boxMullerFloat(uniformFloat(w.w[2]), uniformFloat(w.w[3]), out[2], out[3]);
}

// A float64 draw uses blocks of 2: uniform lanes from words (0,1) and (2,3);
// normal lanes are one Box–Muller pair of those two doubles.
ANTLER_HD void randomDoubleBlock(const PhiloxStream& s, uint64_t block, bool normal, double out[2]) {
  const PhiloxWords w = philoxBlock(s, block);
  const double u0 = uniformDouble(w.w[0], w.w[1]);
  const double u1 = uniformDouble(w.w[2], w.w[3]);
  if (!normal) { out[0] = u0; out[1] = u1; return; }
  boxMullerDouble(u0, u1, out[0], out[1]);
}

constexpr int kFloatBlock = 4;
constexpr int kDoubleBlock = 2;

// Element value after the affine map of RandomSpec (uniform: a + (b-a)u;
// normal: a + b z), in the element's own type. int32 draws are uniform
// integers in [a, b): floor(a + (b - a) * u) computed in double.
// Uniform draws are documented as [a, b): a + (b - a) u can round up to b
// when u is within an ulp of 1, so such a value becomes the largest one below b.
template <typename T>
ANTLER_HD T randomAffine(double raw, bool normal, double a, double b) {
  if (normal) return static_cast<T>(addRn(a, mulRn(b, raw)));
  const double v = addRn(a, mulRn(b - a, raw));
  return static_cast<T>(v >= b && b > a ? nextafter(b, a) : v);
}

template <>
ANTLER_HD float randomAffine<float>(double raw, bool normal, double a, double b) {
  const float r = static_cast<float>(raw);
  if (normal) return addRn(static_cast<float>(a), mulRn(static_cast<float>(b), r));
  const float fb = static_cast<float>(b);
  const float v = addRn(static_cast<float>(a), mulRn(static_cast<float>(b - a), r));
  return v >= fb && b > a ? nextafterf(fb, static_cast<float>(a)) : v;
}

}  // namespace antler::kernels

namespace antler::kernels {

// Uniform integer in [a, b) from u in [0, 1); b == a gives a. The clamp
// guards the rounding of a + (b - a) * u up to b for u just below 1.
ANTLER_HD int32_t uniformInt32(double u, double a, double b) {
  double v = floor(addRn(a, mulRn(b - a, u)));
  if (b > a && v > b - 1) v = b - 1;
  return static_cast<int32_t>(v);
}

}  // namespace antler::kernels
