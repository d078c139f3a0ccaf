// gridSample on the CPU (kernels/grid_sample.h): x [N, C, *in] sampled at grid [N, *out, dims].
// Forward: tasks of up to 256 output points of one batch item; each point's taps made once and applied to
// every channel.
// Backward: the grid's gradient per point (Σ_c gy · x over each tap, then gridPointGridGrad), and the
// input's by tasks that each own a block of channels of one batch item, walking that item's points in
// order: no two threads write one element and the summation order does not depend on the thread count,
// so the result is bit-deterministic. When each task owns a whole batch item, one pass over its points
// makes both gradients (each point's taps made once).
// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through grid_sample_avx2.cpp, where
// floor and rint are single instructions (SSE4.1's round) instead of library calls. Same bits either way.
#include <algorithm>
#include <cstring>

#include "../core/error.h"
#include "../kernels/grid_sample.h"
#include "isa.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu::ANTLER_ISA_NS {

namespace {

struct GridGeometry {
  int64_t N, C, inner, per;
  int dims;
  int64_t sizes[3];
  int mode, padding;
  bool align;
};

// Points per task of the loops over points.
constexpr int64_t kGridChunk = 256;

template <typename T, int Mode, int Dims>
void forwardTyped(T* out, const T* x, const T* grid, const GridGeometry& g) {
  using Taps = kernels::GridPointTaps<T, Mode, Dims>;
  // Tasks of up to kGridChunk points of one batch item (no division per point).
  const int64_t chunks = (g.per + kGridChunk - 1) / kGridChunk;
  parallelFor(g.N * chunks, g.N * g.per * g.C * 8, [&](int64_t task) {
    const int64_t n = task / chunks, p0 = (task % chunks) * kGridChunk, p1 = std::min(g.per, p0 + kGridChunk);
    const T* xn = x + n * g.C * g.inner;
    for (int64_t p = p0; p < p1; ++p) {
      Taps t;
      t.template make<false>(g, grid, n * g.per + p);
      T* on = out + n * g.C * g.per + p;
      for (int64_t c = 0; c < g.C; ++c) {
        const T* xc = xn + c * g.inner;
        T acc = T(0);
        for (int k = 0; k < Taps::K; ++k) acc += (t.off[k] >= 0 ? xc[t.off[k]] : T(0)) * t.w[k];
        on[c * g.per] = acc;
      }
    }
  });
}

// One point's share of the backward (point p of batch item n): with gg, the grid's gradient of the point from
// Σ_c gy · x over each tap (every channel: c0 = 0, c1 = C); with gx, each channel c0 ≤ c < c1 adds gy · weight into
// x's gradient (the caller owns those channels of batch item n). Never inlined nor cloned: the fused pass and the
// two separate passes run this one copy of the code, so they compute the same bits, NaNs' signs and payloads included (inlined
// into each caller, g++ ordered the operands of a commutative + or · differently, and where two NaNs meet the first
// operand's comes out: the gradients' NaNs then changed sign with the thread count).
#if defined(__clang__)
#define ANTLER_GRID_ONE_COPY __attribute__((noinline))
#else
#define ANTLER_GRID_ONE_COPY __attribute__((noipa))  // noinline, and no clone specialised for a constant argument
#endif
template <typename T, int Mode, int Dims>
ANTLER_GRID_ONE_COPY void backwardPoint(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g,
                                             int64_t n, int64_t p, int64_t c0, int64_t c1) {
  using Taps = kernels::GridPointTaps<T, Mode, Dims>;
  const int64_t q = n * g.per + p;
  Taps t;
  t.template make<true>(g, grid, q);
  T dot[Taps::K];
  for (int k = 0; k < Taps::K; ++k) dot[k] = T(0);
  const T* xn = x + n * g.C * g.inner;
  const T* gyn = gy + n * g.C * g.per + p;
  for (int64_t c = c0; c < c1; ++c) {
    const T gyc = gyn[c * g.per];
    if (gg) {
      const T* xc = xn + c * g.inner;
      for (int k = 0; k < Taps::K; ++k)
        if (t.off[k] >= 0) dot[k] += gyc * xc[t.off[k]];
    }
    if (gx) {
      T* gxc = gx + (n * g.C + c) * g.inner;
      for (int k = 0; k < Taps::K; ++k)
        if (t.off[k] >= 0) gxc[t.off[k]] += gyc * t.w[k];
    }
  }
  if (gg) kernels::gridPointGridGrad<Mode, Dims>(gg + q * Dims, t.axes, g.sizes, dot, g.align);
}

template <typename T, int Mode, int Dims>
void backwardTyped(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g) {
  const int64_t points = g.N * g.per;
  const bool needsGrid = gg && g.mode != kernels::kGridNearest && g.C > 0;
  if (gg && !needsGrid) {
    // Nearest has no grid gradient. (No channels: Σ_c is empty, and the gradient 0 even where a NaN grid
    // value makes a weight NaN.)
    std::fill(gg, gg + points * Dims, T(0));
  }
  const bool needsX = gx && g.N * g.C > 0;
  if (needsX) std::fill(gx, gx + g.N * g.C * g.inner, T(0));
  // Channel blocks per batch item: enough tasks to keep the threads busy when N is small. One block per item
  // (N a multiple of the thread count, or at least 4 items per thread) computes both gradients in one pass
  // over the points; the grid's gradient sums Σ_c in the same order either way, and each element of x's
  // gradient sums over the points in order whatever the blocks, both in the one backwardPoint, so the thread
  // count changes no bit.
  const int64_t threads = std::max<int64_t>(1, numThreads());
  const int64_t blocks = g.N % threads == 0 || g.N >= 4 * threads
                             ? 1
                             : std::min<int64_t>(g.C, std::max<int64_t>(1, (4 * threads + g.N - 1) / g.N));
  if (needsGrid && needsX && blocks == 1) {
    parallelFor(g.N, points * g.C * 8, [&](int64_t n) {
      for (int64_t p = 0; p < g.per; ++p) backwardPoint<T, Mode, Dims>(gx, gg, gy, x, grid, g, n, p, 0, g.C);
    });
    return;
  }
  if (needsGrid) {
    const int64_t chunks = (g.per + kGridChunk - 1) / kGridChunk;
    parallelFor(g.N * chunks, points * g.C * 8, [&](int64_t task) {
      const int64_t n = task / chunks, p0 = (task % chunks) * kGridChunk, p1 = std::min(g.per, p0 + kGridChunk);
      for (int64_t p = p0; p < p1; ++p) backwardPoint<T, Mode, Dims>(nullptr, gg, gy, x, grid, g, n, p, 0, g.C);
    });
  }
  if (needsX) {
    const int64_t width = (g.C + blocks - 1) / blocks;
    parallelFor(g.N * blocks, points * g.C * 8, [&](int64_t task) {
      const int64_t n = task / blocks, c0 = (task % blocks) * width, c1 = std::min(g.C, c0 + width);
      if (c0 >= c1) return;
      for (int64_t p = 0; p < g.per; ++p) backwardPoint<T, Mode, Dims>(gx, nullptr, gy, x, grid, g, n, p, c0, c1);
    });
  }
}

// The kernels for the geometry's mode and number of spatial axes (compile-time tap counts).
template <typename T>
void forwardAny(T* out, const T* x, const T* grid, const GridGeometry& g) {
  const bool done = kernels::withGridInstance(g.mode, g.dims, [&](auto mode, auto dims) {
    forwardTyped<T, decltype(mode)::value, decltype(dims)::value>(out, x, grid, g);
  });
  if (!done) fail(Code::Internal, "gridSample: unsupported mode ", g.mode, " for ", g.dims, " spatial axes");
}

template <typename T>
void backwardAny(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g) {
  const bool done = kernels::withGridInstance(g.mode, g.dims, [&](auto mode, auto dims) {
    backwardTyped<T, decltype(mode)::value, decltype(dims)::value>(gx, gg, gy, x, grid, g);
  });
  if (!done) fail(Code::Internal, "gridSampleBackward: unsupported mode ", g.mode, " for ", g.dims, " spatial axes");
}

GridGeometry geometry(int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding,
                      bool align) {
  GridGeometry g{N, C, 1, per, dims, {1, 1, 1}, mode, padding, align};
  for (int a = 0; a < dims; ++a) {
    g.sizes[a] = sizes[a];
    g.inner *= sizes[a];
  }
  return g;
}

}  // namespace

