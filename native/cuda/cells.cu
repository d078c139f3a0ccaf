// The DEER cells on the GPU (math in kernels/cells.h).
//
// Every launch first writes Whh's transpose WhhT [H, G] to scratch: a unit's
// gate dot products walk a row of Whh, and with threads over units a warp then
// reads 32 neighbouring entries of WhhT per term instead of 32 rows H apart.
//
// cellLinearize and the adjoint backward: one thread per (t, b, unit u),
// computing u's gate dot products and writing its rows of f, J, bOff (LSTM:
// rows u and H + u) or its gate entries of gxp and ghh. Consecutive threads
// take consecutive units of one step, so the f, xp and g accesses of a warp are
// contiguous. The adjoint's gy0 = (∂f_0/∂y0)ᵀ λ_0 needs every unit's ghh of
// step 0, so a second launch adds the Whhᵀ·ghh part.
//
// A dense J with n >= kCoefficientMinN is written in two passes: the unit
// threads store their rows' few coefficients (kernels/cells.h,
// cellStoreCoefficients) to scratch instead of the rows themselves, then a
// warp per row of J fills it from them and Whh's row-major rows, so that a
// warp's stores (and Whh loads) are 32 neighbouring entries rather than 32
// rows n apart.
//
// cellSequential: one thread block per batch element walks t = 0 … T−1, the
// threads over units, with __syncthreads between steps. The previous state is
// staged in shared memory (two halves, read one, write the other), where every
// thread's dot products read it at the same address; when 2n values exceed
// 48 KB (H > 1536 for an LSTM in float64) the walk reads it from y in global
// memory instead, which the block's own writes before __syncthreads make visible.
//
// cellBackward (walk): the same block per batch element walks t = T−1 … 0. A
// step writes its ghh (staged in shared memory when G values fit in 48 KB, else
// read back from the ghh output), then after __syncthreads each thread adds
// Whhᵀ·ghh to the carry of its own units. The carry lives in the batch
// element's row of gy0, which after t = 0 holds (∂f_0/∂y0)ᵀ λ_0.
//
// Grid walks (wide layers, H ≥ kCellGridMinH): a block walk reads all of Whh
// (G·H values) once per batch element per step, from L2, with one block's
// threads: at H = 512 the LSTM's walks ran 20–25× slower than cuDNN (H200,
// 2026-12-04, BENCHMARKS.md). A grid walk spreads every step over the whole
// device instead: a cooperative launch whose warps each take items (unit u,
// kCellGridBatch batch elements), their lanes over the H-long dot products
// (Whh's row values reused across the item's batch elements), sums by warp
// shuffles; a grid barrier after each step. The backward has two phases per
// step around one grid barrier: the items' gate gradients (ghh, gxp, and the
// carry's direct part), then each item's Whhᵀ·ghh part of its carry, which
// needs every unit's ghh of the step; an item's carry is read and written only
// by its own warp, so the next step's first phase needs no barrier.
// ANTLER_CELL_WALK=grid or =block asks for one kind (benchmarks' A/B).
#include <cooperative_groups.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "../kernels/cells.h"
#include "cooperative.cuh"
#include "ops.cuh"

namespace antler::cuda {

namespace k = kernels;

constexpr int kCellBlock = 256;
// Dynamic shared memory a launch may use without opting in.
constexpr size_t kCellSharedLimit = 48 * 1024;

extern __shared__ __align__(16) unsigned char cellShared[];

// Threads over units of one step: the smallest warp multiple covering H, at most kCellBlock.
static int cellThreads(int64_t H) {
  int threads = 32;
  while (threads < kCellBlock && threads < H) threads *= 2;
  return threads;
}

static unsigned cellWalkGrid(int64_t B) {
  const int64_t cap = 65535;
  return static_cast<unsigned>(B < cap ? B : cap);
}

// Whether a one-unit walk (loads ahead, more registers: fewer blocks per SM)
// runs the batch in no more waves of blocks than the general walk. Each block
// walks all T steps, so an extra wave costs about a whole walk, more than
// loading ahead is known to save; with as many waves it runs instead.
template <typename OneUnitKernel, typename GeneralKernel>
static bool oneUnitWalkPays(const Context& ctx, OneUnitKernel oneUnit, size_t oneUnitBytes, GeneralKernel general,
                            size_t generalBytes, int threads, int64_t B) {
  int perSmOne = 0, perSmGeneral = 0;
  ANTLER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSmOne, oneUnit, threads, oneUnitBytes));
  ANTLER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSmGeneral, general, threads, generalBytes));
  const int64_t blocks = cellWalkGrid(B);
  const auto waves = [&](int perSm) {
    const int64_t resident = static_cast<int64_t>(perSm > 0 ? perSm : 1) * ctx.multiprocessors;
    return (blocks + resident - 1) / resident;
  };
  return waves(perSmOne) <= waves(perSmGeneral);
}

// WhhT[col·G + row] = Whh[row·H + col].
template <typename T>
static __global__ void cellTransposeKernel(int64_t G, int64_t H, const T* __restrict__ Whh, T* __restrict__ WhhT) {
  for (int64_t e = gridStart(); e < G * H; e += gridStride()) {
    const int64_t col = e / G, row = e - col * G;
    WhhT[e] = Whh[row * H + col];
  }
}

// Whh's transpose in pool scratch, for the life of one launcher.
template <typename T>
class TransposedWeights {
 public:
  TransposedWeights(Context& ctx, const k::CellConfig& cfg, const T* Whh)
      : buf_(ctx, static_cast<size_t>(cfg.G() * cfg.H) * sizeof(T)) {
    cellTransposeKernel<T><<<gridFor(ctx, cfg.G() * cfg.H), kBlockSize, 0, ctx.stream>>>(cfg.G(), cfg.H, Whh, get());
    ANTLER_LAUNCH_CHECK("cell weights transpose");
  }
  T* get() const { return static_cast<T*>(buf_.get()); }

