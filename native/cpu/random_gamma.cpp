// random-gamma: CPU loops over native/kernels/random_gamma.h.
#include <limits>

#include "../core/error.h"
#include "../kernels/random_gamma.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void standardGammaTyped(T* out, const T* alpha, int64_t n, const kernels::PhiloxStream& s) {
  const double minPositive = static_cast<double>(std::numeric_limits<T>::min());
  parallelFor(n, n * 64, [&](int64_t i) {
    out[i] = static_cast<T>(kernels::standardGammaSample(s, static_cast<uint64_t>(i), static_cast<double>(alpha[i]), minPositive));
  });
}

void standardGamma(DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s) {
  switch (t) {
    case DType::Float32: return standardGammaTyped(static_cast<float*>(out), static_cast<const float*>(alpha), n, s);
    case DType::Float64: return standardGammaTyped(static_cast<double*>(out), static_cast<const double*>(alpha), n, s);
    default: fail(Code::DtypeMismatch, "standardGamma: dtype int32 is not supported; expected float32 or float64");
  }
}

template <typename T>
static void gammaBinaryTyped(int op, T* out, const T* a, const T* x, int64_t n) {
  parallelFor(n, n * 256, [&](int64_t i) {
    const double av = static_cast<double>(a[i]), xv = static_cast<double>(x[i]);
    out[i] = static_cast<T>(op == 0 ? kernels::standardGammaGrad(av, xv) : kernels::incompleteGamma(av, xv, op == 2));
  });
}

void gammaBinary(DType t, int op, void* out, const void* a, const void* x, int64_t n) {
  switch (t) {
    case DType::Float32:
      return gammaBinaryTyped(op, static_cast<float*>(out), static_cast<const float*>(a), static_cast<const float*>(x), n);
    case DType::Float64:
      return gammaBinaryTyped(op, static_cast<double*>(out), static_cast<const double*>(a), static_cast<const double*>(x), n);
    default: fail(Code::DtypeMismatch, "gammainc: dtype int32 is not supported; expected float32 or float64");
  }
}

}  // namespace antler::cpu
