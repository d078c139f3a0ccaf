// The DEER linear scan on the CPU (combines in kernels/scan.h).
//
// Forward: one task per batch element walks t = 0 … T−1 (y_t = A_t y_{t−1} + b_t).
// When T is long and there are fewer batch elements than threads, each batch
// element's steps are split into chunks and scanned work-efficiently
// (ALGORITHMS.md §2): every chunk composes its operator (A, b) with the
// combine (in parallel), the chunk summaries are scanned from y0 (sequential,
// one per chunk), and every chunk is replayed from its true start (in parallel).
//
// Backward: one task per batch element walks t = T−1 … 0, the same scan
// reversed with transposed A: λ_t = gy_t + A_{t+1}ᵀ λ_{t+1}, written straight
// into gb; gA_t = λ_t y_{t−1}ᵀ and gy0 = A_0ᵀ λ_0.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../kernels/expm.h"
#include "../kernels/residual.h"
#include "../kernels/scan.h"
#include "lanes.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

// kernels::DenseCombine with loops GCC vectorises. The transposed step (the
// backward's λ) and the composition (the chunked scan's summaries) walk a
// row of A as a vector and add each entry's terms in the shared kernel's
// order, so they give its results bit for bit. The forward step's row sums
// (A y)_i take eight running lanes combined in a fixed tree (lanes.h), then
// the tail: the same result run after run and for any thread count, but not
// the shared kernel's last bits when n ≥ 8 (below 8, its serial order).
struct DenseCpu : k::DenseCombine {
  template <typename T>
  void step(const T* __restrict A, const T* __restrict prev, const T* __restrict b, T* __restrict out) const {
    if (n < 8) return k::DenseCombine::step(A, prev, b, out);
    for (int64_t i = 0; i < n; ++i) {
      const T* __restrict row = A + i * n;
      out[i] = b[i] + laneSum<T>(n, [&](int64_t j) { return row[j] * prev[j]; });
    }
  }
  template <typename T>
  void stepT(const T* __restrict A, const T* __restrict prev, const T* __restrict b, T* __restrict out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = b[i];
    for (int64_t j = 0; j < n; ++j) {
      const T p = prev[j];
      const T* __restrict row = A + j * n;
      for (int64_t i = 0; i < n; ++i) out[i] += row[i] * p;
    }
  }
  // out = A2·A1, each entry's terms in k order as DenseCombine::compose.
  template <typename T>
  void compose(const T* __restrict A2, const T* __restrict A1, T* __restrict out) const {
    for (int64_t i = 0; i < n; ++i) {
      T* __restrict o = out + i * n;
      for (int64_t j = 0; j < n; ++j) o[j] = T(0);
      for (int64_t kk = 0; kk < n; ++kk) {
        const T a = A2[i * n + kk];
        const T* __restrict r = A1 + kk * n;
        for (int64_t j = 0; j < n; ++j) o[j] += a * r[j];
      }
    }
  }
  template <typename T>
  void combine(const T* A1, const T* b1, const T* A2, const T* b2, T* A, T* b) const {
    compose(A2, A1, A);
    step(A2, b1, b2, b);
  }
};

// Below this many steps per batch element the sequential walk is used.
constexpr int64_t kChunkMinSteps = 512;
// Each chunk has at least this many steps.
constexpr int64_t kMinChunkSteps = 64;

template <typename T, typename Combine>
static void walkForward(const Combine& op, const k::ScanConfig& cfg, const T* A, const T* b, const T* start, T* y,
                        int64_t bi, int64_t t0, int64_t t1) {
  const int64_t aStep = cfg.B * op.aSize(), vStep = cfg.B * cfg.n;
  const T* prev = start;
  for (int64_t t = t0; t < t1; ++t) {
    T* out = y + t * vStep + bi * cfg.n;
    op.step(A + t * aStep + bi * op.aSize(), prev, b + t * vStep + bi * cfg.n, out);
    prev = out;
  }
}

