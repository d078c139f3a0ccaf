// gridSample on the CPU (kernels/grid_sample.h): x [N, C, *in] sampled at grid [N, *out, dims].
// Forward: one parallelFor iteration per output point, its taps made once and applied to every channel.
// Backward: the grid's gradient per point (Σ_c gy · x over each tap, then gridPointGridGrad), and the
// input's by tasks that each own a block of channels of one batch item, walking that item's points in
// order: no two threads write one element and the summation order does not depend on the thread count,
// so the result is bit-deterministic.
#include <algorithm>
#include <cstring>

#include "../core/error.h"
#include "../kernels/grid_sample.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace {

struct GridGeometry {
  int64_t N, C, inner, per;
  int dims;
  int64_t sizes[3];
  int mode, padding;
  bool align;
};

// Flat offsets (−1: reads 0) and weights of every tap combination of point p (of batch item n).
template <typename T>
int pointTaps(const GridGeometry& g, const T* grid, int64_t point, kernels::GridAxisTaps<T>* axes, int64_t* off, T* w) {
  const int total = kernels::gridPointTaps(axes, grid + point * g.dims, g.sizes, g.dims, g.mode, g.padding, g.align);
  kernels::gridCombos(axes, g.sizes, g.dims, off, w);
  return total;
}

template <typename T>
void forwardTyped(T* out, const T* x, const T* grid, const GridGeometry& g) {
  const int64_t points = g.N * g.per;
  parallelFor(points, points * g.C * 8, [&](int64_t q) {
    const int64_t n = q / g.per, p = q % g.per;
    kernels::GridAxisTaps<T> axes[3];
    int64_t off[16];
    T w[16];
    const int total = pointTaps(g, grid, q, axes, off, w);
    const T* xn = x + n * g.C * g.inner;
    T* on = out + n * g.C * g.per + p;
    for (int64_t c = 0; c < g.C; ++c) {
      const T* xc = xn + c * g.inner;
      T acc = T(0);
      for (int k = 0; k < total; ++k) acc += (off[k] >= 0 ? xc[off[k]] : T(0)) * w[k];
      on[c * g.per] = acc;
    }
  });
}

template <typename T>
void backwardTyped(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g) {
  const int64_t points = g.N * g.per;
  if (gg) {
    if (g.mode == kernels::kGridNearest || g.C == 0) {
      // (No channels: Σ_c is empty, and the gradient 0 even where a NaN grid value makes a weight NaN.)
      std::fill(gg, gg + points * g.dims, T(0));
    } else {
      parallelFor(points, points * g.C * 8, [&](int64_t q) {
        const int64_t n = q / g.per, p = q % g.per;
        kernels::GridAxisTaps<T> axes[3];
        int64_t off[16];
        T w[16], dot[16];
        const int total = pointTaps(g, grid, q, axes, off, w);
        for (int k = 0; k < total; ++k) dot[k] = T(0);
        const T* xn = x + n * g.C * g.inner;
        const T* gyn = gy + n * g.C * g.per + p;
        for (int64_t c = 0; c < g.C; ++c) {
          const T gyc = gyn[c * g.per];
          const T* xc = xn + c * g.inner;
          for (int k = 0; k < total; ++k)
            if (off[k] >= 0) dot[k] += gyc * xc[off[k]];
        }
        kernels::gridPointGridGrad(gg + q * g.dims, axes, g.sizes, g.dims, dot, g.align);
      });
    }
  }
  if (gx && g.N * g.C > 0) {
    std::fill(gx, gx + g.N * g.C * g.inner, T(0));
    // Channel blocks per batch item: enough tasks to keep the threads busy when N is small.
    const int64_t threads = std::max<int64_t>(1, numThreads());
    const int64_t blocks = std::min<int64_t>(g.C, std::max<int64_t>(1, (4 * threads + g.N - 1) / g.N));
    const int64_t width = (g.C + blocks - 1) / blocks;
    parallelFor(g.N * blocks, points * g.C * 8, [&](int64_t task) {
      const int64_t n = task / blocks, c0 = (task % blocks) * width, c1 = std::min(g.C, c0 + width);
      if (c0 >= c1) return;
      kernels::GridAxisTaps<T> axes[3];
      int64_t off[16];
      T w[16];
      for (int64_t p = 0; p < g.per; ++p) {
        const int total = pointTaps(g, grid, n * g.per + p, axes, off, w);
        for (int64_t c = c0; c < c1; ++c) {
          const T gyc = gy[(n * g.C + c) * g.per + p];
          T* gxc = gx + (n * g.C + c) * g.inner;
          for (int k = 0; k < total; ++k)
            if (off[k] >= 0) gxc[off[k]] += gyc * w[k];
        }
      }
    });
  }
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
      return forwardTyped(static_cast<float*>(out), static_cast<const float*>(x), static_cast<const float*>(grid), g);
    case DType::Float64:
      return forwardTyped(static_cast<double*>(out), static_cast<const double*>(x), static_cast<const double*>(grid), g);
    default: break;
  }
  fail(Code::Internal, "gridSample: unsupported dtype ", static_cast<int>(t));
}

void gridSampleBackward(DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid, int64_t N,
                        int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) {
  const GridGeometry g = geometry(N, C, sizes, per, dims, mode, padding, align);
  switch (t) {
    case DType::Float32:
      return backwardTyped(static_cast<float*>(gx), static_cast<float*>(gg), static_cast<const float*>(gy),
                           static_cast<const float*>(x), static_cast<const float*>(grid), g);
    case DType::Float64:
      return backwardTyped(static_cast<double*>(gx), static_cast<double*>(gg), static_cast<const double*>(gy),
                           static_cast<const double*>(x), static_cast<const double*>(grid), g);
    default: break;
  }
  fail(Code::Internal, "gridSampleBackward: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
