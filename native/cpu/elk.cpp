// One ELK step on the CPU (math in kernels/elk.h, and kernels/elk_dense.h
// for the dense Jacobian): per chain, the Kalman filter as a fold of scan
// elements, then the smoother in reverse time. A chain is one (batch element,
// state entry) with the diagonal Jacobian, one batch element with the dense.
//
// Chains are independent. When there are fewer chains than threads and T is
// long, each chain's steps are cut into chunks and run in the same three
// phases as the GPU (and as cpu/scan.cpp): fold each chunk's elements, scan
// the chunk summaries, replay each chunk from its true prefix; then the same
// for the smoother from the last chunk down.
#include <algorithm>
#include <vector>

#include "../core/error.h"
#include "../kernels/elk.h"
#include "../kernels/elk_dense.h"
#include "../kernels/scan.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

// Below this many steps per chain the plain walk is used.
constexpr int64_t kElkChunkMinSteps = 512;
// Each chunk has at least this many steps.
constexpr int64_t kElkMinChunkSteps = 64;

template <typename T>
static void elkTyped(const k::ElkConfig& cfg, const ElkBuffers& buf, T* y) {
  const k::ElkInputs<T> in = typedElkInputs<T>(buf);
  const int64_t chains = cfg.chains();
  // The filtered means go straight into y (the smoother then overwrites them in place); P is scratch.
  std::vector<T> P(static_cast<size_t>(cfg.T * chains));
  T* m = y;

  int64_t chunks = 1;
  const int64_t threads = numThreads();
  if (cfg.T >= kElkChunkMinSteps && chains < threads)
    chunks = k::chunkCount(cfg.T, chains, threads, kElkMinChunkSteps, false);
  const k::ScanChunks plan = k::scanChunks(cfg.T, chunks);
  chunks = plan.count;

  if (chunks == 1) {
    parallelFor(chains, cfg.T * chains * 16, [&](int64_t c) {
      k::elkFilterFold(cfg, in, c, 0, cfg.T, k::KalmanElement<T>{}, m, P.data());
      k::elkSmootherWalk(cfg, in, m, P.data(), c, 0, cfg.T, T(0), y);
    });
    return;
  }

  const int64_t tasks = chains * chunks;
  std::vector<k::KalmanElement<T>> filterSum(static_cast<size_t>(tasks)), filterStart(static_cast<size_t>(tasks));
  std::vector<k::SmootherStep<T>> smootherSum(static_cast<size_t>(tasks));
  std::vector<T> smootherIn(static_cast<size_t>(tasks));

  // Filter phase 1: every chunk but the last folds its elements.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t c = task / chunks, q = task % chunks;
    if (q + 1 < chunks)
      filterSum[task] = k::elkFilterFold(cfg, in, c, plan.begin(q), plan.end(q), k::KalmanElement<T>{},
                                         static_cast<T*>(nullptr), static_cast<T*>(nullptr));
  }
  // Phase 2: the exclusive prefix of every chunk.
  for (int64_t c = 0; c < chains; ++c) {
    k::KalmanElement<T> acc;
    for (int64_t q = 0; q < chunks; ++q) {
      const int64_t task = c * chunks + q;
      filterStart[task] = acc;
      if (q + 1 < chunks) acc = k::kalmanCombine(acc, filterSum[task]);
    }
  }
  // Phase 3: replay every chunk from its prefix, writing m and P.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t c = task / chunks, q = task % chunks;
    k::elkFilterFold(cfg, in, c, plan.begin(q), plan.end(q), filterStart[task], m, P.data());
  }

  // Smoother phase 1: every chunk but the first composes its steps (the map from s at its end to s at its start).
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t c = task / chunks, q = task % chunks;
    if (q > 0)
      smootherSum[task] = k::elkSmootherCompose(cfg, in, m, P.data(), c, plan.begin(q), plan.end(q),
                                                k::SmootherStep<T>{T(1), T(0)});
  }
  // Phase 2: the value entering every chunk from above, from the last chunk down.
  for (int64_t c = 0; c < chains; ++c) {
    T s = T(0);  // unused by the last chunk: its last step has E = 0
    for (int64_t q = chunks - 1; q >= 0; --q) {
      const int64_t task = c * chunks + q;
      smootherIn[task] = s;
      if (q > 0) s = smootherSum[task].E * s + smootherSum[task].g;
    }
  }
  // Phase 3: replay. Compose read m of every chunk before any is overwritten here.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t c = task / chunks, q = task % chunks;
    k::elkSmootherWalk(cfg, in, m, P.data(), c, plan.begin(q), plan.end(q), smootherIn[task], y);
  }
}

