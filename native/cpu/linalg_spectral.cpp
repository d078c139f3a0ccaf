// Batched dense linear algebra on the CPU: symmetric eigendecomposition (eigh) and SVD (kernels/linalg_spectral.h).
#include "../kernels/linalg_spectral.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {}  // namespace antler::cpu
