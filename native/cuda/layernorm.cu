// Layer norm over rows of D elements, forward and backward. Rows are reduced
// by thread groups (kernels::rowblock) with statistics in double; the
// per-element formulas are kernels/rows.h's, shared with the CPU.
//
// gw and gb sum over rows without floating-point atomics, so they are the
// same bits on every run: the rows are cut into a number of chunks fixed by N
// and D, each chunk sums its rows in order into its own partials, and a last
// kernel adds the partials chunk by chunk.
#include <cmath>

#include "../kernels/rows.h"
#include "ops.cuh"

namespace antler::cuda {

namespace rb = kernels::rowblock;

//   mean = Σ x / D,  var = Σ (x − mean)² / D  (two passes, no cancellation)
//   rstd = 1 / sqrt(var + eps),  y = (x − mean) · rstd · w + b
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    layerNormKernel(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N, int64_t D, double eps) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < N; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const bool active = row < N;
    const T* xs = x + row * D;
    double s = 0.0;
    if (active)
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) s += static_cast<double>(xs[j]);
    const double mu = rb::rowReduce(s, shared, rb::SumOp{}) / static_cast<double>(D);
    double ss = 0.0;
    if (active)
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        const double c = static_cast<double>(xs[j]) - mu;
        ss += c * c;
      }
    const double var = rb::rowReduce(ss, shared, rb::SumOp{}) / static_cast<double>(D);
    if (!active) continue;
    const T muT = static_cast<T>(mu);
    const T rT = static_cast<T>(kernels::layerNormRstd(var, eps));
    if (threadIdx.x == 0) {
      mean[row] = muT;
      rstd[row] = rT;
    }
    T* ys = y + row * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x)
      ys[j] = kernels::layerNormAffine(kernels::layerNormHat(xs[j], muT, rT), w, b, j);
  }
}

//   x̂ = (x − mean) · rstd,  ĝ = gy · w (or gy)
//   gx = rstd (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂))
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    layerNormBackwardKernel(T* gx, const T* gy, const T* x, const T* mean, const T* rstd, const T* w, int64_t N,
                            int64_t D) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  const double invD = 1.0 / static_cast<double>(D);
  for (int64_t first = blockIdx.x * rowsPerBlock; first < N; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const bool active = row < N;
    const T* xs = x + row * D;
    const T* gys = gy + row * D;
    const T mu = active ? mean[row] : T(0);
    const T r = active ? rstd[row] : T(0);
    double sg = 0.0, sgx = 0.0;
    if (active)
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
        const T gh = w ? gys[j] * w[j] : gys[j];
        sg += static_cast<double>(gh);
        sgx += static_cast<double>(gh) * static_cast<double>(kernels::layerNormHat(xs[j], mu, r));
      }
    const T meanG = static_cast<T>(rb::rowReduce(sg, shared, rb::SumOp{}) * invD);
    const T meanGX = static_cast<T>(rb::rowReduce(sgx, shared, rb::SumOp{}) * invD);
    if (!active) continue;
    T* gxs = gx + row * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const T gh = w ? gys[j] * w[j] : gys[j];
      gxs[j] = kernels::layerNormGradX(gh, kernels::layerNormHat(xs[j], mu, r), r, meanG, meanGX);
    }
  }
}

// Column partials of gw and gb: a block covers kAffineCols columns of one
// chunk of rows, its kAffineRowThreads thread rows taking every
// kAffineRowThreads-th row, and adds their sums in thread-row order.
constexpr int kAffineCols = 32;
constexpr int kAffineRowThreads = 8;
constexpr int64_t kAffineMinRowsPerChunk = 64;
constexpr int64_t kAffineMaxChunks = 256;
constexpr int64_t kAffineMaxPartials = int64_t(1) << 21;   // chunks · D, so partials stay under 32 MiB

//   partW[chunk, j] = Σ_{i in chunk} gy_ij x̂_ij,  partB[chunk, j] = Σ_{i in chunk} gy_ij
// Four blocks per SM leave ptxas 64 registers, enough to keep the unrolled
// row loop's loads in flight without spilling (left alone it aims at 32).
template <typename T>
static __global__ void __launch_bounds__(kAffineCols * kAffineRowThreads, 4)
    layerNormAffinePartialKernel(double* partW, double* partB, const T* gy, const T* x, const T* mean, const T* rstd,
                                 int64_t N, int64_t D, int64_t rowsPerChunk) {
  __shared__ double sw[kAffineRowThreads][kAffineCols];
  __shared__ double sb[kAffineRowThreads][kAffineCols];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kAffineCols + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t begin = chunk * rowsPerChunk;
  const int64_t end = begin + rowsPerChunk < N ? begin + rowsPerChunk : N;
  double aw = 0.0, ab = 0.0;
  if (col < D)
    for (int64_t i = begin + threadIdx.y; i < end; i += kAffineRowThreads) {
      const T g = gy[i * D + col];
      aw += static_cast<double>(g) * static_cast<double>(kernels::layerNormHat(x[i * D + col], mean[i], rstd[i]));
      ab += static_cast<double>(g);
    }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y != 0 || col >= D) return;
  for (int k = 1; k < kAffineRowThreads; ++k) {
    aw += sw[k][threadIdx.x];
    ab += sb[k][threadIdx.x];
  }
  partW[chunk * D + col] = aw;
  partB[chunk * D + col] = ab;
}

