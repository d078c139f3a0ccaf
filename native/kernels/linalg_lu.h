// Batched dense linear algebra: LU factorisation with partial pivoting, LU solve, triangular solve, Cholesky.
// Math shared by the CPU (native/cpu/linalg_lu.cpp) and CUDA
// (native/cuda/linalg_lu.cu) backends, written against a lane group (lanes.h).
#pragma once
#include <cstdint>

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {}  // namespace antler::kernels
