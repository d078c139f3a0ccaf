// Softmax and log-softmax over the middle axis of x viewed as [outer, dim, inner],
// forward and backward. The per-element formulas are kernels/rows.h's, shared
// with the CPU; row sums accumulate in double.
//
// inner == 1 (the reduced axis is the last): rows are contiguous and each is
// reduced by a group of threads (kernels::rowblock). inner > 1: the elements
// of a row are inner apart, so one thread walks each row and neighbouring
// threads take neighbouring rows, which keeps every load coalesced.
#include <cmath>

#include "../kernels/rows.h"
#include "ops.cuh"

namespace antler::cuda {

namespace rb = kernels::rowblock;

//   max = max_d x_d,  Σ = Σ_d exp(x_d − max)
//   y_d = exp(x_d − max) / Σ          log: y_d = x_d − max − log Σ
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    softmaxRowsKernel(T* y, const T* x, int64_t rows, int64_t dim, bool logSoftmax) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < rows; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const bool active = row < rows;
    const T* xs = x + row * dim;
    double max = -INFINITY;
    if (active)
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) max = kernels::maxNaN(max, static_cast<double>(xs[d]));
    const T maxT = static_cast<T>(rb::rowReduce(max, shared, rb::MaxOp{}));
    double sum = 0.0;
    if (active)
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
        sum += static_cast<double>(kernels::unary_math::exp_(xs[d] - maxT));
    const T norm = kernels::softmaxNorm<T>(rb::rowReduce(sum, shared, rb::SumOp{}), logSoftmax);
    if (active) {
      T* ys = y + row * dim;
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
        ys[d] = kernels::softmaxValue(xs[d], maxT, norm, logSoftmax);
    }
  }
}

// The same with rows strided by inner: thread t takes row (o, j), o = t / inner, j = t % inner.
template <typename T>
static __global__ void softmaxStridedKernel(T* y, const T* x, int64_t outer, int64_t dim, int64_t inner,
                                            bool logSoftmax) {
  for (int64_t t = gridStart(); t < outer * inner; t += gridStride()) {
    const int64_t base = (t / inner) * dim * inner + t % inner;
    T max = -INFINITY;
    for (int64_t d = 0; d < dim; ++d) max = kernels::maxNaN(max, x[base + d * inner]);
    double sum = 0.0;
    for (int64_t d = 0; d < dim; ++d) sum += static_cast<double>(kernels::unary_math::exp_(x[base + d * inner] - max));
    const T norm = kernels::softmaxNorm<T>(sum, logSoftmax);
    for (int64_t d = 0; d < dim; ++d)
      y[base + d * inner] = kernels::softmaxValue(x[base + d * inner], max, norm, logSoftmax);
  }
}

//   gx_d = y_d (gy_d − Σ gy·y)        log: gx_d = gy_d − exp(y_d) Σ gy
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    softmaxBackwardRowsKernel(T* gx, const T* y, const T* gy, int64_t rows, int64_t dim, bool logSoftmax) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < rows; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const bool active = row < rows;
    const T* ys = y + row * dim;
    const T* gys = gy + row * dim;
    double dot = 0.0;
    if (active)
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) dot += kernels::softmaxDotTerm(ys[d], gys[d], logSoftmax);
    const T dotT = static_cast<T>(rb::rowReduce(dot, shared, rb::SumOp{}));
    if (active) {
      T* gxs = gx + row * dim;
      for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
        gxs[d] = kernels::softmaxGrad(ys[d], gys[d], dotT, logSoftmax);
    }
  }
}

template <typename T>
static __global__ void softmaxBackwardStridedKernel(T* gx, const T* y, const T* gy, int64_t outer, int64_t dim,
                                                    int64_t inner, bool logSoftmax) {
  for (int64_t t = gridStart(); t < outer * inner; t += gridStride()) {
    const int64_t base = (t / inner) * dim * inner + t % inner;
    double dot = 0.0;
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t i = base + d * inner;
      dot += kernels::softmaxDotTerm(y[i], gy[i], logSoftmax);
    }
    const T dotT = static_cast<T>(dot);
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t i = base + d * inner;
      gx[i] = kernels::softmaxGrad(y[i], gy[i], dotT, logSoftmax);
    }
  }
}

template <typename T>
static void launchSoftmax(Context& ctx, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner) {
  T* out = static_cast<T*>(y);
  const T* in = static_cast<const T*>(x);
  if (inner == 1) {
    const dim3 block = rb::shapeFor(dim);
    softmaxRowsKernel<T><<<gridFor(ctx, outer, block.y), block, 0, ctx.stream>>>(out, in, outer, dim, log);
  } else {
    softmaxStridedKernel<T>
        <<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(out, in, outer, dim, inner, log);
  }
  ANTLER_LAUNCH_CHECK("softmax");
}

template <typename T>
static void launchSoftmaxBackward(Context& ctx, bool log, void* gx, const void* y, const void* gy, int64_t outer,
                                  int64_t dim, int64_t inner) {
  T* g = static_cast<T*>(gx);
  const T* ys = static_cast<const T*>(y);
  const T* gys = static_cast<const T*>(gy);
  if (inner == 1) {
    const dim3 block = rb::shapeFor(dim);
    softmaxBackwardRowsKernel<T><<<gridFor(ctx, outer, block.y), block, 0, ctx.stream>>>(g, ys, gys, outer, dim, log);
  } else {
    softmaxBackwardStridedKernel<T>
        <<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(g, ys, gys, outer, dim, inner, log);
  }
  ANTLER_LAUNCH_CHECK("softmaxBackward");
}

void softmax(Context& ctx, DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchSoftmax<float>(ctx, log, y, x, outer, dim, inner);
    case DType::Float64: return launchSoftmax<double>(ctx, log, y, x, outer, dim, inner);
    case DType::Int32: break;
  }
  fail(Code::Internal, "softmax: dtype ", dtypeName(t), " is not supported");
}

void softmaxBackward(Context& ctx, DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer,
                     int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchSoftmaxBackward<float>(ctx, log, gx, y, gy, outer, dim, inner);
    case DType::Float64: return launchSoftmaxBackward<double>(ctx, log, gx, y, gy, outer, dim, inner);
    case DType::Int32: break;
  }
  fail(Code::Internal, "softmaxBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
