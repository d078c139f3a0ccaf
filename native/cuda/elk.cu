// One quasi-ELK step on the GPU (math in kernels/elk.h): the Kalman filter
// and the smoother as chunked associative scans, parallel over chains and
// over time.
//
// Each chain's T steps are cut into C chunks; one thread owns one (chain,
// chunk), and the thread index runs over chains fastest, so a warp reads 32
// neighbouring entries of every [T, B, n] operand. Six kernels:
//   filter 1: chunks 0 … C−2 fold their elements into summaries;
//   filter 2: one thread per chain scans the summaries into exclusive prefixes;
//   filter 3: every chunk folds again from its prefix, writing m and P;
//   smoother 1–3: the same in reverse time over the pairs (E, g).
// With C = 1 only the two walks (filter 3, smoother 3) run.
//
// Dense Jacobian: elk_dense.cuh (kernels and launch plan), scratch from the pool here.
#include "../kernels/elk.h"
#include "../kernels/scan.h"
#include "elk_dense.cuh"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

// Threads in flight the chunking aims for, per multiprocessor.
constexpr int64_t kElkThreadsPerSm = 1024;
// Each chunk has at least this many steps.
constexpr int64_t kElkMinChunkSteps = 16;

template <typename T>
static __global__ void elkFilterSummaryKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan,
                                              k::KalmanElement<T>* __restrict__ sums) {
  const int64_t chains = cfg.chains(), tasks = chains * (plan.count - 1);
  for (int64_t i = gridStart(); i < tasks; i += gridStride()) {
    const int64_t q = i / chains, c = i - q * chains;
    sums[i] = k::elkFilterFold(cfg, in, c, plan.begin(q), plan.end(q), k::KalmanElement<T>{},
                               static_cast<T*>(nullptr), static_cast<T*>(nullptr));
  }
}

// sums (chunk-major, chains fastest) become the exclusive prefixes, in place.
template <typename T>
static __global__ void elkFilterPrefixKernel(k::ElkConfig cfg, k::ScanChunks plan,
                                             k::KalmanElement<T>* __restrict__ sums) {
  const int64_t chains = cfg.chains();
  for (int64_t c = gridStart(); c < chains; c += gridStride()) {
    k::KalmanElement<T> acc;
    for (int64_t q = 0; q < plan.count; ++q) {
      const int64_t at = q * chains + c;
      const k::KalmanElement<T> own = sums[at];
      sums[at] = acc;
      if (q + 1 < plan.count) acc = k::kalmanCombine(acc, own);
    }
  }
}

template <typename T>
static __global__ void elkFilterReplayKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan,
                                             const k::KalmanElement<T>* __restrict__ starts, T* __restrict__ m,
                                             T* __restrict__ P) {
  const int64_t chains = cfg.chains(), tasks = chains * plan.count;
  for (int64_t i = gridStart(); i < tasks; i += gridStride()) {
    const int64_t q = i / chains, c = i - q * chains;
    k::elkFilterFold(cfg, in, c, plan.begin(q), plan.end(q), starts ? starts[i] : k::KalmanElement<T>{}, m, P);
  }
}

// Chunks 1 … C−1: the map from s at the chunk's end to s at its start.
template <typename T>
static __global__ void elkSmootherSummaryKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan,
                                                const T* __restrict__ m, const T* __restrict__ P,
                                                k::SmootherStep<T>* __restrict__ sums) {
  const int64_t chains = cfg.chains(), tasks = chains * (plan.count - 1);
  for (int64_t i = gridStart(); i < tasks; i += gridStride()) {
    const int64_t q = i / chains + 1, c = i - (q - 1) * chains;
    sums[q * chains + c] = k::elkSmootherCompose(cfg, in, m, P, c, plan.begin(q), plan.end(q),
                                                 k::SmootherStep<T>{T(1), T(0)});
  }
}

// The value entering each chunk from above, from the last chunk down.
template <typename T>
static __global__ void elkSmootherPrefixKernel(k::ElkConfig cfg, k::ScanChunks plan,
                                               const k::SmootherStep<T>* __restrict__ sums, T* __restrict__ into) {
  const int64_t chains = cfg.chains();
  for (int64_t c = gridStart(); c < chains; c += gridStride()) {
    T s = T(0);
    for (int64_t q = plan.count - 1; q >= 0; --q) {
      const int64_t at = q * chains + c;
      into[at] = s;
      if (q > 0) s = sums[at].E * s + sums[at].g;
    }
  }
}

// m is y itself (launchElk): no __restrict__ on either.
template <typename T>
static __global__ void elkSmootherReplayKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan,
                                               const T* m, const T* __restrict__ P, const T* __restrict__ into,
                                               T* y) {
  const int64_t chains = cfg.chains(), tasks = chains * plan.count;
  for (int64_t i = gridStart(); i < tasks; i += gridStride()) {
    const int64_t q = i / chains, c = i - q * chains;
    k::elkSmootherWalk(cfg, in, m, P, c, plan.begin(q), plan.end(q), into ? into[i] : T(0), y);
  }
}

