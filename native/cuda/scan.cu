// The DEER linear scan on the GPU (combines in kernels/scan.h), the
// work-efficient chunked scan of ALGORITHMS.md §2, applied recursively.
//
// Forward y_t = A_t y_{t−1} + b_t from y0. A walk's steps p = 0 … T−1 (time
// t = p forward, T−1−p in reverse) are cut into C short chunks, and:
//  1. compose: every chunk but the last folds its steps into one operator
//     (A_c, b_c) = (A_{last}⋯A_{first}, …), stored as a sequence [C−1, B, ·];
//  2. the chunks' true starts s_{c+1} = A_c s_c + b_c (s_0 = y0) are that
//     sequence's own scan: the same function, one level up, C−1 steps long;
//  3. replay: chunk c walks its steps from s_c.
// A level with C = 1 only replays. C is chosen to fill the GPU (chooseChunks:
// about 16 blocks per SM across the batch for dense A, 2048 threads per SM
// across batch and rows for diagonal A; chunks of at least 16 steps), so the
// critical path is about 2·T/C at the first level (for B = 16 on an H200,
// T/132 steps dense) and short at the levels above, instead of the whole walk
// or a sequential pass over C summaries.
//
// Backward: the same on the reversed walk with transposed A,
// λ_t = gy_t + A_{t+1}ᵀ λ_{t+1} with λ_{T−1} = gy_{T−1} (A_T = 0), written into gb;
// its higher levels are plain forward scans of the composed operators. Then
// gA_t = λ_t y_{t−1}ᵀ (λ_t ⊙ y_{t−1} for diagonal A) and gy0 = A_0ᵀ λ_0 by one
// thread per entry.
//
// Dense A: a block per (chunk, batch element), its threads over the entries
// of the operator (compose, double-buffered in shared memory or scratch) or
// the rows of the state (replay), a __syncthreads between steps (a step reads
// what the whole block wrote). Diagonal A: every (chunk, batch, row) is
// independent, so a thread each, the state in registers, and the threads of a
// warp read neighbouring rows of the same step.

#include <memory>

#include "../kernels/expm.h"
#include "../kernels/residual.h"
#include "../kernels/scan.h"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

constexpr int kScanBlock = 128;
constexpr int kComposeBlock = 256;
// Dense levels aim for this many blocks per multiprocessor across the batch,
// or kScratchBlocksPerSm when an operator pair does not fit in shared memory
// and every compose block needs its own 2·(n² + n) of global scratch.
constexpr int64_t kDenseBlocksPerSm = 16;
constexpr int64_t kScratchBlocksPerSm = 4;
// Diagonal levels aim for this many threads per multiprocessor.
constexpr int64_t kDiagonalThreadsPerSm = 2048;
// Each chunk has at least this many steps.
constexpr int64_t kMinChunkSteps = 16;

// Time of step p of the walk: p forward, T − 1 − p in reverse.
template <bool Reverse>
__device__ __forceinline__ int64_t walkTime(int64_t T, int64_t p) {
  return Reverse ? T - 1 - p : p;
}

// Dense phase 1. Chunk c < C−1 of batch element bi folds the operators of its
// steps: forward (A_t, b_t), reverse (A_{t+1}ᵀ, gy_t) with A_T = 0 (b is gy).
// The result goes to sumA + (c·B + bi)·as and sumB + (c·B + bi)·n, the next
// level's sequence. Operators are double-buffered in dynamic shared memory, or
// in `scratch` (2·(as + n) per block) when that is not null.
template <typename T, typename Combine, bool Reverse>
static __global__ void __launch_bounds__(kComposeBlock)
    scanComposeKernel(Combine op, k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                      const T* __restrict__ b, T* __restrict__ sumA, T* __restrict__ sumB, T* __restrict__ scratch) {
  extern __shared__ __align__(16) unsigned char scanShared[];
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n, pair = as + n;
  const int64_t bi = blockIdx.y, c = blockIdx.x;
  const int64_t p0 = plan.begin(c), p1 = plan.end(c);
  const T* Ab = A + bi * as;
  const T* bb = b + bi * n;
  // Entry e ∈ [0, as + n) of the chunk's first step and of one more step folded onto cur.
  auto first = [&](int64_t e) -> T {
    const int64_t t = walkTime<Reverse>(cfg.T, p0);
    if (e >= as) return bb[t * vStep + e - as];
    if (!Reverse) return Ab[t * aStep + e];
    return t + 1 == cfg.T ? T(0) : op.transposeEntry(Ab + (t + 1) * aStep, e);
  };
  auto fold = [&](int64_t t, const T* cur, int64_t e) -> T {
    if (!Reverse)
      return e < as ? op.composeEntry(Ab + t * aStep, cur, e) : op.stepRow(Ab + t * aStep, cur + as, bb + t * vStep, e - as);
    const T* a = Ab + (t + 1) * aStep;  // t < T − 1: only a chunk's first step can be the walk's first
    return e < as ? op.composeTEntry(a, cur, e) : op.stepTRow(a, cur + as, bb + t * vStep, e - as);
  };
  T* cur = scratch != nullptr ? scratch + (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * 2 * pair
                              : reinterpret_cast<T*>(scanShared);
  T* next = cur + pair;
  for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) cur[e] = first(e);
  __syncthreads();
  for (int64_t p = p0 + 1; p < p1; ++p) {
    const int64_t t = walkTime<Reverse>(cfg.T, p);
    for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) next[e] = fold(t, cur, e);
    // One barrier per step: the next step writes the buffer this one read.
    __syncthreads();
    T* done = cur;
    cur = next;
    next = done;
  }
  const int64_t slot = c * cfg.B + bi;
  for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) {
    if (e < as) sumA[slot * as + e] = cur[e];
    else sumB[slot * n + e - as] = cur[e];
  }
}

