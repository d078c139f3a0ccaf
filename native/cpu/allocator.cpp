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

static uint64_t cgroupLimit(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  if (!(f >> v) || v.empty() || v[0] < '0' || v[0] > '9') return UINT64_MAX;  // "max", absent
  return std::strtoull(v.c_str(), nullptr, 10);
}

// The lowest memory limit of this process's cgroup and its ancestors (v2 memory.max, v1
// memory.limit_in_bytes; UINT64_MAX where none is set). The process's cgroup is read from
// /proc/self/cgroup: outside a cgroup namespace (a Slurm job, a systemd service with MemoryMax, a
// v1 container) it sits below the mount's root, whose file alone says nothing of the process's limit;
// inside one it is "/" and the root is the container's. A path that is not there under the mount (a
// v1 container whose mount shows its own cgroup as the root) falls through to its existing ancestors.
// `root` stands for "/" (ANTLER_TEST_SYSROOT, the tests' way to give a cgroup tree).
static uint64_t cgroupLimits(const std::string& root) {
  uint64_t lowest = UINT64_MAX;
  const auto walk = [&](const std::string& mount, std::string rel, const char* file) {
    while (!rel.empty() && rel.back() == '/') rel.pop_back();
    for (;;) {
      const uint64_t limit = cgroupLimit(mount + rel + "/" + file);
      if (limit > 0 && limit < lowest) lowest = limit;
      if (rel.empty()) break;
      rel.erase(rel.rfind('/'));
    }
  };
  const std::string v2 = root + "/sys/fs/cgroup", v1 = root + "/sys/fs/cgroup/memory";
  bool sawV2 = false, sawV1 = false;
  std::ifstream f(root + "/proc/self/cgroup");
  for (std::string line; std::getline(f, line);) {
    // hierarchy-ID:controller-list:cgroup-path ("0::/path" is v2's).
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos || b + 1 >= line.size() || line[b + 1] != '/') continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",", path = line.substr(b + 1);
    if (a == 1 && line[0] == '0' && controllers == ",,") walk(v2, path, "memory.max"), sawV2 = true;
    else if (controllers.find(",memory,") != std::string::npos) walk(v1, path, "memory.limit_in_bytes"), sawV1 = true;
  }
  if (!sawV2) walk(v2, "", "memory.max");  // /proc/self/cgroup unreadable: the mounts' roots
  if (!sawV1) walk(v1, "", "memory.limit_in_bytes");
  return lowest;
}

// The bytes one buffer may take: physical memory (swap not counted: a
// buffer that fits only with swap pages through it on every pass, and the
// kernel's default overcommit rule already refuses one past memory + swap),
// or the lowest cgroup limit over this process's cgroup and its ancestors where that is lower (past it the
// cgroup's OOM killer ends the process when the pages are touched); ANTLER_CPU_MEMORY_MB, where set,
// replaces both (lower, for a process sharing a machine and for the tests; or higher, for a buffer that
// fits with swap, which the default refuses). Read once.
size_t physicalMemoryBytes() {
  static const size_t bytes = [] {
    uint64_t total = UINT64_MAX;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) total = uint64_t(pages) * uint64_t(page);
#endif
    const char* sysroot = std::getenv("ANTLER_TEST_SYSROOT");
    const uint64_t limit = cgroupLimits(sysroot ? sysroot : "");
    if (limit < total) total = limit;
    if (const char* v = std::getenv("ANTLER_CPU_MEMORY_MB"); v && *v) {
      char* end = nullptr;
      const unsigned long long mib = std::strtoull(v, &end, 10);
      if (*end != '\0' || v[0] < '0' || v[0] > '9' || mib == 0 || mib > (UINT64_MAX >> 20))
        std::fprintf(stderr, "antler: ANTLER_CPU_MEMORY_MB must be a whole number of MiB > 0; got '%s', ignored\n", v);
      else
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
         room, " bytes (", sizeStr(double(room)), ") of memory there is (physical memory, or a lower cgroup limit, or ANTLER_CPU_MEMORY_MB where set); nothing was allocated");
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
