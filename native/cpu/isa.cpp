// Picks the copy of the compute-bound loops that the ops.h entry points run
// (see isa.h) and forwards each call to it.
#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace antler::cpu {

bool cpuAvx2Supported() {
#if ANTLER_CPU_AVX2_VARIANT
  // libgcc's check covers the OS too: AVX state enabled in XCR0.
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return supported;
#else
  return false;
#endif
}

namespace {

// ANTLER_CPU_ISA: unset or "auto" uses AVX2 where supported;
// "baseline" keeps the x86-64 baseline copy (lib/native.ts warns about other
// values). Read once, when the first op runs.
bool chooseAvx2() {
  const char* env = std::getenv("ANTLER_CPU_ISA");
  if (env != nullptr && std::strcmp(env, "baseline") == 0) return false;
  return cpuAvx2Supported();
}

bool useAvx2() {
  static const bool avx2 = chooseAvx2();
  return avx2;
}

}  // namespace

const char* cpuIsa() { return useAvx2() ? "avx2" : "baseline"; }

#if ANTLER_CPU_AVX2_VARIANT
#define ANTLER_CPU_ISA_DISPATCH(R, name, params, args) \
  R name params { return useAvx2() ? isa_avx2::name args : isa_baseline::name args; }
#else
#define ANTLER_CPU_ISA_DISPATCH(R, name, params, args) \
  R name params { return isa_baseline::name args; }
#endif
ANTLER_CPU_ISA_ENTRIES(ANTLER_CPU_ISA_DISPATCH)
#undef ANTLER_CPU_ISA_DISPATCH

}  // namespace antler::cpu
