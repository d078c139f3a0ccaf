// Max and average pooling over 1 to 3 spatial axes (PyTorch's max_pool/avg_pool; 1-D and 2-D as 3-D with leading unit
// axes), one (sample, channel) plane of in… positions at a time:
//   window of output o along an axis: taps i = o·s − p + a·d, a ∈ [0, k); only the taps inside [0, L) are read
//   max: the first in-input tap (row-major over the window) holding the maximum, a NaN the maximum (the first NaN);
//        −∞ and index −1 for a window with no tap inside the input (possible with dilation)
//   avg: Σ of the in-input taps / divisor, the divisor the product over axes of (countIncludePad) the window clipped
//        to the padded input, else clipped to the input; or divisorOverride where nonzero
//   avg's adjoint: gx[i] = Σ_{o whose window holds i} gy[o] / divisor[o], in ascending o
//   adaptive (PyTorch's adaptive_max/avg_pool): output o's window along an axis is [⌊o·L/out⌋, ⌈(o+1)·L/out⌉) (never
//        empty, no padding, no dilation; windows overlap where out does not divide L), the divisor its size; the rest
//        (max's rules, the adjoint's order) as above, through the per-axis functions poolAxisTaps/poolAxisSources
// The per-point forms are the CUDA kernels' (one thread per output, per input element for the adjoint); the CPU walks
// each plane with every output's valid tap range precomputed per axis (native/cpu/pool.cpp), summing in the same order.
#pragma once
#include "hd.h"

namespace antler::kernels {

struct PoolGeometry {
  int64_t planes;                                          // N·C
  int64_t in[3], out[3], k[3], stride[3], pad[3], dil[3];  // per axis (depth, height, width); left padding
  bool includePad;                                         // avg: count the padding in the divisor
  bool adaptive;                                           // adaptive windows (k, stride, pad, dil unused: 1, 1, 0, 1)
  int64_t divisor;                                         // avg: divisorOverride, 0 for the window's own

