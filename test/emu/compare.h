// What the emulation drivers (backends_emu.cpp, ops_emu.cpp) share: random
// and NaN-filled buffers, the comparison of an emulated CUDA result with the
// CPU backend's, the tally, and a device context over the emulated pool.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

// clang-format off
#include "../../native/cpu/ops.h"
#include "../../native/cuda/ops.cuh"
// clang-format on

namespace emu {

inline std::mt19937 gen;
inline int passed = 0, failed = 0;

template <typename T>
struct Buf {
  std::vector<T> v;
  explicit Buf(size_t n, double lo = -1, double hi = 1) : v(n) {
    std::uniform_real_distribution<double> U(lo, hi);
    for (auto& x : v) x = static_cast<T>(U(gen));
  }
  static Buf nan(size_t n) {
    Buf b(0);
    b.v.assign(n, std::numeric_limits<T>::quiet_NaN());
    return b;
  }
  T* p() { return v.data(); }
};

template <typename T>
constexpr antler::DType dtypeOf() {
  return sizeof(T) == 8 ? antler::DType::Float64 : antler::DType::Float32;
}

// max |a − b| / max(1, |b|) over the elements; NaN anywhere is infinite.
template <typename T>
double diff(const Buf<T>& a, const Buf<T>& b) {
  double worst = 0;
  for (size_t i = 0; i < b.v.size(); ++i) {
    const double d = std::fabs(double(a.v[i]) - double(b.v[i])) / std::max(1.0, std::fabs(double(b.v[i])));
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

// One check: gpu (emulated) against cpu within 1e-10 (float64) or 2e-4 (float32) relative, times tolScale.
template <typename T>
void check(const std::string& what, const Buf<T>& gpu, const Buf<T>& cpu, double tolScale = 1) {
  const double tol = (sizeof(T) == 8 ? 1e-10 : 2e-4) * tolScale;
  const double d = diff(gpu, cpu);
  const bool ok = d <= tol;
  (ok ? passed : failed) += 1;
  std::printf("%s %s %s: %.3g\n", ok ? "ok" : "FAIL", sizeof(T) == 8 ? "float64" : "float32", what.c_str(), d);
}

inline void checkEqual(const std::string& what, long long gpu, long long cpu) {
  const bool ok = gpu == cpu;
  (ok ? passed : failed) += 1;
  std::printf("%s %s: %lld vs %lld\n", ok ? "ok" : "FAIL", what.c_str(), gpu, cpu);
}

// A device context as the backend's: the emulated pool, `sms` multiprocessors.
struct Device {
  antler::cuda::CachingAllocator pool{0, nullptr};
  antler::cuda::Context ctx;
  explicit Device(int sms) {
    multiprocessors = sms;  // what the runtime reports (a cooperative grid's limit)
    ctx.multiprocessors = sms;
    ctx.sharedOptin = sharedOptin;
    ctx.pool = &pool;
  }
  // With the device's opt-in shared memory limit (bytes) set too (for what the runtime reports as well).
  Device(int sms, int optin) : Device(sms) {
    sharedOptin = optin;
    ctx.sharedOptin = optin;
  }
};

// Seeds the inputs and the emulation's schedule; prints the tally; the exit status.
inline void start(int argc, char** argv) {
  const unsigned seed = argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 1u;
  gen.seed(seed);
  rng().seed(seed + 1);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a crash keeps the lines before it
}
inline int finish() {
  std::printf("emulation: %d passed, %d failed (%lld launches, %lld block-wide barriers)\n", passed, failed,
              static_cast<long long>(launches), static_cast<long long>(barriers));
  return failed ? 1 : 0;
}

}  // namespace emu

// The drivers' short names.
using antler::DType;
using emu::Buf;
using emu::check;
using emu::dtypeOf;
using emu::gen;
namespace k = antler::kernels;
