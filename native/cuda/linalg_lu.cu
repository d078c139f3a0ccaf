// Batched dense linear algebra on CUDA: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky (kernels/linalg_lu.h),
// one thread block (cuda/lanes.cuh) per matrix, grid-stride over the batch: efficient for batches of
// small and medium matrices; a single large matrix runs on one block.
#include "../kernels/linalg_lu.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

// Blocks in flight at most, per multiprocessor.
constexpr int64_t kLinalgBlocksPerSm = 8;

// Threads of a block working on `work` entries per phase: a multiple of 32, at least 32, at most 256.
static int linalgThreads(int64_t work) {
  int threads = 32;
  while (threads < 256 && threads < work) threads *= 2;
  return threads;
}

static unsigned linalgBlocks(const Context& ctx, int64_t batch) {
  const int64_t cap = kLinalgBlocksPerSm * ctx.multiprocessors;
  return static_cast<unsigned>(batch < cap ? batch : cap);
}

template <typename T>
static __global__ void triangularSolveKernel(T* X, const T* A, const T* B, int64_t batch, int64_t n, int64_t kk,
                                             bool upper, bool left, bool unit) {
  const BlockLanes L;
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x)
    k::lanesTriangularSolveMatrix(L, n, kk, A + b * n * n, B + b * n * kk, X + b * n * kk, upper, left, unit);
}

template <typename T>
static void launchTriangularSolve(Context& ctx, void* X, const void* A, const void* B, int64_t batch, int64_t n,
                                  int64_t kk, bool upper, bool left, bool unit) {
  triangularSolveKernel<T><<<linalgBlocks(ctx, batch), linalgThreads(n * kk), 0, ctx.stream>>>(
      static_cast<T*>(X), static_cast<const T*>(A), static_cast<const T*>(B), batch, n, kk, upper, left, unit);
  ANTLER_LAUNCH_CHECK("solveTriangular");
}

void triangularSolve(Context& ctx, DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t kk,
                     bool upper, bool left, bool unit) {
  if (batch <= 0 || n <= 0 || kk <= 0) return;
  switch (t) {
    case DType::Float32: return launchTriangularSolve<float>(ctx, X, A, B, batch, n, kk, upper, left, unit);
    case DType::Float64: return launchTriangularSolve<double>(ctx, X, A, B, batch, n, kk, upper, left, unit);
    default: break;
  }
  fail(Code::Internal, "solveTriangular: unsupported dtype ", static_cast<int>(t));
}

template <typename T>
static __global__ void luFactorKernel(T* LU, int32_t* pivots, int32_t* info, const T* A, int64_t batch, int64_t m,
                                      int64_t n) {
  const BlockLanes L;
  const int64_t kmin = m < n ? m : n;
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    T* M = LU + b * m * n;
    for (int64_t e = L.lane(); e < m * n; e += L.count()) M[e] = A[b * m * n + e];
    L.sync();
    k::lanesLuFactor(L, m, n, M, pivots + b * kmin, info + b);
    L.sync();
  }
}

template <typename T>
static void launchLuFactor(Context& ctx, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch,
                           int64_t m, int64_t n) {
  luFactorKernel<T><<<linalgBlocks(ctx, batch), linalgThreads(m * n), 0, ctx.stream>>>(
      static_cast<T*>(LU), pivots, info, static_cast<const T*>(A), batch, m, n);
  ANTLER_LAUNCH_CHECK("luFactor");
}

void luFactor(Context& ctx, DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m,
              int64_t n) {
  if (batch <= 0) return;
  switch (t) {
    case DType::Float32: return launchLuFactor<float>(ctx, LU, pivots, info, A, batch, m, n);
    case DType::Float64: return launchLuFactor<double>(ctx, LU, pivots, info, A, batch, m, n);
    default: break;
  }
  fail(Code::Internal, "luFactor: unsupported dtype ", static_cast<int>(t));
}

static __global__ void luPermutationKernel(int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m) {
  for (int64_t b = gridStart(); b < batch; b += gridStride())
    k::lanesLuPermutation(k::SerialLanes{}, m, k, pivots + b * k, perm + b * m);
}

void luPermutation(Context& ctx, int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m) {
  if (batch <= 0 || m <= 0) return;
  luPermutationKernel<<<gridFor(ctx, batch), kBlockSize, 0, ctx.stream>>>(perm, pivots, batch, k, m);
  ANTLER_LAUNCH_CHECK("luPermutation");
}

template <typename T>
static __global__ void choleskyKernel(T* Lout, int32_t* info, const T* A, int64_t batch, int64_t n) {
  const BlockLanes L;
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    T* M = Lout + b * n * n;
    for (int64_t e = L.lane(); e < n * n; e += L.count()) M[e] = A[b * n * n + e];
    L.sync();
    k::lanesCholesky(L, n, M, info + b);
    L.sync();
  }
}

template <typename T>
static void launchCholesky(Context& ctx, void* Lout, int32_t* info, const void* A, int64_t batch, int64_t n) {
  choleskyKernel<T><<<linalgBlocks(ctx, batch), linalgThreads(n * n), 0, ctx.stream>>>(
      static_cast<T*>(Lout), info, static_cast<const T*>(A), batch, n);
  ANTLER_LAUNCH_CHECK("cholesky");
}

void cholesky(Context& ctx, DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n) {
  if (batch <= 0) return;
  switch (t) {
    case DType::Float32: return launchCholesky<float>(ctx, L, info, A, batch, n);
    case DType::Float64: return launchCholesky<double>(ctx, L, info, A, batch, n);
    default: break;
  }
  fail(Code::Internal, "cholesky: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
