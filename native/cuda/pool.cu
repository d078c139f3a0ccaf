// Max and average pooling on CUDA (kernels/pool.h, shared with the CPU): one thread per output element (the max's value
// and index, the average), and the average's adjoint one thread per input element (a gather over the outputs whose
// windows hold it, ascending: no atomics, the CPU's order), all grid-stride loops with int64 indexing.
#include "../kernels/pool.h"
#include "ops.cuh"

namespace antler::cuda {

using kernels::PoolGeometry;

template <typename T>
static __global__ void maxPoolKernel(T* y, int32_t* indices, const T* x, PoolGeometry g, int64_t total) {
  for (int64_t i = gridStart(); i < total; i += gridStride()) kernels::poolMaxPoint(x, g, i, y[i], indices[i]);
}

template <typename T>
static __global__ void avgPoolKernel(T* y, const T* x, PoolGeometry g, int64_t total) {
  for (int64_t i = gridStart(); i < total; i += gridStride()) y[i] = kernels::poolAvgPoint(x, g, i);
}

template <typename T>
static __global__ void avgPoolAdjointKernel(T* gx, const T* gy, PoolGeometry g, int64_t total) {
  for (int64_t i = gridStart(); i < total; i += gridStride()) gx[i] = kernels::poolAvgAdjointPoint(gy, g, i);
}

static bool emptyGeometry(const PoolGeometry& g) { return g.planes <= 0 || g.inPlane() <= 0 || g.outPlane() <= 0; }

template <typename T>
static void launchMax(Context& ctx, void* y, int32_t* indices, const void* x, const PoolGeometry& g) {
  const int64_t total = g.planes * g.outPlane();
  maxPoolKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(static_cast<T*>(y), indices,
                                                                        static_cast<const T*>(x), g, total);
  ANTLER_LAUNCH_CHECK("maxPool");
}

template <typename T>
static void launchAvg(Context& ctx, void* y, const void* x, const PoolGeometry& g) {
  const int64_t total = g.planes * g.outPlane();
  avgPoolKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(static_cast<T*>(y), static_cast<const T*>(x), g,
                                                                        total);
  ANTLER_LAUNCH_CHECK("avgPool");
}

template <typename T>
static void launchAvgAdjoint(Context& ctx, void* gx, const void* gy, const PoolGeometry& g) {
  const int64_t total = g.planes * g.inPlane();
  avgPoolAdjointKernel<T><<<gridFor(ctx, total), kBlockSize, 0, ctx.stream>>>(static_cast<T*>(gx),
                                                                               static_cast<const T*>(gy), g, total);
  ANTLER_LAUNCH_CHECK("avgPool gradient");
}

void maxPool(Context& ctx, DType t, void* y, int32_t* indices, const void* x, const PoolGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchMax<float>(ctx, y, indices, x, g);
    case DType::Float64: return launchMax<double>(ctx, y, indices, x, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "maxPool: dtype ", dtypeName(t), " is not supported");
}

void avgPool(Context& ctx, DType t, void* y, const void* x, const PoolGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchAvg<float>(ctx, y, x, g);
    case DType::Float64: return launchAvg<double>(ctx, y, x, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "avgPool: dtype ", dtypeName(t), " is not supported");
}

void avgPoolBackward(Context& ctx, DType t, void* gx, const void* gy, const PoolGeometry& g) {
  if (emptyGeometry(g)) return;
  switch (t) {
    case DType::Float32: return launchAvgAdjoint<float>(ctx, gx, gy, g);
    case DType::Float64: return launchAvgAdjoint<double>(ctx, gx, gy, g);
    case DType::Int32: break;
  }
  fail(Code::Internal, "avgPoolBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
