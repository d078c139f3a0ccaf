// Shared by every file of the CUDA backend: error checks, grid sizing, and the
// per-device context (one stream, one memory pool, one cuBLAS handle).
//
// Every op of a device runs on that device's single stream, so work is ordered
// without events and a buffer freed to the pool may be handed out again at
// once: any kernel that reuses it is queued after the kernels that used it.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "../core/device.h"
#include "../core/error.h"
#include "allocator.cuh"
#include "cublas.h"

namespace antler::cuda {

// "cudaMemcpyAsync(dst, src, ...)" -> "cudaMemcpyAsync": messages name the call, not its arguments.
inline std::string callName(const char* expr) {
  const std::string s(expr);
  const size_t paren = s.find('(');
  return paren == std::string::npos ? s : s.substr(0, paren);
}

[[noreturn]] inline void throwCudaError(cudaError_t err, const char* op, const char* expr) {
  // Clears the error for non-sticky failures, so it is not reported again by a later launch check.
  cudaGetLastError();
  fail(err == cudaErrorMemoryAllocation ? Code::OutOfMemory : Code::CudaError, op, ": ", callName(expr),
       " failed: ", cudaGetErrorName(err), ": ", cudaGetErrorString(err));
}

}  // namespace antler::cuda

// The op name in the message is the enclosing function's; launchers and backend
// methods are named after their op so that reads "fill: cudaMemsetAsync failed: ...".
#define ANTLER_CUDA_CHECK(expr)                                              \
  do {                                                                       \
    const cudaError_t antlerErr_ = (expr);                                   \
    if (antlerErr_ != cudaSuccess) ::antler::cuda::throwCudaError(antlerErr_, __func__, #expr); \
  } while (0)

#define ANTLER_LAUNCH_CHECK(opname)                                          \
  do {                                                                       \
    const cudaError_t antlerErr_ = cudaGetLastError();                       \
    if (antlerErr_ != cudaSuccess)                                           \
      ::antler::fail(::antler::Code::CudaError, (opname), ": kernel launch failed: ", \
                     cudaGetErrorName(antlerErr_), ": ", cudaGetErrorString(antlerErr_)); \
  } while (0)

namespace antler::cuda {

constexpr int kBlockSize = 256;

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  int multiprocessors = 1;
  // Dynamic shared memory a block may opt in to (cudaDevAttrMaxSharedMemoryPerBlockOptin), read once.
  int sharedOptin = 48 * 1024;
  CachingAllocator* pool = nullptr;

  // Created on first use by matmul; null when cuBLAS is absent or creation failed.
  std::once_flag blasOnce;
  blas::Handle blasHandle = nullptr;
};

// The context of device d, created on first use; makes d the current device.
Context& context(const Device& d);
// The context if it exists, without creating it or touching the current device.
Context* existingContext(const Device& d);

// Grid of a grid-stride loop over n elements: enough blocks to fill the
// device several times over, never more than there are elements.
inline unsigned gridFor(const Context& ctx, int64_t n, int block = kBlockSize) {
  const int64_t needed = (n + block - 1) / block;
  const int64_t cap = static_cast<int64_t>(ctx.multiprocessors) * 32;
  const int64_t blocks = needed < cap ? needed : cap;
  return static_cast<unsigned>(blocks > 0 ? blocks : 1);
}

__device__ __forceinline__ int64_t gridStart() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ int64_t gridStride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// Scratch memory from the pool for the duration of one launcher. Returning it
// before the queued kernels finish is safe: see the note at the top.
class PoolBuffer {
 public:
  PoolBuffer(Context& ctx, size_t bytes) : ctx_(ctx), ptr_(ctx.pool->allocate(bytes)) {}
  ~PoolBuffer() { ctx_.pool->deallocate(ptr_); }
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  void* get() const { return ptr_; }

 private:
  Context& ctx_;
  void* ptr_;
};

}  // namespace antler::cuda
