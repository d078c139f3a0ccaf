// Row ops on the CPU: softmax, cross-entropy, embedding rows and layer norm,
// as OpenMP loops over the per-element math of kernels/rows.h. Row
// statistics accumulate in double; every reduction runs in an order fixed by
// the shapes alone, so results do not depend on the thread count.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../kernels/rows.h"
#include "lanes.h"
#include "isa.h"
#include "parallel.h"

// Compiled twice (isa.h): here for the x86-64 baseline, and for AVX2 through rows_avx2.cpp.
namespace antler::cpu::ANTLER_ISA_NS {

namespace k = kernels;

// Softmax over the middle axis of [outer, dim, inner] walks kColumns
// neighbouring inner positions at once, so each step along dim reads a
// contiguous run instead of one element every inner·sizeof(T) bytes.
constexpr int64_t kColumns = 64;

// Calls body(base, width) for each run of at most kColumns inner positions of
// each outer index; base is the offset of the run's first element at d = 0.
template <typename Body>
static void forColumnRuns(int64_t outer, int64_t dim, int64_t inner, Body body) {
  const int64_t runs = (inner + kColumns - 1) / kColumns;
  const int64_t tasks = outer * runs;
  const int64_t total = outer * dim * inner;
  parallelFor(tasks, total, [&](int64_t task) {
    const int64_t o = task / runs;
    const int64_t j0 = (task % runs) * kColumns;
    const int64_t width = inner - j0 < kColumns ? inner - j0 : kColumns;
    body(o * dim * inner + j0, width);
  });
}

// Row helpers for the last-axis paths: each loop is element-parallel so it
// vectorises (the max and the sums kept in eight lanes, combined in a fixed
// order, so results depend on the row length alone).
// The lanes take plain selects (which vectorise; maxNaN's NaN test in the
// same select did not) and a NaN is remembered in its own lanes: NaN wins
// whatever the order, so this is maxNaN's sequential max.
template <typename T>
static T rowMax(const T* xs, int64_t n) {
  T lane[8], nan[8];
  for (int l = 0; l < 8; ++l) lane[l] = -std::numeric_limits<T>::infinity(), nan[l] = T(0);
  int64_t d = 0;
  for (; d + 8 <= n; d += 8)
    for (int l = 0; l < 8; ++l) {
      const T x = xs[d + l];
      lane[l] = lane[l] > x ? lane[l] : x;
      nan[l] = x != x ? x : nan[l];
    }
  for (int l = 0; l < 8; ++l)
    if (nan[l] != nan[l]) return nan[l];
  T m = lane[0];
  for (int l = 1; l < 8; ++l) m = k::maxNaN(m, lane[l]);
  for (; d < n; ++d) m = k::maxNaN(m, xs[d]);
  return m;
}

template <typename T>
static double rowSum(const T* v, int64_t n) {
  return laneSum<double>(n, [v](int64_t d) { return static_cast<double>(v[d]); });
}

// Σ exp(x − max) over a row in double, the exponentials made in blocks on the stack.
template <typename T>
static double rowExpSum(const T* xs, int64_t n, T max) {
  constexpr int64_t kBlock = 256;
  T e[kBlock];
  double sum = 0.0;
  for (int64_t d0 = 0; d0 < n; d0 += kBlock) {
    const int64_t m = n - d0 < kBlock ? n - d0 : kBlock;
    for (int64_t d = 0; d < m; ++d) e[d] = k::unary_math::exp_(xs[d0 + d] - max);
    sum += rowSum(e, m);
  }
  return sum;
}

// Softmax over the last axis (inner = 1): row by row, each exponential
// computed once (kept in y for softmax).
template <typename T>
static void softmaxRows(bool logSoftmax, T* y, const T* x, int64_t rows, int64_t dim) {
  parallelFor(rows, rows * dim * 8, [&](int64_t r) {
    const T* xs = x + r * dim;
    T* ys = y + r * dim;
    const T max = rowMax(xs, dim);
    if (logSoftmax) {
      const T norm = k::softmaxNorm<T>(rowExpSum(xs, dim, max), true);
      for (int64_t d = 0; d < dim; ++d) ys[d] = k::softmaxValue(xs[d], max, norm, true);
      return;
    }
    for (int64_t d = 0; d < dim; ++d) ys[d] = k::unary_math::exp_(xs[d] - max);  // softmaxValue's numerator
    const T norm = k::softmaxNorm<T>(rowSum(ys, dim), false);
    for (int64_t d = 0; d < dim; ++d) ys[d] = ys[d] / norm;
  });
}

template <typename T>
static void softmaxBackwardRows(bool logSoftmax, T* gx, const T* y, const T* gy, int64_t rows, int64_t dim) {
  parallelFor(rows, rows * dim * 4, [&](int64_t r) {
    const int64_t off = r * dim;
    const double dot = laneSum<double>(dim, [&](int64_t d) { return k::softmaxDotTerm(y[off + d], gy[off + d], logSoftmax); });
    const T dotT = static_cast<T>(dot);
    for (int64_t d = 0; d < dim; ++d) gx[off + d] = k::softmaxGrad(y[off + d], gy[off + d], dotT, logSoftmax);
  });
}

template <typename T>
static void softmaxTyped(bool logSoftmax, T* y, const T* x, int64_t outer, int64_t dim, int64_t inner) {
  if (inner == 1) return softmaxRows(logSoftmax, y, x, outer, dim);
  forColumnRuns(outer, dim, inner, [&](int64_t base, int64_t width) {
    T max[kColumns];
    double sum[kColumns];
    T norm[kColumns];
    for (int64_t j = 0; j < width; ++j) {
      max[j] = -std::numeric_limits<T>::infinity();
      sum[j] = 0.0;
    }
    for (int64_t d = 0; d < dim; ++d) {
      const T* xs = x + base + d * inner;
      for (int64_t j = 0; j < width; ++j) max[j] = k::maxNaN(max[j], xs[j]);
    }
    for (int64_t d = 0; d < dim; ++d) {
      const T* xs = x + base + d * inner;
      for (int64_t j = 0; j < width; ++j) sum[j] += static_cast<double>(k::unary_math::exp_(xs[j] - max[j]));
    }
    for (int64_t j = 0; j < width; ++j) norm[j] = k::softmaxNorm<T>(sum[j], logSoftmax);
    for (int64_t d = 0; d < dim; ++d) {
      const T* xs = x + base + d * inner;
      T* ys = y + base + d * inner;
      for (int64_t j = 0; j < width; ++j) ys[j] = k::softmaxValue(xs[j], max[j], norm[j], logSoftmax);
    }
  });
}

template <typename T>
static void softmaxBackwardTyped(bool logSoftmax, T* gx, const T* y, const T* gy, int64_t outer, int64_t dim,
                                 int64_t inner) {
  if (inner == 1) return softmaxBackwardRows(logSoftmax, gx, y, gy, outer, dim);
  forColumnRuns(outer, dim, inner, [&](int64_t base, int64_t width) {
    double dot[kColumns];
    T dotT[kColumns];
    for (int64_t j = 0; j < width; ++j) dot[j] = 0.0;
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t off = base + d * inner;
      for (int64_t j = 0; j < width; ++j) dot[j] += k::softmaxDotTerm(y[off + j], gy[off + j], logSoftmax);
    }
    for (int64_t j = 0; j < width; ++j) dotT[j] = static_cast<T>(dot[j]);
    for (int64_t d = 0; d < dim; ++d) {
      const int64_t off = base + d * inner;
      for (int64_t j = 0; j < width; ++j) gx[off + j] = k::softmaxGrad(y[off + j], gy[off + j], dotT[j], logSoftmax);
    }
  });
}

