// Qualifiers for math shared by the CPU and CUDA backends. Under nvcc the
// functions in native/kernels/ become __host__ __device__; under g++ the
// qualifiers vanish and the same text compiles as plain inline C++.
#pragma once

#if defined(__CUDACC__)
#define ANTLER_HD __host__ __device__ __forceinline__
#define ANTLER_HD_ALWAYS_INLINE __host__ __device__ __forceinline__
#else
#define ANTLER_HD inline
// For the few host functions whose loops must vectorise (g++'s heuristics
// sometimes leave them calls, which stops that).
#define ANTLER_HD_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

#include <cmath>
#include <cstdint>

namespace antler::kernels {

// Separately rounded multiply and add. nvcc fuses a * b + c into one FMA by
// default, which rounds once; the CPU build rounds twice (-ffp-contract=off).
// Where CPU and CUDA must agree to the bit (random draws, arange), use these.
ANTLER_HD float mulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
ANTLER_HD float addRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
ANTLER_HD double mulRn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
ANTLER_HD double addRn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

}  // namespace antler::kernels