  ANTLER_HD int64_t inPlane() const { return in[0] * in[1] * in[2]; }
  ANTLER_HD int64_t outPlane() const { return out[0] * out[1] * out[2]; }
};

// The taps a ∈ [lo, hi) of output o along one axis whose position o·s − p + a·d lies in [0, L) (lo = hi: none).
ANTLER_HD void poolTapRange(int64_t o, int64_t s, int64_t p, int64_t d, int64_t k, int64_t L, int64_t& lo, int64_t& hi) {
  const int64_t start = o * s - p;
  lo = start >= 0 ? 0 : (-start + d - 1) / d;
  hi = L - start <= 0 ? 0 : (L - 1 - start) / d + 1;
  if (hi > k) hi = k;
  if (lo > hi) lo = hi;
}

// avg's divisor along one axis for output o (PyTorch's: the window clipped to the padded input, then to the input
// where the padding is not counted).
ANTLER_HD int64_t poolAxisDivisor(int64_t o, int64_t s, int64_t p, int64_t k, int64_t L, bool includePad) {
  const int64_t start = o * s - p;
  const int64_t end = start + k < L + p ? start + k : L + p;
  if (includePad) return end - start;
  return (end < L ? end : L) - (start > 0 ? start : 0);
}

// An adaptive window's first position along an axis of length L cut into `out` windows: ⌊o·L/out⌋ (o·L < 2^62).
ANTLER_HD int64_t poolAdaptiveStart(int64_t o, int64_t L, int64_t out) { return o * L / out; }
// Its end (exclusive): ⌈(o+1)·L/out⌉.
ANTLER_HD int64_t poolAdaptiveEnd(int64_t o, int64_t L, int64_t out) { return ((o + 1) * L + out - 1) / out; }

// Output o's window along axis a: its in-input taps [lo, hi) and tap 0's position base (tap t reads base + t·dil[a]).
ANTLER_HD void poolAxisTaps(const PoolGeometry& g, int a, int64_t o, int64_t& lo, int64_t& hi, int64_t& base) {
  if (g.adaptive) {
    base = poolAdaptiveStart(o, g.in[a], g.out[a]);
    lo = 0;
    hi = poolAdaptiveEnd(o, g.in[a], g.out[a]) - base;
    return;
  }
  poolTapRange(o, g.stride[a], g.pad[a], g.dil[a], g.k[a], g.in[a], lo, hi);
  base = o * g.stride[a] - g.pad[a];
}

// avg's divisor along axis a for output o: poolAxisDivisor's, or an adaptive window's size.
ANTLER_HD int64_t poolAxisDivisorOf(const PoolGeometry& g, int a, int64_t o) {
  if (g.adaptive) return poolAdaptiveEnd(o, g.in[a], g.out[a]) - poolAdaptiveStart(o, g.in[a], g.out[a]);
  return poolAxisDivisor(o, g.stride[a], g.pad[a], g.k[a], g.in[a], g.includePad);
}

// The divisor of output (o0, o1, o2), as a double (the product of the axes' integers, exact below 2^53).
ANTLER_HD double poolDivisor(const PoolGeometry& g, int64_t o0, int64_t o1, int64_t o2) {
  if (g.divisor != 0) return static_cast<double>(g.divisor);
  return static_cast<double>(poolAxisDivisorOf(g, 0, o0)) * static_cast<double>(poolAxisDivisorOf(g, 1, o1)) *
         static_cast<double>(poolAxisDivisorOf(g, 2, o2));
}

// Whether v replaces best as a window's maximum: larger, or the first NaN.
template <typename T>
ANTLER_HD bool poolMaxBeats(T v, T best) {
  return v > best || (v != v && best == best);
}

// Output element idx of [planes, out…]: its plane, its position o per axis, and its window's in-input taps
// [lo, hi) per axis (tap t reads input position base + t·dilation).
struct PoolWindow {
  int64_t plane, o[3], lo[3], hi[3], base[3];
  ANTLER_HD PoolWindow(const PoolGeometry& g, int64_t idx) {
    o[2] = idx % g.out[2];
    o[1] = (idx / g.out[2]) % g.out[1];
    o[0] = (idx / (g.out[2] * g.out[1])) % g.out[0];
    plane = idx / g.outPlane();
    for (int a = 0; a < 3; ++a) poolAxisTaps(g, a, o[a], lo[a], hi[a], base[a]);
  }
};

// The output element `idx` of [planes, out…] (row-major): its maximum and the flat in-plane index of the tap holding it.
template <typename T>
ANTLER_HD void poolMaxPoint(const T* x, const PoolGeometry& g, int64_t idx, T& value, int32_t& index) {
  const PoolWindow w(g, idx);
  const T* xp = x + w.plane * g.inPlane();
  const int64_t lo0 = w.lo[0], hi0 = w.hi[0], lo1 = w.lo[1], hi1 = w.hi[1], lo2 = w.lo[2], hi2 = w.hi[2];
  if (lo0 == hi0 || lo1 == hi1 || lo2 == hi2) {
    value = -static_cast<T>(INFINITY);
    index = -1;
    return;
  }
  const int64_t b0 = w.base[0], b1 = w.base[1], b2 = w.base[2];
  int64_t at = ((b0 + lo0 * g.dil[0]) * g.in[1] + b1 + lo1 * g.dil[1]) * g.in[2] + b2 + lo2 * g.dil[2];
  T best = xp[at];
  for (int64_t a = lo0; a < hi0; ++a)
    for (int64_t b = lo1; b < hi1; ++b) {
      const int64_t row = ((b0 + a * g.dil[0]) * g.in[1] + b1 + b * g.dil[1]) * g.in[2] + b2;
      for (int64_t e = lo2; e < hi2; ++e) {
        const T v = xp[row + e * g.dil[2]];
        if (poolMaxBeats(v, best)) best = v, at = row + e * g.dil[2];
      }
    }
  value = best;
  index = static_cast<int32_t>(at);
}

// The output element `idx` of [planes, out…]: the average of its window.
template <typename T>
ANTLER_HD T poolAvgPoint(const T* x, const PoolGeometry& g, int64_t idx) {
  const PoolWindow w(g, idx);
  const T* xp = x + w.plane * g.inPlane();
  const int64_t lo0 = w.lo[0], hi0 = w.hi[0], lo1 = w.lo[1], hi1 = w.hi[1], lo2 = w.lo[2], hi2 = w.hi[2];
  const int64_t b0 = w.base[0], b1 = w.base[1], b2 = w.base[2];
  T acc = T(0);
  for (int64_t a = lo0; a < hi0; ++a)
    for (int64_t b = lo1; b < hi1; ++b) {
      const T* row = xp + ((b0 + a * g.dil[0]) * g.in[1] + b1 + b * g.dil[1]) * g.in[2] + b2;
      for (int64_t e = lo2; e < hi2; ++e) acc += row[e * g.dil[2]];
    }
  return acc / static_cast<T>(poolDivisor(g, w.o[0], w.o[1], w.o[2]));
}

// The outputs [lo, hi] along one axis whose window's taps could reach input position i: o·s − p ≤ i ≤ o·s − p + (k−1)·d.
ANTLER_HD void poolSourceRange(int64_t i, int64_t s, int64_t p, int64_t d, int64_t k, int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t top = i + p, bottom = i + p - (k - 1) * d;
  lo = bottom <= 0 ? 0 : (bottom + s - 1) / s;
  hi = top < 0 ? -1 : top / s;
  if (hi > out - 1) hi = out - 1;
}

// Whether output o's window along one axis has a tap at input position i.
ANTLER_HD bool poolHasTap(int64_t i, int64_t o, int64_t s, int64_t p, int64_t d, int64_t k) {
  const int64_t t = i + p - o * s;
  return t >= 0 && t % d == 0 && t / d < k;
}

// The outputs [lo, hi] along axis a whose window may hold input position i (adaptive: exactly those,
// ⌊i·out/L⌋ ≤ o ≤ ⌈(i+1)·out/L⌉ − 1), and whether output o's does.
ANTLER_HD void poolAxisSources(const PoolGeometry& g, int a, int64_t i, int64_t& lo, int64_t& hi) {
  if (g.adaptive) {
    lo = i * g.out[a] / g.in[a];
    hi = ((i + 1) * g.out[a] + g.in[a] - 1) / g.in[a] - 1;
    return;
  }
  poolSourceRange(i, g.stride[a], g.pad[a], g.dil[a], g.k[a], g.out[a], lo, hi);
}
ANTLER_HD bool poolAxisHasTap(const PoolGeometry& g, int a, int64_t i, int64_t o) {
  if (g.adaptive) return true;
  return poolHasTap(i, o, g.stride[a], g.pad[a], g.dil[a], g.k[a]);
}

// avg's adjoint at input element `idx` of [planes, in…]: Σ gy[o] / divisor[o] over the outputs whose windows hold it,
// in ascending o (the CPU's scatter order).
template <typename T>
ANTLER_HD T poolAvgAdjointPoint(const T* gy, const PoolGeometry& g, int64_t idx) {
  const int64_t i2 = idx % g.in[2], i1 = (idx / g.in[2]) % g.in[1], i0 = (idx / (g.in[2] * g.in[1])) % g.in[0];
  const T* gp = gy + (idx / g.inPlane()) * g.outPlane();
  int64_t lo0, hi0, lo1, hi1, lo2, hi2;
  poolAxisSources(g, 0, i0, lo0, hi0);
  poolAxisSources(g, 1, i1, lo1, hi1);
  poolAxisSources(g, 2, i2, lo2, hi2);
  T acc = T(0);
  for (int64_t o0 = lo0; o0 <= hi0; ++o0) {
    if (!poolAxisHasTap(g, 0, i0, o0)) continue;
    for (int64_t o1 = lo1; o1 <= hi1; ++o1) {
      if (!poolAxisHasTap(g, 1, i1, o1)) continue;
      for (int64_t o2 = lo2; o2 <= hi2; ++o2) {
        if (!poolAxisHasTap(g, 2, i2, o2)) continue;
        acc += gp[(o0 * g.out[1] + o1) * g.out[2] + o2] / static_cast<T>(poolDivisor(g, o0, o1, o2));
      }
    }
  }
  return acc;
}

}  // namespace antler::kernels
