#include "parallel.h"

#include "blas.h"

#include <mutex>

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
  if (const blas::SetThreadsFn set = blas::library().setThreads) {
    const std::unique_lock<std::shared_mutex> lock(blas::threadCountLock());
    blas::setWantedThreads(n);
    set(n);
  }
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
