// The fused DEER solve on the GPU (kernels/deer_fused.h): every Newton
// iteration of a sequence in one launch, so an iteration costs no launches, no
// host round trip and no [T, n, n] Jacobian in memory.
//
// A sequence runs on one block, or (small batches: a cooperative launch, see
// fusedLaunch) on K blocks, each owning a segment of ⌊T / K⌋ or ⌈T / K⌉ steps. A block's
// kFusedBlock threads form C groups of S lanes (S the smallest power of two
// >= H, at most a warp); group c owns chunk c of the block's segment
// (len = ⌈segment / C⌉ steps), lane u owns unit u (its state rows u and, for
// the LSTM, H + u). Idle lanes (u >= H) compute unit 0's values and write
// nothing, so every lane takes every shuffle. An iteration:
//   A. Each group walks its chunk at the iterate y: the unit's linearization
//      (f, J's coefficients; Whh's transpose in shared memory), e = f − y, the
//      residual and scale, and the chunk's composed map δ_out = M δ_in + m
//      (dense: M's rows, a row per lane, composed with J's rows through
//      shuffles; quasi: M diagonal, per lane). Maps go to the block's shared
//      memory after Whhᵀ (global scratch where they do not fit the device).
//      The block's maxima of the residual and scale (warp shuffles, then the
//      warps'); the chunks' maps scanned (fusedScanChunks: each becomes the
//      composition of all up to it; the last is the segment's map).
//   B. Judged (deerJudge) by the block, or with K blocks, after a grid
//      barrier, from every segment's maxima by every block alike (each judges
//      every sequence of the grid, so all leave the loop together).
//   C. Each group's starting δ: the segment's (δ = 0 at the sequence's start
//      through the maps of the segments before), then through the composed
//      map of the chunks before its own.
//   D. Each group walks its chunk again from that δ, recomputing the
//      linearization (no per-step storage), δ_t = J_t δ_{t−1} + e_t, and
//      writes y_t + δ_t to the other buffer; a barrier (grid-wide with K
//      blocks: the next linearization reads across segments).
// Steps past the segment's end (the last chunk's padding) are identity steps:
// the loops run the same count on every lane, as the shuffles need.
//
// Limits (kernels/deer_fused.h): dense for n <= kDeerFusedMaxDenseN (a row of
// M per lane in registers), quasi for H <= kDeerFusedMaxHidden.
//
// deerAdjointKernel: the gradient's adjoint λ_t = g_t + J_{t+1}ᵀ λ_{t+1} in
// one launch, the same blocks, segments, groups and chunks walking down (see
// there).
#include "../kernels/cells.h"
#include "../kernels/deer_fused.h"
#include "cooperative.cuh"
#include "ops.cuh"

#include <cooperative_groups.h>

namespace antler::cuda {

namespace k = kernels;

constexpr int kFusedBlock = 256;
// Steps of a quasi chunk walk unrolled together (see phase A).
constexpr int kFusedUnroll = 4;

extern __shared__ __align__(16) unsigned char fusedShared[];

// Lanes per group: the smallest power of two covering H (H <= 32).
static int fusedGroup(int64_t H) {
  int s = 1;
  while (s < H) s *= 2;
  return s;
}

// Values of one chunk's map in scratch: dense M [n, n] then m [n]; quasi diag(M) [n] then m [n].
__host__ __device__ inline int64_t fusedMapSize(bool dense, int64_t n) { return dense ? n * n + n : 2 * n; }

// Unit uu's linearization at step tc of sequence b, from the iterate yOld.
template <typename T>
__device__ __forceinline__ k::CellUnitLinear<T> fusedLinearize(const k::CellConfig& cfg, const T* __restrict__ xp,
                                                               const T* __restrict__ WhhT, const T* __restrict__ bhh,
                                                               const T* __restrict__ y0b, const T* yOld, int64_t tc,
                                                               int64_t b, int64_t uu, k::CellUnitIn<T>& in) {
  const T* prev = tc == 0 ? y0b : yOld + cfg.stateAt(tc - 1, b);
  in = k::cellLoadUnit<T>(cfg, xp + cfg.gateAt(tc, b), nullptr, bhh, prev, uu, WhhT);
  return k::cellUnitLinearize(cfg.kind, in);
}

// A thread's place in the block: group (chunk) c of C, lane u, the unit it
// computes (uu: unit 0 for an idle lane), its chunk's first step and length
// within the block's segment [s0, s1) of the sequence (steps past s1 are the
// identity).
struct FusedLane {
  int C, c, u;
  bool active;
  int64_t uu, len, t0, s0, s1;
};
__device__ __forceinline__ FusedLane fusedLane(const k::CellConfig& cfg, int S, int64_t s0, int64_t s1) {
  FusedLane l;
  l.C = kFusedBlock / S;
  l.c = static_cast<int>(threadIdx.x) / S;
  l.u = static_cast<int>(threadIdx.x) - l.c * S;
  l.active = l.u < cfg.H;
  l.uu = l.active ? l.u : 0;
  l.s0 = s0;
  l.s1 = s1;
  l.len = (s1 - s0 + l.C - 1) / l.C;
  l.t0 = s0 + l.c * l.len;
  return l;
}

// out = M v + m for a dense chunk map at `map` (M [n, n] then m [n]), v and out distributed as the
// state (this lane's rows r·H + uu); every lane of the group takes the shuffles.
template <typename T, int ROWS, int HM>
__device__ __forceinline__ void fusedApplyMap(const T* map, int64_t n, int64_t H, int64_t uu, int S,
                                              const T (&v)[ROWS], T (&out)[ROWS]) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) out[r] = map[n * n + r * H + uu];
#pragma unroll
  for (int rr = 0; rr < ROWS; ++rr)
#pragma unroll
    for (int col = 0; col < HM; ++col) {
      if (col >= H) break;
      const T x = __shfl_sync(0xffffffffu, v[rr], col, S);
#pragma unroll
      for (int r = 0; r < ROWS; ++r) out[r] += map[(r * H + uu) * n + rr * H + col] * x;
    }
}

