// The DEER cells on the CPU (math in kernels/cells.h).
//
// cellLinearize and the adjoint backward: every step (t, b) is independent,
// one OpenMP task per step.
// cellSequential: one task per batch element walks t = 0 … T−1, writing each
// step's state straight into y, which the next step reads as its previous state.
// cellBackward (walk): one task per batch element walks t = T−1 … 0 with the
// carry (∂f_{t+1}/∂y_t)ᵀ λ_{t+1} kept in its row of gy0, so that after t = 0
// gy0 holds (∂f_0/∂y0)ᵀ λ_0.
// From kGemmMinHidden units on (kWalkGemmMinHidden in the walks), the
// products with Whh are GEMMs: the walks then go step by step over the whole
// batch, the all-steps passes in blocks.
//
// Each step first gets its wh = Whh·h_{t−1} [G] (from the GEMM, or one small
// product over Whh's transpose, in the same order of terms as
// kernels::cellRowDot), then its units run in one loop over u with the cell
// kind a compile-time constant (withCellKind) and restrict operands: the gate
// rows k·H + u are contiguous in u, so the loop vectorises, exp and tanh
// included (kernels/unary.h), as the SRU's does. Dense Jacobian rows are
// filled afterwards from the units' coefficients, vectorised over columns.
// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through
// cells_avx2.cpp; same operations, same bits either way (NaN results aside:
// which operand's NaN an operation passes on may differ, see isa.h).
#include <type_traits>
#include <vector>

#include "../core/error.h"
#include "../kernels/cells.h"
#include "gemm.h"
#include "isa.h"
#include "parallel.h"

