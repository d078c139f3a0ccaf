#include "allocator.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#if __has_include(<unistd.h>)
#include <unistd.h>  // sysconf
#endif

#include "../core/error.h"
#include "../core/pool_policy.h"

namespace antler::cpu {

static uint64_t cgroupLimit(const char* path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v.empty() || v[0] < '0' || v[0] > '9') return UINT64_MAX;  // "max", absent
  return std::strtoull(v.c_str(), nullptr, 10);
}

// The bytes this process may hold: physical memory (swap not counted: a
// buffer that fits only with swap pages through it on every pass, and the
// kernel's default overcommit rule already refuses one past memory + swap),
// or a container's cgroup limit where that is lower (past it the cgroup's
// OOM killer ends the process when the pages are touched), or ANTLER_CPU_MEMORY_MB where
// lower still. Read once.
size_t physicalMemoryBytes() {
  static const size_t bytes = [] {
    uint64_t total = UINT64_MAX;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) total = uint64_t(pages) * uint64_t(page);
#endif
    for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
      const uint64_t limit = cgroupLimit(path);
      if (limit > 0 && limit < total) total = limit;
    }
    // ANTLER_CPU_MEMORY_MB lowers it (a process sharing a machine; the tests' way to reach the refusal).
    if (const char* v = std::getenv("ANTLER_CPU_MEMORY_MB"); v && *v) {
      char* end = nullptr;
      const unsigned long long mib = std::strtoull(v, &end, 10);
      if (*end != '\0' || v[0] == '-' || v[0] == '+' || mib == 0 || mib > (UINT64_MAX >> 20))
        std::fprintf(stderr, "antler: ANTLER_CPU_MEMORY_MB must be a whole number of MiB > 0; got '%s', ignored\n", v);
      else if ((uint64_t(mib) << 20) < total)
        total = uint64_t(mib) << 20;
    }
    return total >= SIZE_MAX ? SIZE_MAX : static_cast<size_t>(total);
  }();
  return bytes;
}

static std::string sizeStr(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void checkHostBytes(size_t bytes, const char* what) {
  const size_t room = physicalMemoryBytes();
  if (bytes > room)
    fail(Code::OutOfMemory, "cpu: out of memory: ", what, " would take ", bytes, " bytes (", sizeStr(double(bytes)), "), more than the ",
         room, " bytes (", sizeStr(double(room)), ") of memory there is (physical memory, or a lower cgroup or ANTLER_CPU_MEMORY_MB limit); nothing was allocated");
}

static void* alignedAlloc(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) fail(Code::OutOfMemory, "cpu: out of memory: cannot allocate ", bytes, " bytes");
  return p;
}

HostPool::~HostPool() { releaseCache(); }

void* HostPool::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  // Refused before malloc: with overcommit, malloc may succeed for a buffer the machine cannot hold,
  // and touching its pages gets the process killed instead of an error thrown.
  checkHostBytes(bytes, "a buffer");
  if (bytes > SIZE_MAX - pool::kLargeRound) fail(Code::OutOfMemory, "cpu: out of memory: cannot allocate ", bytes, " bytes");
  if (bytes <= pool::kSmallLimit || limit_ == 0) return alignedAlloc(bytes);
  const size_t size = pool::roundSize(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.lower_bound(size);
    if (it != free_.end() && pool::fitsWell(it->first, size)) {
      void* ptr = it->second.ptr;
      live_.emplace(ptr, it->first);  // before erasing, so a throw leaves the pool intact
      cached_ -= it->first;
      byAge_.erase(it->second.age);
      free_.erase(it);
      return ptr;
    }
  }
  void* ptr = nullptr;
  try {
    ptr = alignedAlloc(size);
  } catch (const Error&) {
    releaseCache();  // what the pool holds may be what is missing
    ptr = alignedAlloc(size);
  }
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.emplace(ptr, size);
  } catch (...) {
    std::free(ptr);
    throw;
  }
  return ptr;
}

void HostPool::deallocate(void* ptr, size_t bytes) noexcept {
  if (ptr == nullptr) return;
  if (bytes <= pool::kSmallLimit || limit_ == 0) {
    std::free(ptr);
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {  // not handed out by the pool (cannot happen): the C library's
    std::free(ptr);
    return;
  }
  const size_t size = it->second;
  live_.erase(it);
  if (size > limit_) {
    std::free(ptr);
    return;
  }
  // Make room by releasing the blocks that have waited longest: a workload
  // that moved on leaves blocks nobody asks for, and they must not keep the
  // current working set out (a larger-first rule kept them, and every big
  // tensor of the next workload paid its page faults again).
  while (cached_ + size > limit_) {
    auto oldest = byAge_.begin();  // not empty: cached_ > limit_ - size >= 0
    auto block = oldest->second;
    std::free(block->second.ptr);
    cached_ -= block->first;
    free_.erase(block);
    byAge_.erase(oldest);
  }
  try {
    const uint64_t age = clock_++;
    auto it = free_.emplace(size, Cached{ptr, age});
    try {
      byAge_.emplace(age, it);
    } catch (...) {
      free_.erase(it);
      throw;
    }
    cached_ += size;
  } catch (...) {
    std::free(ptr);
  }
}

size_t HostPool::cachedBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_;
}

void HostPool::releaseCache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [size, block] : free_) std::free(block.ptr);
  free_.clear();
  byAge_.clear();
  cached_ = 0;
}

// ANTLER_CPU_CACHE_MB, or 1 GiB. A value that is not a whole number of MiB
// is reported once on stderr and the default used: a typo in a tuning knob
// should not stop every allocation.
static size_t limitFromEnvironment() {
  constexpr size_t kDefault = size_t(1024) << 20;
  const char* v = std::getenv("ANTLER_CPU_CACHE_MB");
  if (!v || !*v) return kDefault;
  char* end = nullptr;
  const unsigned long long mib = std::strtoull(v, &end, 10);
  if (*end != '\0' || v[0] == '-' || v[0] == '+' || mib > (SIZE_MAX >> 20)) {
    std::fprintf(stderr, "antler: ANTLER_CPU_CACHE_MB must be a whole number of MiB (0 turns the CPU buffer cache off); got '%s', using 1024\n", v);
    return kDefault;
  }
  return static_cast<size_t>(mib) << 20;
}

HostPool& hostPool() {
  // Never destroyed: tensors freed during process exit may still return blocks.
  static HostPool* pool = new HostPool(limitFromEnvironment());
  return *pool;
}

}  // namespace antler::cpu
