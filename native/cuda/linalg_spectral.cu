// Batched dense linear algebra on CUDA: symmetric eigendecomposition (eigh) and SVD (kernels/linalg_spectral.h),
// one thread block (cuda/lanes.cuh) per matrix.
#include "../kernels/linalg_spectral.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {}  // namespace antler::cuda
