// The dense ELK step on the GPU (math in kernels/elk_dense.h): the Kalman
// filter and the smoother as chunked associative scans, one thread block per
// (batch element, chunk) whose threads split the entries of every n×n product
// and of the Gauss–Jordan inverses, with __syncthreads between phases. Six
// kernels, as for the diagonal step in elk.cu:
//   filter 1: chunks 0 … C−2 fold their elements into summaries;
//   filter 2: one block per batch element combines the summaries into
//             exclusive prefixes;
//   filter 3: every chunk folds again from its prefix, writing m and P;
//   smoother 1–3: the same in reverse time over the affine maps (E, g).
// With C = 1 only filter 3 and smoother 3 run.
//
// This header needs only the CUDA language (no runtime calls, no Context), so
// test/emu/ compiles it for the host with an emulation of threads, blocks and
// __syncthreads and checks it against the CPU; elk.cu supplies the launches
// and the pool scratch.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../kernels/elk_dense.h"
#include "../kernels/scan.h"
#include "lanes.cuh"

namespace antler::cuda::elk_dense {

namespace k = kernels;

// Tasks are (batch element b, chunk q) at b·C + q; block i works on tasks i,
// i + gridDim.x, … with workspace ws + i·wsSize.
template <typename T>
__global__ void filterSummaryKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan, T* sums, T* ws,
                                    int64_t wsSize) {
  const BlockLanes L;
  const int64_t es = k::elkDenseElementSize(cfg.n);
  T* own = ws + blockIdx.x * wsSize;
  for (int64_t task = blockIdx.x; task < cfg.B * plan.count; task += gridDim.x) {
    const int64_t b = task / plan.count, q = task % plan.count;
    if (q + 1 < plan.count)
      k::denseFilterFold(L, cfg, in, b, plan.begin(q), plan.end(q), static_cast<const T*>(nullptr), sums + task * es,
                         static_cast<T*>(nullptr), static_cast<T*>(nullptr), own);
  }
}

// One block per batch element: starts[b·C + q] = the prefix of chunks 0 … q−1 (q ≥ 1).
template <typename T>
__global__ void filterPrefixKernel(k::ElkConfig cfg, k::ScanChunks plan, const T* sums, T* starts, T* ws,
                                   int64_t wsSize) {
  const BlockLanes L;
  const k::DenseTemps<T> w = k::denseTempsAt(ws + blockIdx.x * wsSize, cfg.n);
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) k::denseFilterPrefixes(L, cfg.n, plan.count, b, sums, starts, w);
}

template <typename T>
__global__ void filterReplayKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan, const T* starts, T* m,
                                   T* P, T* ws, int64_t wsSize) {
  const BlockLanes L;
  const int64_t es = k::elkDenseElementSize(cfg.n);
  T* own = ws + blockIdx.x * wsSize;
  for (int64_t task = blockIdx.x; task < cfg.B * plan.count; task += gridDim.x) {
    const int64_t b = task / plan.count, q = task % plan.count;
    k::denseFilterFold(L, cfg, in, b, plan.begin(q), plan.end(q), q == 0 ? nullptr : starts + task * es,
                       static_cast<T*>(nullptr), m, P, own);
  }
}

// Chunks 1 … C−1: the map from s at the chunk's end to s at its start.
template <typename T>
__global__ void smootherSummaryKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan, const T* m,
                                      const T* P, T* sums, T* ws, int64_t wsSize) {
  const BlockLanes L;
  const int64_t pair = cfg.n * cfg.n + cfg.n;
  T* own = ws + blockIdx.x * wsSize;
  for (int64_t task = blockIdx.x; task < cfg.B * plan.count; task += gridDim.x) {
    const int64_t b = task / plan.count, q = task % plan.count;
    if (q > 0) k::denseSmootherCompose(L, cfg, in, m, P, b, plan.begin(q), plan.end(q), sums + task * pair, own);
  }
}

// One block per batch element: into[b·C + q] = s at the end of chunk q, from
// the last chunk down (into[b·C + C − 1] is set to 0 and never read by a walk).
template <typename T>
__global__ void smootherPrefixKernel(k::ElkConfig cfg, k::ScanChunks plan, const T* sums, T* into) {
  const BlockLanes L;
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) k::denseSmootherPrefixes(L, cfg.n, plan.count, b, sums, into);
}

template <typename T>
__global__ void smootherReplayKernel(k::ElkConfig cfg, k::ElkInputs<T> in, k::ScanChunks plan, const T* m,
                                     const T* P, const T* into, T* y, T* ws, int64_t wsSize) {
  const BlockLanes L;
  T* own = ws + blockIdx.x * wsSize;
  for (int64_t task = blockIdx.x; task < cfg.B * plan.count; task += gridDim.x) {
    const int64_t b = task / plan.count, q = task % plan.count;
    k::denseSmootherWalk(L, cfg, in, m, P, b, plan.begin(q), plan.end(q),
                         q + 1 == plan.count ? nullptr : into + task * cfg.n, y, own);
  }
}