template <typename T, typename Combine>
static void scanSequential(const Combine& op, const k::ScanConfig& cfg, const T* A, const T* b, const T* y0, T* y) {
  parallelFor(cfg.B, cfg.T * cfg.B * op.aSize(), [&](int64_t bi) { walkForward(op, cfg, A, b, y0 + bi * cfg.n, y, bi, 0, cfg.T); });
}

template <typename T, typename Combine>
static void scanChunked(const Combine& op, const k::ScanConfig& cfg, const T* A, const T* b, const T* y0, T* y,
                        int64_t chunks) {
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  const k::ScanChunks plan = k::scanChunks(cfg.T, chunks);
  chunks = plan.count;
  const int64_t tasks = cfg.B * chunks;
  // Per (batch, chunk): the composed operator and offset, and scratch for the fold.
  std::vector<T> sumA(tasks * as), sumB(tasks * n), tmpA(tasks * as), tmpB(tasks * n), starts(tasks * n);

  // Phase 1: compose each chunk's steps, earlier then later.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t bi = task / chunks, c = task % chunks;
    const int64_t t0 = plan.begin(c), t1 = plan.end(c);
    T* sa = &sumA[task * as];
    T* sb = &sumB[task * n];
    T* ta = &tmpA[task * as];
    T* tb = &tmpB[task * n];
    const T* a0 = A + t0 * aStep + bi * as;
    const T* b0 = b + t0 * vStep + bi * n;
    for (int64_t i = 0; i < as; ++i) sa[i] = a0[i];
    for (int64_t i = 0; i < n; ++i) sb[i] = b0[i];
    for (int64_t t = t0 + 1; t < t1; ++t) {
      op.combine(sa, sb, A + t * aStep + bi * as, b + t * vStep + bi * n, ta, tb);
      for (int64_t i = 0; i < as; ++i) sa[i] = ta[i];
      for (int64_t i = 0; i < n; ++i) sb[i] = tb[i];
    }
  }

  // Phase 2: scan the summaries from y0 to get every chunk's true start.
  for (int64_t bi = 0; bi < cfg.B; ++bi) {
    const T* prev = y0 + bi * n;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t task = bi * chunks + c;
      T* s = &starts[task * n];
      for (int64_t i = 0; i < n; ++i) s[i] = prev[i];
      if (c + 1 < chunks) {
        T* next = &tmpB[task * n];
        op.step(&sumA[task * as], s, &sumB[task * n], next);
        prev = next;
      }
    }
  }

  // Phase 3: replay every chunk from its start.
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t bi = task / chunks, c = task % chunks;
    walkForward(op, cfg, A, b, &starts[task * n], y, bi, plan.begin(c), plan.end(c));
  }
}

template <typename T, typename Combine>
static void scanTyped(const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in, void* yv) {
  const T* A = static_cast<const T*>(in.A);
  const T* b = static_cast<const T*>(in.b);
  const T* y0 = static_cast<const T*>(in.y0);
  T* y = static_cast<T*>(yv);
  const int64_t threads = numThreads();
  if (cfg.T >= kChunkMinSteps && cfg.B < threads) {
    const int64_t chunks = k::chunkCount(cfg.T, cfg.B, threads, kMinChunkSteps, false);
    if (chunks >= 2) return scanChunked(op, cfg, A, b, y0, y, chunks);
  }
  scanSequential(op, cfg, A, b, y0, y);
}

