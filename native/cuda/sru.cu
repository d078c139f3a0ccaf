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

// Small blocks spread a modest number of chains (B·dirs·d) over more SMs.
constexpr int kSruBlock = 128;

static unsigned sruGrid(int64_t n) {
  const int64_t blocks = (n + kSruBlock - 1) / kSruBlock;
  const int64_t cap = 0x7fffffff;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

// One chain per thread gives the GPU few threads (B·dirs·d), too few to hide
// memory latency one step at a time. So each thread software-pipelines its
// walk: the loads of the next group of kAhead steps are issued before the
// arithmetic of the current group, keeping a group's loads in flight while
// the serial part (the c recurrence) runs. Loads do not depend on c; a step
// is loaded whether or not it is padded and the result is selected
// afterwards. Loads past the end are clamped to the last step (in bounds,
// discarded). Both groups live in registers (the loops are fully unrolled).
template <typename T>
struct SruAhead {
  static constexpr int forward = sizeof(T) == 4 ? 16 : 8;
  static constexpr int backward = sizeof(T) == 4 ? 8 : 4;
};

template <typename T>
struct SruStepIn {
  T xTilde, uf, ur, s;
  bool padded;
};

// The inputs of walk step `step` (clamped to L − 1) of chain (b, col).
template <typename T>
__device__ __forceinline__ SruStepIn<T> sruLoadStep(const k::SruConfig& cfg, const T* __restrict__ U,
                                                    const T* __restrict__ x, const int32_t* __restrict__ maskPad,
                                                    int64_t step, int64_t b, int64_t col, T scaleX) {
  const int64_t t = cfg.timeOf(step < cfg.L ? step : cfg.L - 1, col);
  const int64_t at = cfg.at(t, b, col);
  const T* u = U + at * cfg.k;
  return {u[0], u[1], u[2], k::sruSkipTerm(cfg.skip, u, x ? x[at] : T(0), scaleX), maskPad && maskPad[t * cfg.B + b] != 0};
}

template <typename T>
static __global__ void __launch_bounds__(kSruBlock)
    sruForwardKernel(k::SruConfig cfg, const T* __restrict__ U, const T* __restrict__ x,
                     const T* __restrict__ weightC, const T* __restrict__ bias, const T* __restrict__ c0,
                     const int32_t* __restrict__ maskPad, T* __restrict__ h, T* __restrict__ c,
                     T* __restrict__ cLast) {
  constexpr int P = SruAhead<T>::forward;
  const int64_t width = cfg.width(), chains = cfg.chains();
  const T scaleX = static_cast<T>(cfg.scaleX);
  for (int64_t i = gridStart(); i < chains; i += gridStride()) {
    const int64_t b = i / width, col = i - b * width;
    const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col);
    T state = c0 ? c0[i] : T(0);
    if (cfg.L > 0) {
      SruStepIn<T> cur[P], next[P];
#pragma unroll
      for (int j = 0; j < P; ++j) cur[j] = sruLoadStep(cfg, U, x, maskPad, j, b, col, scaleX);
      for (int64_t base = 0; base < cfg.L; base += P) {
#pragma unroll
        for (int j = 0; j < P; ++j) next[j] = sruLoadStep(cfg, U, x, maskPad, base + P + j, b, col, scaleX);
#pragma unroll
        for (int j = 0; j < P; ++j) {
          const int64_t step = base + j;
          if (step < cfg.L) {
            const int64_t at = cfg.at(cfg.timeOf(step, col), b, col);
            T hNew;
            const T cNew = k::sruForwardStep(state, cur[j].xTilde, cur[j].uf, cur[j].ur, cur[j].s, p,
                                             cfg.tanhActivation, hNew);
            state = cur[j].padded ? state : cNew;
            c[at] = state;
            h[at] = cur[j].padded ? T(0) : hNew;
          }
        }
#pragma unroll
        for (int j = 0; j < P; ++j) cur[j] = next[j];
      }
    }
    cLast[i] = state;
  }
}

template <typename T>
struct SruBackIn {
  T cPrev, xTilde, uf, ur, s, gh, gAll;
  bool padded;
};