// Whh's transpose WhhT [H, G] into the block's shared memory, then a barrier.
template <typename T>
__device__ __forceinline__ void fusedLoadWeights(const T* __restrict__ Whh, T* WhhT, int64_t G, int64_t H) {
  for (int64_t e = threadIdx.x; e < G * H; e += blockDim.x) {
    const int64_t col = e / G, row = e - col * G;
    WhhT[e] = Whh[row * H + col];
  }
  __syncthreads();
}

// The block's chunk maps, two buffers of C maps (fusedScanChunks): in shared memory after Whhᵀ
// [H, G] when `global` is null, else this block's part of the global scratch.
template <typename T>
__device__ __forceinline__ T* fusedMaps(T* WhhT, T* global, int64_t G, int64_t H, int C, int64_t mapSize) {
  return global != nullptr ? global + static_cast<int64_t>(blockIdx.x) * 2 * C * mapSize : WhhT + G * H;
}

// out = map(v) for a chunk map at `map` (dense: fusedApplyMap; quasi: diagonal M, then m), v and
// out distributed as the state (this lane's rows r·H + uu).
template <typename T, bool Dense, int ROWS, int NMAX>
__device__ __forceinline__ void fusedApply(const T* map, int64_t n, int64_t H, int64_t uu, int S, const T (&v)[ROWS],
                                           T (&out)[ROWS]) {
  constexpr int HM = NMAX / ROWS > 0 ? NMAX / ROWS : 1;
  if (Dense) {
    fusedApplyMap<T, ROWS, HM>(map, n, H, uu, S, v, out);
  } else {
#pragma unroll
    for (int r = 0; r < ROWS; ++r) out[r] = map[r * H + uu] * v[r] + map[n + r * H + uu];
  }
}

// A Kogge–Stone scan over the chunks' maps out = M in + m in `maps` (written by every group's
// active lanes, then a barrier), log2 C levels, each replacing a chunk's map by its composition
// with the map d chunks before it (after it, Down), from one buffer into the other (`spare`, of
// the same size): returns the buffer where each chunk's map is the composition of its own and all
// before it (after it, Down), the last (first) chunk's the block's whole segment. A lane composes
// its rows r·H + uu (dense: row · n×n; quasi: its diagonal entries) reading both maps from the
// buffer, so no map lives in registers. Every thread of the block calls it (barriers).
template <typename T, bool Dense, int ROWS, bool Down>
__device__ __forceinline__ T* fusedScanChunks(T* maps, T* spare, const FusedLane& lane, int64_t n, int64_t H) {
  const int C = lane.C, c = lane.c;
  const int64_t ms = fusedMapSize(Dense, n), off = Dense ? n * n : n;
  T* src = maps;
  T* dst = spare;
  for (int d = 1; d < C; d *= 2) {
    const int p = Down ? c + d : c - d;
    const bool has = Down ? p < C : p >= 0;
    const T* mine = src + c * ms;
    const T* pm = src + (has ? p : c) * ms;
    T* out = dst + c * ms;
    if (lane.active) {
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        const int64_t s = r * H + lane.uu;
        if (Dense) {
          // Row s of (own ∘ partner): M_own M_p and M_own m_p + m_own.
          T mOut = mine[off + s];
          if (has)
            for (int64_t kk = 0; kk < n; ++kk) mOut += mine[s * n + kk] * pm[n * n + kk];
          for (int64_t j = 0; j < n; ++j) {
            T acc = T(0);
            if (has) {
              for (int64_t kk = 0; kk < n; ++kk) acc += mine[s * n + kk] * pm[kk * n + j];
            } else {
              acc = mine[s * n + j];
            }
            out[s * n + j] = acc;
          }
          out[off + s] = mOut;
        } else {
          out[s] = has ? mine[s] * pm[s] : mine[s];
          out[off + s] = has ? mine[s] * pm[off + s] + mine[off + s] : mine[off + s];
        }
      }
    }
    __syncthreads();
    T* swap = src;
    src = dst;
    dst = swap;
  }
  return src;
}

// The value entering the block's segment `seg` of K (a cooperative grid): forward, δ at its start
// from δ = 0 at the sequence's start through the maps of the segments before it; Down, λ after it
// from λ = 0 past the end through those after it. segMaps holds the sequence's K segment maps. Every
// lane of the group calls it (shuffles): all walk the same K − 1 maps, keeping those that apply.
template <typename T, bool Dense, int ROWS, int NMAX, bool Down>
__device__ __forceinline__ void fusedSegmentStart(const T* segMaps, int K, int seg, int64_t n, int64_t H, int64_t uu,
                                                  int S, T (&start)[ROWS]) {
  const int64_t ms = fusedMapSize(Dense, n);
#pragma unroll
  for (int r = 0; r < ROWS; ++r) start[r] = T(0);
  for (int i = 0; i + 1 < K; ++i) {
    const int q = Down ? K - 1 - i : i;
    T nd[ROWS];
    fusedApply<T, Dense, ROWS, NMAX>(segMaps + q * ms, n, H, uu, S, start, nd);
    const bool take = Down ? q > seg : q < seg;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) start[r] = take ? nd[r] : start[r];
  }
}

// The value entering this group's chunk after fusedScanChunks, from `seg`, the value entering the
// block's segment: forward, δ at the chunk's start (the composed map of the chunks before it
// applied to seg); Down, λ after the chunk (the chunks after it). Every lane of the group calls it.
template <typename T, bool Dense, int ROWS, int NMAX, bool Down>
__device__ __forceinline__ void fusedChunkStart(const T* maps, const FusedLane& lane, int64_t n, int64_t H, int S,
                                                const T (&seg)[ROWS], T (&start)[ROWS]) {
  const int q = Down ? lane.c + 1 : lane.c - 1;
  const bool in = Down ? q < lane.C : q >= 0;
  T out[ROWS];
  fusedApply<T, Dense, ROWS, NMAX>(maps + (in ? q : lane.c) * fusedMapSize(Dense, n), n, H, lane.uu, S, seg, out);
#pragma unroll
  for (int r = 0; r < ROWS; ++r) start[r] = in ? out[r] : seg[r];
}