template <typename T, typename Combine>
static void scanBackwardTyped(const Combine& op, const k::ScanConfig& cfg, const ScanInputs& in, const void* yv,
                              const void* gyv, void* gAv, void* gbv, void* gy0v) {
  const T* A = static_cast<const T*>(in.A);
  const T* y0 = static_cast<const T*>(in.y0);
  const T* y = static_cast<const T*>(yv);
  const T* gy = static_cast<const T*>(gyv);
  T* gA = static_cast<T*>(gAv);
  T* gb = static_cast<T*>(gbv);
  T* gy0 = static_cast<T*>(gy0v);
  const int64_t n = cfg.n, as = op.aSize(), aStep = cfg.B * as, vStep = cfg.B * n;
  parallelFor(cfg.B, cfg.T * cfg.B * as, [&](int64_t bi) {
    // λ_{T−1} = gy_{T−1}; λ_t = Aᵀ_{t+1} λ_{t+1} + gy_t.
    const int64_t last = (cfg.T - 1) * vStep + bi * n;
    for (int64_t i = 0; i < n; ++i) gb[last + i] = gy[last + i];
    for (int64_t t = cfg.T - 2; t >= 0; --t) {
      const int64_t v = t * vStep + bi * n;
      op.stepT(A + (t + 1) * aStep + bi * as, gb + v + vStep, gy + v, gb + v);
    }
    if (gA == nullptr) return;  // the adjoint λ only
    for (int64_t t = 0; t < cfg.T; ++t) {
      const T* prev = t == 0 ? y0 + bi * n : y + (t - 1) * vStep + bi * n;
      T* g = gA + t * aStep + bi * as;
      for (int64_t i = 0; i < n; ++i) op.outerRow(gb + t * vStep + bi * n, prev, g, i);
    }
    // gy0 = A_0ᵀ λ_0.
    for (int64_t i = 0; i < n; ++i) gy0[bi * n + i] = op.applyTRow(A + bi * as, gb + bi * n, i);
  });
}

template <typename T>
static void dispatchForward(const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  if (cfg.diagonal) scanTyped<T>(k::DiagonalCombine{cfg.n}, cfg, in, y);
  else scanTyped<T>(DenseCpu{{cfg.n}}, cfg, in, y);
}

template <typename T>
static void dispatchBackward(const k::ScanConfig& cfg, const ScanInputs& in, const void* y, const void* gy, void* gA,
                             void* gb, void* gy0) {
  if (cfg.diagonal) scanBackwardTyped<T>(k::DiagonalCombine{cfg.n}, cfg, in, y, gy, gA, gb, gy0);
  else scanBackwardTyped<T>(DenseCpu{{cfg.n}}, cfg, in, y, gy, gA, gb, gy0);
}

