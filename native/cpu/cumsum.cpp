// cumsum along one axis on the CPU: one OpenMP iteration per line of
// x viewed as [outer, n, inner], each walking its n elements with the
// double accumulator of kernels/scan_axis.h. Every line is summed in the same
// order whatever the thread count.
#include "../core/error.h"
#include "../kernels/scan_axis.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void cumsumTyped(void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                        bool reverse) {
  T* o = static_cast<T*>(out);
  const T* in = static_cast<const T*>(x);
  parallelFor(outer * inner, outer * n * inner, [&](int64_t line) {
    kernels::cumsumLine(o, in, kernels::scanLineBase(line, n, inner), n, inner, exclusive, reverse);
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