void softmax(DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32:
      return softmaxTyped(log, static_cast<float*>(y), static_cast<const float*>(x), outer, dim, inner);
    case DType::Float64:
      return softmaxTyped(log, static_cast<double*>(y), static_cast<const double*>(x), outer, dim, inner);
    case DType::Int32: break;
  }
  fail(Code::Internal, "softmax: dtype ", dtypeName(t), " is not supported");
}

void softmaxBackward(DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer, int64_t dim,
                     int64_t inner) {
  if (outer <= 0 || dim <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32:
      return softmaxBackwardTyped(log, static_cast<float*>(gx), static_cast<const float*>(y),
                                  static_cast<const float*>(gy), outer, dim, inner);
    case DType::Float64:
      return softmaxBackwardTyped(log, static_cast<double*>(gx), static_cast<const double*>(y),
                                  static_cast<const double*>(gy), outer, dim, inner);
    case DType::Int32: break;
  }
  fail(Code::Internal, "softmaxBackward: dtype ", dtypeName(t), " is not supported");
}

// ---- cross-entropy ----

// Max of a row, and Σ exp(x − max) in double.
template <typename T>
static void rowLogSumExp(const T* xs, int64_t C, T& max, double& sum) {
  max = rowMax(xs, C);
  sum = rowExpSum(xs, C, max);
}