// Rows of unit uu's J on the hidden columns col < H (direct term included for
// the GRU and RNN, whose direct column is uu): Jrow[r][col].
template <typename T, int ROWS, int HM>
__device__ __forceinline__ void fusedJacobianRows(const k::CellConfig& cfg, const k::CellUnitLinear<T>& L,
                                                  const T* __restrict__ WhhT, int64_t uu, T (&Jrow)[ROWS][HM]) {
  const int64_t H = cfg.H, G = cfg.G();
  const int gates = static_cast<int>(cfg.gatesPerUnit());
#pragma unroll
  for (int r = 0; r < ROWS; ++r)
#pragma unroll
    for (int col = 0; col < HM; ++col) {
      T acc = T(0);
      if (col < H) {
#pragma unroll
        for (int kk = 0; kk < k::kCellMaxGates; ++kk)
          if (kk < gates) acc += L.dhh[r][kk] * WhhT[col * G + kk * H + uu];
        if (ROWS == 1 && col == uu) acc += L.direct[r];
      }
      Jrow[r][col] = acc;
    }
}

// The fused solve's dynamic shared memory (bytes): the warps' maxima of the residual, scale and excess,
// the judgement of `judged` sequences (the block's own; in a cooperative grid every block judges
// every sequence, alike: their states, last residuals and codes), then Whhᵀ [H, G] and, where
// they fit, the chunk maps.
struct FusedSharedLayout {
  size_t judges, lastRes, codes, weights;
};
__host__ __device__ inline size_t fusedAlign16(size_t v) { return (v + 15) / 16 * 16; }
__host__ __device__ inline FusedSharedLayout fusedSharedLayout(int64_t judged) {
  FusedSharedLayout l;
  l.judges = fusedAlign16(3 * (kFusedBlock / 32) * sizeof(double));
  l.lastRes = l.judges + fusedAlign16(static_cast<size_t>(judged) * sizeof(k::DeerJudge));
  l.codes = l.lastRes + fusedAlign16(static_cast<size_t>(judged) * sizeof(double));
  l.weights = l.codes + fusedAlign16(static_cast<size_t>(judged) * sizeof(int));
  return l;
}

// A grid-wide barrier (cooperative launches only).
__device__ __forceinline__ void fusedGridSync() { cooperative_groups::this_grid().sync(); }

