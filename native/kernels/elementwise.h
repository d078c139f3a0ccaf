// Elementwise math and broadcast indexing shared by both backends.
#pragma once
#include "hd.h"

namespace antler::kernels {

constexpr int kMaxDims = 8;

// Comparisons give 1 or 0 in the operands' dtype (NaN compares unequal).
enum class BinaryOp : int {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Maximum = 4, Minimum = 5,
  Equal = 6, NotEqual = 7, Less = 8, LessEqual = 9, Greater = 10, GreaterEqual = 11, Pow = 12,
};
constexpr int kBinaryOpCount = 13;

template <typename T>
ANTLER_HD T applyBinary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Maximum: return (a != a || a > b) ? a : b;   // NaN propagates, as in PyTorch
    case BinaryOp::Minimum: return (a != a || a < b) ? a : b;
    case BinaryOp::Equal: return T(a == b ? 1 : 0);
    case BinaryOp::NotEqual: return T(a != b ? 1 : 0);
    case BinaryOp::Less: return T(a < b ? 1 : 0);
    case BinaryOp::LessEqual: return T(a <= b ? 1 : 0);
    case BinaryOp::Greater: return T(a > b ? 1 : 0);
    case BinaryOp::GreaterEqual: return T(a >= b ? 1 : 0);
    case BinaryOp::Pow: return static_cast<T>(pow(static_cast<double>(a), static_cast<double>(b)));
  }
  return a;
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
