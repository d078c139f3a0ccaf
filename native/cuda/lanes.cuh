// A thread block as a lane group of native/kernels/lanes.h: lane() is the
// thread's index in the block, sync() is __syncthreads(). Needs only the CUDA
// language (no runtime calls), so test/emu/ can compile it for the host.
#pragma once
#include <cstdint>

namespace antler::cuda {

struct BlockLanes {
  __device__ int64_t lane() const { return threadIdx.x; }
  __device__ int64_t count() const { return blockDim.x; }
  __device__ void sync() const { __syncthreads(); }
};

}  // namespace antler::cuda
