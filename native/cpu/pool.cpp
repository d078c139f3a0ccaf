// Max and average pooling on the CPU (kernels/pool.h's rules): the forwards one output row (sample, channel, o0, o1) per
// OpenMP iteration (so a single plane, N·C = 1, still uses every thread), the adjoint one input row (sample, channel,
// i0, i1); every output's valid tap range [lo, hi) precomputed per axis, so the loops over a window's taps carry no
// bounds test. The average's adjoint scatters each output's gy / divisor into its window's taps within the row the
// iteration owns (ascending outputs: the order CUDA's per-input gather sums in). Sliding and adaptive windows alike
// (kernels::poolAxisTaps).
#include <algorithm>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../kernels/pool.h"
#include "allocator.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::PoolGeometry;

namespace {

// Per axis: each output's valid taps [lo, hi) and its window's first position (o·s − p; adaptive: ⌊o·L/out⌋).
struct AxisTaps {
  std::vector<int64_t> lo, hi, base;
};

// The per-axis tables (3 int64 per output position of each axis) and, with `divisorBytes` per output
// position of a plane, the divisors, checked as one request before any is made: an output size such as
// [2^31 - 1, 1] is a valid shape, but its tables alone would be 48 GiB of zero-filled pages.
void checkTables(const PoolGeometry& g, size_t divisorBytes, const char* op) {
  const size_t bytes = 3 * sizeof(int64_t) * static_cast<size_t>(g.out[0] + g.out[1] + g.out[2]) + divisorBytes * static_cast<size_t>(g.outPlane());
  checkHostBytes(bytes, op);
}

AxisTaps axisTaps(const PoolGeometry& g, int d) {
  AxisTaps t;
  const size_t n = static_cast<size_t>(g.out[d]);
  t.lo.resize(n), t.hi.resize(n), t.base.resize(n);
  for (int64_t o = 0; o < g.out[d]; ++o) kernels::poolAxisTaps(g, d, o, t.lo[o], t.hi[o], t.base[o]);
  return t;
}

// The divisors of every output position of a plane (row-major), in T.
template <typename T>
std::vector<T> divisors(const PoolGeometry& g) {
  std::vector<T> dv(static_cast<size_t>(g.outPlane()));
  size_t j = 0;
  for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
    for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
      for (int64_t o2 = 0; o2 < g.out[2]; ++o2) dv[j++] = static_cast<T>(kernels::poolDivisor(g, o0, o1, o2));
  return dv;
}

template <typename T>
void maxT(T* y, int32_t* indices, const T* x, const PoolGeometry& g) {
  checkTables(g, 0, "maxPool's window tables");
  const AxisTaps t0 = axisTaps(g, 0), t1 = axisTaps(g, 1), t2 = axisTaps(g, 2);
  const int64_t S = g.inPlane(), P = g.outPlane(), KK = g.k[0] * g.k[1] * g.k[2];
  const int64_t d0 = g.dil[0], d1 = g.dil[1], d2 = g.dil[2], W = g.in[2], H = g.in[1];
  const int64_t rows = g.out[0] * g.out[1];  // output rows (o0, o1) per plane: the parallel unit, so one plane uses the team too
  parallelFor(g.planes * rows, g.planes * P * KK, [&](int64_t r) {
    const int64_t plane = r / rows, o0 = (r % rows) / g.out[1], o1 = r % g.out[1];
    const T* xp = x + plane * S;
    T* yp = y + r * g.out[2];
    int32_t* ip = indices + r * g.out[2];
    const int64_t lo0 = t0.lo[o0], hi0 = t0.hi[o0], lo1 = t1.lo[o1], hi1 = t1.hi[o1], b0 = t0.base[o0], b1 = t1.base[o1];
    for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
      const int64_t lo2 = t2.lo[o2], hi2 = t2.hi[o2];
      if (lo0 == hi0 || lo1 == hi1 || lo2 == hi2) {
        yp[o2] = -std::numeric_limits<T>::infinity();
        ip[o2] = -1;
        continue;
      }
      const int64_t b2 = t2.base[o2];
      int64_t at = ((b0 + lo0 * d0) * H + b1 + lo1 * d1) * W + b2 + lo2 * d2;
      T best = xp[at];
      for (int64_t a = lo0; a < hi0; ++a)
        for (int64_t b = lo1; b < hi1; ++b) {
          const int64_t row = ((b0 + a * d0) * H + b1 + b * d1) * W + b2;
          for (int64_t e = lo2; e < hi2; ++e) {
            const T v = xp[row + e * d2];
            if (kernels::poolMaxBeats(v, best)) best = v, at = row + e * d2;
          }
        }
      yp[o2] = best;
      ip[o2] = static_cast<int32_t>(at);
    }
  });
}

template <typename T>
void avgT(T* y, const T* x, const PoolGeometry& g) {
  checkTables(g, sizeof(T), "avgPool's window tables");
  const AxisTaps t0 = axisTaps(g, 0), t1 = axisTaps(g, 1), t2 = axisTaps(g, 2);
  const std::vector<T> dv = divisors<T>(g);
  const int64_t S = g.inPlane(), P = g.outPlane(), KK = g.k[0] * g.k[1] * g.k[2];
  const int64_t d0 = g.dil[0], d1 = g.dil[1], d2 = g.dil[2], W = g.in[2], H = g.in[1];
  const int64_t rows = g.out[0] * g.out[1];  // output rows (o0, o1) per plane: the parallel unit, as maxT's
  parallelFor(g.planes * rows, g.planes * P * KK, [&](int64_t r) {
    const int64_t plane = r / rows, o0 = (r % rows) / g.out[1], o1 = r % g.out[1];
    const T* xp = x + plane * S;
    T* yp = y + r * g.out[2];
    const T* dvp = dv.data() + (r % rows) * g.out[2];
    const int64_t b0 = t0.base[o0], b1 = t1.base[o1];
    for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
      const int64_t b2 = t2.base[o2];
      T acc = T(0);
      for (int64_t a = t0.lo[o0]; a < t0.hi[o0]; ++a)
        for (int64_t b = t1.lo[o1]; b < t1.hi[o1]; ++b) {
          const T* row = xp + ((b0 + a * d0) * H + b1 + b * d1) * W + b2;
          for (int64_t e = t2.lo[o2]; e < t2.hi[o2]; ++e) acc += row[e * d2];
        }
      yp[o2] = acc / dvp[o2];
    }
  });
}

