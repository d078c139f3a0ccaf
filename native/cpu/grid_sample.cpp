// gridSample on the CPU (kernels/grid_sample.h): x [N, C, *in] sampled at grid [N, *out, dims].
// Points are taken in blocks of kGridBlock of one batch item, whose taps are made in structure-of-arrays form
// (per tap, one entry per point) so that g++ vectorises over the points: the taps' math, and per channel a
// gather of every tap for the block's points (PyTorch's CPU kernel vectorises over points alike).
// Forward: tasks of up to 256 output points of one batch item.
// Backward: the grid's gradient per point (Σ_c gy · x over each tap, then the per-axis sums of
// kernels::gridPointGridGrad), and the input's by tasks that each own a block of channels of one batch item,
// walking that item's points in order: no two threads write one element and the summation order does not depend
// on the thread count, so the result is bit-deterministic. When each task owns a whole batch item, one pass over
// its points makes both gradients (each block's taps made once).
// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through grid_sample_avx2.cpp, where
// floor and rint are single instructions (SSE4.1's round) and the loops over a block's points 8 (float32) or
// 4 (float64) lanes wide. Same bits either way (but a NaN's sign, isa.h).
#include <algorithm>
#include <cstdint>
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
// Points per block: each block's taps are made in structure-of-arrays form (per tap, one entry per point),
// so that the loops over a block's points vectorise (the taps' math, and the channel loops' gathers). Every
// loop runs over the whole block (a short block's missing points are made from grid value 0 and dropped),
// so no loop has a remainder, and a point's bits do not depend on where it lies in its block. Blocks start at
// multiples of kGridBlock within a batch item in every pass (kGridChunk is a multiple of it).
constexpr int kGridBlock = 64;
// Whether the loops over a block's points gather x (the AVX2 copy: vgatherdps/vgatherdpd); the x86-64 baseline
// has no gather instruction, and there the channel loops go point by point (g++'s emulated gathers cost more).
#ifdef ANTLER_GRID_GATHER
constexpr bool kGridGather = true;
#else
constexpr bool kGridGather = false;
#endif
static_assert(kGridChunk % kGridBlock == 0, "a task's points are whole blocks");

// The taps of a block of points of one batch item: per tap combination k and point p, the flat offset
// off[k][p] (−1: reads 0) and weight w[k][p]; with Slopes, each axis's taps (weights, slopes, whether the
// gradient passes, d src / d c) for the grid's gradient. Index: int32_t where x's plane fits (vectorises),
// else int64_t.
template <typename T, int Mode, int Dims, typename Index>
struct GridBlock {
  static constexpr int n = kernels::gridAxisTapCount<Mode>();
  static constexpr int K = kernels::gridPointTapCount<Mode, Dims>();
  static constexpr int B = kGridBlock;
  alignas(64) Index off[K][B];
  alignas(64) T w[K][B];
  alignas(64) Index pos[Dims][n][B];
  alignas(64) T aw[Dims][n][B];
  alignas(64) T adw[Dims][n][B];
  alignas(64) T adsrc[Dims][B];
  alignas(64) T apass[Dims][B];  // 1 where the gradient passes, else 0 (T: the same lanes as the rest)

  // Padding and Align compile-time: g++ does not vectorise a select on a loop-invariant bool (nor unswitch the loop).
  template <bool Slopes, int Padding, bool Align>
  ANTLER_HD_ALWAYS_INLINE void axesFor(const GridGeometry& g, const T (&gs)[Dims][B]) {
    for (int a = 0; a < Dims; ++a) {
      const int64_t size = g.sizes[a];
      for (int p = 0; p < B; ++p) {
        kernels::GridAxisTaps<T, Mode, Index> t;
        kernels::gridAxisTaps<Mode, Slopes>(t, gs[a][p], size, Padding, Align);
        for (int i = 0; i < n; ++i) {
          pos[a][i][p] = t.pos[i];
          aw[a][i][p] = t.w[i];
          if (Slopes) adw[a][i][p] = t.dw[i];
        }
        if (Slopes) {
          apass[a][p] = t.pass ? T(1) : T(0);
          adsrc[a][p] = t.dsrc;
        }
      }
    }
  }

