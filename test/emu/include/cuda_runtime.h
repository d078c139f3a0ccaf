// Stands in for the CUDA runtime header when native/cuda sources are compiled
// for the host by the emulation (test/emu/): the language (cuda_emu.h) and the
// runtime calls and types that the CUDA backend uses (device discovery,
// streams, memory, attributes), over host memory with one emulated device.
// With this directory first on the include path, the backend's own sources
// (common.cuh, ops.cuh, backend.cu, allocator.cu) compile unchanged.
#pragma once
// Headers that hold device-only helpers behind __CUDACC__ (kernels/rows.h) show them to the emulation.
#ifndef __CUDACC__
#define __CUDACC__ 1
#endif
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../cuda_emu.h"

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
constexpr cudaError_t cudaErrorInsufficientDriver = 35;
struct CUstream_st;
using cudaStream_t = CUstream_st*;
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin, cudaDevAttrMultiProcessorCount, cudaDevAttrCooperativeLaunch };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };

namespace emu {
// What cudaDeviceGetAttribute reports for the opt-in shared-memory limit (bytes).
inline int sharedOptin = 227 * 1024;
// The emulated device's multiprocessors (small, so grids stay small).
inline int multiprocessors = 2;
}  // namespace emu

inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
  *value = attr == cudaDevAttrMultiProcessorCount ? emu::multiprocessors
           : attr == cudaDevAttrCooperativeLaunch  ? 1
                                                   : emu::sharedOptin;
  return cudaSuccess;
}
// Blocks per multiprocessor: the same for every kernel here (no registers to count), so a choice
// between two kernels by occupancy takes the first (the cells' one-unit walks run under emulation).
namespace emu {
inline int occupancyBlocks = 4;
// When above 0, what the occupancy query reports instead of occupancyBlocks: an overstatement (as
// under MPS limits), so that a cooperative launch sized from it is refused.
inline int occupancyReported = 0;
}  // namespace emu
template <typename F>
inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, F, int, size_t) {
  *blocks = emu::occupancyReported > 0 ? emu::occupancyReported : emu::occupancyBlocks;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor, multiProcessorCount;
};
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::strcpy(p->name, "host emulation (test/emu)");
  p->totalGlobalMem = size_t(8) << 30;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = emu::multiprocessors;
  return cudaSuccess;
}
constexpr unsigned cudaStreamNonBlocking = 1;
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static char stream;
  *s = reinterpret_cast<cudaStream_t>(&stream);
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
// A cooperative launch: the kernel's parameters from `args` (pointers to them, as CUDA's), every
// block of the grid run together (emu::launchWith).
namespace emu {
template <typename... P, size_t... I>
void launchCooperative(void (*kernel)(P...), dim3 grid, dim3 block, void** args, size_t shared, std::index_sequence<I...>) {
  launchWith(true, kernel, grid, block, shared, *static_cast<std::remove_reference_t<P>*>(args[I])...);
}
}  // namespace emu
// A grid larger than the device holds at once (occupancy × multiprocessors) is refused, as CUDA does.
constexpr cudaError_t cudaErrorCooperativeLaunchTooLarge = 720;
template <typename... P>
cudaError_t cudaLaunchCooperativeKernel(void (*kernel)(P...), dim3 grid, dim3 block, void** args, size_t shared,
                                        cudaStream_t) {
  if (static_cast<int64_t>(grid.x) * grid.y * grid.z > static_cast<int64_t>(emu::occupancyBlocks) * emu::multiprocessors)
    return cudaErrorCooperativeLaunchTooLarge;
  emu::launchCooperative(kernel, grid, block, args, shared, std::index_sequence_for<P...>{});
  return cudaSuccess;
}
template <typename F>
cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) {
  return cudaSuccess;
}
constexpr cudaError_t cudaErrorInvalidDeviceFunction = 98;
constexpr cudaError_t cudaErrorNoKernelImageForDevice = 209;
constexpr cudaError_t cudaErrorInvalidPtx = 218;
constexpr cudaError_t cudaErrorJitCompilerNotFound = 221;
constexpr cudaError_t cudaErrorUnsupportedPtxVersion = 222;
constexpr cudaError_t cudaErrorJitCompilationDisabled = 223;
struct cudaFuncAttributes {
  int maxThreadsPerBlock = 1024;
};
template <typename F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes*, F) {
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
