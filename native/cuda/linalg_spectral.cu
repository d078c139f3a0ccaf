// Batched dense linear algebra on CUDA: symmetric eigendecomposition (eigh) and SVD (kernels/linalg_spectral.h),
// one thread block (cuda/lanes.cuh) per matrix: grid-stride over the batch, block b's scratch (doubles, global
// memory from the pool) at ws + b·size. The block's threads split each Jacobi round's rotations (n/2 of them) and
// then their (pair, row) updates; a single large matrix runs on one block (no multi-block path yet).
#include "../kernels/linalg_spectral.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

namespace {

// Threads for a matrix whose round updates have `work` entries: a multiple of 32, at most 256.
int spectralThreads(int64_t work) {
  const int64_t t = 32 * ((work + 31) / 32);
  return static_cast<int>(t < 32 ? 32 : t > 256 ? 256 : t);
}

unsigned spectralBlocks(const Context& ctx, int64_t B) {
  const int64_t cap = static_cast<int64_t>(ctx.multiprocessors) * 8;
  return static_cast<unsigned>(B < cap ? B : cap);
}

template <typename T>
__global__ void eighKernel(const T* A, int64_t B, int64_t n, bool upper, bool vectors, T* w, T* V, int32_t* info,
                           double* ws, int64_t wsSize) {
  const BlockLanes L;
  double* own = ws + blockIdx.x * wsSize;
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x)
    k::lanesEigh(L, n, A + b * n * n, upper, vectors, w + b * n, vectors ? V + b * n * n : nullptr, info + b, own);
}

template <typename T>
__global__ void svdKernel(const T* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors, T* U, T* S, T* Vh,
                          int32_t* info, double* ws, int64_t wsSize) {
  const BlockLanes L;
  const int64_t kk = m < n ? m : n, uc = full ? m : kk, vr = full ? n : kk;
  double* own = ws + blockIdx.x * wsSize;
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x)
    k::lanesSvd(L, m, n, A + b * m * n, full, vectors, vectors ? U + b * m * uc : nullptr, S + b * kk,
                vectors ? Vh + b * vr * n : nullptr, info + b, own);
}

template <typename T>
void launchEigh(Context& ctx, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w, void* V,
                int32_t* info) {
  const unsigned blocks = spectralBlocks(ctx, B);
  const int64_t size = k::eighScratchSize(n, vectors);
  PoolBuffer ws(ctx, static_cast<size_t>(blocks) * static_cast<size_t>(size) * sizeof(double));
  eighKernel<T><<<blocks, spectralThreads(((n + 1) / 2) * n), 0, ctx.stream>>>(
      static_cast<const T*>(A), B, n, upper, vectors, static_cast<T*>(w), static_cast<T*>(V), info,
      static_cast<double*>(ws.get()), size);
  ANTLER_LAUNCH_CHECK("linalg.eigh");
}

template <typename T>
void launchSvd(Context& ctx, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors, void* U,
               void* S, void* Vh, int32_t* info) {
  const unsigned blocks = spectralBlocks(ctx, B);
  const int64_t size = k::svdScratchSize(m, n, full, vectors);
  const int64_t M = m > n ? m : n, N = m > n ? n : m;
  PoolBuffer ws(ctx, static_cast<size_t>(blocks) * static_cast<size_t>(size) * sizeof(double));
  svdKernel<T><<<blocks, spectralThreads(((N + 1) / 2) * (M + N)), 0, ctx.stream>>>(
      static_cast<const T*>(A), B, m, n, full, vectors, static_cast<T*>(U), static_cast<T*>(S), static_cast<T*>(Vh),
      info, static_cast<double*>(ws.get()), size);
  ANTLER_LAUNCH_CHECK("linalg.svd");
}

}  // namespace

void linalgEigh(Context& ctx, DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w,
                void* V, int32_t* info) {
  if (B <= 0) return;
  switch (t) {
    case DType::Float32: return launchEigh<float>(ctx, A, B, n, upper, vectors, w, V, info);
    case DType::Float64: return launchEigh<double>(ctx, A, B, n, upper, vectors, w, V, info);
    default: break;
  }
  fail(Code::Internal, "linalgEigh: unsupported dtype ", static_cast<int>(t));
}

void linalgSvd(Context& ctx, DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors,
               void* U, void* S, void* Vh, int32_t* info) {
  if (B <= 0) return;
  switch (t) {
    case DType::Float32: return launchSvd<float>(ctx, A, B, m, n, full, vectors, U, S, Vh, info);
    case DType::Float64: return launchSvd<double>(ctx, A, B, m, n, full, vectors, U, S, Vh, info);
    default: break;
  }
  fail(Code::Internal, "linalgSvd: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
