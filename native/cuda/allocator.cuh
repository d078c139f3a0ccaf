// A caching allocator for one device, in the spirit of PyTorch's: cudaMalloc
// and cudaFree synchronize the device and cost tens of microseconds, while a
// training loop frees and reallocates the same sizes every step. Freed blocks
// stay in a size-keyed pool and are handed out again without synchronizing,
// which is safe because all work of the device runs on one stream.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

namespace antler::cuda {

class CachingAllocator {
 public:
  // `stream` is the device's stream: releasing the cache waits for it, since
  // kernels queued on it may still use blocks that look free.
  CachingAllocator(int device, cudaStream_t stream) : device_(device), stream_(stream) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // nullptr for 0 bytes; throws OUT_OF_MEMORY (with bytes in use and cached)
  // after one retry with the cache released, CUDA_ERROR on any other failure.
  void* allocate(size_t bytes);
  // Returns the block to the pool; a no-op for nullptr. Never throws.
  void deallocate(void* ptr) noexcept;

  size_t cachedBytes() const;
  size_t inUseBytes() const;
  // Waits for the stream, then cudaFree's every cached block.
  void releaseCache();

 private:
  void releaseCacheLocked();

  const int device_;
  const cudaStream_t stream_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_;        // cached blocks by size
  std::unordered_map<void*, size_t> live_;   // handed-out blocks and their rounded sizes
  size_t cached_ = 0;
  size_t inUse_ = 0;
};

}  // namespace antler::cuda
