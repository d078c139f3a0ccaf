// The recurrent cells that DEER linearizes (ALGORITHMS.md §2), one step of one
// unit, shared by cpu/cells.cpp and cuda/cells.cu. PyTorch's equations; the
// input projection xp = W_ih x + b_ih is precomputed by the caller, and
// hh = Whh·h + bhh (bhh absent = 0), with gates in PyTorch's order:
//
//   GRU (G = 3H, gates r, z, n; y = h, n = H):
//     r = σ(xp_r + hh_r)   z = σ(xp_z + hh_z)   ñ = tanh(xp_n + r ⊙ hh_n)
//     h' = (1 − z) ⊙ ñ + z ⊙ h
//   LSTM (G = 4H, gates i, f, g, o; y = [h, c], n = 2H):
//     i, f, o = σ(xp + hh) of their blocks   g = tanh(xp_g + hh_g)
//     c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')
//   Elman RNN (G = H, n = H):  h' = tanh or relu(xp + hh)
//
// Unit u owns gate rows k·H + u of xp, hh and Whh, and the state rows u and
// (LSTM) H + u. Every row of the step's Jacobian J = ∂y'/∂y has the same form:
// state row s = r·H + u (r = 0, or r = 1 for the LSTM's c') is
//   J[s, :] = Σ_k dhh[r][k] · Whh[k·H + u, :]  (on the h columns 0 … H−1)
//           + direct[r] at column directIndex(u)
// where dhh[r][k] = ∂y'_s/∂hh_{k·H+u} and direct[r] = ∂y'_s/∂y[directIndex]
// with hh held fixed (GRU: z at column u; LSTM: the c path at column H + u;
// RNN: 0). So J, its diagonal, J·y and the vector–Jacobian product λᵀJ all
// come from a unit's handful of coefficients and the rows of Whh.
//
// Layouts (row-major): xp, gxp, ghh [T, B, G]; Whh [G, H]; bhh [G];
// y0 [B, n]; y, f, bOff, λ [T, B, n]; J [T, B, n, n] or diagonal [T, B, n].
// The previous state of step t is y0[b] at t = 0 and y[t − 1, b] after.
#pragma once
#include <cstdint>

#include "hd.h"
#include "unary.h"

namespace antler::kernels {

enum class CellKind : int { Gru = 0, Lstm = 1, RnnTanh = 2, RnnRelu = 3 };

// What cellLinearize writes besides f.
enum class CellJacobian : int { None = 0, Diagonal = 1, Dense = 2 };

// Upper bounds of gatesPerUnit() and rowsPerUnit(). The per-unit loops run to
// these constants and stop at the kind's count, so nvcc unrolls them and keeps
// a unit's small coefficient arrays in registers rather than local memory.
constexpr int kCellMaxGates = 4, kCellMaxRows = 2;

// Gate blocks per unit (G / H) and state rows per unit (n / H) of a kind.
ANTLER_HD constexpr int cellGatesPerUnit(CellKind kind) {
  return kind == CellKind::Gru ? 3 : kind == CellKind::Lstm ? 4 : 1;
}
ANTLER_HD constexpr int cellRowsPerUnit(CellKind kind) { return kind == CellKind::Lstm ? 2 : 1; }
// Values of a unit's J coefficients (cellStoreCoefficients): per row, dhh then direct.
ANTLER_HD constexpr int cellCoefficientsPerUnit(CellKind kind) {
  return cellRowsPerUnit(kind) * (cellGatesPerUnit(kind) + 1);
}

// Sizes of one call; validated by core/cells.cpp (H >= 1).
struct CellConfig {
  CellKind kind = CellKind::Gru;
  int64_t T = 0, B = 0, H = 0;