// Chunking: about kBlocksPerSm blocks per multiprocessor over the batch,
// chunks of at least kMinChunkSteps and at most about √(2T) of them, and the
// per-task summaries within kSummaryBytes.
constexpr int64_t kBlocksPerSm = 2;
constexpr int64_t kMinChunkSteps = 16;
constexpr size_t kSummaryBytes = size_t(256) << 20;
// Blocks in flight at most (each owns a workspace): per multiprocessor.
constexpr int64_t kMaxBlocksPerSm = 8;

// What one step launches and allocates; sizes in values of T.
struct Plan {
  k::ScanChunks chunks;
  int threads = 32;
  unsigned blocks = 1, perBatch = 1;
  int64_t wsSize = 0;
  size_t PValues = 0, workspaceValues = 0, summaryValues = 0;
};

inline Plan makePlan(int multiprocessors, const k::ElkConfig& cfg, size_t valueBytes) {
  const int64_t n = cfg.n, nn = n * n, es = k::elkDenseElementSize(n);
  int64_t C = k::chunkCount(cfg.T, cfg.B, kBlocksPerSm * multiprocessors, kMinChunkSteps, true);
  const size_t perChunk = static_cast<size_t>(cfg.B) * valueBytes * static_cast<size_t>(2 * es + nn + 2 * n);
  const int64_t cap = static_cast<int64_t>(kSummaryBytes / perChunk);
  if (C > cap) C = cap;
  Plan p;
  p.chunks = k::scanChunks(cfg.T, C >= 2 ? C : 1);
  // Threads: enough for the n² entries of a product, a multiple of 32, at most 256.
  while (p.threads < 256 && p.threads < nn) p.threads *= 2;
  const int64_t tasks = cfg.B * p.chunks.count;
  const int64_t maxBlocks = kMaxBlocksPerSm * multiprocessors;
  p.blocks = static_cast<unsigned>(tasks < maxBlocks ? tasks : maxBlocks);
  p.perBatch = static_cast<unsigned>(cfg.B < maxBlocks ? cfg.B : maxBlocks);
  p.wsSize = k::elkDenseWorkspace(n) > k::elkDenseSmootherWorkspace(n) ? k::elkDenseWorkspace(n)
                                                                        : k::elkDenseSmootherWorkspace(n);
  p.PValues = static_cast<size_t>(cfg.T * cfg.B * nn);
  p.workspaceValues = static_cast<size_t>(p.blocks) * static_cast<size_t>(p.wsSize);
  p.summaryValues = p.chunks.count > 1 ? static_cast<size_t>(tasks * (2 * es + nn + 2 * n)) : 0;
  return p;
}

// The six launches (two when C = 1). launch(kernel, grid, args...) runs
// kernel<<<grid, plan.threads>>>(args...) and checks it. P holds the filtered
// covariances (plan.PValues); the filtered means go into y, which the
// smoother then overwrites in place (elk_dense.h); ws holds the blocks'
// workspaces, summaries plan.summaryValues.
template <typename T, typename Launch>
void run(Launch&& launch, const Plan& plan, const k::ElkConfig& cfg, const k::ElkInputs<T>& in, T* P, T* ws,
         T* summaries, T* y) {
  const int64_t n = cfg.n, nn = n * n, es = k::elkDenseElementSize(n), tasks = cfg.B * plan.chunks.count;
  T* m = y;
  const int64_t W = plan.wsSize;
  if (plan.chunks.count == 1) {
    launch(filterReplayKernel<T>, plan.blocks, cfg, in, plan.chunks, static_cast<const T*>(nullptr), m, P, ws, W);
    launch(smootherReplayKernel<T>, plan.blocks, cfg, in, plan.chunks, static_cast<const T*>(m),
           static_cast<const T*>(P), static_cast<const T*>(nullptr), y, ws, W);
    return;
  }
  T* sums = summaries;
  T* starts = sums + tasks * es;
  T* smootherSums = starts + tasks * es;
  T* into = smootherSums + tasks * (nn + n);
  launch(filterSummaryKernel<T>, plan.blocks, cfg, in, plan.chunks, sums, ws, W);
  launch(filterPrefixKernel<T>, plan.perBatch, cfg, plan.chunks, static_cast<const T*>(sums), starts, ws, W);
  launch(filterReplayKernel<T>, plan.blocks, cfg, in, plan.chunks, static_cast<const T*>(starts), m, P, ws, W);
  launch(smootherSummaryKernel<T>, plan.blocks, cfg, in, plan.chunks, static_cast<const T*>(m),
         static_cast<const T*>(P), smootherSums, ws, W);
  launch(smootherPrefixKernel<T>, plan.perBatch, cfg, plan.chunks, static_cast<const T*>(smootherSums), into);
  launch(smootherReplayKernel<T>, plan.blocks, cfg, in, plan.chunks, static_cast<const T*>(m),
         static_cast<const T*>(P), static_cast<const T*>(into), y, ws, W);
}

}  // namespace antler::cuda::elk_dense
