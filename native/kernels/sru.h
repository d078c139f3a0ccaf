// The SRU recurrence (Lei et al. 2017), one step of one chain, shared by
// cpu/sru.cpp and cuda/sru.cu. A chain is one (batch b, direction, unit j);
// chains are independent, and each walks its direction's time order:
//
//   f_t = σ(U_f + v_f c_{t−1} + b_f)
//   r_t = σ(U_r + v_r c_{t−1} + b_r)
//   c_t = f_t c_{t−1} + (1 − f_t) U_x̃
//   h_t = r_t g(c_t) + (1 − r_t) s_t        g = identity or tanh
//
// Layouts (col = dir·d + j, width = dirs·d):
//   U       [L, B, width·k]  column col·k + m, m ∈ {0: x̃, 1: f, 2: r, 3: x'}
//   x, h, c [L, B, width]    c holds the state after every step
//   c0, cLast, gc0  [B, width]
//   weight_c, bias  [2·width] = [forget for every col | reset for every col]
//   maskPad int32 [L, B], nonzero = padded: c carried, h = 0, no gradient
// The backward direction (dir = 1) walks t from L−1 down to 0.
#pragma once
#include <cstdint>

#include "hd.h"
#include "unary.h"

namespace antler::kernels {

// Where the skip term s_t comes from.
enum class SruSkip : int {
  None = 0,         // s = 0
  ScaledInput = 1,  // k = 3: s = scaleX · x[t, b, col]
  Projection = 2,   // k = 4: s = U[t, b, col·k + 3]
};

// Sizes and options of one layer; validated by core/sru.cpp.
struct SruConfig {
  int64_t L = 0, B = 0, d = 0;
  int64_t dirs = 1;   // 1 or 2
  int64_t k = 3;      // 3 or 4 columns of U per unit
  SruSkip skip = SruSkip::None;
  double scaleX = 1.0;
  bool tanhActivation = false;

  ANTLER_HD int64_t width() const { return dirs * d; }
  ANTLER_HD int64_t chains() const { return B * dirs * d; }
  // Time index of the walk's `step`-th step for the direction of column col.
  ANTLER_HD int64_t timeOf(int64_t step, int64_t col) const { return col >= d ? L - 1 - step : step; }
  // Offset of (t, b, col) in x, h and c; U's columns for it start at k times this.
  ANTLER_HD int64_t at(int64_t t, int64_t b, int64_t col) const { return (t * B + b) * width() + col; }
};

// The four per-chain parameters: weight_c and bias, forget then reset.
template <typename T>
struct SruUnitParams {
  T vf, vr, bf, br;
};

template <typename T>
ANTLER_HD_ALWAYS_INLINE SruUnitParams<T> sruUnitParams(const T* weightC, const T* bias, int64_t width, int64_t col) {
  return {weightC[col], weightC[width + col], bias[col], bias[width + col]};
}

template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruSigmoid(T z) { return T(1) / (T(1) + unary_math::exp_(-z)); }

// s_t from the step's U columns u and its skip input xs (read only for ScaledInput).
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruSkipTerm(SruSkip skip, const T* u, T xs, T scaleX) {
  switch (skip) {
    case SruSkip::ScaledInput: return scaleX * xs;
    case SruSkip::Projection: return u[3];
    case SruSkip::None: break;
  }
  return T(0);
}

// The gates from c_{t−1} (the SRU's only dependence on the previous state
// besides c itself), the state update and the output, each written once and
// used by the forward, the DEER pass and the backward.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruForget(T cPrev, T uf, const SruUnitParams<T>& p) { return sruSigmoid(uf + p.vf * cPrev + p.bf); }
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruReset(T cPrev, T ur, const SruUnitParams<T>& p) { return sruSigmoid(ur + p.vr * cPrev + p.br); }
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruStateUpdate(T cPrev, T xTilde, T f) { return f * cPrev + (T(1) - f) * xTilde; }
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruActivation(T c, bool tanhAct) { return tanhAct ? unary_math::tanh_(c) : c; }
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruOutput(T r, T g, T s) { return r * g + (T(1) - r) * s; }

// One forward step from c_{t−1}: returns c_t and writes h_t.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruForwardStep(T cPrev, T xTilde, T uf, T ur, T s, const SruUnitParams<T>& p, bool tanhAct, T& h) {
  const T c = sruStateUpdate(cPrev, xTilde, sruForget(cPrev, uf, p));
  h = sruOutput(sruReset(cPrev, ur, p), sruActivation(c, tanhAct), s);
  return c;
}

// DEER for SRU (lib/sru/deer.ts): every step of every chain at once, given a
// guess c for all states.
//
// The linearization works in the scan layout [L, dirs·B, d]: entry (s, dir·B + b, j)
// is step s of direction dir's own walk (time s forward, L − 1 − s backward)
// for unit j, so the Newton step is one diagonal deer.scan over time for both
// directions (no flips or copies). Its previous state is the entry one step
// before it, or c0 (zeros when null) at s = 0. For dirs = 1 the scan layout is
// the natural [L, B, d].
//
// The output pass works in the natural layout [L, B, dirs·d], where the
// previous state of (t, b, col) is that of the step before it in its
// direction's walk.
template <typename T>
ANTLER_HD T sruPrevState(const SruConfig& cfg, const T* c0, const T* c, int64_t t, int64_t b, int64_t col) {
  const bool reverse = col >= cfg.d;
  const bool first = reverse ? t == cfg.L - 1 : t == 0;
  if (first) return c0 ? c0[b * cfg.width() + col] : T(0);
  return c[cfg.at(reverse ? t + 1 : t - 1, b, col)];
}

