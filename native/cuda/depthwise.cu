// Depthwise convolution on CUDA (kernels/depthwise.h, shared with the CPU): the forward pass one thread per output
// element and the input gradient one thread per input element (a gather over the taps and the m output channels of its
// channel: no atomics), both grid-stride loops; the weight gradient one block per (output channel, tap), its threads
// summing strided shares of the N·outPlane products in double and the block reducing them by a fixed tree, so every
// run gives the same result.
#include "../kernels/depthwise.h"
#include "ops.cuh"

namespace antler::cuda {

using kernels::DepthwiseGeometry;

template <typename T>
static __global__ void depthwiseForwardKernel(T* y, const T* x, const T* w, DepthwiseGeometry g, int64_t total) {
  for (int64_t i = gridStart(); i < total; i += gridStride()) y[i] = kernels::depthwiseForwardPoint(x, w, g, i);
}

template <typename T>
static __global__ void depthwiseInputGradKernel(T* gx, const T* gy, const T* w, DepthwiseGeometry g, int64_t total) {
  for (int64_t i = gridStart(); i < total; i += gridStride()) gx[i] = kernels::depthwiseInputGradPoint(gy, w, g, i);
}

template <typename T>
static __global__ void depthwiseWeightGradKernel(T* gw, const T* x, const T* gy, DepthwiseGeometry g) {
  __shared__ double partial[kBlockSize];
  const int64_t KK = g.taps(), tasks = g.C * g.m * KK, terms = g.N * g.outPlane();
  for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
    const int64_t co = task / KK, tap = task % KK;
    double acc = 0.0;
    for (int64_t q = threadIdx.x; q < terms; q += blockDim.x) acc += kernels::depthwiseWeightGradTerm(x, gy, g, co, tap, q);
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kBlockSize / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) gw[task] = static_cast<T>(partial[0]);
    __syncthreads();  // partial[0] read before the next task overwrites it
  }
}

template <typename T>
static void launchForward(Context& ctx, void* y, const void* x, const void* w, const DepthwiseGeometry& g) {
  const int64_t total = g.N * g.C * g.m * g.outPlane();
  depthwiseForwardKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(y), static_cast<const T*>(x), static_cast<const T*>(w), g, total);
  ANTLER_LAUNCH_CHECK("depthwiseConv");
}

template <typename T>
static void launchInputGrad(Context& ctx, void* gx, const void* gy, const void* w, const DepthwiseGeometry& g) {
  const int64_t total = g.N * g.C * g.inPlane();
  depthwiseInputGradKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gx), static_cast<const T*>(gy), static_cast<const T*>(w), g, total);
  ANTLER_LAUNCH_CHECK("depthwiseConv input gradient");
}

template <typename T>
static void launchWeightGrad(Context& ctx, void* gw, const void* x, const void* gy, const DepthwiseGeometry& g) {
  const int64_t tasks = g.C * g.m * g.taps();
  const int64_t cap = static_cast<int64_t>(ctx.multiprocessors) * 64;
  const unsigned blocks = static_cast<unsigned>(tasks < cap ? tasks : cap);
  depthwiseWeightGradKernel<T><<<blocks, kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gw), static_cast<const T*>(x), static_cast<const T*>(gy), g);
  ANTLER_LAUNCH_CHECK("depthwiseConv weight gradient");
}

static bool emptyGeometry(const DepthwiseGeometry& g) {
  return g.N <= 0 || g.C <= 0 || g.m <= 0 || g.inPlane() <= 0 || g.outPlane() <= 0 || g.taps() <= 0;
}

void depthwiseConv(Context& ctx, DType t, void* y, const void* x, const void* w, const DepthwiseGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchForward<float>(ctx, y, x, w, g);
    case DType::Float64: return launchForward<double>(ctx, y, x, w, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConv: dtype ", dtypeName(t), " is not supported");
}

void depthwiseConvBackwardInput(Context& ctx, DType t, void* gx, const void* gy, const void* w,
                                const DepthwiseGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchInputGrad<float>(ctx, gx, gy, w, g);
    case DType::Float64: return launchInputGrad<double>(ctx, gx, gy, w, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConvBackwardInput: dtype ", dtypeName(t), " is not supported");
}

void depthwiseConvBackwardWeight(Context& ctx, DType t, void* gw, const void* x, const void* gy,
                                 const DepthwiseGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchWeightGrad<float>(ctx, gw, x, gy, g);
    case DType::Float64: return launchWeightGrad<double>(ctx, gw, x, gy, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "depthwiseConvBackwardWeight: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
