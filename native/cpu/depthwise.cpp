// Depthwise convolution on the CPU (kernels/depthwise.h's formulas): the forward pass and the input gradient one
// (sample, channel) plane per OpenMP iteration, walking output rows with each tap's valid range precomputed so the
// innermost loop over the width is branch-free (vectorised at stride 1); the weight gradient one output channel per
// iteration, every tap's sum in a double accumulator in a fixed order (the same result every run).
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "../kernels/depthwise.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::DepthwiseGeometry;
using kernels::depthwiseValidRange;

// y[ow] += wv·x[ow·s + off] for ow in [lo, hi).
template <typename T>
static inline void axpyRow(T* __restrict y, const T* __restrict x, T wv, int64_t lo, int64_t hi, int64_t s, int64_t off) {
  if (s == 1) {
    const T* xs = x + off;
    for (int64_t o = lo; o < hi; ++o) y[o] += wv * xs[o];
  } else {
    for (int64_t o = lo; o < hi; ++o) y[o] += wv * x[o * s + off];
  }
}

// x[o·s + off] += wv·y[o] for o in [lo, hi).
template <typename T>
static inline void scatterRow(T* __restrict x, const T* __restrict y, T wv, int64_t lo, int64_t hi, int64_t s, int64_t off) {
  if (s == 1) {
    T* xs = x + off;
    for (int64_t o = lo; o < hi; ++o) xs[o] += wv * y[o];
  } else {
    for (int64_t o = lo; o < hi; ++o) x[o * s + off] += wv * y[o];
  }
}

// Whether v[0..n) holds no NaN or infinity (Σ v·0 is 0 exactly then, NaN otherwise; vectorised).
template <typename T>
static inline bool allFinite(const T* __restrict v, int64_t n) {
  T z = T(0);
#pragma omp simd reduction(+ : z)
  for (int64_t i = 0; i < n; ++i) z += v[i] * T(0);
  return z == T(0);
}

// Whether some output's tap falls outside the input (the left padding, or outputs reaching past the input's end).
static bool touchesPadding(const DepthwiseGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.pad[d] > 0 || (g.out[d] - 1) * g.stride[d] + (g.k[d] - 1) * g.dil[d] >= g.in[d]) return true;
  return false;
}

// Whether every output position meets the input through at least one tap (on every axis some tap lands inside).
static bool everyOutputSeesInput(const DepthwiseGeometry& g) {
  for (int d = 0; d < 3; ++d)
    for (int64_t o = 0; o < g.out[d]; ++o) {
      bool any = false;
      for (int64_t a = 0; a < g.k[d] && !any; ++a) {
        const int64_t i = o * g.stride[d] - g.pad[d] + a * g.dil[d];
        any = i >= 0 && i < g.in[d];
      }
      if (!any) return false;
    }
  return true;
}

template <typename T>
static void forwardT(T* y, const T* x, const T* w, const DepthwiseGeometry& g) {
  const int64_t planes = g.N * g.C * g.m, P = g.outPlane(), KK = g.taps();
  parallelFor(planes, planes * P * KK, [&](int64_t plane) {
    const int64_t co = plane % (g.C * g.m), n = plane / (g.C * g.m);
    const T* xp = x + (n * g.C + co / g.m) * g.inPlane();
    const T* wp = w + co * KK;
    T* yp = y + plane * P;
    if (!allFinite(wp, KK)) {  // a NaN/infinite weight: its padded taps add w·0 too (NaN), as PyTorch's CPU conv
      for (int64_t o = 0; o < P; ++o) yp[o] = kernels::depthwiseForwardPoint(x, w, g, plane * P + o);
      return;
    }
    std::fill(yp, yp + P, T(0));
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        T* yr = yp + (o0 * g.out[1] + o1) * g.out[2];
        for (int64_t a = 0; a < g.k[0]; ++a) {
          const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
          if (i0 < 0 || i0 >= g.in[0]) continue;
          for (int64_t b = 0; b < g.k[1]; ++b) {
            const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
            if (i1 < 0 || i1 >= g.in[1]) continue;
            const T* xr = xp + (i0 * g.in[1] + i1) * g.in[2];
            for (int64_t e = 0; e < g.k[2]; ++e) {
              const int64_t off = e * g.dil[2] - g.pad[2];
              int64_t lo, hi;
              depthwiseValidRange(off, g.stride[2], g.in[2], g.out[2], lo, hi);
              axpyRow(yr, xr, wp[(a * g.k[1] + b) * g.k[2] + e], lo, hi, g.stride[2], off);
            }
          }
        }
      }
  });
}

