// Qualifiers for math shared by the CPU and CUDA backends. Under nvcc the
// functions in native/kernels/ become __host__ __device__; under g++ the
// qualifiers vanish and the same text compiles as plain inline C++.
#pragma once

#if defined(__CUDACC__)
#define ANTLER_HD __host__ __device__ __forceinline__
#else
#define ANTLER_HD inline
#endif

#include <cmath>
#include <cstdint>
