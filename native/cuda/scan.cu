// The DEER linear scan on the GPU (combines in kernels/scan.h), the
// work-efficient chunked scan of ALGORITHMS.md §2.
//
// Forward y_t = A_t y_{t−1} + b_t from y0. Each batch element's T steps are cut
// into C chunks [t0, t1) (chooseChunks), and three kernels run:
//  1. compose, grid (C−1, B): chunk c folds its steps into one operator
//     (A_c, b_c) = (A_{t1−1}⋯A_{t0}, …) with the combine, earlier then later;
//  2. summaries, grid B: s_0 = y0, s_{c+1} = A_c s_c + b_c, every chunk's true start;
//  3. replay, grid (C, B): chunk c walks y_t = A_t y_{t−1} + b_t from s_c.
// With C = 1 only the replay runs: one sequential walk per batch element, the
// shape for short T or a batch that fills the GPU by itself.
//
// Backward: the same three phases in reverse time with transposed A,
// λ_t = gy_t + A_{t+1}ᵀ λ_{t+1} with λ_{T−1} = gy_{T−1} (A_T = 0), written into gb;
// then gA_t = λ_t y_{t−1}ᵀ (λ_t ⊙ y_{t−1} for diagonal A) and gy0 = A_0ᵀ λ_0 by one
// thread per entry.
//
// Walks put the block's threads over rows i (stride blockDim.x). A step reads the
// state the whole block wrote, so steps are separated by __syncthreads (which also
// makes the block's global writes visible to it); elementwise combines read only
// their own rows and need no barrier.

#include "../kernels/scan.h"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

constexpr int kScanBlock = 128;
constexpr int kComposeBlock = 256;
// Chunking aims for this many blocks per multiprocessor across the batch.
constexpr int64_t kChunkBlocksPerSm = 4;
// Each chunk has at least this many steps.
constexpr int64_t kMinChunkSteps = 16;

// Step k of chunk [t0, t1): t0 + k forward, t1 − 1 − k in reverse time.
template <bool Reverse>
__device__ __forceinline__ int64_t chunkStep(int64_t t0, int64_t t1, int64_t k) {
  return Reverse ? t1 - 1 - k : t0 + k;
}

// Phase 1. Chunk c's operator, stored at sums + (bi·C + c)·(as + n), A then b:
// forward the fold of (A_t, b_t) over t = t0 … t1−1; reverse the fold of
// (A_{t+1}ᵀ, gy_t) over t = t1−1 … t0 (b is gy here). Forward composes chunks
// 0 … C−2, reverse 1 … C−1: the others' summaries are never read. Dense
// operators are double-buffered in dynamic shared memory, or in `scratch`
// (2·(as + n) per block) when that is not null.
template <typename T, typename Combine, bool Reverse>
static __global__ void __launch_bounds__(kComposeBlock)
    scanComposeKernel(Combine op, k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                      const T* __restrict__ b, T* __restrict__ sums, T* __restrict__ scratch) {
  extern __shared__ __align__(16) unsigned char scanShared[];
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n, pair = as + n;
  const int64_t bi = blockIdx.y, c = blockIdx.x + (Reverse ? 1 : 0);
  const int64_t t0 = plan.begin(c), t1 = plan.end(c);
  const T* Ab = A + bi * as;
  const T* bb = b + bi * n;
  // Entry e ∈ [0, as + n) of the chunk's first step and of one more step folded onto cur.
  auto first = [&](int64_t e) -> T {
    if (!Reverse) return e < as ? Ab[t0 * aStep + e] : bb[t0 * vStep + e - as];
    if (e >= as) return bb[(t1 - 1) * vStep + e - as];
    return t1 == cfg.T ? T(0) : op.transposeEntry(Ab + t1 * aStep, e);
  };
  auto fold = [&](int64_t t, const T* cur, int64_t e) -> T {
    if (!Reverse)
      return e < as ? op.composeEntry(Ab + t * aStep, cur, e) : op.stepRow(Ab + t * aStep, cur + as, bb + t * vStep, e - as);
    const T* a = Ab + (t + 1) * aStep;
    return e < as ? op.composeTEntry(a, cur, e) : op.stepTRow(a, cur + as, bb + t * vStep, e - as);
  };
  T* out = sums + (bi * plan.count + c) * pair;
  if constexpr (Combine::elementwise) {
    // Row i reads only row i: fold in place in `out`, no barrier.
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      out[i] = first(i);
      out[as + i] = first(as + i);
      for (int64_t s = 1; s < t1 - t0; ++s) {
        const int64_t t = chunkStep<Reverse>(t0, t1, s);
        const T nextA = fold(t, out, i), nextB = fold(t, out, as + i);
        out[i] = nextA;
        out[as + i] = nextB;
      }
    }
  } else {
    T* cur = scratch != nullptr ? scratch + (static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x) * 2 * pair
                                : reinterpret_cast<T*>(scanShared);
    T* next = cur + pair;
    for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) cur[e] = first(e);
    __syncthreads();
    for (int64_t s = 1; s < t1 - t0; ++s) {
      const int64_t t = chunkStep<Reverse>(t0, t1, s);
      for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) next[e] = fold(t, cur, e);
      // One barrier per step: the next step writes the buffer this one read.
      __syncthreads();
      T* done = cur;
      cur = next;
      next = done;
    }
    for (int64_t e = threadIdx.x; e < pair; e += blockDim.x) out[e] = cur[e];
  }
}

