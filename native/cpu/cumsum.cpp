// cumsum and cumprod along one axis on the CPU, x viewed as [outer, n,
// inner]: with inner == 1 one parallelFor iteration per line, walking its n
// elements with the double accumulator of kernels/scan_axis.h; with inner > 1
// blocks of neighbouring lines swept together over contiguous rows. Every line
// is accumulated in the same order whatever the thread count. cumprod's
// gradient walks each line twice (kernels::cumprodBackwardLine). cummax/cummin
// (cumExtreme) and logcumsumexp run the same way with their per-element states
// (kernels::CumExtremeState, kernels::LogSumExpState).
#include <algorithm>
#include <vector>

#include "../core/error.h"
#include "../kernels/scan_axis.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::CumOp;

constexpr int64_t kScanBlock = 256;

template <typename T>
static void cumulativeTyped(void* out, const void* x, int64_t outer, int64_t n, int64_t inner, CumOp op,
                            bool exclusive, bool reverse) {
  T* o = static_cast<T*>(out);
  const T* in = static_cast<const T*>(x);
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t line) {
      kernels::cumulativeLine(o, in, kernels::scanLineBase(line, n, inner), n, inner, op, exclusive, reverse);
    });
    return;
  }
  // inner > 1: a block of up to kScanBlock neighbouring lines per iteration, swept row by row over
  // contiguous memory (a line-by-line walk would stride by inner). Each line runs in the same
  // order as cumulativeLine's, so the result is the same bit for bit.
  const bool prod = op == CumOp::Prod;
  const int64_t blocks = (inner + kScanBlock - 1) / kScanBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t b = it / blocks, j0 = (it % blocks) * kScanBlock;
    const int64_t m = std::min(kScanBlock, inner - j0);
    double acc[kScanBlock];
    std::fill(acc, acc + m, prod ? 1.0 : 0.0);
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? n - 1 - step : step;
      const int64_t at = (b * n + k) * inner + j0;
      for (int64_t j = 0; j < m; ++j) {
        const double v = static_cast<double>(in[at + j]);
        if (exclusive) o[at + j] = static_cast<T>(acc[j]);
        acc[j] = prod ? acc[j] * v : acc[j] + v;
        if (!exclusive) o[at + j] = static_cast<T>(acc[j]);
      }
    }
  });
}

void cumulative(DType t, CumOp op, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                bool exclusive, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return cumulativeTyped<float>(out, x, outer, n, inner, op, exclusive, reverse);
    case DType::Float64: return cumulativeTyped<double>(out, x, outer, n, inner, op, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumulative: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void cumprodBackwardTyped(void* gx, const void* x, const void* gy, int64_t outer, int64_t n, int64_t inner,
                                 bool exclusive, bool reverse) {
  T* g = static_cast<T*>(gx);
  const T* in = static_cast<const T*>(x);
  const T* go = static_cast<const T*>(gy);
  std::vector<double> prefix(static_cast<size_t>(outer * n * inner));
  // One line per iteration (strided when inner > 1): the gradient is rarer than the forward.
  parallelFor(outer * inner, outer * n * inner, [&](int64_t line) {
    kernels::cumprodBackwardLine(g, in, go, prefix.data(), kernels::scanLineBase(line, n, inner), n, inner, exclusive,
                                 reverse);
  });
}

void cumprodBackward(DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n, int64_t inner,
                     bool exclusive, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return cumprodBackwardTyped<float>(gx, x, gy, outer, n, inner, exclusive, reverse);
    case DType::Float64: return cumprodBackwardTyped<double>(gx, x, gy, outer, n, inner, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumprodBackward: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void cumExtremeTyped(void* values, int32_t* indices, const void* x, int64_t outer, int64_t n, int64_t inner,
                            bool largest) {
  T* v = static_cast<T*>(values);
  const T* in = static_cast<const T*>(x);
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t line) {
      kernels::cumExtremeLine(v, indices, in, kernels::scanLineBase(line, n, inner), n, inner, largest);
    });
    return;
  }
  // inner > 1: blocks of neighbouring lines swept row by row, as cumulativeTyped's.
  const int64_t blocks = (inner + kScanBlock - 1) / kScanBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t b = it / blocks, j0 = (it % blocks) * kScanBlock;
    const int64_t m = std::min(kScanBlock, inner - j0);
    kernels::CumExtremeState<T> st[kScanBlock];
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = (b * n + k) * inner + j0;
      for (int64_t j = 0; j < m; ++j) {
        st[j].push(in[at + j], static_cast<int32_t>(k), largest);
        v[at + j] = st[j].best;
        indices[at + j] = st[j].index;
      }
    }
  });
}

