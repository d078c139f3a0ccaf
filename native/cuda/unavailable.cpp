// Linked instead of the CUDA backend when the addon is built without nvcc
// (ANTLER_BACKEND=cpu, node-gyp, or no CUDA toolkit found): CUDA is reported
// unavailable with the reason, and any CUDA tensor gets CUDA_UNAVAILABLE.
#include "../core/backend.h"
#include "../core/error.h"

namespace antler {

const CudaStatus& cudaStatus() {
  static const CudaStatus status = [] {
    CudaStatus s;
    s.compiled = false;
    s.available = false;
    s.reason = "this build of antler has no CUDA backend (built without nvcc, or with ANTLER_BACKEND=cpu); "
               "rebuild with the CUDA toolkit on the PATH: npm run build";
    s.cublasPath = "not applicable (no CUDA backend)";
    return s;
  }();
  return status;
}

Backend& cudaBackend(const Device& d) {
  fail(Code::CudaUnavailable, "device ", d.str(), " is not available: ", cudaStatus().reason);
}

}  // namespace antler
