// Batched dense linear algebra: Householder QR.
// Math shared by the CPU (native/cpu/linalg_qr.cpp) and CUDA
// (native/cuda/linalg_qr.cu) backends, written against a lane group (lanes.h).
#pragma once
#include <cstdint>

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {}  // namespace antler::kernels