// C: enough (chain, chunk) threads to fill the GPU, chunks of at least
// kElkMinChunkSteps, and no more than about √(2T) (a chunk walks its steps
// twice, the prefix scan walks C summaries).
static int64_t elkChunks(const Context& ctx, const k::ElkConfig& cfg) {
  return k::chunkCount(cfg.T, cfg.chains(), kElkThreadsPerSm * ctx.multiprocessors, kElkMinChunkSteps, true);
}

template <typename T>
static void launchElk(Context& ctx, const k::ElkConfig& cfg, const ElkBuffers& buf, T* y) {
  const k::ElkInputs<T> in = typedElkInputs<T>(buf);
  const int64_t chains = cfg.chains(), seq = cfg.T * chains;
  const k::ScanChunks plan = k::scanChunks(cfg.T, elkChunks(ctx, cfg));
  const int64_t tasks = chains * plan.count;
  // The filtered means go straight into y (the smoother then overwrites them
  // in place, elk.h); P is scratch.
  PoolBuffer variances(ctx, static_cast<size_t>(seq) * sizeof(T));
  T* m = y;
  T* P = static_cast<T*>(variances.get());
  const unsigned perChain = gridFor(ctx, chains), perTask = gridFor(ctx, tasks);
  if (plan.count == 1) {
    elkFilterReplayKernel<T><<<perTask, kBlockSize, 0, ctx.stream>>>(cfg, in, plan, nullptr, m, P);
    ANTLER_LAUNCH_CHECK("deerElk");
    elkSmootherReplayKernel<T><<<perTask, kBlockSize, 0, ctx.stream>>>(cfg, in, plan, m, P, nullptr, y);
    ANTLER_LAUNCH_CHECK("deerElk");
    return;
  }
  PoolBuffer filterSums(ctx, static_cast<size_t>(tasks) * sizeof(k::KalmanElement<T>));
  PoolBuffer smootherSums(ctx, static_cast<size_t>(tasks) * sizeof(k::SmootherStep<T>));
  PoolBuffer into(ctx, static_cast<size_t>(tasks) * sizeof(T));
  auto* fs = static_cast<k::KalmanElement<T>*>(filterSums.get());
  auto* ss = static_cast<k::SmootherStep<T>*>(smootherSums.get());
  T* in0 = static_cast<T*>(into.get());
  elkFilterSummaryKernel<T><<<gridFor(ctx, tasks - chains), kBlockSize, 0, ctx.stream>>>(cfg, in, plan, fs);
  ANTLER_LAUNCH_CHECK("deerElk");
  elkFilterPrefixKernel<T><<<perChain, kBlockSize, 0, ctx.stream>>>(cfg, plan, fs);
  ANTLER_LAUNCH_CHECK("deerElk");
  elkFilterReplayKernel<T><<<perTask, kBlockSize, 0, ctx.stream>>>(cfg, in, plan, fs, m, P);
  ANTLER_LAUNCH_CHECK("deerElk");
  elkSmootherSummaryKernel<T><<<gridFor(ctx, tasks - chains), kBlockSize, 0, ctx.stream>>>(cfg, in, plan, m, P, ss);
  ANTLER_LAUNCH_CHECK("deerElk");
  elkSmootherPrefixKernel<T><<<perChain, kBlockSize, 0, ctx.stream>>>(cfg, plan, ss, in0);
  ANTLER_LAUNCH_CHECK("deerElk");
  elkSmootherReplayKernel<T><<<perTask, kBlockSize, 0, ctx.stream>>>(cfg, in, plan, m, P, in0, y);
  ANTLER_LAUNCH_CHECK("deerElk");
}

// ---------------------------------------------------------------- dense

template <typename T>
static void launchElkDense(Context& ctx, const k::ElkConfig& cfg, const ElkBuffers& buf, T* y) {
  const k::ElkInputs<T> in = typedElkInputs<T>(buf);
  const elk_dense::Plan plan = elk_dense::makePlan(ctx.multiprocessors, cfg, sizeof(T));
  PoolBuffer covariances(ctx, plan.PValues * sizeof(T));
  PoolBuffer work(ctx, plan.workspaceValues * sizeof(T));
  PoolBuffer summaries(ctx, (plan.summaryValues > 0 ? plan.summaryValues : 1) * sizeof(T));
  const auto launch = [&](auto kernel, unsigned grid, auto... args) {
    kernel<<<grid, plan.threads, 0, ctx.stream>>>(args...);
    ANTLER_LAUNCH_CHECK("deerElk (dense)");
  };
  elk_dense::run<T>(launch, plan, cfg, in, static_cast<T*>(covariances.get()), static_cast<T*>(work.get()),
                    static_cast<T*>(summaries.get()), y);
}

void deerElk(Context& ctx, DType t, const k::ElkConfig& cfg, const ElkBuffers& in, void* y) {
  if (cfg.T <= 0 || cfg.B <= 0 || cfg.n <= 0) return;
  switch (t) {
    case DType::Float32:
      return cfg.dense ? launchElkDense<float>(ctx, cfg, in, static_cast<float*>(y))
                       : launchElk<float>(ctx, cfg, in, static_cast<float*>(y));
    case DType::Float64:
      return cfg.dense ? launchElkDense<double>(ctx, cfg, in, static_cast<double*>(y))
                       : launchElk<double>(ctx, cfg, in, static_cast<double*>(y));
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.elk: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
