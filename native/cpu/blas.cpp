#include "blas.h"

#include <atomic>
#include <cstdlib>
#include <vector>

#if defined(ANTLER_WITH_OPENBLAS)
#include <dlfcn.h>
#endif

namespace antler::cpu::blas {

namespace {

#if defined(ANTLER_WITH_OPENBLAS)
Library open() {
  Library lib;
  const char* off = std::getenv("ANTLER_BLAS");
  if (off && std::string(off) == "off") {
    lib.description = "built-in blocked GEMM (ANTLER_BLAS=off in the environment)";
    return lib;
  }
  const char* chosen = std::getenv("ANTLER_OPENBLAS");
  const bool byEnv = chosen && *chosen;
  const std::vector<std::string> names =
      byEnv ? std::vector<std::string>{chosen}
            : std::vector<std::string>{"libopenblas.so.0", "libopenblas.so", "libopenblas.0.dylib", "libopenblas.dylib"};
  std::string why;
  for (const std::string& name : names) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      if (why.empty()) {
        const char* err = dlerror();
        why = err ? err : name + ": not found";
      }
      continue;
    }
    auto sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
    auto dgemm = reinterpret_cast<DgemmFn>(dlsym(handle, "cblas_dgemm"));
    if (!sgemm || !dgemm) {
      why = name + " has no cblas_sgemm/cblas_dgemm";
      dlclose(handle);
      continue;
    }
    using ConfigFn = const char* (*)();
    auto config = reinterpret_cast<ConfigFn>(dlsym(handle, "openblas_get_config"));
    // An ILP64 build (64-bit integers) with the plain names: our int arguments would be read as
    // 64-bit values with garbage upper halves.
    if (config && config() && std::string(config()).find("USE64BITINT") != std::string::npos) {
      why = name + " is an ILP64 build (USE64BITINT: 64-bit integer arguments); antler calls the LP64 interface";
      dlclose(handle);
      continue;
    }
    lib.sgemm = sgemm;
    lib.dgemm = dgemm;
    lib.setThreads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
    lib.getThreads = reinterpret_cast<GetThreadsFn>(dlsym(handle, "openblas_get_num_threads"));
    if (!lib.getThreads) lib.setThreads = nullptr;  // both or neither: a setting is only changed when it can be restored
    lib.dgeqrf = reinterpret_cast<DgeqrfFn>(dlsym(handle, "dgeqrf_"));
    lib.dorgqr = reinterpret_cast<DorgqrFn>(dlsym(handle, "dorgqr_"));
    if (!lib.dgeqrf || !lib.dorgqr) lib.dgeqrf = nullptr, lib.dorgqr = nullptr;
    lib.loaded = true;
    lib.handle = handle;
    std::string where = name;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(sgemm), &info) && info.dli_fname) where = info.dli_fname;
    const char* version = config ? config() : nullptr;
    lib.description = std::string(version && *version ? version : "OpenBLAS") + " (" + where + ")";
    return lib;  // the handle stays open for the life of the process
  }
  lib.description = byEnv ? "built-in blocked GEMM (ANTLER_OPENBLAS=" + std::string(chosen) + " could not be used: " + why + ")"
                          : "built-in blocked GEMM (no OpenBLAS found at run time: " + why +
                                "; apt-get install libopenblas0 for faster matmul)";
  return lib;
}
#else
Library open() {
  Library lib;
  lib.description = "built-in blocked GEMM (built with ANTLER_BLAS=off)";
  return lib;
}
#endif

}  // namespace

const Library& library() {
  static const Library lib = open();
  return lib;
}

namespace {
std::atomic<int> wanted{0};  // 0: not read yet
}

int wantedThreads() {
  int n = wanted.load();
  if (n > 0) return n;
  const Library& lib = library();
  n = lib.getThreads ? lib.getThreads() : 1;
  int unset = 0;
  wanted.compare_exchange_strong(unset, n);
  return wanted.load();
}

void setWantedThreads(int n) {
  wanted.store(n > 0 ? n : 1);
}

std::shared_mutex& threadCountLock() {
  static std::shared_mutex m;
  return m;
}

void* lapackSymbol(const char* name) {
#if defined(ANTLER_WITH_OPENBLAS)
  const Library& lib = library();
  return lib.handle ? dlsym(lib.handle, name) : nullptr;
#else
  (void)name;
  return nullptr;
#endif
}

namespace {
std::atomic<int> preferred{static_cast<int>(LinalgLibrary::Default)};
}

LinalgLibrary preferredLinalg() {
  return static_cast<LinalgLibrary>(preferred.load());
}

void setPreferredLinalg(LinalgLibrary lib) {
  preferred.store(static_cast<int>(lib));
}

bool useLapack(int64_t n, int64_t threshold, std::initializer_list<const char*> routines) {
  const LinalgLibrary p = preferredLinalg();
  if (p == LinalgLibrary::Builtin || (p == LinalgLibrary::Default && n < threshold)) return false;
  for (const char* r : routines)
    if (!lapackSymbol(r)) return false;
  return true;
}

}  // namespace antler::cpu::blas