 private:
  PoolBuffer buf_;
};

// coef (dense J only; else null): the units' J coefficients go there, [T·B·H, coefficientsPerUnit], not into J.
template <typename T>
static __global__ void __launch_bounds__(kBlockSize)
    cellLinearizeKernel(k::CellConfig cfg, k::CellJacobian jac, const T* __restrict__ xp, const T* __restrict__ Whh,
                        const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0,
                        const T* __restrict__ y, T* f, T* J, T* bOff, T* coef) {
  const int64_t n = cfg.n(), total = cfg.T * cfg.B * cfg.H, perUnit = cfg.coefficientsPerUnit();
  const int64_t jSize = jac == k::CellJacobian::Dense ? n * n : n;
  for (int64_t i = gridStart(); i < total; i += gridStride()) {
    const int64_t step = i / cfg.H, u = i - step * cfg.H;
    const int64_t t = step / cfg.B, b = step - t * cfg.B;
    k::cellLinearizeUnit<T>(cfg, jac, xp + cfg.gateAt(t, b), Whh, bhh, k::cellPrevState(cfg, y0, y, t, b), u,
                         f + step * n, J ? J + step * jSize : nullptr, bOff ? bOff + step * n : nullptr, WhhT,
                         coef ? coef + i * perUnit : nullptr);
  }
}

// From this state size on, a dense J is written from coefficients (see the top).
constexpr int64_t kCoefficientMinN = 32;

// J [T·B·n rows, n] from the units' coefficients: a warp per row, its lanes over the columns.
template <typename T>
static __global__ void __launch_bounds__(kBlockSize)
    cellJacobianFillKernel(k::CellConfig cfg, const T* __restrict__ coef, const T* __restrict__ Whh, T* __restrict__ J) {
  const int64_t n = cfg.n(), H = cfg.H, rows = cfg.T * cfg.B * n, perUnit = cfg.coefficientsPerUnit();
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t warps = gridStride() / 32;
  for (int64_t row = gridStart() / 32; row < rows; row += warps) {
    const int64_t step = row / n, s = row - step * n;
    const int r = s < H ? 0 : 1;
    const int64_t u = s - r * H;
    const T* unitCoef = coef + (step * H + u) * perUnit;
    T* out = J + row * n;
    for (int64_t col = lane; col < n; col += 32) out[col] = k::cellJacobianFromCoefficients(cfg, unitCoef, Whh, u, r, col);
  }
}

// Steps a walk thread loads ahead when it owns one unit (H ≤ its block):
// the next group's loads (xp; in the backward also g and the unit's rows of
// the state before) are issued before the current group's steps, so a step
// waits on the state chain, not on memory (as the SRU kernels,
// native/cuda/sru.cu). Larger groups cost registers: with 8 steps ptxas
// capped the float32 forward at 128 registers and spilled; with 4 it takes 100.
template <typename T>
struct CellWalkAhead {
  static constexpr int value = sizeof(T) == 4 ? 4 : 2;
};

// The loads ahead are unconditional: every one reads a valid element, with
// the step, the unit (for the block's idle threads, u ≥ H) and the gate or
// row clamped, and what is not needed goes unused. A load under a condition,
// or a select between the loaded value and 0, makes the thread wait for it
// there, and nothing is left in flight: the SRU kernels written that way ran
// at half the speed (H200, 2026-12-04, native/cuda/sru.cu's SruAhead).
__device__ __forceinline__ int cellClampIndex(int i, int count) { return i < count ? i : count - 1; }

// Unit u's xp values at steps base … base + P − 1 of batch element b (steps
// past the end read the last step; gates past the cell's read its last gate;
// an idle thread reads unit 0's: in bounds, never used).
template <typename T, int P>
__device__ __forceinline__ void cellLoadAhead(const k::CellConfig& cfg, const T* __restrict__ xp, int64_t base,
                                              int64_t b, int64_t u, bool active, T (&dst)[P][k::kCellMaxGates]) {
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  const int64_t unit = active ? u : 0;
#pragma unroll
  for (int j = 0; j < P; ++j) {
    const int64_t t = base + j < cfg.T ? base + j : cfg.T - 1;
    const T* xs = xp + cfg.gateAt(t, b) + unit;
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk) dst[j][kk] = xs[cellClampIndex(kk, gates) * cfg.H];
  }
}

// The forward walk when each thread owns one unit (staged, H ≤ blockDim.x),
// its xp values loaded ahead (CellWalkAhead). A kernel of its own: its
// registers (100 for float32) would lower the occupancy of the general walk.
template <typename T>
static __global__ void __launch_bounds__(kCellBlock)
    cellSequentialOneUnitKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                                const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0, T* y) {
  constexpr int P = CellWalkAhead<T>::value;
  T* halves = reinterpret_cast<T*>(cellShared);
  const int64_t n = cfg.n(), H = cfg.H;
  const int64_t u = threadIdx.x;
  const bool active = u < H;
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) {
    for (int64_t s = threadIdx.x; s < n; s += blockDim.x) halves[s] = y0[b * n + s];
    __syncthreads();
    const T* prev = halves;
    T cur[P][k::kCellMaxGates], next[P][k::kCellMaxGates];
    cellLoadAhead<T, P>(cfg, xp, 0, b, u, active, cur);
    for (int64_t base = 0; base < cfg.T; base += P) {
      cellLoadAhead<T, P>(cfg, xp, base + P, b, u, active, next);
#pragma unroll
      for (int j = 0; j < P; ++j) {
        const int64_t t = base + j;
        if (t < cfg.T) {  // the same for every thread of the block
          T* out = y + cfg.stateAt(t, b);
          T* nextState = halves + ((t + 1) & 1) * n;
          if (active) {
            k::cellLinearizeUnit<T>(cfg, k::CellJacobian::None, nullptr, Whh, bhh, prev, u, nextState, nullptr,
                                    nullptr, WhhT, nullptr, cur[j]);
            for (int64_t r = 0; r < cfg.rowsPerUnit(); ++r) out[r * H + u] = nextState[r * H + u];
          }
          __syncthreads();
          prev = nextState;
        }
      }
#pragma unroll
      for (int j = 0; j < P; ++j)
#pragma unroll
        for (int kk = 0; kk < k::kCellMaxGates; ++kk) cur[j][kk] = next[j][kk];
    }
  }
}

