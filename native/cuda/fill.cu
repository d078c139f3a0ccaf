// Tensors made from nothing: constant fill and arange.
#include "ops.cuh"

namespace antler::cuda {

// dst[i] = value, converted to T once on the host.
template <typename T>
static __global__ void fillKernel(T* dst, int64_t n, T value) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) dst[i] = value;
}

// dst[i] = T(start + i * step), evaluated in double as the CPU loop does. The
// explicit round-to-nearest add and multiply (kernels/hd.h) keep nvcc from
// contracting the two into an fma, which rounds once instead of twice and
// would differ from the CPU in the last bit.
template <typename T>
static __global__ void arangeKernel(T* dst, int64_t n, double start, double step) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    dst[i] = static_cast<T>(kernels::addRn(start, kernels::mulRn(static_cast<double>(i), step)));
}

template <typename T>
static void launchFill(Context& ctx, void* dst, int64_t n, double value) {
  fillKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(static_cast<T*>(dst), n, static_cast<T>(value));
  ANTLER_LAUNCH_CHECK("fill");
}

void fill(Context& ctx, void* dst, DType t, int64_t n, double value) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchFill<float>(ctx, dst, n, value);
    case DType::Float64: return launchFill<double>(ctx, dst, n, value);
    case DType::Int32: return launchFill<int32_t>(ctx, dst, n, value);
  }
  fail(Code::Internal, "fill: unknown dtype ", static_cast<int>(t));
}

template <typename T>
static void launchArange(Context& ctx, void* dst, int64_t n, double start, double step) {
  arangeKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(static_cast<T*>(dst), n, start, step);
  ANTLER_LAUNCH_CHECK("arange");
}

void arange(Context& ctx, void* dst, DType t, int64_t n, double start, double step) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchArange<float>(ctx, dst, n, start, step);
    case DType::Float64: return launchArange<double>(ctx, dst, n, start, step);
    case DType::Int32: return launchArange<int32_t>(ctx, dst, n, start, step);
  }
  fail(Code::Internal, "arange: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
