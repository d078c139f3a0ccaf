// random-discrete: CUDA launchers over native/kernels/random_discrete.h (every launch checked).
// One thread per element; each element's draw depends only on (seed, stream, index).
#include "../kernels/random_discrete.h"
#include "ops.cuh"

namespace antler::cuda {

template <typename T>
static __global__ void discreteSampleKernel(int op, T* out, const T* a, const T* b, int64_t n, kernels::PhiloxStream s) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    const uint64_t idx = static_cast<uint64_t>(i);
    out[i] = static_cast<T>(op == 0 ? kernels::poissonSample(s, idx, static_cast<double>(a[i]))
                                    : kernels::binomialSample(s, idx, static_cast<double>(a[i]), static_cast<double>(b[i])));
  }
}

void discreteSample(Context& ctx, DType t, int op, void* out, const void* a, const void* b, int64_t n, const kernels::PhiloxStream& s) {
  if (n <= 0) return;
  const unsigned grid = gridFor(ctx, n);
  switch (t) {
    case DType::Float32:
      discreteSampleKernel<float><<<grid, kBlockSize, 0, ctx.stream>>>(op, static_cast<float*>(out), static_cast<const float*>(a),
                                                                       static_cast<const float*>(b), n, s);
      break;
    case DType::Float64:
      discreteSampleKernel<double><<<grid, kBlockSize, 0, ctx.stream>>>(op, static_cast<double*>(out), static_cast<const double*>(a),
                                                                        static_cast<const double*>(b), n, s);
      break;
    default: fail(Code::DtypeMismatch, op == 0 ? "poisson" : "binomial", ": dtype int32 is not supported; expected float32 or float64");
  }
  ANTLER_LAUNCH_CHECK(op == 0 ? "poisson" : "binomial");
}

}  // namespace antler::cuda