void gridSample(DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C, const int64_t* sizes,
                int64_t per, int dims, int mode, int padding, bool align) {
  const GridGeometry g = geometry(N, C, sizes, per, dims, mode, padding, align);
  if (N * C * per == 0) return;
  switch (t) {
    case DType::Float32:
      return forwardAny(static_cast<float*>(out), static_cast<const float*>(x), static_cast<const float*>(grid), g);
    case DType::Float64:
      return forwardAny(static_cast<double*>(out), static_cast<const double*>(x), static_cast<const double*>(grid), g);
    default: break;
  }
  fail(Code::Internal, "gridSample: unsupported dtype ", static_cast<int>(t));
}

void gridSampleBackward(DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid, int64_t N,
                        int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) {
  const GridGeometry g = geometry(N, C, sizes, per, dims, mode, padding, align);
  switch (t) {
    case DType::Float32:
      return backwardAny(static_cast<float*>(gx), static_cast<float*>(gg), static_cast<const float*>(gy),
                           static_cast<const float*>(x), static_cast<const float*>(grid), g);
    case DType::Float64:
      return backwardAny(static_cast<double*>(gx), static_cast<double*>(gg), static_cast<const double*>(gy),
                           static_cast<const double*>(x), static_cast<const double*>(grid), g);
    default: break;
  }
  fail(Code::Internal, "gridSampleBackward: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu::ANTLER_ISA_NS
