// CTC loss on the CPU (kernels/ctc.h): one parallelFor iteration per sample;
// α is kept whole ([N, T, 2S + 1], saved for backward), β in two rows.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../kernels/ctc.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void ctcForwardTyped(T* nll, T* logAlpha, const T* lp, const int32_t* targets, const int32_t* inLen,
                            const int32_t* tgtLen, int64_t Tmax, int64_t N, int64_t C, int64_t S, int64_t blank) {
  const int64_t Lmax = 2 * S + 1;
  parallelFor(N, N * Tmax * Lmax * 4, [&](int64_t n) {
    const int64_t Tn = inLen[n], L = 2 * int64_t{tgtLen[n]} + 1;
    const int32_t* target = targets + n * S;
    T* a = logAlpha + n * Tmax * Lmax;
    std::fill(a, a + Tmax * Lmax, kernels::ctcNegInf<T>());
    for (int64_t s = 0; s < L; ++s) a[s] = kernels::ctcAlphaStart(target, s, blank, lp + n * C);
    for (int64_t t = 1; t < Tn; ++t) {
      const T* row = lp + (t * N + n) * C;
      for (int64_t s = 0; s < L; ++s) a[t * Lmax + s] = kernels::ctcAlphaStep(a + (t - 1) * Lmax, target, s, blank, row);
    }
    nll[n] = Tn == 0 ? kernels::ctcNllNoFrames<T>(L) : kernels::ctcNll(a + (Tn - 1) * Lmax, L);
  });
}

template <typename T>
static void ctcBackwardTyped(T* grad, const T* g, const T* lp, const int32_t* targets, const int32_t* inLen,
                             const int32_t* tgtLen, const T* nll, const T* logAlpha, int64_t Tmax, int64_t N, int64_t C,
                             int64_t S, int64_t blank, bool zeroInfinity) {
  const int64_t Lmax = 2 * S + 1;
  parallelFor(N, N * Tmax * (Lmax * 4 + C), [&](int64_t n) {
    const int64_t Tn = inLen[n], L = 2 * int64_t{tgtLen[n]} + 1;
    const int32_t* target = targets + n * S;
    const T* a = logAlpha + n * Tmax * Lmax;
    for (int64_t t = 0; t < Tmax; ++t) std::fill(grad + (t * N + n) * C, grad + (t * N + n + 1) * C, T(0));
    const T nl = nll[n];
    if (kernels::ctcInfinite(nl)) {
      // No alignment fits: PyTorch's gradient is NaN on the sample's steps, or 0 with zero_infinity.
      if (!zeroInfinity)
        for (int64_t t = 0; t < Tn; ++t)
          std::fill(grad + (t * N + n) * C, grad + (t * N + n + 1) * C, std::numeric_limits<T>::quiet_NaN());
      return;
    }
    thread_local std::vector<T> beta, lcab;
    beta.assign(static_cast<size_t>(2 * L), kernels::ctcNegInf<T>());
    lcab.assign(static_cast<size_t>(C), kernels::ctcNegInf<T>());
    for (int64_t t = Tn - 1; t >= 0; --t) {
      const T* row = lp + (t * N + n) * C;
      T* cur = beta.data() + (t & 1) * L;
      const T* next = beta.data() + ((t + 1) & 1) * L;
      for (int64_t s = 0; s < L; ++s)
        cur[s] = t == Tn - 1 ? kernels::ctcBetaStart(target, s, L, blank, row) : kernels::ctcBetaStep(next, target, s, L, blank, row);
      for (int64_t s = 0; s < L; ++s) {
        const int64_t c = kernels::ctcLabel(target, s, blank);
        lcab[c] = kernels::logAdd(lcab[c], a[t * Lmax + s] + cur[s]);
      }
      T* out = grad + (t * N + n) * C;
      for (int64_t s = 0; s < L; ++s) {
        const int64_t c = kernels::ctcLabel(target, s, blank);
        if (lcab[c] == kernels::ctcNegInf<T>()) continue;   // written already (a repeated label)
        out[c] = kernels::ctcGrad(lcab[c], nl, row[c], g[n]);
        lcab[c] = kernels::ctcNegInf<T>();
      }
    }
  });
}

void ctcLoss(DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets, const int32_t* inLen,
             const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank) {
  if (N <= 0) return;
  switch (t) {
    case DType::Float32:
      return ctcForwardTyped(static_cast<float*>(nll), static_cast<float*>(logAlpha), static_cast<const float*>(lp), targets,
                             inLen, tgtLen, T, N, C, S, blank);
    case DType::Float64:
      return ctcForwardTyped(static_cast<double*>(nll), static_cast<double*>(logAlpha), static_cast<const double*>(lp),
                             targets, inLen, tgtLen, T, N, C, S, blank);
    default: break;
  }
  fail(Code::Internal, "ctcLoss: unsupported dtype ", static_cast<int>(t));
}

void ctcLossBackward(DType t, void* grad, const void* g, const void* lp, const int32_t* targets, const int32_t* inLen,
                     const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T, int64_t N, int64_t C,
                     int64_t S, int64_t blank, bool zeroInfinity) {
  if (N <= 0 || T <= 0 || C <= 0) return;
  switch (t) {
    case DType::Float32:
      return ctcBackwardTyped(static_cast<float*>(grad), static_cast<const float*>(g), static_cast<const float*>(lp), targets,
                              inLen, tgtLen, static_cast<const float*>(nll), static_cast<const float*>(logAlpha), T, N, C, S,
                              blank, zeroInfinity);
    case DType::Float64:
      return ctcBackwardTyped(static_cast<double*>(grad), static_cast<const double*>(g), static_cast<const double*>(lp),
                              targets, inLen, tgtLen, static_cast<const double*>(nll),
                              static_cast<const double*>(logAlpha), T, N, C, S, blank, zeroInfinity);
    default: break;
  }
  fail(Code::Internal, "ctcLossBackward: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