void cumExtreme(DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n, int64_t inner,
                bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return cumExtremeTyped<float>(values, indices, x, outer, n, inner, largest);
    case DType::Float64: return cumExtremeTyped<double>(values, indices, x, outer, n, inner, largest);
    case DType::Int32: return cumExtremeTyped<int32_t>(values, indices, x, outer, n, inner, largest);
  }
  fail(Code::Internal, "cumExtreme: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void logCumSumExpTyped(void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  T* o = static_cast<T*>(out);
  const T* in = static_cast<const T*>(x);
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t line) {
      kernels::logCumSumExpLine(o, in, kernels::scanLineBase(line, n, inner), n, inner, reverse);
    });
    return;
  }
  const int64_t blocks = (inner + kScanBlock - 1) / kScanBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t b = it / blocks, j0 = (it % blocks) * kScanBlock;
    const int64_t m = std::min(kScanBlock, inner - j0);
    kernels::LogSumExpState st[kScanBlock];
    std::fill(st, st + m, kernels::LogSumExpState{-INFINITY, 0.0});
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? n - 1 - step : step;
      const int64_t at = (b * n + k) * inner + j0;
      for (int64_t j = 0; j < m; ++j) {
        st[j].push(static_cast<double>(in[at + j]));
        o[at + j] = static_cast<T>(st[j].value());
      }
    }
  });
}

void logCumSumExp(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return logCumSumExpTyped<float>(out, x, outer, n, inner, reverse);
    case DType::Float64: return logCumSumExpTyped<double>(out, x, outer, n, inner, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "logCumSumExp: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void logCumSumExpBackwardTyped(void* gx, const void* x, const void* y, const void* gy, int64_t outer, int64_t n,
                                      int64_t inner, bool reverse) {
  T* g = static_cast<T*>(gx);
  const T *in = static_cast<const T*>(x), *out = static_cast<const T*>(y), *go = static_cast<const T*>(gy);
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t line) {
      kernels::logCumSumExpBackwardLine(g, in, out, go, kernels::scanLineBase(line, n, inner), n, inner, reverse);
    });
    return;
  }
  // Blocks of neighbouring lines swept row by row, as logCumSumExpTyped, against the scan's order.
  const int64_t blocks = (inner + kScanBlock - 1) / kScanBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t b = it / blocks, j0 = (it % blocks) * kScanBlock;
    const int64_t m = std::min(kScanBlock, inner - j0);
    kernels::LogCumSumExpGradState st[kScanBlock];
    std::fill(st, st + m, kernels::LogCumSumExpGradState{0.0, 0.0, false, false, false, false});
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? step : n - 1 - step;
      const int64_t at = (b * n + k) * inner + j0;
      for (int64_t j = 0; j < m; ++j)
        g[at + j] = static_cast<T>(st[j].push(static_cast<double>(in[at + j]), static_cast<double>(out[at + j]),
                                              static_cast<double>(go[at + j])));
    }
  });
}

void logCumSumExpBackward(DType t, void* gx, const void* x, const void* y, const void* gy, int64_t outer, int64_t n,
                          int64_t inner, bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return logCumSumExpBackwardTyped<float>(gx, x, y, gy, outer, n, inner, reverse);
    case DType::Float64: return logCumSumExpBackwardTyped<double>(gx, x, y, gy, outer, n, inner, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "logCumSumExpBackward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
