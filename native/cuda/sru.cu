// The fused SRU recurrence on the GPU (math in kernels/sru.h): one thread per
// chain (batch b, direction, unit j), both directions in the same launch.
// Thread i owns column col = i mod dirs·d of batch b = i / (dirs·d), so a warp
// covers neighbouring units of one (b, direction): its h, c, x and gh accesses
// are contiguous and its U loads stride k elements.
//
// Backward: gWeightC and gBias sum over t and batch without floating-point
// atomics, so they are the same bits on every run: each chain sums its terms
// over t in double into its own slot of a [B, 2·dirs·d] scratch, and a second
// kernel adds the batches in order b = 0, 1, … for each parameter.
#include "../kernels/sru.h"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

// Blocks of 128 threads. Blocks of 64 spread few chains over more SMs (at
// L 1024, d 512, B 16: 8,192 chains, 128 blocks instead of 64 on an H200's
// 132 SMs) but measured no faster there and slower at L 128 (H200,
// 2026-12-04, scripts/sru-variants.js): a walk's speed is its warp's, one
// step after another, not the SM's share of memory bandwidth.
constexpr int kSruBlock = 128;

static unsigned sruGrid(int64_t n) {
  const int64_t blocks = (n + kSruBlock - 1) / kSruBlock;
  const int64_t cap = 0x7fffffff;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

// One chain per thread gives the GPU few threads (B·dirs·d): a warp per
// scheduler or less, so a walk's speed is that of its warp, step after step.
// Each thread therefore software-pipelines its walk: the loads of the next
// group of SruAhead steps are issued before the arithmetic of the current
// group, and stay in flight while the serial part (the c recurrence) runs.
// The loads are unconditional and of raw values: every step's operands are
// loaded from valid addresses (the cursor stops at the walk's last step, and
// absent operands read a stand-in: sruNoMask, or U for a skip term that is
// zeroed at use), and nothing is computed from them until the step that uses
// them. A load under a condition, or arithmetic right after it (a select
// between the loaded value and 0, a comparison), makes the warp wait for that
// load there: a version written that way ran at half the speed (H200,
// 2026-12-04, scripts/sru-variants.js, "cursor"). The loops are fully
// unrolled, so both groups live in registers.
//
// A full group's steps are straight-line code: no test of the step against L
// (only the last, partial group has them), no branch on the activation (a
// template parameter) or on a padded step (selects), so the compiler can
// overlap a step's work off the c chain (the reset gate, h, the stores, the
// backward's sums) with the next steps. Before, each step ended in a branch,
// and consecutive steps ran one after the other: on the H200 a forward step
// took about 0.3 µs (L 1024, B 16: 328 µs for 1,024 steps), several times
// the chain's own latency. That the straight-line groups are faster is
// expected, not yet measured on a GPU.
template <typename T>
struct SruAhead {
  static constexpr int forward = sizeof(T) == 4 ? 16 : 8;
  static constexpr int backward = sizeof(T) == 4 ? 8 : 4;
};

// Where chain (b, col)'s walk starts and how it moves: the element offset of
// its first step in x, h and c (U's columns: k times that), and the signed
// stride between consecutive steps of the walk (B·width elements; negative for
// the backward direction, which walks time from L − 1 down); the same for
// maskPad [L, B]. The kernels advance offsets by these strides instead of
// recomputing (t·B + b)·width + col per access: with one warp per scheduler
// (few chains, long walks), the 64-bit index arithmetic was most of a step's
// instructions.
struct SruWalk {
  int64_t first, stride, maskFirst, maskStride;
};

__device__ __forceinline__ SruWalk sruWalk(const k::SruConfig& cfg, int64_t b, int64_t col) {
  const bool reverse = col >= cfg.d;
  const int64_t t0 = reverse ? cfg.L - 1 : 0, row = cfg.B * cfg.width();
  return {cfg.at(t0, b, col), reverse ? -row : row, t0 * cfg.B + b, reverse ? -cfg.B : cfg.B};
}

// maskPad's stand-in when there is none: every step reads this 0.
__device__ int32_t sruNoMask[1] = {0};

// Offsets of the next step to load (U: k per element; xs: the skip input's
// source, see sruCursor; mask: in maskPad or sruNoMask), advanced one
// step at a time until the walk's last step, where they stay: loads past the
// end read that step again, in bounds, and go unused.
struct SruCursor {
  int64_t at, u, xs, mask;
  int64_t atStride, uStride, xsStride, maskStride;
  int64_t left;  // steps after the current one
  __device__ __forceinline__ void advance() {
    const bool more = left > 0;
    at += more ? atStride : 0;
    u += more ? uStride : 0;
    xs += more ? xsStride : 0;
    mask += more ? maskStride : 0;
    left -= more ? 1 : 0;
  }
};

// One step's operands as loaded (see SruAhead: nothing computed from them yet).
template <typename T>
struct SruRaw {
  T u0, u1, u2, xs;
  int32_t m;
};

template <typename T>
__device__ __forceinline__ SruRaw<T> sruLoadRaw(const T* __restrict__ U, const T* __restrict__ xsBase,
                                                const int32_t* __restrict__ maskBase, const SruCursor& q) {
  const T* u = U + q.u;
  return {u[0], u[1], u[2], xsBase[q.xs], maskBase[q.mask]};
}

// A cursor at element offset `at` (mask offset maskAt) moving `stride`
// (maskStride) per step for the walk's L steps, and in xsBase where the skip
// term's input comes from: x (ScaledInput), U's 4th column (Projection), or,
// without one, U itself (read and zeroed at use). Without maskPad the mask
// offsets stay 0, in sruNoMask.
template <typename T>
__device__ __forceinline__ SruCursor sruCursor(const k::SruConfig& cfg, const T* U, const T* x, bool masked,
                                               int64_t at, int64_t stride, int64_t maskAt, int64_t maskStride,
                                               const T*& xsBase) {
  const int64_t uAt = at * cfg.k, uStride = stride * cfg.k;
  const bool scaled = cfg.skip == k::SruSkip::ScaledInput && x;
  xsBase = scaled ? x : cfg.skip == k::SruSkip::Projection ? U + 3 : U;
  return {at,     uAt,     scaled ? at : uAt,         masked ? maskAt : 0,
          stride, uStride, scaled ? stride : uStride, masked ? maskStride : 0, cfg.L - 1};
}

template <typename T, bool Tanh>
static __global__ void __launch_bounds__(kSruBlock)
    sruForwardKernel(k::SruConfig cfg, const T* __restrict__ U, const T* __restrict__ x,
                     const T* __restrict__ weightC, const T* __restrict__ bias, const T* __restrict__ c0,
                     const int32_t* __restrict__ maskPad, T* __restrict__ h, T* __restrict__ c,
                     T* __restrict__ cLast) {
  constexpr int P = SruAhead<T>::forward;
  const int64_t width = cfg.width(), chains = cfg.chains(), L = cfg.L;
  const T scaleX = static_cast<T>(cfg.scaleX);
  const bool scaled = cfg.skip == k::SruSkip::ScaledInput && x, proj = cfg.skip == k::SruSkip::Projection;
  const int32_t* maskBase = maskPad ? maskPad : sruNoMask;
  for (int64_t i = gridStart(); i < chains; i += gridStride()) {
    const int64_t b = i / width, col = i - b * width;
    const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col);
    T state = c0 ? c0[i] : T(0);
    if (L > 0) {
      const SruWalk w = sruWalk(cfg, b, col);
      const T* xsBase;
      SruCursor load = sruCursor(cfg, U, x, maskPad != nullptr, w.first, w.stride, w.maskFirst, w.maskStride, xsBase);
      int64_t store = w.first;
      // One step, without branches (see SruAhead: a full group is straight-line code).
      const auto step = [&](const SruRaw<T>& r) {
        const T s = scaled ? scaleX * r.xs : proj ? r.xs : T(0);
        T hNew;
        const T cNew = k::sruForwardStep(state, r.u0, r.u1, r.u2, s, p, Tanh, hNew);
        const bool padded = r.m != 0;
        state = padded ? state : cNew;
        c[store] = state;
        h[store] = padded ? T(0) : hNew;
        store += w.stride;
      };
      SruRaw<T> cur[P], next[P];
#pragma unroll
      for (int j = 0; j < P; ++j) {
        cur[j] = sruLoadRaw(U, xsBase, maskBase, load);
        load.advance();
      }
      for (int64_t base = 0; base < L; base += P) {
#pragma unroll
        for (int j = 0; j < P; ++j) {
          next[j] = sruLoadRaw(U, xsBase, maskBase, load);
          load.advance();
        }
        if (base + P <= L) {
#pragma unroll
          for (int j = 0; j < P; ++j) step(cur[j]);
        } else {
#pragma unroll
          for (int j = 0; j < P; ++j)
            if (base + j < L) step(cur[j]);
        }
#pragma unroll
        for (int j = 0; j < P; ++j) cur[j] = next[j];
      }
    }
    cLast[i] = state;
  }
}