  // Gate blocks per unit (G / H) and state rows per unit (n / H).
  ANTLER_HD int64_t gatesPerUnit() const { return cellGatesPerUnit(kind); }
  ANTLER_HD int64_t rowsPerUnit() const { return cellRowsPerUnit(kind); }
  ANTLER_HD int64_t G() const { return gatesPerUnit() * H; }
  ANTLER_HD int64_t n() const { return rowsPerUnit() * H; }
  ANTLER_HD int64_t coefficientsPerUnit() const { return cellCoefficientsPerUnit(kind); }
  // The state column that unit u's rows depend on other than through hh.
  ANTLER_HD int64_t directIndex(int64_t u) const { return kind == CellKind::Lstm ? H + u : u; }
  // Offsets of step (t, b) in the [T, B, G] and [T, B, n] arrays.
  ANTLER_HD int64_t gateAt(int64_t t, int64_t b) const { return (t * B + b) * G(); }
  ANTLER_HD int64_t stateAt(int64_t t, int64_t b) const { return (t * B + b) * n(); }
};

// The previous state of step t for batch element b (no copy: y is shifted by one).
template <typename T>
ANTLER_HD const T* cellPrevState(const CellConfig& cfg, const T* y0, const T* y, int64_t t, int64_t b) {
  return t == 0 ? y0 + b * cfg.n() : y + cfg.stateAt(t - 1, b);
}

// Unit u's inputs at one step: its gate pre-activations from the input (xp),
// from the state without bias (wh = Whh·h) and the bias (bh), and its own
// entries of the previous state (h_u; c_u for the LSTM).
template <typename T>
struct CellUnitIn {
  T xp[kCellMaxGates], wh[kCellMaxGates], bh[kCellMaxGates];
  T h, c;
  ANTLER_HD T pre(int k) const { return xp[k] + (wh[k] + bh[k]); }
  ANTLER_HD T hh(int k) const { return wh[k] + bh[k]; }
};

// Whh[row, :]·h over the H hidden columns.
template <typename T>
ANTLER_HD T cellRowDot(const T* Whh, const T* h, int64_t row, int64_t H) {
  const T* w = Whh + row * H;
  T acc = T(0);
  for (int64_t j = 0; j < H; ++j) acc += w[j] * h[j];
  return acc;
}

// The same from Whh's transpose WhhT [H, G] (same order of terms): the GPU's
// layout, where threads over units u read neighbouring entries of a row.
template <typename T>
ANTLER_HD T cellRowDotT(const T* WhhT, const T* h, int64_t row, int64_t H, int64_t G) {
  T acc = T(0);
  for (int64_t j = 0; j < H; ++j) acc += WhhT[j * G + row] * h[j];
  return acc;
}

// Whh[row, col], from WhhT when it is not null.
template <typename T>
ANTLER_HD T cellWeight(const T* Whh, const T* WhhT, int64_t row, int64_t col, int64_t H, int64_t G) {
  return WhhT ? WhhT[col * G + row] : Whh[row * H + col];
}

// Unit u's inputs from the step's wh = Whh·h [G] (whStep), computed by the
// caller (the CPU: with one GEMM over many steps or batch elements, or one
// small product per step); bhh is not null (zeros for no bias). The kind is
// a compile-time constant, so that the CPU's loops over u vectorise.
template <CellKind Kind, typename T>
ANTLER_HD_ALWAYS_INLINE CellUnitIn<T> cellLoadUnitWh(int64_t H, const T* xpStep, const T* whStep, const T* bhh,
                                                     const T* prev, int64_t u) {
  constexpr int gates = cellGatesPerUnit(Kind);
  CellUnitIn<T> in;
  for (int k = 0; k < gates; ++k) {
    in.xp[k] = xpStep[k * H + u];
    in.wh[k] = whStep[k * H + u];
    in.bh[k] = bhh[k * H + u];
  }
  for (int k = gates; k < kCellMaxGates; ++k) in.xp[k] = in.wh[k] = in.bh[k] = T(0);
  in.h = prev[u];
  in.c = Kind == CellKind::Lstm ? prev[H + u] : T(0);
  return in;
}

// Unit u's inputs computing its own rows of Whh·h (the GPU's threads):
// xpStep is the step's [G] slice of xp, prev its previous state [n]; Whh is
// read from WhhT ([H, G], Whh's transpose) when that is not null; bhh may be
// null (no bias). xpUnit, when not null, holds the unit's gate values of xp
// (k-th gate at k), already loaded (the GPU's walk loads them steps ahead),
// and xpStep is not read.
template <typename T>
ANTLER_HD_ALWAYS_INLINE CellUnitIn<T> cellLoadUnit(const CellConfig& cfg, const T* xpStep, const T* Whh, const T* bhh,
                                     const T* prev, int64_t u, const T* WhhT = nullptr, const T* xpUnit = nullptr) {
  CellUnitIn<T> in;
  const int64_t H = cfg.H;
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  for (int k = 0; k < kCellMaxGates; ++k) {
    if (k < gates) {
      const int64_t row = k * H + u;
      in.xp[k] = xpUnit ? xpUnit[k] : xpStep[row];
      in.wh[k] = WhhT ? cellRowDotT(WhhT, prev, row, H, cfg.G()) : cellRowDot(Whh, prev, row, H);
      in.bh[k] = bhh ? bhh[row] : T(0);
    } else {
      in.xp[k] = in.wh[k] = in.bh[k] = T(0);
    }
  }
  in.h = prev[u];
  in.c = cfg.kind == CellKind::Lstm ? prev[H + u] : T(0);
  return in;
}

template <typename T>
ANTLER_HD_ALWAYS_INLINE T cellSigmoid(T x) { return T(1) / (T(1) + unary_math::exp_(-x)); }

// Unit u's step (next[0] at state row u, next[1] at row H + u for the LSTM)
// and its local derivatives (see the top of the file): for state
// row r·H + u, dxp[r][k] = ∂y'/∂xp_k, dhh[r][k] = ∂y'/∂hh_k, direct[r] =
// ∂y'/∂y[directIndex] with hh fixed. dxp = dhh except for the GRU's n gate,
// where ∂/∂hh_n = r · ∂/∂xp_n.
template <typename T>
struct CellUnitLinear {
  T next[kCellMaxRows];
  T dxp[kCellMaxRows][kCellMaxGates], dhh[kCellMaxRows][kCellMaxGates];
  T direct[kCellMaxRows];
};

//   GRU:  c_n = (1 − z)(1 − ñ²);  ∂/∂xp_n = c_n, ∂/∂hh_n = c_n r;  ∂/∂z̃ = (h − ñ) z(1 − z);
//         ∂/∂r̃ = c_n hh_n r(1 − r);  direct = z
//   LSTM: c' row: ∂/∂ĩ = g i(1 − i), ∂/∂f̃ = c f(1 − f), ∂/∂g̃ = i(1 − g²), direct = f;
//         h' row: s = o(1 − tanh²c') times the c' row, ∂/∂õ = tanh(c') o(1 − o), direct = s f
//   RNN:  ∂/∂p = 1 − h'² (tanh) or [p > 0] (relu); direct = 0
// (x̃ is a gate's pre-activation.) The forward walk uses this too: the
// derivatives cost a few flops beside the unit's gatesPerUnit·H-long dot products, and one
// formula text keeps f bit-identical between the walk and the linearization.
template <typename T>
ANTLER_HD_ALWAYS_INLINE CellUnitLinear<T> cellUnitLinearize(CellKind kind, const CellUnitIn<T>& in) {
  CellUnitLinear<T> L;
  for (int r = 0; r < kCellMaxRows; ++r) {
    L.next[r] = L.direct[r] = T(0);
    for (int k = 0; k < kCellMaxGates; ++k) L.dxp[r][k] = L.dhh[r][k] = T(0);
  }
  switch (kind) {
    case CellKind::Gru: {
      const T r = cellSigmoid(in.pre(0)), z = cellSigmoid(in.pre(1));
      const T hn = in.hh(2);
      const T nn = unary_math::tanh_(in.xp[2] + r * hn);
      L.next[0] = (T(1) - z) * nn + z * in.h;
      const T cn = (T(1) - z) * (T(1) - nn * nn);
      const T dz = (in.h - nn) * (z * (T(1) - z));
      const T dr = cn * hn * (r * (T(1) - r));
      L.dxp[0][0] = L.dhh[0][0] = dr;
      L.dxp[0][1] = L.dhh[0][1] = dz;
      L.dxp[0][2] = cn;
      L.dhh[0][2] = cn * r;
      L.direct[0] = z;
      break;
    }
    case CellKind::Lstm: {
      const T i = cellSigmoid(in.pre(0)), f = cellSigmoid(in.pre(1));
      const T g = unary_math::tanh_(in.pre(2)), o = cellSigmoid(in.pre(3));
      const T c = f * in.c + i * g;
      const T tc = unary_math::tanh_(c);
      L.next[0] = o * tc;
      L.next[1] = c;
      const T dcdi = g * (i * (T(1) - i)), dcdf = in.c * (f * (T(1) - f)), dcdg = i * (T(1) - g * g);
      const T s = o * (T(1) - tc * tc);
      L.dhh[1][0] = dcdi;
      L.dhh[1][1] = dcdf;
      L.dhh[1][2] = dcdg;
      L.direct[1] = f;
      L.dhh[0][0] = s * dcdi;
      L.dhh[0][1] = s * dcdf;
      L.dhh[0][2] = s * dcdg;
      L.dhh[0][3] = tc * (o * (T(1) - o));
      L.direct[0] = s * f;
      for (int r = 0; r < kCellMaxRows; ++r)
        for (int k = 0; k < kCellMaxGates; ++k) L.dxp[r][k] = L.dhh[r][k];
      break;
    }
    case CellKind::RnnTanh:
    case CellKind::RnnRelu: {
      const T p = in.pre(0);
      T d;
      if (kind == CellKind::RnnTanh) {
        L.next[0] = unary_math::tanh_(p);
        d = T(1) - L.next[0] * L.next[0];
      } else {
        // As relu: NaN stays NaN and passes the gradient (torch's threshold_backward).
        L.next[0] = (p > T(0) || p != p) ? p : T(0);
        d = p <= T(0) ? T(0) : T(1);
      }
      L.dxp[0][0] = L.dhh[0][0] = d;
      break;
    }
  }
  return L;
}

// J[s, col] of a row of unit u from its coefficients dhh[0 … gates) and direct
// (see the top), col in [0, n); Whh read from WhhT when that is not null.
template <typename T>
ANTLER_HD T cellJacobianRowEntry(const CellConfig& cfg, const T* dhh, T direct, const T* Whh, int64_t u, int64_t col,
                                 const T* WhhT) {
  const int64_t H = cfg.H;
  T acc = T(0);
  if (col < H) {
    const int gates = static_cast<int>(cfg.gatesPerUnit());
    for (int k = 0; k < kCellMaxGates && k < gates; ++k) acc += dhh[k] * cellWeight(Whh, WhhT, k * H + u, col, H, cfg.G());
  }
  if (col == cfg.directIndex(u)) acc += direct;
  return acc;
}

// J[s, col] for unit u's row r (s = r·H + u), col in [0, n); Whh read from WhhT when that is not null.
template <typename T>
ANTLER_HD T cellJacobianEntry(const CellConfig& cfg, const CellUnitLinear<T>& L, const T* Whh, int64_t u, int r,
                              int64_t col, const T* WhhT = nullptr) {
  return cellJacobianRowEntry(cfg, L.dhh[r], L.direct[r], Whh, u, col, WhhT);
}

// The same rows in two passes (the GPU's dense J, whose writes are then
// coalesced): unitCoef [coefficientsPerUnit()] holds, per row r, dhh[r][0 …
// gates) then direct[r]; cellJacobianFromCoefficients is cellJacobianRowEntry
// from them, reading Whh row-major.
template <typename T>
ANTLER_HD void cellStoreCoefficients(const CellConfig& cfg, const CellUnitLinear<T>& L, T* unitCoef) {
  const int gates = static_cast<int>(cfg.gatesPerUnit()), rows = static_cast<int>(cfg.rowsPerUnit());
  for (int r = 0; r < kCellMaxRows && r < rows; ++r) {
    T* c = unitCoef + r * (gates + 1);
    for (int k = 0; k < kCellMaxGates && k < gates; ++k) c[k] = L.dhh[r][k];
    c[gates] = L.direct[r];
  }
}

template <typename T>
ANTLER_HD T cellJacobianFromCoefficients(const CellConfig& cfg, const T* unitCoef, const T* Whh, int64_t u, int r,
                                         int64_t col) {
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  const T* c = unitCoef + r * (gates + 1);
  return cellJacobianRowEntry(cfg, c, c[gates], Whh, u, col, static_cast<const T*>(nullptr));
}

// (J·prev)[s] for unit u's row r, from wh = Whh·h without a second product.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T cellJacobianTimesPrev(const CellConfig& cfg, const CellUnitLinear<T>& L, const CellUnitIn<T>& in,
                                  const T* prev, int64_t u, int r) {
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  T acc = T(0);
  for (int k = 0; k < kCellMaxGates; ++k)
    if (k < gates) acc += L.dhh[r][k] * in.wh[k];
  return acc + L.direct[r] * prev[cfg.directIndex(u)];
}