template <typename T>
static __global__ void __launch_bounds__(kCellBlock)
    cellSequentialKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                         const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0, T* y,
                         bool staged) {
  T* halves = reinterpret_cast<T*>(cellShared);
  const int64_t n = cfg.n(), H = cfg.H;
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) {
    const T* prev = y0 + b * n;
    if (staged) {
      for (int64_t s = threadIdx.x; s < n; s += blockDim.x) halves[s] = prev[s];
      __syncthreads();
      prev = halves;
    }
    for (int64_t t = 0; t < cfg.T; ++t) {
      T* out = y + cfg.stateAt(t, b);
      T* next = staged ? halves + ((t + 1) & 1) * n : out;
      for (int64_t u = threadIdx.x; u < H; u += blockDim.x) {
        k::cellLinearizeUnit<T>(cfg, k::CellJacobian::None, xp + cfg.gateAt(t, b), Whh, bhh, prev, u, next, nullptr,
                                nullptr, WhhT);
        if (staged)
          for (int64_t r = 0; r < cfg.rowsPerUnit(); ++r) out[r * H + u] = next[r * H + u];
      }
      __syncthreads();
      prev = next;
    }
  }
}

// The backward walk's loads for step t of unit u (see CellWalkAhead): its xp
// gate values, its rows of g_t, and its rows of the state before step t − 1
// (y_{t−2}, or y0 at t = 1; unused at t = 0), which the thread puts into the
// block's staged copy of that state one step ahead. Steps below 0 read step 0;
// clamped and unconditional as cellLoadAhead.
template <typename T>
struct CellBackStep {
  T xp[k::kCellMaxGates], g[k::kCellMaxRows], before[k::kCellMaxRows];
};

template <typename T, int P>
__device__ __forceinline__ void cellLoadBackAhead(const k::CellConfig& cfg, const T* __restrict__ xp,
                                                  const T* __restrict__ y0, const T* __restrict__ y,
                                                  const T* __restrict__ g, int64_t top, int64_t b, int64_t u,
                                                  bool active, CellBackStep<T> (&dst)[P]) {
  const int gates = static_cast<int>(cfg.gatesPerUnit()), rows = static_cast<int>(cfg.rowsPerUnit());
  const int64_t unit = active ? u : 0;
#pragma unroll
  for (int j = 0; j < P; ++j) {
    const int64_t t = top - j >= 0 ? top - j : 0;
    const T* xs = xp + cfg.gateAt(t, b) + unit;
    const T* gs = g + cfg.stateAt(t, b) + unit;
    const T* before = k::cellPrevState(cfg, y0, y, t >= 1 ? t - 1 : 0, b) + unit;
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk) dst[j].xp[kk] = xs[cellClampIndex(kk, gates) * cfg.H];
#pragma unroll
    for (int r = 0; r < k::kCellMaxRows; ++r) {
      dst[j].g[r] = gs[cellClampIndex(r, rows) * cfg.H];
      dst[j].before[r] = before[cellClampIndex(r, rows) * cfg.H];
    }
  }
}