// Dense phase 3. Chunk c = blockIdx.x walks its steps from its start (y0 for
// c = 0, or zero when y0 is null; else starts + ((c−1)·B + bi)·n): forward
// y_t = A_t y_{t−1} + b_t into out = y; reverse λ_t = A_{t+1}ᵀ λ_{t+1} + gy_t
// into out = gb (b is gy; the walk's first step is λ_{T−1} = gy_{T−1}).
template <typename T, typename Combine, bool Reverse>
static __global__ void __launch_bounds__(kScanBlock)
    scanReplayKernel(Combine op, k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                     const T* __restrict__ b, const T* y0, const T* starts, T* out) {
  // y0 and starts are not __restrict__: `prev` starts there and then points into `out`, which this
  // block writes, and a restrict-qualified origin lets nvcc load every prev[j] through the
  // non-coherent read-only path (ld.global.nc), stale after the previous step's writes.
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  const int64_t c = blockIdx.x, p0 = plan.begin(c), p1 = plan.end(c);
  for (int64_t bi = blockIdx.y; bi < cfg.B; bi += gridDim.y) {
    const T* prev = c > 0 ? starts + ((c - 1) * cfg.B + bi) * n : y0 != nullptr ? y0 + bi * n : nullptr;
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t t = walkTime<Reverse>(cfg.T, p);
      T* o = out + t * vStep + bi * n;
      const T* bt = b + t * vStep + bi * n;
      // A null start is zero (and the reverse walk's first step has A_T = 0): the step is b_t.
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        if (prev == nullptr || (Reverse && t + 1 == cfg.T)) o[i] = bt[i];
        else if (!Reverse) o[i] = op.stepRow(A + t * aStep + bi * as, prev, bt, i);
        else o[i] = op.stepTRow(A + (t + 1) * aStep + bi * as, prev, bt, i);
      }
      __syncthreads();
      prev = o;
    }
  }
}

// Diagonal phase 1: task g = (c·B + bi)·n + i, c < C−1, folds row i of chunk c
// in registers into sumA[g], sumB[g] (the next level's sequence [C−1, B, n]).
template <typename T, bool Reverse>
static __global__ void scanDiagonalComposeKernel(k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                                                 const T* __restrict__ b, T* __restrict__ sumA,
                                                 T* __restrict__ sumB) {
  const int64_t vStep = cfg.B * cfg.n;
  for (int64_t g = gridStart(); g < (plan.count - 1) * vStep; g += gridStride()) {
    const int64_t c = g / vStep, row = g - c * vStep;
    // Forward A_t; reverse A_{t+1} (diagonal: its own transpose), 0 past the end.
    auto stepA = [&](int64_t t) -> T { return !Reverse ? A[t * vStep + row] : t + 1 == cfg.T ? T(0) : A[(t + 1) * vStep + row]; };
    int64_t t = walkTime<Reverse>(cfg.T, plan.begin(c));
    T a = stepA(t), off = b[t * vStep + row];
    for (int64_t p = plan.begin(c) + 1; p < plan.end(c); ++p) {
      t = walkTime<Reverse>(cfg.T, p);
      const T at = stepA(t);
      off = at * off + b[t * vStep + row];
      a = at * a;
    }
    sumA[g] = a;
    sumB[g] = off;
  }
}

