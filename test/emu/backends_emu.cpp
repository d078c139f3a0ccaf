// The CUDA backend's DEER and SRU launchers (native/cuda/scan.cu, cells.cu,
// elk.cu, sru.cu),
// rewritten for the host by transform.js and run under cuda_emu.h (with the
// backend's own ops.cuh and common.cuh over include/cuda_runtime.h), against
// the CPU backend (native/cpu/*.cpp) on the same random inputs. Scratch,
// shared memory and outputs start as NaN, so an element read before it is
// written, or never written, shows. Prints one line per check and
// "emulation: N passed, M failed"; exits 1 on a failure.
// Usage: backends_emu SEED
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "compare.h"
#include "../../native/core/cuda_archs.h"


// ---------------------------------------------------------------- scan

struct ScanCase {
  int64_t T, B, n;
  bool diagonal;
  int sms, optin;
};

template <typename T>
static void scanCase(const ScanCase& c) {
  emu::Device ec(c.sms, c.optin);
  antler::cuda::Context& ctx = ec.ctx;
  const k::ScanConfig cfg{c.T, c.B, c.n, c.diagonal};
  const size_t as = static_cast<size_t>(c.diagonal ? c.n : c.n * c.n), seq = static_cast<size_t>(c.T * c.B * c.n);
  const double bound = c.diagonal ? 0.95 : 0.95 / std::sqrt(double(c.n));
  Buf<T> A(c.T * c.B * as, -bound, bound), b(seq), y0(c.B * c.n), gy(seq);
  antler::ScanInputs in;
  in.A = A.p();
  in.b = b.p();
  in.y0 = y0.p();
  auto yG = Buf<T>::nan(seq), yC = Buf<T>::nan(seq);
  antler::cuda::deerScan(ctx, dtypeOf<T>(), cfg, in, yG.p());
  antler::cpu::deerScan(dtypeOf<T>(), cfg, in, yC.p());
  auto gAG = Buf<T>::nan(A.v.size()), gbG = Buf<T>::nan(seq), gy0G = Buf<T>::nan(y0.v.size());
  auto gAC = Buf<T>::nan(A.v.size()), gbC = Buf<T>::nan(seq), gy0C = Buf<T>::nan(y0.v.size());
  antler::cuda::deerScanBackward(ctx, dtypeOf<T>(), cfg, in, yC.p(), gy.p(), gAG.p(), gbG.p(), gy0G.p());
  antler::cpu::deerScanBackward(dtypeOf<T>(), cfg, in, yC.p(), gy.p(), gAC.p(), gbC.p(), gy0C.p());
  char name[160];
  std::snprintf(name, sizeof name, "deerScan %s T=%lld B=%lld n=%lld sms=%d optin=%d", c.diagonal ? "diagonal" : "dense",
                (long long)c.T, (long long)c.B, (long long)c.n, c.sms, c.optin);
  check(std::string(name) + " y", yG, yC);
  check(std::string(name) + " gA", gAG, gAC);
  check(std::string(name) + " gb", gbG, gbC);
  check(std::string(name) + " gy0", gy0G, gy0C);
}

// ---------------------------------------------------------------- residual

struct ResidualCase {
  int64_t T, B, n;
  int sms;
};

template <typename T>
static void residualCase(const ResidualCase& c) {
  emu::Device ec(c.sms);
  const size_t seq = static_cast<size_t>(c.T * c.B * c.n);
  Buf<T> y(seq, -3, 3), f(seq, -3, 3);
  auto outG = Buf<T>::nan(4 * c.B), outC = Buf<T>::nan(4 * c.B);
  const double rtol = 0.25;
  antler::cuda::deerResidual(ec.ctx, dtypeOf<T>(), c.T, c.B, c.n, y.p(), f.p(), rtol, outG.p());
  antler::cpu::deerResidual(dtypeOf<T>(), c.T, c.B, c.n, y.p(), f.p(), rtol, outC.p());
  char name[120];
  std::snprintf(name, sizeof name, "deerResidual T=%lld B=%lld n=%lld sms=%d", (long long)c.T, (long long)c.B,
                (long long)c.n, c.sms);
  check(name, outG, outC);
}

// ---------------------------------------------------------------- expm

struct ExpmCase {
  int64_t count, m;
  double scale;
  int sms;
};

template <typename T>
static void expmCase(const ExpmCase& c) {
  emu::Device ec(c.sms);
  const size_t size = static_cast<size_t>(c.count * c.m * c.m);
  Buf<T> A(size, -c.scale, c.scale);
  auto EG = Buf<T>::nan(size), EC = Buf<T>::nan(size);
  antler::cuda::expm(ec.ctx, dtypeOf<T>(), c.count, c.m, A.p(), EG.p());
  antler::cpu::expm(dtypeOf<T>(), c.count, c.m, A.p(), EC.p());
  char name[120];
  std::snprintf(name, sizeof name, "expm count=%lld m=%lld scale=%g sms=%d", (long long)c.count, (long long)c.m,
                c.scale, c.sms);
  check(name, EG, EC);
}

