// A host emulation of the CUDA language subset that the kernels in
// native/cuda/*.cuh use, so that their source runs on a machine without a GPU
// (test/cpu/cuda-emulation.test.ts).
//
// Every CUDA thread of a block is a fiber on one host thread (started with
// makecontext, then switched with _setjmp/_longjmp, which skip the signal-mask
// system call of swapcontext), and __syncthreads switches back to the block's
// scheduler. The scheduler runs
// the block in rounds: each round resumes every live thread once, in a
// freshly shuffled order, and each runs until its next barrier or its end. So
// a thread that reads in one phase what another writes in the same phase
// (a missing barrier) sees a different value from run to run and from the
// serial answer, and a barrier reached by only part of the block (a hang on a
// GPU) is reported. Blocks run one after another in a shuffled order: each
// block of these kernels owns its outputs and scratch. Warp shuffles are
// emulated with block-wide barriers (see __shfl_xor_sync). Not emulated: warp
// lockstep, concurrency between blocks (atomics are trivially atomic here).
#pragma once
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace emu {
inline dim3 tIdx, bIdx, bDim, gDim;

struct Fiber {
  ucontext_t ctx{};
  jmp_buf at;
  bool started = false, done = false;
};
// Fiber stacks, kept across launches (allocated once, never zero-filled).
constexpr size_t kStackBytes = 64 * 1024;
inline std::vector<std::unique_ptr<char[]>> stacks;
inline char* stackOf(unsigned t) {
  while (stacks.size() <= t) stacks.emplace_back(new char[kStackBytes]);
  return stacks[t].get();
}
inline ucontext_t schedulerContext;
inline jmp_buf scheduler;
inline Fiber* current = nullptr;
inline std::function<void()>* body = nullptr;
inline int64_t barriers = 0, launches = 0;
// One slot per thread of the block for warp shuffles.
inline std::vector<double> shuffleSlots;
// The block's dynamic shared memory (extern __shared__ arrays point here), NaN-filled per block.
inline std::vector<double> sharedStore;
inline unsigned char* shared = nullptr;

[[noreturn]] inline void fiberEntry() {
  (*body)();
  current->done = true;
  _longjmp(scheduler, 1);
}

// Runs fiber f until its next barrier or its end.
inline void resume(Fiber* f) {
  current = f;
  if (_setjmp(scheduler) == 0) {
    if (!f->started) {
      f->started = true;
      swapcontext(&schedulerContext, &f->ctx);
    } else {
      _longjmp(f->at, 1);
    }
  }
}

// __syncthreads: back to the scheduler; resumed here in a later round.
inline void yield() {
  if (_setjmp(current->at) == 0) _longjmp(scheduler, 1);
}

inline std::mt19937& rng() {
  static std::mt19937 r(1);
  return r;
}

// Runs kernel(args...) on a grid of blocks of `block` threads (x and y), with
// `sharedBytes` of dynamic shared memory per block.
template <typename Kernel, typename... Args>
void launch(Kernel kernel, dim3 grid, dim3 block, size_t sharedBytes, Args... args) {
  if (block.z != 1) {
    std::fprintf(stderr, "emu: only 1-D and 2-D blocks are emulated\n");
    std::exit(3);
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || block.x == 0 ||
      block.x * block.y > 1024 || sharedBytes > 227 * 1024) {
    std::fprintf(stderr, "emu: invalid launch: grid (%u, %u, %u), block %u, %zu bytes of shared memory\n", grid.x,
                 grid.y, grid.z, block.x, sharedBytes);
    std::exit(3);
  }
  ++launches;
  const unsigned threads = block.x * block.y;
  std::vector<unsigned> order(grid.x * grid.y * grid.z);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng());
  std::function<void()> run = [&] { kernel(args...); };
  body = &run;
  gDim = grid;
  bDim = block;
  for (unsigned flat : order) {
    bIdx = {flat % grid.x, (flat / grid.x) % grid.y, flat / (grid.x * grid.y)};
    const unsigned b = flat;
    sharedStore.assign((sharedBytes + sizeof(double) - 1) / sizeof(double), __builtin_nan(""));
    shared = reinterpret_cast<unsigned char*>(sharedStore.data());
    shuffleSlots.assign(threads, __builtin_nan(""));
    std::vector<std::unique_ptr<Fiber>> fibers;
    for (unsigned t = 0; t < threads; ++t) {
      auto f = std::make_unique<Fiber>();
      getcontext(&f->ctx);
      f->ctx.uc_stack.ss_sp = stackOf(t);
      f->ctx.uc_stack.ss_size = kStackBytes;
      f->ctx.uc_link = &schedulerContext;
      makecontext(&f->ctx, fiberEntry, 0);
      fibers.push_back(std::move(f));
    }
    std::vector<unsigned> lanes(threads);
    std::iota(lanes.begin(), lanes.end(), 0u);
    for (;;) {
      std::shuffle(lanes.begin(), lanes.end(), rng());
      size_t live = 0, finished = 0;
      for (unsigned t : lanes) {
        if (fibers[t]->done) continue;
        ++live;
        tIdx = {t % block.x, t / block.x, 0};
        resume(fibers[t].get());
        if (fibers[t]->done) ++finished;
      }
      if (live == 0) break;
      // In one round every live thread reached a barrier, or every one ended.
      if (finished != 0 && finished != live) {
        std::fprintf(stderr, "emu: block %u: %zu of %zu threads ended while the others wait at __syncthreads\n", b,
                     finished, live);
        std::exit(3);
      }
      if (finished == 0) ++barriers;
    }
  }
}
}  // namespace emu

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static
#define threadIdx (::emu::tIdx)
#define blockIdx (::emu::bIdx)
#define blockDim (::emu::bDim)
#define gridDim (::emu::gDim)
inline void __syncthreads() { emu::yield(); }

// The thread's index in its block (x fastest); warps are 32 consecutive indices.
inline unsigned flatThread() { return emu::tIdx.x + emu::bDim.x * emu::tIdx.y; }

// __shfl_xor_sync: every lane publishes v, then reads its partner's. Emulated
// with two block-wide barriers, so it requires what the kernels here promise
// anyway: every thread of the block calls it together (a partial call is
// reported like a partial __syncthreads).
inline double __shfl_xor_sync(unsigned, double v, int laneMask) {
  const unsigned me = flatThread();
  emu::shuffleSlots[me] = v;
  emu::yield();
  const unsigned partner = (me & ~31u) | ((me & 31u) ^ static_cast<unsigned>(laneMask));
  const double r = emu::shuffleSlots[partner];
  emu::yield();
  return r;
}

// __shfl_sync(mask, v, srcLane, width): lane srcLane of the caller's segment
// of `width` lanes (a power of two up to 32), emulated as __shfl_xor_sync.
template <typename V>
inline V __shfl_sync(unsigned, V v, int srcLane, int width = 32) {
  const unsigned me = flatThread();
  emu::shuffleSlots[me] = static_cast<double>(v);
  emu::yield();
  const unsigned w = static_cast<unsigned>(width);
  const unsigned partner = (me & ~(w - 1u)) | (static_cast<unsigned>(srcLane) & (w - 1u));
  const V r = static_cast<V>(emu::shuffleSlots[partner]);
  emu::yield();
  return r;
}

// Separately rounded arithmetic: plain operations on the host.
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }

// Atomics: fibers switch only at barriers, so a read-modify-write is never interleaved.
template <typename T>
inline T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <typename T>
inline T atomicMin(T* p, T v) {
  const T old = *p;
  if (v < old) *p = v;
  return old;
}
