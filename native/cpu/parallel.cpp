#include "parallel.h"

#if defined(ANTLER_WITH_OPENBLAS)
extern "C" void openblas_set_num_threads(int);
#endif

namespace antler::cpu {

int numThreads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void setNumThreads(int n) {
#if defined(_OPENMP)
  omp_set_num_threads(n);
#endif
#if defined(ANTLER_WITH_OPENBLAS)
  openblas_set_num_threads(n);
#endif
  (void)n;
}

bool openmpEnabled() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

}  // namespace antler::cpu
