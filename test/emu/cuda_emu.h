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
// block of these kernels owns its outputs and scratch. A cooperative launch
// (cudaLaunchCooperativeKernel) runs all its blocks' threads in one pool
// instead, each round in a shuffled order over the whole grid, so that a grid
// barrier (cooperative_groups' grid.sync) waits for every thread of the grid.
// Warp shuffles are emulated with block-wide barriers (see __shfl_xor_sync).
// Not emulated: warp lockstep, concurrency between blocks outside a
// cooperative launch (atomics are trivially atomic here).
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
// The running block's slots for warp shuffles (one per thread) and dynamic shared memory (extern
// __shared__ arrays point here, NaN-filled per block); switched with the block whose thread resumes.
inline double* shuffleSlots = nullptr;
inline unsigned char* shared = nullptr;
// The grid barrier of a cooperative launch: threads arrived, the barrier's generation, the grid's threads,
// the round in which the waiting threads leave it (all in the same round, as after a __syncthreads).
inline int64_t gridArrived = 0, gridGeneration = 0, gridThreads = 0, gridRelease = 0, gridEnded = 0;
// The running thread's block (its index in runBlocks' list), and per block the generation and round of
// its threads' arrival at the grid barrier: a block's threads arrive in one round, or they passed
// different numbers of block barriers on the way (a hang or worse on a GPU).
inline size_t currentBlock = 0;
inline std::vector<std::pair<int64_t, int64_t>> blockArrival;
// Rounds run (runBlocks).
inline int64_t rounds = 0;
inline bool cooperative = false;

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

struct BlockRun {
  dim3 idx;
  unsigned flat = 0;
  std::vector<double> sharedStore, slots;
  std::vector<std::unique_ptr<Fiber>> fibers;
};

// Runs the blocks' threads in one pool, round by round until all have ended; a block whose threads
// do not all end in the same round (a barrier reached by part of it) is reported.
inline void runBlocks(std::vector<BlockRun>& blocks, dim3 block, size_t sharedBytes) {
  const unsigned threads = block.x * block.y;
  unsigned stack = 0;
  std::vector<std::pair<unsigned, unsigned>> order;
  for (unsigned i = 0; i < blocks.size(); ++i) {
    BlockRun& br = blocks[i];
    br.sharedStore.assign((sharedBytes + sizeof(double) - 1) / sizeof(double), __builtin_nan(""));
    br.slots.assign(threads, __builtin_nan(""));
    for (unsigned t = 0; t < threads; ++t) {
      auto f = std::make_unique<Fiber>();
      getcontext(&f->ctx);
      f->ctx.uc_stack.ss_sp = stackOf(stack++);
      f->ctx.uc_stack.ss_size = kStackBytes;
      f->ctx.uc_link = &schedulerContext;
      makecontext(&f->ctx, fiberEntry, 0);
      br.fibers.push_back(std::move(f));
      order.emplace_back(i, t);
    }
  }
  std::vector<size_t> live(blocks.size()), finished(blocks.size());
  blockArrival.assign(blocks.size(), {-1, -1});
  for (;;) {
    ++rounds;
    std::shuffle(order.begin(), order.end(), rng());
    std::fill(live.begin(), live.end(), 0);
    std::fill(finished.begin(), finished.end(), 0);
    size_t anyLive = 0, anyFinished = 0;
    for (const auto& [i, t] : order) {
      BlockRun& br = blocks[i];
      Fiber* f = br.fibers[t].get();
      if (f->done) continue;
      ++live[i];
      ++anyLive;
      tIdx = {t % block.x, t / block.x, 0};
      bIdx = br.idx;
      shared = reinterpret_cast<unsigned char*>(br.sharedStore.data());
      shuffleSlots = br.slots.data();
      currentBlock = i;
      resume(f);
      if (f->done) {
        ++finished[i];
        ++anyFinished;
        ++gridEnded;
        if (gridArrived != 0) {
          std::fprintf(stderr, "emu: block %u: a thread ended while %lld wait at a grid barrier\n", br.flat,
                       static_cast<long long>(gridArrived));
          std::exit(3);
        }
      }
    }
    if (anyLive == 0) break;
    // Threads waiting at a grid barrier that the ended ones never reached: a hang on a GPU.
    if (gridArrived != 0 && gridArrived + gridEnded == gridThreads) {
      std::fprintf(stderr, "emu: %lld threads wait at a grid barrier that %lld ended threads never reached\n",
                   static_cast<long long>(gridArrived), static_cast<long long>(gridEnded));
      std::exit(3);
    }
    // In one round every live thread of a block reached a barrier, or every one ended.
    for (size_t i = 0; i < blocks.size(); ++i)
      if (finished[i] != 0 && finished[i] != live[i]) {
        std::fprintf(stderr, "emu: block %u: %zu of %zu threads ended while the others wait at __syncthreads\n",
                     blocks[i].flat, finished[i], live[i]);
        std::exit(3);
      }
    if (anyFinished != anyLive) ++barriers;
  }
}

// Runs kernel(args...) on a grid of blocks of `block` threads (x and y), with
// `sharedBytes` of dynamic shared memory per block: block after block, or
// (cooperative) all blocks together.
template <typename Kernel, typename... Args>
void launchWith(bool together, Kernel kernel, dim3 grid, dim3 block, size_t sharedBytes, Args... args) {
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
  std::vector<unsigned> order(grid.x * grid.y * grid.z);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng());
  std::function<void()> run = [&] { kernel(args...); };
  body = &run;
  gDim = grid;
  bDim = block;
  const auto blockRun = [&](unsigned flat) {
    BlockRun br;
    br.flat = flat;
    br.idx = {flat % grid.x, (flat / grid.x) % grid.y, flat / (grid.x * grid.y)};
    return br;
  };
  if (together) {
    std::vector<BlockRun> blocks;
    for (unsigned flat : order) blocks.push_back(blockRun(flat));
    cooperative = true;
    gridArrived = 0;
    gridEnded = 0;
    gridThreads = static_cast<int64_t>(order.size()) * block.x * block.y;
    runBlocks(blocks, block, sharedBytes);
    cooperative = false;
    return;
  }
  for (unsigned flat : order) {
    std::vector<BlockRun> one;
    one.push_back(blockRun(flat));
    runBlocks(one, block, sharedBytes);
  }
}

template <typename Kernel, typename... Args>
void launch(Kernel kernel, dim3 grid, dim3 block, size_t sharedBytes, Args... args) {
  launchWith(false, kernel, grid, block, sharedBytes, args...);
}

// A cooperative grid's barrier: every thread of the grid arrives, then all leave in the same round.
inline void gridSync() {
  if (!cooperative) {
    std::fprintf(stderr, "emu: a grid barrier outside a cooperative launch\n");
    std::exit(3);
  }
  const int64_t generation = gridGeneration;
  auto& arrival = blockArrival[currentBlock];
  if (arrival.first != generation) {
    arrival = {generation, rounds};
  } else if (arrival.second != rounds) {
    std::fprintf(stderr, "emu: block %u: its threads reached a grid barrier after different numbers of block barriers\n",
                 bIdx.x + gDim.x * (bIdx.y + gDim.y * bIdx.z));
    std::exit(3);
  }
  if (++gridArrived == gridThreads) {
    gridArrived = 0;
    ++gridGeneration;
    gridRelease = rounds + 1;
  }
  do yield();
  while (gridGeneration == generation || rounds < gridRelease);
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