  // Points p0 … p0 + len − 1 (len ≤ B) of batch item nItem.
  template <bool Slopes>
  ANTLER_HD_ALWAYS_INLINE void make(const GridGeometry& g, const T* grid, int64_t q0, int len) {
    // The grid's components per axis (axis a reads component Dims − 1 − a), 0 past len.
    alignas(64) T gs[Dims][B];
    for (int p = 0; p < B; ++p)
      for (int a = 0; a < Dims; ++a) gs[a][p] = p < len ? grid[(q0 + p) * Dims + (Dims - 1 - a)] : T(0);
    switch (g.padding * 2 + (g.align ? 1 : 0)) {
      case kernels::kGridZeros * 2: axesFor<Slopes, kernels::kGridZeros, false>(g, gs); break;
      case kernels::kGridZeros * 2 + 1: axesFor<Slopes, kernels::kGridZeros, true>(g, gs); break;
      case kernels::kGridBorder * 2: axesFor<Slopes, kernels::kGridBorder, false>(g, gs); break;
      case kernels::kGridBorder * 2 + 1: axesFor<Slopes, kernels::kGridBorder, true>(g, gs); break;
      case kernels::kGridReflection * 2: axesFor<Slopes, kernels::kGridReflection, false>(g, gs); break;
      default: axesFor<Slopes, kernels::kGridReflection, true>(g, gs); break;
    }
    // Every tap combination (the first axis slowest), as kernels::gridCombos.
    const Index s1 = static_cast<Index>(g.sizes[1]), s2 = static_cast<Index>(g.sizes[Dims - 1]);
    int k = 0;
    if constexpr (Dims == 2) {
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j, ++k)
          for (int p = 0; p < B; ++p) {
            const Index i0 = pos[0][i][p], i1 = pos[1][j][p];
            w[k][p] = aw[0][i][p] * aw[1][j][p];
            off[k][p] = i0 >= 0 && i1 >= 0 ? i0 * s1 + i1 : Index(-1);
          }
    } else {
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          for (int l = 0; l < n; ++l, ++k)
            for (int p = 0; p < B; ++p) {
              const Index i0 = pos[0][i][p], i1 = pos[1][j][p], i2 = pos[2][l][p];
              w[k][p] = (aw[0][i][p] * aw[1][j][p]) * aw[2][l][p];
              off[k][p] = i0 >= 0 && i1 >= 0 && i2 >= 0 ? (i0 * s1 + i1) * s2 + i2 : Index(-1);
            }
    }
  }
};

template <typename T, int Mode, int Dims, typename Index>
void forwardTyped(T* out, const T* x, const T* grid, const GridGeometry& g) {
  using Block = GridBlock<T, Mode, Dims, Index>;
  constexpr int B = kGridBlock, K = Block::K;
  // Tasks of up to kGridChunk points of one batch item (no division per point).
  const int64_t chunks = (g.per + kGridChunk - 1) / kGridChunk;
  parallelFor(g.N * chunks, g.N * g.per * g.C * 8, [&](int64_t task) {
    const int64_t n = task / chunks, p0 = (task % chunks) * kGridChunk, p1 = std::min(g.per, p0 + kGridChunk);
    const T* xn = x + n * g.C * g.inner;
    Block b;
    for (int64_t pb = p0; pb < p1; pb += B) {
      const int len = static_cast<int>(std::min<int64_t>(B, p1 - pb));
      b.template make<false>(g, grid, n * g.per + pb, len);
      T* on = out + n * g.C * g.per + pb;
      if (!kGridGather) {
        // Without gathers: point by point (each point's sum in the same order as the lanes' above).
        for (int p = 0; p < len; ++p)
          for (int64_t c = 0; c < g.C; ++c) {
            const T* xc = xn + c * g.inner;
            T acc = T(0);
            for (int k = 0; k < K; ++k) acc += (b.off[k][p] >= 0 ? xc[b.off[k][p]] : T(0)) * b.w[k][p];
            on[c * g.per + p] = acc;
          }
        continue;
      }
      for (int64_t c = 0; c < g.C; ++c) {
        const T* xc = xn + c * g.inner;
        alignas(64) T acc[B];
        for (int p = 0; p < B; ++p) acc[p] = T(0);
        // (An out-of-range tap loads pixel 0, which exists, and selects 0: a gather without a mask.)
        for (int k = 0; k < K; ++k)
          for (int p = 0; p < B; ++p) {
            const Index o = b.off[k][p];
            const T v = xc[o >= 0 ? o : Index(0)];
            acc[p] += (o >= 0 ? v : T(0)) * b.w[k][p];
          }
        T* oc = on + c * g.per;
        for (int p = 0; p < len; ++p) oc[p] = acc[p];
      }
    }
  });
}

