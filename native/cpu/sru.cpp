// The fused SRU recurrence on the CPU (math in kernels/sru.h). A task is a run
// of at most kUnits neighbouring units of one (batch, direction): it walks
// time in its direction's order, and at each step its inner loop runs over
// contiguous units, so h, c and gh rows are read and written as runs.
//
// Backward: gWeightC and gBias are sums over t and batch. Each task sums its
// units' terms over t in double into its own slots of a [B, 2·dirs·d]
// scratch, then one loop adds the batches in order b = 0, 1, …: the result
// depends on the shapes alone, never on the thread count or the schedule.
//
// The unit loops see k (3 or 4), the skip term and the activation as
// compile-time constants (withSruVariant) and read through local restrict
// pointers, so that they vectorise, exp and tanh included (kernels/unary.h);
// with the AVX2 copy (sru_avx2.cpp, isa.h) that makes them several times
// faster than scalar code. Same operations, same bits either way.
#include <type_traits>
#include <vector>

#include "../core/error.h"
#include "../kernels/sru.h"
#include "isa.h"
#include "parallel.h"

// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through sru_avx2.cpp.
namespace antler::cpu::ANTLER_ISA_NS {

namespace k = kernels;

constexpr int64_t kUnits = 64;

// Calls body(b, col0, n) for each run of n <= kUnits columns col0 … col0 + n − 1
// of one (batch, direction); work is the element count that decides threading.
template <typename Body>
static void forUnitRuns(const k::SruConfig& cfg, Body body) {
  const int64_t runsPerDir = (cfg.d + kUnits - 1) / kUnits;
  const int64_t tasks = cfg.B * cfg.dirs * runsPerDir;
  const int64_t work = cfg.L * cfg.chains();
  parallelFor(tasks, work, [&](int64_t task) {
    const int64_t run = task % runsPerDir;
    const int64_t dir = (task / runsPerDir) % cfg.dirs;
    const int64_t b = task / (runsPerDir * cfg.dirs);
    const int64_t j0 = run * kUnits;
    const int64_t n = cfg.d - j0 < kUnits ? cfg.d - j0 : kUnits;
    body(b, dir * cfg.d + j0, n);
  });
}

// Calls f(K, skip, tanh) with cfg's k, skip term and activation as
// compile-time constants. A ScaledInput skip without x reads zeros: None.
template <typename F>
static void withSruVariant(const k::SruConfig& cfg, bool haveX, F&& f) {
  using Skip = k::SruSkip;
  const auto act = [&](auto K, auto skip) {
    if (cfg.tanhActivation) f(K, skip, std::true_type{});
    else f(K, skip, std::false_type{});
  };
  const auto withSkip = [&](auto K) {
    const Skip skip = cfg.skip == Skip::ScaledInput && !haveX ? Skip::None : cfg.skip;
    if (skip == Skip::ScaledInput) return act(K, std::integral_constant<Skip, Skip::ScaledInput>{});
    if (skip == Skip::None) return act(K, std::integral_constant<Skip, Skip::None>{});
    if constexpr (decltype(K)::value == 4) return act(K, std::integral_constant<Skip, Skip::Projection>{});
    fail(Code::Internal, "SRU: a projected skip term needs k = 4; got k = ", cfg.k);
  };
  if (cfg.k == 3) return withSkip(std::integral_constant<int64_t, 3>{});
  if (cfg.k == 4) return withSkip(std::integral_constant<int64_t, 4>{});
  fail(Code::Internal, "SRU: k must be 3 or 4; got ", cfg.k);
}

// One step of n units: the loop that vectorises (its operands as restrict
// parameters: GCC did not vectorise it inline in the lambda).
template <typename T, int64_t K, k::SruSkip Skip, bool Tanh>
static void forwardUnits(const T* __restrict us, const T* __restrict xs, const T* __restrict wc, const T* __restrict bc,
                         int64_t width, T sx, T* __restrict state, T* __restrict hs, T* __restrict cs, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T* u = us + j * K;
    const T s = k::sruSkipTerm(Skip, u, Skip == k::SruSkip::ScaledInput ? xs[j] : T(0), sx);
    const k::SruUnitParams<T> p = k::sruUnitParams(wc, bc, width, j);
    T hj;
    const T cj = k::sruForwardStep(state[j], u[0], u[1], u[2], s, p, Tanh, hj);
    state[j] = cj;
    hs[j] = hj;
    cs[j] = cj;
  }
}

