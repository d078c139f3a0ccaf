// Unary elementwise ops and their gradients on the CPU: OpenMP loops over
// kernels/unary.h, each compiled once per op so the formula switch folds away.
#include <type_traits>

#include "../core/error.h"
#include "../kernels/unary.h"
#include "isa.h"
#include "parallel.h"

// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through unary_avx2.cpp.
namespace antler::cpu::ANTLER_ISA_NS {

using kernels::UnaryOp;

template <UnaryOp Op, typename T>
static void unaryLoop(T* y, const T* x, int64_t n, double p0, double p1) {
  parallelFor(n, n, [&](int64_t i) { y[i] = kernels::applyUnary<T>(Op, x[i], p0, p1); });
}

// gx = gy · f'(x); x or y is read only when the formula needs it.
template <UnaryOp Op, typename T>
static void unaryBackwardLoop(T* gx, const T* x, const T* y, const T* gy, int64_t n, double p0, double p1) {
  constexpr bool readsX = kernels::unaryGradReadsX(Op), readsY = kernels::unaryGradReadsY(Op);
  parallelFor(n, n, [&](int64_t i) {
    gx[i] = kernels::unaryGrad<T>(Op, readsX ? x[i] : T(0), readsY ? y[i] : T(0), gy[i], p0, p1);
  });
}

template <typename T>
static void unaryTyped(UnaryOp op, void* y, const void* x, int64_t n, double p0, double p1) {
  const bool known = kernels::dispatchUnaryOp(op, [&](auto opc) {
    unaryLoop<decltype(opc)::value, T>(static_cast<T*>(y), static_cast<const T*>(x), n, p0, p1);
  });
  if (!known) fail(Code::Internal, "unary: unknown op ", static_cast<int>(op));
}

template <typename T>
static void unaryBackwardTyped(UnaryOp op, void* gx, const void* x, const void* y, const void* gy, int64_t n,
                               double p0, double p1) {
  const bool known = kernels::dispatchUnaryOp(op, [&](auto opc) {
    unaryBackwardLoop<decltype(opc)::value, T>(static_cast<T*>(gx), static_cast<const T*>(x),
                                               static_cast<const T*>(y), static_cast<const T*>(gy), n, p0, p1);
  });
  if (!known) fail(Code::Internal, "unaryBackward: unknown op ", static_cast<int>(op));
}

void unary(UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0, double p1) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return unaryTyped<float>(op, y, x, n, p0, p1);
    case DType::Float64: return unaryTyped<double>(op, y, x, n, p0, p1);
    case DType::Int32: return unaryTyped<int32_t>(op, y, x, n, p0, p1);
  }
  fail(Code::Internal, "unary: unknown dtype ", static_cast<int>(t));
}

void unaryBackward(UnaryOp op, DType t, void* gx, const void* x, const void* y, const void* gy, int64_t n, double p0,
                   double p1) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return unaryBackwardTyped<float>(op, gx, x, y, gy, n, p0, p1);
    case DType::Float64: return unaryBackwardTyped<double>(op, gx, x, y, gy, n, p0, p1);
    case DType::Int32: return unaryBackwardTyped<int32_t>(op, gx, x, y, gy, n, p0, p1);
  }
  fail(Code::Internal, "unaryBackward: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu::ANTLER_ISA_NS
