// argmax/argmin along one axis on the CPU, with the comparison of
// kernels/argreduce.h. x is viewed as [outer, n, inner]:
//   inner == 1: one parallelFor iteration per line, a walk over its n
//     contiguous elements;
//   inner > 1: one iteration per outer index and block of up to kArgBlock
//     inner positions, which keeps a running best for each position of the
//     block and sweeps k = 0 … n−1 over contiguous memory (rather than
//     walking each line with stride inner).
// The result does not depend on the thread count: every line is walked in
// increasing k by one thread.
#include <algorithm>

#include "../core/error.h"
#include "../kernels/argreduce.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

constexpr int64_t kArgBlock = 256;

template <typename T, bool Largest>
static void argReduceTyped(int32_t* out, const T* x, int64_t outer, int64_t n, int64_t inner) {
  const int64_t work = outer * n * inner;
  if (inner == 1) {
    parallelFor(outer, work, [&](int64_t o) {
      out[o] = static_cast<int32_t>(kernels::argReduceLine(x, o * n, n, int64_t{1}, Largest));
    });
    return;
  }
  const int64_t blocks = (inner + kArgBlock - 1) / kArgBlock;
  parallelFor(outer * blocks, work, [&](int64_t it) {
    const int64_t o = it / blocks, j0 = (it % blocks) * kArgBlock;
    const int64_t m = std::min(kArgBlock, inner - j0);
    const T* line = x + o * n * inner + j0;
    T best[kArgBlock];
    int32_t bestK[kArgBlock];
    for (int64_t j = 0; j < m; ++j) {
      best[j] = line[j];
      bestK[j] = 0;
    }
    for (int64_t k = 1; k < n; ++k) {
      const T* row = line + k * inner;
      for (int64_t j = 0; j < m; ++j)
        if (kernels::argBeatsLater(row[j], best[j], Largest)) {
          best[j] = row[j];
          bestK[j] = static_cast<int32_t>(k);
        }
    }
    std::copy(bestK, bestK + m, out + o * inner + j0);
  });
}

template <typename T>
static void argReduceDispatch(void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool largest) {
  int32_t* o = static_cast<int32_t*>(out);
  const T* in = static_cast<const T*>(x);
  if (largest)
    argReduceTyped<T, true>(o, in, outer, n, inner);
  else
    argReduceTyped<T, false>(o, in, outer, n, inner);
}

void argReduce(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return argReduceDispatch<float>(out, x, outer, n, inner, largest);
    case DType::Float64: return argReduceDispatch<double>(out, x, outer, n, inner, largest);
    case DType::Int32: return argReduceDispatch<int32_t>(out, x, outer, n, inner, largest);
  }
  fail(Code::Internal, "argReduce: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