// Writes unit u's rows of f, and of J and bOff = f − J·prev as `jac` asks
// (dense: full rows of J; diagonal: J's diagonal, bOff = f − diag ⊙ prev).
// fStep, JStep, bStep point at the step's [n], [n, n] or [n], and [n] slices.
// WhhT (optional): Whh's transpose, read instead of Whh (see cellLoadUnit).
// unitCoef (optional, dense only): the unit's J coefficients are stored there
// (cellStoreCoefficients) instead of its rows of J, and JStep is not used.
// xpUnit (optional): the unit's xp values, loaded ahead (see cellLoadUnit).
template <typename T>
ANTLER_HD_ALWAYS_INLINE void cellLinearizeUnit(const CellConfig& cfg, CellJacobian jac, const T* xpStep, const T* Whh,
                                 const T* bhh, const T* prev, int64_t u, T* fStep, T* JStep, T* bStep,
                                 const T* WhhT = nullptr, T* unitCoef = nullptr, const T* xpUnit = nullptr) {
  const CellUnitIn<T> in = cellLoadUnit(cfg, xpStep, Whh, bhh, prev, u, WhhT, xpUnit);
  const int rows = static_cast<int>(cfg.rowsPerUnit());
  const int64_t n = cfg.n();
  const CellUnitLinear<T> L = cellUnitLinearize(cfg.kind, in);
  if (jac == CellJacobian::Dense && unitCoef != nullptr) cellStoreCoefficients(cfg, L, unitCoef);
  for (int r = 0; r < kCellMaxRows && r < rows; ++r) {
    const int64_t s = r * cfg.H + u;
    fStep[s] = L.next[r];
    if (jac == CellJacobian::None) continue;
    if (jac == CellJacobian::Dense) {
      if (unitCoef == nullptr) {
        T* row = JStep + s * n;
        for (int64_t col = 0; col < n; ++col) row[col] = cellJacobianEntry(cfg, L, Whh, u, r, col, WhhT);
      }
      bStep[s] = L.next[r] - cellJacobianTimesPrev(cfg, L, in, prev, u, r);
    } else {
      const T d = cellJacobianEntry(cfg, L, Whh, u, r, s, WhhT);
      JStep[s] = d;
      bStep[s] = L.next[r] - d * prev[s];
    }
  }
}

