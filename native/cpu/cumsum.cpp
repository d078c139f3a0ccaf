// cumsum along one axis on the CPU, x viewed as [outer, n, inner]: with
// inner == 1 one parallelFor iteration per line, walking its n elements with
// the double accumulator of kernels/scan_axis.h; with inner > 1 blocks of
// neighbouring lines swept together over contiguous rows. Every line is
// summed in the same order whatever the thread count.
#include <algorithm>

#include "../core/error.h"
#include "../kernels/scan_axis.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

constexpr int64_t kScanBlock = 256;

template <typename T>
static void cumsumTyped(void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                        bool reverse) {
  T* o = static_cast<T*>(out);
  const T* in = static_cast<const T*>(x);
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t line) {
      kernels::cumsumLine(o, in, kernels::scanLineBase(line, n, inner), n, inner, exclusive, reverse);
    });
    return;
  }
  // inner > 1: a block of up to kScanBlock neighbouring lines per iteration, swept row by row over
  // contiguous memory (a line-by-line walk would stride by inner). Each line's sum runs in the same
  // order as cumsumLine's, so the result is the same bit for bit.
  const int64_t blocks = (inner + kScanBlock - 1) / kScanBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t b = it / blocks, j0 = (it % blocks) * kScanBlock;
    const int64_t m = std::min(kScanBlock, inner - j0);
    double acc[kScanBlock];
    std::fill(acc, acc + m, 0.0);
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? n - 1 - step : step;
      const int64_t at = (b * n + k) * inner + j0;
      for (int64_t j = 0; j < m; ++j) {
        const double v = static_cast<double>(in[at + j]);
        if (exclusive) {
          o[at + j] = static_cast<T>(acc[j]);
          acc[j] += v;
        } else {
          acc[j] += v;
          o[at + j] = static_cast<T>(acc[j]);
        }
      }
    }
  });
}

void cumsum(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool exclusive,
            bool reverse) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return cumsumTyped<float>(out, x, outer, n, inner, exclusive, reverse);
    case DType::Float64: return cumsumTyped<double>(out, x, outer, n, inner, exclusive, reverse);
    case DType::Int32: break;
  }
  fail(Code::Internal, "cumsum: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
