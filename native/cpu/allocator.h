// Host memory for CPU tensors. Buffers up to 1 MiB come from and go back to
// the C library's allocator. Larger ones are kept when freed, in a pool keyed
// by size (sizes as core/pool_policy.h), up to a limit, and handed out again:
// a fresh large buffer costs a page fault per 4 KiB page on first touch,
// which for streaming ops is as much as the op itself, and much more on
// virtual machines. The limit is 1 GiB, or ANTLER_CPU_CACHE_MB (0 turns
// caching off). A freed block that would pass it releases the cached blocks
// that have waited longest first, so the cache follows the working set: blocks
// of a workload that has moved on go, however large. emptyCache() releases
// them all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

namespace antler::cpu {

class HostPool {
 public:
  explicit HostPool(size_t limitBytes) : limit_(limitBytes) {}
  ~HostPool();
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;

  // 64-byte aligned; nullptr for 0 bytes; throws OUT_OF_MEMORY.
  void* allocate(size_t bytes);
  // `bytes` as passed to allocate; a no-op for nullptr. Never throws.
  void deallocate(void* ptr, size_t bytes) noexcept;

  size_t cachedBytes() const;
  void releaseCache();

 private:
  const size_t limit_;
  mutable std::mutex mutex_;
  struct Cached {
    void* ptr;
    uint64_t age;  // when it was cached (a counter)
  };
  std::multimap<size_t, Cached> free_;                                    // cached blocks by size
  std::map<uint64_t, std::multimap<size_t, Cached>::iterator> byAge_;    // the same, oldest first
  std::unordered_map<void*, size_t> live_;                                // handed-out pooled blocks and their sizes
  size_t cached_ = 0;
  uint64_t clock_ = 0;
};

// Physical memory, or the lowest memory limit of this process's cgroup and its ancestors where lower
// (SIZE_MAX where unknown); ANTLER_CPU_MEMORY_MB, where set, instead.
size_t physicalMemoryBytes();
// Throws OUT_OF_MEMORY, naming `what` and the bytes, when one request is larger than
// physicalMemoryBytes(): HostPool::allocate checks each buffer, and ops check scratch they size by
// their arguments (std::vector) before making it.
void checkHostBytes(size_t bytes, const char* what);

// The process's pool, its limit read once from ANTLER_CPU_CACHE_MB.
HostPool& hostPool();

}  // namespace antler::cpu
