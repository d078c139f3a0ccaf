// Batched dense linear algebra on CUDA: Householder QR (kernels/linalg_qr.h),
// one thread block (cuda/lanes.cuh) per matrix.
#include "../kernels/linalg_qr.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {}  // namespace antler::cuda