template <typename T>
static void sruForwardTyped(const k::SruConfig& cfg, const T* U, const T* x, const T* weightC, const T* bias,
                            const T* c0, const int32_t* maskPad, T* h, T* c, T* cLast) {
  const int64_t width = cfg.width();
  const T scaleX = static_cast<T>(cfg.scaleX);
  withSruVariant(cfg, x != nullptr, [&](auto Kc, auto skipC, auto tanhC) {
    constexpr int64_t K = decltype(Kc)::value;
    constexpr k::SruSkip skip = decltype(skipC)::value;
    constexpr bool tanhAct = decltype(tanhC)::value;
    forUnitRuns(cfg, [&](int64_t b, int64_t col0, int64_t n) {
      T state[kUnits];
      for (int64_t j = 0; j < n; ++j) state[j] = c0 ? c0[b * width + col0 + j] : T(0);
      const T sx = scaleX;
      for (int64_t step = 0; step < cfg.L; ++step) {
        const int64_t t = cfg.timeOf(step, col0);
        const int64_t row = cfg.at(t, b, col0);
        T* __restrict hs = h + row;
        T* __restrict cs = c + row;
        if (maskPad && maskPad[t * cfg.B + b] != 0) {
          for (int64_t j = 0; j < n; ++j) {
            cs[j] = state[j];
            hs[j] = T(0);
          }
          continue;
        }
        forwardUnits<T, K, skip, tanhAct>(U + row * K, skip == k::SruSkip::ScaledInput ? x + row : nullptr, weightC + col0,
                                          bias + col0, width, sx, state, hs, cs, n);
      }
      for (int64_t j = 0; j < n; ++j) cLast[b * width + col0 + j] = state[j];
    });
  });
}

template <typename T>
static void sruBackwardTyped(const k::SruConfig& cfg, const SruInputs& in, const T* c, const T* gh, const T* gcLast,
                             const SruGrads& out) {
  const T* U = static_cast<const T*>(in.U);
  const T* x = static_cast<const T*>(in.x);
  const T* weightC = static_cast<const T*>(in.weightC);
  const T* bias = static_cast<const T*>(in.bias);
  const T* c0 = static_cast<const T*>(in.c0);
  const int32_t* maskPad = in.maskPad;
  const T* gcAll = static_cast<const T*>(in.gcAll);
  T* gU = static_cast<T*>(out.gU);
  T* gx = static_cast<T*>(out.gx);
  T* gc0 = static_cast<T*>(out.gc0);
  const int64_t width = cfg.width(), params = 2 * width;
  const T scaleX = static_cast<T>(cfg.scaleX);
  // partial[b · 2·width + i]: batch b's terms of parameter i (forget cols, then reset cols).
  std::vector<double> partialV(static_cast<size_t>(cfg.B * params), 0.0);
  std::vector<double> partialB(static_cast<size_t>(cfg.B * params), 0.0);

  withSruVariant(cfg, x != nullptr, [&](auto Kc, auto skipC, auto tanhC) {
    constexpr int64_t K = decltype(Kc)::value;
    constexpr k::SruSkip skip = decltype(skipC)::value;
    constexpr bool tanhAct = decltype(tanhC)::value;
    forUnitRuns(cfg, [&](int64_t b, int64_t col0, int64_t n) {
      T carry[kUnits], ds[kUnits];
      const T zeros[kUnits] = {};
      double dvf[kUnits], dvr[kUnits], dbf[kUnits], dbr[kUnits];
      for (int64_t j = 0; j < n; ++j) {
        carry[j] = gcLast[b * width + col0 + j];
        dvf[j] = dvr[j] = dbf[j] = dbr[j] = 0.0;
      }
      const T* __restrict wc = weightC + col0;
      const T* __restrict bc = bias + col0;
      const T sx = scaleX;
      for (int64_t step = cfg.L - 1; step >= 0; --step) {
        const int64_t t = cfg.timeOf(step, col0);
        const int64_t row = cfg.at(t, b, col0);
        T* __restrict gus = gU + row * K;
        // The gradient of this step's state joins the carry (on a padded step too: its state is c_{t−1}).
        if (gcAll)
          for (int64_t j = 0; j < n; ++j) carry[j] += gcAll[row + j];
        if (maskPad && maskPad[t * cfg.B + b] != 0) {
          for (int64_t e = 0; e < n * K; ++e) gus[e] = T(0);
          if (gx)
            for (int64_t j = 0; j < n; ++j) gx[row + j] = T(0);
          continue;
        }
        // c_{t−1}: the state before this step in the walk's order, or c0 (zeros without one) at its start.
        const T* __restrict cPrev =
            step > 0 ? c + cfg.at(cfg.timeOf(step - 1, col0), b, col0) : (c0 ? c0 + b * width + col0 : zeros);
        const T* __restrict cs = c + row;
        const T* __restrict ghs = gh + row;
        const T* __restrict us = U + row * K;
        const T* __restrict xs = skip == k::SruSkip::ScaledInput ? x + row : nullptr;
        for (int64_t j = 0; j < n; ++j) {
          const T* u = us + j * K;
          const T cp = cPrev[j];
          const T s = k::sruSkipTerm(skip, u, skip == k::SruSkip::ScaledInput ? xs[j] : T(0), sx);
          const k::SruUnitParams<T> p = k::sruUnitParams(wc, bc, width, j);
          const k::SruStepGrads<T> g = k::sruBackwardStep(cp, cs[j], u[0], u[1], u[2], s, p, tanhAct, ghs[j], carry[j]);
          T* gu = gus + j * K;
          gu[0] = g.dxTilde;
          gu[1] = g.df;
          gu[2] = g.dr;
          if constexpr (K == 4) gu[3] = g.ds;
          ds[j] = g.ds;
          carry[j] = g.carry;
          dvf[j] += static_cast<double>(g.df) * static_cast<double>(cp);
          dvr[j] += static_cast<double>(g.dr) * static_cast<double>(cp);
          dbf[j] += static_cast<double>(g.df);
          dbr[j] += static_cast<double>(g.dr);
        }
        if (gx)
          for (int64_t j = 0; j < n; ++j) gx[row + j] = sx * ds[j];
      }
      double* pv = partialV.data() + b * params + col0;
      double* pb = partialB.data() + b * params + col0;
      for (int64_t j = 0; j < n; ++j) {
        gc0[b * width + col0 + j] = carry[j];
        pv[j] = dvf[j];
        pv[width + j] = dvr[j];
        pb[j] = dbf[j];
        pb[width + j] = dbr[j];
      }
    });
  });

  T* gW = static_cast<T*>(out.gWeightC);
  T* gB = static_cast<T*>(out.gBias);
  parallelFor(params, cfg.B * params, [&](int64_t i) {
    double sv = 0.0, sb = 0.0;
    for (int64_t b = 0; b < cfg.B; ++b) {
      sv += partialV[static_cast<size_t>(b * params + i)];
      sb += partialB[static_cast<size_t>(b * params + i)];
    }
    gW[i] = static_cast<T>(sv);
    gB[i] = static_cast<T>(sb);
  });
}