// Each gy row scattered into the input rows its taps touch, within the (sample, channel) plane this iteration owns
// (no races, a fixed order); contiguous at width stride 1, strided otherwise. (The per-point gather CUDA uses,
// kernels::depthwiseInputGradPoint, measured ~100× slower here at stride 2: two int64 divisions per tap and axis.)
template <typename T>
static void inputGradT(T* gx, const T* gy, const T* w, const DepthwiseGeometry& g) {
  const int64_t planes = g.N * g.C, S = g.inPlane(), P = g.outPlane(), KK = g.taps();
  parallelFor(planes, planes * P * KK * g.m, [&](int64_t plane) {
    const int64_t c = plane % g.C, n = plane / g.C;
    T* gp = gx + plane * S;
    std::fill(gp, gp + S, T(0));
    for (int64_t j = 0; j < g.m; ++j) {
      const int64_t co = c * g.m + j;
      const T* gyp = gy + (n * g.C * g.m + co) * P;
      const T* wp = w + co * KK;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
          const T* gr = gyp + (o0 * g.out[1] + o1) * g.out[2];
          for (int64_t a = 0; a < g.k[0]; ++a) {
            const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
            if (i0 < 0 || i0 >= g.in[0]) continue;
            for (int64_t b = 0; b < g.k[1]; ++b) {
              const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
              if (i1 < 0 || i1 >= g.in[1]) continue;
              T* xr = gp + (i0 * g.in[1] + i1) * g.in[2];
              for (int64_t e = 0; e < g.k[2]; ++e) {
                const int64_t off = e * g.dil[2] - g.pad[2];
                int64_t lo, hi;
                depthwiseValidRange(off, g.stride[2], g.in[2], g.out[2], lo, hi);
                scatterRow(xr, gr, wp[(a * g.k[1] + b) * g.k[2] + e], lo, hi, g.stride[2], off);
              }
            }
          }
        }
    }
  });
}

// Σ_o gy_row[o]·x_row[o·s + off] over [lo, hi): one row's sum in T (vectorised at stride 1, T's lanes), which the
// caller adds to its double accumulator. (Every product in double measured 25 ms single-threaded for [8, 128, 56, 56]
// 3×3, 1.7× the forward.) The caller cuts a row into chunks of kRowChunk outputs, so float32 sums at most that many
// products however wide the output (a 1-D conv's row is the whole sequence: at L = 2^20 one float32 sum per row erred
// 3.8e-6 relative, as much as torch 1.13's float32 weight gradient).
constexpr int64_t kRowChunk = 512;
template <typename T>
static inline T dotRow(const T* __restrict gr, const T* __restrict xr, int64_t lo, int64_t hi, int64_t s, int64_t off) {
  T acc = T(0);
  if (s == 1) {
    const T* xs = xr + off;
#pragma omp simd reduction(+ : acc)
    for (int64_t o = lo; o < hi; ++o) acc += gr[o] * xs[o];
  } else {
    for (int64_t o = lo; o < hi; ++o) acc += gr[o] * xr[o * s + off];
  }
  return acc;
}