// ---------------------------------------------------------------- cells

struct CellCase {
  k::CellKind kind;
  int64_t T, B, H;
  int sms;
};

static const char* kindName(k::CellKind kind) {
  switch (kind) {
    case k::CellKind::Gru: return "gru";
    case k::CellKind::Lstm: return "lstm";
    case k::CellKind::RnnTanh: return "rnn_tanh";
    case k::CellKind::RnnRelu: return "rnn_relu";
  }
  return "?";
}

// A cell's random operands (xp in ±xpBound, Whh and bhh in ±1/√H, y0 in ±0.5) and their CellInputs.
template <typename T>
struct CellOperands {
  Buf<T> xp, Whh, bhh, y0;
  CellOperands(const k::CellConfig& cfg, double xpBound)
      : xp(cfg.T * cfg.B * cfg.G(), -xpBound, xpBound),
        Whh(cfg.G() * cfg.H, -1 / std::sqrt(double(cfg.H)), 1 / std::sqrt(double(cfg.H))),
        bhh(cfg.G(), -1 / std::sqrt(double(cfg.H)), 1 / std::sqrt(double(cfg.H))),
        y0(cfg.B * cfg.n(), -0.5, 0.5) {}
  antler::CellInputs inputs() {
    antler::CellInputs in;
    in.xp = xp.p();
    in.Whh = Whh.p();
    in.bhh = bhh.p();
    in.y0 = y0.p();
    return in;
  }
};

template <typename T>
static void cellCase(const CellCase& c) {
  emu::Device ec(c.sms);
  antler::cuda::Context& ctx = ec.ctx;
  const k::CellConfig cfg{c.kind, c.T, c.B, c.H};
  const int64_t n = cfg.n();
  CellOperands<T> ops(cfg, 2);
  Buf<T>& xp = ops.xp;
  Buf<T>& y0 = ops.y0;
  Buf<T> g(c.T * c.B * n);
  antler::CellInputs in = ops.inputs();
  const DType t = dtypeOf<T>();
  char name[160];
  std::snprintf(name, sizeof name, "%s T=%lld B=%lld H=%lld sms=%d", kindName(c.kind), (long long)c.T, (long long)c.B,
                (long long)c.H, c.sms);
  const std::string base(name);

  // The sequential walks (the block walks and the grid walk, cuda/cells.cu: ANTLER_CELL_WALK forces
  // one); the CPU's y is the state the other entries take.
  auto yC = Buf<T>::nan(c.T * c.B * n);
  antler::cpu::cellSequential(t, cfg, in, yC.p());
  for (const char* walk : {"block", "grid"}) {
    setenv("ANTLER_CELL_WALK", walk, 1);
    auto yG = Buf<T>::nan(c.T * c.B * n);
    antler::cuda::cellSequential(ctx, t, cfg, in, yG.p());
    check(std::string("cellSequential (") + walk + " walk) " + base, yG, yC, 10);
  }
  // Where the grid walk needs more blocks than the device holds (items of a unit and 4 batch elements,
  // 8 warps a block), a device that refuses its cooperative grid (the occupancy query overstated):
  // the block walks run instead, forward and backward.
  const bool refusable = (cfg.H * ((cfg.B + 3) / 4) + 7) / 8 > static_cast<int64_t>(emu::occupancyBlocks) * c.sms;
  if (refusable) {
    setenv("ANTLER_CELL_WALK", "grid", 1);
    emu::occupancyReported = 2 * emu::occupancyBlocks;
    auto yG = Buf<T>::nan(c.T * c.B * n);
    antler::cuda::cellSequential(ctx, t, cfg, in, yG.p());
    check("cellSequential (grid walk refused: the block walk) " + base, yG, yC, 10);
    in.y = yC.p();
    auto gxpG = Buf<T>::nan(xp.v.size()), ghhG = Buf<T>::nan(xp.v.size()), gy0G = Buf<T>::nan(y0.v.size());
    auto gxpC = Buf<T>::nan(xp.v.size()), ghhC = Buf<T>::nan(xp.v.size()), gy0C = Buf<T>::nan(y0.v.size());
    antler::cuda::cellBackward(ctx, t, cfg, in, g.p(), false, gxpG.p(), ghhG.p(), gy0G.p());
    antler::cpu::cellBackward(t, cfg, in, g.p(), false, gxpC.p(), ghhC.p(), gy0C.p());
    check("cellBackward bptt (grid walk refused: the block walk) gy0 " + base, gy0G, gy0C, 10);
    emu::occupancyReported = 0;
  }
  unsetenv("ANTLER_CELL_WALK");
  in.y = yC.p();

  for (const auto jac : {k::CellJacobian::Dense, k::CellJacobian::Diagonal}) {
    const int64_t js = jac == k::CellJacobian::Dense ? n * n : n;
    auto fG = Buf<T>::nan(c.T * c.B * n), JG = Buf<T>::nan(c.T * c.B * js), bG = Buf<T>::nan(c.T * c.B * n);
    auto fC = Buf<T>::nan(c.T * c.B * n), JC = Buf<T>::nan(c.T * c.B * js), bC = Buf<T>::nan(c.T * c.B * n);
    antler::cuda::cellLinearize(ctx, t, cfg, jac, in, fG.p(), JG.p(), bG.p());
    antler::cpu::cellLinearize(t, cfg, jac, in, fC.p(), JC.p(), bC.p());
    const std::string j = jac == k::CellJacobian::Dense ? " dense" : " diagonal";
    check("cellLinearize" + j + " f " + base, fG, fC);
    check("cellLinearize" + j + " J " + base, JG, JC);
    check("cellLinearize" + j + " bOff " + base, bG, bC);
  }

  // The backward walks (bptt: block and grid walks) and the adjoint.
  const std::pair<bool, const char*> backwards[] = {{false, "block"}, {false, "grid"}, {true, "block"}};
  for (const auto& [adjoint, walk] : backwards) {
    setenv("ANTLER_CELL_WALK", walk, 1);
    auto gxpG = Buf<T>::nan(xp.v.size()), ghhG = Buf<T>::nan(xp.v.size()), gy0G = Buf<T>::nan(y0.v.size());
    auto gxpC = Buf<T>::nan(xp.v.size()), ghhC = Buf<T>::nan(xp.v.size()), gy0C = Buf<T>::nan(y0.v.size());
    antler::cuda::cellBackward(ctx, t, cfg, in, g.p(), adjoint, gxpG.p(), ghhG.p(), gy0G.p());
    antler::cpu::cellBackward(t, cfg, in, g.p(), adjoint, gxpC.p(), ghhC.p(), gy0C.p());
    const std::string a = adjoint ? " adjoint " : std::string(" bptt (") + walk + " walk) ";
    check("cellBackward" + a + "gxp " + base, gxpG, gxpC, 10);
    check("cellBackward" + a + "ghh " + base, ghhG, ghhC, 10);
    check("cellBackward" + a + "gy0 " + base, gy0G, gy0C, 10);
  }
  unsetenv("ANTLER_CELL_WALK");
}