// Unit u's λ at one step: lam[r] = λ[r·H + u] (carry null: λ = g) or
// g + carry for the backward walk, whose carry holds (∂f_{t+1}/∂y_t)ᵀ λ_{t+1}.
template <typename T>
ANTLER_HD void cellUnitLambda(const CellConfig& cfg, const T* gStep, const T* carry, int64_t u,
                              T lam[kCellMaxRows]) {
  lam[0] = lam[1] = T(0);
  for (int r = 0; r < kCellMaxRows && r < static_cast<int>(cfg.rowsPerUnit()); ++r) {
    const int64_t s = r * cfg.H + u;
    lam[r] = carry ? gStep[s] + carry[s] : gStep[s];
  }
}

// Unit u's part of the vector–Jacobian product λᵀ·∂y'/∂(xp, hh, y), from its
// inputs: writes gxp and ghh at its gate rows and returns its direct carry
// Σ_r λ_r direct[r], the part of ∂loss/∂y[directIndex(u)] that does not go through hh.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T cellBackwardFromIn(const CellConfig& cfg, const CellUnitIn<T>& in,
                                             const T lam[kCellMaxRows], int64_t u, T* gxpStep, T* ghhStep) {
  const CellUnitLinear<T> L = cellUnitLinearize(cfg.kind, in);
  if (cfg.kind == CellKind::RnnTanh || cfg.kind == CellKind::RnnRelu) {
    // One gate, no direct path (y' depends on y only through hh). relu's gradient is a select, as
    // torch's threshold_backward: a switched-off unit passes exactly 0, also of an infinite or NaN
    // gradient (a product with its derivative 0 would make NaN of inf).
    const T g = cfg.kind == CellKind::RnnRelu ? (L.dxp[0][0] != T(0) ? lam[0] : T(0)) : lam[0] * L.dxp[0][0];
    gxpStep[u] = g;
    ghhStep[u] = g;
    return T(0);
  }
  for (int k = 0; k < kCellMaxGates && k < static_cast<int>(cfg.gatesPerUnit()); ++k) {
    gxpStep[k * cfg.H + u] = lam[0] * L.dxp[0][k] + lam[1] * L.dxp[1][k];
    ghhStep[k * cfg.H + u] = lam[0] * L.dhh[0][k] + lam[1] * L.dhh[1][k];
  }
  return lam[0] * L.direct[0] + lam[1] * L.direct[1];
}