template <typename T, bool Dense, int ROWS, int NMAX>
static __global__ void __launch_bounds__(kFusedBlock, 1)
    deerFusedKernel(k::CellConfig cfg, k::DeerFusedParams p, int S, int K, const T* __restrict__ xp,
                    const T* __restrict__ Whh, const T* __restrict__ bhh, const T* __restrict__ y0,
                    const T* __restrict__ guess, T* yOut, T* yScratch, T* mapsGlobal, T* segMaps, double* parts,
                    double* __restrict__ status) {
  constexpr int HM = NMAX / ROWS > 0 ? NMAX / ROWS : 1;
  constexpr int kWarps = kFusedBlock / 32;
  constexpr int kRunning = static_cast<int>(k::DeerFusedCode::Running);
  // K segments per sequence (a cooperative launch of B·K blocks) or one (blocks loop over sequences).
  const bool coop = K > 1;
  const int64_t judged = coop ? cfg.B : 1;
  const FusedSharedLayout layout = fusedSharedLayout(judged);
  double* red = reinterpret_cast<double*>(fusedShared);  // [kWarps] residuals, [kWarps] scales, [kWarps] excesses
  k::DeerJudge* judges = reinterpret_cast<k::DeerJudge*>(fusedShared + layout.judges);
  double* lastRes = reinterpret_cast<double*>(fusedShared + layout.lastRes);
  int* codes = reinterpret_cast<int*>(fusedShared + layout.codes);
  T* WhhT = reinterpret_cast<T*>(fusedShared + layout.weights);
  const int64_t H = cfg.H, G = cfg.G(), n = cfg.n(), steps = cfg.T;
  const int tid = static_cast<int>(threadIdx.x);
  const int seg = coop ? static_cast<int>(blockIdx.x % K) : 0;
  const int64_t s0 = seg * steps / K, s1 = (seg + 1) * steps / K;  // K segments within a step of each other
  const FusedLane lane = fusedLane(cfg, S, s0, s1);
  const int C = lane.C;
  const bool active = lane.active;
  const int64_t uu = lane.uu, len = lane.len, t0 = lane.t0;
  const int64_t mapSize = fusedMapSize(Dense, n);
  T* myMaps = fusedMaps(WhhT, mapsGlobal, G, H, C, mapSize);
  fusedLoadWeights(Whh, WhhT, G, H);

  for (int64_t b = coop ? blockIdx.x / K : blockIdx.x; b < cfg.B; b += coop ? cfg.B : gridDim.x) {
    const T* y0b = y0 + b * n;
    const int64_t me = coop ? b : 0;  // this sequence's judgement
    for (int64_t e = tid; e < (s1 - s0) * n; e += kFusedBlock) {
      const int64_t t = s0 + e / n, s = e % n;
      yOut[cfg.stateAt(t, b) + s] = guess[cfg.stateAt(t, b) + s];
    }
    for (int64_t j = tid; j < judged; j += kFusedBlock) {
      judges[j] = k::DeerJudge{};
      lastRes[j] = 0;
      codes[j] = kRunning;
    }
    if (coop)
      fusedGridSync();  // every segment's guess in place: a chunk's first step reads the one before it
    else
      __syncthreads();
    T* yOld = yOut;
    T* yNew = yScratch;
    T* scanned = myMaps;  // the buffer holding the scanned maps
    // Step i of the group's chunk at the iterate: whether it lies in the segment (steps past it are
    // the identity), its index (clamped into the segment) and the unit's linearization there.
    const auto stepAt = [&](int64_t i, bool& live, int64_t& tc, k::CellUnitIn<T>& in) {
      const int64_t t = t0 + i;
      live = t < s1;
      tc = live ? t : s1 - 1;
      return fusedLinearize<T>(cfg, xp, WhhT, bhh, y0b, yOld, tc, b, uu, in);
    };
    for (;;) {
      if (codes[me] == kRunning) {
        // A: the chunk's map and the residual at the iterate.
        T M[ROWS][NMAX], m[ROWS], dg[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
          m[r] = T(0);
          dg[r] = T(1);
          if (Dense)
#pragma unroll
            for (int j = 0; j < NMAX; ++j) M[r][j] = j == r * H + uu ? T(1) : T(0);
        }
        double myRes = 0, myScale = 0, myExcess = -HUGE_VAL;
        // Steps are independent but for the map's short chain: unrolled, one step's loads and
        // linearization overlap the next's (the dense composition is too large in registers for it).
#pragma unroll(Dense ? 1 : kFusedUnroll)
        for (int64_t i = 0; i < len; ++i) {
          bool live;
          int64_t tc;
          k::CellUnitIn<T> in;
          const k::CellUnitLinear<T> L = stepAt(i, live, tc, in);
          T e[ROWS];
#pragma unroll
          for (int r = 0; r < ROWS; ++r) {
            const T f = L.next[r];
            e[r] = live ? f - yOld[cfg.stateAt(tc, b) + r * H + uu] : T(0);
            if (live && active) {
              myRes = fmax(myRes, static_cast<double>(k::deerAbsOrInf(e[r])));
              myScale = fmax(myScale, static_cast<double>(k::deerAbsOrInf(f)));
              myExcess = fmax(myExcess, k::deerExcessOrInf(e[r], f, p.rtol));
            }
          }
          if (Dense) {
            T Jrow[ROWS][HM];
            fusedJacobianRows<T, ROWS, HM>(cfg, L, WhhT, uu, Jrow);
            T nM[ROWS][NMAX], nm[ROWS];
#pragma unroll
            for (int r = 0; r < ROWS; ++r) {
              nm[r] = e[r] + (ROWS == 2 ? L.direct[r] * m[1] : T(0));
#pragma unroll
              for (int j = 0; j < NMAX; ++j) nM[r][j] = ROWS == 2 ? L.direct[r] * M[ROWS - 1][j] : T(0);
            }
#pragma unroll
            for (int col = 0; col < HM; ++col) {
              if (col >= H) break;
              const T mc = __shfl_sync(0xffffffffu, m[0], col, S);
#pragma unroll
              for (int r = 0; r < ROWS; ++r) nm[r] += Jrow[r][col] * mc;
#pragma unroll
              for (int j = 0; j < NMAX; ++j) {
                if (j >= n) break;
                const T v = __shfl_sync(0xffffffffu, M[0][j], col, S);
#pragma unroll
                for (int r = 0; r < ROWS; ++r) nM[r][j] += Jrow[r][col] * v;
              }
            }
            // (J·M) = Σ over J's h columns (Whh's part, shuffled rows of M) + the direct column: for
            // the LSTM column H + uu, the lane's own c row M[1] (nM's start above); for the GRU and
            // RNN column uu, folded into Jrow.
#pragma unroll
            for (int r = 0; r < ROWS; ++r) {
              m[r] = live ? nm[r] : m[r];
#pragma unroll
              for (int j = 0; j < NMAX; ++j) M[r][j] = live ? nM[r][j] : M[r][j];
            }
          } else {
#pragma unroll
            for (int r = 0; r < ROWS; ++r) {
              const T d = live ? k::cellJacobianEntry<T>(cfg, L, nullptr, uu, r, r * H + uu, WhhT) : T(1);
              dg[r] *= d;
              m[r] = d * m[r] + e[r];
            }
          }
        }
        if (active) {
          T* map = myMaps + lane.c * mapSize;
#pragma unroll
          for (int r = 0; r < ROWS; ++r) {
            const int64_t s = r * H + uu;
            if (Dense) {
#pragma unroll
              for (int j = 0; j < NMAX; ++j)
                if (j < n) map[s * n + j] = M[r][j];
              map[n * n + s] = m[r];
            } else {
              map[s] = dg[r];
              map[n + s] = m[r];
            }
          }
        }
        // B: the block's residual, scale and excess (the warps' maxima, then theirs), judged by thread 0.
#pragma unroll
        for (int o = 16; o > 0; o /= 2) {
          myRes = fmax(myRes, __shfl_xor_sync(0xffffffffu, myRes, o));
          myScale = fmax(myScale, __shfl_xor_sync(0xffffffffu, myScale, o));
          myExcess = fmax(myExcess, __shfl_xor_sync(0xffffffffu, myExcess, o));
        }
        if ((tid & 31) == 0) {
          red[tid / 32] = myRes;
          red[kWarps + tid / 32] = myScale;
          red[2 * kWarps + tid / 32] = myExcess;
        }
        __syncthreads();  // the maps and the warps' maxima
        // The chunks' maps composed (in a cooperative grid, the last is the segment's, for the others).
        scanned = fusedScanChunks<T, Dense, ROWS, false>(myMaps, myMaps + C * mapSize, lane, n, H);
        if (tid == 0) {
          for (int w = 1; w < kWarps; ++w) {
            red[0] = fmax(red[0], red[w]);
            red[kWarps] = fmax(red[kWarps], red[kWarps + w]);
            red[2 * kWarps] = fmax(red[2 * kWarps], red[2 * kWarps + w]);
          }
          if (coop) {
            parts[(b * K + seg) * 3] = red[0];
            parts[(b * K + seg) * 3 + 1] = red[kWarps];
            parts[(b * K + seg) * 3 + 2] = red[2 * kWarps];
          }
        }
        if (coop)
          for (int64_t e = tid; e < mapSize; e += kFusedBlock)
            segMaps[(b * K + seg) * mapSize + e] = scanned[(C - 1) * mapSize + e];
      }
      // B: the sequence's residual, scale and excess judged (deerJudge); in a cooperative grid, every block
      // judges every sequence from the segments' maxima, all alike, so that all leave together.
      if (coop) {
        fusedGridSync();
        for (int64_t j = tid; j < cfg.B; j += kFusedBlock) {
          if (codes[j] != kRunning) continue;
          double res = 0, scale = 0, excess = -HUGE_VAL;
          for (int q = 0; q < K; ++q) {
            res = fmax(res, parts[(j * K + q) * 3]);
            scale = fmax(scale, parts[(j * K + q) * 3 + 1]);
            excess = fmax(excess, parts[(j * K + q) * 3 + 2]);
          }
          const int code = static_cast<int>(k::deerJudge(judges[j], res, scale, excess, p));
          lastRes[j] = res;
          judges[j].steps += code == kRunning ? 1 : 0;
          codes[j] = code;
        }
      } else if (tid == 0 && codes[0] == kRunning) {
        const int code = static_cast<int>(k::deerJudge(judges[0], red[0], red[kWarps], red[2 * kWarps], p));
        lastRes[0] = red[0];
        judges[0].steps += code == kRunning ? 1 : 0;
        codes[0] = code;
      }
      __syncthreads();
      bool any = false;
      for (int64_t j = 0; j < judged; ++j) any = any || codes[j] == kRunning;
      if (!any) break;

      if (codes[me] == kRunning) {
        // C: the chunk's starting δ: the segment's, through the segments before it (a cooperative
        // grid), then through the chunks before it.
        T sg[ROWS], dl[ROWS];
        fusedSegmentStart<T, Dense, ROWS, NMAX, false>(segMaps + b * K * mapSize, K, seg, n, H, uu, S, sg);
        fusedChunkStart<T, Dense, ROWS, NMAX, false>(scanned, lane, n, H, S, sg, dl);

        // D: the chunk again from its starting δ; y + δ to the other buffer.
#pragma unroll(Dense ? 1 : kFusedUnroll)
        for (int64_t i = 0; i < len; ++i) {
          bool live;
          int64_t tc;
          k::CellUnitIn<T> in;
          const k::CellUnitLinear<T> L = stepAt(i, live, tc, in);
          T nd[ROWS];
          if (Dense) {
            // J·δ = Σ_k dhh[r][k] (Whh_k δ_h)_uu + direct[r] δ[directIndex(uu)].
            const int gates = static_cast<int>(cfg.gatesPerUnit());
            T wd[k::kCellMaxGates];
#pragma unroll
            for (int kk = 0; kk < k::kCellMaxGates; ++kk) wd[kk] = T(0);
#pragma unroll
            for (int col = 0; col < HM; ++col) {
              if (col >= H) break;
              const T v = __shfl_sync(0xffffffffu, dl[0], col, S);
#pragma unroll
              for (int kk = 0; kk < k::kCellMaxGates; ++kk)
                if (kk < gates) wd[kk] += WhhT[col * G + kk * H + uu] * v;
            }
#pragma unroll
            for (int r = 0; r < ROWS; ++r) {
              T acc = L.direct[r] * dl[ROWS - 1];
#pragma unroll
              for (int kk = 0; kk < k::kCellMaxGates; ++kk)
                if (kk < gates) acc += L.dhh[r][kk] * wd[kk];
              nd[r] = acc;
            }
          } else {
#pragma unroll
            for (int r = 0; r < ROWS; ++r)
              nd[r] = k::cellJacobianEntry<T>(cfg, L, nullptr, uu, r, r * H + uu, WhhT) * dl[r];
          }
#pragma unroll
          for (int r = 0; r < ROWS; ++r) {
            const int64_t at = cfg.stateAt(tc, b) + r * H + uu;
            const T cur = yOld[at];
            const T next = nd[r] + (L.next[r] - cur);
            dl[r] = live ? next : dl[r];
            if (live && active) yNew[at] = cur + next;
          }
        }
        T* swap = yOld;
        yOld = yNew;
        yNew = swap;
      }
      // The new iterate in place (every segment's: the next linearization reads across them).
      if (coop)
        fusedGridSync();
      else
        __syncthreads();
    }
    if (yOld != yOut) {
      for (int64_t e = tid; e < (s1 - s0) * n; e += kFusedBlock) {
        const int64_t t = s0 + e / n, s = e % n;
        yOut[cfg.stateAt(t, b) + s] = yOld[cfg.stateAt(t, b) + s];
      }
    }
    if (tid == 0 && seg == 0) {
      double* row = status + b * k::kDeerStatusWidth;
      row[0] = static_cast<double>(codes[me]);
      row[1] = judges[me].steps;
      row[2] = lastRes[me];
    }
    __syncthreads();
  }
}

