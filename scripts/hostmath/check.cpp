// Compares each function of native/kernels/hostmath.h with the double
// precision libm function, rounded to float, over every one of the 2^32 float
// inputs, and prints the worst distance in ulps (±0 must match, NaN must give
// NaN). A development tool, not part of the build or the tests (which sample
// the same comparison: test/cpu/ops.test.ts). About 25 s a function:
//
//   g++ -O2 -fno-math-errno -fno-trapping-math -o /tmp/hostmath-check scripts/hostmath/check.cpp
//   /tmp/hostmath-check          # all; or name one: exp log log1p expm1 erf erfc
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../../native/kernels/hostmath.h"

using namespace antler::kernels;

static int64_t ordered(float f) {
  int32_t i;
  memcpy(&i, &f, 4);
  return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : i;
}

static double ulps(float got, float want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want) ? 0 : 1e9;
  if (got == want) return std::signbit(got) == std::signbit(want) ? 0 : 1e9;
  return static_cast<double>(llabs(ordered(got) - ordered(want)));
}

template <class F, class R>
static void check(const char* name, F f, R ref) {
  double worst = 0;
  float at = 0;
  uint64_t over1 = 0;
  static float in[4096], out[4096];
  for (uint64_t base = 0; base < (1ull << 32); base += 4096) {
    for (int j = 0; j < 4096; j++) {
      const uint32_t b = static_cast<uint32_t>(base + j);
      memcpy(&in[j], &b, 4);
    }
    for (int j = 0; j < 4096; j++) out[j] = f(in[j]);  // the loop the kernels run, vectorised
    for (int j = 0; j < 4096; j++) {
      const double d = ulps(out[j], static_cast<float>(ref(static_cast<double>(in[j]))));
      if (d > 1) over1++;
      if (d > worst) worst = d, at = in[j];
    }
  }
  printf("%-6s worst %.0f ulp at %.9g (got %.9g, want %.9g); over 1 ulp: %llu inputs\n", name, worst, at, f(at),
         static_cast<float>(ref(at)), static_cast<unsigned long long>(over1));
}

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : nullptr;
  auto want = [&](const char* n) { return !only || !strcmp(only, n); };
  if (want("exp")) check("exp", [](float x) { return hostmath::expf(x); }, [](double x) { return exp(x); });
  if (want("log")) check("log", [](float x) { return hostmath::logf(x); }, [](double x) { return log(x); });
  if (want("log1p")) check("log1p", [](float x) { return hostmath::log1pf(x); }, [](double x) { return log1p(x); });
  if (want("expm1")) check("expm1", [](float x) { return hostmath::expm1f(x); }, [](double x) { return expm1(x); });
  if (want("erf")) check("erf", [](float x) { return hostmath::erff(x); }, [](double x) { return erf(x); });
  if (want("erfc")) check("erfc", [](float x) { return hostmath::erfcf(x); }, [](double x) { return erfc(x); });
  return 0;
}
