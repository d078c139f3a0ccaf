// Cross-entropy of logits [N, C] against int32 class labels, per row, and its
// gradient. Rows are reduced by thread groups (kernels::rowblock); the
// formulas are kernels/rows.h's, shared with the CPU.
#include <cmath>

#include "../kernels/rows.h"
#include "ops.cuh"

namespace antler::cuda {

namespace rb = kernels::rowblock;

// The device flag of the first bad row: all ones (no bad row) until a kernel
// lowers it with atomicMin, so the smallest bad index wins whatever the
// order the rows run in.
constexpr unsigned long long kNoBadRow = ~0ull;

//   loss_i = (max − x_i,label) + log Σ_c exp(x_i,c − max),  valid_i = 1
// Rows labelled ignoreIndex get loss 0, valid 0; a label that is neither a
// class nor ignoreIndex records its row in *badRow.
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    crossEntropyKernel(T* loss, T* valid, const T* x, const int32_t* labels, int64_t N, int64_t C,
                       int64_t ignoreIndex, unsigned long long* badRow) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < N; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const int32_t label = row < N ? labels[row] : 0;
    const kernels::LabelKind kind = row < N ? kernels::labelKind(label, C, ignoreIndex) : kernels::LabelKind::Ignored;
    const bool active = row < N && kind == kernels::LabelKind::Class;
    const T* xs = x + row * C;
    double max = -INFINITY;
    if (active)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) max = kernels::maxNaN(max, static_cast<double>(xs[c]));
    max = rb::rowReduce(max, shared, rb::MaxOp{});
    const T maxT = static_cast<T>(max);
    double sum = 0.0;
    if (active)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
        sum += static_cast<double>(kernels::unary_math::exp_(xs[c] - maxT));
    sum = rb::rowReduce(sum, shared, rb::SumOp{});
    if (row < N && threadIdx.x == 0) {
      if (kind == kernels::LabelKind::Bad) atomicMin(badRow, static_cast<unsigned long long>(row));
      loss[row] = active ? static_cast<T>(kernels::crossEntropyLoss(max, sum, static_cast<double>(xs[label]))) : T(0);
      valid[row] = active ? T(1) : T(0);
    }
  }
}

//   gx_i,c = g_i (softmax(x_i)_c − [c == label_i]);  ignored rows get 0
template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    crossEntropyBackwardKernel(T* gx, const T* x, const int32_t* labels, const T* g, int64_t N, int64_t C,
                               int64_t ignoreIndex) {
  __shared__ double shared[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < N; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const int32_t label = row < N ? labels[row] : 0;
    const bool ignored = row < N && kernels::labelKind(label, C, ignoreIndex) == kernels::LabelKind::Ignored;
    const bool active = row < N && !ignored;
    const T* xs = x + row * C;
    double max = -INFINITY;
    if (active)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) max = kernels::maxNaN(max, static_cast<double>(xs[c]));
    const T maxT = static_cast<T>(rb::rowReduce(max, shared, rb::MaxOp{}));
    double sum = 0.0;
    if (active)
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
        sum += static_cast<double>(kernels::unary_math::exp_(xs[c] - maxT));
    const T sumT = static_cast<T>(rb::rowReduce(sum, shared, rb::SumOp{}));
    if (row < N) {
      T* gxs = gx + row * C;
      if (ignored) {
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) gxs[c] = T(0);
      } else {
        const T gi = g[row];
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
          gxs[c] = kernels::crossEntropyGrad(xs[c], maxT, sumT, c == label, gi);
      }
    }
  }
}

template <typename T>
static int64_t launchCrossEntropy(Context& ctx, void* loss, void* valid, const void* logits, const int32_t* labels,
                                  int64_t N, int64_t C, int64_t ignoreIndex) {
  PoolBuffer flag(ctx, sizeof(unsigned long long));
  unsigned long long* badRow = static_cast<unsigned long long*>(flag.get());
  ANTLER_CUDA_CHECK(cudaMemsetAsync(badRow, 0xFF, sizeof(unsigned long long), ctx.stream));
  const dim3 block = rb::shapeFor(C);
  crossEntropyKernel<T><<<gridFor(ctx, N, block.y), block, 0, ctx.stream>>>(
      static_cast<T*>(loss), static_cast<T*>(valid), static_cast<const T*>(logits), labels, N, C, ignoreIndex, badRow);
  ANTLER_LAUNCH_CHECK("crossEntropy");
  unsigned long long host = kNoBadRow;
  ANTLER_CUDA_CHECK(cudaMemcpyAsync(&host, badRow, sizeof(host), cudaMemcpyDeviceToHost, ctx.stream));
  ANTLER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return host == kNoBadRow ? -1 : static_cast<int64_t>(host);
}

template <typename T>
static void launchCrossEntropyBackward(Context& ctx, void* gx, const void* logits, const int32_t* labels,
                                       const void* g, int64_t N, int64_t C, int64_t ignoreIndex) {
  const dim3 block = rb::shapeFor(C);
  crossEntropyBackwardKernel<T><<<gridFor(ctx, N, block.y), block, 0, ctx.stream>>>(
      static_cast<T*>(gx), static_cast<const T*>(logits), labels, static_cast<const T*>(g), N, C, ignoreIndex);
  ANTLER_LAUNCH_CHECK("crossEntropyBackward");
}

int64_t crossEntropy(Context& ctx, DType t, void* loss, void* valid, const void* logits, const int32_t* labels,
                     int64_t N, int64_t C, int64_t ignoreIndex) {
  if (N <= 0) return -1;
  if (C <= 0) fail(Code::Internal, "crossEntropy: logits have ", C, " classes");
  switch (t) {
    case DType::Float32: return launchCrossEntropy<float>(ctx, loss, valid, logits, labels, N, C, ignoreIndex);
    case DType::Float64: return launchCrossEntropy<double>(ctx, loss, valid, logits, labels, N, C, ignoreIndex);
    case DType::Int32: break;
  }
  fail(Code::Internal, "crossEntropy: dtype ", dtypeName(t), " is not supported");
}

void crossEntropyBackward(Context& ctx, DType t, void* gx, const void* logits, const int32_t* labels, const void* g,
                          int64_t N, int64_t C, int64_t ignoreIndex) {
  if (N <= 0 || C <= 0) return;
  switch (t) {
    case DType::Float32: return launchCrossEntropyBackward<float>(ctx, gx, logits, labels, g, N, C, ignoreIndex);
    case DType::Float64: return launchCrossEntropyBackward<double>(ctx, gx, logits, labels, g, N, C, ignoreIndex);
    case DType::Int32: break;
  }
  fail(Code::Internal, "crossEntropyBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