// (Aᵀ v) for a step's A = J (unit uu's coefficients L; A = 0 when `zero`), v and the result
// distributed as the state: this lane's entries at rows r·H + uu. The hidden columns gather every
// lane's Σ_r dhh[r][k] v[r] through shuffles (H × gates of them); the direct terms are the lane's own.
template <typename T, int ROWS, int HM>
__device__ __forceinline__ void fusedTransposeTimes(const k::CellConfig& cfg, const k::CellUnitLinear<T>& L, bool zero,
                                                    const T* __restrict__ WhhT, int64_t uu, int S, const T (&v)[ROWS],
                                                    T (&out)[ROWS]) {
  const int64_t H = cfg.H, G = cfg.G();
  const int gates = static_cast<int>(cfg.gatesPerUnit());
  T w[k::kCellMaxGates];
#pragma unroll
  for (int kk = 0; kk < k::kCellMaxGates; ++kk) {
    w[kk] = T(0);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) w[kk] += L.dhh[r][kk] * v[r];
  }
  T acc = T(0);
#pragma unroll
  for (int u = 0; u < HM; ++u) {
    if (u >= H) break;
#pragma unroll
    for (int kk = 0; kk < k::kCellMaxGates; ++kk)
      if (kk < gates) acc += WhhT[uu * G + kk * H + u] * __shfl_sync(0xffffffffu, w[kk], u, S);
  }
  if (ROWS == 1) {
    out[0] = zero ? T(0) : acc + L.direct[0] * v[0];
  } else {
    out[0] = zero ? T(0) : acc;
    out[ROWS - 1] = zero ? T(0) : L.direct[0] * v[0] + L.direct[ROWS - 1] * v[ROWS - 1];
  }
}