namespace antler::cpu::ANTLER_ISA_NS {

namespace k = kernels;

// Multiply–adds of one step's hidden-hidden products, to size the parallel loops.
static int64_t stepWork(const k::CellConfig& cfg) { return cfg.G() * cfg.H; }

// From this hidden size on, the products Whh·h go through GEMM (OpenBLAS when
// present): the all-steps passes (linearize, adjoint backward) make one
// product per block of kGemmRows steps, from kGemmMinHidden units on; the
// walks make one [B, H]×[H, G] product per step (and one [B, G]×[G, H] for
// the backward carry) and then run the units serially. Below, each step (or
// batch element) makes its own small product over Whh's transpose, vectorised
// over gate rows, its scratch on the stack (kSmallGates rows), and a walk's
// batch elements run in parallel: from kGemmMinHidden to kWalkGemmMinHidden
// units that is faster when there are threads (and batch elements) to run
// them, slower on one thread, so the walks choose by both (walkUsesGemm). The
// two round differently (OpenBLAS fuses multiply-adds), so there the last
// bits depend on the thread count and on B (README, CPU section).
// (GRU and LSTM, 2 cores, forward+backward, development measurements: at
// H = 32–63, T = 1000, B = 16, two threads, the small products took 26–43 ms
// where the per-step GEMMs took 36–65, one thread 39–163 ms against 33–124;
// at H = 96 and 120, B = 32, two threads, the GEMMs were as fast or faster.)
constexpr int64_t kGemmMinHidden = 32;
constexpr int64_t kWalkGemmMinHidden = 64;
constexpr int64_t kGemmRows = 4096;
// The stack scratch of a step below the thresholds: H < kSmallHidden.
constexpr int64_t kSmallHidden = kGemmMinHidden > kWalkGemmMinHidden ? kGemmMinHidden : kWalkGemmMinHidden;
constexpr int64_t kSmallGates = k::kCellMaxGates * kSmallHidden;
static_assert(kGemmMinHidden <= kSmallHidden && kWalkGemmMinHidden <= kSmallHidden,
              "the small products' stack buffers must hold every H below either threshold");
static bool useGemm(const k::CellConfig& cfg) { return cfg.H >= kGemmMinHidden; }
static bool walkUsesGemm(const k::CellConfig& cfg) {
  if (cfg.H >= kWalkGemmMinHidden) return true;
  if (cfg.H < kGemmMinHidden) return false;
  return numThreads() < 2 || cfg.B < 2;
}

template <k::CellKind Kind>
using KindConstant = std::integral_constant<k::CellKind, Kind>;

// Calls f(kind) with cfg.kind as a compile-time constant.
template <typename F>
static void withCellKind(k::CellKind kind, F&& f) {
  switch (kind) {
    case k::CellKind::Gru: return f(KindConstant<k::CellKind::Gru>{});
    case k::CellKind::Lstm: return f(KindConstant<k::CellKind::Lstm>{});
    case k::CellKind::RnnTanh: return f(KindConstant<k::CellKind::RnnTanh>{});
    case k::CellKind::RnnRelu: return f(KindConstant<k::CellKind::RnnRelu>{});
  }
  fail(Code::Internal, "deer.cell: unknown cell kind ", static_cast<int>(kind));
}

template <k::CellKind Kind>
constexpr int kGates = k::cellGatesPerUnit(Kind);
template <k::CellKind Kind>
constexpr int kRows = k::cellRowsPerUnit(Kind);

template <typename T>
struct CellPtrs {
  const T* xp;
  const T* Whh;
  const T* bhh;  // never null: zeros when the call has no bias
  const T* y0;
  const T* y;
  std::vector<T> zeros;
  CellPtrs(const k::CellConfig& cfg, const CellInputs& in)
      : xp(static_cast<const T*>(in.xp)), Whh(static_cast<const T*>(in.Whh)), bhh(static_cast<const T*>(in.bhh)),
        y0(static_cast<const T*>(in.y0)), y(static_cast<const T*>(in.y)) {
    if (bhh == nullptr) {
      zeros.assign(static_cast<size_t>(cfg.G()), T(0));
      bhh = zeros.data();
    }
  }
};

// Whh's transpose [H, G], for the small products.
template <typename T>
static std::vector<T> transposedWhh(const k::CellConfig& cfg, const T* Whh) {
  const int64_t H = cfg.H, G = cfg.G();
  std::vector<T> WhhT(static_cast<size_t>(G * H));
  for (int64_t row = 0; row < G; ++row)
    for (int64_t j = 0; j < H; ++j) WhhT[j * G + row] = Whh[row * H + j];
  return WhhT;
}

// wh [G] = Whh·h from WhhT [H, G]: per row the terms of kernels::cellRowDot in
// its order (so the same bits), vectorised over rows. Rows go in blocks of
// kRowBlock whose sums stay in registers through the loop over j (a plain
// loop over all G rows would load and store every sum at each j).
constexpr int64_t kRowBlock = 32;

template <typename T>
static void smallHiddenProduct(int64_t H, int64_t G, const T* __restrict WhhT, const T* __restrict h,
                               T* __restrict wh) {
  int64_t r0 = 0;
  for (; r0 + kRowBlock <= G; r0 += kRowBlock) {
    T acc[kRowBlock];
    for (int64_t r = 0; r < kRowBlock; ++r) acc[r] = T(0);
    for (int64_t j = 0; j < H; ++j) {
      const T hj = h[j];
      const T* __restrict w = WhhT + j * G + r0;
      for (int64_t r = 0; r < kRowBlock; ++r) acc[r] += w[r] * hj;
    }
    for (int64_t r = 0; r < kRowBlock; ++r) wh[r0 + r] = acc[r];
  }
  if (r0 == G) return;
  for (int64_t row = r0; row < G; ++row) wh[row] = T(0);
  for (int64_t j = 0; j < H; ++j) {
    const T hj = h[j];
    const T* __restrict w = WhhT + j * G;
    for (int64_t row = r0; row < G; ++row) wh[row] += w[row] * hj;
  }
}

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

// Calls body(step, wh) for every step (t·B + b) in parallel, wh its Whh·h_{t−1}
// [G]: from one GEMM per block of at most kGemmRows steps, or one small
// product per step (over Whh's transpose) into the task's own buffer.
template <typename T, typename Body>
static void forSteps(const k::CellConfig& cfg, const CellPtrs<T>& p, Body body) {
  const int64_t steps = cfg.T * cfg.B, G = cfg.G();
  if (!useGemm(cfg)) {
    const std::vector<T> WhhT = transposedWhh(cfg, p.Whh);
    parallelFor(steps, steps * stepWork(cfg), [&](int64_t step) {
      T wh[kSmallGates];
      smallHiddenProduct<T>(cfg.H, G, WhhT.data(), k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B), wh);
      body(step, static_cast<const T*>(wh));
    });
    return;
  }
  std::vector<T> hbuf, wh;
  for (int64_t s0 = 0; s0 < steps; s0 += kGemmRows) {
    const int64_t rows = steps - s0 < kGemmRows ? steps - s0 : kGemmRows;
    wh.resize(static_cast<size_t>(rows * G));
    hiddenProducts<T>(cfg, p.Whh, rows, [&](int64_t r) {
      const int64_t step = s0 + r;
      return k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B);
    }, hbuf, wh.data());
    parallelFor(rows, rows * stepWork(cfg), [&](int64_t r) { body(s0 + r, static_cast<const T*>(wh.data() + r * G)); });
  }
}

