// searchsorted's binary search, shared by the CPU loop (native/cpu/selection.cpp)
// and the CUDA kernel (native/cuda/selection.cu).
#pragma once

#include "hd.h"

namespace antler::kernels {

// The first position i of seq[0, M) with seq[i] ≥ v (left) or seq[i] > v (right): the
// number of boundaries < v (≤ v), for a sorted seq. PyTorch's search step for step: a
// comparison that fails (a NaN on either side) moves the search right, so a NaN value
// lands at M, and a sequence holding NaN gives the answer its path gives.
template <typename T>
ANTLER_HD int64_t searchsortedPosition(const T* seq, int64_t M, T v, bool right) {
  int64_t lo = 0, hi = M;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    const T s = seq[mid];
    if (right ? !(s > v) : !(s >= v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

}  // namespace antler::kernels
