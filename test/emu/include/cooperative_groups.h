// Stands in for CUDA's cooperative_groups.h under the host emulation (test/emu/cuda_emu.h): the
// grid group of a cooperative launch and its barrier.
#pragma once
#include "cuda_runtime.h"

namespace cooperative_groups {
struct grid_group {
  void sync() const { emu::gridSync(); }
};
inline grid_group this_grid() { return {}; }
}  // namespace cooperative_groups