// The unit loops below run over chunks of at most kUnitChunk units. Where a
// unit writes many rows at stride H (the backward's gxp and ghh, k·H + u;
// the dense J coefficients) they go to buffers at that constant stride
// instead (backwardUnits copies them out after): with the real H as stride
// GCC cannot prove the rows apart and gives up on vectorising (LSTM: 8 such
// rows). The few rows of f, Jd and bOff are written in place.
constexpr int64_t kUnitChunk = 64;

// The J coefficients of one step, as linearizeUnits leaves them for
// denseRows: per chunk of kUnitChunk units, coefficientsPerUnit runs of
// kUnitChunk (per row r: dhh[r][0 … gates), then direct[r]).
template <k::CellKind Kind>
constexpr int64_t kCoefPerUnit = k::cellCoefficientsPerUnit(Kind);
static int64_t coefficientsSize(const k::CellConfig& cfg) {
  return (cfg.H + kUnitChunk - 1) / kUnitChunk * kUnitChunk * cfg.coefficientsPerUnit();
}

// One step's units: f [n], and as Jac asks J's diagonal Jd [n] and bOff [n]
// (= f − Jd ⊙ prev; whhDiag [G] holds Whh[k·H + u, u]), or bOff (= f − J·prev)
// and the units' J coefficients (coef, coefficientsSize) for denseRows. The
// terms of kernels::cellLinearizeUnit, in its order.
template <typename T, k::CellKind Kind, k::CellJacobian Jac>
static void linearizeUnits(int64_t H, const T* __restrict xp, const T* __restrict wh, const T* __restrict bh,
                           const T* __restrict prev, const T* __restrict whhDiag, T* __restrict f, T* __restrict Jd,
                           T* __restrict bOff, T* __restrict coef) {
  const k::CellConfig c{Kind, 0, 0, H};
  constexpr int gates = kGates<Kind>, rows = kRows<Kind>;
  for (int64_t u0 = 0; u0 < H; u0 += kUnitChunk) {
    const int64_t m = H - u0 < kUnitChunk ? H - u0 : kUnitChunk;
    T* __restrict chunkCoef = coef ? coef + u0 * kCoefPerUnit<Kind> : nullptr;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t u = u0 + j;
      const k::CellUnitIn<T> in = k::cellLoadUnitWh<Kind>(H, xp, wh, bh, prev, u);
      const k::CellUnitLinear<T> L = k::cellUnitLinearize(Kind, in);
      for (int r = 0; r < rows; ++r) {
        const int64_t s = r * H + u;
        f[s] = L.next[r];
        if constexpr (Jac == k::CellJacobian::Diagonal) {
          // J[s, s]: the hh terms on the h columns (row 0), then direct where s is the direct column.
          T d = T(0);
          if (r == 0)
            for (int kk = 0; kk < gates; ++kk) d += L.dhh[r][kk] * whhDiag[kk * H + u];
          if (Kind == k::CellKind::Lstm ? r == 1 : r == 0) d += L.direct[r];
          Jd[s] = d;
          bOff[s] = L.next[r] - d * prev[s];
        } else if constexpr (Jac == k::CellJacobian::Dense) {
          bOff[s] = L.next[r] - k::cellJacobianTimesPrev(c, L, in, prev, u, r);
          T* __restrict rowCoef = chunkCoef + r * (gates + 1) * kUnitChunk;
          for (int kk = 0; kk < gates; ++kk) rowCoef[kk * kUnitChunk + j] = L.dhh[r][kk];
          rowCoef[gates * kUnitChunk + j] = L.direct[r];
        }
      }
    }
  }
}

