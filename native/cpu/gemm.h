#pragma once
#include "../core/backend.h"

namespace antler::cpu {

// Batched row-major GEMM (see MatmulArgs). OpenBLAS when the build found it,
// else a packed, cache-blocked kernel parallel over row blocks.
template <typename T>
void gemmBatched(const MatmulArgs& args);

// "OpenBLAS 0.3.21 (openmp)" or "built-in blocked GEMM".
const char* blasName();

}  // namespace antler::cpu
