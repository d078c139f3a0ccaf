#pragma once
#include "../core/backend.h"

namespace antler::cpu {

// Batched row-major GEMM (see MatmulArgs). OpenBLAS when it opens at run time
// (cpu/blas.h), else a packed, cache-blocked kernel parallel over row blocks.
template <typename T>
void gemmBatched(const MatmulArgs& args);

// One row-major GEMM, C [m, n] = op(A) op(B) with op(A) [m, k], op(B) [k, n],
// contiguous operands; OpenBLAS when present, else the blocked kernel.
template <typename T>
void gemm(const T* A, const T* B, T* C, int64_t m, int64_t n, int64_t k, bool transA, bool transB);

// "OpenBLAS 0.3.21 … (/usr/lib/…/libopenblas.so.0)" or "built-in blocked GEMM (why)".
const char* blasName();

}  // namespace antler::cpu
