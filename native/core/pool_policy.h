// The block sizes of the caching allocators (native/cuda/allocator.cu for
// device memory, native/cpu/allocator.cpp for large host buffers): requests
// round up to 512 B up to 1 MiB and to 2 MiB above, so blocks come in few
// sizes and are reused often; a cached block serves a request only when it
// wastes little of itself.
#pragma once
#include <cstddef>

namespace antler::pool {

constexpr size_t kSmallLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;  // 2 MiB

inline size_t roundSize(size_t bytes) {
  if (bytes <= kSmallLimit) return (bytes + kSmallRound - 1) / kSmallRound * kSmallRound;
  return (bytes + kLargeRound - 1) / kLargeRound * kLargeRound;
}

// Best fit within a bound: a small request may take a block up to twice its
// size, a large one only a block that wastes at most 1/8, so a big idle block
// is not pinned under a much smaller tensor. The bound grows with the block,
// so if the smallest block >= `want` fails it, every larger one does too.
inline bool fitsWell(size_t block, size_t want) {
  return want <= kSmallLimit ? block <= 2 * want : block - want <= want / 8;
}

}  // namespace antler::pool
