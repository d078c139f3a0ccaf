// gridSample on CUDA (kernels/grid_sample.h, shared with cpu/grid_sample.cpp): one thread per output
// point (grid-stride), its taps made once and applied to every channel. Backward: the same thread sums
// Σ_c gy · x per tap for the grid's gradient and atomically adds gy · weight into the input's, as torch's
// kernel: the input gradient's summation order varies from run to run, so it is not bit-deterministic
// (the grid's is). Nothing here has run on a GPU yet (docs/gpu-status.md).
#include "../kernels/grid_sample.h"
#include "ops.cuh"

namespace antler::cuda {

struct GridSampleShape {
  int64_t N, C, inner, per;
  int64_t sizes[3];
  int dims, mode, padding;
  bool align;
};

// The kernels are templated on the mode and the number of spatial axes: the taps' arrays have compile-time
// sizes and stay in registers (a runtime-sized tap array sat in 512–912 bytes of local memory per thread).
template <typename T, int Mode, int Dims>
static __global__ void gridSampleKernel(T* out, const T* x, const T* grid, GridSampleShape s) {
  using Taps = kernels::GridPointTaps<T, Mode, Dims>;
  for (int64_t q = gridStart(); q < s.N * s.per; q += gridStride()) {
    const int64_t n = q / s.per, p = q % s.per;
    Taps t;
    t.make(s, grid, q);
    const T* xn = x + n * s.C * s.inner;
    T* on = out + n * s.C * s.per + p;
    for (int64_t c = 0; c < s.C; ++c) {
      const T* xc = xn + c * s.inner;
      T acc = T(0);
#pragma unroll
      for (int k = 0; k < Taps::K; ++k) acc += (t.off[k] >= 0 ? xc[t.off[k]] : T(0)) * t.w[k];
      on[c * s.per] = acc;
    }
  }
}

// gx (zeroed before) and gg may each be null.
template <typename T, int Mode, int Dims>
static __global__ void gridSampleBackwardKernel(T* gx, T* gg, const T* gy, const T* x, const T* grid, GridSampleShape s) {
  using Taps = kernels::GridPointTaps<T, Mode, Dims>;
  for (int64_t q = gridStart(); q < s.N * s.per; q += gridStride()) {
    const int64_t n = q / s.per, p = q % s.per;
    Taps t;
    t.make(s, grid, q);
    T dot[Taps::K];
#pragma unroll
    for (int k = 0; k < Taps::K; ++k) dot[k] = T(0);
    const T* xn = x + n * s.C * s.inner;
    for (int64_t c = 0; c < s.C; ++c) {
      const T gyc = gy[(n * s.C + c) * s.per + p];
      const T* xc = xn + c * s.inner;
      T* gxc = gx ? gx + (n * s.C + c) * s.inner : nullptr;
#pragma unroll
      for (int k = 0; k < Taps::K; ++k) {
        if (t.off[k] < 0) continue;
        if (gg) dot[k] += gyc * xc[t.off[k]];
        if (gxc) atomicAdd(gxc + t.off[k], gyc * t.w[k]);
      }
    }
    if (gg) {
      if (Mode == kernels::kGridNearest) {
        for (int a = 0; a < Dims; ++a) gg[q * Dims + a] = T(0);
      } else {
        kernels::gridPointGridGrad<Mode, Dims>(gg + q * Dims, t.axes, s.sizes, dot, s.align);
      }
    }
  }
}

template <typename T, int Mode, int Dims>
static void gridSampleLaunch(Context& ctx, unsigned blocks, T* out, const T* x, const T* grid, const GridSampleShape& s) {
  gridSampleKernel<T, Mode, Dims><<<blocks, kBlockSize, 0, ctx.stream>>>(out, x, grid, s);
}

template <typename T, int Mode, int Dims>
static void gridSampleBackwardLaunch(Context& ctx, unsigned blocks, T* gx, T* gg, const T* gy, const T* x, const T* grid,
                                     const GridSampleShape& s) {
  gridSampleBackwardKernel<T, Mode, Dims><<<blocks, kBlockSize, 0, ctx.stream>>>(gx, gg, gy, x, grid, s);
}

// The kernels for the shape's mode and spatial axes (bicubic is 4-D only, as F.grid_sample).
template <typename T>
static void gridSampleTyped(Context& ctx, unsigned blocks, T* out, const T* x, const T* grid, const GridSampleShape& s) {
  const bool done = kernels::withGridInstance(s.mode, s.dims, [&](auto mode, auto dims) {
    gridSampleLaunch<T, decltype(mode)::value, decltype(dims)::value>(ctx, blocks, out, x, grid, s);
  });
  if (!done) fail(Code::Internal, "gridSample: unsupported mode ", s.mode, " for ", s.dims, " spatial axes");
}

template <typename T>
static void gridSampleBackwardTyped(Context& ctx, unsigned blocks, T* gx, T* gg, const T* gy, const T* x, const T* grid,
                                    const GridSampleShape& s) {
  const bool done = kernels::withGridInstance(s.mode, s.dims, [&](auto mode, auto dims) {
    gridSampleBackwardLaunch<T, decltype(mode)::value, decltype(dims)::value>(ctx, blocks, gx, gg, gy, x, grid, s);
  });
  if (!done) fail(Code::Internal, "gridSampleBackward: unsupported mode ", s.mode, " for ", s.dims, " spatial axes");
}

static GridSampleShape gridSampleShape(int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode,
                                       int padding, bool align) {
  GridSampleShape s{N, C, 1, per, {1, 1, 1}, dims, mode, padding, align};
  for (int a = 0; a < dims; ++a) {
    s.sizes[a] = sizes[a];
    s.inner *= sizes[a];
  }
  return s;
}

void gridSample(Context& ctx, DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C,
                const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) {
  const GridSampleShape s = gridSampleShape(N, C, sizes, per, dims, mode, padding, align);
  if (N * C * per == 0) return;
  const unsigned blocks = gridFor(ctx, N * per);
  switch (t) {
    case DType::Float32:
      gridSampleTyped(ctx, blocks, static_cast<float*>(out), static_cast<const float*>(x), static_cast<const float*>(grid), s);
      break;
    case DType::Float64:
      gridSampleTyped(ctx, blocks, static_cast<double*>(out), static_cast<const double*>(x), static_cast<const double*>(grid),
                      s);
      break;
    default: fail(Code::Internal, "gridSample: unsupported dtype ", static_cast<int>(t));
  }
  ANTLER_LAUNCH_CHECK("gridSample");
}

void gridSampleBackward(Context& ctx, DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid,
                        int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding,
                        bool align) {
  const GridSampleShape s = gridSampleShape(N, C, sizes, per, dims, mode, padding, align);
  const size_t elem = t == DType::Float64 ? sizeof(double) : sizeof(float);
  if (gx && N * C * s.inner > 0)
    ANTLER_CUDA_CHECK(cudaMemsetAsync(gx, 0, static_cast<size_t>(N * C * s.inner) * elem, ctx.stream));
  if (N * per == 0) return;
  if (C == 0) {
    // No channels: the grid's gradient is all zeros.
    if (gg) ANTLER_CUDA_CHECK(cudaMemsetAsync(gg, 0, static_cast<size_t>(N * per * dims) * elem, ctx.stream));
    return;
  }
  const unsigned blocks = gridFor(ctx, N * per);
  switch (t) {
    case DType::Float32:
      gridSampleBackwardTyped(ctx, blocks, static_cast<float*>(gx), static_cast<float*>(gg), static_cast<const float*>(gy),
                              static_cast<const float*>(x), static_cast<const float*>(grid), s);
      break;
    case DType::Float64:
      gridSampleBackwardTyped(ctx, blocks, static_cast<double*>(gx), static_cast<double*>(gg),
                              static_cast<const double*>(gy), static_cast<const double*>(x),
                              static_cast<const double*>(grid), s);
      break;
    default: fail(Code::Internal, "gridSampleBackward: unsupported dtype ", static_cast<int>(t));
  }
  ANTLER_LAUNCH_CHECK("gridSampleBackward");
}

}  // namespace antler::cuda
