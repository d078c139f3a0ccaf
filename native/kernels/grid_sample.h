// gridSample's per-point math (F.grid_sample), shared by cpu/grid_sample.cpp and cuda/grid_sample.cu.
//
// Along a spatial axis of `size` pixels, a grid value g becomes the pixel position c (unnormalize):
//   alignCorners: c = ((g + 1) / 2)·(size − 1);  else c = ((g + 1)·size − 1) / 2.
// Padding (PyTorch's compute_coordinates) maps c to src: 'zeros' leaves it; 'reflection' reflects it
// about −0.5 and size − 0.5 (0 and size − 1 with alignCorners); 'border' and 'reflection' then clip it
// into [0, size − 1] (NaN → 0). The gradient passes only strictly inside (0, size − 1), as torch's
// clip_coordinates_set_grad (a position on a border counts as clipped).
// Taps per axis: bilinear lo = ⌊src⌋ and lo + 1 with weights lo + 1 − src and src − lo; nearest
// nearbyint(src) with weight 1 (no grid gradient); bicubic (no padding on the position itself)
// lo = ⌊c⌋, t = c − lo, taps lo − 1 … lo + 2, each padded, with the cubic convolution weights (A = −0.75)
// c2(t + 1), c1(t), c1(1 − t), c2(2 − t). A tap outside [0, size − 1] on any axis (or NaN) reads 0
// (0 · weight: a NaN weight still gives NaN). Weights of a point are products over the axes.
// The formulas and their evaluation order follow lib/ops/grid.ts's composite (gridSampleComposite),
// which the tests compare against.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "hd.h"

namespace antler::kernels {

enum GridSampleMode : int { kGridBilinear = 0, kGridNearest = 1, kGridBicubic = 2 };
enum GridSamplePadding : int { kGridZeros = 0, kGridBorder = 1, kGridReflection = 2 };

// The per-point functions below are always inlined on the host (ANTLER_HD_ALWAYS_INLINE): g++ left
// gridAxisTaps a call per axis, which cost the unrolled loops and, in the AVX2 copy, the inline rounding.
// Taps along one axis for a mode: 2 (bilinear), 1 (nearest), 4 (bicubic). The kernels are templated on the
// mode (and the number of spatial axes) so that the tap arrays have compile-time sizes: unrolled loops, and on
// CUDA registers rather than local memory.
template <int Mode>
ANTLER_HD constexpr int gridAxisTapCount() {
  return Mode == kGridBicubic ? 4 : (Mode == kGridNearest ? 1 : 2);
}

// The taps of one point along one axis. Index: the pixel indices' type (the CPU's blocks of points use int32_t
// where every axis fits, so that their loops over points vectorise).
template <typename T, int Mode, typename Index = int64_t>
struct GridAxisTaps {
  static constexpr int n = gridAxisTapCount<Mode>();
  Index pos[n];       // the pixel index of each tap, −1 where it lies outside [0, size − 1] or is NaN
  T w[n];             // its weight
  T dw[n];            // d w / d src (bilinear ∓1, bicubic the cubic's derivative in t, nearest 0)
  bool pass;          // the gradient passes the padding (strictly inside, or 'zeros')
  T dsrc;             // d src / d c where it passes (±1: reflection flips the direction)
};

template <typename T>
ANTLER_HD T gridUnnormalize(T g, int64_t size, bool align) {
  return align ? ((g + T(1)) / T(2)) * T(size - 1) : ((g + T(1)) * T(size) - T(1)) / T(2);
}

// d(loss)/dg from d(loss)/dc, as the composite's recorded mul/div order.
template <typename T>
ANTLER_HD T gridUnnormalizeBackward(T gc, int64_t size, bool align) {
  return align ? (gc * T(size - 1)) / T(2) : (gc / T(2)) * T(size);
}

// PyTorch's reflect_coordinates about twiceLow/2 and twiceHigh/2, and its slope (±1) in *slope.
template <typename T>
ANTLER_HD T gridReflect(T c, T twiceLow, T twiceHigh, T* slope) {
  if (twiceLow == twiceHigh) {
    *slope = T(0);
    return c * T(0);
  }
  const T lo = twiceLow / T(2), span = (twiceHigh - twiceLow) / T(2);
  const T diff = c - lo;
  const T d = fabs(diff);
  // fmod in double, rounded once (the library's remainder; d >= 0, span > 0: no sign fix-up).
  const T extra = static_cast<T>(fmod(static_cast<double>(d), static_cast<double>(span)));
  const T flips = floor(d / span);
  const bool even = static_cast<T>(fmod(static_cast<double>(flips), 2.0)) == T(0);
  const T sign = diff > T(0) ? T(1) : (diff < T(0) ? T(-1) : T(0));
  *slope = even ? sign : -sign;
  return even ? extra + lo : (span + lo) - extra;
}

// compute_coordinates: src from c, with whether the gradient passes and d src / d c.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T gridPad(T c, int64_t size, int padding, bool align, bool* pass, T* dsrc) {
  if (padding == kGridZeros) {
    *pass = true;
    *dsrc = T(1);
    return c;
  }
  T slope = T(1);
  T r = c;
  if (padding == kGridReflection)
    r = align ? gridReflect(c, T(0), T(2 * (size - 1)), &slope) : gridReflect(c, T(-1), T(2 * size - 1), &slope);
  const T hi = T(size - 1);
  if (r > T(0) && r < hi) {
    *pass = true;
    *dsrc = slope;
    return r;
  }
  *pass = false;
  *dsrc = T(0);
  if (r != r) return T(0);
  return r < T(0) ? T(0) : (r > hi ? hi : r);
}

