// The fused DEER solve and adjoint on the CPU (kernels/deer_fused.h): one task per
// sequence runs every Newton iteration over its T steps, the iteration one
// pass: each step's linearization at the iterate gives e_t, the residual and
// the correction δ_t = J_t δ_{t−1} + e_t at once, the candidate
// y_t + δ_t going to scratch; the judgement then either keeps the iterate
// (the sequence is done) or takes the candidate. The adjoint: one task per
// sequence walks λ down, J_{t+1}ᵀ λ_{t+1} from the units' coefficients. The
// reference for the GPU's kernels (cuda/deer_fused.cu), which split the same
// recurrences into chunks.
#include <algorithm>
#include <vector>

#include "../core/error.h"
#include "../kernels/cells.h"
#include "../kernels/deer_fused.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

namespace {

template <typename T>
void solveSequence(const k::CellConfig& cfg, bool dense, const k::DeerFusedParams& p, const CellInputs& in,
                   const T* guess, T* y, double* status, int64_t b) {
  const T* xp = static_cast<const T*>(in.xp);
  const T* Whh = static_cast<const T*>(in.Whh);
  const T* bhh = static_cast<const T*>(in.bhh);
  const T* y0 = static_cast<const T*>(in.y0) + b * cfg.n();
  const int64_t n = cfg.n(), H = cfg.H, G = cfg.G(), T_ = cfg.T;
  const int rows = static_cast<int>(cfg.rowsPerUnit()), gates = static_cast<int>(cfg.gatesPerUnit());
  const auto at = [&](int64_t t) { return cfg.stateAt(t, b); };
  for (int64_t t = 0; t < T_; ++t) std::copy(guess + at(t), guess + at(t) + n, y + at(t));

  std::vector<T> next(static_cast<size_t>(T_ * n)), delta(static_cast<size_t>(n)), deltaNext(static_cast<size_t>(n));
  std::vector<T> whDelta(static_cast<size_t>(G));
  k::DeerJudge judge;
  k::DeerFusedCode code = k::DeerFusedCode::Running;
  double res = 0;
  for (;;) {
    res = 0;
    double scale = 0, excess = -HUGE_VAL;
    std::fill(delta.begin(), delta.end(), T(0));
    for (int64_t t = 0; t < T_; ++t) {
      const T* prev = t == 0 ? y0 : y + at(t - 1);
      const T* cur = y + at(t);
      // Whh·δ_{t−1} over the hidden columns, for the dense J·δ.
      if (dense)
        for (int64_t row = 0; row < G; ++row) whDelta[row] = k::cellRowDot(Whh, delta.data(), row, H);
      for (int64_t u = 0; u < H; ++u) {
        const k::CellUnitIn<T> uin = k::cellLoadUnit(cfg, xp + cfg.gateAt(t, b), Whh, bhh, prev, u);
        const k::CellUnitLinear<T> L = k::cellUnitLinearize(cfg.kind, uin);
        for (int r = 0; r < rows; ++r) {
          const int64_t s = r * H + u;
          const T f = L.next[r], e = f - cur[s];
          res = std::max(res, static_cast<double>(k::deerAbsOrInf(e)));
          scale = std::max(scale, static_cast<double>(k::deerAbsOrInf(f)));
          excess = std::max(excess, k::deerExcessOrInf(e, f, p.rtol));
          T jd;
          if (dense) {
            jd = T(0);
            for (int kk = 0; kk < gates; ++kk) jd += L.dhh[r][kk] * whDelta[kk * H + u];
            jd += L.direct[r] * delta[cfg.directIndex(u)];
          } else {
            jd = k::cellJacobianEntry(cfg, L, Whh, u, r, s) * delta[s];
          }
          deltaNext[s] = jd + e;
        }
      }
      std::swap(delta, deltaNext);
      for (int64_t s = 0; s < n; ++s) next[t * n + s] = cur[s] + delta[s];
    }
    code = k::deerJudge(judge, res, scale, excess, p);
    if (code != k::DeerFusedCode::Running) break;
    for (int64_t t = 0; t < T_; ++t) std::copy(next.data() + t * n, next.data() + (t + 1) * n, y + at(t));
    judge.steps += 1;
  }
  status[0] = static_cast<double>(static_cast<int>(code));
  status[1] = judge.steps;
  status[2] = res;
}

// λ_t = g_t + J_{t+1}ᵀ λ_{t+1} down one sequence: J_{t+1}ᵀ v from step t + 1's unit coefficients
// at y_t, (Jᵀv)[j] = Σ_s J[s][j] v[s] = Σ_k Σ_u Whh[kH + u][j] Σ_r dhh_{rH+u}[k] v[rH + u] on the
// hidden columns, plus the direct terms.
template <typename T>
void adjointSequence(const k::CellConfig& cfg, const CellInputs& in, const T* g, T* lam, int64_t b) {
  const T* xp = static_cast<const T*>(in.xp);
  const T* Whh = static_cast<const T*>(in.Whh);
  const T* bhh = static_cast<const T*>(in.bhh);
  const T* y = static_cast<const T*>(in.y);
  const int64_t n = cfg.n(), H = cfg.H, G = cfg.G();
  const int rows = static_cast<int>(cfg.rowsPerUnit()), gates = static_cast<int>(cfg.gatesPerUnit());
  std::vector<T> w(static_cast<size_t>(G)), next(static_cast<size_t>(n));
  for (int64_t t = cfg.T - 1; t >= 0; --t) {
    const T* gt = g + cfg.stateAt(t, b);
    T* lt = lam + cfg.stateAt(t, b);
    if (t == cfg.T - 1) {
      std::copy(gt, gt + n, lt);
      continue;
    }
    const T* lnext = lam + cfg.stateAt(t + 1, b);
    const T* prev = y + cfg.stateAt(t, b);
    std::fill(next.begin(), next.end(), T(0));
    for (int64_t u = 0; u < H; ++u) {
      const k::CellUnitIn<T> uin = k::cellLoadUnit(cfg, xp + cfg.gateAt(t + 1, b), Whh, bhh, prev, u);
      const k::CellUnitLinear<T> L = k::cellUnitLinearize(cfg.kind, uin);
      for (int kk = 0; kk < gates; ++kk) {
        T acc = T(0);
        for (int r = 0; r < rows; ++r) acc += L.dhh[r][kk] * lnext[r * H + u];
        w[kk * H + u] = acc;
      }
      for (int r = 0; r < rows; ++r) next[cfg.directIndex(u)] += L.direct[r] * lnext[r * H + u];
    }
    for (int64_t j = 0; j < H; ++j) {
      T acc = T(0);
      for (int64_t row = 0; row < G; ++row) acc += Whh[row * H + j] * w[row];
      next[j] += acc;
    }
    for (int64_t s = 0; s < n; ++s) lt[s] = gt[s] + next[s];
  }
}

template <typename T>
void solveTyped(const k::CellConfig& cfg, bool dense, const k::DeerFusedParams& p, const CellInputs& in,
                const void* guess, void* y, double* status) {
  parallelFor(cfg.B, cfg.B * cfg.T * cfg.G() * cfg.H * 4, [&](int64_t b) {
    solveSequence<T>(cfg, dense, p, in, static_cast<const T*>(guess), static_cast<T*>(y),
                     status + b * k::kDeerStatusWidth, b);
  });
}

}  // namespace

void cellDeerAdjoint(DType t, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam) {
  const auto run = [&](auto zero) {
    using T = decltype(zero);
    parallelFor(cfg.B, cfg.B * cfg.T * cfg.G() * cfg.H * 2, [&](int64_t b) {
      adjointSequence<T>(cfg, in, static_cast<const T*>(g), static_cast<T*>(lam), b);
    });
  };
  switch (t) {
    case DType::Float32: return run(0.0f);
    case DType::Float64: return run(0.0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell adjoint: dtype ", dtypeName(t), " is not supported");
}

void cellDeerSolve(DType t, const k::CellConfig& cfg, bool dense, const k::DeerFusedParams& p, const CellInputs& in,
                   const void* guess, void* y, double* status) {
  switch (t) {
    case DType::Float32: return solveTyped<float>(cfg, dense, p, in, guess, y, status);
    case DType::Float64: return solveTyped<double>(cfg, dense, p, in, guess, y, status);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell solve: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
