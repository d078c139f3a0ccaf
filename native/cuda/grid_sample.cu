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

template <typename T>
__device__ __forceinline__ int gridSampleTaps(const GridSampleShape& s, const T* grid, int64_t q,
                                               kernels::GridAxisTaps<T>* axes, int64_t* off, T* w) {
  const int total = kernels::gridPointTaps(axes, grid + q * s.dims, s.sizes, s.dims, s.mode, s.padding, s.align);
  kernels::gridCombos(axes, s.sizes, s.dims, off, w);
  return total;
}

template <typename T>
static __global__ void gridSampleKernel(T* out, const T* x, const T* grid, GridSampleShape s) {
  for (int64_t q = gridStart(); q < s.N * s.per; q += gridStride()) {
    const int64_t n = q / s.per, p = q % s.per;
    kernels::GridAxisTaps<T> axes[3];
    int64_t off[16];
    T w[16];
    const int total = gridSampleTaps(s, grid, q, axes, off, w);
    const T* xn = x + n * s.C * s.inner;
    T* on = out + n * s.C * s.per + p;
    for (int64_t c = 0; c < s.C; ++c) {
      const T* xc = xn + c * s.inner;
      T acc = T(0);
      for (int k = 0; k < total; ++k) acc += (off[k] >= 0 ? xc[off[k]] : T(0)) * w[k];
      on[c * s.per] = acc;
    }
  }
}

// gx (zeroed before) and gg may each be null.
template <typename T>
static __global__ void gridSampleBackwardKernel(T* gx, T* gg, const T* gy, const T* x, const T* grid, GridSampleShape s) {
  for (int64_t q = gridStart(); q < s.N * s.per; q += gridStride()) {
    const int64_t n = q / s.per, p = q % s.per;
    kernels::GridAxisTaps<T> axes[3];
    int64_t off[16];
    T w[16], dot[16];
    const int total = gridSampleTaps(s, grid, q, axes, off, w);
    for (int k = 0; k < total; ++k) dot[k] = T(0);
    const T* xn = x + n * s.C * s.inner;
    for (int64_t c = 0; c < s.C; ++c) {
      const T gyc = gy[(n * s.C + c) * s.per + p];
      const T* xc = xn + c * s.inner;
      T* gxc = gx ? gx + (n * s.C + c) * s.inner : nullptr;
      for (int k = 0; k < total; ++k) {
        if (off[k] < 0) continue;
        if (gg) dot[k] += gyc * xc[off[k]];
        if (gxc) atomicAdd(gxc + off[k], gyc * w[k]);
      }
    }
    if (gg) {
      if (s.mode == kernels::kGridNearest) {
        for (int a = 0; a < s.dims; ++a) gg[q * s.dims + a] = T(0);
      } else {
        kernels::gridPointGridGrad(gg + q * s.dims, axes, s.sizes, s.dims, dot, s.align);
      }
    }
  }
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
      gridSampleKernel<float><<<blocks, kBlockSize, 0, ctx.stream>>>(
          static_cast<float*>(out), static_cast<const float*>(x), static_cast<const float*>(grid), s);
      break;
    case DType::Float64:
      gridSampleKernel<double><<<blocks, kBlockSize, 0, ctx.stream>>>(
          static_cast<double*>(out), static_cast<const double*>(x), static_cast<const double*>(grid), s);
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
      gridSampleBackwardKernel<float><<<blocks, kBlockSize, 0, ctx.stream>>>(
          static_cast<float*>(gx), static_cast<float*>(gg), static_cast<const float*>(gy), static_cast<const float*>(x),
          static_cast<const float*>(grid), s);
      break;
    case DType::Float64:
      gridSampleBackwardKernel<double><<<blocks, kBlockSize, 0, ctx.stream>>>(
          static_cast<double*>(gx), static_cast<double*>(gg), static_cast<const double*>(gy),
          static_cast<const double*>(x), static_cast<const double*>(grid), s);
      break;
    default: fail(Code::Internal, "gridSampleBackward: unsupported dtype ", static_cast<int>(t));
  }
  ANTLER_LAUNCH_CHECK("gridSampleBackward");
}

}  // namespace antler::cuda