// The same, loading the unit's inputs (cellLoadUnit).
template <typename T>
ANTLER_HD T cellBackwardUnit(const CellConfig& cfg, const T* xpStep, const T* Whh, const T* bhh, const T* prev,
                             const T lam[kCellMaxRows], int64_t u, T* gxpStep, T* ghhStep,
                             const T* WhhT = nullptr, const T* xpUnit = nullptr) {
  return cellBackwardFromIn(cfg, cellLoadUnit(cfg, xpStep, Whh, bhh, prev, u, WhhT, xpUnit), lam, u, gxpStep, ghhStep);
}

// The carry ∂loss/∂y_prev = (∂f/∂y_prev)ᵀ λ, in two passes over units because
// its hh part needs every unit's ghh:
//   seed (unit u, once its λ is read): carry[s] = [s == directIndex(u)] · directCarry_u
//   add  (unit u, after every unit's ghh is written): carry[s] += Σ_rows Whh[row, s] · ghh[row]  (s < H)
// for s = r·H + u. Each pass touches only unit u's own rows of carry.
template <typename T>
ANTLER_HD void cellSeedCarry(const CellConfig& cfg, T* carry, int64_t u, T directCarry) {
  for (int r = 0; r < kCellMaxRows && r < static_cast<int>(cfg.rowsPerUnit()); ++r) {
    const int64_t s = r * cfg.H + u;
    carry[s] = s == cfg.directIndex(u) ? directCarry : T(0);
  }
}

// ghhStep is the whole step's ghh [G].
template <typename T>
ANTLER_HD void cellAddHhCarry(const CellConfig& cfg, const T* Whh, const T* ghhStep, T* carry, int64_t u) {
  const int64_t H = cfg.H, G = cfg.G();
  T acc = T(0);
  for (int64_t row = 0; row < G; ++row) acc += Whh[row * H + u] * ghhStep[row];
  carry[u] += acc;
}

}  // namespace antler::kernels
