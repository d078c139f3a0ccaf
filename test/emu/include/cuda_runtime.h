// Stands in for the CUDA runtime header when native/cuda sources are compiled
// for the host by the emulation (test/emu/): the language (cuda_emu.h) and the
// few runtime calls and types that native/cuda/common.cuh and the DEER
// launchers use. With this directory first on the include path, the backend's
// own common.cuh and ops.cuh compile unchanged.
#pragma once
// Headers that hold device-only helpers behind __CUDACC__ (kernels/rows.h) show them to the emulation.
#ifndef __CUDACC__
#define __CUDACC__ 1
#endif
#include <cstring>

#include "../cuda_emu.h"

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
struct CUstream_st;
using cudaStream_t = CUstream_st*;
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };

namespace emu {
// What cudaDeviceGetAttribute reports for the opt-in shared-memory limit (bytes).
inline int sharedOptin = 227 * 1024;
}  // namespace emu

inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
  *value = emu::sharedOptin;
  return cudaSuccess;
}
template <typename F>
cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) {
  return cudaSuccess;
}

enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
inline cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