// Dense: the same phases over batch elements, each OpenMP thread a
// SerialLanes group with its own workspace.
template <typename T>
static void elkDenseTyped(const k::ElkConfig& cfg, const ElkBuffers& buf, T* y) {
  const k::ElkInputs<T> in = typedElkInputs<T>(buf);
  const k::SerialLanes L;
  const int64_t n = cfg.n, nn = n * n, es = k::elkDenseElementSize(n), pair = nn + n;
  const int64_t wsSize = std::max(k::elkDenseWorkspace(n), k::elkDenseSmootherWorkspace(n));
  std::vector<T> P(static_cast<size_t>(cfg.T * cfg.B * nn));
  T* m = y;

  // Threads only when the work pays for waking them; chunks (more work in
  // all, but parallel over time) only then, for fewer batch elements than threads.
  const int64_t threads = numThreads();
  const bool parallel = threads > 1 && cfg.T * cfg.B * nn * n >= 32768;
  int64_t chunks = 1;
  if (parallel && cfg.T >= kElkChunkMinSteps && cfg.B < threads)
    chunks = k::chunkCount(cfg.T, cfg.B, threads, kElkMinChunkSteps, false);
  const k::ScanChunks plan = k::scanChunks(cfg.T, chunks);
  chunks = plan.count;
  const int64_t tasks = cfg.B * chunks;
  // One workspace per OpenMP thread.
  std::vector<T> ws(static_cast<size_t>((parallel ? threads : 1) * wsSize));
  auto wsOf = [&]() {
#if defined(_OPENMP)
    return ws.data() + (parallel ? static_cast<int64_t>(omp_get_thread_num()) : 0) * wsSize;
#else
    return ws.data();
#endif
  };

  if (chunks == 1) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (int64_t b = 0; b < cfg.B; ++b) {
      k::denseFilterFold(L, cfg, in, b, 0, cfg.T, static_cast<const T*>(nullptr), static_cast<T*>(nullptr), m,
                         P.data(), wsOf());
      k::denseSmootherWalk(L, cfg, in, m, P.data(), b, 0, cfg.T, static_cast<const T*>(nullptr), y, wsOf());
    }
    return;
  }

  // Per task (batch element b, chunk q) at b·C + q: the chunk's summary and its exclusive prefix.
  std::vector<T> sums(static_cast<size_t>(tasks * es)), starts(static_cast<size_t>(tasks * es));
  std::vector<T> smootherSum(static_cast<size_t>(tasks * pair)), smootherIn(static_cast<size_t>(tasks * n), T(0));
  // Filter phase 1: every chunk but the last folds its elements.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / chunks, q = task % chunks;
    if (q + 1 < chunks)
      k::denseFilterFold(L, cfg, in, b, plan.begin(q), plan.end(q), static_cast<const T*>(nullptr),
                         sums.data() + task * es, static_cast<T*>(nullptr), static_cast<T*>(nullptr), wsOf());
  }
  // Phase 2: the exclusive prefix of chunks 1 … C−1.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (int64_t b = 0; b < cfg.B; ++b)
    k::denseFilterPrefixes(L, n, chunks, b, sums.data(), starts.data(), k::denseTempsAt(wsOf(), n));
  // Phase 3: replay every chunk from its prefix, writing m and P.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / chunks, q = task % chunks;
    k::denseFilterFold(L, cfg, in, b, plan.begin(q), plan.end(q), q == 0 ? nullptr : starts.data() + task * es,
                       static_cast<T*>(nullptr), m, P.data(), wsOf());
  }
  // Smoother phase 1: every chunk but the first composes its maps (s at its end to s at its start).
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / chunks, q = task % chunks;
    if (q > 0)
      k::denseSmootherCompose(L, cfg, in, m, P.data(), b, plan.begin(q), plan.end(q),
                              smootherSum.data() + task * pair, wsOf());
  }
  // Phase 2: the value entering every chunk from above.
  for (int64_t b = 0; b < cfg.B; ++b) k::denseSmootherPrefixes(L, n, chunks, b, smootherSum.data(), smootherIn.data());
  // Phase 3: replay. Compose read m of every chunk before any is overwritten here.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t b = task / chunks, q = task % chunks;
    k::denseSmootherWalk(L, cfg, in, m, P.data(), b, plan.begin(q), plan.end(q),
                         q + 1 == chunks ? nullptr : smootherIn.data() + task * n, y, wsOf());
  }
}

void deerElk(DType t, const k::ElkConfig& cfg, const ElkBuffers& in, void* y) {
  switch (t) {
    case DType::Float32:
      return cfg.dense ? elkDenseTyped<float>(cfg, in, static_cast<float*>(y))
                       : elkTyped<float>(cfg, in, static_cast<float*>(y));
    case DType::Float64:
      return cfg.dense ? elkDenseTyped<double>(cfg, in, static_cast<double*>(y))
                       : elkTyped<double>(cfg, in, static_cast<double*>(y));
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.elk: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