// One step's dense J [n, n] from linearizeUnits' coefficients (the entries of
// kernels::cellJacobianRowEntry, in its order), vectorised over columns.
template <typename T, k::CellKind Kind>
static void denseRows(int64_t H, const T* __restrict Whh, const T* __restrict coef, T* __restrict J) {
  constexpr int gates = kGates<Kind>, rows = kRows<Kind>;
  const int64_t n = rows * H, gateStride = H * H;
  for (int64_t u = 0; u < H; ++u) {
    const T* __restrict unitCoef = coef + (u - u % kUnitChunk) * kCoefPerUnit<Kind> + u % kUnitChunk;
    const T* __restrict w = Whh + u * H;  // gate k's row of unit u: w + k·H·H
    for (int r = 0; r < rows; ++r) {
      const T* __restrict rowCoef = unitCoef + r * (gates + 1) * kUnitChunk;
      T dhh[gates];
      for (int kk = 0; kk < gates; ++kk) dhh[kk] = rowCoef[kk * kUnitChunk];
      T* __restrict row = J + (r * H + u) * n;
      for (int64_t col = 0; col < H; ++col) {
        T acc = T(0);
        for (int kk = 0; kk < gates; ++kk) acc += dhh[kk] * w[kk * gateStride + col];
        row[col] = acc;
      }
      for (int64_t col = H; col < n; ++col) row[col] = T(0);
      row[Kind == k::CellKind::Lstm ? H + u : u] += rowCoef[gates * kUnitChunk];
    }
  }
}

// λ [n] of one step: g, plus the carry of the backward walk when given.
template <typename T>
static void stepLambda(int64_t n, const T* __restrict g, const T* __restrict carry, T* __restrict lam) {
  if (carry)
    for (int64_t s = 0; s < n; ++s) lam[s] = g[s] + carry[s];
  else
    for (int64_t s = 0; s < n; ++s) lam[s] = g[s];
}

// One step's units of the backward (kernels::cellBackwardFromIn): gxp, ghh
// [G] from λ [n], and with Seed the direct part of the previous state's carry
// (kernels::cellSeedCarry) into carry [n]. The shared functions write at
// stride kUnitChunk into the chunk's buffers (a config with H = kUnitChunk).
template <typename T, k::CellKind Kind, bool Seed>
static void backwardUnits(int64_t H, const T* __restrict xp, const T* __restrict wh, const T* __restrict bh,
                          const T* __restrict prev, const T* __restrict lam, T* __restrict gxp, T* __restrict ghh,
                          T* __restrict carry) {
  const k::CellConfig chunk{Kind, 0, 0, kUnitChunk};
  constexpr int gates = kGates<Kind>, rows = kRows<Kind>;
  T gx[gates * kUnitChunk], gh[gates * kUnitChunk], seeded[rows * kUnitChunk];
  for (int64_t u0 = 0; u0 < H; u0 += kUnitChunk) {
    const int64_t m = H - u0 < kUnitChunk ? H - u0 : kUnitChunk;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t u = u0 + j;
      const k::CellUnitIn<T> in = k::cellLoadUnitWh<Kind>(H, xp, wh, bh, prev, u);
      const T l[k::kCellMaxRows] = {lam[u], rows == 2 ? lam[H + u] : T(0)};
      const T direct = k::cellBackwardFromIn(chunk, in, l, j, gx, gh);
      if constexpr (Seed) k::cellSeedCarry(chunk, seeded, j, direct);
    }
    for (int kk = 0; kk < gates; ++kk)
      for (int64_t j = 0; j < m; ++j) {
        gxp[kk * H + u0 + j] = gx[kk * kUnitChunk + j];
        ghh[kk * H + u0 + j] = gh[kk * kUnitChunk + j];
      }
    if constexpr (Seed)
      for (int r = 0; r < rows; ++r)
        for (int64_t j = 0; j < m; ++j) carry[r * H + u0 + j] = seeded[r * kUnitChunk + j];
  }
}

// carry[u] += Σ_rows Whh[row, u] · ghh[row] (kernels::cellAddHhCarry's terms
// in its order), summed in acc [H], the loop over u vectorised.
template <typename T>
static void addHhCarry(int64_t H, int64_t G, const T* __restrict Whh, const T* __restrict ghh, T* __restrict carry,
                       T* __restrict acc) {
  for (int64_t u = 0; u < H; ++u) acc[u] = T(0);
  for (int64_t row = 0; row < G; ++row) {
    const T g = ghh[row];
    const T* __restrict w = Whh + row * H;
    for (int64_t u = 0; u < H; ++u) acc[u] += w[u] * g;
  }
  for (int64_t u = 0; u < H; ++u) carry[u] += acc[u];
}