// One block's share of the backward (points pb … pb + len − 1 of batch item n, a block of the kGridBlock
// grid): with gg, the grid's gradient of each point from Σ_c gy · x over each tap (every channel: c0 = 0, c1 = C);
// with gx, each channel c0 ≤ c < c1 adds gy · weight into x's gradient, point by point in order (the caller owns
// those channels of batch item n). Never inlined nor cloned: the fused pass and the two separate passes run this
// one copy of the code on the same blocks, so they compute the same bits, NaNs' signs and payloads included
// (inlined into each caller, g++ ordered the operands of a commutative + or · differently, and where two NaNs meet
// the first operand's comes out: the gradients' NaNs then changed sign with the thread count).
#if defined(__clang__)
#define ANTLER_GRID_ONE_COPY __attribute__((noinline))
#else
#define ANTLER_GRID_ONE_COPY __attribute__((noipa))  // noinline, and no clone specialised for a constant argument
#endif
template <typename T, int Mode, int Dims, typename Index>
ANTLER_GRID_ONE_COPY void backwardBlock(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g,
                                        int64_t n, int64_t pb, int len, int64_t c0, int64_t c1) {
  using Block = GridBlock<T, Mode, Dims, Index>;
  constexpr int B = kGridBlock, K = Block::K, nt = Block::n;
  Block b;
  b.template make<true>(g, grid, n * g.per + pb, len);
  const T* xn = x + n * g.C * g.inner;
  const T* gyn = gy + n * g.C * g.per + pb;
  if (gg) {
    alignas(64) T dot[K][B];
    for (int k = 0; k < K; ++k)
      for (int p = 0; p < B; ++p) dot[k][p] = T(0);
    alignas(64) T gyb[B];
    if (!kGridGather) {
      // Without gathers: point by point (each dot[k][p] sums the channels in the same order as below).
      for (int p = 0; p < len; ++p)
        for (int64_t c = c0; c < c1; ++c) {
          const T gyc = gyn[c * g.per + p];
          const T* xc = xn + c * g.inner;
          for (int k = 0; k < K; ++k)
            if (b.off[k][p] >= 0) dot[k][p] = dot[k][p] + gyc * xc[b.off[k][p]];
        }
    }
    for (int64_t c = c0; c < (kGridGather ? c1 : c0); ++c) {
      for (int p = 0; p < B; ++p) gyb[p] = p < len ? gyn[c * g.per + p] : T(0);
      const T* xc = xn + c * g.inner;
      for (int k = 0; k < K; ++k)
        for (int p = 0; p < B; ++p) {
          const Index o = b.off[k][p];
          const T v = xc[o >= 0 ? o : Index(0)];
          dot[k][p] = o >= 0 ? dot[k][p] + gyb[p] * v : dot[k][p];
        }
    }
    // The grid's gradient (kernels::gridPointGridGrad), per axis a: gF_a[i] = Σ_{k: k_a = i} dot[k] · Π_{b≠a} w_b,
    // then unnormalizeBackward((Σ_i gF_a[i] · dw_a[i]) · dsrc) where the gradient passes, else 0.
    alignas(64) T gF[Dims][nt][B];
    for (int a = 0; a < Dims; ++a)
      for (int i = 0; i < nt; ++i)
        for (int p = 0; p < B; ++p) gF[a][i][p] = T(0);
    int k = 0;
    if constexpr (Dims == 2) {
      for (int i = 0; i < nt; ++i)
        for (int j = 0; j < nt; ++j, ++k)
          for (int p = 0; p < B; ++p) {
            gF[0][i][p] += dot[k][p] * b.aw[1][j][p];
            gF[1][j][p] += dot[k][p] * b.aw[0][i][p];
          }
    } else {
      for (int i = 0; i < nt; ++i)
        for (int j = 0; j < nt; ++j)
          for (int l = 0; l < nt; ++l, ++k)
            for (int p = 0; p < B; ++p) {
              gF[0][i][p] += (dot[k][p] * b.aw[1][j][p]) * b.aw[2][l][p];
              gF[1][j][p] += (dot[k][p] * b.aw[0][i][p]) * b.aw[2][l][p];
              gF[2][l][p] += (dot[k][p] * b.aw[0][i][p]) * b.aw[1][j][p];
            }
    }
    T* ggb = gg + (n * g.per + pb) * Dims;
    for (int a = 0; a < Dims; ++a) {
      alignas(64) T s[B];
      for (int p = 0; p < B; ++p) s[p] = T(0);
      for (int i = 0; i < nt; ++i)
        for (int p = 0; p < B; ++p) s[p] += gF[a][i][p] * b.adw[a][i][p];
      for (int p = 0; p < len; ++p)
        ggb[p * Dims + (Dims - 1 - a)] =
            b.apass[a][p] != T(0) ? kernels::gridUnnormalizeBackward(s[p] * b.adsrc[a][p], g.sizes[a], g.align) : T(0);
    }
  }
  if (gx) {
    for (int p = 0; p < len; ++p)
      for (int64_t c = c0; c < c1; ++c) {
        const T gyc = gyn[c * g.per + p];
        T* gxc = gx + (n * g.C + c) * g.inner;
        for (int k = 0; k < K; ++k) {
          const Index o = b.off[k][p];
          if (o >= 0) gxc[o] += gyc * b.w[k][p];
        }
      }
  }
}