// The adjoint at the solution y in one launch: λ_t = g_t + J_{t+1}ᵀ λ_{t+1}, λ_{T−1} = g_{T−1}, the
// reverse of deerFusedKernel's Newton step (one pass, no iterations): each group composes its
// chunk's map λ_{t0} = P λ_{t1} + q walking down, every group composes the maps after its own
// from λ_T = 0 for its λ_{t1}, and walks its chunk down again writing λ. J_{t+1} comes from step
// t + 1's linearization at y_t, recomputed in both walks.
template <typename T, int ROWS, int NMAX>
static __global__ void __launch_bounds__(kFusedBlock, 1)
    deerAdjointKernel(k::CellConfig cfg, int S, int K, const T* __restrict__ xp, const T* __restrict__ Whh,
                      const T* __restrict__ bhh, const T* __restrict__ y0, const T* __restrict__ y,
                      const T* __restrict__ g, T* __restrict__ lam, T* mapsGlobal, T* segMaps) {
  constexpr int HM = NMAX / ROWS > 0 ? NMAX / ROWS : 1;
  T* WhhT = reinterpret_cast<T*>(fusedShared);
  const int64_t H = cfg.H, G = cfg.G(), n = cfg.n(), steps = cfg.T;
  // K segments per sequence (a cooperative launch of B·K blocks) or one, as deerFusedKernel.
  const bool coop = K > 1;
  const int seg = coop ? static_cast<int>(blockIdx.x % K) : 0;
  const int64_t s0 = seg * steps / K, s1 = (seg + 1) * steps / K;  // K segments within a step of each other
  const FusedLane lane = fusedLane(cfg, S, s0, s1);
  const int C = lane.C, c = lane.c;
  const bool active = lane.active;
  const int64_t uu = lane.uu, len = lane.len, t0 = lane.t0;
  const int64_t mapSize = fusedMapSize(true, n);
  T* myMaps = fusedMaps(WhhT, mapsGlobal, G, H, C, mapSize);
  fusedLoadWeights(Whh, WhhT, G, H);

  for (int64_t b = coop ? blockIdx.x / K : blockIdx.x; b < cfg.B; b += coop ? cfg.B : gridDim.x) {
    const T* y0b = y0 + b * n;
    // One step down from t: J_{t+1}'s linearization (none past the sequence's end; step t + 1 may lie in
    // the next segment), g_t; steps past the segment's end are identities.
    const auto stepAt = [&](int64_t t, bool& live, bool& hasNext, T (&gt)[ROWS], k::CellUnitIn<T>& in) {
      live = t < s1;
      hasNext = live && t + 1 < steps;
      const int64_t tn = hasNext ? t + 1 : steps - 1, tc = live ? t : s1 - 1;
#pragma unroll
      for (int r = 0; r < ROWS; ++r) gt[r] = live ? g[cfg.stateAt(tc, b) + r * H + uu] : T(0);
      return fusedLinearize<T>(cfg, xp, WhhT, bhh, y0b, y, tn, b, uu, in);
    };
    // A: the chunk's map, walking down.
    T P[ROWS][NMAX], q[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      q[r] = T(0);
#pragma unroll
      for (int j = 0; j < NMAX; ++j) P[r][j] = j == r * H + uu ? T(1) : T(0);
    }
    for (int64_t i = 0; i < len; ++i) {
      bool live, hasNext;
      T gt[ROWS];
      k::CellUnitIn<T> in;
      const k::CellUnitLinear<T> L = stepAt(t0 + len - 1 - i, live, hasNext, gt, in);
      T nq[ROWS], nP[ROWS][NMAX];
      fusedTransposeTimes<T, ROWS, HM>(cfg, L, !hasNext, WhhT, uu, S, q, nq);
#pragma unroll
      for (int j = 0; j < NMAX; ++j) {
        if (j >= n) break;
        T v[ROWS], o[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r) v[r] = P[r][j];
        fusedTransposeTimes<T, ROWS, HM>(cfg, L, !hasNext, WhhT, uu, S, v, o);
#pragma unroll
        for (int r = 0; r < ROWS; ++r) nP[r][j] = o[r];
      }
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        q[r] = live ? nq[r] + gt[r] : q[r];
#pragma unroll
        for (int j = 0; j < NMAX; ++j)
          if (j < n) P[r][j] = live ? nP[r][j] : P[r][j];
      }
    }
    if (active) {
      T* map = myMaps + c * mapSize;
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        const int64_t s = r * H + uu;
#pragma unroll
        for (int j = 0; j < NMAX; ++j)
          if (j < n) map[s * n + j] = P[r][j];
        map[n * n + s] = q[r];
      }
    }
    __syncthreads();
    // C: λ after the chunk: after the segment (from λ_T = 0 through the maps of the segments after
    // it, with K blocks), then through the composed map of the chunks after it.
    const T* scanned = fusedScanChunks<T, true, ROWS, true>(myMaps, myMaps + C * mapSize, lane, n, H);
    if (coop) {
      for (int64_t e = threadIdx.x; e < mapSize; e += kFusedBlock) segMaps[(b * K + seg) * mapSize + e] = scanned[e];
      fusedGridSync();
    }
    T lt[ROWS], sg[ROWS];
    fusedSegmentStart<T, true, ROWS, NMAX, true>(segMaps + b * K * mapSize, K, seg, n, H, uu, S, sg);
    fusedChunkStart<T, true, ROWS, NMAX, true>(scanned, lane, n, H, S, sg, lt);
    // D: the chunk down again, writing λ.
    for (int64_t i = 0; i < len; ++i) {
      const int64_t t = t0 + len - 1 - i;
      bool live, hasNext;
      T gt[ROWS];
      k::CellUnitIn<T> in;
      const k::CellUnitLinear<T> L = stepAt(t, live, hasNext, gt, in);
      T o[ROWS];
      fusedTransposeTimes<T, ROWS, HM>(cfg, L, !hasNext, WhhT, uu, S, lt, o);
#pragma unroll
      for (int r = 0; r < ROWS; ++r) {
        lt[r] = live ? o[r] + gt[r] : lt[r];
        if (live && active) lam[cfg.stateAt(t, b) + r * H + uu] = lt[r];
      }
    }
    __syncthreads();
  }
}