// The backward walk of batch element b when each thread owns one unit
// (staged, H ≤ blockDim.x): the same steps as cellBackwardWalkKernel's loop,
// with the loads ahead (cellLoadBackAhead), the unit's carry in registers
// (written to gy0 at the end), and the state before each step staged in
// shared memory (two halves after the G staged ghh values): during step t
// each thread writes its rows of the state before step t − 1 into the half
// step t − 1 reads, which step t + 1 finished reading two barriers earlier.
template <typename T>
__device__ __forceinline__ void cellBackwardWalkOneUnit(const k::CellConfig& cfg, const T* __restrict__ xp,
                                        const T* __restrict__ Whh, const T* __restrict__ WhhT,
                                        const T* __restrict__ bhh, const T* __restrict__ y0,
                                        const T* __restrict__ y, const T* __restrict__ g, T* gxp, T* ghh, T* gy0,
                                        int64_t b, T* stage) {
  constexpr int P = CellWalkAhead<T>::value;
  const int64_t n = cfg.n(), H = cfg.H, G = cfg.G();
  const int gates = static_cast<int>(cfg.gatesPerUnit()), rows = static_cast<int>(cfg.rowsPerUnit());
  const int64_t u = threadIdx.x;
  const bool active = u < H;
  T* halves = stage + G;
  // carry[r]: ∂loss/∂y_t at state row r·H + u from the steps after t (zero before the walk).
  T carry[k::kCellMaxRows] = {T(0), T(0)};
  // The state before the walk's first step, T − 1.
  if (active) {
    const T* before = k::cellPrevState(cfg, y0, y, cfg.T - 1, b);
    for (int r = 0; r < rows; ++r) halves[((cfg.T - 1) & 1) * n + r * H + u] = before[r * H + u];
  }
  __syncthreads();
  CellBackStep<T> cur[P], next[P];
  cellLoadBackAhead<T, P>(cfg, xp, y0, y, g, cfg.T - 1, b, u, active, cur);
  for (int64_t top = cfg.T - 1; top >= 0; top -= P) {
    cellLoadBackAhead<T, P>(cfg, xp, y0, y, g, top - P, b, u, active, next);
#pragma unroll
    for (int j = 0; j < P; ++j) {
      const int64_t t = top - j;
      if (t >= 0) {  // the same for every thread of the block
        const T* prev = halves + (t & 1) * n;
        T* ghhStep = ghh + cfg.gateAt(t, b);
        if (active) {
          if (t >= 1)
            for (int r = 0; r < rows; ++r) halves[((t - 1) & 1) * n + r * H + u] = cur[j].before[r];
          T lam[k::kCellMaxRows];
          for (int r = 0; r < k::kCellMaxRows; ++r) lam[r] = r < rows ? cur[j].g[r] + carry[r] : T(0);
          const T direct = k::cellBackwardUnit<T>(cfg, nullptr, Whh, bhh, prev, lam, u, gxp + cfg.gateAt(t, b), stage,
                                                  WhhT, cur[j].xp);
          // cellSeedCarry on registers: the direct part at directIndex(u), zero at the unit's other row.
          for (int r = 0; r < k::kCellMaxRows; ++r) carry[r] = r * H + u == cfg.directIndex(u) ? direct : T(0);
          for (int kk = 0; kk < gates; ++kk) ghhStep[kk * H + u] = stage[kk * H + u];
        }
        __syncthreads();
        // cellAddHhCarry on registers: carry[row u] += Σ_rows Whh[row, u] · ghh[row].
        if (active) {
          T acc = T(0);
          for (int64_t row = 0; row < G; ++row) acc += Whh[row * H + u] * stage[row];
          carry[0] += acc;
        }
        __syncthreads();  // the next step overwrites the staged ghh
      }
    }
#pragma unroll
    for (int j = 0; j < P; ++j) cur[j] = next[j];
  }
  if (active)
    for (int r = 0; r < rows; ++r) gy0[b * n + r * H + u] = carry[r];
}

// A kernel of its own for the same reason as cellSequentialOneUnitKernel (167
// registers for float32, 193 for float64). The launch bounds' minimum of one
// block per SM lets ptxas use them: without it, it held float32 to 128 and spilled.
template <typename T>
static __global__ void __launch_bounds__(kCellBlock, 1)
    cellBackwardWalkOneUnitKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                                  const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0,
                                  const T* __restrict__ y, const T* __restrict__ g, T* gxp, T* ghh, T* gy0) {
  T* stage = reinterpret_cast<T*>(cellShared);
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x)
    cellBackwardWalkOneUnit<T>(cfg, xp, Whh, WhhT, bhh, y0, y, g, gxp, ghh, gy0, b, stage);
}

template <typename T>
static __global__ void __launch_bounds__(kCellBlock)
    cellBackwardWalkKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                           const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0,
                           const T* __restrict__ y, const T* __restrict__ g, T* gxp, T* ghh, T* gy0, bool staged) {
  T* stage = reinterpret_cast<T*>(cellShared);
  const int64_t n = cfg.n(), H = cfg.H, gates = cfg.gatesPerUnit();
  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) {
    T* carry = gy0 + b * n;  // each thread reads and writes only its own units' rows
    for (int64_t u = threadIdx.x; u < H; u += blockDim.x) k::cellSeedCarry(cfg, carry, u, T(0));
    for (int64_t t = cfg.T - 1; t >= 0; --t) {
      const T* prev = k::cellPrevState(cfg, y0, y, t, b);
      T* ghhStep = ghh + cfg.gateAt(t, b);
      T* ghhRead = staged ? stage : ghhStep;
      for (int64_t u = threadIdx.x; u < H; u += blockDim.x) {
        T lam[k::kCellMaxRows];
        k::cellUnitLambda(cfg, g + cfg.stateAt(t, b), carry, u, lam);
        const T direct = k::cellBackwardUnit<T>(cfg, xp + cfg.gateAt(t, b), Whh, bhh, prev, lam, u,
                                             gxp + cfg.gateAt(t, b), ghhRead, WhhT);
        k::cellSeedCarry(cfg, carry, u, direct);
        if (staged)
          for (int64_t kk = 0; kk < gates; ++kk) ghhStep[kk * H + u] = stage[kk * H + u];
      }
      __syncthreads();
      for (int64_t u = threadIdx.x; u < H; u += blockDim.x) k::cellAddHhCarry(cfg, Whh, ghhRead, carry, u);
      __syncthreads();  // the next step overwrites the staged ghh
    }
  }
}

// λ is given: gxp, ghh of every (t, b, u); step 0 also seeds gy0 with its direct part.
template <typename T>
static __global__ void __launch_bounds__(kBlockSize)
    cellAdjointKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                      const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0,
                      const T* __restrict__ y, const T* __restrict__ lambda, T* gxp, T* ghh, T* gy0) {
  const int64_t total = cfg.T * cfg.B * cfg.H;
  for (int64_t i = gridStart(); i < total; i += gridStride()) {
    const int64_t step = i / cfg.H, u = i - step * cfg.H;
    const int64_t t = step / cfg.B, b = step - t * cfg.B;
    T lam[k::kCellMaxRows];
    k::cellUnitLambda<T>(cfg, lambda + cfg.stateAt(t, b), nullptr, u, lam);
    const T direct = k::cellBackwardUnit<T>(cfg, xp + cfg.gateAt(t, b), Whh, bhh, k::cellPrevState(cfg, y0, y, t, b),
                                         lam, u, gxp + cfg.gateAt(t, b), ghh + cfg.gateAt(t, b), WhhT);
    if (t == 0) k::cellSeedCarry(cfg, gy0 + b * cfg.n(), u, direct);
  }
}