// Diagonal phase 3: task g = (c·B + bi)·n + i walks row i of chunk c from its start.
template <typename T, bool Reverse>
static __global__ void scanDiagonalReplayKernel(k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                                                const T* __restrict__ b, const T* __restrict__ y0,
                                                const T* __restrict__ starts, T* __restrict__ out) {
  const int64_t vStep = cfg.B * cfg.n;
  for (int64_t g = gridStart(); g < plan.count * vStep; g += gridStride()) {
    const int64_t c = g / vStep, row = g - c * vStep;
    // A null start is zero, and the reverse walk's first step has A_T = 0: the step is b_t.
    bool zero = c == 0 && y0 == nullptr;
    T y = c > 0 ? starts[g - vStep] : zero ? T(0) : y0[row];
    for (int64_t p = plan.begin(c); p < plan.end(c); ++p) {
      const int64_t t = walkTime<Reverse>(cfg.T, p);
      const T bt = b[t * vStep + row];
      if (zero || (Reverse && t + 1 == cfg.T)) y = bt;
      else y = (!Reverse ? A[t * vStep + row] : A[(t + 1) * vStep + row]) * y + bt;
      zero = false;
      out[t * vStep + row] = y;
    }
  }
}

// gA_t = λ_t y_{t−1}ᵀ (diagonal: λ_t ⊙ y_{t−1}) with λ = gb, one thread per entry of
// gA; then gy0 = A_0ᵀ λ_0, one thread per entry of gy0.
template <typename T, typename Combine>
static __global__ void scanGradKernel(Combine op, k::ScanConfig cfg, const T* __restrict__ A,
                                      const T* __restrict__ y0, const T* __restrict__ y,
                                      const T* __restrict__ gb, T* __restrict__ gA, T* __restrict__ gy0) {
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  for (int64_t e = gridStart(); e < cfg.T * aStep; e += gridStride()) {
    const int64_t t = e / aStep, bi = (e - t * aStep) / as, entry = e - t * aStep - bi * as;
    const T* prev = t == 0 ? y0 + bi * n : y + (t - 1) * vStep + bi * n;
    gA[e] = op.outerEntry(gb + t * vStep + bi * n, prev, entry);
  }
  for (int64_t e = gridStart(); e < vStep; e += gridStride()) {
    const int64_t bi = e / n;
    gy0[e] = op.applyTRow(A + bi * as, gb + bi * n, e - bi * n);
  }
}

static int scanThreads(int64_t n) {
  int threads = 32;
  while (threads < kScanBlock && threads < n) threads *= 2;
  return threads;
}

// Chunks at one level: enough tasks across the batch (and rows, for diagonal
// A) to fill the GPU, each chunk at least kMinChunkSteps long; 1 when the
// batch fills it by itself or T is short.
template <typename T>
static k::ScanChunks chooseChunks(Context& ctx, const k::ScanConfig& cfg) {
  if (cfg.diagonal)
    return k::scanChunks(cfg.T, k::chunkCount(cfg.T, cfg.B * cfg.n, kDiagonalThreadsPerSm * ctx.multiprocessors,
                                              kMinChunkSteps, false));
  const size_t pairBytes = static_cast<size_t>(2 * (cfg.n * cfg.n + cfg.n)) * sizeof(T);
  const int64_t perSm = pairBytes <= static_cast<size_t>(ctx.sharedOptin) ? kDenseBlocksPerSm : kScratchBlocksPerSm;
  return k::scanChunks(cfg.T, k::chunkCount(cfg.T, cfg.B, perSm * ctx.multiprocessors, kMinChunkSteps, false));
}

// Dense phase 1: shared memory for an operator pair when it fits the device's
// opt-in limit, else pool scratch.
template <typename T, typename Combine, bool Reverse>
static void launchCompose(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const k::ScanChunks& plan,
                          const T* A, const T* b, T* sumA, T* sumB, const char* opname) {
  // Chunking only happens for B below kDenseBlocksPerSm · multiprocessors, far below the grid's y limit.
  const dim3 grid(static_cast<unsigned>(plan.count - 1), static_cast<unsigned>(cfg.B));
  const auto kernel = scanComposeKernel<T, Combine, Reverse>;
  const int64_t pair = op.aSize() + cfg.n;
  const int threads = pair < kComposeBlock ? static_cast<int>((pair + 31) / 32 * 32) : kComposeBlock;
  const size_t bytes = static_cast<size_t>(2 * pair) * sizeof(T);
  if (bytes <= static_cast<size_t>(ctx.sharedOptin)) {
    if (bytes > 48 * 1024)
      ANTLER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    kernel<<<grid, threads, bytes, ctx.stream>>>(op, cfg, plan, A, b, sumA, sumB, nullptr);
    ANTLER_LAUNCH_CHECK(opname);
    return;
  }
  PoolBuffer scratch(ctx, static_cast<size_t>(grid.x) * grid.y * bytes);
  kernel<<<grid, threads, 0, ctx.stream>>>(op, cfg, plan, A, b, sumA, sumB, static_cast<T*>(scratch.get()));
  ANTLER_LAUNCH_CHECK(opname);
}

