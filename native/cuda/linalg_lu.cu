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

}  // namespace antler::cuda
