// CTC loss on CUDA (kernels/ctc.h, shared with cpu/ctc.cpp): one block per
// sample walks t in order, its threads across the lattice positions s, with a
// barrier per step. α lives in the saved logAlpha [N, T, 2S + 1]; backward
// keeps β's two rows in pool scratch and, per step, sums α + β over the
// positions of each channel: the first position of a channel walks the chain
// of its later positions (next[], made once per sample), so a repeated label
// or the blank is summed by one thread in a fixed order (deterministic, no
// atomics). Work O(T · (2S + 1)) per sample, T barriers.
#include <limits>

#include "../kernels/ctc.h"
#include "ops.cuh"

namespace antler::cuda {

constexpr int kCtcThreads = 256;

template <typename T>
static __global__ void ctcForwardKernel(T* nll, T* logAlpha, const T* lp, const int32_t* targets, const int32_t* inLen,
                                        const int32_t* tgtLen, int64_t Tmax, int64_t N, int64_t C, int64_t S,
                                        int64_t blank) {
  const int64_t n = blockIdx.x, Lmax = 2 * S + 1;
  const int64_t Tn = inLen[n], L = 2 * int64_t{tgtLen[n]} + 1;
  const int32_t* target = targets + n * S;
  T* a = logAlpha + n * Tmax * Lmax;
  for (int64_t i = threadIdx.x; i < Tmax * Lmax; i += blockDim.x) a[i] = kernels::ctcNegInf<T>();
  __syncthreads();
  for (int64_t s = threadIdx.x; s < L; s += blockDim.x) a[s] = kernels::ctcAlphaStart(target, s, blank, lp + n * C);
  __syncthreads();
  for (int64_t t = 1; t < Tn; ++t) {
    const T* row = lp + (t * N + n) * C;
    for (int64_t s = threadIdx.x; s < L; s += blockDim.x)
      a[t * Lmax + s] = kernels::ctcAlphaStep(a + (t - 1) * Lmax, target, s, blank, row);
    __syncthreads();
  }
  if (threadIdx.x == 0) nll[n] = Tn == 0 ? kernels::ctcNllNoFrames<T>(L) : kernels::ctcNll(a + (Tn - 1) * Lmax, L);
}

// beta: [N, 2, Lmax] scratch; chain: [N, 2, Lmax] int32 scratch (next position of the same channel, −1 at
// the end; then 1 where s is the channel's first position).
template <typename T>
static __global__ void ctcBackwardKernel(T* grad, T* beta, int32_t* chain, const T* g, const T* lp,
                                         const int32_t* targets, const int32_t* inLen, const int32_t* tgtLen,
                                         const T* nll, const T* logAlpha, int64_t Tmax, int64_t N, int64_t C,
                                         int64_t S, int64_t blank, bool zeroInfinity) {
  const int64_t n = blockIdx.x, Lmax = 2 * S + 1;
  const int64_t Tn = inLen[n], L = 2 * int64_t{tgtLen[n]} + 1;
  const int32_t* target = targets + n * S;
  const T* a = logAlpha + n * Tmax * Lmax;
  T* b = beta + n * 2 * Lmax;
  int32_t* next = chain + n * 2 * Lmax;
  int32_t* first = next + Lmax;
  const T nl = nll[n];
  const bool infinite = kernels::ctcInfinite(nl);
  const T fillValue = infinite && !zeroInfinity ? std::numeric_limits<T>::quiet_NaN() : T(0);
  for (int64_t i = threadIdx.x; i < Tmax * C; i += blockDim.x) {
    const int64_t t = i / C;
    grad[(t * N + n) * C + i % C] = t < Tn ? fillValue : T(0);
  }
  if (infinite) return;   // the whole block takes this branch
  for (int64_t s = threadIdx.x; s < L; s += blockDim.x) {
    const int64_t l = kernels::ctcLabel(target, s, blank);
    int64_t nx = -1;
    for (int64_t q = s + 2; q < L && nx < 0; q += 2)
      if (kernels::ctcLabel(target, q, blank) == l) nx = q;
    bool head = true;
    for (int64_t q = s - 2; q >= 0 && head; q -= 2)
      if (kernels::ctcLabel(target, q, blank) == l) head = false;
    next[s] = static_cast<int32_t>(nx);
    first[s] = head ? 1 : 0;
  }
  __syncthreads();
  for (int64_t t = Tn - 1; t >= 0; --t) {
    const T* row = lp + (t * N + n) * C;
    T* cur = b + (t & 1) * Lmax;
    const T* nxt = b + ((t + 1) & 1) * Lmax;
    for (int64_t s = threadIdx.x; s < L; s += blockDim.x)
      cur[s] = t == Tn - 1 ? kernels::ctcBetaStart(target, s, L, blank, row)
                           : kernels::ctcBetaStep(nxt, target, s, L, blank, row);
    __syncthreads();
    for (int64_t s = threadIdx.x; s < L; s += blockDim.x) {
      if (!first[s]) continue;
      T v = kernels::ctcNegInf<T>();
      for (int64_t q = s; q >= 0; q = next[q]) v = kernels::logAdd(v, a[t * Lmax + q] + cur[q]);
      const int64_t c = kernels::ctcLabel(target, s, blank);
      grad[(t * N + n) * C + c] = kernels::ctcGrad(v, nl, row[c], g[n]);
    }
    __syncthreads();   // cur is read by the next step's β, which writes the other row
  }
}

template <typename T>
static void launchForward(Context& ctx, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
                          const int32_t* inLen, const int32_t* tgtLen, int64_t T_, int64_t N, int64_t C, int64_t S,
                          int64_t blank) {
  ctcForwardKernel<T><<<static_cast<unsigned>(N), kCtcThreads, 0, ctx.stream>>>(
      static_cast<T*>(nll), static_cast<T*>(logAlpha), static_cast<const T*>(lp), targets, inLen, tgtLen, T_, N, C, S,
      blank);
  ANTLER_LAUNCH_CHECK("ctcLoss");
}

template <typename T>
static void launchBackward(Context& ctx, void* grad, const void* g, const void* lp, const int32_t* targets,
                           const int32_t* inLen, const int32_t* tgtLen, const void* nll, const void* logAlpha,
                           int64_t T_, int64_t N, int64_t C, int64_t S, int64_t blank, bool zeroInfinity) {
  const int64_t Lmax = 2 * S + 1;
  PoolBuffer beta(ctx, static_cast<size_t>(N * 2 * Lmax) * sizeof(T));
  PoolBuffer chain(ctx, static_cast<size_t>(N * 2 * Lmax) * sizeof(int32_t));
  ctcBackwardKernel<T><<<static_cast<unsigned>(N), kCtcThreads, 0, ctx.stream>>>(
      static_cast<T*>(grad), static_cast<T*>(beta.get()), static_cast<int32_t*>(chain.get()), static_cast<const T*>(g),
      static_cast<const T*>(lp), targets, inLen, tgtLen, static_cast<const T*>(nll), static_cast<const T*>(logAlpha),
      T_, N, C, S, blank, zeroInfinity);
  ANTLER_LAUNCH_CHECK("ctcLoss backward");
}

void ctcLoss(Context& ctx, DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
             const int32_t* inLen, const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank) {
  if (N <= 0) return;
  switch (t) {
    case DType::Float32: return launchForward<float>(ctx, nll, logAlpha, lp, targets, inLen, tgtLen, T, N, C, S, blank);
    case DType::Float64: return launchForward<double>(ctx, nll, logAlpha, lp, targets, inLen, tgtLen, T, N, C, S, blank);
    default: break;
  }
  fail(Code::Internal, "ctcLoss: unsupported dtype ", static_cast<int>(t));
}

void ctcLossBackward(Context& ctx, DType t, void* grad, const void* g, const void* lp, const int32_t* targets,
                     const int32_t* inLen, const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T,
                     int64_t N, int64_t C, int64_t S, int64_t blank, bool zeroInfinity) {
  if (N <= 0 || T <= 0 || C <= 0) return;
  switch (t) {
    case DType::Float32:
      return launchBackward<float>(ctx, grad, g, lp, targets, inLen, tgtLen, nll, logAlpha, T, N, C, S, blank, zeroInfinity);
    case DType::Float64:
      return launchBackward<double>(ctx, grad, g, lp, targets, inLen, tgtLen, nll, logAlpha, T, N, C, S, blank, zeroInfinity);
    default: break;
  }
  fail(Code::Internal, "ctcLossBackward: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
