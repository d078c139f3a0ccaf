// Depthwise convolution (groups = input channels, channel multiplier m = Cout / C ≥ 1), PyTorch's
// cross-correlation with zero padding, over 1 to 3 spatial axes (1-D and 2-D as 3-D with leading unit axes):
//   y[n, co, o]   = Σ_a x[n, c, o·s − p + a·d] · w[co, a]                       c = ⌊co / m⌋
//   gx[n, c, i]   = Σ_{j < m} Σ_a gy[n, c·m + j, (i + p − a·d) / s] · w[c·m + j, a]   (where s divides and in range)
//   gw[co, a]     = Σ_n Σ_o gy[n, co, o] · x[n, c, o·s − p + a·d]
// o, i and a are multi-indices (depth, height, width); positions outside the input are the padding's zeros (the right
// padding only shows in the output's size). The per-point forms below are the CUDA kernels' (one thread per output
// element, per input element, and a block's strided share of one weight tap's sum); the CPU walks rows with the same
// formulas (native/cpu/depthwise.cpp; the input gradient there a scatter within each (sample, channel) plane).
#pragma once
#include "hd.h"

namespace antler::kernels {

struct DepthwiseGeometry {
  int64_t N, C, m;  // samples, input channels, channel multiplier (output channels C·m)
  int64_t in[3], out[3], k[3], stride[3], pad[3], dil[3];  // per axis (depth, height, width); left padding

  ANTLER_HD int64_t inPlane() const { return in[0] * in[1] * in[2]; }
  ANTLER_HD int64_t outPlane() const { return out[0] * out[1] * out[2]; }
  ANTLER_HD int64_t taps() const { return k[0] * k[1] * k[2]; }
};

// y at output element `idx` of [N, C·m, out…] (row-major), summed over the taps in row-major order. A tap that falls in
// the padding adds w·0 (PyTorch's CPU convolution multiplies the padded zeros: a NaN or infinite weight makes the border
// outputs NaN too, as the row gather path's explicit padding does), not nothing.
template <typename T>
ANTLER_HD T depthwiseForwardPoint(const T* x, const T* w, const DepthwiseGeometry& g, int64_t idx) {
  const int64_t o2 = idx % g.out[2], o1 = (idx / g.out[2]) % g.out[1], o0 = (idx / (g.out[2] * g.out[1])) % g.out[0];
  const int64_t nco = idx / g.outPlane(), co = nco % (g.C * g.m), n = nco / (g.C * g.m);
  const T* xp = x + (n * g.C + co / g.m) * g.inPlane();
  const T* wp = w + co * g.taps();
  T acc = T(0);
  for (int64_t a = 0; a < g.k[0]; ++a) {
    const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
    const bool in0 = i0 >= 0 && i0 < g.in[0];
    for (int64_t b = 0; b < g.k[1]; ++b) {
      const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
      const bool in1 = in0 && i1 >= 0 && i1 < g.in[1];
      for (int64_t e = 0; e < g.k[2]; ++e) {
        const int64_t i2 = o2 * g.stride[2] - g.pad[2] + e * g.dil[2];
        const T wv = wp[(a * g.k[1] + b) * g.k[2] + e];
        acc += (in1 && i2 >= 0 && i2 < g.in[2]) ? xp[(i0 * g.in[1] + i1) * g.in[2] + i2] * wv : wv * T(0);
      }
    }
  }
  return acc;
}

// The output position along one axis that input position i meets through tap a, or −1 where none does (o·s − p + a·d
// = i has no integer o in [0, out)).
ANTLER_HD int64_t depthwiseSource(int64_t i, int64_t a, int64_t s, int64_t p, int64_t d, int64_t out) {
  const int64_t t = i + p - a * d;
  if (t < 0 || t % s != 0) return -1;
  const int64_t o = t / s;
  return o < out ? o : -1;
}

// gx at input element `idx` of [N, C, in…]: a gather over the m output channels and the taps (no atomics).
template <typename T>
ANTLER_HD T depthwiseInputGradPoint(const T* gy, const T* w, const DepthwiseGeometry& g, int64_t idx) {
  const int64_t i2 = idx % g.in[2], i1 = (idx / g.in[2]) % g.in[1], i0 = (idx / (g.in[2] * g.in[1])) % g.in[0];
  const int64_t nc = idx / g.inPlane(), c = nc % g.C, n = nc / g.C;
  T acc = T(0);
  for (int64_t j = 0; j < g.m; ++j) {
    const int64_t co = c * g.m + j;
    const T* gp = gy + (n * g.C * g.m + co) * g.outPlane();
    const T* wp = w + co * g.taps();
    for (int64_t a = 0; a < g.k[0]; ++a) {
      const int64_t o0 = depthwiseSource(i0, a, g.stride[0], g.pad[0], g.dil[0], g.out[0]);
      if (o0 < 0) continue;
      for (int64_t b = 0; b < g.k[1]; ++b) {
        const int64_t o1 = depthwiseSource(i1, b, g.stride[1], g.pad[1], g.dil[1], g.out[1]);
        if (o1 < 0) continue;
        for (int64_t e = 0; e < g.k[2]; ++e) {
          const int64_t o2 = depthwiseSource(i2, e, g.stride[2], g.pad[2], g.dil[2], g.out[2]);
          if (o2 < 0) continue;
          acc += gp[(o0 * g.out[1] + o1) * g.out[2] + o2] * wp[(a * g.k[1] + b) * g.k[2] + e];
        }
      }
    }
  }
  return acc;
}

// One term of gw[co, tap]: gy[n, co, o]·x[n, c, o·s − p + tap·d] for the q-th (n, o) pair (q < N·outPlane), gy·0
// where the tap falls in the padding (0, or NaN where gy is NaN or infinite: PyTorch's CPU sum over the padded input).
template <typename T>
ANTLER_HD double depthwiseWeightGradTerm(const T* x, const T* gy, const DepthwiseGeometry& g, int64_t co, int64_t tap,
                                          int64_t q) {
  const int64_t e = tap % g.k[2], b = (tap / g.k[2]) % g.k[1], a = tap / (g.k[2] * g.k[1]);
  const int64_t P = g.outPlane(), n = q / P, o = q % P;
  const int64_t o2 = o % g.out[2], o1 = (o / g.out[2]) % g.out[1], o0 = o / (g.out[2] * g.out[1]);
  const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
  const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
  const int64_t i2 = o2 * g.stride[2] - g.pad[2] + e * g.dil[2];
  const double gv = static_cast<double>(gy[(n * g.C * g.m + co) * P + o]);
  if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) return gv * 0.0;  // gy·(padded 0)
  const T xv = x[(n * g.C + co / g.m) * g.inPlane() + (i0 * g.in[1] + i1) * g.in[2] + i2];
  return gv * static_cast<double>(xv);
}

// The range [lo, hi) of output positions o along one axis whose tap (offset a·d − p) lands inside [0, L):
// 0 ≤ o·s + off < L.
ANTLER_HD void depthwiseValidRange(int64_t off, int64_t s, int64_t L, int64_t out, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + s - 1) / s;
  hi = L - off <= 0 ? 0 : (L - off - 1) / s + 1;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
}

}  // namespace antler::kernels