// ---------------------------------------------------------------- fused DEER solve and adjoint

struct FusedCase {
  k::CellKind kind;
  int64_t T, B, H;
  int sms, optin;  // optin: the device's shared memory limit (a small one puts the chunk maps in global scratch)
};

// The fused solve (cuda/deer_fused.cu: chunk maps scanned in shared memory, or walked from global scratch) against
// the CPU's sequential walk, its judgement against the CPU fused solve's; the fused adjoint against the CPU's.
template <typename T>
static void fusedCase(const FusedCase& c) {
  emu::Device ec(c.sms, c.optin);
  antler::cuda::Context& ctx = ec.ctx;
  const k::CellConfig cfg{c.kind, c.T, c.B, c.H};
  const int64_t n = cfg.n(), seq = c.T * c.B * n;
  CellOperands<T> ops(cfg, 1);
  Buf<T> g(seq), guess(seq, 0, 0);
  antler::CellInputs in = ops.inputs();
  const DType t = dtypeOf<T>();
  char name[200];
  std::snprintf(name, sizeof name, "%s T=%lld B=%lld H=%lld sms=%d optin=%d", kindName(c.kind), (long long)c.T,
                (long long)c.B, (long long)c.H, c.sms, c.optin);
  const std::string base(name);
  auto ySeq = Buf<T>::nan(seq);
  antler::cpu::cellSequential(t, cfg, in, ySeq.p());
  k::DeerFusedParams p;
  p.atol = p.rtol = sizeof(T) == 8 ? 1e-11 : 1e-5;
  p.maxIters = 300;
  p.eps = std::numeric_limits<T>::epsilon() / 2;
  for (const bool dense : {true, false}) {
    if (dense && n > k::kDeerFusedMaxDenseN) continue;
    const std::string what = std::string(dense ? "cellDeerSolve deer " : "cellDeerSolve quasi ") + base;
    auto yG = Buf<T>::nan(seq), yC = Buf<T>::nan(seq);
    std::vector<double> sG(static_cast<size_t>(c.B * k::kDeerStatusWidth), NAN), sC = sG;
    antler::cuda::cellDeerSolve(ctx, t, cfg, dense, p, in, guess.p(), yG.p(), sG.data());
    antler::cpu::cellDeerSolve(t, cfg, dense, p, in, guess.p(), yC.p(), sC.data());
    for (int64_t b = 0; b < c.B; ++b) {
      emu::checkEqual(what + " code of sequence " + std::to_string(b), static_cast<long long>(sG[b * k::kDeerStatusWidth]),
                      static_cast<long long>(sC[b * k::kDeerStatusWidth]));
      emu::checkEqual(what + " converged " + std::to_string(b), static_cast<long long>(sG[b * k::kDeerStatusWidth]),
                      static_cast<long long>(k::DeerFusedCode::Converged));
      // Newton's iteration count (a wrong chunk start still converges, in more iterations); rounding may cost one.
      const double dSteps = std::fabs(sG[b * k::kDeerStatusWidth + 1] - sC[b * k::kDeerStatusWidth + 1]);
      emu::checkEqual(what + " iterations within 1 of the CPU's, sequence " + std::to_string(b) + " (" +
                          std::to_string(sG[b * k::kDeerStatusWidth + 1]) + " vs " + std::to_string(sC[b * k::kDeerStatusWidth + 1]) + ")",
                      dSteps <= 1, true);
    }
    check(what + " y", yG, ySeq, 10);
    // One and two Newton steps from the guess (out of iterations): the iterates themselves, against the CPU's
    // (a wrong chunk or segment start still converges above, to the same answer).
    for (const int iters : {1, 2}) {
      k::DeerFusedParams few = p;
      few.maxIters = iters;
      auto y1G = Buf<T>::nan(seq), y1C = Buf<T>::nan(seq);
      antler::cuda::cellDeerSolve(ctx, t, cfg, dense, few, in, guess.p(), y1G.p(), sG.data());
      antler::cpu::cellDeerSolve(t, cfg, dense, few, in, guess.p(), y1C.p(), sC.data());
      check(what + " y after " + std::to_string(iters) + " step(s)", y1G, y1C, 10);
    }
  }
  in.y = ySeq.p();
  auto lG = Buf<T>::nan(seq), lC = Buf<T>::nan(seq);
  if (n <= k::kDeerFusedMaxDenseN) {
    antler::cuda::cellDeerAdjoint(ctx, t, cfg, in, g.p(), lG.p(), 0);
    antler::cpu::cellDeerAdjoint(t, cfg, in, g.p(), lC.p());
    check("cellDeerAdjoint " + base, lG, lC, 10);
  }
  // A device that refuses the segments' cooperative grid (the occupancy query overstated): a block per
  // sequence runs instead, solve and adjoint.
  emu::occupancyReported = 4 * emu::occupancyBlocks;
  const bool dense = n <= k::kDeerFusedMaxDenseN;
  auto yR = Buf<T>::nan(seq);
  std::vector<double> sR(static_cast<size_t>(c.B * k::kDeerStatusWidth), NAN);
  in.y = nullptr;
  antler::cuda::cellDeerSolve(ctx, t, cfg, dense, p, in, guess.p(), yR.p(), sR.data());
  check(std::string("cellDeerSolve ") + (dense ? "deer" : "quasi") + " (segments refused: a block per sequence) y " + base, yR, ySeq, 10);
  in.y = ySeq.p();
  if (dense) {
    auto lR = Buf<T>::nan(seq);
    antler::cuda::cellDeerAdjoint(ctx, t, cfg, in, g.p(), lR.p(), 0);
    check("cellDeerAdjoint (segments refused: a block per sequence) " + base, lR, lC, 10);
  }
  emu::occupancyReported = 0;
}

