// Batched dense linear algebra: symmetric eigendecomposition (eigh) and SVD.
// Math shared by the CPU (native/cpu/linalg_spectral.cpp) and CUDA
// (native/cuda/linalg_spectral.cu) backends, written against a lane group (lanes.h).
#pragma once
#include <cstdint>

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {}  // namespace antler::kernels
