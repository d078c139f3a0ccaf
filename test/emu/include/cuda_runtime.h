// Stands in for the CUDA runtime header when native/cuda sources are compiled
// for the host by the emulation (test/emu/): the language (cuda_emu.h) and the
// few runtime calls and types that native/cuda/common.cuh and the DEER
// launchers use. With this directory first on the include path, the backend's
// own common.cuh and ops.cuh compile unchanged.
#pragma once
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