template <typename T, int Mode, int Dims, typename Index>
void backwardTyped(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g) {
  constexpr int B = kGridBlock;
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
  // gradient sums over the points in order whatever the blocks, both in the one backwardBlock on the same
  // blocks of points, so the thread count changes no bit.
  const int64_t threads = std::max<int64_t>(1, numThreads());
  const int64_t blocks = g.N % threads == 0 || g.N >= 4 * threads
                             ? 1
                             : std::min<int64_t>(g.C, std::max<int64_t>(1, (4 * threads + g.N - 1) / g.N));
  // Points p0 … p1 − 1 of batch item n, block by block.
  const auto run = [&](T* gxr, T* ggr, int64_t n, int64_t p0, int64_t p1, int64_t c0, int64_t c1) {
    for (int64_t pb = p0; pb < p1; pb += B)
      backwardBlock<T, Mode, Dims, Index>(gxr, ggr, gy, x, grid, g, n, pb, static_cast<int>(std::min<int64_t>(B, p1 - pb)), c0, c1);
  };
  if (needsGrid && needsX && blocks == 1) {
    parallelFor(g.N, points * g.C * 8, [&](int64_t n) { run(gx, gg, n, 0, g.per, 0, g.C); });
    return;
  }
  if (needsGrid) {
    const int64_t chunks = (g.per + kGridChunk - 1) / kGridChunk;
    parallelFor(g.N * chunks, points * g.C * 8, [&](int64_t task) {
      const int64_t n = task / chunks, p0 = (task % chunks) * kGridChunk, p1 = std::min(g.per, p0 + kGridChunk);
      run(nullptr, gg, n, p0, p1, 0, g.C);
    });
  }
  if (needsX) {
    const int64_t width = (g.C + blocks - 1) / blocks;
    parallelFor(g.N * blocks, points * g.C * 8, [&](int64_t task) {
      const int64_t n = task / blocks, c0 = (task % blocks) * width, c1 = std::min(g.C, c0 + width);
      if (c0 >= c1) return;
      run(gx, nullptr, n, 0, g.per, c0, c1);
    });
  }
}

// The largest plane of x (and so axis) whose blocks' indices (vectorised) are int32_t; larger ones use int64_t.
// Not INT32_MAX: kernels::gridTapIndex<int32_t> converts a position p <= T(size − 1) to int32_t, and float32 rounds
// size − 1 up (2^31 − 2 becomes 2^31, past INT32_MAX: an undefined conversion, INT32_MIN on x86). 128 below it,
// float32(size − 1) is at most 2^31 − 128 (the float32 spacing there is 128).
constexpr int64_t kGridInt32Plane = INT32_MAX - 128;
static_assert(static_cast<double>(static_cast<float>(kGridInt32Plane - 1)) <= static_cast<double>(INT32_MAX),
              "float32(size - 1) converts to int32_t for every axis of an int32_t plane");
bool fitsInt32(const GridGeometry& g) { return g.inner <= kGridInt32Plane; }

// The kernels for the geometry's mode and number of spatial axes (compile-time tap counts) and index type.
template <typename T>
void forwardAny(T* out, const T* x, const T* grid, const GridGeometry& g) {
  const bool narrow = fitsInt32(g);
  const bool done = kernels::withGridInstance(g.mode, g.dims, [&](auto mode, auto dims) {
    constexpr int M = decltype(mode)::value, D = decltype(dims)::value;
    narrow ? forwardTyped<T, M, D, int32_t>(out, x, grid, g) : forwardTyped<T, M, D, int64_t>(out, x, grid, g);
  });
  if (!done) fail(Code::Internal, "gridSample: unsupported mode ", g.mode, " for ", g.dims, " spatial axes");
}

template <typename T>
void backwardAny(T* gx, T* gg, const T* gy, const T* x, const T* grid, const GridGeometry& g) {
  const bool narrow = fitsInt32(g);
  const bool done = kernels::withGridInstance(g.mode, g.dims, [&](auto mode, auto dims) {
    constexpr int M = decltype(mode)::value, D = decltype(dims)::value;
    narrow ? backwardTyped<T, M, D, int32_t>(gx, gg, gy, x, grid, g) : backwardTyped<T, M, D, int64_t>(gx, gg, gy, x, grid, g);
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