// The inputs of the backward walk's r-th step (step L − 1 − r of the forward
// walk, r clamped to L − 1), including c_{t−1} (c0 or 0 at the walk's start).
template <typename T>
__device__ __forceinline__ SruBackIn<T> sruLoadBackStep(const k::SruConfig& cfg, const T* __restrict__ U,
                                                        const T* __restrict__ x, const T* __restrict__ c0,
                                                        const T* __restrict__ c, const T* __restrict__ gh,
                                                        const T* __restrict__ gcAll,
                                                        const int32_t* __restrict__ maskPad, int64_t r, int64_t b,
                                                        int64_t col, int64_t i, T scaleX) {
  const int64_t step = cfg.L - 1 - (r < cfg.L ? r : cfg.L - 1);
  const int64_t t = cfg.timeOf(step, col);
  const int64_t at = cfg.at(t, b, col);
  const T* u = U + at * cfg.k;
  SruBackIn<T> v;
  v.cPrev = step > 0 ? c[cfg.at(cfg.timeOf(step - 1, col), b, col)] : (c0 ? c0[i] : T(0));
  v.xTilde = u[0];
  v.uf = u[1];
  v.ur = u[2];
  v.s = k::sruSkipTerm(cfg.skip, u, x ? x[at] : T(0), scaleX);
  v.gh = gh[at];
  v.gAll = gcAll ? gcAll[at] : T(0);
  v.padded = maskPad && maskPad[t * cfg.B + b] != 0;
  return v;
}

// Walks each chain's steps in reverse, pipelined as the forward. c_t of a
// step is the c_{t−1} loaded for the step before it in this walk.
template <typename T>
static __global__ void __launch_bounds__(kSruBlock)
    sruBackwardKernel(k::SruConfig cfg, const T* __restrict__ U, const T* __restrict__ x,
                      const T* __restrict__ weightC, const T* __restrict__ bias, const T* __restrict__ c0,
                      const int32_t* __restrict__ maskPad, const T* __restrict__ c, const T* __restrict__ gh,
                      const T* __restrict__ gcLast, const T* __restrict__ gcAll, T* __restrict__ gU,
                      T* __restrict__ gx, T* __restrict__ gc0, double* __restrict__ partialV,
                      double* __restrict__ partialB) {
  constexpr int P = SruAhead<T>::backward;
  const int64_t width = cfg.width(), kk = cfg.k, chains = cfg.chains();
  const T scaleX = static_cast<T>(cfg.scaleX);
  for (int64_t i = gridStart(); i < chains; i += gridStride()) {
    const int64_t b = i / width, col = i - b * width;
    const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col);
    T carry = gcLast[i];
    double dvf = 0.0, dvr = 0.0, dbf = 0.0, dbr = 0.0;
    if (cfg.L > 0) {
      T cCur = c[cfg.at(cfg.timeOf(cfg.L - 1, col), b, col)];
      SruBackIn<T> cur[P], next[P];
#pragma unroll
      for (int j = 0; j < P; ++j) cur[j] = sruLoadBackStep(cfg, U, x, c0, c, gh, gcAll, maskPad, j, b, col, i, scaleX);
      for (int64_t base = 0; base < cfg.L; base += P) {
#pragma unroll
        for (int j = 0; j < P; ++j)
          next[j] = sruLoadBackStep(cfg, U, x, c0, c, gh, gcAll, maskPad, base + P + j, b, col, i, scaleX);
#pragma unroll
        for (int j = 0; j < P; ++j) {
          if (base + j >= cfg.L) continue;
          const SruBackIn<T>& in = cur[j];
          const int64_t at = cfg.at(cfg.timeOf(cfg.L - 1 - (base + j), col), b, col);
          // The gradient of this step's state joins the carry (on a padded step too: its state is c_{t−1}).
          if (gcAll) carry += in.gAll;
          const k::SruStepGrads<T> g =
              k::sruBackwardStep(in.cPrev, cCur, in.xTilde, in.uf, in.ur, in.s, p, cfg.tanhActivation, in.gh, carry);
          T* gu = gU + at * kk;
          gu[0] = in.padded ? T(0) : g.dxTilde;
          gu[1] = in.padded ? T(0) : g.df;
          gu[2] = in.padded ? T(0) : g.dr;
          if (kk == 4) gu[3] = in.padded ? T(0) : g.ds;
          if (gx) gx[at] = in.padded ? T(0) : scaleX * g.ds;
          if (!in.padded) {
            carry = g.carry;
            dvf += static_cast<double>(g.df) * static_cast<double>(in.cPrev);
            dvr += static_cast<double>(g.dr) * static_cast<double>(in.cPrev);
            dbf += static_cast<double>(g.df);
            dbr += static_cast<double>(g.dr);
          }
          cCur = in.cPrev;
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
  sruForwardKernel<T><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
      cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
      static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<T*>(h),
      static_cast<T*>(c), static_cast<T*>(cLast));
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
    sruBackwardKernel<T><<<sruGrid(chains), kSruBlock, 0, ctx.stream>>>(
        cfg, static_cast<const T*>(in.U), static_cast<const T*>(in.x), static_cast<const T*>(in.weightC),
        static_cast<const T*>(in.bias), static_cast<const T*>(in.c0), in.maskPad, static_cast<const T*>(c),
        static_cast<const T*>(gh), static_cast<const T*>(gcLast), static_cast<const T*>(in.gcAll),
        static_cast<T*>(out.gU), static_cast<T*>(out.gx),
        static_cast<T*>(out.gc0), partialV, partialB);
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