// Segments per sequence at most (a cooperative grid), and the fewest steps per chunk in one.
constexpr int64_t kFusedMaxSegments = 64;
constexpr int64_t kFusedMinChunkSteps = 2;
// Blocks of kFusedBlock threads a multiprocessor holds at most (2048 threads): a batch of more than
// half that many sequences per multiprocessor never gets two blocks each.
constexpr int64_t kFusedMaxBlocksPerSm = 2048 / kFusedBlock;

// A fused kernel's launch: its grid, K segments per sequence, dynamic shared memory (the solve's
// head of fusedSharedLayout when `head`, then Whhᵀ, then the C chunk maps where they fit the
// device's opt-in limit; else the maps go to pool scratch of `scratchBytes`).
//  - K = 1: a block per sequence, at most 4 per multiprocessor; blocks loop over the rest.
//  - K > 1 (where the device takes cooperative launches): B·K blocks, all resident, each sequence
//    split into K segments when at least two per sequence fit (small batches would leave most
//    multiprocessors idle); maxSegments caps K (0: kFusedMaxSegments; 1: never split).
struct FusedLaunch {
  unsigned grid = 1;
  int K = 1;
  size_t shared = 0, scratchBytes = 0;
};
template <typename T, typename Kernel>
static FusedLaunch fusedLaunch(Context& ctx, Kernel kernel, const k::CellConfig& cfg, int64_t mapSize, bool head,
                               int maxSegments) {
  const int64_t C = kFusedBlock / fusedGroup(cfg.H);
  const size_t weights = static_cast<size_t>(cfg.G() * cfg.H) * sizeof(T);
  const size_t maps = static_cast<size_t>(2 * C * mapSize) * sizeof(T);
  const auto plan = [&](int64_t judged, int K, unsigned grid) {
    FusedLaunch l;
    l.K = K;
    l.grid = grid;
    const size_t fixed = (head ? fusedSharedLayout(judged).weights : 0) + weights;
    if (fixed + maps <= static_cast<size_t>(ctx.sharedOptin)) {
      l.shared = fixed + maps;
    } else {
      l.shared = fixed;
      l.scratchBytes = static_cast<size_t>(grid) * maps;
    }
    if (l.shared > 48 * 1024)
      ANTLER_CUDA_CHECK(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(l.shared)));
    return l;
  };
  const int64_t cap = maxSegments >= 1 && maxSegments < kFusedMaxSegments ? maxSegments : kFusedMaxSegments;
  const int64_t byLength = cfg.T / (C * kFusedMinChunkSteps);
  // (The bound on B also keeps the head's B judgement states small.)
  if (cap >= 2 && byLength >= 2 && cfg.B * 2 <= static_cast<int64_t>(ctx.multiprocessors) * kFusedMaxBlocksPerSm) {
    int cooperative = 0;
    ANTLER_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, ctx.device));
    FusedLaunch l = plan(cfg.B, 2, static_cast<unsigned>(cfg.B * 2));
    int perSm = 0;
    ANTLER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, kFusedBlock, l.shared));
    int64_t K = static_cast<int64_t>(perSm) * ctx.multiprocessors / cfg.B;
    K = K < cap ? K : cap;
    K = K < byLength ? K : byLength;
    if (cooperative != 0 && K >= 2) {
      l.K = static_cast<int>(K);
      l.grid = static_cast<unsigned>(cfg.B * K);
      if (l.scratchBytes != 0) l.scratchBytes = static_cast<size_t>(l.grid) * maps;
      return l;
    }
  }
  const int64_t blocksCap = static_cast<int64_t>(ctx.multiprocessors) * 4;
  return plan(1, 1, static_cast<unsigned>(cfg.B < blocksCap ? cfg.B : blocksCap));
}

template <typename T, int ROWS, int NMAX>
static void launchAdjoint(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam,
                          int maxSegments) {
  const auto kernel = deerAdjointKernel<T, ROWS, NMAX>;
  const int64_t mapSize = fusedMapSize(true, cfg.n());
  const FusedLaunch l = fusedLaunch<T>(ctx, kernel, cfg, mapSize, false, maxSegments);
  PoolBuffer maps(ctx, l.scratchBytes);
  PoolBuffer segMaps(ctx, l.K > 1 ? static_cast<size_t>(l.grid * mapSize) * sizeof(T) : 0);
  k::CellConfig c = cfg;
  int S = fusedGroup(cfg.H), K = l.K;
  auto xp = static_cast<const T*>(in.xp), Whh = static_cast<const T*>(in.Whh), bhh = static_cast<const T*>(in.bhh),
       y0 = static_cast<const T*>(in.y0), y = static_cast<const T*>(in.y), gp = static_cast<const T*>(g);
  auto lamP = static_cast<T*>(lam), mapsP = static_cast<T*>(maps.get()), segP = static_cast<T*>(segMaps.get());
  if (K > 1) {
    void* args[] = {&c, &S, &K, &xp, &Whh, &bhh, &y0, &y, &gp, &lamP, &mapsP, &segP};
    if (!cooperativeLaunched(
            cudaLaunchCooperativeKernel(kernel, dim3(l.grid), dim3(kFusedBlock), args, l.shared, ctx.stream),
            "deer.cell adjoint"))
      return launchAdjoint<T, ROWS, NMAX>(ctx, cfg, in, g, lam, 1);
  } else {
    kernel<<<l.grid, kFusedBlock, l.shared, ctx.stream>>>(c, S, K, xp, Whh, bhh, y0, y, gp, lamP, mapsP, segP);
  }
  ANTLER_LAUNCH_CHECK("deer.cell adjoint");
}