// A relu RNN whose state grows ~1.2× a step (to ~1e23 at T = 300), positive drive: a bound of atol + rtol·max |f|
// over the sequence once let a solve stop after 2 iterations with its early steps wrong by as much as their
// values (one draw in three or so). The test is per step and unit (|e| ≤ atol + rtol·|f|, the excess's maxima
// through the warps, the block and the segments): a sequence the kernel calls converged equals the walk,
// relative to each value. sms 4 with B = 4 splits each sequence into segments (a cooperative grid); sms 1 with
// B = 5 runs a block per sequence. Returns how many sequences the kernel called converged (the caller
// requires some in each layout: a kernel that never converged would otherwise check nothing).
template <typename T>
static int fusedGrowthCase(int sms, int64_t B) {
  emu::Device ec(sms, 232448);
  const k::CellConfig cfg{k::CellKind::RnnRelu, 300, B, 6};
  const int64_t n = cfg.n(), seq = cfg.T * B * n;
  CellOperands<T> ops(cfg, 1);
  for (auto& v : ops.xp.v) v = v < T(0) ? -v : v;
  for (int64_t r = 0; r < cfg.H; ++r)
    for (int64_t j = 0; j < cfg.H; ++j) ops.Whh.v[r * cfg.H + j] = static_cast<T>((r == j ? 1.2 : 0) + 0.04 * ops.Whh.v[r * cfg.H + j] * std::sqrt(6.0));
  std::fill(ops.bhh.v.begin(), ops.bhh.v.end(), T(0));
  std::fill(ops.y0.v.begin(), ops.y0.v.end(), T(0));
  antler::CellInputs in = ops.inputs();
  const DType t = dtypeOf<T>();
  auto ySeq = Buf<T>::nan(seq);
  antler::cpu::cellSequential(t, cfg, in, ySeq.p());
  Buf<T> guess(seq, 0, 0);
  k::DeerFusedParams p;
  p.atol = p.rtol = sizeof(T) == 8 ? 1e-10 : 1e-5;
  p.maxIters = 100;
  p.eps = std::numeric_limits<T>::epsilon() / 2;
  const double tol = sizeof(T) == 8 ? 1e-7 : 3e-2;
  int converged = 0;
  for (const bool dense : {true, false}) {
    auto yG = Buf<T>::nan(seq);
    std::vector<double> sG(static_cast<size_t>(B * k::kDeerStatusWidth), NAN);
    antler::cuda::cellDeerSolve(ec.ctx, t, cfg, dense, p, in, guess.p(), yG.p(), sG.data());
    for (int64_t b = 0; b < B; ++b) {
      const long long code = static_cast<long long>(sG[b * k::kDeerStatusWidth]);
      if (code != static_cast<long long>(k::DeerFusedCode::Converged)) continue;
      ++converged;
      double worst = 0;
      for (int64_t tt = 0; tt < cfg.T; ++tt)
        for (int64_t i = 0; i < n; ++i) {
          const int64_t at = (tt * B + b) * n + i;
          const double w = double(ySeq.v[at]);
          worst = std::max(worst, std::fabs(double(yG.v[at]) - w) / (1 + std::fabs(w)));
        }
      char name[160];
      std::snprintf(name, sizeof name, "cellDeerSolve %s, growing relu state, sms=%d B=%lld: converged sequence %lld equals the walk (%.2e)",
                    dense ? "deer" : "quasi", sms, (long long)B, (long long)b, worst);
      emu::checkEqual(name, worst <= tol, true);
    }
  }
  return converged;
}

