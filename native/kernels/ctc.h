// CTC (Graves et al. 2006; torch.nn.functional.ctc_loss) in log space, shared
// by cpu/ctc.cpp (one sample per parallelFor iteration, s in a loop) and
// cuda/ctc.cu (one block per sample, s across threads). log_probs lp is
// [T, N, C] contiguous; sample n's targets are the first S_n entries of its
// row of targets [N, S] (none is blank). The extended label sequence l' has
// L = 2·S_n + 1 entries: blank at even s, target (s − 1)/2 at odd s.
//
//   α_0(0) = lp[0, blank], α_0(1) = lp[0, l'_1]; α_t(s) = lp[t, l'_s] +
//   logsumexp(α_{t−1}(s), α_{t−1}(s − 1), α_{t−1}(s − 2) when l'_s is not
//   blank and differs from l'_{s−2});  nll = −logsumexp(α_{T−1}(L − 1), α_{T−1}(L − 2)).
//   β mirrors α from the end: β_{T−1}(L − 1), β_{T−1}(L − 2) start it, and
//   β_t(s) = lp[t, l'_s] + logsumexp(β_{t+1}(s), β_{t+1}(s + 1), β_{t+1}(s + 2) under the same rule).
//
// Both include lp[t, l'_s], so with lcab(t, c) = logsumexp over the s with
// l'_s = c of α_t(s) + β_t(s), the gradient of nll with respect to lp is
//   ∂nll/∂lp[t, c] = −exp(lcab(t, c) − lp[t, c] + nll)
// (the true partial derivative; PyTorch returns exp(lp) plus it, which is the
// same gradient once it passes back through log_softmax).
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

template <typename T>
ANTLER_HD T ctcNegInf() {
  return -static_cast<T>(INFINITY);
}

// log(e^a + e^b), exact where either is −∞.
template <typename T>
ANTLER_HD T logAdd(T a, T b) {
  if (a == ctcNegInf<T>()) return b;
  if (b == ctcNegInf<T>()) return a;
  const T hi = a > b ? a : b, lo = a > b ? b : a;
  return hi + log1p(exp(lo - hi));
}

// l'_s of a sample whose targets start at target (s ≥ 0). Written with % and /: the same test as
// (s & 1) ? target[s >> 1] : blank gave wrong β rows from g++ 12 at -O2 in cpu/ctc.cpp (right at
// -O1 or with -fno-tree-vrp, and clean under -fsanitize=undefined); this form is right at every level.
ANTLER_HD int64_t ctcLabel(const int32_t* target, int64_t s, int64_t blank) {
  if (s % 2 == 1) return target[s / 2];
  return blank;
}

// α_t(s) from the previous row prev (α_{t−1}), lp the sample's log-probabilities at t ([C]).
template <typename T>
ANTLER_HD T ctcAlphaStep(const T* prev, const int32_t* target, int64_t s, int64_t blank, const T* lp) {
  const int64_t l = ctcLabel(target, s, blank);
  T v = prev[s];
  if (s > 0) v = logAdd(v, prev[s - 1]);
  if (s > 1 && l != blank && l != ctcLabel(target, s - 2, blank)) v = logAdd(v, prev[s - 2]);
  return v == ctcNegInf<T>() ? v : v + lp[l];
}

// β_t(s) from the next row next (β_{t+1}); L the sample's extended length.
template <typename T>
ANTLER_HD T ctcBetaStep(const T* next, const int32_t* target, int64_t s, int64_t L, int64_t blank, const T* lp) {
  const int64_t l = ctcLabel(target, s, blank);
  T v = next[s];
  if (s + 1 < L) v = logAdd(v, next[s + 1]);
  if (s + 2 < L && l != blank && l != ctcLabel(target, s + 2, blank)) v = logAdd(v, next[s + 2]);
  return v == ctcNegInf<T>() ? v : v + lp[l];
}

// The first row of α (t = 0) or the last of β (t = T_n − 1): only the first (last) two entries can start.
template <typename T>
ANTLER_HD T ctcAlphaStart(const int32_t* target, int64_t s, int64_t blank, const T* lp) {
  return s < 2 ? lp[ctcLabel(target, s, blank)] : ctcNegInf<T>();
}
template <typename T>
ANTLER_HD T ctcBetaStart(const int32_t* target, int64_t s, int64_t L, int64_t blank, const T* lp) {
  return s + 2 >= L ? lp[ctcLabel(target, s, blank)] : ctcNegInf<T>();
}

// −log p(targets) from α's last row (L ≥ 1).
template <typename T>
ANTLER_HD T ctcNll(const T* lastRow, int64_t L) {
  T v = lastRow[L - 1];
  if (L > 1) v = logAdd(v, lastRow[L - 2]);
  return -v;
}

// −log p(targets) of a sample with no frames (input length 0): an empty target has the one empty
// alignment (−log 1, −0 as PyTorch prints it), any other none (∞).
template <typename T>
ANTLER_HD T ctcNllNoFrames(int64_t L) {
  return L == 1 ? -T(0) : static_cast<T>(INFINITY);
}
// True when no alignment fits (nll = ∞): PyTorch's gradient is NaN there, or 0 with zero_infinity.
template <typename T>
ANTLER_HD bool ctcInfinite(T nll) {
  return nll == static_cast<T>(INFINITY);
}

// The gradient entry for channel c at t from lcab(t, c) (see above), times the upstream g.
template <typename T>
ANTLER_HD T ctcGrad(T lcab, T nll, T lp, T g) {
  return lcab == ctcNegInf<T>() ? T(0) : -exp(lcab - lp + nll) * g;
}

}  // namespace antler::kernels
