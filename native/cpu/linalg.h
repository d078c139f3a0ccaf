#pragma once
// Dense linear algebra on host buffers, for things that are not tensor ops
// (nn.init.orthogonal_ draws a Gaussian matrix and keeps its Q factor).
#include <cstdint>

namespace antler::cpu {

// a: an m×n matrix stored column by column (leading dimension m), m >= n >= 1.
// Overwrites a with Q of its QR factorisation A = QR, each column's sign
// chosen so that R's diagonal is non-negative: the unique such factorisation,
// and PyTorch's orthogonal_ sign fix. Uses LAPACK's dgeqrf/dorgqr when
// OpenBLAS is loaded and allowLapack holds, else Householder reflections
// written here. Returns which ran: "lapack" or "householder".
const char* orthonormalizeColumns(double* a, int64_t m, int64_t n, bool allowLapack);

}  // namespace antler::cpu
