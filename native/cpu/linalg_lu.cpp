// Batched dense linear algebra on the CPU: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky (kernels/linalg_lu.h).
#include "../kernels/linalg_lu.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {}  // namespace antler::cpu