//   gw_j = Σ_chunk partW[chunk, j],  gb_j = Σ_chunk partB[chunk, j]
template <typename T>
static __global__ void layerNormAffineFinalKernel(T* gw, T* gb, const double* partW, const double* partB,
                                                  int64_t chunks, int64_t D) {
  for (int64_t j = gridStart(); j < D; j += gridStride()) {
    double sw = 0.0, sb = 0.0;
    for (int64_t c = 0; c < chunks; ++c) {
      sw += partW[c * D + j];
      sb += partB[c * D + j];
    }
    if (gw) gw[j] = static_cast<T>(sw);
    if (gb) gb[j] = static_cast<T>(sb);
  }
}

template <typename T>
static void launchLayerNorm(Context& ctx, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b,
                            int64_t N, int64_t D, double eps) {
  const dim3 block = rb::shapeFor(D);
  layerNormKernel<T><<<gridFor(ctx, N, block.y), block, 0, ctx.stream>>>(
      static_cast<T*>(y), static_cast<T*>(mean), static_cast<T*>(rstd), static_cast<const T*>(x),
      static_cast<const T*>(w), static_cast<const T*>(b), N, D, eps);
  ANTLER_LAUNCH_CHECK("layerNorm");
}

template <typename T>
static void launchLayerNormBackward(Context& ctx, void* gx, void* gw, void* gb, const void* gy, const void* x,
                                    const void* mean, const void* rstd, const void* w, int64_t N, int64_t D) {
  const T* gyT = static_cast<const T*>(gy);
  const T* xT = static_cast<const T*>(x);
  const T* meanT = static_cast<const T*>(mean);
  const T* rstdT = static_cast<const T*>(rstd);
  const dim3 block = rb::shapeFor(D);
  layerNormBackwardKernel<T><<<gridFor(ctx, N, block.y), block, 0, ctx.stream>>>(
      static_cast<T*>(gx), gyT, xT, meanT, rstdT, static_cast<const T*>(w), N, D);
  ANTLER_LAUNCH_CHECK("layerNormBackward");
  if (!gw && !gb) return;

  // The chunking depends on N and D only, never on the device, so the sums are reproducible anywhere.
  int64_t chunks = (N + kAffineMinRowsPerChunk - 1) / kAffineMinRowsPerChunk;
  if (chunks > kAffineMaxChunks) chunks = kAffineMaxChunks;
  const int64_t partialCap = kAffineMaxPartials / D;
  if (chunks > partialCap) chunks = partialCap;
  if (chunks < 1) chunks = 1;
  const int64_t rowsPerChunk = (N + chunks - 1) / chunks;
  PoolBuffer partials(ctx, static_cast<size_t>(2 * chunks * D) * sizeof(double));
  double* partW = static_cast<double*>(partials.get());
  double* partB = partW + chunks * D;
  const dim3 grid(static_cast<unsigned>((D + kAffineCols - 1) / kAffineCols), static_cast<unsigned>(chunks));
  layerNormAffinePartialKernel<T><<<grid, dim3(kAffineCols, kAffineRowThreads), 0, ctx.stream>>>(
      partW, partB, gyT, xT, meanT, rstdT, N, D, rowsPerChunk);
  ANTLER_LAUNCH_CHECK("layerNormBackward");
  layerNormAffineFinalKernel<T><<<gridFor(ctx, D), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gw), static_cast<T*>(gb), partW, partB, chunks, D);
  ANTLER_LAUNCH_CHECK("layerNormBackward");
}

void layerNorm(Context& ctx, DType t, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b,
               int64_t N, int64_t D, double eps) {
  if (N <= 0 || D <= 0) return;
  switch (t) {
    case DType::Float32: return launchLayerNorm<float>(ctx, y, mean, rstd, x, w, b, N, D, eps);
    case DType::Float64: return launchLayerNorm<double>(ctx, y, mean, rstd, x, w, b, N, D, eps);
    case DType::Int32: break;
  }
  fail(Code::Internal, "layerNorm: dtype ", dtypeName(t), " is not supported");
}

void layerNormBackward(Context& ctx, DType t, void* gx, void* gw, void* gb, const void* gy, const void* x,
                       const void* mean, const void* rstd, const void* w, int64_t N, int64_t D) {
  if (N <= 0 || D <= 0) return;
  switch (t) {
    case DType::Float32: return launchLayerNormBackward<float>(ctx, gx, gw, gb, gy, x, mean, rstd, w, N, D);
    case DType::Float64: return launchLayerNormBackward<double>(ctx, gx, gw, gb, gy, x, mean, rstd, w, N, D);
    case DType::Int32: break;
  }
  fail(Code::Internal, "layerNormBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