template <typename T>
static void crossEntropyTyped(T* loss, T* valid, const T* x, const int32_t* labels, int64_t N, int64_t C,
                              int64_t ignoreIndex) {
  parallelFor(N, N * C, [&](int64_t i) {
    const int32_t label = labels[i];
    if (k::labelKind(label, C, ignoreIndex) != k::LabelKind::Class) {
      loss[i] = T(0);
      valid[i] = T(0);
      return;
    }
    const T* xs = x + i * C;
    T max;
    double sum;
    rowLogSumExp(xs, C, max, sum);
    loss[i] = static_cast<T>(k::crossEntropyLoss(max, sum, xs[label]));
    valid[i] = T(1);
  });
}

template <typename T>
static void crossEntropyBackwardTyped(T* gx, const T* x, const int32_t* labels, const T* g, int64_t N, int64_t C,
                                      int64_t ignoreIndex) {
  parallelFor(N, N * C, [&](int64_t i) {
    const int32_t label = labels[i];
    T* gs = gx + i * C;
    if (k::labelKind(label, C, ignoreIndex) == k::LabelKind::Ignored) {
      for (int64_t c = 0; c < C; ++c) gs[c] = T(0);
      return;
    }
    const T* xs = x + i * C;
    T max;
    double sum;
    rowLogSumExp(xs, C, max, sum);
    const T sumT = static_cast<T>(sum);
    for (int64_t c = 0; c < C; ++c) gs[c] = k::crossEntropyGrad(xs[c], max, sumT, c == label, g[i]);
  });
}

// The first row whose label is neither a class nor ignoreIndex, or −1.
static int64_t firstBadLabel(const int32_t* labels, int64_t N, int64_t C, int64_t ignoreIndex) {
  for (int64_t i = 0; i < N; ++i)
    if (k::labelKind(labels[i], C, ignoreIndex) == k::LabelKind::Bad) return i;
  return -1;
}

int64_t crossEntropy(DType t, void* loss, void* valid, const void* logits, const int32_t* labels, int64_t N, int64_t C,
                     int64_t ignoreIndex) {
  if (N <= 0) return -1;
  const int64_t bad = firstBadLabel(labels, N, C, ignoreIndex);
  if (bad >= 0) return bad;
  switch (t) {
    case DType::Float32:
      crossEntropyTyped(static_cast<float*>(loss), static_cast<float*>(valid), static_cast<const float*>(logits),
                        labels, N, C, ignoreIndex);
      return -1;
    case DType::Float64:
      crossEntropyTyped(static_cast<double*>(loss), static_cast<double*>(valid), static_cast<const double*>(logits),
                        labels, N, C, ignoreIndex);
      return -1;
    case DType::Int32: break;
  }
  fail(Code::Internal, "crossEntropy: dtype ", dtypeName(t), " is not supported");
}

void crossEntropyBackward(DType t, void* gx, const void* logits, const int32_t* labels, const void* g, int64_t N,
                          int64_t C, int64_t ignoreIndex) {
  if (N <= 0 || C <= 0) return;
  switch (t) {
    case DType::Float32:
      return crossEntropyBackwardTyped(static_cast<float*>(gx), static_cast<const float*>(logits), labels,
                                       static_cast<const float*>(g), N, C, ignoreIndex);
    case DType::Float64:
      return crossEntropyBackwardTyped(static_cast<double*>(gx), static_cast<const double*>(logits), labels,
                                       static_cast<const double*>(g), N, C, ignoreIndex);
    case DType::Int32: break;
  }
  fail(Code::Internal, "crossEntropyBackward: dtype ", dtypeName(t), " is not supported");
}

