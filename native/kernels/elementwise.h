// Elementwise math and broadcast indexing shared by both backends.
#pragma once
#include <type_traits>

#include "hd.h"

namespace antler::kernels {

constexpr int kMaxDims = 8;

// Comparisons give 1 or 0 in the operands' dtype (NaN compares unequal).
enum class BinaryOp : int {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Maximum = 4, Minimum = 5,
  Equal = 6, NotEqual = 7, Less = 8, LessEqual = 9, Greater = 10, GreaterEqual = 11, Pow = 12,
  Remainder = 13, FloorDivide = 14,
};
constexpr int kBinaryOpCount = 15;

// Arithmetic that, for int32, wraps modulo 2^32 as PyTorch's integer tensors
// do (signed overflow is undefined in C++; unsigned arithmetic is not).
template <typename T>
ANTLER_HD T wrapAdd(T a, T b) { return a + b; }
template <typename T>
ANTLER_HD T wrapSub(T a, T b) { return a - b; }
template <typename T>
ANTLER_HD T wrapMul(T a, T b) { return a * b; }
template <>
ANTLER_HD int32_t wrapAdd<int32_t>(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
template <>
ANTLER_HD int32_t wrapSub<int32_t>(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
template <>
ANTLER_HD int32_t wrapMul<int32_t>(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)); }

// a ** b: floating types through pow in double; int32 as PyTorch's integer
// power, by squaring with wrap-around, and for a negative exponent 1 when
// a = 1, ±1 when a = −1 (by the exponent's parity), else 0.
template <typename T>
ANTLER_HD T applyPow(T a, T b) { return static_cast<T>(pow(static_cast<double>(a), static_cast<double>(b))); }
template <>
ANTLER_HD int32_t applyPow<int32_t>(int32_t a, int32_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  uint32_t base = static_cast<uint32_t>(a), result = 1;
  for (uint32_t e = static_cast<uint32_t>(b); e != 0; e >>= 1) {
    if (e & 1u) result *= base;
    base *= base;
  }
  return static_cast<int32_t>(result);
}

// PyTorch's remainder (Python's %: the sign of the divisor) and floor_divide
// (Python's //), by ATen's formulas: fmod is exact, so the floating versions
// take it in double and round once; the rest is in T, as ATen's. For int32
// a zero divisor gives 0 here (the library refuses it before, as PyTorch's
// ZeroDivisionError), and INT_MIN // −1 wraps instead of trapping.
template <typename T>
ANTLER_HD T applyRemainder(T a, T b) {
  T m = static_cast<T>(fmod(static_cast<double>(a), static_cast<double>(b)));
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  return m;
}
template <>
ANTLER_HD int32_t applyRemainder<int32_t>(int32_t a, int32_t b) {
  if (b == 0 || b == -1) return 0;
  int32_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
template <typename T>
ANTLER_HD T applyFloorDivide(T a, T b) {
  if (b == 0) return a / b;
  const T mod = static_cast<T>(fmod(static_cast<double>(a), static_cast<double>(b)));
  T d = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) d -= T(1);
  if (d == 0) {
    // 0 with the sign of a / b (ATen's copysign(0, a / b)).
    const T q = a / b;
    return q < 0 || (q == 0 && T(1) / q < 0) ? T(-0.0) : T(0.0);
  }
  T f = static_cast<T>(floor(static_cast<double>(d)));
  if (d - f > T(0.5)) f += T(1);
  return f;
}
template <>
ANTLER_HD int32_t applyFloorDivide<int32_t>(int32_t a, int32_t b) {
  if (b == 0) return 0;
  if (b == -1) return wrapSub<int32_t>(0, a);
  const int32_t q = a / b;
  return ((a < 0) != (b < 0)) && (a % b != 0) ? q - 1 : q;
}

template <typename T>
ANTLER_HD T applyBinary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return wrapAdd(a, b);
    case BinaryOp::Sub: return wrapSub(a, b);
    case BinaryOp::Mul: return wrapMul(a, b);
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return (a != a || a > b) ? a : b;   // NaN propagates, as in PyTorch
    case BinaryOp::Minimum: return (a != a || a < b) ? a : b;
    case BinaryOp::Equal: return T(a == b ? 1 : 0);
    case BinaryOp::NotEqual: return T(a != b ? 1 : 0);
    case BinaryOp::Less: return T(a < b ? 1 : 0);
    case BinaryOp::LessEqual: return T(a <= b ? 1 : 0);
    case BinaryOp::Greater: return T(a > b ? 1 : 0);
    case BinaryOp::GreaterEqual: return T(a >= b ? 1 : 0);
    case BinaryOp::Pow: return applyPow(a, b);
    case BinaryOp::Remainder: return applyRemainder(a, b);
    case BinaryOp::FloorDivide: return applyFloorDivide(a, b);
  }
  return a;
}