// gy0 += Whhᵀ·ghh_0 per (b, u), after cellAdjointKernel.
template <typename T>
static __global__ void __launch_bounds__(kBlockSize)
    cellAdjointCarryKernel(k::CellConfig cfg, const T* __restrict__ Whh, const T* __restrict__ ghh, T* gy0) {
  const int64_t total = cfg.B * cfg.H;
  for (int64_t i = gridStart(); i < total; i += gridStride()) {
    const int64_t b = i / cfg.H, u = i - b * cfg.H;
    k::cellAddHhCarry(cfg, Whh, ghh + cfg.gateAt(0, b), gy0 + b * cfg.n(), u);
  }
}

// ---------------------------------------------------------------- grid walks (see the top)

// Batch elements a grid-walk item takes: each lane's Whh values serve this many dot products.
constexpr int kCellGridBatch = 4;
// From this hidden size on, the walks run over the grid (the block walks were measured on par with
// cuDNN at H = 256 and 20–25× slower at 512; sizes between are not measured).
constexpr int64_t kCellGridMinH = 257;
constexpr int kCellWarps = kCellBlock / 32;
static_assert(kCellGridBatch <= 32, "an item's batch elements are owned by lanes of its warp");

template <typename T>
__device__ __forceinline__ T cellWarpSum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The items (u, batch group) of this block: a contiguous range, so that a block's warps share few
// units' rows of Whh (in L1).
struct CellGridItems {
  int64_t lo, hi, groups;
};
__device__ __forceinline__ CellGridItems cellGridItems(const k::CellConfig& cfg) {
  const int64_t groups = (cfg.B + kCellGridBatch - 1) / kCellGridBatch, items = cfg.H * groups;
  return {items * blockIdx.x / gridDim.x, items * (blockIdx.x + 1) / gridDim.x, groups};
}

// acc[q][k] = Σ_j Whh[k·H + u, j] · prev_q[j] for the item's batch elements b0 + q (clamped to the
// last), summed over the warp: every lane gets the sums. Every lane of the block calls it (the
// shuffles), `active` or not; an inactive warp reads unit 0's rows.
template <typename T>
__device__ __forceinline__ void cellGridDots(const k::CellConfig& cfg, const T* __restrict__ Whh, const T* y0,
                                             const T* y, int64_t t, int64_t u, int64_t b0, int lane,
                                             T (&acc)[kCellGridBatch][k::kCellMaxGates]) {
  const int64_t H = cfg.H;
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  const T* prev[kCellGridBatch];
#pragma unroll
  for (int q = 0; q < kCellGridBatch; ++q) {
    prev[q] = k::cellPrevState(cfg, y0, y, t, b0 + q < cfg.B ? b0 + q : cfg.B - 1);
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk) acc[q][kk] = T(0);
  }
  for (int64_t j = lane; j < H; j += 32) {
    T w[k::kCellMaxGates];
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk) w[kk] = kk < gates ? Whh[(kk * H + u) * H + j] : T(0);
#pragma unroll
    for (int q = 0; q < kCellGridBatch; ++q) {
      const T h = prev[q][j];
#pragma unroll
      for (int kk = 0; kk < k::kCellMaxGates; ++kk)
        if (kk < gates) acc[q][kk] += w[kk] * h;
    }
  }
#pragma unroll
  for (int q = 0; q < kCellGridBatch; ++q)
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk)
      if (kk < gates) acc[q][kk] = cellWarpSum(acc[q][kk]);
}

// Lane q < kCellGridBatch of an item's warp owns batch element b0 + q (in every phase and step);
// the others, and lanes past the batch, take b0's or the last one's for their loads (in bounds,
// unused). Inactive warps own nothing.
struct CellGridLane {
  int64_t b;
  bool owns;
};
__device__ __forceinline__ CellGridLane cellGridLane(const k::CellConfig& cfg, bool active, int64_t b0, int lane) {
  const int64_t b = b0 + (lane < kCellGridBatch ? lane : 0);
  return {b < cfg.B ? b : cfg.B - 1, active && lane < kCellGridBatch && b < cfg.B};
}

// The warp's item at `base` of the block's range: its unit u and first batch element b0 (an
// inactive warp, past the range: unit 0, batch element 0), and the lane's batch element.
struct CellGridItem {
  int64_t u, b0;
  CellGridLane me;
};
__device__ __forceinline__ CellGridItem cellGridItem(const k::CellConfig& cfg, const CellGridItems& it, int64_t base,
                                                     int warp, int lane) {
  const int64_t item = base + warp;
  const bool active = item < it.hi;
  CellGridItem i;
  i.u = active ? item / it.groups : 0;
  i.b0 = active ? (item % it.groups) * kCellGridBatch : 0;
  i.me = cellGridLane(cfg, active, i.b0, lane);
  return i;
}

