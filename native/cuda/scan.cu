// The DEER linear scan on the GPU (combines in kernels/scan.h): one thread
// block per batch element walks t = 0 … T−1, each thread owning rows i of the
// state (i = threadIdx.x, stride blockDim.x). A step reads the previous state
// written by the whole block, so steps are separated by __syncthreads (which
// also makes the block's global writes visible to it). This is the
// correctness-first shape; the chunked three-phase scan of ALGORITHMS.md §2
// can replace it with the same combines.
//
// Backward: the same walk reversed with transposed A: λ_t = gy_t + A_{t+1}ᵀ λ_{t+1},
// written straight into gb; each thread then writes its rows of gA_t = λ_t y_{t−1}ᵀ,
// and at the end gy0 = A_0ᵀ λ_0.
#include "../kernels/scan.h"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

constexpr int kScanBlock = 128;

static unsigned scanGrid(int64_t B) {
  const int64_t cap = 65535;
  return static_cast<unsigned>(B < cap ? B : cap);
}

template <typename T, typename Combine>
static __global__ void __launch_bounds__(kScanBlock)
    deerScanKernel(Combine op, k::ScanConfig cfg, const T* __restrict__ A, const T* __restrict__ b,
                   const T* __restrict__ y0, T* y) {
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  for (int64_t bi = blockIdx.x; bi < cfg.B; bi += gridDim.x) {
    const T* prev = y0 + bi * n;
    for (int64_t t = 0; t < cfg.T; ++t) {
      T* out = y + t * vStep + bi * n;
      const T* a = A + t * aStep + bi * as;
      const T* bt = b + t * vStep + bi * n;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[i] = op.stepRow(a, prev, bt, i);
      __syncthreads();
      prev = out;
    }
  }
}

template <typename T, typename Combine>
static __global__ void __launch_bounds__(kScanBlock)
    deerScanBackwardKernel(Combine op, k::ScanConfig cfg, const T* __restrict__ A, const T* __restrict__ y0,
                           const T* __restrict__ y, const T* __restrict__ gy, T* gA, T* gb, T* gy0) {
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  for (int64_t bi = blockIdx.x; bi < cfg.B; bi += gridDim.x) {
    const int64_t last = (cfg.T - 1) * vStep + bi * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) gb[last + i] = gy[last + i];
    __syncthreads();
    for (int64_t t = cfg.T - 2; t >= 0; --t) {
      const int64_t v = t * vStep + bi * n;
      const T* a = A + (t + 1) * aStep + bi * as;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) gb[v + i] = op.stepTRow(a, gb + v + vStep, gy + v, i);
      __syncthreads();
    }
    for (int64_t t = 0; t < cfg.T; ++t) {
      const T* prev = t == 0 ? y0 + bi * n : y + (t - 1) * vStep + bi * n;
      T* g = gA + t * aStep + bi * as;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) op.outerRow(gb + t * vStep + bi * n, prev, g, i);
    }
    // gy0 = A_0ᵀ λ_0: the transposed step with a zero offset.
    const T* a0 = A + bi * as;
    const T* l0 = gb + bi * n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      T acc = T(0);
      if (cfg.diagonal) {
        acc = a0[i] * l0[i];
      } else {
        for (int64_t j = 0; j < n; ++j) acc += a0[j * n + i] * l0[j];
      }
      gy0[bi * n + i] = acc;
    }
    __syncthreads();
  }
}

static int scanThreads(int64_t n) {
  int threads = 32;
  while (threads < kScanBlock && threads < n) threads *= 2;
  return threads;
}

template <typename T, typename Combine>
static void launchScan(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  deerScanKernel<T, Combine><<<scanGrid(cfg.B), scanThreads(cfg.n), 0, ctx.stream>>>(
      op, cfg, static_cast<const T*>(in.A), static_cast<const T*>(in.b), static_cast<const T*>(in.y0),
      static_cast<T*>(y));
  ANTLER_LAUNCH_CHECK("deerScan");
}

template <typename T, typename Combine>
static void launchScanBackward(Context& ctx, const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in,
                               const void* y, const void* gy, void* gA, void* gb, void* gy0) {
  deerScanBackwardKernel<T, Combine><<<scanGrid(cfg.B), scanThreads(cfg.n), 0, ctx.stream>>>(
      op, cfg, static_cast<const T*>(in.A), static_cast<const T*>(in.y0), static_cast<const T*>(y),
      static_cast<const T*>(gy), static_cast<T*>(gA), static_cast<T*>(gb), static_cast<T*>(gy0));
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
  if (cfg.T <= 0 || cfg.B <= 0) return;
  switch (t) {
    case DType::Float32: return dispatchScan<float>(ctx, cfg, in, y);
    case DType::Float64: return dispatchScan<double>(ctx, cfg, in, y);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan: dtype ", dtypeName(t), " is not supported");
}

void deerScanBackward(Context& ctx, DType t, const k::ScanConfig& cfg, const ScanInputs& in, const void* y,
                      const void* gy, void* gA, void* gb, void* gy0) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  switch (t) {
    case DType::Float32: return dispatchScanBackward<float>(ctx, cfg, in, y, gy, gA, gb, gy0);
    case DType::Float64: return dispatchScanBackward<double>(ctx, cfg, in, y, gy, gA, gb, gy0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan backward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