template <typename T>
struct SruBackRaw {
  T cPrev, u0, u1, u2, xs, gh, gAll;
  int32_t m;
};

template <typename T, bool Tanh>
static __global__ void __launch_bounds__(kSruBlock)
    sruBackwardKernel(k::SruConfig cfg, const T* __restrict__ U, const T* __restrict__ x,
                      const T* __restrict__ weightC, const T* __restrict__ bias, const T* __restrict__ c0,
                      const int32_t* __restrict__ maskPad, const T* __restrict__ c, const T* __restrict__ gh,
                      const T* __restrict__ gcLast, const T* __restrict__ gcAll, T* __restrict__ gU,
                      T* __restrict__ gx, T* __restrict__ gc0, double* __restrict__ partialV,
                      double* __restrict__ partialB) {
  constexpr int P = SruAhead<T>::backward;
  const int64_t width = cfg.width(), kk = cfg.k, chains = cfg.chains(), L = cfg.L;
  const T scaleX = static_cast<T>(cfg.scaleX);
  const bool scaled = cfg.skip == k::SruSkip::ScaledInput && x, proj = cfg.skip == k::SruSkip::Projection;
  const bool hasAll = gcAll != nullptr, fourth = kk == 4, hasGx = gx != nullptr;
  const int32_t* maskBase = maskPad ? maskPad : sruNoMask;
  const T* gAllBase = gcAll ? gcAll : gh;
  for (int64_t i = gridStart(); i < chains; i += gridStride()) {
    const int64_t b = i / width, col = i - b * width;
    const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col);
    T carry = gcLast[i];
    const T c0v = c0 ? c0[i] : T(0);
    double dvf = 0.0, dvr = 0.0, dbf = 0.0, dbr = 0.0;
    if (L > 0) {
      const SruWalk w = sruWalk(cfg, b, col);
      const int64_t last = w.first + (L - 1) * w.stride, lastMask = w.maskFirst + (L - 1) * w.maskStride;
      // The backward walk starts at the forward walk's last step and moves back to its first.
      const T* xsBase;
      SruCursor load = sruCursor(cfg, U, x, maskPad != nullptr, last, -w.stride, lastMask, -w.maskStride, xsBase);
      int64_t store = last, storeU = last * kk;
      T cCur = c[last];
      SruBackRaw<T> cur[P], next[P];
      const auto loadRaw = [&](const SruCursor& q) {
        const T* u = U + q.u;
        // c one forward step earlier; at the forward walk's first step (left = 0)
        // a valid element instead, replaced by c0 at use.
        return SruBackRaw<T>{c[q.at + (q.left > 0 ? q.atStride : 0)], u[0], u[1], u[2], xsBase[q.xs], gh[q.at],
                             gAllBase[q.at], maskBase[q.mask]};
      };
      // Walk step r (from the end), without branches but the optional stores, which ptxas predicates.
      const auto step = [&](const SruBackRaw<T>& r, bool firstStep) {
        const T cPrev = firstStep ? c0v : r.cPrev;
        const T s = scaled ? scaleX * r.xs : proj ? r.xs : T(0);
        const bool padded = r.m != 0;
        // The gradient of this step's state joins the carry (on a padded step too: its state is c_{t−1}).
        carry = hasAll ? carry + r.gAll : carry;
        const k::SruStepGrads<T> g = k::sruBackwardStep(cPrev, cCur, r.u0, r.u1, r.u2, s, p, Tanh, r.gh, carry);
        T* gu = gU + storeU;
        gu[0] = padded ? T(0) : g.dxTilde;
        gu[1] = padded ? T(0) : g.df;
        gu[2] = padded ? T(0) : g.dr;
        if (fourth) gu[3] = padded ? T(0) : g.ds;
        if (hasGx) gx[store] = padded ? T(0) : scaleX * g.ds;
        carry = padded ? carry : g.carry;
        dvf = padded ? dvf : dvf + static_cast<double>(g.df) * static_cast<double>(cPrev);
        dvr = padded ? dvr : dvr + static_cast<double>(g.dr) * static_cast<double>(cPrev);
        dbf = padded ? dbf : dbf + static_cast<double>(g.df);
        dbr = padded ? dbr : dbr + static_cast<double>(g.dr);
        cCur = cPrev;
        store -= w.stride;
        storeU -= w.stride * kk;
      };
#pragma unroll
      for (int j = 0; j < P; ++j) {
        cur[j] = loadRaw(load);
        load.advance();
      }
      for (int64_t base = 0; base < L; base += P) {
#pragma unroll
        for (int j = 0; j < P; ++j) {
          next[j] = loadRaw(load);
          load.advance();
        }
        if (base + P < L) {  // a full group that does not reach the forward walk's first step
#pragma unroll
          for (int j = 0; j < P; ++j) step(cur[j], false);
        } else {
#pragma unroll
          for (int j = 0; j < P; ++j)
            if (base + j < L) step(cur[j], base + j == L - 1);
        }
#pragma unroll
        for (int j = 0; j < P; ++j) cur[j] = next[j];
      }
    }
    gc0[i] = carry;
    const int64_t slot = b * 2 * width + col;
    partialV[slot] = dvf;
    partialV[slot + width] = dvr;
    partialB[slot] = dbf;
    partialB[slot + width] = dbr;
  }
}