// The state step c_t = F(c_{t−1}) = f c_{t−1} + (1 − f) x̃ and its derivative
// J = ∂c_t/∂c_{t−1} = f + (c_{t−1} − x̃) f (1 − f) v_f (the Jacobian of the
// whole state is diagonal). A padded step carries c: F = c_{t−1}, J = 1.
template <typename T>
struct SruStateLinear {
  T c, J;
};

template <typename T>
ANTLER_HD_ALWAYS_INLINE SruStateLinear<T> sruStateLinearize(T cPrev, T xTilde, T uf, const SruUnitParams<T>& p, bool padded) {
  if (padded) return {cPrev, T(1)};
  const T f = sruForget(cPrev, uf, p);
  return {sruStateUpdate(cPrev, xTilde, f), f + (cPrev - xTilde) * (f * (T(1) - f)) * p.vf};
}

// h_t from the states around it: r from c_{t−1}, g(c_t), the skip term; 0 when padded.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T sruOutputStep(T cPrev, T c, T ur, T s, const SruUnitParams<T>& p, bool tanhAct, bool padded) {
  if (padded) return T(0);
  return sruOutput(sruReset(cPrev, ur, p), sruActivation(c, tanhAct), s);
}

// One entry e of the linearization, in the scan layout: F, J and bOff = F − J c_{t−1}.
template <typename T>
ANTLER_HD void sruDeerLinearizeEntry(const SruConfig& cfg, const T* U, const T* weightC, const T* bias, const T* c0,
                                     const int32_t* maskPad, const T* c, int64_t e, T* F, T* J, T* bOff) {
  const int64_t j = e % cfg.d, row = e / cfg.d, b = row % cfg.B, sd = row / cfg.B;
  const int64_t dir = sd % cfg.dirs, s = sd / cfg.dirs;
  const int64_t col = dir * cfg.d + j, t = dir ? cfg.L - 1 - s : s;
  const bool padded = maskPad && maskPad[t * cfg.B + b] != 0;
  const T cPrev = s > 0 ? c[e - cfg.chains()] : (c0 ? c0[b * cfg.width() + col] : T(0));
  const T* u = U + cfg.at(t, b, col) * cfg.k;
  const SruStateLinear<T> l = sruStateLinearize(cPrev, u[0], u[1], sruUnitParams(weightC, bias, cfg.width(), col), padded);
  F[e] = l.c;
  J[e] = l.J;
  bOff[e] = l.c - l.J * cPrev;
}

// One entry e = (t·B + b)·width + col of the output pass, in the natural layout: h.
template <typename T>
ANTLER_HD void sruDeerOutputEntry(const SruConfig& cfg, const T* U, const T* x, const T* weightC, const T* bias,
                                  const T* c0, const int32_t* maskPad, const T* c, int64_t e, T* h) {
  const int64_t width = cfg.width();
  const int64_t col = e % width, tb = e / width, b = tb % cfg.B, t = tb / cfg.B;
  const bool padded = maskPad && maskPad[t * cfg.B + b] != 0;
  const T* u = U + e * cfg.k;
  const T s = sruSkipTerm(cfg.skip, u, x ? x[e] : T(0), static_cast<T>(cfg.scaleX));
  h[e] = sruOutputStep(sruPrevState(cfg, c0, c, t, b, col), c[e], u[2], s, sruUnitParams(weightC, bias, width, col),
                       cfg.tanhActivation, padded);
}

// One entry of the DEER pass: the linearization (J not null) or the output.
template <typename T>
ANTLER_HD void sruDeerEntry(const SruConfig& cfg, const T* U, const T* x, const T* weightC, const T* bias,
                            const T* c0, const int32_t* maskPad, const T* c, int64_t e, T* F, T* J, T* bOff, T* h) {
  if (J) sruDeerLinearizeEntry(cfg, U, weightC, bias, c0, maskPad, c, e, F, J, bOff);
  else sruDeerOutputEntry(cfg, U, x, weightC, bias, c0, maskPad, c, e, h);
}

// Gradients of one step (df, dr are with respect to the pre-activations
// f̂ = U_f + v_f c_{t−1} + b_f and r̂), and the carry ∂loss/∂c_{t−1}.
template <typename T>
struct SruStepGrads {
  T dxTilde, df, dr, ds, carry;
};

// One backward step, recomputing f and r from c_{t−1} and U. gh is ∂loss/∂h_t,
// carry is ∂loss/∂c_t from the later steps (and cLast):
//   dr̂ = gh (g(c) − s) r (1 − r);   dc = gh r g'(c) + carry
//   df̂ = dc (c_{t−1} − x̃) f (1 − f);  dx̃ = dc (1 − f);  ds = gh (1 − r)
//   carry ← dc f + df̂ v_f + dr̂ v_r
template <typename T>
ANTLER_HD_ALWAYS_INLINE SruStepGrads<T> sruBackwardStep(T cPrev, T c, T xTilde, T uf, T ur, T s, const SruUnitParams<T>& p,
                                          bool tanhAct, T gh, T carry) {
  const T f = sruForget(cPrev, uf, p);
  const T r = sruReset(cPrev, ur, p);
  const T g = sruActivation(c, tanhAct);
  const T gPrime = tanhAct ? T(1) - g * g : T(1);
  SruStepGrads<T> out;
  out.dr = gh * (g - s) * (r * (T(1) - r));
  const T dc = gh * r * gPrime + carry;
  out.df = dc * (cPrev - xTilde) * (f * (T(1) - f));
  out.dxTilde = dc * (T(1) - f);
  out.ds = gh * (T(1) - r);
  out.carry = dc * f + out.df * p.vf + out.dr * p.vr;
  return out;
}

}  // namespace antler::kernels