// A tap's pixel index, or −1 outside [0, size − 1] (NaN included). The bound is checked on the integer:
// T(size − 1) rounds (float32 above 2^24: size − 1 = 16777219 becomes 16777220), and a position equal to
// the rounded bound would index one past the axis (the next row, channel or batch item, or past the buffer).
// Index: int64_t (CUDA, and the CPU where a plane of x does not fit int32_t), or int32_t (Index must hold size, and T(size − 1): the CPU's kGridInt32Plane),
// computed branch-free (selects) so that the CPU's loops over points vectorise (int64_t keeps the early return:
// as branch-free, nvcc gave 3 of the 20 kernels 2 more registers).
template <typename Index = int64_t, typename T>
ANTLER_HD Index gridTapIndex(T p, int64_t size) {
  if constexpr (std::is_same<Index, int64_t>::value) {
    if (!(p >= T(0) && p <= T(size - 1))) return int64_t{-1};
    const int64_t i = static_cast<int64_t>(p);
    return i < size ? i : int64_t{-1};
  } else {
    const bool in = p >= T(0) && p <= T(size - 1);
    const Index i = static_cast<Index>(in ? p : T(0));
    return in && i < static_cast<Index>(size) ? i : Index(-1);
  }
}

// PyTorch's cubic convolution kernels (A = −0.75) and their derivatives.
template <typename T>
ANTLER_HD T gridCubic1(T d) {
  return ((d * T(1.25) - T(2.25)) * d) * d + T(1);
}
template <typename T>
ANTLER_HD T gridCubic2(T d) {
  return ((d * T(-0.75) - T(-3.75)) * d + T(-6)) * d - T(-3);
}
template <typename T>
ANTLER_HD T gridCubic1Slope(T d) {
  return (d * T(3.75) - T(4.5)) * d;
}
template <typename T>
ANTLER_HD T gridCubic2Slope(T d) {
  return (d * T(-2.25) - T(-7.5)) * d + T(-6);
}

