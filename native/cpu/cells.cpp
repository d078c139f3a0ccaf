// The DEER cells on the CPU (math in kernels/cells.h).
//
// cellLinearize and the adjoint backward: every step (t, b) is independent,
// one OpenMP task per step walking its units.
// cellSequential: one task per batch element walks t = 0 … T−1, writing each
// step's state straight into y, which the next step reads as its previous state.
// cellBackward (walk): one task per batch element walks t = T−1 … 0 with the
// carry (∂f_{t+1}/∂y_t)ᵀ λ_{t+1} kept in its row of gy0, so that after t = 0
// gy0 holds (∂f_0/∂y0)ᵀ λ_0.
// From kGemmMinHidden units on, the products with Whh are GEMMs instead: the
// walks go step by step over the whole batch, the all-steps passes in blocks.
#include <vector>

#include "../core/error.h"
#include "../kernels/cells.h"
#include "gemm.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

// Multiply–adds of one step's hidden-hidden products, to size the parallel loops.
static int64_t stepWork(const k::CellConfig& cfg) { return cfg.G() * cfg.H; }

// From this hidden size on, the products Whh·h go through GEMM (OpenBLAS when
// present): the walks make one [B, H]×[H, G] product per step (and one
// [B, G]×[G, H] for the backward carry), the all-steps passes one per block of
// kGemmRows steps. Below it the units' own dot products are as fast.
constexpr int64_t kGemmMinHidden = 32;
constexpr int64_t kGemmRows = 4096;
static bool useGemm(const k::CellConfig& cfg) { return cfg.H >= kGemmMinHidden; }

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

// wh [rows, G] = (Whh · h_r) for rows previous states, h_r the first H entries
// of prevOf(r): the h parts are packed into hbuf [rows, H], then one GEMM.
template <typename T, typename PrevOf>
static void hiddenProducts(const k::CellConfig& cfg, const T* Whh, int64_t rows, PrevOf prevOf, std::vector<T>& hbuf,
                           T* wh) {
  const int64_t H = cfg.H;
  hbuf.resize(static_cast<size_t>(rows * H));
  T* packed = hbuf.data();
  for (int64_t r = 0; r < rows; ++r) {
    const T* h = prevOf(r);
    for (int64_t j = 0; j < H; ++j) packed[r * H + j] = h[j];
  }
  gemm<T>(packed, Whh, wh, rows, cfg.G(), H, false, true);
}

// Calls body(step0, rows, whBlock) over blocks of at most kGemmRows steps
// (step = t·B + b), whBlock [rows, G] holding every step's Whh·h_{t−1}; or once
// with the whole range and null when the units compute their own products.
template <typename T, typename Body>
static void forStepBlocks(const k::CellConfig& cfg, const CellPtrs<T>& p, Body body) {
  const int64_t steps = cfg.T * cfg.B;
  if (!useGemm(cfg)) return body(int64_t(0), steps, static_cast<const T*>(nullptr));
  std::vector<T> hbuf, wh;
  for (int64_t s0 = 0; s0 < steps; s0 += kGemmRows) {
    const int64_t rows = steps - s0 < kGemmRows ? steps - s0 : kGemmRows;
    wh.resize(static_cast<size_t>(rows * cfg.G()));
    hiddenProducts<T>(cfg, p.Whh, rows, [&](int64_t r) {
      const int64_t step = s0 + r;
      return k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B);
    }, hbuf, wh.data());
    body(s0, rows, static_cast<const T*>(wh.data()));
  }
}

template <typename T>
static void linearizeTyped(const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in, void* fv, void* Jv,
                           void* bv) {
  const CellPtrs<T> p(in);
  T* f = static_cast<T*>(fv);
  T* J = static_cast<T*>(Jv);
  T* bOff = static_cast<T*>(bv);
  const int64_t n = cfg.n(), G = cfg.G();
  const int64_t jSize = jac == k::CellJacobian::Dense ? n * n : n;
  forStepBlocks<T>(cfg, p, [&](int64_t s0, int64_t rows, const T* wh) {
    parallelFor(rows, rows * stepWork(cfg), [&](int64_t r) {
      const int64_t step = s0 + r, t = step / cfg.B, b = step % cfg.B;
      const T* prev = k::cellPrevState(cfg, p.y0, p.y, t, b);
      const T* xpStep = p.xp + cfg.gateAt(t, b);
      T* JStep = J ? J + step * jSize : nullptr;
      T* bStep = bOff ? bOff + step * n : nullptr;
      for (int64_t u = 0; u < cfg.H; ++u)
        k::cellLinearizeUnit(cfg, jac, xpStep, p.Whh, p.bhh, prev, u, f + step * n, JStep, bStep,
                             wh ? wh + r * G : nullptr);
    });
  });
}

