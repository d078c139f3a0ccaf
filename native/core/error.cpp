#include "error.h"

namespace antler {

const char* codeName(Code code) {
  switch (code) {
    case Code::InvalidArgument: return "INVALID_ARGUMENT";
    case Code::ShapeMismatch: return "SHAPE_MISMATCH";
    case Code::DtypeMismatch: return "DTYPE_MISMATCH";
    case Code::DeviceMismatch: return "DEVICE_MISMATCH";
    case Code::Disposed: return "DISPOSED";
    case Code::OutOfMemory: return "OUT_OF_MEMORY";
    case Code::CudaUnavailable: return "CUDA_UNAVAILABLE";
    case Code::CudaError: return "CUDA_ERROR";
    case Code::NotConverged: return "NOT_CONVERGED";
    case Code::BadFile: return "BAD_FILE";
    case Code::Internal: return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace antler