// Unit u's inputs at step t of batch element b but its dot products (wh = 0; see cellLoadUnit),
// loaded before them so that the loads' latency overlaps theirs.
template <typename T>
__device__ __forceinline__ k::CellUnitIn<T> cellGridUnitIn(const k::CellConfig& cfg, const T* __restrict__ xp,
                                                          const T* __restrict__ bhh, const T* prev, int64_t t,
                                                          int64_t b, int64_t u) {
  k::CellUnitIn<T> in;
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  const T* xs = xp + cfg.gateAt(t, b);
#pragma unroll
  for (int kk = 0; kk < k::kCellMaxGates; ++kk) {
    const bool used = kk < gates;
    in.xp[kk] = used ? xs[kk * cfg.H + u] : T(0);
    in.wh[kk] = T(0);
    in.bh[kk] = used && bhh ? bhh[kk * cfg.H + u] : T(0);
  }
  in.h = prev[u];
  in.c = cfg.kind == k::CellKind::Lstm ? prev[cfg.H + u] : T(0);
  return in;
}

// The lane's own entry of the warp's sums: dst = src[lane] (lanes past the batch group: src[0]).
template <typename T, int N>
__device__ __forceinline__ void cellGridOwn(int lane, const T (&src)[kCellGridBatch][N], T (&dst)[N]) {
#pragma unroll
  for (int kk = 0; kk < N; ++kk) dst[kk] = src[0][kk];
#pragma unroll
  for (int q = 1; q < kCellGridBatch; ++q)
    if (lane == q)
#pragma unroll
      for (int kk = 0; kk < N; ++kk) dst[kk] = src[q][kk];
}

// The forward grid walk. y is read as well as written (other blocks' steps): no __restrict__, no
// read-only loads.
template <typename T>
static __global__ void __launch_bounds__(kCellBlock)
    cellSequentialGridKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                             const T* __restrict__ bhh, const T* __restrict__ y0, T* y) {
  const CellGridItems it = cellGridItems(cfg);
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  const int rows = static_cast<int>(cfg.rowsPerUnit());
  for (int64_t t = 0; t < cfg.T; ++t) {
    for (int64_t base = it.lo; base < it.hi; base += kCellWarps) {  // the same count for every warp of the block
      const CellGridItem i = cellGridItem(cfg, it, base, warp, lane);
      k::CellUnitIn<T> in = cellGridUnitIn<T>(cfg, xp, bhh, k::cellPrevState(cfg, y0, y, t, i.me.b), t, i.me.b, i.u);
      T acc[kCellGridBatch][k::kCellMaxGates];
      cellGridDots<T>(cfg, Whh, y0, y, t, i.u, i.b0, lane, acc);
      cellGridOwn<T, k::kCellMaxGates>(lane, acc, in.wh);
      if (i.me.owns) {
        const k::CellUnitLinear<T> L = k::cellUnitLinearize(cfg.kind, in);
        T* out = y + cfg.stateAt(t, i.me.b);
        for (int r = 0; r < rows; ++r) out[r * cfg.H + i.u] = L.next[r];
      }
    }
    cooperative_groups::this_grid().sync();
  }
}

// The backward grid walk (adjoint off). gy0 holds the carry of every (b, unit) during the walk, each
// read and written only by the lane that owns it; ghh is read back in each step's second phase
// (other blocks' units).
template <typename T>
static __global__ void __launch_bounds__(kCellBlock)
    cellBackwardGridKernel(k::CellConfig cfg, const T* __restrict__ xp, const T* __restrict__ Whh,
                           const T* __restrict__ WhhT, const T* __restrict__ bhh, const T* __restrict__ y0,
                           const T* __restrict__ y, const T* __restrict__ g, T* gxp, T* ghh, T* gy0) {
  const CellGridItems it = cellGridItems(cfg);
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  const int64_t G = cfg.G(), n = cfg.n();
  for (int64_t base = it.lo; base < it.hi; base += kCellWarps) {
    const CellGridItem i = cellGridItem(cfg, it, base, warp, lane);
    if (i.me.owns) k::cellSeedCarry(cfg, gy0 + i.me.b * n, i.u, T(0));
  }
  for (int64_t t = cfg.T - 1; t >= 0; --t) {
    for (int64_t base = it.lo; base < it.hi; base += kCellWarps) {
      const CellGridItem i = cellGridItem(cfg, it, base, warp, lane);
      T* carry = gy0 + i.me.b * n;
      T lam[k::kCellMaxRows];
      k::cellUnitLambda(cfg, g + cfg.stateAt(t, i.me.b), carry, i.u, lam);
      k::CellUnitIn<T> in = cellGridUnitIn<T>(cfg, xp, bhh, k::cellPrevState(cfg, y0, y, t, i.me.b), t, i.me.b, i.u);
      T acc[kCellGridBatch][k::kCellMaxGates];
      cellGridDots<T>(cfg, Whh, y0, y, t, i.u, i.b0, lane, acc);
      cellGridOwn<T, k::kCellMaxGates>(lane, acc, in.wh);
      if (i.me.owns) {
        const T direct = k::cellBackwardFromIn(cfg, in, lam, i.u, gxp + cfg.gateAt(t, i.me.b), ghh + cfg.gateAt(t, i.me.b));
        k::cellSeedCarry(cfg, carry, i.u, direct);
      }
    }
    cooperative_groups::this_grid().sync();
    // carry[b, u] += Σ_rows Whh[row, u] · ghh_t[b, row]: WhhT's row u, lanes over the G rows.
    for (int64_t base = it.lo; base < it.hi; base += kCellWarps) {
      const CellGridItem i = cellGridItem(cfg, it, base, warp, lane);
      T acc[kCellGridBatch][1];
      const T* gs[kCellGridBatch];
#pragma unroll
      for (int q = 0; q < kCellGridBatch; ++q) {
        acc[q][0] = T(0);
        gs[q] = ghh + cfg.gateAt(t, i.b0 + q < cfg.B ? i.b0 + q : cfg.B - 1);
      }
      for (int64_t row = lane; row < G; row += 32) {
        const T w = WhhT[i.u * G + row];
#pragma unroll
        for (int q = 0; q < kCellGridBatch; ++q) acc[q][0] += w * gs[q][row];
      }
#pragma unroll
      for (int q = 0; q < kCellGridBatch; ++q) acc[q][0] = cellWarpSum(acc[q][0]);
      T mine[1];
      cellGridOwn<T, 1>(lane, acc, mine);
      if (i.me.owns) gy0[i.me.b * n + i.u] += mine[0];
    }
  }
}

