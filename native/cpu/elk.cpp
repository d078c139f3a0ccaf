// One quasi-ELK step on the CPU (math in kernels/elk.h): per chain, the
// Kalman filter as a fold of scan elements, then the smoother in reverse time.
//
// Chains are independent. When there are fewer chains than threads and T is
// long, each chain's steps are cut into chunks and run in the same three
// phases as the GPU (and as cpu/scan.cpp): fold each chunk's elements, scan
// the chunk summaries, replay each chunk from its true prefix; then the same
// for the smoother from the last chunk down.
#include <vector>

#include "../core/error.h"
#include "../kernels/elk.h"
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
  if (cfg.T >= kElkChunkMinSteps && chains < threads) {
    chunks = (threads + chains - 1) / chains;
    if (chunks > cfg.T / kElkMinChunkSteps) chunks = cfg.T / kElkMinChunkSteps;
    if (chunks < 1) chunks = 1;
  }
  const k::ScanChunks plan = k::scanChunks(cfg.T, chunks);
  chunks = plan.count;

  if (chunks == 1) {
    ANTLER_PARALLEL_FOR(cfg.T * chains * 16)
    for (int64_t c = 0; c < chains; ++c) {
      k::elkFilterFold(cfg, in, c, 0, cfg.T, k::KalmanElement<T>{}, m, P.data());
      k::elkSmootherWalk(cfg, in, m, P.data(), c, 0, cfg.T, T(0), y);
    }
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

void deerElk(DType t, const k::ElkConfig& cfg, const ElkBuffers& in, void* y) {
  switch (t) {
    case DType::Float32: return elkTyped<float>(cfg, in, static_cast<float*>(y));
    case DType::Float64: return elkTyped<double>(cfg, in, static_cast<double*>(y));
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.elk: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
