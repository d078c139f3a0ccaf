#include "allocator.cuh"

#include <cstdint>
#include <cstdio>

#include "../core/pool_policy.h"
#include "common.cuh"

namespace antler::cuda {

void* CachingAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes > SIZE_MAX - pool::kLargeRound)
    fail(Code::OutOfMemory, "cuda:", device_, ": out of memory: cannot allocate ", bytes, " bytes");
  const size_t size = pool::roundSize(bytes);  // core/pool_policy.h

  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.lower_bound(size);
  if (it != free_.end() && pool::fitsWell(it->first, size)) {
    const size_t blockSize = it->first;
    void* ptr = it->second;
    live_.emplace(ptr, blockSize);  // before erasing, so a throw leaves the pool intact
    free_.erase(it);
    cached_ -= blockSize;
    inUse_ += blockSize;
    return ptr;
  }

  ANTLER_CUDA_CHECK(cudaSetDevice(device_));
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  const size_t cachedBefore = cached_;
  if (err == cudaErrorMemoryAllocation && cached_ > 0) {
    cudaGetLastError();  // not sticky, but would otherwise surface at the next launch check
    releaseCacheLocked();
    err = cudaMalloc(&ptr, size);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail(Code::OutOfMemory, "cuda:", device_, ": out of memory: cannot allocate ", bytes, " bytes (", inUse_,
         " bytes in use by tensors, ", cachedBefore, " bytes were cached and have been released); "
         "dispose() tensors you no longer need, or wrap steps in tidy()");
  }
  if (err != cudaSuccess) throwCudaError(err, "allocate", "cudaMalloc");

  try {
    live_.emplace(ptr, size);
  } catch (...) {
    cudaFree(ptr);
    throw;
  }
  inUse_ += size;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {
    std::fprintf(stderr, "antler: cuda:%d: ignoring the free of %p, which this allocator did not hand out\n",
                 device_, ptr);
    return;
  }
  const size_t size = it->second;
  live_.erase(it);
  inUse_ -= size;
  try {
    free_.emplace(size, ptr);
    cached_ += size;
  } catch (...) {
    // No memory for the pool entry: give the block back to CUDA instead.
    cudaFree(ptr);
    cudaGetLastError();
  }
}

size_t CachingAllocator::cachedBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

size_t CachingAllocator::inUseBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return inUse_;
}

void CachingAllocator::releaseCache() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseCacheLocked();
}

void CachingAllocator::releaseCacheLocked() {
  if (free_.empty()) return;
  ANTLER_CUDA_CHECK(cudaSetDevice(device_));
  ANTLER_CUDA_CHECK(cudaStreamSynchronize(stream_));
  cudaError_t firstError = cudaSuccess;
  for (auto it = free_.begin(); it != free_.end();) {
    const cudaError_t err = cudaFree(it->second);
    if (err != cudaSuccess && firstError == cudaSuccess) firstError = err;
    cached_ -= it->first;
    it = free_.erase(it);
  }
  if (firstError != cudaSuccess) throwCudaError(firstError, "releaseCache", "cudaFree");
}

}  // namespace antler::cuda
