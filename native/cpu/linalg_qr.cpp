// Batched dense linear algebra on the CPU: Householder QR (kernels/linalg_qr.h).
#include "../kernels/linalg_qr.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {}  // namespace antler::cpu
