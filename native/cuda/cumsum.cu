// cumsum and cumprod along one axis of x viewed as [outer, n, inner], and
// cumprod's gradient, cummax/cummin (cumExtreme) and logcumsumexp: one thread per line (o, j), walking its n elements with
// the double accumulator of kernels/scan_axis.h, shared with the CPU.
// Consecutive threads take consecutive inner positions j, so with inner > 1
// every step's loads and stores are coalesced. A long axis with few lines
// (inner == 1, small outer) leaves most of the GPU idle: the walk along the
// axis is sequential.
#include "../kernels/scan_axis.h"
#include "ops.cuh"

namespace antler::cuda {

using kernels::CumOp;

template <typename T>
static __global__ void cumulativeKernel(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, CumOp op,
                                        bool exclusive, bool reverse) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::cumulativeLine(out, x, kernels::scanLineBase(line, n, inner), n, inner, op, exclusive, reverse);
}

template <typename T>
static __global__ void cumprodBackwardKernel(T* gx, const T* x, const T* gy, double* prefix, int64_t outer, int64_t n,
                                             int64_t inner, bool exclusive, bool reverse) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::cumprodBackwardLine(gx, x, gy, prefix, kernels::scanLineBase(line, n, inner), n, inner, exclusive,
                                 reverse);
}

template <typename T>
static __global__ void cumExtremeKernel(T* values, int32_t* indices, const T* x, int64_t outer, int64_t n,
                                        int64_t inner, bool largest) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::cumExtremeLine(values, indices, x, kernels::scanLineBase(line, n, inner), n, inner, largest);
}

template <typename T>
static __global__ void logCumSumExpKernel(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::logCumSumExpLine(out, x, kernels::scanLineBase(line, n, inner), n, inner, reverse);
}

template <typename T>
static __global__ void logCumSumExpBackwardKernel(T* gx, const T* x, const T* y, const T* gy, int64_t outer, int64_t n,
                                                  int64_t inner, bool reverse) {
  for (int64_t line = gridStart(); line < outer * inner; line += gridStride())
    kernels::logCumSumExpBackwardLine(gx, x, y, gy, kernels::scanLineBase(line, n, inner), n, inner, reverse);
}

template <typename T>
static void launchCumulative(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                             CumOp op, bool exclusive, bool reverse) {
  cumulativeKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(out), static_cast<const T*>(x), outer, n, inner, op, exclusive, reverse);
  ANTLER_LAUNCH_CHECK(op == CumOp::Prod ? "cumprod" : "cumsum");
}

template <typename T>
static void launchCumprodBackward(Context& ctx, void* gx, const void* x, const void* gy, int64_t outer, int64_t n,
                                  int64_t inner, bool exclusive, bool reverse) {
  // The prefix products in double, one per element (kernels::cumprodBackwardLine).
  PoolBuffer prefix(ctx, static_cast<size_t>(outer * n * inner) * sizeof(double));
  cumprodBackwardKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gx), static_cast<const T*>(x), static_cast<const T*>(gy), static_cast<double*>(prefix.get()),
      outer, n, inner, exclusive, reverse);
  ANTLER_LAUNCH_CHECK("cumprodBackward");
}

void cumulative(Context& ctx, DType t, CumOp op, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                bool exclusive, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchCumulative<float>(ctx, out, x, outer, n, inner, op, exclusive, reverse);
    case DType::Float64: return launchCumulative<double>(ctx, out, x, outer, n, inner, op, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumulative: dtype ", dtypeName(t), " is not supported");
}

void cumprodBackward(Context& ctx, DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n,
                     int64_t inner, bool exclusive, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchCumprodBackward<float>(ctx, gx, x, gy, outer, n, inner, exclusive, reverse);
    case DType::Float64: return launchCumprodBackward<double>(ctx, gx, x, gy, outer, n, inner, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumprodBackward: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchCumExtreme(Context& ctx, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n,
                             int64_t inner, bool largest) {
  cumExtremeKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(values), indices, static_cast<const T*>(x), outer, n, inner, largest);
  ANTLER_LAUNCH_CHECK(largest ? "cummax" : "cummin");
}

void cumExtreme(Context& ctx, DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n,
                int64_t inner, bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchCumExtreme<float>(ctx, values, indices, x, outer, n, inner, largest);
    case DType::Float64: return launchCumExtreme<double>(ctx, values, indices, x, outer, n, inner, largest);
    case DType::Int32: return launchCumExtreme<int32_t>(ctx, values, indices, x, outer, n, inner, largest);
  }
  fail(Code::Internal, "cumExtreme: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchLogCumSumExp(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                               bool reverse) {
  logCumSumExpKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(out), static_cast<const T*>(x), outer, n, inner, reverse);
  ANTLER_LAUNCH_CHECK("logcumsumexp");
}

void logCumSumExp(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                  bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchLogCumSumExp<float>(ctx, out, x, outer, n, inner, reverse);
    case DType::Float64: return launchLogCumSumExp<double>(ctx, out, x, outer, n, inner, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "logCumSumExp: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchLogCumSumExpBackward(Context& ctx, void* gx, const void* x, const void* y, const void* gy,
                                       int64_t outer, int64_t n, int64_t inner, bool reverse) {
  logCumSumExpBackwardKernel<T><<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gx), static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(gy), outer, n,
      inner, reverse);
  ANTLER_LAUNCH_CHECK("logcumsumexp backward");
}

void logCumSumExpBackward(Context& ctx, DType t, void* gx, const void* x, const void* y, const void* gy, int64_t outer,
                          int64_t n, int64_t inner, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchLogCumSumExpBackward<float>(ctx, gx, x, y, gy, outer, n, inner, reverse);
    case DType::Float64: return launchLogCumSumExpBackward<double>(ctx, gx, x, y, gy, outer, n, inner, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "logCumSumExpBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