void deerScan(DType t, const k::ScanConfig& cfg, const ScanInputs& in, void* y) {
  switch (t) {
    case DType::Float32: return dispatchForward<float>(cfg, in, y);
    case DType::Float64: return dispatchForward<double>(cfg, in, y);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan: dtype ", dtypeName(t), " is not supported");
}

void deerScanBackward(DType t, const k::ScanConfig& cfg, const ScanInputs& in, const void* y, const void* gy,
                      void* gA, void* gb, void* gy0) {
  switch (t) {
    case DType::Float32: return dispatchBackward<float>(cfg, in, y, gy, gA, gb, gy0);
    case DType::Float64: return dispatchBackward<double>(cfg, in, y, gy, gA, gb, gy0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.scan backward: dtype ", dtypeName(t), " is not supported");
}

// The residual of each sequence (kernels/residual.h): one task per column.
// Its rows are taken eight entries at a time in running lanes GCC keeps in
// vector registers (the maxima ignore NaN, since kernels::maxKeepNaN's
// branches do not vectorise: a NaN difference shows as a NaN sum of squares,
// which only a NaN makes, and a lane counts the NaNs of f and of the excess,
// which an infinite f makes NaN), the tail of each
// row through kernels::residualAdd. The maxima are exact in any order; the
// sum of squares is added in a fixed order, the same run after run.
template <typename T>
static void residualTyped(int64_t T_, int64_t B, int64_t n, const T* y, const T* f, double rtol, T* out) {
  parallelFor(B, T_ * B * n, [&](int64_t b) {
    constexpr int L = 8;
    double maxD[L] = {}, sumSq[L] = {}, maxF[L] = {}, nanF[L] = {}, nanE[L] = {};
    double maxE[L];
    for (int l = 0; l < L; ++l) maxE[l] = -HUGE_VAL;
    k::ResidualAcc acc = k::residualZero();
    const int64_t nv = n - n % L;
    for (int64_t t = 0; t < T_; ++t) {
      const T* __restrict yr = y + (t * B + b) * n;
      const T* __restrict fr = f + (t * B + b) * n;
      for (int64_t i = 0; i < nv; i += L)
        for (int l = 0; l < L; ++l) {
          const double fv = static_cast<double>(fr[i + l]), d = static_cast<double>(yr[i + l]) - fv;
          const double ad = std::fabs(d), af = std::fabs(fv), e = k::residualExcess(ad, af, rtol);
          maxD[l] = ad > maxD[l] ? ad : maxD[l];
          maxF[l] = af > maxF[l] ? af : maxF[l];
          maxE[l] = e > maxE[l] ? e : maxE[l];
          sumSq[l] += d * d;
          nanF[l] += fv != fv ? 1.0 : 0.0;
          nanE[l] += e != e ? 1.0 : 0.0;
        }
      for (int64_t i = nv; i < n; ++i) k::residualAdd(acc, yr[i], fr[i], rtol);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double lanesSq = ((sumSq[0] + sumSq[1]) + (sumSq[2] + sumSq[3])) + ((sumSq[4] + sumSq[5]) + (sumSq[6] + sumSq[7]));
    k::ResidualAcc lanes{0, lanesSq, 0, -HUGE_VAL};
    for (int l = 0; l < L; ++l) {
      lanes.maxDiff = k::maxKeepNaN(lanes.maxDiff, sumSq[l] != sumSq[l] ? nan : maxD[l]);
      lanes.maxF = k::maxKeepNaN(lanes.maxF, nanF[l] > 0 ? nan : maxF[l]);
      lanes.maxExcess = k::maxKeepNaN(lanes.maxExcess, nanE[l] > 0 ? nan : maxE[l]);
    }
    k::residualMerge(lanes, acc);
    k::residualStore(lanes, B, b, out);
  });
}

void deerResidual(DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f, double rtol, void* out) {
  switch (t) {
    case DType::Float32:
      return residualTyped(T, B, n, static_cast<const float*>(y), static_cast<const float*>(f), rtol,
                           static_cast<float*>(out));
    case DType::Float64:
      return residualTyped(T, B, n, static_cast<const double*>(y), static_cast<const double*>(f), rtol,
                           static_cast<double*>(out));
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer residual: dtype ", dtypeName(t), " is not supported");
}

// Matrix exponentials of count m×m matrices (kernels/expm.h): the matrices
// are split into at most 8 × threads blocks, each with its own scratch.
template <typename T>
static void expmTyped(int64_t count, int64_t m, const T* A, T* E) {
  const int64_t mm = m * m;
  const int64_t blocks = std::min<int64_t>(count, static_cast<int64_t>(8) * numThreads());
  parallelFor(blocks, count * mm * m * 16, [&](int64_t blk) {
    std::vector<T> work(static_cast<size_t>(k::expmWorkSize(m)));
    const int64_t lo = count * blk / blocks, hi = count * (blk + 1) / blocks;
    for (int64_t i = lo; i < hi; ++i) k::expmOne(A + i * mm, E + i * mm, m, work.data());
  });
}

void expm(DType t, int64_t count, int64_t m, const void* A, void* E) {
  if (count <= 0 || m <= 0) return;
  switch (t) {
    case DType::Float32: return expmTyped(count, m, static_cast<const float*>(A), static_cast<float*>(E));
    case DType::Float64: return expmTyped(count, m, static_cast<const double*>(A), static_cast<double*>(E));
    case DType::Int32: break;
  }
  fail(Code::Internal, "expm: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
