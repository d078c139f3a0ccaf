// The fused SRU recurrence on the CPU (math in kernels/sru.h). A task is a run
// of at most kUnits neighbouring units of one (batch, direction): it walks
// time in its direction's order, and at each step its inner loop runs over
// contiguous units, so h, c and gh rows are read and written as runs.
//
// Backward: gWeightC and gBias are sums over t and batch. Each task sums its
// units' terms over t in double into its own slots of a [B, 2·dirs·d]
// scratch, then one loop adds the batches in order b = 0, 1, …: the result
// depends on the shapes alone, never on the thread count or the schedule.
#include <vector>

#include "../core/error.h"
#include "../kernels/sru.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

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

template <typename T>
static void sruForwardTyped(const k::SruConfig& cfg, const T* U, const T* x, const T* weightC, const T* bias,
                            const T* c0, const int32_t* maskPad, T* h, T* c, T* cLast) {
  const int64_t width = cfg.width(), kk = cfg.k;
  const T scaleX = static_cast<T>(cfg.scaleX);
  forUnitRuns(cfg, [&](int64_t b, int64_t col0, int64_t n) {
    T state[kUnits];
    for (int64_t j = 0; j < n; ++j) state[j] = c0 ? c0[b * width + col0 + j] : T(0);
    for (int64_t step = 0; step < cfg.L; ++step) {
      const int64_t t = cfg.timeOf(step, col0);
      const int64_t row = cfg.at(t, b, col0);
      T* hs = h + row;
      T* cs = c + row;
      if (maskPad && maskPad[t * cfg.B + b] != 0) {
        for (int64_t j = 0; j < n; ++j) {
          cs[j] = state[j];
          hs[j] = T(0);
        }
        continue;
      }
      const T* us = U + row * kk;
      const T* xs = x ? x + row : nullptr;
      for (int64_t j = 0; j < n; ++j) {
        const T* u = us + j * kk;
        const T s = k::sruSkipTerm(cfg.skip, u, xs ? xs[j] : T(0), scaleX);
        const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col0 + j);
        state[j] = k::sruForwardStep(state[j], u[0], u[1], u[2], s, p, cfg.tanhActivation, hs[j]);
        cs[j] = state[j];
      }
    }
    for (int64_t j = 0; j < n; ++j) cLast[b * width + col0 + j] = state[j];
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
  T* gU = static_cast<T*>(out.gU);
  T* gx = static_cast<T*>(out.gx);
  T* gc0 = static_cast<T*>(out.gc0);
  const int64_t width = cfg.width(), kk = cfg.k, params = 2 * width;
  const T scaleX = static_cast<T>(cfg.scaleX);
  // partial[b · 2·width + i]: batch b's terms of parameter i (forget cols, then reset cols).
  std::vector<double> partialV(static_cast<size_t>(cfg.B * params), 0.0);
  std::vector<double> partialB(static_cast<size_t>(cfg.B * params), 0.0);

  forUnitRuns(cfg, [&](int64_t b, int64_t col0, int64_t n) {
    T carry[kUnits];
    double dvf[kUnits], dvr[kUnits], dbf[kUnits], dbr[kUnits];
    for (int64_t j = 0; j < n; ++j) {
      carry[j] = gcLast[b * width + col0 + j];
      dvf[j] = dvr[j] = dbf[j] = dbr[j] = 0.0;
    }
    for (int64_t step = cfg.L - 1; step >= 0; --step) {
      const int64_t t = cfg.timeOf(step, col0);
      const int64_t row = cfg.at(t, b, col0);
      T* gus = gU + row * kk;
      if (maskPad && maskPad[t * cfg.B + b] != 0) {
        for (int64_t e = 0; e < n * kk; ++e) gus[e] = T(0);
        if (gx)
          for (int64_t j = 0; j < n; ++j) gx[row + j] = T(0);
        continue;
      }
      // c_{t−1}: the state before this step in the walk's order, or c0 at its start.
      const T* cPrev = step > 0 ? c + cfg.at(cfg.timeOf(step - 1, col0), b, col0) : (c0 ? c0 + b * width + col0 : nullptr);
      const T* us = U + row * kk;
      const T* xs = x ? x + row : nullptr;
      for (int64_t j = 0; j < n; ++j) {
        const T* u = us + j * kk;
        const T cp = cPrev ? cPrev[j] : T(0);
        const T s = k::sruSkipTerm(cfg.skip, u, xs ? xs[j] : T(0), scaleX);
        const k::SruUnitParams<T> p = k::sruUnitParams(weightC, bias, width, col0 + j);
        const k::SruStepGrads<T> g =
            k::sruBackwardStep(cp, c[row + j], u[0], u[1], u[2], s, p, cfg.tanhActivation, gh[row + j], carry[j]);
        T* gu = gus + j * kk;
        gu[0] = g.dxTilde;
        gu[1] = g.df;
        gu[2] = g.dr;
        if (kk == 4) gu[3] = g.ds;
        if (gx) gx[row + j] = scaleX * g.ds;
        carry[j] = g.carry;
        dvf[j] += static_cast<double>(g.df) * static_cast<double>(cp);
        dvr[j] += static_cast<double>(g.dr) * static_cast<double>(cp);
        dbf[j] += static_cast<double>(g.df);
        dbr[j] += static_cast<double>(g.dr);
      }
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

}  // namespace antler::cpu