template <typename T>
static void sequentialTyped(const k::CellConfig& cfg, const CellInputs& in, void* yv) {
  const CellPtrs<T> p(in);
  T* y = static_cast<T*>(yv);
  if (!useGemm(cfg)) {
    parallelFor(cfg.B, cfg.T * cfg.B * stepWork(cfg), [&](int64_t b) {
      for (int64_t t = 0; t < cfg.T; ++t) {
        const T* prev = k::cellPrevState<T>(cfg, p.y0, y, t, b);
        for (int64_t u = 0; u < cfg.H; ++u)
          k::cellLinearizeUnit<T>(cfg, k::CellJacobian::None, p.xp + cfg.gateAt(t, b), p.Whh, p.bhh, prev, u,
                                  y + cfg.stateAt(t, b), nullptr, nullptr);
      }
    });
    return;
  }
  // Step by step over the whole batch: one GEMM for Whh·h_{t−1}, then the units.
  const int64_t G = cfg.G();
  std::vector<T> hbuf, wh(static_cast<size_t>(cfg.B * G));
  for (int64_t t = 0; t < cfg.T; ++t) {
    hiddenProducts<T>(cfg, p.Whh, cfg.B, [&](int64_t b) { return k::cellPrevState<T>(cfg, p.y0, y, t, b); }, hbuf,
                      wh.data());
    // The units run serially: OpenMP threads spinning after a parallel region here slowed OpenBLAS's
    // threads in the next step's GEMM (LSTM H = 512, B = 32: the walk took 603 ms with a parallel
    // unit loop, 350 ms serial, on 2 cores).
    for (int64_t b = 0; b < cfg.B; ++b) {
      const T* prev = k::cellPrevState<T>(cfg, p.y0, y, t, b);
      for (int64_t u = 0; u < cfg.H; ++u)
        k::cellLinearizeUnit<T>(cfg, k::CellJacobian::None, p.xp + cfg.gateAt(t, b), p.Whh, p.bhh, prev, u,
                                y + cfg.stateAt(t, b), nullptr, nullptr, wh.data() + b * G);
    }
  }
}

// One step (t, b) of the backward: gxp, ghh from λ = g (+ carry), then, with
// carryOut, the direct part of the previous state's carry; the hh part
// (Whhᵀ·ghh) follows too when hhCarry is set. carryOut may be the carry that was read.
template <typename T>
static void backwardStep(const k::CellConfig& cfg, const CellPtrs<T>& p, const T* g, int64_t t, int64_t b,
                         const T* carryIn, T* gxp, T* ghh, T* carryOut, const T* whStep, bool hhCarry) {
  const T* prev = k::cellPrevState(cfg, p.y0, p.y, t, b);
  const T* xpStep = p.xp + cfg.gateAt(t, b);
  const T* gStep = g + cfg.stateAt(t, b);
  T* gxpStep = gxp + cfg.gateAt(t, b);
  T* ghhStep = ghh + cfg.gateAt(t, b);
  for (int64_t u = 0; u < cfg.H; ++u) {
    T lam[k::kCellMaxRows];
    k::cellUnitLambda(cfg, gStep, carryIn, u, lam);
    const T direct = k::cellBackwardUnit(cfg, xpStep, p.Whh, p.bhh, prev, lam, u, gxpStep, ghhStep, whStep);
    if (carryOut) k::cellSeedCarry(cfg, carryOut, u, direct);
  }
  if (carryOut && hhCarry)
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
  const int64_t n = cfg.n(), G = cfg.G(), H = cfg.H;
  if (adjoint) {
    // λ is given: every step is independent; only t = 0 feeds gy0.
    forStepBlocks<T>(cfg, p, [&](int64_t s0, int64_t rows, const T* wh) {
      parallelFor(rows, rows * stepWork(cfg), [&](int64_t r) {
        const int64_t step = s0 + r, t = step / cfg.B, b = step % cfg.B;
        backwardStep<T>(cfg, p, g, t, b, nullptr, gxp, ghh, t == 0 ? gy0 + b * n : nullptr, wh ? wh + r * G : nullptr,
                        true);
      });
    });
    return;
  }
  // The walk t = T−1 … 0, the carry of batch element b in gy0's row b.
  for (int64_t i = 0; i < cfg.B * n; ++i) gy0[i] = T(0);
  if (!useGemm(cfg)) {
    parallelFor(cfg.B, cfg.T * cfg.B * stepWork(cfg), [&](int64_t b) {
      T* carry = gy0 + b * n;
      for (int64_t t = cfg.T - 1; t >= 0; --t) backwardStep<T>(cfg, p, g, t, b, carry, gxp, ghh, carry, nullptr, true);
    });
    return;
  }
  // Step by step over the whole batch: Whh·h_{t−1} by one GEMM, the units, then
  // the carries' hh part ghh_t·Whh [B, H] by another.
  std::vector<T> hbuf, wh(static_cast<size_t>(cfg.B * G)), hhCarry(static_cast<size_t>(cfg.B * H));
  for (int64_t t = cfg.T - 1; t >= 0; --t) {
    hiddenProducts<T>(cfg, p.Whh, cfg.B, [&](int64_t b) { return k::cellPrevState<T>(cfg, p.y0, p.y, t, b); }, hbuf,
                      wh.data());
    // Serial units, as in the forward walk.
    for (int64_t b = 0; b < cfg.B; ++b)
      backwardStep<T>(cfg, p, g, t, b, gy0 + b * n, gxp, ghh, gy0 + b * n, wh.data() + b * G, false);
    gemm<T>(ghh + cfg.gateAt(t, 0), p.Whh, hhCarry.data(), cfg.B, H, G, false, false);
    for (int64_t b = 0; b < cfg.B; ++b)
      for (int64_t u = 0; u < H; ++u) gy0[b * n + u] += hhCarry[b * H + u];
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
