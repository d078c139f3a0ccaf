// Lane groups: routines in native/kernels/ that one CUDA thread block runs
// cooperatively are written against a group of `count()` workers, each with
// its `lane()`, and `sync()` between a phase that writes a buffer and one that
// reads it. On the CPU the group is one thread (SerialLanes); on CUDA it is a
// thread block (cuda/lanes.cuh's BlockLanes). Used by the dense ELK step
// (elk_dense.h) and the batched factorisations (linalg_*.h).
#pragma once
#include <cstdint>

#include "hd.h"

namespace antler::kernels {

// One CPU thread working alone.
struct SerialLanes {
  ANTLER_HD int64_t lane() const { return 0; }
  ANTLER_HD int64_t count() const { return 1; }
  ANTLER_HD void sync() const {}
};

}  // namespace antler::kernels
