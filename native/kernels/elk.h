// One ELK step (Gonzalez et al. 2024) with the diagonal Jacobian (quasi-ELK),
// shared by cpu/elk.cpp and cuda/elk.cu. Every chain (batch b, state entry i)
// is independent. Given the iterate ŷ, the linearisation y_t ≈ a_t y_{t−1} + u_t
// (a = diag J, u = f − a ŷ_{t−1}) and the damping λ_b ≥ 0, the step solves the
// Levenberg–Marquardt problem
//
//   min_y  Σ_t (y_t − a_t y_{t−1} − u_t)² + λ Σ_t (y_t − ŷ_t)²,   y_{−1} = y0 (fixed)
//
// which is the smoothing problem of the linear-Gaussian state-space model
// y_t = a_t y_{t−1} + u_t + w_t (w ~ N(0, 1)), observed as ŷ_t = y_t + v_t
// (v ~ N(0, 1/λ)). Its mean is a Kalman filter and a Rauch–Tung–Striebel
// smoother, both written as associative scans so the GPU runs them in
// parallel over time (Särkkä & García-Fernández 2021, "Temporal
// parallelization of Bayesian smoothers"):
//
// Filter. Step t is the element (A, b, C, η, J) with, for observation noise
// R = 1/λ and process noise 1 (so S = 1 + 1/λ, K = λ/(1+λ)):
//   A = a/(1+λ)  b = (u + λŷ)/(1+λ)  C = 1/(1+λ)  η = aλ(ŷ − u)/(1+λ)  J = a²λ/(1+λ)
// and at t = 0, where the previous state y0 is known exactly,
//   A = 0  b = (a·y0 + u + λŷ)/(1+λ)  C = 1/(1+λ)  η = J = 0.
// Combining an earlier element e with a later one l (D = 1 + C_e J_l):
//   A = A_l A_e / D                    b = A_l (b_e + C_e η_l)/D + b_l
//   C = A_l² C_e / D + C_l             η = A_e (η_l − J_l b_e)/D + η_e
//   J = A_e² J_l / D + J_e
// The prefix e_0 ⊗ … ⊗ e_t holds the filtered mean m_t in b and variance P_t
// in C. The identity is (1, 0, 0, 0, 0). D ≥ 1 and C, J ≥ 0 throughout, so the
// combine never divides by a small number.
//
// Smoother. s_{T−1} = m_{T−1}; s_t = G_t s_{t+1} + (m_t − G_t (a_{t+1} m_t + u_{t+1}))
// with G_t = P_t a_{t+1} / (a_{t+1}² P_t + 1): a linear recurrence in reverse
// time, scanned as pairs (E, g) meaning s ↦ E s + g.
//
// λ = 0 gives A = a, b = u, C = 1, η = J = 0 and G = 0: the filter is then the
// quasi-DEER scan itself and the smoother changes nothing.
//
// Layouts: a, u, ŷ, m, P, y [T, B, n]; y0 [B, n]; lambda [B]. Chain
// c = b·n + i sits at offset t·B·n + c of step t.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

struct ElkConfig {
  int64_t T = 0, B = 0, n = 0;
  bool dense = false;  // a is the dense Jacobian [T, B, n, n] (elk_dense.h)
  ANTLER_HD int64_t chains() const { return B * n; }
  ANTLER_HD int64_t at(int64_t t, int64_t chain) const { return t * B * n + chain; }
};

template <typename T>
struct ElkInputs {
  const T* a = nullptr;       // diagonal Jacobian
  const T* u = nullptr;       // offset f − a·ŷ_{t−1}
  const T* yhat = nullptr;    // the current iterate
  const T* y0 = nullptr;      // the fixed previous state of step 0
  const T* lambda = nullptr;  // damping per batch element
};

// The filter's scan element; the default is the identity.
template <typename T>
struct KalmanElement {
  T A = T(1), b = T(0), C = T(0), eta = T(0), J = T(0);
};

