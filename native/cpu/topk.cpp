// topk indices along one axis on the CPU, in the (value, index) total order of
// kernels/argreduce.h. x is viewed as [outer, n, inner]; out as [outer, k, inner].
// One parallelFor iteration per line (o, j): for k ≤ kTopkSelect the k
// selection passes of kernels::topkLine (shared with the CUDA kernel),
// otherwise std::partial_sort (std::sort when k > n/4) of the line's indices
// with the same order as comparator, in a per-thread buffer. A total order has one sorted result, so
// both give the same indices, whatever the thread count.
#include <algorithm>
#include <vector>

#include "../core/error.h"
#include "../kernels/argreduce.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

constexpr int64_t kTopkSelect = 8;

template <typename T>
static void topkTyped(int32_t* out, const T* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest) {
  const int64_t lines = outer * inner;
  const int64_t work = lines * n * std::min<int64_t>(k, kTopkSelect + 1);
  parallelFor(lines, work, [&](int64_t l) {
    const int64_t o = l / inner, j = l % inner;
    const int64_t base = o * n * inner + j;
    int32_t* dst = out + o * k * inner + j;
    if (k <= kTopkSelect) {
      kernels::topkLine(dst, inner, x, base, n, inner, k, largest);
      return;
    }
    thread_local std::vector<int32_t> idx;
    idx.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    const T* line = x + base;
    const auto before = [&](int32_t a, int32_t b) {
      return kernels::topkBefore(line[a * inner], int64_t{a}, line[b * inner], int64_t{b}, largest);
    };
    // A large k (sort, argsort) is a whole sort: std::sort beats partial_sort's heap there.
    if (4 * k > n) std::sort(idx.begin(), idx.end(), before);
    else std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
    for (int64_t i = 0; i < k; ++i) dst[i * inner] = idx[static_cast<size_t>(i)];
  });
}

void topk(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0 || k <= 0) return;
  int32_t* o = static_cast<int32_t*>(out);
  switch (t) {
    case DType::Float32: return topkTyped(o, static_cast<const float*>(x), outer, n, inner, k, largest);
    case DType::Float64: return topkTyped(o, static_cast<const double*>(x), outer, n, inner, k, largest);
    case DType::Int32: return topkTyped(o, static_cast<const int32_t*>(x), outer, n, inner, k, largest);
  }
  fail(Code::Internal, "topk: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