// Calls f(std::integral_constant<BinaryOp, op>{}), so a loop over elements is
// compiled once per op with the switch of applyBinary folded away (and
// vectorised); false for a value outside the enum.
template <typename F>
inline bool dispatchBinaryOp(BinaryOp op, F&& f) {
  using std::integral_constant;
  switch (op) {
    case BinaryOp::Add: f(integral_constant<BinaryOp, BinaryOp::Add>{}); return true;
    case BinaryOp::Sub: f(integral_constant<BinaryOp, BinaryOp::Sub>{}); return true;
    case BinaryOp::Mul: f(integral_constant<BinaryOp, BinaryOp::Mul>{}); return true;
    case BinaryOp::Div: f(integral_constant<BinaryOp, BinaryOp::Div>{}); return true;
    case BinaryOp::Maximum: f(integral_constant<BinaryOp, BinaryOp::Maximum>{}); return true;
    case BinaryOp::Minimum: f(integral_constant<BinaryOp, BinaryOp::Minimum>{}); return true;
    case BinaryOp::Equal: f(integral_constant<BinaryOp, BinaryOp::Equal>{}); return true;
    case BinaryOp::NotEqual: f(integral_constant<BinaryOp, BinaryOp::NotEqual>{}); return true;
    case BinaryOp::Less: f(integral_constant<BinaryOp, BinaryOp::Less>{}); return true;
    case BinaryOp::LessEqual: f(integral_constant<BinaryOp, BinaryOp::LessEqual>{}); return true;
    case BinaryOp::Greater: f(integral_constant<BinaryOp, BinaryOp::Greater>{}); return true;
    case BinaryOp::GreaterEqual: f(integral_constant<BinaryOp, BinaryOp::GreaterEqual>{}); return true;
    case BinaryOp::Pow: f(integral_constant<BinaryOp, BinaryOp::Pow>{}); return true;
    case BinaryOp::Remainder: f(integral_constant<BinaryOp, BinaryOp::Remainder>{}); return true;
    case BinaryOp::FloorDivide: f(integral_constant<BinaryOp, BinaryOp::FloorDivide>{}); return true;
  }
  return false;
}

// Maps a linear index of the (contiguous) output onto element offsets of two
// inputs whose strides are 0 along broadcast dimensions.
struct BroadcastIndexer {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t strideA[kMaxDims];
  int64_t strideB[kMaxDims];

  ANTLER_HD void offsets(int64_t linear, int64_t& oa, int64_t& ob) const {
    oa = 0; ob = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t extent = shape[d];
      const int64_t idx = linear % extent;
      linear /= extent;
      oa += idx * strideA[d];
      ob += idx * strideB[d];
    }
  }
};

template <typename TOut, typename TIn>
ANTLER_HD TOut castValue(TIn v) { return static_cast<TOut>(v); }

// float -> int32 truncates toward zero; out-of-range values saturate and NaN
// becomes 0 (a plain C++ cast is undefined there, and CPU and GPU differ).
ANTLER_HD int32_t floatToInt32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return 2147483647;
  if (v <= -2147483648.0) return -2147483647 - 1;
  return static_cast<int32_t>(v);
}
template <>
ANTLER_HD int32_t castValue<int32_t, float>(float v) { return floatToInt32(v); }
template <>
ANTLER_HD int32_t castValue<int32_t, double>(double v) { return floatToInt32(v); }

}  // namespace antler::kernels