// ANTLER_CELL_WALK: "grid" or "block" asks for a walk kind; else (unset, "auto", anything else, which
// lib/native.ts warns about) wide layers take the grid walk. The grid walk needs a device that takes
// cooperative launches and holds the grid at once; where it does not, the block walk runs.
static bool cellGridWalkWanted(const k::CellConfig& cfg) {
  const char* env = std::getenv("ANTLER_CELL_WALK");
  if (env != nullptr && std::strcmp(env, "grid") == 0) return true;
  if (env != nullptr && std::strcmp(env, "block") == 0) return false;
  return cfg.H >= kCellGridMinH;
}

// The blocks of a grid walk (all resident: a cooperative launch), or 0 where it does not run (not
// wanted, or the device takes no cooperative launch).
template <typename Kernel>
static unsigned cellGridBlocks(const Context& ctx, Kernel kernel, const k::CellConfig& cfg) {
  if (!cellGridWalkWanted(cfg)) return 0;
  int cooperative = 0, perSm = 0;
  ANTLER_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, ctx.device));
  if (cooperative == 0) return 0;
  ANTLER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, kCellBlock, 0));
  const int64_t items = cfg.H * ((cfg.B + kCellGridBatch - 1) / kCellGridBatch);
  const int64_t needed = (items + kCellWarps - 1) / kCellWarps, resident = static_cast<int64_t>(perSm) * ctx.multiprocessors;
  return static_cast<unsigned>(needed < resident ? needed : resident);
}

template <typename T>
static void launchLinearize(Context& ctx, const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in,
                            void* f, void* J, void* bOff) {
  const TransposedWeights<T> WhhT(ctx, cfg, static_cast<const T*>(in.Whh));
  const int64_t units = cfg.T * cfg.B * cfg.H;
  const bool twoPass = jac == k::CellJacobian::Dense && cfg.n() >= kCoefficientMinN;
  std::unique_ptr<PoolBuffer> coef;
  if (twoPass) coef = std::make_unique<PoolBuffer>(ctx, static_cast<size_t>(units * cfg.coefficientsPerUnit()) * sizeof(T));
  T* coefPtr = twoPass ? static_cast<T*>(coef->get()) : nullptr;
  cellLinearizeKernel<T><<<gridFor(ctx, units), kBlockSize, 0, ctx.stream>>>(
      cfg, jac, static_cast<const T*>(in.xp), static_cast<const T*>(in.Whh), WhhT.get(), static_cast<const T*>(in.bhh),
      static_cast<const T*>(in.y0), static_cast<const T*>(in.y), static_cast<T*>(f), static_cast<T*>(J),
      static_cast<T*>(bOff), coefPtr);
  ANTLER_LAUNCH_CHECK("cellLinearize");
  if (twoPass) {
    cellJacobianFillKernel<T><<<gridFor(ctx, cfg.T * cfg.B * cfg.n() * 32), kBlockSize, 0, ctx.stream>>>(
        cfg, coefPtr, static_cast<const T*>(in.Whh), static_cast<T*>(J));
    ANTLER_LAUNCH_CHECK("cellLinearize (dense J)");
  }
}

template <typename T>
static void launchSequential(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, void* y) {
  if (const unsigned blocks = cellGridBlocks(ctx, cellSequentialGridKernel<T>, cfg); blocks > 0) {
    k::CellConfig c = cfg;
    auto xp = static_cast<const T*>(in.xp), Whh = static_cast<const T*>(in.Whh), bhh = static_cast<const T*>(in.bhh),
         y0 = static_cast<const T*>(in.y0);
    auto yOut = static_cast<T*>(y);
    void* args[] = {&c, &xp, &Whh, &bhh, &y0, &yOut};
    // Refused (cooperative.cuh): the block walks below.
    if (cooperativeLaunched(
            cudaLaunchCooperativeKernel(cellSequentialGridKernel<T>, dim3(blocks), dim3(kCellBlock), args, 0, ctx.stream),
            "cellSequential")) {
      ANTLER_LAUNCH_CHECK("cellSequential (grid walk)");
      return;
    }
  }
  const size_t bytes = 2 * static_cast<size_t>(cfg.n()) * sizeof(T);
  const bool staged = bytes <= kCellSharedLimit;
  const TransposedWeights<T> WhhT(ctx, cfg, static_cast<const T*>(in.Whh));
  if (staged && cfg.H <= cellThreads(cfg.H) &&
      oneUnitWalkPays(ctx, cellSequentialOneUnitKernel<T>, bytes, cellSequentialKernel<T>, bytes, cellThreads(cfg.H), cfg.B)) {
    cellSequentialOneUnitKernel<T><<<cellWalkGrid(cfg.B), cellThreads(cfg.H), bytes, ctx.stream>>>(
        cfg, static_cast<const T*>(in.xp), static_cast<const T*>(in.Whh), WhhT.get(), static_cast<const T*>(in.bhh),
        static_cast<const T*>(in.y0), static_cast<T*>(y));
  } else {
    cellSequentialKernel<T><<<cellWalkGrid(cfg.B), cellThreads(cfg.H), staged ? bytes : 0, ctx.stream>>>(
        cfg, static_cast<const T*>(in.xp), static_cast<const T*>(in.Whh), WhhT.get(), static_cast<const T*>(in.bhh),
        static_cast<const T*>(in.y0), static_cast<T*>(y), staged);
  }
  ANTLER_LAUNCH_CHECK("cellSequential");
}

