// Per-line math of cumsum along one axis, shared by cpu/cumsum.cpp and
// cuda/cumsum.cu. x is viewed as [outer, n, inner]: line l = (o, j), with
// o = l / inner and j = l % inner, holds the n elements x[o, 0 … n−1, j],
// inner apart. Consecutive lines are consecutive inner positions, so on the GPU
// (one thread per line) neighbouring threads load neighbouring elements.
//
//   inclusive: out_i = Σ_{k ≤ i} x_k        exclusive: out_i = Σ_{k < i} x_k
//   reverse:   the same from the end (k ≥ i, or k > i with exclusive)
//
// The running sum is kept in double (float32 and float64 alike, as PyTorch's
// CPU cumsum does for float) and rounded to the dtype once per element.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// Offset of line l's first element (index 0 along the axis).
ANTLER_HD int64_t scanLineBase(int64_t line, int64_t n, int64_t inner) {
  return (line / inner) * n * inner + line % inner;
}

// Scans one line of n elements, `stride` apart from x + base (out + base).
// Each x element is read before its out element is written, so out may be x.
template <typename T>
ANTLER_HD void cumsumLine(T* out, const T* x, int64_t base, int64_t n, int64_t stride, bool exclusive,
                          bool reverse) {
  const int64_t step = reverse ? -stride : stride;
  int64_t i = reverse ? base + (n - 1) * stride : base;
  double acc = 0.0;
  for (int64_t k = 0; k < n; ++k, i += step) {
    const double v = static_cast<double>(x[i]);
    if (exclusive) {
      out[i] = static_cast<T>(acc);
      acc += v;
    } else {
      acc += v;
      out[i] = static_cast<T>(acc);
    }
  }
}

}  // namespace antler::kernels