// ---------------------------------------------------------------- ELK

struct ElkCase {
  int64_t T, B, n;
  bool dense;
  int sms;
};

template <typename T>
static void elkCase(const ElkCase& c) {
  emu::Device ec(c.sms);
  antler::cuda::Context& ctx = ec.ctx;
  const k::ElkConfig cfg{c.T, c.B, c.n, c.dense};
  const size_t seq = static_cast<size_t>(c.T * c.B * c.n);
  const double bound = c.dense ? 1.2 / std::sqrt(double(c.n)) : 1.2;
  Buf<T> a(seq * (c.dense ? c.n : 1), -bound, bound), u(seq), yhat(seq), y0(c.B * c.n);
  Buf<T> lambda(c.B);
  const double lams[] = {0.0, 0.3, 1e4};
  for (int64_t b = 0; b < c.B; ++b) lambda.v[b] = static_cast<T>(lams[b % 3]);
  antler::ElkBuffers in;
  in.a = a.p();
  in.u = u.p();
  in.yhat = yhat.p();
  in.y0 = y0.p();
  in.lambda = lambda.p();
  auto yG = Buf<T>::nan(seq), yC = Buf<T>::nan(seq);
  antler::cuda::deerElk(ctx, dtypeOf<T>(), cfg, in, yG.p());
  antler::cpu::deerElk(dtypeOf<T>(), cfg, in, yC.p());
  char name[160];
  std::snprintf(name, sizeof name, "deerElk %s T=%lld B=%lld n=%lld sms=%d", c.dense ? "dense" : "diagonal",
                (long long)c.T, (long long)c.B, (long long)c.n, c.sms);
  check(name, yG, yC, 100);
}

// ---------------------------------------------------------------- SRU

struct SruCase {
  int64_t L, B, d, dirs, k;
  k::SruSkip skip;
  bool tanh, mask, c0;
  int sms;
};