template <typename T>
static void launchBackward(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, const void* g, bool adjoint,
                           void* gxp, void* ghh, void* gy0) {
  const T* xp = static_cast<const T*>(in.xp);
  const T* Whh = static_cast<const T*>(in.Whh);
  const T* bhh = static_cast<const T*>(in.bhh);
  const T* y0 = static_cast<const T*>(in.y0);
  const T* y = static_cast<const T*>(in.y);
  const TransposedWeights<T> WhhT(ctx, cfg, Whh);
  if (!adjoint) {
    if (const unsigned blocks = cellGridBlocks(ctx, cellBackwardGridKernel<T>, cfg); blocks > 0) {
      k::CellConfig c = cfg;
      const T* WhhTp = WhhT.get();
      auto gp = static_cast<const T*>(g);
      auto gxpP = static_cast<T*>(gxp), ghhP = static_cast<T*>(ghh), gy0P = static_cast<T*>(gy0);
      void* args[] = {&c, &xp, &Whh, &WhhTp, &bhh, &y0, &y, &gp, &gxpP, &ghhP, &gy0P};
      if (cooperativeLaunched(
              cudaLaunchCooperativeKernel(cellBackwardGridKernel<T>, dim3(blocks), dim3(kCellBlock), args, 0, ctx.stream),
              "cellBackward")) {
        ANTLER_LAUNCH_CHECK("cellBackward (grid walk)");
        return;
      }
    }
    // One unit per thread: the staged ghh [G] and two halves of the state [n] after it.
    const size_t oneUnitBytes = static_cast<size_t>(cfg.G() + 2 * cfg.n()) * sizeof(T);
    const size_t generalBytes = static_cast<size_t>(cfg.G()) * sizeof(T);
    if (cfg.H <= cellThreads(cfg.H) && oneUnitBytes <= kCellSharedLimit &&
        oneUnitWalkPays(ctx, cellBackwardWalkOneUnitKernel<T>, oneUnitBytes, cellBackwardWalkKernel<T>, generalBytes,
                        cellThreads(cfg.H), cfg.B)) {
      cellBackwardWalkOneUnitKernel<T><<<cellWalkGrid(cfg.B), cellThreads(cfg.H), oneUnitBytes, ctx.stream>>>(
          cfg, xp, Whh, WhhT.get(), bhh, y0, y, static_cast<const T*>(g), static_cast<T*>(gxp), static_cast<T*>(ghh),
          static_cast<T*>(gy0));
      ANTLER_LAUNCH_CHECK("cellBackward");
      return;
    }
    const size_t bytes = static_cast<size_t>(cfg.G()) * sizeof(T);
    const bool staged = bytes <= kCellSharedLimit;
    cellBackwardWalkKernel<T><<<cellWalkGrid(cfg.B), cellThreads(cfg.H), staged ? bytes : 0, ctx.stream>>>(
        cfg, xp, Whh, WhhT.get(), bhh, y0, y, static_cast<const T*>(g), static_cast<T*>(gxp), static_cast<T*>(ghh),
        static_cast<T*>(gy0), staged);
    ANTLER_LAUNCH_CHECK("cellBackward");
    return;
  }
  cellAdjointKernel<T><<<gridFor(ctx, cfg.T * cfg.B * cfg.H), kBlockSize, 0, ctx.stream>>>(
      cfg, xp, Whh, WhhT.get(), bhh, y0, y, static_cast<const T*>(g), static_cast<T*>(gxp), static_cast<T*>(ghh),
      static_cast<T*>(gy0));
  ANTLER_LAUNCH_CHECK("cellBackward");
  cellAdjointCarryKernel<T><<<gridFor(ctx, cfg.B * cfg.H), kBlockSize, 0, ctx.stream>>>(
      cfg, Whh, static_cast<const T*>(ghh), static_cast<T*>(gy0));
  ANTLER_LAUNCH_CHECK("cellBackward");
}

void cellLinearize(Context& ctx, DType t, const k::CellConfig& cfg, k::CellJacobian jac, const CellInputs& in,
                   void* f, void* J, void* bOff) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  switch (t) {
    case DType::Float32: return launchLinearize<float>(ctx, cfg, jac, in, f, J, bOff);
    case DType::Float64: return launchLinearize<double>(ctx, cfg, jac, in, f, J, bOff);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell linearize: dtype ", dtypeName(t), " is not supported");
}

void cellSequential(Context& ctx, DType t, const k::CellConfig& cfg, const CellInputs& in, void* y) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  switch (t) {
    case DType::Float32: return launchSequential<float>(ctx, cfg, in, y);
    case DType::Float64: return launchSequential<double>(ctx, cfg, in, y);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell: dtype ", dtypeName(t), " is not supported");
}

void cellBackward(Context& ctx, DType t, const k::CellConfig& cfg, const CellInputs& in, const void* g, bool adjoint,
                  void* gxp, void* ghh, void* gy0) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  switch (t) {
    case DType::Float32: return launchBackward<float>(ctx, cfg, in, g, adjoint, gxp, ghh, gy0);
    case DType::Float64: return launchBackward<double>(ctx, cfg, in, g, adjoint, gxp, ghh, gy0);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell backward: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