// earlier ⊗ later.
template <typename T>
ANTLER_HD KalmanElement<T> kalmanCombine(const KalmanElement<T>& e, const KalmanElement<T>& l) {
  const T inv = T(1) / (T(1) + e.C * l.J);
  KalmanElement<T> r;
  r.A = l.A * e.A * inv;
  r.b = l.A * (e.b + e.C * l.eta) * inv + l.b;
  r.C = l.A * l.A * e.C * inv + l.C;
  r.eta = e.A * (l.eta - l.J * e.b) * inv + e.eta;
  r.J = e.A * e.A * l.J * inv + e.J;
  return r;
}

// The element of step t of chain c.
template <typename T>
ANTLER_HD KalmanElement<T> elkFilterElement(const ElkConfig& cfg, const ElkInputs<T>& in, int64_t t, int64_t c) {
  const int64_t at = cfg.at(t, c);
  const T a = in.a[at], u = in.u[at], yh = in.yhat[at], lam = in.lambda[c / cfg.n];
  const T k = T(1) / (T(1) + lam);
  KalmanElement<T> e;
  e.C = k;
  if (t == 0) {
    e.A = T(0);
    e.b = (a * in.y0[c] + u + lam * yh) * k;
    e.eta = e.J = T(0);
  } else {
    e.A = a * k;
    e.b = (u + lam * yh) * k;
    e.eta = a * lam * (yh - u) * k;
    e.J = a * a * lam * k;
  }
  return e;
}

// Folds steps t0 … t1−1 of chain c onto acc (the prefix of the steps before
// t0) and returns the result. With m and P not null, writes every step's
// filtered mean and variance (the running prefix's b and C).
template <typename T>
ANTLER_HD KalmanElement<T> elkFilterFold(const ElkConfig& cfg, const ElkInputs<T>& in, int64_t c, int64_t t0,
                                         int64_t t1, KalmanElement<T> acc, T* m, T* P) {
  for (int64_t t = t0; t < t1; ++t) {
    acc = kalmanCombine(acc, elkFilterElement(cfg, in, t, c));
    if (m) {
      const int64_t at = cfg.at(t, c);
      m[at] = acc.b;
      P[at] = acc.C;
    }
  }
  return acc;
}

// The smoother's pair (E, g) of step t: s_t = E s_{t+1} + g, from the filtered m and P.
template <typename T>
struct SmootherStep {
  T E, g;
};

template <typename T>
ANTLER_HD SmootherStep<T> elkSmootherStep(const ElkConfig& cfg, const ElkInputs<T>& in, const T* m, const T* P,
                                          int64_t t, int64_t c) {
  const int64_t at = cfg.at(t, c);
  if (t == cfg.T - 1) return {T(0), m[at]};
  const int64_t next = cfg.at(t + 1, c);
  const T a = in.a[next], p = P[at], mt = m[at];
  const T G = p * a / (a * a * p + T(1));
  return {G, mt - G * (a * mt + in.u[next])};
}

// Folds steps t1−1 down to t0 of chain c onto acc (the map from s_{t1} to
// s_{t1−1}… composed so far, identity (1, 0) at the start): the map from s_{t1}
// to s_{t0}.
template <typename T>
ANTLER_HD SmootherStep<T> elkSmootherCompose(const ElkConfig& cfg, const ElkInputs<T>& in, const T* m, const T* P,
                                             int64_t c, int64_t t0, int64_t t1, SmootherStep<T> acc) {
  for (int64_t t = t1 - 1; t >= t0; --t) {
    const SmootherStep<T> s = elkSmootherStep(cfg, in, m, P, t, c);
    acc = {s.E * acc.E, s.E * acc.g + s.g};
  }
  return acc;
}

// Walks steps t1−1 down to t0 of chain c from sNext = s_{t1} (unused when
// t1 = T), writing s_t into y. y may be m itself: step t reads m_t before it
// writes s_t, and reads no other step's m.
template <typename T>
ANTLER_HD void elkSmootherWalk(const ElkConfig& cfg, const ElkInputs<T>& in, const T* m, const T* P, int64_t c,
                               int64_t t0, int64_t t1, T sNext, T* y) {
  for (int64_t t = t1 - 1; t >= t0; --t) {
    const SmootherStep<T> s = elkSmootherStep(cfg, in, m, P, t, c);
    sNext = s.E * sNext + s.g;
    y[cfg.at(t, c)] = sNext;
  }
}

}  // namespace antler::kernels
