// The DEER cells on the CPU (math in kernels/cells.h).
//
// cellLinearize and the adjoint backward: every step (t, b) is independent,
// one OpenMP task per step walking its units.
// cellSequential: one task per batch element walks t = 0 … T−1, writing each
// step's state straight into y, which the next step reads as its previous state.
// cellBackward (walk): one task per batch element walks t = T−1 … 0 with the
// carry (∂f_{t+1}/∂y_t)ᵀ λ_{t+1} kept in its row of gy0, so that after t = 0
// gy0 holds (∂f_0/∂y0)ᵀ λ_0. Nothing is allocated.
#include "../core/error.h"
#include "../kernels/cells.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

// Multiply–adds of one step's hidden-hidden products, to size the parallel loops.
static int64_t stepWork(const k::CellConfig& cfg) { return cfg.G() * cfg.H; }

template <typename T>
struct CellPtrs {
  const T* xp;
  const T* Whh;
  const T* bhh;
  const T* y0;
  const T* y;
  explicit CellPtrs(const CellInputs& in)
      : xp(static_cast<const T*>(in.xp)), Whh(static_cast<const T*>(in.Whh)), bhh(static_cast<const T*>(in.bhh)),
        y0(static_cast<const T*>(in.y0)), y(static_cast<const T*>(in.y)) {}
};

template <typename T>
static void linearizeTyped(const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in, void* fv, void* Jv,
                           void* bv) {
  const CellPtrs<T> p(in);
  T* f = static_cast<T*>(fv);
  T* J = static_cast<T*>(Jv);
  T* bOff = static_cast<T*>(bv);
  const int64_t n = cfg.n(), steps = cfg.T * cfg.B;
  const int64_t jSize = jac == k::CellJacobian::Dense ? n * n : n;
  ANTLER_PARALLEL_FOR(steps * stepWork(cfg))
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t t = step / cfg.B, b = step % cfg.B;
    const T* prev = k::cellPrevState(cfg, p.y0, p.y, t, b);
    const T* xpStep = p.xp + cfg.gateAt(t, b);
    T* JStep = J ? J + step * jSize : nullptr;
    T* bStep = bOff ? bOff + step * n : nullptr;
    for (int64_t u = 0; u < cfg.H; ++u)
      k::cellLinearizeUnit(cfg, jac, xpStep, p.Whh, p.bhh, prev, u, f + step * n, JStep, bStep);
  }
}

template <typename T>
static void sequentialTyped(const k::CellConfig& cfg, const CellInputs& in, void* yv) {
  const CellPtrs<T> p(in);
  T* y = static_cast<T*>(yv);
  ANTLER_PARALLEL_FOR(cfg.T * cfg.B * stepWork(cfg))
  for (int64_t b = 0; b < cfg.B; ++b)
    for (int64_t t = 0; t < cfg.T; ++t) {
      const T* prev = k::cellPrevState<T>(cfg, p.y0, y, t, b);
      for (int64_t u = 0; u < cfg.H; ++u)
        k::cellLinearizeUnit<T>(cfg, k::CellJacobian::None, p.xp + cfg.gateAt(t, b), p.Whh, p.bhh, prev, u,
                                y + cfg.stateAt(t, b), nullptr, nullptr);
    }
}

// One step (t, b) of the backward: gxp, ghh from λ = g (+ carry), then the
// carry of the previous state into `carry` (which may be the carry that was read).
template <typename T>
static void backwardStep(const k::CellConfig& cfg, const CellPtrs<T>& p, const T* g, int64_t t, int64_t b,
                         const T* carryIn, T* gxp, T* ghh, T* carryOut) {
  const T* prev = k::cellPrevState(cfg, p.y0, p.y, t, b);
  const T* xpStep = p.xp + cfg.gateAt(t, b);
  const T* gStep = g + cfg.stateAt(t, b);
  T* gxpStep = gxp + cfg.gateAt(t, b);
  T* ghhStep = ghh + cfg.gateAt(t, b);
  for (int64_t u = 0; u < cfg.H; ++u) {
    T lam[k::kCellMaxRows];
    k::cellUnitLambda(cfg, gStep, carryIn, u, lam);
    const T direct = k::cellBackwardUnit(cfg, xpStep, p.Whh, p.bhh, prev, lam, u, gxpStep, ghhStep);
    if (carryOut) k::cellSeedCarry(cfg, carryOut, u, direct);
  }
  if (carryOut)
    for (int64_t u = 0; u < cfg.H; ++u) k::cellAddHhCarry(cfg, p.Whh, ghhStep, carryOut, u);
}

template <typename T>
static void backwardTyped(const k::CellConfig& cfg, const CellInputs& in, const void* gv, bool adjoint, void* gxpv,
                          void* ghhv, void* gy0v) {
  const CellPtrs<T> p(in);
  const T* g = static_cast<const T*>(gv);
  T* gxp = static_cast<T*>(gxpv);
  T* ghh = static_cast<T*>(ghhv);
  T* gy0 = static_cast<T*>(gy0v);
  const int64_t n = cfg.n();
  if (!adjoint) {
    ANTLER_PARALLEL_FOR(cfg.T * cfg.B * stepWork(cfg))
    for (int64_t b = 0; b < cfg.B; ++b) {
      T* carry = gy0 + b * n;
      for (int64_t s = 0; s < n; ++s) carry[s] = T(0);
      for (int64_t t = cfg.T - 1; t >= 0; --t) backwardStep(cfg, p, g, t, b, carry, gxp, ghh, carry);
    }
    return;
  }
  // λ is given: every step is independent; only t = 0 feeds gy0.
  const int64_t steps = cfg.T * cfg.B;
  ANTLER_PARALLEL_FOR(steps * stepWork(cfg))
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t t = step / cfg.B, b = step % cfg.B;
    backwardStep<T>(cfg, p, g, t, b, nullptr, gxp, ghh, t == 0 ? gy0 + b * n : nullptr);
  }
}

void cellLinearize(DType t, const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in, void* f, void* J,
                   void* bOff) {
  switch (t) {
    case DType::Float32: return linearizeTyped<float>(cfg, jac, in, f, J, bOff);
    case DType::Float64: return linearizeTyped<double>(cfg, jac, in, f, J, bOff);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell linearize: dtype ", dtypeName(t), " is not supported");
}

void cellSequential(DType t, const k::CellConfig& cfg, const CellInputs& in, void* y) {
  switch (t) {
    case DType::Float32: return sequentialTyped<float>(cfg, in, y);
    case DType::Float64: return sequentialTyped<double>(cfg, in, y);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell: dtype ", dtypeName(t), " is not supported");
}

void cellBackward(DType t, const k::CellConfig& cfg, const CellInputs& in, const void* g, bool adjoint, void* gxp,
                  void* ghh, void* gy0) {
  switch (t) {
    case DType::Float32: return backwardTyped<float>(cfg, in, g, adjoint, gxp, ghh, gy0);
    case DType::Float64: return backwardTyped<double>(cfg, in, g, adjoint, gxp, ghh, gy0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell backward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