template <typename T>
static void linearizeTyped(const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in, void* fv, void* Jv,
                           void* bv) {
  const CellPtrs<T> p(cfg, in);
  T* f = static_cast<T*>(fv);
  T* J = static_cast<T*>(Jv);
  T* bOff = static_cast<T*>(bv);
  const int64_t n = cfg.n(), H = cfg.H;
  withCellKind(cfg.kind, [&](auto kindC) {
    constexpr k::CellKind Kind = decltype(kindC)::value;
    constexpr int gates = kGates<Kind>;
    if (jac == k::CellJacobian::None) {
      forSteps<T>(cfg, p, [&](int64_t step, const T* wh) {
        linearizeUnits<T, Kind, k::CellJacobian::None>(H, p.xp + step * cfg.G(), wh, p.bhh,
                                                       k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B),
                                                       nullptr, f + step * n, nullptr, nullptr, nullptr);
      });
    } else if (jac == k::CellJacobian::Diagonal) {
      std::vector<T> whhDiag(static_cast<size_t>(cfg.G()));
      for (int kk = 0; kk < gates; ++kk)
        for (int64_t u = 0; u < H; ++u) whhDiag[kk * H + u] = p.Whh[(kk * H + u) * H + u];
      forSteps<T>(cfg, p, [&](int64_t step, const T* wh) {
        linearizeUnits<T, Kind, k::CellJacobian::Diagonal>(
            H, p.xp + step * cfg.G(), wh, p.bhh, k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B),
            whhDiag.data(), f + step * n, J + step * n, bOff + step * n, nullptr);
      });
    } else {
      forSteps<T>(cfg, p, [&](int64_t step, const T* wh) {
        thread_local std::vector<T> coef;
        coef.resize(static_cast<size_t>(coefficientsSize(cfg)));
        linearizeUnits<T, Kind, k::CellJacobian::Dense>(
            H, p.xp + step * cfg.G(), wh, p.bhh, k::cellPrevState(cfg, p.y0, p.y, step / cfg.B, step % cfg.B),
            nullptr, f + step * n, nullptr, bOff + step * n, coef.data());
        denseRows<T, Kind>(H, p.Whh, coef.data(), J + step * n * n);
      });
    }
  });
}

template <typename T>
static void sequentialTyped(const k::CellConfig& cfg, const CellInputs& in, void* yv) {
  const CellPtrs<T> p(cfg, in);
  T* y = static_cast<T*>(yv);
  const int64_t H = cfg.H, G = cfg.G();
  withCellKind(cfg.kind, [&](auto kindC) {
    constexpr k::CellKind Kind = decltype(kindC)::value;
    const auto unitsAt = [&](int64_t t, int64_t b, const T* wh) {
      linearizeUnits<T, Kind, k::CellJacobian::None>(H, p.xp + cfg.gateAt(t, b), wh, p.bhh,
                                                     k::cellPrevState<T>(cfg, p.y0, y, t, b), nullptr,
                                                     y + cfg.stateAt(t, b), nullptr, nullptr, nullptr);
    };
    if (!walkUsesGemm(cfg)) {
      const std::vector<T> WhhT = transposedWhh(cfg, p.Whh);
      parallelFor(cfg.B, cfg.T * cfg.B * stepWork(cfg), [&](int64_t b) {
        T wh[kSmallGates];
        for (int64_t t = 0; t < cfg.T; ++t) {
          smallHiddenProduct<T>(H, G, WhhT.data(), k::cellPrevState<T>(cfg, p.y0, y, t, b), wh);
          unitsAt(t, b, wh);
        }
      });
      return;
    }
    // Step by step over the whole batch: one GEMM for Whh·h_{t−1}, then the units.
    std::vector<T> hbuf, wh(static_cast<size_t>(cfg.B * G));
    for (int64_t t = 0; t < cfg.T; ++t) {
      hiddenProducts<T>(cfg, p.Whh, cfg.B, [&](int64_t b) { return k::cellPrevState<T>(cfg, p.y0, y, t, b); }, hbuf,
                        wh.data());
      // The units run serially: OpenMP threads spinning after a parallel region here slowed OpenBLAS's
      // threads in the next step's GEMM (LSTM H = 512, B = 32: the walk took 603 ms with a parallel
      // unit loop, 350 ms serial, on 2 cores).
      for (int64_t b = 0; b < cfg.B; ++b) unitsAt(t, b, wh.data() + b * G);
    }
  });
}