// ---- embedding rows ----

// Rows are copied as bytes: the op is dtype-blind apart from the element size.
int64_t gatherRows(DType t, void* out, const void* table, const int32_t* idx, int64_t n, int64_t rows, int64_t cols) {
  if (n <= 0) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= rows) return i;
  if (cols <= 0) return -1;
  const size_t rowBytes = static_cast<size_t>(cols) * dtypeSize(t);
  const char* src = static_cast<const char*>(table);
  char* dst = static_cast<char*>(out);
  parallelFor(n, n * cols, [&](int64_t i) {
    std::memcpy(dst + static_cast<size_t>(i) * rowBytes, src + static_cast<size_t>(idx[i]) * rowBytes, rowBytes);
  });
  return -1;
}

// Threads split the columns, and each column adds the rows of g in index
// order, so a repeated index sums in the same order whatever the thread count.
template <typename T>
static void scatterAddRowsTyped(T* gtable, const T* g, const int32_t* idx, int64_t n, int64_t cols) {
  const int64_t runs = (cols + kColumns - 1) / kColumns;
  parallelFor(runs, n * cols, [&](int64_t run) {
    const int64_t c0 = run * kColumns;
    const int64_t c1 = c0 + kColumns < cols ? c0 + kColumns : cols;
    for (int64_t i = 0; i < n; ++i) {
      T* dst = gtable + static_cast<int64_t>(idx[i]) * cols;
      const T* src = g + i * cols;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

// Returns the first i with idx[i] outside [0, rows), found before any write (gtable is then untouched), or −1.
int64_t scatterAddRows(DType t, void* gtable, const void* g, const int32_t* idx, int64_t n, int64_t rows,
                       int64_t cols) {
  if (n <= 0) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= rows) return i;
  if (cols <= 0) return -1;
  switch (t) {
    case DType::Float32:
      scatterAddRowsTyped(static_cast<float*>(gtable), static_cast<const float*>(g), idx, n, cols);
      return -1;
    case DType::Float64:
      scatterAddRowsTyped(static_cast<double*>(gtable), static_cast<const double*>(g), idx, n, cols);
      return -1;
    case DType::Int32: break;
  }
  fail(Code::Internal, "scatterAddRows: dtype ", dtypeName(t), " is not supported");
}

// ---- layer norm ----

// mean = Σx / D, var = Σ(x − mean)² / D: two passes in double, so a large
// mean costs no digits of the variance.
template <typename T>
static void layerNormTyped(T* y, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t N, int64_t D,
                           double eps) {
  parallelFor(N, N * D, [&](int64_t i) {
    const T* xs = x + i * D;
    double s = 0.0;
    for (int64_t j = 0; j < D; ++j) s += static_cast<double>(xs[j]);
    const double mu = s / static_cast<double>(D);
    double ss = 0.0;
    for (int64_t j = 0; j < D; ++j) {
      const double c = static_cast<double>(xs[j]) - mu;
      ss += c * c;
    }
    const T muT = static_cast<T>(mu);
    const T rT = static_cast<T>(k::layerNormRstd(ss / static_cast<double>(D), eps));
    mean[i] = muT;
    rstd[i] = rT;
    T* ys = y + i * D;
    for (int64_t j = 0; j < D; ++j) ys[j] = k::layerNormAffine(k::layerNormHat(xs[j], muT, rT), w, b, j);
  });
}

// gw and gb: the rows are cut into at most kMaxRowChunks chunks, a number
// fixed by N, each summing its rows in order into its own partials, which are
// then added chunk by chunk: deterministic, yet parallel when D is small.
constexpr int64_t kMaxRowChunks = 64;

template <typename T>
static void layerNormBackwardTyped(T* gx, T* gw, T* gb, const T* gy, const T* x, const T* mean, const T* rstd,
                                   const T* w, int64_t N, int64_t D) {
  const bool affine = gw || gb;
  const int64_t chunks = N < kMaxRowChunks ? N : kMaxRowChunks;
  const int64_t rowsPerChunk = (N + chunks - 1) / chunks;
  std::vector<double> partW(affine ? static_cast<size_t>(chunks * D) : 0, 0.0);
  std::vector<double> partB(affine ? static_cast<size_t>(chunks * D) : 0, 0.0);
  const double invD = 1.0 / static_cast<double>(D);
  parallelFor(chunks, N * D, [&](int64_t chunk) {
    double* pw = affine ? partW.data() + chunk * D : nullptr;
    double* pb = affine ? partB.data() + chunk * D : nullptr;
    const int64_t end = (chunk + 1) * rowsPerChunk < N ? (chunk + 1) * rowsPerChunk : N;
    for (int64_t i = chunk * rowsPerChunk; i < end; ++i) {
      const T* xs = x + i * D;
      const T* gys = gy + i * D;
      const T mu = mean[i], r = rstd[i];
      double sg = 0.0, sgx = 0.0;
      for (int64_t j = 0; j < D; ++j) {
        const T xh = k::layerNormHat(xs[j], mu, r);
        const T gh = w ? gys[j] * w[j] : gys[j];
        sg += static_cast<double>(gh);
        sgx += static_cast<double>(gh) * static_cast<double>(xh);
        if (affine) {
          pw[j] += static_cast<double>(gys[j]) * static_cast<double>(xh);
          pb[j] += static_cast<double>(gys[j]);
        }
      }
      const T meanG = static_cast<T>(sg * invD), meanGX = static_cast<T>(sgx * invD);
      T* gxs = gx + i * D;
      for (int64_t j = 0; j < D; ++j) {
        const T xh = k::layerNormHat(xs[j], mu, r);
        const T gh = w ? gys[j] * w[j] : gys[j];
        gxs[j] = k::layerNormGradX(gh, xh, r, meanG, meanGX);
      }
    }
  });
  if (!affine) return;
  parallelFor(D, chunks * D, [&](int64_t j) {
    double sw = 0.0, sb = 0.0;
    for (int64_t c = 0; c < chunks; ++c) {
      sw += partW[static_cast<size_t>(c * D + j)];
      sb += partB[static_cast<size_t>(c * D + j)];
    }
    if (gw) gw[j] = static_cast<T>(sw);
    if (gb) gb[j] = static_cast<T>(sb);
  });
}

void layerNorm(DType t, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int64_t N,
               int64_t D, double eps) {
  if (N <= 0 || D <= 0) return;
  switch (t) {
    case DType::Float32:
      return layerNormTyped(static_cast<float*>(y), static_cast<float*>(mean), static_cast<float*>(rstd),
                            static_cast<const float*>(x), static_cast<const float*>(w), static_cast<const float*>(b),
                            N, D, eps);
    case DType::Float64:
      return layerNormTyped(static_cast<double*>(y), static_cast<double*>(mean), static_cast<double*>(rstd),
                            static_cast<const double*>(x), static_cast<const double*>(w),
                            static_cast<const double*>(b), N, D, eps);
    case DType::Int32: break;
  }
  fail(Code::Internal, "layerNorm: dtype ", dtypeName(t), " is not supported");
}

void layerNormBackward(DType t, void* gx, void* gw, void* gb, const void* gy, const void* x, const void* mean,
                       const void* rstd, const void* w, int64_t N, int64_t D) {
  if (N <= 0 || D <= 0) return;
  switch (t) {
    case DType::Float32:
      return layerNormBackwardTyped(static_cast<float*>(gx), static_cast<float*>(gw), static_cast<float*>(gb),
                                    static_cast<const float*>(gy), static_cast<const float*>(x),
                                    static_cast<const float*>(mean), static_cast<const float*>(rstd),
                                    static_cast<const float*>(w), N, D);
    case DType::Float64:
      return layerNormBackwardTyped(static_cast<double*>(gx), static_cast<double*>(gw), static_cast<double*>(gb),
                                    static_cast<const double*>(gy), static_cast<const double*>(x),
                                    static_cast<const double*>(mean), static_cast<const double*>(rstd),
                                    static_cast<const double*>(w), N, D);
    case DType::Int32: break;
  }
  fail(Code::Internal, "layerNormBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu::ANTLER_ISA_NS
