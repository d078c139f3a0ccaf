// Batched dense linear algebra on CUDA: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky (kernels/linalg_lu.h),
// one thread block (cuda/lanes.cuh) per matrix.
#include "../kernels/linalg_lu.h"
#include "lanes.cuh"
#include "ops.cuh"

namespace antler::cuda {}  // namespace antler::cuda