// The taps of grid value g along an axis of `size` pixels.
// Slopes: also the weights' derivatives dw (the backward's; the forward leaves them unset).
template <int Mode, bool Slopes = true, typename T, typename Index>
ANTLER_HD_ALWAYS_INLINE void gridAxisTaps(GridAxisTaps<T, Mode, Index>& a, T g, int64_t size, int padding, bool align) {
  const T c = gridUnnormalize(g, size, align);
  if constexpr (Mode == kGridBicubic) {
    const T lo = floor(c), t = c - lo;
    a.pass = true;
    a.dsrc = T(1);
    a.w[0] = gridCubic2(t + T(1));
    a.w[1] = gridCubic1(t);
    a.w[2] = gridCubic1(T(1) - t);
    a.w[3] = gridCubic2(T(2) - t);
    if (Slopes) {
      a.dw[0] = gridCubic2Slope(t + T(1));
      a.dw[1] = gridCubic1Slope(t);
      a.dw[2] = -gridCubic1Slope(T(1) - t);
      a.dw[3] = -gridCubic2Slope(T(2) - t);
    }
    // (Spelled out: nvcc leaves this loop rolled, and the taps then in local memory.)
    bool p;
    T ds;
    a.pos[0] = gridTapIndex<Index>(gridPad(lo + T(-1), size, padding, align, &p, &ds), size);
    a.pos[1] = gridTapIndex<Index>(gridPad(lo + T(0), size, padding, align, &p, &ds), size);
    a.pos[2] = gridTapIndex<Index>(gridPad(lo + T(1), size, padding, align, &p, &ds), size);
    a.pos[3] = gridTapIndex<Index>(gridPad(lo + T(2), size, padding, align, &p, &ds), size);
  } else if constexpr (Mode == kGridNearest) {
    const T src = gridPad(c, size, padding, align, &a.pass, &a.dsrc);
    a.pos[0] = gridTapIndex<Index>(static_cast<T>(rint(src)), size);
    a.w[0] = T(1);
    a.dw[0] = T(0);
    a.pass = false;
  } else {
    const T src = gridPad(c, size, padding, align, &a.pass, &a.dsrc);
    const T lo = floor(src);
    a.w[0] = (lo + T(1)) - src;
    a.w[1] = src - lo;
    a.dw[0] = T(-1);
    a.dw[1] = T(1);
    a.pos[0] = gridTapIndex<Index>(lo, size);
    a.pos[1] = gridTapIndex<Index>(lo + T(1), size);
  }
}

// The number of tap combinations of one point: the product of its axes' tap counts.
template <int Mode, int Dims>
ANTLER_HD constexpr int gridPointTapCount() {
  return Dims == 2 ? gridAxisTapCount<Mode>() * gridAxisTapCount<Mode>()
                   : gridAxisTapCount<Mode>() * gridAxisTapCount<Mode>() * gridAxisTapCount<Mode>();
}

// The taps of one point on every axis (axis 0 the slowest spatial axis: D or H); grid component
// k addresses axis Dims − 1 − k (x the width, y the height, z the depth).
template <int Mode, int Dims, bool Slopes = true, typename T>
ANTLER_HD_ALWAYS_INLINE void gridPointTaps(GridAxisTaps<T, Mode>* axes, const T* gp, const int64_t* sizes, int padding, bool align) {
  // (Spelled out, not a loop over a: each axis a compile-time index, so that nvcc keeps the taps in registers.)
  gridAxisTaps<Mode, Slopes>(axes[0], gp[Dims - 1], sizes[0], padding, align);
  gridAxisTaps<Mode, Slopes>(axes[1], gp[Dims - 2], sizes[1], padding, align);
  if constexpr (Dims == 3) gridAxisTaps<Mode, Slopes>(axes[2], gp[0], sizes[2], padding, align);
}

// Every tap combination of one point (the first axis slowest; gridPointTapCount of them): its flat pixel
// offset (−1 when any axis is out of range) and its weight (the axes' weights multiplied in axis order).
// Nested loops, not a division per axis and combination: those cost more than the rest of the point.
template <int Mode, int Dims, typename T>
ANTLER_HD_ALWAYS_INLINE void gridCombos(const GridAxisTaps<T, Mode>* axes, const int64_t* sizes, int64_t* off, T* w) {
  constexpr int n = gridAxisTapCount<Mode>();
  const GridAxisTaps<T, Mode>& a0 = axes[0];
  const GridAxisTaps<T, Mode>& a1 = axes[1];
  int k = 0;
  if constexpr (Dims == 2) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j, ++k) {
        w[k] = a0.w[i] * a1.w[j];
        off[k] = a0.pos[i] >= 0 && a1.pos[j] >= 0 ? a0.pos[i] * sizes[1] + a1.pos[j] : int64_t{-1};
      }
    return;
  }
  const GridAxisTaps<T, Mode>& a2 = axes[Dims - 1];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int l = 0; l < n; ++l, ++k) {
        w[k] = (a0.w[i] * a1.w[j]) * a2.w[l];
        off[k] = a0.pos[i] >= 0 && a1.pos[j] >= 0 && a2.pos[l] >= 0 ? (a0.pos[i] * sizes[1] + a1.pos[j]) * sizes[2] + a2.pos[l]
                                                                     : int64_t{-1};
      }
}

