// Cooperative launches (cudaLaunchCooperativeKernel: every block resident at once, grid barriers)
// with a way back: the grid walks (cells.cu) and the fused DEER solve's segments (deer_fused.cu)
// size their grids from the occupancy query, which can overstate what the device holds (e.g.
// under MPS limits); the device then refuses the grid, and the caller runs its form without
// grid barriers instead.
#pragma once
#include "common.cuh"

namespace antler::cuda {

// Whether the cooperative launch that returned `e` went: false where the device refused the grid
// as larger than it holds at once (the error cleared); other errors throw, naming `op`.
inline bool cooperativeLaunched(cudaError_t e, const char* op) {
  if (e == cudaErrorCooperativeLaunchTooLarge) {
    (void)cudaGetLastError();  // clears it
    return false;
  }
  if (e != cudaSuccess) throwCudaError(e, op, "cudaLaunchCooperativeKernel");
  return true;
}

}  // namespace antler::cuda
