// The pool of native/cuda/allocator.cuh for the emulation: host memory, every
// block filled with NaN bytes (as ANTLER_POISON does on the GPU), so a kernel
// that reads scratch it did not write shows.
#include <cstdlib>
#include <cstring>

#include "../../native/cuda/allocator.cuh"

namespace antler::cuda {

void* CachingAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = std::malloc(bytes);
  if (!p) std::abort();
  std::memset(p, 0xff, bytes);
  return p;
}

void CachingAllocator::deallocate(void* ptr) noexcept { std::free(ptr); }

}  // namespace antler::cuda
