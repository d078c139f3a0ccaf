// Runs native/cuda/elk_dense.cuh (the dense ELK step's six kernels and their
// launch plan) under the host emulation of cuda_emu.h and compares it with
// the same math run serially (kernels/elk_dense.h with SerialLanes, the CPU's
// one-chunk path). Scratch and outputs start as NaN, so a value read before
// it is written, or never written, shows. Prints one line per case and
// "emulation: N passed, M failed"; exits 1 on a failure.
// Usage: elk_dense_emu SEED
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "cuda_emu.h"
// clang-format off
#include "../../native/cuda/elk_dense.cuh"
// clang-format on

namespace k = antler::kernels;
namespace ed = antler::cuda::elk_dense;

struct Case {
  int64_t T, B, n;
  int multiprocessors;
};

template <typename T>
static double runCase(const Case& c, std::mt19937& rng, ed::Plan& planOut) {
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  const int64_t len = c.T * c.B * c.n;
  std::vector<T> F(static_cast<size_t>(len * c.n)), u(len), yhat(len), y0(c.B * c.n), lambda(c.B);
  const double scale = 0.9 / std::sqrt(static_cast<double>(c.n));
  for (auto& v : F) v = static_cast<T>(U(rng) * scale);
  for (auto& v : u) v = static_cast<T>(U(rng));
  for (auto& v : yhat) v = static_cast<T>(U(rng));
  for (auto& v : y0) v = static_cast<T>(U(rng));
  const double lams[] = {0.0, 0.3, 1e4};
  for (int64_t b = 0; b < c.B; ++b) lambda[b] = static_cast<T>(lams[b % 3]);
  k::ElkConfig cfg;
  cfg.T = c.T;
  cfg.B = c.B;
  cfg.n = c.n;
  cfg.dense = true;
  k::ElkInputs<T> in;
  in.a = F.data();
  in.u = u.data();
  in.yhat = yhat.data();
  in.y0 = y0.data();
  in.lambda = lambda.data();

  // The serial reference.
  const int64_t nn = c.n * c.n;
  std::vector<T> ref(len), P(static_cast<size_t>(c.T * c.B * nn));
  std::vector<T> ws(static_cast<size_t>(std::max(k::elkDenseWorkspace(c.n), k::elkDenseSmootherWorkspace(c.n))));
  const k::SerialLanes L;
  for (int64_t b = 0; b < c.B; ++b) {
    k::denseFilterFold(L, cfg, in, b, 0, c.T, static_cast<const T*>(nullptr), static_cast<T*>(nullptr), ref.data(),
                       P.data(), ws.data());
    k::denseSmootherWalk(L, cfg, in, ref.data(), P.data(), b, 0, c.T, static_cast<const T*>(nullptr), ref.data(),
                         ws.data());
  }

  // The kernels, on NaN-filled buffers.
  const ed::Plan plan = ed::makePlan(c.multiprocessors, cfg, sizeof(T));
  planOut = plan;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> mP(plan.mPValues, nan), work(plan.workspaceValues, nan), sums(std::max<size_t>(plan.summaryValues, 1), nan),
      y(len, nan);
  const auto launch = [&](auto kernel, unsigned grid, auto... args) { emu::launch(rng, kernel, grid, plan.threads, args...); };
  ed::run<T>(launch, plan, cfg, in, mP.data(), work.data(), sums.data(), y.data());

  double worst = 0;
  for (int64_t i = 0; i < len; ++i) {
    const double d = std::fabs(static_cast<double>(y[i]) - static_cast<double>(ref[i])) /
                     std::max(1.0, std::fabs(static_cast<double>(ref[i])));
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

int main(int argc, char** argv) {
  const unsigned seed = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 1u;
  std::mt19937 rng(seed);
  // One chunk and many; T not a multiple of the chunk length; T = 1; n = 1;
  // n² above the block's 256 threads; more tasks than blocks (grid-stride loops).
  const Case cases[] = {{1, 1, 1, 4},    {37, 3, 4, 4},   {700, 1, 3, 8},   {333, 2, 5, 6},  {90, 1, 1, 16},
                        {200, 1, 20, 4}, {40, 20, 2, 2},  {64, 3, 6, 1},    {1000, 1, 8, 32}, {17, 1, 2, 8}};
  int passed = 0, failed = 0;
  for (const Case& c : cases) {
    ed::Plan p64, p32;
    const double e64 = runCase<double>(c, rng, p64);
    const double e32 = runCase<float>(c, rng, p32);
    const bool ok = e64 <= 1e-9 && e32 <= 1e-3;
    (ok ? passed : failed) += 1;
    std::printf("%s T=%lld B=%lld n=%lld sms=%d chunks=%lld blocks=%u threads=%d: float64 %.3g, float32 %.3g\n",
                ok ? "ok" : "FAIL", static_cast<long long>(c.T), static_cast<long long>(c.B), static_cast<long long>(c.n),
                c.multiprocessors, static_cast<long long>(p64.chunks.count), p64.blocks, p64.threads, e64, e32);
  }
  std::printf("emulation: %d passed, %d failed (%lld block-wide barriers)\n", passed, failed, static_cast<long long>(emu::barriers));
  return failed ? 1 : 0;
}