template <typename T>
static void launchAdjointTyped(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam,
                               int maxSegments) {
  // The forward's two widths (launchFusedTyped).
  const bool lstm = cfg.rowsPerUnit() == 2, small = cfg.n() <= 4;
  if (lstm) {
    if (small) return launchAdjoint<T, 2, 4>(ctx, cfg, in, g, lam, maxSegments);
    return launchAdjoint<T, 2, k::kDeerFusedMaxDenseN>(ctx, cfg, in, g, lam, maxSegments);
  }
  if (small) return launchAdjoint<T, 1, 4>(ctx, cfg, in, g, lam, maxSegments);
  return launchAdjoint<T, 1, k::kDeerFusedMaxDenseN>(ctx, cfg, in, g, lam, maxSegments);
}

void cellDeerAdjoint(Context& ctx, DType t, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam,
                     int maxSegments) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  if (cfg.n() > k::kDeerFusedMaxDenseN)
    fail(Code::Internal, "deer.cell adjoint: n = ", cfg.n(), " is past the fused kernel's limit");
  switch (t) {
    case DType::Float32: return launchAdjointTyped<float>(ctx, cfg, in, g, lam, maxSegments);
    case DType::Float64: return launchAdjointTyped<double>(ctx, cfg, in, g, lam, maxSegments);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell adjoint: dtype ", dtypeName(t), " is not supported");
}

template <typename T, bool Dense, int ROWS, int NMAX>
static void launchFused(Context& ctx, const k::CellConfig& cfg, const k::DeerFusedParams& p, const CellInputs& in,
                        const void* guess, void* y, void* status) {
  const auto kernel = deerFusedKernel<T, Dense, ROWS, NMAX>;
  const int64_t mapSize = fusedMapSize(Dense, cfg.n());
  const FusedLaunch l = fusedLaunch<T>(ctx, kernel, cfg, mapSize, true, p.maxSegments);
  PoolBuffer scratch(ctx, static_cast<size_t>(cfg.T * cfg.B * cfg.n()) * sizeof(T));
  PoolBuffer maps(ctx, l.scratchBytes);
  PoolBuffer segMaps(ctx, l.K > 1 ? static_cast<size_t>(l.grid * mapSize) * sizeof(T) : 0);
  PoolBuffer parts(ctx, l.K > 1 ? static_cast<size_t>(l.grid) * 3 * sizeof(double) : 0);
  k::CellConfig c = cfg;
  k::DeerFusedParams pp = p;
  int S = fusedGroup(cfg.H), K = l.K;
  auto xp = static_cast<const T*>(in.xp), Whh = static_cast<const T*>(in.Whh), bhh = static_cast<const T*>(in.bhh),
       y0 = static_cast<const T*>(in.y0), g = static_cast<const T*>(guess);
  auto yOut = static_cast<T*>(y), yScratch = static_cast<T*>(scratch.get()), mapsP = static_cast<T*>(maps.get()),
       segP = static_cast<T*>(segMaps.get());
  auto partsP = static_cast<double*>(parts.get()), statusP = static_cast<double*>(status);
  if (K > 1) {
    void* args[] = {&c, &pp, &S, &K, &xp, &Whh, &bhh, &y0, &g, &yOut, &yScratch, &mapsP, &segP, &partsP, &statusP};
    if (!cooperativeLaunched(
            cudaLaunchCooperativeKernel(kernel, dim3(l.grid), dim3(kFusedBlock), args, l.shared, ctx.stream),
            "deer.cell solve")) {
      k::DeerFusedParams one = p;
      one.maxSegments = 1;
      return launchFused<T, Dense, ROWS, NMAX>(ctx, cfg, one, in, guess, y, status);
    }
  } else {
    kernel<<<l.grid, kFusedBlock, l.shared, ctx.stream>>>(c, pp, S, K, xp, Whh, bhh, y0, g, yOut, yScratch, mapsP, segP,
                                                          partsP, statusP);
  }
  ANTLER_LAUNCH_CHECK("deer.cell solve");
}

template <typename T>
static void launchFusedTyped(Context& ctx, const k::CellConfig& cfg, bool dense, const k::DeerFusedParams& p,
                             const CellInputs& in, const void* guess, void* y, void* status) {
  const bool lstm = cfg.rowsPerUnit() == 2;
  if (!dense) {
    if (lstm) return launchFused<T, false, 2, 1>(ctx, cfg, p, in, guess, y, status);
    return launchFused<T, false, 1, 1>(ctx, cfg, p, in, guess, y, status);
  }
  // Two widths: n <= 4 (the DEER paper's n = 1, 2, 4) in few registers, else up to 16; the loops
  // over columns stop at n at run time.
  const bool small = cfg.n() <= 4;
  if (lstm) {
    if (small) return launchFused<T, true, 2, 4>(ctx, cfg, p, in, guess, y, status);
    return launchFused<T, true, 2, k::kDeerFusedMaxDenseN>(ctx, cfg, p, in, guess, y, status);
  }
  if (small) return launchFused<T, true, 1, 4>(ctx, cfg, p, in, guess, y, status);
  return launchFused<T, true, 1, k::kDeerFusedMaxDenseN>(ctx, cfg, p, in, guess, y, status);
}

void cellDeerSolve(Context& ctx, DType t, const k::CellConfig& cfg, bool dense, const k::DeerFusedParams& p,
                   const CellInputs& in, const void* guess, void* y, void* status) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  if ((dense && cfg.n() > k::kDeerFusedMaxDenseN) || cfg.H > k::kDeerFusedMaxHidden)
    fail(Code::Internal, "deer.cell solve: n = ", cfg.n(), " is past the fused kernel's limits");
  switch (t) {
    case DType::Float32: return launchFusedTyped<float>(ctx, cfg, dense, p, in, guess, y, status);
    case DType::Float64: return launchFusedTyped<double>(ctx, cfg, dense, p, in, guess, y, status);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell solve: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