template <typename T>
static void sruCase(const SruCase& c) {
  emu::Device ec(c.sms);
  antler::cuda::Context& ctx = ec.ctx;
  k::SruConfig cfg;
  cfg.L = c.L;
  cfg.B = c.B;
  cfg.d = c.d;
  cfg.dirs = c.dirs;
  cfg.k = c.k;
  cfg.skip = c.skip;
  cfg.scaleX = 1.3;
  cfg.tanhActivation = c.tanh;
  const int64_t W = c.dirs * c.d, seq = c.L * c.B * W;
  Buf<T> U(seq * c.k, -2, 2), x(seq), wc(2 * W), bias(2 * W), c0(c.B * W), gh(seq), gcLast(c.B * W), guess(seq);
  std::vector<int32_t> mask(static_cast<size_t>(c.L * c.B));
  std::bernoulli_distribution pad(0.25);
  for (auto& m : mask) m = pad(gen) ? 1 : 0;
  antler::SruInputs in;
  in.U = U.p();
  in.x = x.p();
  in.weightC = wc.p();
  in.bias = bias.p();
  in.c0 = c.c0 ? c0.p() : nullptr;
  in.maskPad = c.mask ? mask.data() : nullptr;
  const DType t = dtypeOf<T>();
  char name[200];
  std::snprintf(name, sizeof name, "L=%lld B=%lld d=%lld dirs=%lld k=%lld skip=%d%s%s%s sms=%d", (long long)c.L,
                (long long)c.B, (long long)c.d, (long long)c.dirs, (long long)c.k, static_cast<int>(c.skip),
                c.tanh ? " tanh" : "", c.mask ? " maskPad" : "", c.c0 ? " c0" : "", c.sms);
  const std::string base(name);

  auto hG = Buf<T>::nan(seq), cG = Buf<T>::nan(seq), lastG = Buf<T>::nan(c.B * W);
  auto hC = Buf<T>::nan(seq), cC = Buf<T>::nan(seq), lastC = Buf<T>::nan(c.B * W);
  antler::cuda::sruForward(ctx, t, cfg, in, hG.p(), cG.p(), lastG.p());
  antler::cpu::sruForward(t, cfg, in, hC.p(), cC.p(), lastC.p());
  check("sruForward h " + base, hG, hC);
  check("sruForward c " + base, cG, cC);
  check("sruForward cLast " + base, lastG, lastC);

  const bool scaled = c.skip == k::SruSkip::ScaledInput;
  auto gUG = Buf<T>::nan(seq * c.k), gxG = Buf<T>::nan(seq), gwG = Buf<T>::nan(2 * W), gbG = Buf<T>::nan(2 * W),
       gc0G = Buf<T>::nan(c.B * W);
  auto gUC = Buf<T>::nan(seq * c.k), gxC = Buf<T>::nan(seq), gwC = Buf<T>::nan(2 * W), gbC = Buf<T>::nan(2 * W),
       gc0C = Buf<T>::nan(c.B * W);
  const auto grads = [&](Buf<T>& gU, Buf<T>& gx, Buf<T>& gw, Buf<T>& gb, Buf<T>& gc0) {
    antler::SruGrads g;
    g.gU = gU.p();
    g.gx = scaled ? gx.p() : nullptr;
    g.gWeightC = gw.p();
    g.gBias = gb.p();
    g.gc0 = gc0.p();
    return g;
  };
  // Without, then with the gradient of every step's state (a second derivative's pass through the states).
  Buf<T> gcAll(seq);
  for (const bool withAll : {false, true}) {
    antler::SruInputs inB = in;
    inB.gcAll = withAll ? gcAll.p() : nullptr;
    const std::string what = std::string(withAll ? "sruBackward+gcAll " : "sruBackward ");
    antler::cuda::sruBackward(ctx, t, cfg, inB, cC.p(), gh.p(), gcLast.p(), grads(gUG, gxG, gwG, gbG, gc0G));
    antler::cpu::sruBackward(t, cfg, inB, cC.p(), gh.p(), gcLast.p(), grads(gUC, gxC, gwC, gbC, gc0C));
    check(what + "gU " + base, gUG, gUC);
    if (scaled) check(what + "gx " + base, gxG, gxC);
    check(what + "gWeightC " + base, gwG, gwC, 10);
    check(what + "gBias " + base, gbG, gbC, 10);
    check(what + "gc0 " + base, gc0G, gc0C);
  }

  auto FG = Buf<T>::nan(seq), JG = Buf<T>::nan(seq), oG = Buf<T>::nan(seq), dhG = Buf<T>::nan(seq);
  auto FC = Buf<T>::nan(seq), JC = Buf<T>::nan(seq), oC = Buf<T>::nan(seq), dhC = Buf<T>::nan(seq);
  antler::cuda::sruDeer(ctx, t, cfg, in, guess.p(), FG.p(), JG.p(), oG.p(), nullptr);
  antler::cpu::sruDeer(t, cfg, in, guess.p(), FC.p(), JC.p(), oC.p(), nullptr);
  antler::cuda::sruDeer(ctx, t, cfg, in, guess.p(), nullptr, nullptr, nullptr, dhG.p());
  antler::cpu::sruDeer(t, cfg, in, guess.p(), nullptr, nullptr, nullptr, dhC.p());
  check("sruDeer F " + base, FG, FC);
  check("sruDeer J " + base, JG, JC);
  check("sruDeer bOff " + base, oG, oC);
  check("sruDeer h " + base, dhG, dhC);
}