//   gWeightC_i = Σ_b partialV[b, i],  gBias_i = Σ_b partialB[b, i]   (b in order)
template <typename T>
static __global__ void sruParamGradKernel(T* __restrict__ gW, T* __restrict__ gB, const double* __restrict__ partialV,
                                          const double* __restrict__ partialB, int64_t B, int64_t params) {
  for (int64_t i = gridStart(); i < params; i += gridStride()) {
    double sv = 0.0, sb = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      sv += partialV[b * params + i];
      sb += partialB[b * params + i];
    }
    gW[i] = static_cast<T>(sv);
    gB[i] = static_cast<T>(sb);
  }
}

template <typename T>
static void launchSruForward(Context& ctx, const k::SruConfig& cfg, const SruInputs& in, void* h, void* c,
                             void* cLast) {
  const int64_t chains = cfg.chains();
  if (chains <= 0) return;
  // The activation is a template parameter: a runtime branch inside a step would split the group's
  // straight-line code.
  if (cfg.tanhActivation) {
    sruForwardKernel<T, true><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
        cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
        static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<T*>(h),
        static_cast<T*>(c), static_cast<T*>(cLast));
  } else {
    sruForwardKernel<T, false><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
        cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
        static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<T*>(h),
        static_cast<T*>(c), static_cast<T*>(cLast));
  }
  ANTLER_LAUNCH_CHECK("sruForward");
}