// One level of the scan in one direction (Reverse only at the first level):
// forward out = y from y0 (null: zero) with offsets b; reverse out = gb = λ
// with offsets b = gy (y0 null). With more than one chunk, the chunks'
// operators are composed into a sequence of C − 1 steps whose forward scan
// from the same start gives every later chunk's start.
template <typename T, typename Combine, bool Reverse>
static void launchScanLevel(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const T* A, const T* b,
                            const T* y0, T* out, const char* opname) {
  const k::ScanChunks plan = chooseChunks<T>(ctx, cfg);
  const int64_t links = plan.count - 1;
  std::unique_ptr<PoolBuffer> sums, starts;
  T* startsT = nullptr;
  if (links > 0) {
    const int64_t vSize = links * cfg.B * cfg.n, aSize = links * cfg.B * op.aSize();
    sums = std::make_unique<PoolBuffer>(ctx, static_cast<size_t>(aSize + vSize) * sizeof(T));
    starts = std::make_unique<PoolBuffer>(ctx, static_cast<size_t>(vSize) * sizeof(T));
    T* sumA = static_cast<T*>(sums->get());
    T* sumB = sumA + aSize;
    startsT = static_cast<T*>(starts->get());
    if constexpr (Combine::elementwise) {
      scanDiagonalComposeKernel<T, Reverse><<<gridFor(ctx, vSize), kBlockSize, 0, ctx.stream>>>(cfg, plan, A, b, sumA, sumB);
      ANTLER_LAUNCH_CHECK(opname);
    } else {
      launchCompose<T, Combine, Reverse>(ctx, op, cfg, plan, A, b, sumA, sumB, opname);
    }
    const k::ScanConfig up{links, cfg.B, cfg.n, cfg.diagonal};
    launchScanLevel<T, Combine, false>(ctx, op, up, sumA, sumB, y0, startsT, opname);
  }
  if constexpr (Combine::elementwise) {
    scanDiagonalReplayKernel<T, Reverse><<<gridFor(ctx, plan.count * cfg.B * cfg.n), kBlockSize, 0, ctx.stream>>>(
        cfg, plan, A, b, y0, startsT, out);
  } else {
    const dim3 grid(static_cast<unsigned>(plan.count), static_cast<unsigned>(cfg.B < 65535 ? cfg.B : 65535));
    scanReplayKernel<T, Combine, Reverse><<<grid, scanThreads(cfg.n), 0, ctx.stream>>>(op, cfg, plan, A, b, y0, startsT, out);
  }
  ANTLER_LAUNCH_CHECK(opname);
}

template <typename T, typename Combine>
static void launchScan(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  launchScanLevel<T, Combine, false>(ctx, op, cfg, static_cast<const T*>(in.A), static_cast<const T*>(in.b),
                                       static_cast<const T*>(in.y0), static_cast<T*>(y), "deerScan");
}

template <typename T, typename Combine>
static void launchScanBackward(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in,
                               const void* y, const void* gy, void* gA, void* gb, void* gy0) {
  const T* A = static_cast<const T*>(in.A);
  launchScanLevel<T, Combine, true>(ctx, op, cfg, A, static_cast<const T*>(gy), nullptr, static_cast<T*>(gb),
                                      "deerScanBackward");
  // adjointOnly (gA null): λ is all that was asked for.
  if (gA == nullptr) return;
  scanGradKernel<T, Combine><<<gridFor(ctx, cfg.T * cfg.B * op.aSize()), kBlockSize, 0, ctx.stream>>>(
      op, cfg, A, static_cast<const T*>(in.y0), static_cast<const T*>(y), static_cast<const T*>(gb),
      static_cast<T*>(gA), static_cast<T*>(gy0));
  ANTLER_LAUNCH_CHECK("deerScanBackward");
}