// The device probe's reading of a build's architecture string (native/core/cuda_archs.h).
void archChecks() {
  struct Case {
    const char* archs;
    int major, minor;
    bool runs;
  };
  const Case cases[] = {
      {"75,80,86,89,90+PTX90", 8, 6, true},   // its own real code
      {"75,80,86,89,90+PTX90", 8, 7, true},   // sm_86's code, same major
      {"75,80,86,89,90+PTX90", 12, 0, true},  // PTX 90, compiled by the driver
      {"75,80,86,89,90+PTX90", 7, 0, false},  // older than every arch
      {"90+PTX90", 8, 6, false},              // a local build for another GPU
      {"90+PTX90", 9, 0, true},
      {"80+PTX80", 8, 9, true},
      {"86,120+PTX120", 10, 0, false},        // sm_86 is another major; PTX 120 is newer
      {"emulated", 6, 1, true},               // nothing to read: the first use decides
      {"unknown", 9, 0, true},
  };
  for (const Case& c : cases)
    emu::checkEqual(std::string("cudaBuildRunsOn(") + c.archs + ", " + std::to_string(c.major) + "." + std::to_string(c.minor) + ")",
                    antler::cudaBuildRunsOn(c.archs, c.major, c.minor), c.runs);
}

int main(int argc, char** argv) {
  emu::start(argc, argv);
  archChecks();
  // Scan: one chunk and many, T not a multiple of the chunk length, n above the
  // block's threads, dense compose in shared memory and in global scratch, several levels.
  const ScanCase scans[] = {{1, 1, 1, false, 4, 232448},   {37, 3, 4, false, 4, 232448}, {500, 2, 5, true, 8, 232448},
                            {300, 1, 6, false, 16, 232448}, {40, 2, 130, false, 2, 4096}, {200, 3, 300, true, 1, 232448},
                            {1000, 70, 3, true, 4, 232448}, {90, 1, 9, false, 32, 1024},
                            // Chunk summaries scanned recursively: four levels dense, four and three diagonal.
                            {20000, 1, 2, false, 32, 232448}, {50000, 1, 1, true, 1, 232448}, {3000, 2, 3, true, 1, 232448}};
  // Cells: every kind; H above a warp and above the block (256 threads); B above the grid's blocks.
  const CellCase cells[] = {{k::CellKind::Gru, 7, 3, 5, 4},       {k::CellKind::Lstm, 7, 3, 5, 4},
                            {k::CellKind::RnnTanh, 7, 3, 5, 4},   {k::CellKind::RnnRelu, 7, 3, 5, 4},
                            {k::CellKind::Gru, 12, 2, 40, 2},     {k::CellKind::Lstm, 9, 2, 40, 2},
                            {k::CellKind::Gru, 3, 1, 300, 1},     {k::CellKind::Lstm, 3, 1, 270, 1},
                            {k::CellKind::RnnTanh, 20, 40, 3, 1}, {k::CellKind::RnnRelu, 5, 2, 33, 2},
                            // Grid walks: items (unit, 4 batch elements) past the resident warps, B not a multiple of 4.
                            {k::CellKind::Gru, 6, 9, 70, 4},      {k::CellKind::RnnRelu, 4, 5, 150, 1}};
  // An LSTM whose state (2n values) and gates (G values) exceed 48 KB of shared memory in float64: the
  // walks read them from global memory instead.
  const CellCase wide = {k::CellKind::Lstm, 2, 1, 1600, 1};
  // ELK: diagonal and dense, one chunk and many.
  const ElkCase elks[] = {{1, 1, 1, false, 4},   {3000, 1, 1, false, 4}, {700, 2, 3, false, 8}, {200, 64, 30, false, 2},
                          {1, 1, 1, true, 4},    {700, 1, 3, true, 8},   {120, 3, 18, true, 2}, {40, 20, 2, true, 1}};
  for (const auto& c : scans) {
    scanCase<double>(c);
    scanCase<float>(c);
  }
  // Residual: one block per column and many, columns above the grid, n = 1 (strided reads).
  // (This build caps the grid at 7 columns: the cases with more take the loop over further columns.)
  const ResidualCase residuals[] = {{1, 1, 1, 4}, {5000, 3, 1, 4}, {300, 70, 7, 1}, {64, 2, 300, 8}, {1000, 9, 5, 64}};
  for (const auto& c : residuals) {
    residualCase<double>(c);
    residualCase<float>(c);
  }
  // expm: every Padé degree (norms from 1e-3 to past the largest bound, several squarings, results within
  // float32's range: e^40 at most), sizes past a warp, and more matrices than one launch takes (65,536; and here
  // 64 KB of scratch: 227 matrices of 3×3 in float32, 3 of 30×30).
  const ExpmCase expms[] = {{1, 1, 1e-3, 4}, {5, 3, 0.1, 4}, {7, 9, 1.5, 2}, {3, 17, 5, 1}, {70000, 1, 3, 8}, {40, 2, 15, 4},
                            {500, 3, 2, 2}, {7, 30, 1, 1}};
  for (const auto& c : expms) {
    expmCase<double>(c);
    expmCase<float>(c);
  }
  for (const auto& c : cells) {
    cellCase<double>(c);
    cellCase<float>(c);
  }
  cellCase<double>(wide);
  // SRU: k = 3 with the scaled-input skip and k = 4 with the projection, one and two directions, identity
  // and tanh, maskPad and c0 or neither; more chains than one block.
  const SruCase srus[] = {{1, 1, 1, 1, 3, k::SruSkip::ScaledInput, false, false, false, 4},
                          {9, 3, 5, 2, 3, k::SruSkip::ScaledInput, true, true, true, 4},
                          {12, 2, 7, 2, 4, k::SruSkip::Projection, false, true, true, 2},
                          {6, 4, 70, 1, 4, k::SruSkip::Projection, true, false, true, 1},
                          {5, 3, 4, 2, 3, k::SruSkip::None, false, true, false, 8}};
  for (const auto& c : srus) {
    sruCase<double>(c);
    sruCase<float>(c);
  }
  for (const auto& c : elks) {
    elkCase<double>(c);
    elkCase<float>(c);
  }
  // Fused solve and adjoint: quasi and dense up to n = 16, maps in shared memory and (optin 1024) in global
  // scratch; T below and above the chunk count; more sequences than blocks (sms 1: 4 blocks); H = 32 (quasi
  // only). Sequences split into segments over a cooperative grid (K = blocks per sequence: 4 blocks per
  // multiprocessor here, at least 2 steps per chunk): gru H=16 K=2, gru H=32 K=4 (quasi), gru H=1 K=2,
  // lstm H=8 K=4 (maps in global scratch), rnn_tanh H=3 K=2 with B=3; gru H=32 T=400 (quasi) and H=16 T=300
  // (dense, and the adjoint) K=4, whose K from an overstated occupancy (16) makes a grid the device refuses
  // (fusedCase's last checks).
  const FusedCase fused[] = {{k::CellKind::Gru, 300, 3, 1, 2, 232448},     {k::CellKind::Gru, 37, 2, 3, 1, 1024},
                             {k::CellKind::Lstm, 120, 2, 2, 4, 232448},    {k::CellKind::Lstm, 90, 2, 8, 1, 1024},
                             {k::CellKind::RnnTanh, 200, 5, 4, 1, 232448}, {k::CellKind::Gru, 64, 2, 16, 2, 232448},
                             {k::CellKind::RnnRelu, 50, 2, 5, 2, 1024},    {k::CellKind::Gru, 70, 1, 32, 1, 232448},
                             {k::CellKind::Gru, 1100, 1, 1, 2, 232448},    {k::CellKind::Lstm, 300, 1, 8, 2, 1024},
                             {k::CellKind::RnnTanh, 300, 3, 3, 4, 232448}, {k::CellKind::Gru, 400, 1, 32, 1, 232448},
                             {k::CellKind::Gru, 300, 1, 16, 1, 232448}};
  for (const auto& c : fused) {
    fusedCase<double>(c);
    fusedCase<float>(c);
  }
  // (Many draws stall at their rounding floor and fall back, none converging in about one draw in five:
  // fresh draws until some converge, at most 6.)
  for (const auto& [sms, B] : {std::pair<int, int64_t>{4, 4}, {1, 5}}) {
    int converged = 0, draws = 0;
    for (; draws < 6 && converged == 0; ++draws) converged += fusedGrowthCase<double>(sms, B) + fusedGrowthCase<float>(sms, B);
    emu::checkEqual("cellDeerSolve, growing relu state, sms=" + std::to_string(sms) + ": some sequences converged (" +
                        std::to_string(converged) + " in " + std::to_string(draws) + " draw(s))",
                    converged > 0, true);
  }
  return emu::finish();
}