template <typename T>
static void launchSruBackward(Context& ctx, const k::SruConfig& cfg, const SruInputs& in, const void* c,
                              const void* gh, const void* gcLast, const SruGrads& out) {
  const int64_t chains = cfg.chains(), params = 2 * cfg.width();
  // B = 0 still launches the sum, which writes zeros.
  PoolBuffer partials(ctx, static_cast<size_t>(2 * (cfg.B > 0 ? cfg.B : 1) * params) * sizeof(double));
  double* partialV = static_cast<double*>(partials.get());
  double* partialB = partialV + cfg.B * params;
  if (chains > 0) {
    if (cfg.tanhActivation) {
      sruBackwardKernel<T, true><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
          cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
          static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<const T*>(c),
          static_cast<const T*>(gh), static_cast<const T*>(gcLast), static_cast<const T*>(in.gcAll),
          static_cast<T*>(out.gU), static_cast<T*>(out.gx), static_cast<T*>(out.gc0), partialV, partialB);
    } else {
      sruBackwardKernel<T, false><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
          cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
          static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<const T*>(c),
          static_cast<const T*>(gh), static_cast<const T*>(gcLast), static_cast<const T*>(in.gcAll),
          static_cast<T*>(out.gU), static_cast<T*>(out.gx), static_cast<T*>(out.gc0), partialV, partialB);
    }
    ANTLER_LAUNCH_CHECK("sruBackward");
  }
  sruParamGradKernel<T><<<gridFor(ctx, params), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(out.gWeightC), static_cast<T*>(out.gBias), partialV, partialB, cfg.B, params);
  ANTLER_LAUNCH_CHECK("sruBackward");
}

