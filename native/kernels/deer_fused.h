// The whole Newton solve of DEER ('deer': dense Jacobian; 'quasi': its
// diagonal) for one sequence in one launch (cpu/deer_fused.cpp,
// cuda/deer_fused.cu), with the per-sequence judgement of lib/deer/solver.ts's
// solveChunk: the host loop launches a linearization, a residual and a scan
// per iteration and reads the residuals back each time, which on a GPU costs
// more than the work at small states (docs/gpu-status.md: deer-profile).
//
// An iteration at the iterate y (y0 before step 0):
//   f_t = cell(y_{t−1}, xp_t), J_t = ∂f_t/∂y_{t−1}, e_t = f_t − y_t;
//   residual = max_t ‖e_t‖∞, scale = max_t ‖f_t‖∞, excess = max over t and
//   units of |e| − rtol·|f| (residual.h); judged (deerJudge);
//   then the Newton step as a linear recurrence in the correction δ:
//   δ_{−1} = 0, δ_t = J_t δ_{t−1} + e_t, y_t ← y_t + δ_t,
// which is the host loop's y_t ← J_t y_{t−1} + (f_t − J_t y_{t−1}) written
// around the iterate (the same fixed point; rounding differs).
//
// The gradient's adjoint at the solution is the same kind of recurrence, in
// reverse and transposed: λ_t = g_t + J_{t+1}ᵀ λ_{t+1}, λ_{T−1} = g_{T−1}
// (cellDeerAdjoint), one pass with J_{t+1} recomputed from step t + 1's unit
// coefficients at y_t, no [T, n, n] Jacobian.
#pragma once
#include <cstdint>

#include "hd.h"
#include "residual.h"

namespace antler::kernels {

// How a sequence's solve ended (the status row's first value).
enum class DeerFusedCode : int {
  Running = -1,
  Converged = 0,  // |e| ≤ atol + rtol·|f| at every step and unit (excess ≤ atol)
  Diverged = 1,   // a non-finite residual, or one that grew by more than growthFactor twice running
  Stalled = 2,    // stallIters iterations without a new lowest residual, near the rounding floor
  MaxIters = 3,   // maxIters steps taken and still not converged
};

// The solver's tolerances and judgement constants (lib/deer/solver.ts passes its own).
struct DeerFusedParams {
  double atol = 0, rtol = 0;
  int maxIters = 0;
  double growthFactor = 2;
  int stallIters = 8;
  double stallFloor = 1000;
  double eps = 0;  // the dtype's rounding unit
  // CUDA: the most blocks a sequence's solve is split over (0: as many as fill the device; 1: one).
  int maxSegments = 0;
};

// One sequence's judgement state across iterations.
struct DeerJudge {
  double prevRes = HUGE_VAL, best = HUGE_VAL;
  int growth = 0, since = 0, steps = 0;
};

// The convergence test of every DEER solve: |y − f| ≤ atol + rtol·|f| at every step and unit
// (residual.h's maxExcess ≤ atol; a NaN excess fails), with a finite residual.
ANTLER_HD bool deerConverged(double res, double excess, double atol) {
  return res == res && res < HUGE_VAL && excess <= atol;
}

// Judges one iteration's residual, scale (max |f|) and excess of a sequence, in
// solveChunk's order for one sequence: converged; else its state is updated
// (growth, lowest residual, iterations since), then stalled (not when
// diverging), out of iterations (even when diverging: no restart under ELK
// without iterations left), diverging; else Running, and the caller takes a
// step (steps counts them). A NaN residual counts as infinite. (solveChunk
// judges a batch at once, which couples its sequences a little: it checks no
// stall in an iteration where any sequence diverges, and after setting
// sequences aside it judges the same iterate again; here each sequence is
// judged on its own, so iteration counts may differ by such an iteration.)
ANTLER_HD DeerFusedCode deerJudge(DeerJudge& s, double res, double scale, double excess, const DeerFusedParams& p) {
  const double r = (res == res && res < HUGE_VAL) ? res : HUGE_VAL;
  if (deerConverged(res, excess, p.atol)) return DeerFusedCode::Converged;
  if (r == HUGE_VAL || r > p.growthFactor * s.prevRes)
    s.growth += 1;
  else
    s.growth = 0;
  const bool diverging = r == HUGE_VAL || s.growth >= 2;
  s.prevRes = r;
  if (r < s.best) {
    s.best = r;
    s.since = 0;
  } else {
    s.since += 1;
  }
  const double floorScale = scale > 1 ? scale : 1;
  const bool nearFloor = s.best <= p.stallFloor * p.eps * floorScale;
  if (!diverging && s.since >= p.stallIters && nearFloor) return DeerFusedCode::Stalled;
  if (s.steps >= p.maxIters) return DeerFusedCode::MaxIters;
  if (diverging) return DeerFusedCode::Diverged;
  return DeerFusedCode::Running;
}

// |v| for the residual's maximum, with NaN as +∞ (so that it wins every max).
template <typename T>
ANTLER_HD T deerAbsOrInf(T v) {
  return v == v ? (v < T(0) ? -v : v) : T(HUGE_VAL);
}

// |e| − rtol·|f| for the excess's maximum, with NaN (a non-finite e or f) as +∞.
template <typename T>
ANTLER_HD double deerExcessOrInf(T e, T f, double rtol) {
  const double x = residualExcess(static_cast<double>(e < T(0) ? -e : e), static_cast<double>(f < T(0) ? -f : f), rtol);
  return x == x ? x : HUGE_VAL;
}

// The GPU kernel's limits (cuda/deer_fused.cu): the dense solve keeps a
// chunk's composed n×n map in registers, a row per thread; the quasi solve
// runs a unit per thread in groups of at most a warp.
constexpr int64_t kDeerFusedMaxDenseN = 16;
constexpr int64_t kDeerFusedMaxHidden = 32;

// Values per sequence of the status output: code, steps, residual.
constexpr int kDeerStatusWidth = 3;

}  // namespace antler::kernels
