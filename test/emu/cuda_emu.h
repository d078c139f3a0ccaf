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
// block of these kernels owns its outputs and scratch. Not emulated: warps,
// shared memory, atomics, concurrency between blocks.
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
inline int64_t barriers = 0;

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

// Runs kernel(args...) on `grid` blocks of `threads` threads.
template <typename Kernel, typename... Args>
void launch(std::mt19937& rng, Kernel kernel, unsigned grid, unsigned threads, Args... args) {
  std::vector<unsigned> order(grid);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng);
  std::function<void()> run = [&] { kernel(args...); };
  body = &run;
  gDim = {grid, 1, 1};
  bDim = {threads, 1, 1};
  for (unsigned b : order) {
    bIdx = {b, 0, 0};
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
      std::shuffle(lanes.begin(), lanes.end(), rng);
      size_t live = 0, finished = 0;
      for (unsigned t : lanes) {
        if (fibers[t]->done) continue;
        ++live;
        tIdx = {t, 0, 0};
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
#define threadIdx (::emu::tIdx)
#define blockIdx (::emu::bIdx)
#define blockDim (::emu::bDim)
#define gridDim (::emu::gDim)
inline void __syncthreads() { emu::yield(); }
