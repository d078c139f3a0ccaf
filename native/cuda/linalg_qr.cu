// Batched dense linear algebra on CUDA: Householder QR (kernels/linalg_qr.h),
// one thread block (cuda/lanes.cuh) per matrix, grid-stride over the batch.
// The lanes split the rows of each column norm and the columns of each
// reflector's update, so a block is busy for batches of small and medium
// matrices; a single large matrix runs on one block (one SM). W (the matrix
// being reduced) and τ are per-block scratch from the pool, the norm's
// partial sums in shared memory.
#include "../kernels/linalg_qr.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {

template <typename T>
static __global__ void linalgQrKernel(kernels::QrDims d, int64_t B, const T* A, T* Q, T* R, T* scratch) {
  extern __shared__ double qrRed[];
  const BlockLanes L;
  const int64_t perBlock = d.m * d.n + d.k + 1;
  T* W = scratch + static_cast<int64_t>(blockIdx.x) * perBlock;
  for (int64_t b = blockIdx.x; b < B; b += gridDim.x)
    kernels::householderQr(L, d, A + b * d.m * d.n, W, W + d.m * d.n, qrRed, d.qCols > 0 ? Q + b * d.m * d.qCols : nullptr,
                           R + b * d.rRows * d.n);
}

template <typename T>
static void launchLinalgQr(Context& ctx, const kernels::QrDims& d, int64_t B, const void* A, void* Q, void* R) {
  // Lanes over rows (norms) and columns (updates): a warp multiple up to 256.
  const int64_t widest = d.m > d.n ? d.m : d.n;
  int64_t threads = 32 * ((widest + 31) / 32);
  if (threads < 32) threads = 32;
  if (threads > 256) threads = 256;
  const int64_t cap = static_cast<int64_t>(ctx.multiprocessors) * 8;
  const int64_t blocks = B < cap ? B : cap;
  const int64_t perBlock = d.m * d.n + d.k + 1;
  PoolBuffer scratch(ctx, static_cast<size_t>(blocks * perBlock) * sizeof(T));
  const size_t shared = static_cast<size_t>(kernels::qrReductionSize(threads)) * sizeof(double);
  linalgQrKernel<T><<<static_cast<unsigned>(blocks), static_cast<unsigned>(threads), shared, ctx.stream>>>(
      d, B, static_cast<const T*>(A), static_cast<T*>(Q), static_cast<T*>(R), static_cast<T*>(scratch.get()));
  ANTLER_LAUNCH_CHECK("linalg.qr");
}

void linalgQr(Context& ctx, DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n, int64_t qCols,
              int64_t rRows) {
  if (B <= 0) return;
  const kernels::QrDims d{m, n, m < n ? m : n, qCols, rRows};
  switch (t) {
    case DType::Float32: return launchLinalgQr<float>(ctx, d, B, A, Q, R);
    case DType::Float64: return launchLinalgQr<double>(ctx, d, B, A, Q, R);
    default: break;
  }
  fail(Code::Internal, "linalg.qr: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