// Phase 2. Every chunk's start, into starts + (bi·C + c)·n: forward
// s_{c+1} = A_c s_c + b_c from s_0 = y0 (slot 0 unused); reverse
// s_{c−1} = A_c s_c + b_c from s_{C−1} = λ_T = 0, that is s_{C−2} = b_{C−1}
// (slot C−1 unused).
template <typename T, typename Combine, bool Reverse>
static __global__ void __launch_bounds__(kScanBlock)
    scanSummariesKernel(Combine op, k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ sums,
                        const T* __restrict__ y0, T* __restrict__ starts) {
  const int64_t n = cfg.n, as = op.aSize(), pair = as + n, C = plan.count;
  for (int64_t bi = blockIdx.x; bi < cfg.B; bi += gridDim.x) {
    const T* sum = sums + bi * C * pair;
    T* start = starts + bi * C * n;
    for (int64_t s = 0; s + 1 < C; ++s) {
      const int64_t c = Reverse ? C - 1 - s : s, to = Reverse ? c - 1 : c + 1;
      const T* sA = sum + c * pair;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        T v;
        if (!Reverse && s == 0) v = op.stepRow(sA, y0 + bi * n, sA + as, i);
        else if (Reverse && s == 0) v = sA[as + i];
        else v = op.stepRow(sA, start + c * n, sA + as, i);
        start[to * n + i] = v;
      }
      if constexpr (!Combine::elementwise) __syncthreads();
    }
  }
}

