// Unary elementwise ops and their gradients: grid-stride loops over
// kernels/unary.h, the same formulas the CPU backend runs. Each kernel is
// compiled once per op, so it carries only its own formula's registers.
#include "ops.cuh"

namespace antler::cuda {

using kernels::UnaryOp;

// y[i] = f(x[i]; p0, p1)
template <UnaryOp Op, typename T>
static __global__ void unaryKernel(T* y, const T* x, int64_t n, double p0, double p1) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) y[i] = kernels::applyUnary<T>(Op, x[i], p0, p1);
}

// gx[i] = gy[i] · f'(x[i]), with f' written in terms of x or of y = f(x),
// whichever the formula needs; the other is not loaded.
template <UnaryOp Op, typename T>
static __global__ void unaryBackwardKernel(T* gx, const T* x, const T* y, const T* gy, int64_t n, double p0,
                                           double p1) {
  constexpr bool readsX = kernels::unaryGradReadsX(Op), readsY = kernels::unaryGradReadsY(Op);
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    const T xv = readsX ? x[i] : T(0);
    const T yv = readsY ? y[i] : T(0);
    gx[i] = kernels::unaryGrad<T>(Op, xv, yv, gy[i], p0, p1);
  }
}

template <typename T>
static void launchUnary(Context& ctx, UnaryOp op, void* y, const void* x, int64_t n, double p0, double p1) {
  const bool known = kernels::dispatchUnaryOp(op, [&](auto opc) {
    unaryKernel<decltype(opc)::value, T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
        static_cast<T*>(y), static_cast<const T*>(x), n, p0, p1);
    ANTLER_LAUNCH_CHECK("unary");
  });
  if (!known) fail(Code::Internal, "unary: unknown op ", static_cast<int>(op));
}

template <typename T>
static void launchUnaryBackward(Context& ctx, UnaryOp op, void* gx, const void* x, const void* y, const void* gy,
                                int64_t n, double p0, double p1) {
  const bool known = kernels::dispatchUnaryOp(op, [&](auto opc) {
    unaryBackwardKernel<decltype(opc)::value, T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
        static_cast<T*>(gx), static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(gy), n, p0,
        p1);
    ANTLER_LAUNCH_CHECK("unaryBackward");
  });
  if (!known) fail(Code::Internal, "unaryBackward: unknown op ", static_cast<int>(op));
}

void unary(Context& ctx, UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0, double p1) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchUnary<float>(ctx, op, y, x, n, p0, p1);
    case DType::Float64: return launchUnary<double>(ctx, op, y, x, n, p0, p1);
    case DType::Int32: return launchUnary<int32_t>(ctx, op, y, x, n, p0, p1);
  }
  fail(Code::Internal, "unary: unknown dtype ", static_cast<int>(t));
}

void unaryBackward(Context& ctx, UnaryOp op, DType t, void* gx, const void* x, const void* y, const void* gy,
                   int64_t n, double p0, double p1) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchUnaryBackward<float>(ctx, op, gx, x, y, gy, n, p0, p1);
    case DType::Float64: return launchUnaryBackward<double>(ctx, op, gx, x, y, gy, n, p0, p1);
    case DType::Int32: return launchUnaryBackward<int32_t>(ctx, op, gx, x, y, gy, n, p0, p1);
  }
  fail(Code::Internal, "unaryBackward: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
