// OpenMP over element loops, only when the loop is large enough to pay for
// waking the threads.
#pragma once
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#define ANTLER_PRAGMA(x) _Pragma(#x)
#define ANTLER_PARALLEL_FOR(n) ANTLER_PRAGMA(omp parallel for schedule(static) if ((n) >= 32768))
#else
#define ANTLER_PARALLEL_FOR(n)
#endif

namespace antler::cpu {
int numThreads();
void setNumThreads(int n);
bool openmpEnabled();
}  // namespace antler::cpu