template <typename T>
static void dispatchScan(Context& ctx, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  if (cfg.diagonal) launchScan<T>(ctx, k::DiagonalCombine{cfg.n}, cfg, in, y);
  else launchScan<T>(ctx, k::DenseCombine{cfg.n}, cfg, in, y);
}

template <typename T>
static void dispatchScanBackward(Context& ctx, const k::ScanConfig& cfg, const ScanInputs& in, const void* y,
                                 const void* gy, void* gA, void* gb, void* gy0) {
  if (cfg.diagonal) launchScanBackward<T>(ctx, k::DiagonalCombine{cfg.n}, cfg, in, y, gy, gA, gb, gy0);
  else launchScanBackward<T>(ctx, k::DenseCombine{cfg.n}, cfg, in, y, gy, gA, gb, gy0);
}

// ---------------------------------------------------------------- residual
// The residual of each sequence (kernels/residual.h), deterministic: block
// (p, b) folds a fixed strided share of column b's T·n values and merges its
// threads in a fixed tree order into partials[b·P + p]; then one block per
// column merges its P partials the same way. P depends only on the sizes and
// the device, so the same inputs give the same bits run after run.

constexpr int kResidualThreads = 256;  // a power of two: the tree halves it
// Columns a grid covers (gridDim.y's limit); the host emulation lowers it to run the loop over further columns.
#ifndef ANTLER_RESIDUAL_MAX_COLUMNS
#define ANTLER_RESIDUAL_MAX_COLUMNS 65535
#endif

// Tree merge of one accumulator per thread; the result is in shared[0].
static __device__ void blockResidual(k::ResidualAcc* shared, const k::ResidualAcc& a) {
  shared[threadIdx.x] = a;
  __syncthreads();
  for (int half = kResidualThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) k::residualMerge(shared[threadIdx.x], shared[threadIdx.x + half]);
    __syncthreads();
  }
}

template <typename T>
static __global__ void __launch_bounds__(kResidualThreads)
    residualPartialsKernel(int64_t T_, int64_t B, int64_t n, const T* __restrict__ y, const T* __restrict__ f,
                           double rtol, k::ResidualAcc* __restrict__ partials) {
  __shared__ k::ResidualAcc shared[kResidualThreads];
  const int64_t P = gridDim.x, count = T_ * n, stride = P * kResidualThreads;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    k::ResidualAcc acc = k::residualZero();
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * kResidualThreads + threadIdx.x; e < count; e += stride) {
      const int64_t t = e / n, at = (t * B + b) * n + (e - t * n);
      k::residualAdd(acc, y[at], f[at], rtol);
    }
    blockResidual(shared, acc);
    if (threadIdx.x == 0) partials[b * P + blockIdx.x] = shared[0];
    __syncthreads();  // shared is refilled for the next column
  }
}

template <typename T>
static __global__ void __launch_bounds__(kResidualThreads)
    residualFinalKernel(int64_t B, int64_t P, const k::ResidualAcc* __restrict__ partials, T* __restrict__ out) {
  __shared__ k::ResidualAcc shared[kResidualThreads];
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x) {
    k::ResidualAcc acc = k::residualZero();
    for (int64_t p = threadIdx.x; p < P; p += kResidualThreads) k::residualMerge(acc, partials[b * P + p]);
    blockResidual(shared, acc);
    if (threadIdx.x == 0) k::residualStore(shared[0], B, b, out);
    __syncthreads();
  }
}

template <typename T>
static void launchResidual(Context& ctx, int64_t T_, int64_t B, int64_t n, const T* y, const T* f, double rtol,
                           T* out) {
  const int64_t count = T_ * n, perBlock = int64_t(kResidualThreads) * 4;
  const int64_t columns = B < ANTLER_RESIDUAL_MAX_COLUMNS ? B : ANTLER_RESIDUAL_MAX_COLUMNS;
  // At least 4 values per thread, and about 8 blocks per SM over all columns.
  int64_t P = (count + perBlock - 1) / perBlock;
  const int64_t fill = (int64_t(8) * ctx.multiprocessors + columns - 1) / columns;
  if (P > fill) P = fill;
  if (P > 1024) P = 1024;
  if (P < 1) P = 1;
  PoolBuffer partials(ctx, static_cast<size_t>(B * P) * sizeof(k::ResidualAcc));
  k::ResidualAcc* p = static_cast<k::ResidualAcc*>(partials.get());
  residualPartialsKernel<T><<<dim3(static_cast<unsigned>(P), static_cast<unsigned>(columns)), kResidualThreads, 0,
                              ctx.stream>>>(T_, B, n, y, f, rtol, p);
  ANTLER_LAUNCH_CHECK("deer residual");
  residualFinalKernel<T><<<static_cast<unsigned>(columns), kResidualThreads, 0, ctx.stream>>>(B, P, p, out);
  ANTLER_LAUNCH_CHECK("deer residual");
}