template <typename T>
static void weightGradT(T* gw, const T* x, const T* gy, const DepthwiseGeometry& g) {
  const int64_t Cout = g.C * g.m, P = g.outPlane(), KK = g.taps();
  const bool padded = touchesPadding(g), covered = !padded || everyOutputSeesInput(g);
  parallelFor(Cout, Cout * g.N * P * KK, [&](int64_t co) {
    std::vector<double> acc(static_cast<size_t>(KK), 0.0);
    for (int64_t n = 0; n < g.N; ++n) {
      const T* xp = x + (n * g.C + co / g.m) * g.inPlane();
      const T* gyp = gy + (n * Cout + co) * P;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
          const T* gr = gyp + (o0 * g.out[1] + o1) * g.out[2];
          for (int64_t a = 0; a < g.k[0]; ++a) {
            const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
            if (i0 < 0 || i0 >= g.in[0]) continue;
            for (int64_t b = 0; b < g.k[1]; ++b) {
              const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
              if (i1 < 0 || i1 >= g.in[1]) continue;
              const T* xr = xp + (i0 * g.in[1] + i1) * g.in[2];
              for (int64_t e = 0; e < g.k[2]; ++e) {
                const int64_t off = e * g.dil[2] - g.pad[2];
                int64_t lo, hi;
                depthwiseValidRange(off, g.stride[2], g.in[2], g.out[2], lo, hi);
                double& at = acc[(a * g.k[1] + b) * g.k[2] + e];
                if (hi - lo <= kRowChunk)
                  at += static_cast<double>(dotRow(gr, xr, lo, hi, g.stride[2], off));
                else  // T's sums over at most kRowChunk products each
                  for (int64_t c0 = lo; c0 < hi; c0 += kRowChunk)
                    at += static_cast<double>(dotRow(gr, xr, c0, std::min(hi, c0 + kRowChunk), g.stride[2], off));
              }
            }
          }
        }
    }
    // A NaN/infinite gy where a tap falls in the padding adds gy·0 (NaN), as PyTorch's CPU conv. Where every output
    // meets the input through some tap, a non-finite gy already makes some tap's sum non-finite (x·inf, x·NaN), so gy
    // is scanned only then (or where some output sees padding alone).
    bool suspect = !covered;
    for (int64_t t = 0; t < KK && !suspect; ++t) suspect = !std::isfinite(acc[t]);
    if (padded && suspect) {
      bool finite = true;
      for (int64_t n = 0; n < g.N && finite; ++n) finite = allFinite(gy + (n * Cout + co) * P, P);
      if (!finite)
        for (int64_t t = 0; t < KK; ++t) {
          double s = 0.0;
          for (int64_t q = 0; q < g.N * P; ++q) s += kernels::depthwiseWeightGradTerm(x, gy, g, co, t, q);
          acc[t] = s;
        }
    }
    for (int64_t t = 0; t < KK; ++t) gw[co * KK + t] = static_cast<T>(acc[t]);
  });
}

void depthwiseConv(DType t, void* y, const void* x, const void* w, const DepthwiseGeometry& g) {
  switch (t) {
    case DType::Float32: return forwardT(static_cast<float*>(y), static_cast<const float*>(x), static_cast<const float*>(w), g);
    case DType::Float64: return forwardT(static_cast<double*>(y), static_cast<const double*>(x), static_cast<const double*>(w), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConv: dtype ", dtypeName(t), " is not supported");
}

void depthwiseConvBackwardInput(DType t, void* gx, const void* gy, const void* w, const DepthwiseGeometry& g) {
  switch (t) {
    case DType::Float32: return inputGradT(static_cast<float*>(gx), static_cast<const float*>(gy), static_cast<const float*>(w), g);
    case DType::Float64: return inputGradT(static_cast<double*>(gx), static_cast<const double*>(gy), static_cast<const double*>(w), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConvBackwardInput: dtype ", dtypeName(t), " is not supported");
}

void depthwiseConvBackwardWeight(DType t, void* gw, const void* x, const void* gy, const DepthwiseGeometry& g) {
  switch (t) {
    case DType::Float32: return weightGradT(static_cast<float*>(gw), static_cast<const float*>(x), static_cast<const float*>(gy), g);
    case DType::Float64: return weightGradT(static_cast<double*>(gw), static_cast<const double*>(x), static_cast<const double*>(gy), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConvBackwardWeight: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
