// OpenMP over element loops, only when the loop is large enough to pay for
// waking the threads.
#pragma once
#define ANTLER_CPU_PARALLEL_H 1
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace antler::cpu {

// Work (about one element operation each) below which a loop runs on the
// calling thread.
constexpr int64_t kParallelWork = 32768;

// body(i) for i in [0, n): on the OpenMP threads (static schedule) when `work`
// reaches kParallelWork and there are at least two iterations, else on the
// calling thread without entering an OpenMP region at all (one iteration gains
// nothing from a team: one large matrix paid the wake-up of the others). (libgomp's `parallel for if (false)` still costs about
// 3 µs and a futex syscall per region: most of a small op's native time.)
template <typename Body>
inline void parallelFor(int64_t n, int64_t work, Body&& body) {
#if defined(_OPENMP)
  if (work >= kParallelWork && n > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) body(i);
}

int numThreads();
void setNumThreads(int n);
bool openmpEnabled();
}  // namespace antler::cpu
