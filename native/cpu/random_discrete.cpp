// random-discrete: CPU loops over native/kernels/random_discrete.h.
#include "../core/error.h"
#include "../kernels/random_discrete.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void discreteSampleTyped(int op, T* out, const T* a, const T* b, int64_t n, const kernels::PhiloxStream& s) {
  parallelFor(n, n * 64, [&](int64_t i) {
    const uint64_t idx = static_cast<uint64_t>(i);
    out[i] = static_cast<T>(op == 0 ? kernels::poissonSample(s, idx, static_cast<double>(a[i]))
                                    : kernels::binomialSample(s, idx, static_cast<double>(a[i]), static_cast<double>(b[i])));
  });
}

void discreteSample(DType t, int op, void* out, const void* a, const void* b, int64_t n, const kernels::PhiloxStream& s) {
  switch (t) {
    case DType::Float32:
      return discreteSampleTyped(op, static_cast<float*>(out), static_cast<const float*>(a), static_cast<const float*>(b), n, s);
    case DType::Float64:
      return discreteSampleTyped(op, static_cast<double*>(out), static_cast<const double*>(a), static_cast<const double*>(b), n, s);
    default: fail(Code::DtypeMismatch, op == 0 ? "poisson" : "binomial", ": dtype int32 is not supported; expected float32 or float64");
  }
}

}  // namespace antler::cpu