// DEER for SRU: one thread per (t, b, col), fully parallel over time.
template <typename T>
static __global__ void sruDeerKernel(k::SruConfig cfg, const T* __restrict__ U, const T* __restrict__ x,
                                     const T* __restrict__ weightC, const T* __restrict__ bias,
                                     const T* __restrict__ c0, const int32_t* __restrict__ maskPad,
                                     const T* __restrict__ c, T* __restrict__ F, T* __restrict__ J,
                                     T* __restrict__ bOff, T* __restrict__ h) {
  const int64_t n = cfg.L * cfg.chains();
  for (int64_t e = gridStart(); e < n; e += gridStride())
    k::sruDeerEntry(cfg, U, x, weightC, bias, c0, maskPad, c, e, F, J, bOff, h);
}

template <typename T>
static void launchSruDeer(Context& ctx, const k::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J,
                          void* bOff, void* h) {
  sruDeerKernel<T><<<gridFor(ctx, cfg.L * cfg.chains()), kBlockSize, 0, ctx.stream>>>(
      cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
      static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<const T*>(c),
      static_cast<T*>(F), static_cast<T*>(J), static_cast<T*>(bOff), static_cast<T*>(h));
  ANTLER_LAUNCH_CHECK("sruDeer");
}

void sruDeer(Context& ctx, DType t, const k::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J,
             void* bOff, void* h) {
  switch (t) {
    case DType::Float32: return launchSruDeer<float>(ctx, cfg, in, c, F, J, bOff, h);
    case DType::Float64: return launchSruDeer<double>(ctx, cfg, in, c, F, J, bOff, h);
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU deer: dtype ", dtypeName(t), " is not supported");
}

void sruForward(Context& ctx, DType t, const k::SruConfig& cfg, const SruInputs& in, void* h, void* c, void* cLast) {
  switch (t) {
    case DType::Float32: return launchSruForward<float>(ctx, cfg, in, h, c, cLast);
    case DType::Float64: return launchSruForward<double>(ctx, cfg, in, h, c, cLast);
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU: dtype ", dtypeName(t), " is not supported");
}

void sruBackward(Context& ctx, DType t, const k::SruConfig& cfg, const SruInputs& in, const void* c, const void* gh,
                 const void* gcLast, const SruGrads& out) {
  if (cfg.d <= 0) return;
  switch (t) {
    case DType::Float32: return launchSruBackward<float>(ctx, cfg, in, c, gh, gcLast, out);
    case DType::Float64: return launchSruBackward<double>(ctx, cfg, in, c, gh, gcLast, out);
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU backward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