template <typename T>
static void backwardTyped(const k::CellConfig& cfg, const CellInputs& in, const void* gv, bool adjoint, void* gxpv,
                          void* ghhv, void* gy0v) {
  const CellPtrs<T> p(cfg, in);
  const T* g = static_cast<const T*>(gv);
  T* gxp = static_cast<T*>(gxpv);
  T* ghh = static_cast<T*>(ghhv);
  T* gy0 = static_cast<T*>(gy0v);
  const int64_t n = cfg.n(), G = cfg.G(), H = cfg.H;
  withCellKind(cfg.kind, [&](auto kindC) {
    constexpr k::CellKind Kind = decltype(kindC)::value;
    // The units of step (t, b) from λ (in lam [n]); with seed, the direct part of the carry into carry [n].
    const auto unitsAt = [&](int64_t t, int64_t b, const T* wh, const T* lam, T* carry) {
      const T* xp = p.xp + cfg.gateAt(t, b);
      const T* prev = k::cellPrevState(cfg, p.y0, p.y, t, b);
      if (carry)
        backwardUnits<T, Kind, true>(H, xp, wh, p.bhh, prev, lam, gxp + cfg.gateAt(t, b), ghh + cfg.gateAt(t, b), carry);
      else
        backwardUnits<T, Kind, false>(H, xp, wh, p.bhh, prev, lam, gxp + cfg.gateAt(t, b), ghh + cfg.gateAt(t, b),
                                      nullptr);
    };
    if (adjoint) {
      // λ is given: every step is independent; only t = 0 feeds gy0.
      forSteps<T>(cfg, p, [&](int64_t step, const T* wh) {
        const int64_t t = step / cfg.B, b = step % cfg.B;
        T* carry = t == 0 ? gy0 + b * n : nullptr;
        unitsAt(t, b, wh, g + step * n, carry);
        if (carry) {
          std::vector<T> acc(static_cast<size_t>(H));
          addHhCarry<T>(H, G, p.Whh, ghh + cfg.gateAt(t, b), carry, acc.data());
        }
      });
      return;
    }
    // The walk t = T−1 … 0, the carry of batch element b in gy0's row b.
    for (int64_t i = 0; i < cfg.B * n; ++i) gy0[i] = T(0);
    if (!walkUsesGemm(cfg)) {
      const std::vector<T> WhhT = transposedWhh(cfg, p.Whh);
      parallelFor(cfg.B, cfg.T * cfg.B * stepWork(cfg), [&](int64_t b) {
        T wh[kSmallGates], lam[2 * kSmallHidden], acc[kSmallHidden];
        T* carry = gy0 + b * n;
        for (int64_t t = cfg.T - 1; t >= 0; --t) {
          smallHiddenProduct<T>(H, G, WhhT.data(), k::cellPrevState(cfg, p.y0, p.y, t, b), wh);
          stepLambda<T>(n, g + cfg.stateAt(t, b), carry, lam);
          unitsAt(t, b, wh, lam, carry);
          addHhCarry<T>(H, G, p.Whh, ghh + cfg.gateAt(t, b), carry, acc);
        }
      });
      return;
    }
    // Step by step over the whole batch: Whh·h_{t−1} by one GEMM, the units, then
    // the carries' hh part ghh_t·Whh [B, H] by another.
    std::vector<T> hbuf, wh(static_cast<size_t>(cfg.B * G)), hhCarry(static_cast<size_t>(cfg.B * H)),
        lam(static_cast<size_t>(n));
    for (int64_t t = cfg.T - 1; t >= 0; --t) {
      hiddenProducts<T>(cfg, p.Whh, cfg.B, [&](int64_t b) { return k::cellPrevState<T>(cfg, p.y0, p.y, t, b); },
                        hbuf, wh.data());
      // Serial units, as in the forward walk.
      for (int64_t b = 0; b < cfg.B; ++b) {
        stepLambda<T>(n, g + cfg.stateAt(t, b), gy0 + b * n, lam.data());
        unitsAt(t, b, wh.data() + b * G, lam.data(), gy0 + b * n);
      }
      gemm<T>(ghh + cfg.gateAt(t, 0), p.Whh, hhCarry.data(), cfg.B, H, G, false, false);
      for (int64_t b = 0; b < cfg.B; ++b)
        for (int64_t u = 0; u < H; ++u) gy0[b * n + u] += hhCarry[b * H + u];
    }
  });
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

}  // namespace antler::cpu::ANTLER_ISA_NS