// The grid gradient of one point from dot[k] = Σ_c gy[c] · x[c, tap k] (0 for a tap out of range; k in
// gridCombos' order): per axis a, gF[a][i] = Σ_{k: k_a = i} dot[k] · Π_{b≠a} w_b[k_b], then
// d/dg = unnormalizeBackward((Σ_i gF[a][i] · dw[a][i]) · dsrc) where the gradient passes, else 0.
template <int Mode, int Dims, typename T>
ANTLER_HD_ALWAYS_INLINE void gridPointGridGrad(T* gg, const GridAxisTaps<T, Mode>* axes, const int64_t* sizes, const T* dot, bool align) {
  constexpr int n = gridAxisTapCount<Mode>();
  T gF[Dims][n];
  for (int a = 0; a < Dims; ++a)
    for (int i = 0; i < n; ++i) gF[a][i] = T(0);
  const GridAxisTaps<T, Mode>& a0 = axes[0];
  const GridAxisTaps<T, Mode>& a1 = axes[1];
  int k = 0;
  if constexpr (Dims == 2) {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j, ++k) {
        gF[0][i] += dot[k] * a1.w[j];
        gF[1][j] += dot[k] * a0.w[i];
      }
  } else {
    const GridAxisTaps<T, Mode>& a2 = axes[Dims - 1];
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        for (int l = 0; l < n; ++l, ++k) {
          gF[0][i] += (dot[k] * a1.w[j]) * a2.w[l];
          gF[1][j] += (dot[k] * a0.w[i]) * a2.w[l];
          gF[Dims - 1][l] += (dot[k] * a0.w[i]) * a1.w[j];
        }
  }
  for (int a = 0; a < Dims; ++a) {
    T gc = T(0);
    if (axes[a].pass) {
      T s = T(0);
      for (int i = 0; i < n; ++i) s += gF[a][i] * axes[a].dw[i];
      gc = gridUnnormalizeBackward(s * axes[a].dsrc, sizes[a], align);
    }
    gg[Dims - 1 - a] = gc;
  }
}

// One point's taps on every axis, and every tap combination's flat offset (−1: reads 0) and weight, in
// arrays of compile-time size (on CUDA they stay in registers). Geometry: any struct with sizes, padding
// and align (the CPU's and CUDA's); Slopes: the weights' derivatives too (the grid's gradient needs them).
template <typename T, int Mode, int Dims>
struct GridPointTaps {
  static constexpr int K = gridPointTapCount<Mode, Dims>();
  GridAxisTaps<T, Mode> axes[Dims];
  int64_t off[K];
  T w[K];
  template <bool Slopes = true, typename Geometry>
  ANTLER_HD_ALWAYS_INLINE void make(const Geometry& g, const T* grid, int64_t point) {
    gridPointTaps<Mode, Dims, Slopes>(axes, grid + point * Dims, g.sizes, g.padding, g.align);
    gridCombos<Mode, Dims>(axes, g.sizes, off, w);
  }
};

// The compile-time instance of a runtime (mode, spatial axes), for the backends' dispatch (host code):
// calls f(std::integral_constant<int, Mode>{}, std::integral_constant<int, Dims>{}) and returns true, or
// returns false where there is none (bicubic is 4-D only, as F.grid_sample; an unknown mode).
template <typename F>
inline bool withGridInstance(int mode, int dims, F&& f) {
  using Two = std::integral_constant<int, 2>;
  using Three = std::integral_constant<int, 3>;
  const bool three = dims == 3;
  switch (mode) {
    case kGridBilinear:
      three ? f(std::integral_constant<int, kGridBilinear>{}, Three{}) : f(std::integral_constant<int, kGridBilinear>{}, Two{});
      return true;
    case kGridNearest:
      three ? f(std::integral_constant<int, kGridNearest>{}, Three{}) : f(std::integral_constant<int, kGridNearest>{}, Two{});
      return true;
    case kGridBicubic:
      if (three) return false;
      f(std::integral_constant<int, kGridBicubic>{}, Two{});
      return true;
    default: return false;
  }
}

}  // namespace antler::kernels