template <typename T>
static void sruDeerTyped(const k::SruConfig& cfg, const SruInputs& in, const T* c, T* F, T* J, T* bOff, T* h) {
  const int64_t n = cfg.L * cfg.chains();
  const T* U = static_cast<const T*>(in.U);
  const T* x = static_cast<const T*>(in.x);
  const T* weightC = static_cast<const T*>(in.weightC);
  const T* bias = static_cast<const T*>(in.bias);
  const T* c0 = static_cast<const T*>(in.c0);
  parallelFor(n, n * 8, [&](int64_t e) { k::sruDeerEntry(cfg, U, x, weightC, bias, c0, in.maskPad, c, e, F, J, bOff, h); });
}

void sruDeer(DType t, const k::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J, void* bOff,
             void* h) {
  switch (t) {
    case DType::Float32:
      return sruDeerTyped(cfg, in, static_cast<const float*>(c), static_cast<float*>(F), static_cast<float*>(J),
                          static_cast<float*>(bOff), static_cast<float*>(h));
    case DType::Float64:
      return sruDeerTyped(cfg, in, static_cast<const double*>(c), static_cast<double*>(F), static_cast<double*>(J),
                          static_cast<double*>(bOff), static_cast<double*>(h));
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU deer: dtype ", dtypeName(t), " is not supported");
}

void sruForward(DType t, const k::SruConfig& cfg, const SruInputs& in, void* h, void* c, void* cLast) {
  if (cfg.B <= 0 || cfg.d <= 0) return;
  switch (t) {
    case DType::Float32:
      return sruForwardTyped(cfg, static_cast<const float*>(in.U), static_cast<const float*>(in.x),
                             static_cast<const float*>(in.weightC), static_cast<const float*>(in.bias),
                             static_cast<const float*>(in.c0), in.maskPad, static_cast<float*>(h),
                             static_cast<float*>(c), static_cast<float*>(cLast));
    case DType::Float64:
      return sruForwardTyped(cfg, static_cast<const double*>(in.U), static_cast<const double*>(in.x),
                             static_cast<const double*>(in.weightC), static_cast<const double*>(in.bias),
                             static_cast<const double*>(in.c0), in.maskPad, static_cast<double*>(h),
                             static_cast<double*>(c), static_cast<double*>(cLast));
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU: dtype ", dtypeName(t), " is not supported");
}

void sruBackward(DType t, const k::SruConfig& cfg, const SruInputs& in, const void* c, const void* gh,
                 const void* gcLast, const SruGrads& out) {
  if (cfg.d <= 0) return;
  switch (t) {
    case DType::Float32:
      return sruBackwardTyped(cfg, in, static_cast<const float*>(c), static_cast<const float*>(gh),
                              static_cast<const float*>(gcLast), out);
    case DType::Float64:
      return sruBackwardTyped(cfg, in, static_cast<const double*>(c), static_cast<const double*>(gh),
                              static_cast<const double*>(gcLast), out);
    case DType::Int32: break;
  }
  fail(Code::Internal, "SRU backward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu::ANTLER_ISA_NS
