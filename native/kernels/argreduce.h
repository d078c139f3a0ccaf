// argmax/argmin along one axis (torch.argmax/argmin), topk's selection
// (topkLine) and the line sort of CUDA's topk for larger k (sortRun,
// mergeTarget), shared by cpu/argreduce.cpp, cpu/topk.cpp, cuda/argreduce.cu
// and cuda/topk.cu. x is viewed as [outer, n, inner];
// the result holds, per line (o, j), the index k of the line's extreme.
//
// The rule is a strict total order on (value, index) pairs, "a comes before
// b": a NaN before any non-NaN (a NaN is always the one picked), then the
// larger value (argmax) or the smaller one (argmin), then the lower index (the
// first on ties; -0 and +0 are equal, as in PyTorch). Because it is a total
// order, the winner of a set of pairs does not depend on how they are
// combined: a sequential walk, a tree of partial results or warp shuffles all
// pick the same index.
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// True when candidate (v, i) beats the current best (bv, bi).
template <typename T>
ANTLER_HD bool argBeats(T v, int64_t i, T bv, int64_t bi, bool largest) {
  const bool vNaN = v != v, bNaN = bv != bv;
  if (vNaN || bNaN) return vNaN && (!bNaN || i < bi);
  if (v == bv) return i < bi;
  return largest ? v > bv : v < bv;
}

// The same for a candidate known to have a higher index than the best (a
// walk in increasing k): it wins only by a strictly better value or by being
// the first NaN.
template <typename T>
ANTLER_HD bool argBeatsLater(T v, T bv, bool largest) {
  if (bv != bv) return false;
  return v != v || (largest ? v > bv : v < bv);
}

// The index of the extreme of the n ≥ 1 elements x[base], x[base + stride], …
template <typename T>
ANTLER_HD int64_t argReduceLine(const T* x, int64_t base, int64_t n, int64_t stride, bool largest) {
  T best = x[base];
  int64_t bestK = 0;
  for (int64_t k = 1; k < n; ++k) {
    const T v = x[base + k * stride];
    if (argBeatsLater(v, best, largest)) {
      best = v;
      bestK = k;
      if (v != v) break;   // nothing beats the first NaN
    }
  }
  return bestK;
}

// topk's order (torch.topk, torch.sort): a NaN counts as the largest value,
// so it comes first for the k largest and last for the k smallest; otherwise
// the better value, then the lower index. True when (v, i) comes before (bv, bi).
template <typename T>
ANTLER_HD bool topkBefore(T v, int64_t i, T bv, int64_t bi, bool largest) {
  const bool vNaN = v != v, bNaN = bv != bv;
  if (vNaN != bNaN) return largest ? vNaN : bNaN;
  if (vNaN || v == bv) return i < bi;
  return largest ? v > bv : v < bv;
}

// topk (torch.topk) of one line: writes to out[0], out[outStride], … the
// indices of the k ≤ n best of the n elements x[base], x[base + stride], …,
// best first, in topkBefore's total order. Pass j picks the best element
// among those strictly after pick j − 1 in that order, so no mask or scratch
// is needed: O(k·n) per line.
template <typename T>
ANTLER_HD void topkLine(int32_t* out, int64_t outStride, const T* x, int64_t base, int64_t n, int64_t stride,
                        int64_t k, bool largest) {
  T prevV = T(0);
  int64_t prevI = -1;
  for (int64_t j = 0; j < k; ++j) {
    T bestV = T(0);
    int64_t bestI = -1;
    for (int64_t i = 0; i < n; ++i) {
      const T v = x[base + i * stride];
      if (prevI >= 0 && !topkBefore(prevV, prevI, v, i, largest)) continue;   // not after the previous pick
      if (bestI < 0 || topkBefore(v, i, bestV, bestI, largest)) {
        bestV = v;
        bestI = i;
      }
    }
    out[j * outStride] = static_cast<int32_t>(bestI);
    prevV = bestV;
    prevI = bestI;
  }
}

// Sorting a line in topkBefore's total order (CUDA topk for larger k, and so
// sort/argsort): a merge sort over runs. Every (value, index) pair is distinct
// in that order, so an element's place in the merge of its run with the
// partner run is its place in its own run plus the number of the partner's
// elements before it: each element finds its place alone (a binary search),
// with no merge path to share.

// Insertion sort of len (value, index) pairs in place: a short run.
template <typename T>
ANTLER_HD void sortRun(T* keys, int32_t* idx, int64_t len, bool largest) {
  for (int64_t a = 1; a < len; ++a) {
    const T v = keys[a];
    const int32_t i = idx[a];
    int64_t b = a;
    for (; b > 0 && topkBefore(v, int64_t{i}, keys[b - 1], int64_t{idx[b - 1]}, largest); --b) {
      keys[b] = keys[b - 1];
      idx[b] = idx[b - 1];
    }
    keys[b] = v;
    idx[b] = i;
  }
}

// How many of the len sorted pairs (keys, idx) come before (v, i).
template <typename T>
ANTLER_HD int64_t countBefore(const T* keys, const int32_t* idx, int64_t len, T v, int64_t i, bool largest) {
  int64_t lo = 0, hi = len;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (topkBefore(keys[mid], int64_t{idx[mid]}, v, i, largest)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Where element p of a line lands when the sorted runs of `width` around it
// are merged in pairs (runs 2r and 2r + 1 into one of 2·width): its offset
// in the line after the pass. keys/idx are the line's n pairs.
template <typename T>
ANTLER_HD int64_t mergeTarget(const T* keys, const int32_t* idx, int64_t n, int64_t width, int64_t p, bool largest) {
  const int64_t run = p / width, start = run * width, partner = (run ^ 1) * width;
  if (partner >= n) return p;   // no partner: the run stays where it is
  const int64_t partnerLen = partner + width <= n ? width : n - partner;
  const int64_t before = countBefore(keys + partner, idx + partner, partnerLen, keys[p], int64_t{idx[p]}, largest);
  return (start < partner ? start : partner) + (p - start) + before;
}

}  // namespace antler::kernels