// Per axis: for each input position i, the outputs [lo, hi] whose windows hold it (kernels::poolAxisSources, those
// without a tap at i dropped), as one flat list per axis with offsets (ascending o).
struct AxisSources {
  std::vector<int64_t> start, outs;
};

AxisSources axisSources(const PoolGeometry& g, int d) {
  AxisSources t;
  t.start.reserve(static_cast<size_t>(g.in[d]) + 1);
  for (int64_t i = 0; i < g.in[d]; ++i) {
    t.start.push_back(static_cast<int64_t>(t.outs.size()));
    int64_t lo, hi;
    kernels::poolAxisSources(g, d, i, lo, hi);
    for (int64_t o = lo; o <= hi; ++o)
      if (kernels::poolAxisHasTap(g, d, i, o)) t.outs.push_back(o);
  }
  t.start.push_back(static_cast<int64_t>(t.outs.size()));
  return t;
}

// avg's adjoint one input row (sample, channel, i0, i1) per OpenMP iteration (so one plane uses every thread too):
// the row zeroed, then each output row (o0, o1) whose windows reach it, ascending, scatters its gy / divisor into the
// row's taps. Every element sums its terms in ascending (o0, o1, o2), the serial scatter's and CUDA's order, so the
// result is the same bit for bit whatever the thread count.
// The bytes axisSources(g, d) will take: (in + 1) offsets and an entry per (input, output) pair with a tap, which
// overlapping windows make up to out·k (a [65536] axis with a 32768 window at stride 1: 2^30 entries, 8 GiB, from
// tensors of KiBs), counted without making them.
size_t sourcesBytes(const PoolGeometry& g, int d) {
  size_t n = static_cast<size_t>(g.in[d]) + 1;
  for (int64_t i = 0; i < g.in[d]; ++i) {
    int64_t lo, hi;
    kernels::poolAxisSources(g, d, i, lo, hi);
    for (int64_t o = lo; o <= hi; ++o) n += kernels::poolAxisHasTap(g, d, i, o);
  }
  return n * sizeof(int64_t);
}

template <typename T>
void avgAdjointT(T* gx, const T* gy, const PoolGeometry& g) {
  // Axis 2's taps, axes 0 and 1's sources and the divisors, as one request.
  checkHostBytes(3 * sizeof(int64_t) * static_cast<size_t>(g.out[2]) + sourcesBytes(g, 0) + sourcesBytes(g, 1) + sizeof(T) * static_cast<size_t>(g.outPlane()),
                 "avgPoolBackward's window tables");
  const AxisTaps t2 = axisTaps(g, 2);
  const AxisSources s0 = axisSources(g, 0), s1 = axisSources(g, 1);
  const std::vector<T> dv = divisors<T>(g);
  const int64_t P = g.outPlane(), KK = g.k[0] * g.k[1] * g.k[2];
  const int64_t d2 = g.dil[2], W = g.in[2];
  const int64_t rows = g.in[0] * g.in[1];  // input rows (i0, i1) per plane: the parallel unit
  parallelFor(g.planes * rows, g.planes * P * KK, [&](int64_t r) {
    const int64_t plane = r / rows, i0 = (r % rows) / g.in[1], i1 = r % g.in[1];
    T* row = gx + r * W;
    const T* gyp = gy + plane * P;
    std::fill(row, row + W, T(0));
    for (int64_t a = s0.start[i0]; a < s0.start[i0 + 1]; ++a)
      for (int64_t b = s1.start[i1]; b < s1.start[i1 + 1]; ++b) {
        const int64_t j = (s0.outs[a] * g.out[1] + s1.outs[b]) * g.out[2];
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          const T v = gyp[j + o2] / dv[j + o2];
          T* at = row + t2.base[o2];
          for (int64_t e = t2.lo[o2]; e < t2.hi[o2]; ++e) at[e * d2] += v;
        }
      }
  });
}

}  // namespace

void maxPool(DType t, void* y, int32_t* indices, const void* x, const PoolGeometry& g) {
  switch (t) {
    case DType::Float32: return maxT(static_cast<float*>(y), indices, static_cast<const float*>(x), g);
    case DType::Float64: return maxT(static_cast<double*>(y), indices, static_cast<const double*>(x), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "maxPool: dtype ", dtypeName(t), " is not supported");
}

void avgPool(DType t, void* y, const void* x, const PoolGeometry& g) {
  switch (t) {
    case DType::Float32: return avgT(static_cast<float*>(y), static_cast<const float*>(x), g);
    case DType::Float64: return avgT(static_cast<double*>(y), static_cast<const double*>(x), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "avgPool: dtype ", dtypeName(t), " is not supported");
}

void avgPoolBackward(DType t, void* gx, const void* gy, const PoolGeometry& g) {
  switch (t) {
    case DType::Float32: return avgAdjointT(static_cast<float*>(gx), static_cast<const float*>(gy), g);
    case DType::Float64: return avgAdjointT(static_cast<double*>(gx), static_cast<const double*>(gy), g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "avgPoolBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
