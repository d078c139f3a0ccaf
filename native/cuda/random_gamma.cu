// random-gamma: CUDA launchers over native/kernels/random_gamma.h (every launch checked).
// One thread per element; each element's draw depends only on (seed, stream, index).
#include <cfloat>

#include "../kernels/random_gamma.h"
#include "ops.cuh"

namespace antler::cuda {

template <typename T>
static __global__ void standardGammaKernel(T* out, const T* alpha, int64_t n, kernels::PhiloxStream s, double minPositive) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    out[i] = static_cast<T>(kernels::standardGammaSample(s, static_cast<uint64_t>(i), static_cast<double>(alpha[i]), minPositive));
}

template <typename T>
static __global__ void gammaBinaryKernel(int op, T* out, const T* a, const T* x, int64_t n) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    const double av = static_cast<double>(a[i]), xv = static_cast<double>(x[i]);
    out[i] = static_cast<T>(op == 0 ? kernels::standardGammaGrad(av, xv) : kernels::incompleteGamma(av, xv, op == 2));
  }
}

void standardGamma(Context& ctx, DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s) {
  if (n <= 0) return;
  const unsigned grid = gridFor(ctx, n);
  switch (t) {
    case DType::Float32:
      standardGammaKernel<float><<<grid, kBlockSize, 0, ctx.stream>>>(static_cast<float*>(out), static_cast<const float*>(alpha), n, s, FLT_MIN);
      break;
    case DType::Float64:
      standardGammaKernel<double><<<grid, kBlockSize, 0, ctx.stream>>>(static_cast<double*>(out), static_cast<const double*>(alpha), n, s, DBL_MIN);
      break;
    default: fail(Code::DtypeMismatch, "standardGamma: dtype int32 is not supported; expected float32 or float64");
  }
  ANTLER_LAUNCH_CHECK("standardGamma");
}

void gammaBinary(Context& ctx, DType t, int op, void* out, const void* a, const void* x, int64_t n) {
  if (n <= 0) return;
  const unsigned grid = gridFor(ctx, n);
  switch (t) {
    case DType::Float32:
      gammaBinaryKernel<float><<<grid, kBlockSize, 0, ctx.stream>>>(op, static_cast<float*>(out), static_cast<const float*>(a), static_cast<const float*>(x), n);
      break;
    case DType::Float64:
      gammaBinaryKernel<double><<<grid, kBlockSize, 0, ctx.stream>>>(op, static_cast<double*>(out), static_cast<const double*>(a), static_cast<const double*>(x), n);
      break;
    default: fail(Code::DtypeMismatch, "gammainc: dtype int32 is not supported; expected float32 or float64");
  }
  ANTLER_LAUNCH_CHECK(op == 0 ? "standardGammaGrad" : "gammainc");
}

}  // namespace antler::cuda