// Phase 3. Chunk c = blockIdx.x walks its steps from its start: forward
// y_t = A_t y_{t−1} + b_t into out = y; reverse λ_t = A_{t+1}ᵀ λ_{t+1} + gy_t
// into out = gb (b is gy). starts is read only when C > 1.
template <typename T, typename Combine, bool Reverse>
static __global__ void __launch_bounds__(kScanBlock)
    scanReplayKernel(Combine op, k::ScanConfig cfg, k::ScanChunks plan, const T* __restrict__ A,
                     const T* __restrict__ b, const T* __restrict__ y0, const T* __restrict__ starts, T* out) {
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  const int64_t c = blockIdx.x, t0 = plan.begin(c), t1 = plan.end(c);
  for (int64_t bi = blockIdx.y; bi < cfg.B; bi += gridDim.y) {
    const T* prev = nullptr;
    if (!Reverse) prev = c == 0 ? y0 + bi * n : starts + (bi * plan.count + c) * n;
    else if (t1 < cfg.T) prev = starts + (bi * plan.count + c) * n;
    for (int64_t s = 0; s < t1 - t0; ++s) {
      const int64_t t = chunkStep<Reverse>(t0, t1, s);
      T* o = out + t * vStep + bi * n;
      const T* bt = b + t * vStep + bi * n;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        if (!Reverse) o[i] = op.stepRow(A + t * aStep + bi * as, prev, bt, i);
        else o[i] = prev == nullptr ? bt[i] : op.stepTRow(A + (t + 1) * aStep + bi * as, prev, bt, i);
      }
      if constexpr (!Combine::elementwise) __syncthreads();
      prev = o;
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

// C: enough blocks across the batch to cover the GPU, chunks of at least
// kMinChunkSteps, and no more than about √(2T): a chunk costs about 2·len steps
// (compose and replay) and the summaries C steps. 1 when chunking cannot help.
static int64_t chooseChunks(const Context& ctx, const k::ScanConfig& cfg) {
  return k::chunkCount(cfg.T, cfg.B, kChunkBlocksPerSm * ctx.multiprocessors, kMinChunkSteps, true);
}

// Phase 1 for one direction: shared memory for a dense operator pair when it
// fits the device's opt-in limit, else pool scratch.
template <typename T, typename Combine, bool Reverse>
static void launchCompose(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const k::ScanChunks& plan,
                          const T* A, const T* b, T* sums, const char* opname) {
  const dim3 grid(static_cast<unsigned>(plan.count - 1), static_cast<unsigned>(cfg.B));
  const auto kernel = scanComposeKernel<T, Combine, Reverse>;
  if (Combine::elementwise) {
    kernel<<<grid, scanThreads(cfg.n), 0, ctx.stream>>>(op, cfg, plan, A, b, sums, nullptr);
    ANTLER_LAUNCH_CHECK(opname);
    return;
  }
  const int64_t pair = op.aSize() + cfg.n;
  const int threads = pair < kComposeBlock ? static_cast<int>((pair + 31) / 32 * 32) : kComposeBlock;
  const size_t bytes = static_cast<size_t>(2 * pair) * sizeof(T);
  int optin = 0;
  ANTLER_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
  if (bytes <= static_cast<size_t>(optin)) {
    if (bytes > 48 * 1024)
      ANTLER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
    kernel<<<grid, threads, bytes, ctx.stream>>>(op, cfg, plan, A, b, sums, nullptr);
    ANTLER_LAUNCH_CHECK(opname);
    return;
  }
  PoolBuffer scratch(ctx, static_cast<size_t>(grid.x) * grid.y * bytes);
  kernel<<<grid, threads, 0, ctx.stream>>>(op, cfg, plan, A, b, sums, static_cast<T*>(scratch.get()));
  ANTLER_LAUNCH_CHECK(opname);
}

// The whole scan in one direction: forward out = y from y0 with offsets b;
// reverse out = gb = λ with offsets b = gy (y0 unused).
template <typename T, typename Combine, bool Reverse>
static void launchChunkedScan(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const T* A, const T* b,
                              const T* y0, T* out, const char* opname) {
  const k::ScanChunks plan = k::scanChunks(cfg.T, chooseChunks(ctx, cfg));
  const int threads = scanThreads(cfg.n);
  if (plan.count == 1) {
    const dim3 grid(1, static_cast<unsigned>(cfg.B < 65535 ? cfg.B : 65535));
    scanReplayKernel<T, Combine, Reverse><<<grid, threads, 0, ctx.stream>>>(op, cfg, plan, A, b, y0, nullptr, out);
    ANTLER_LAUNCH_CHECK(opname);
    return;
  }
  // Chunking only happens for B < kChunkBlocksPerSm · multiprocessors, far below the grid limits.
  const int64_t tasks = plan.count * cfg.B;
  PoolBuffer sums(ctx, static_cast<size_t>(tasks * (op.aSize() + cfg.n)) * sizeof(T));
  PoolBuffer starts(ctx, static_cast<size_t>(tasks * cfg.n) * sizeof(T));
  T* sumsT = static_cast<T*>(sums.get());
  T* startsT = static_cast<T*>(starts.get());
  launchCompose<T, Combine, Reverse>(ctx, op, cfg, plan, A, b, sumsT, opname);
  scanSummariesKernel<T, Combine, Reverse><<<static_cast<unsigned>(cfg.B), threads, 0, ctx.stream>>>(
      op, cfg, plan, sumsT, y0, startsT);
  ANTLER_LAUNCH_CHECK(opname);
  const dim3 grid(static_cast<unsigned>(plan.count), static_cast<unsigned>(cfg.B));
  scanReplayKernel<T, Combine, Reverse><<<grid, threads, 0, ctx.stream>>>(op, cfg, plan, A, b, y0, startsT, out);
  ANTLER_LAUNCH_CHECK(opname);
}

template <typename T, typename Combine>
static void launchScan(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  launchChunkedScan<T, Combine, false>(ctx, op, cfg, static_cast<const T*>(in.A), static_cast<const T*>(in.b),
                                       static_cast<const T*>(in.y0), static_cast<T*>(y), "deerScan");
}

template <typename T, typename Combine>
static void launchScanBackward(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in,
                               const void* y, const void* gy, void* gA, void* gb, void* gy0) {
  const T* A = static_cast<const T*>(in.A);
  launchChunkedScan<T, Combine, true>(ctx, op, cfg, A, static_cast<const T*>(gy), nullptr, static_cast<T*>(gb),
                                      "deerScanBackward");
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

}  // namespace antler::cuda