void deerResidual(Context& ctx, DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f, double rtol,
                  void* out) {
  if (T <= 0 || B <= 0 || n <= 0) return;
  switch (t) {
    case DType::Float32:
      return launchResidual(ctx, T, B, n, static_cast<const float*>(y), static_cast<const float*>(f), rtol,
                            static_cast<float*>(out));
    case DType::Float64:
      return launchResidual(ctx, T, B, n, static_cast<const double*>(y), static_cast<const double*>(f), rtol,
                            static_cast<double*>(out));
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer residual: dtype ", dtypeName(t), " is not supported");
}

void deerScan(Context& ctx, DType t, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  if (cfg.T <= 0 || cfg.B <= 0 || cfg.n <= 0) return;
  switch (t) {
    case DType::Float32: return dispatchScan<float>(ctx, cfg, in, y);
    case DType::Float64: return dispatchScan<double>(ctx, cfg, in, y);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan: dtype ", dtypeName(t), " is not supported");
}

void deerScanBackward(Context& ctx, DType t, const k::ScanConfig& cfg, const ScanInputs& in, const void* y,
                      const void* gy, void* gA, void* gb, void* gy0) {
  if (cfg.T <= 0 || cfg.B <= 0 || cfg.n <= 0) return;
  switch (t) {
    case DType::Float32: return dispatchScanBackward<float>(ctx, cfg, in, y, gy, gA, gb, gy0);
    case DType::Float64: return dispatchScanBackward<double>(ctx, cfg, in, y, gy, gA, gb, gy0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan backward: dtype ", dtypeName(t), " is not supported");
}

// ---------------------------------------------------------------- expm

// One thread per matrix (kernels/expm.h); the threads' scratch is
// interleaved (entry k of thread i at work[k · count + i]) so that a warp's
// accesses to one entry are adjacent. At most kExpmBatch matrices per launch,
// to bound the scratch, and fewer where that scratch would pass kExpmScratch bytes.
constexpr int64_t kExpmBatch = int64_t(1) << 16;
#ifndef ANTLER_EXPM_SCRATCH
#define ANTLER_EXPM_SCRATCH (int64_t(256) << 20)
#endif
constexpr int64_t kExpmScratch = ANTLER_EXPM_SCRATCH;
constexpr int kExpmThreads = 128;

template <typename T>
__global__ void expmKernel(int64_t count, int64_t m, const T* A, T* E, T* work) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int64_t mm = m * m;
  k::expmOne(A + i * mm, E + i * mm, m, work + i, count);
}

template <typename T>
static void launchExpm(Context& ctx, int64_t count, int64_t m, const T* A, T* E) {
  const int64_t perMatrix = k::expmWorkSize(m) * static_cast<int64_t>(sizeof(T));
  int64_t batch = count < kExpmBatch ? count : kExpmBatch;
  if (batch * perMatrix > kExpmScratch) batch = kExpmScratch / perMatrix > 0 ? kExpmScratch / perMatrix : 1;
  PoolBuffer work(ctx, static_cast<size_t>(batch * k::expmWorkSize(m)) * sizeof(T));
  for (int64_t lo = 0; lo < count; lo += batch) {
    const int64_t c = count - lo < batch ? count - lo : batch;
    const unsigned blocks = static_cast<unsigned>((c + kExpmThreads - 1) / kExpmThreads);
    expmKernel<T><<<blocks, kExpmThreads, 0, ctx.stream>>>(c, m, A + lo * m * m, E + lo * m * m,
                                                           static_cast<T*>(work.get()));
    ANTLER_LAUNCH_CHECK("expm");
  }
}

void expm(Context& ctx, DType t, int64_t count, int64_t m, const void* A, void* E) {
  if (count <= 0 || m <= 0) return;
  switch (t) {
    case DType::Float32:
      return launchExpm(ctx, count, m, static_cast<const float*>(A), static_cast<float*>(E));
    case DType::Float64:
      return launchExpm(ctx, count, m, static_cast<const double*>(A), static_cast<double*>(E));
    case DType::Int32: break;
  }
  fail(Code::Internal, "expm: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
