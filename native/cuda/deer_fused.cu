// The fused DEER solve on the GPU (kernels/deer_fused.h): one thread block
// per sequence runs every Newton iteration in one launch, so an iteration
// costs no launches, no host round trip and no [T, n, n] Jacobian in memory.
//
// The block's kFusedBlock threads form C groups of S lanes (S the smallest
// power of two >= H, at most a warp); group c owns chunk c of the sequence
// (len = ⌈T / C⌉ steps), lane u owns unit u (its state rows u and, for the
// LSTM, H + u). Idle lanes (u >= H) compute unit 0's values and write
// nothing, so every lane takes every shuffle. An iteration:
//   A. Each group walks its chunk at the iterate y: the unit's linearization
//      (f, J's coefficients; Whh's transpose in shared memory), e = f − y, the
//      residual and scale, and the chunk's composed map δ_out = M δ_in + m
//      (dense: M's rows, a row per lane, composed with J's rows through
//      shuffles; quasi: M diagonal, per lane). Maps go to global scratch.
//   B. Block-wide max of the residual and scale; thread 0 judges (deerJudge).
//   C. Each group composes the maps of the chunks before it, from δ = 0 at
//      the sequence's start, for its own chunk's starting δ (every group
//      walks the same maps, all C − 1 of them, keeping those before its own
//      chunk; no barrier).
//   D. Each group walks its chunk again from that δ, recomputing the
//      linearization (no per-step storage), δ_t = J_t δ_{t−1} + e_t, and
//      writes y_t + δ_t to the other buffer.
// Steps past T (the last chunk's padding) are identity steps: the loops run
// the same count on every lane, as the shuffles need.
//
// Limits (kernels/deer_fused.h): dense for n <= kDeerFusedMaxDenseN (a row of
// M per lane in registers), quasi for H <= kDeerFusedMaxHidden.
//
// deerAdjointKernel: the gradient's adjoint λ_t = g_t + J_{t+1}ᵀ λ_{t+1} in
// one launch, the same groups and chunks walking down (see there).
#include "../kernels/cells.h"
#include "../kernels/deer_fused.h"
#include "ops.cuh"

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
// computes (uu: unit 0 for an idle lane), its chunk's first step and length.
struct FusedLane {
  int C, c, u;
  bool active;
  int64_t uu, len, t0;
};
__device__ __forceinline__ FusedLane fusedLane(const k::CellConfig& cfg, int S) {
  FusedLane l;
  l.C = kFusedBlock / S;
  l.c = static_cast<int>(threadIdx.x) / S;
  l.u = static_cast<int>(threadIdx.x) - l.c * S;
  l.active = l.u < cfg.H;
  l.uu = l.active ? l.u : 0;
  l.len = (cfg.T + l.C - 1) / l.C;
  l.t0 = l.c * l.len;
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

template <typename T, bool Dense, int ROWS, int NMAX>
static __global__ void __launch_bounds__(kFusedBlock, 1)
    deerFusedKernel(k::CellConfig cfg, k::DeerFusedParams p, int S, const T* __restrict__ xp,
                    const T* __restrict__ Whh, const T* __restrict__ bhh, const T* __restrict__ y0,
                    const T* __restrict__ guess, T* yOut, T* yScratch, T* maps, double* __restrict__ status) {
  constexpr int HM = NMAX / ROWS > 0 ? NMAX / ROWS : 1;
  T* WhhT = reinterpret_cast<T*>(fusedShared);
  __shared__ double redRes[kFusedBlock], redScale[kFusedBlock];
  __shared__ int decision;
  const int64_t H = cfg.H, G = cfg.G(), n = cfg.n(), steps = cfg.T;
  const int tid = static_cast<int>(threadIdx.x);
  const FusedLane lane = fusedLane(cfg, S);
  const int C = lane.C, c = lane.c;
  const bool active = lane.active;
  const int64_t uu = lane.uu, len = lane.len, t0 = lane.t0;
  const int64_t mapSize = fusedMapSize(Dense, n);
  T* myMaps = maps + static_cast<int64_t>(blockIdx.x) * C * mapSize;
  fusedLoadWeights(Whh, WhhT, G, H);

  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) {
    const T* y0b = y0 + b * n;
    for (int64_t e = tid; e < steps * n; e += kFusedBlock) {
      const int64_t t = e / n, s = e - t * n;
      yOut[cfg.stateAt(t, b) + s] = guess[cfg.stateAt(t, b) + s];
    }
    __syncthreads();
    T* yOld = yOut;
    T* yNew = yScratch;
    k::DeerJudge judge;
    k::DeerFusedCode code = k::DeerFusedCode::Running;
    double res = 0;
    for (;;) {
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
      double myRes = 0, myScale = 0;
      // Steps are independent but for the map's short chain: unrolled, one step's loads and
      // linearization overlap the next's (the dense composition is too large in registers for it).
#pragma unroll(Dense ? 1 : kFusedUnroll)
      for (int64_t i = 0; i < len; ++i) {
        const int64_t t = t0 + i;
        const bool live = t < steps;
        const int64_t tc = live ? t : steps - 1;
        k::CellUnitIn<T> in;
        const k::CellUnitLinear<T> L = fusedLinearize<T>(cfg, xp, WhhT, bhh, y0b, yOld, tc, b, uu, in);
        T e[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r) {
          const T f = L.next[r];
          e[r] = live ? f - yOld[cfg.stateAt(tc, b) + r * H + uu] : T(0);
          if (live && active) {
            myRes = fmax(myRes, static_cast<double>(k::deerAbsOrInf(e[r])));
            myScale = fmax(myScale, static_cast<double>(k::deerAbsOrInf(f)));
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
        T* map = myMaps + c * mapSize;
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
      // B: the block's residual and scale, judged by thread 0.
      redRes[tid] = myRes;
      redScale[tid] = myScale;
      __syncthreads();
      for (int half = kFusedBlock / 2; half > 0; half /= 2) {
        if (tid < half) {
          redRes[tid] = fmax(redRes[tid], redRes[tid + half]);
          redScale[tid] = fmax(redScale[tid], redScale[tid + half]);
        }
        __syncthreads();
      }
      if (tid == 0) decision = static_cast<int>(k::deerJudge(judge, redRes[0], redScale[0], p));
      res = redRes[0];
      __syncthreads();
      code = static_cast<k::DeerFusedCode>(decision);
      if (code != k::DeerFusedCode::Running) break;

      // C: the chunk's starting δ, composing the maps of the chunks before it.
      T dl[ROWS];
#pragma unroll
      for (int r = 0; r < ROWS; ++r) dl[r] = T(0);
      // Every lane runs all C − 1 maps (a warp's groups own different chunks, and each takes
      // every shuffle); those at or after its own chunk change nothing.
#pragma unroll 4
      for (int cc = 0; cc + 1 < C; ++cc) {
        const T* map = myMaps + cc * mapSize;
        T nd[ROWS];
        if (Dense) {
          fusedApplyMap<T, ROWS, HM>(map, n, H, uu, S, dl, nd);
        } else {
#pragma unroll
          for (int r = 0; r < ROWS; ++r) nd[r] = map[r * H + uu] * dl[r] + map[n + r * H + uu];
        }
#pragma unroll
        for (int r = 0; r < ROWS; ++r) dl[r] = cc < c ? nd[r] : dl[r];
      }

      // D: the chunk again from its starting δ; y + δ to the other buffer.
#pragma unroll(Dense ? 1 : kFusedUnroll)
      for (int64_t i = 0; i < len; ++i) {
        const int64_t t = t0 + i;
        const bool live = t < steps;
        const int64_t tc = live ? t : steps - 1;
        k::CellUnitIn<T> in;
        const k::CellUnitLinear<T> L = fusedLinearize<T>(cfg, xp, WhhT, bhh, y0b, yOld, tc, b, uu, in);
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
          for (int r = 0; r < ROWS; ++r) nd[r] = k::cellJacobianEntry<T>(cfg, L, nullptr, uu, r, r * H + uu, WhhT) * dl[r];
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
      __syncthreads();
      T* swap = yOld;
      yOld = yNew;
      yNew = swap;
      judge.steps += 1;
    }
    if (yOld != yOut) {
      for (int64_t e = tid; e < steps * n; e += kFusedBlock) {
        const int64_t t = e / n, s = e - t * n;
        yOut[cfg.stateAt(t, b) + s] = yOld[cfg.stateAt(t, b) + s];
      }
    }
    if (tid == 0) {
      double* row = status + b * k::kDeerStatusWidth;
      row[0] = static_cast<double>(static_cast<int>(code));
      row[1] = judge.steps;
      row[2] = res;
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
    deerAdjointKernel(k::CellConfig cfg, int S, const T* __restrict__ xp, const T* __restrict__ Whh,
                      const T* __restrict__ bhh, const T* __restrict__ y0, const T* __restrict__ y,
                      const T* __restrict__ g, T* __restrict__ lam, T* __restrict__ maps) {
  constexpr int HM = NMAX / ROWS > 0 ? NMAX / ROWS : 1;
  T* WhhT = reinterpret_cast<T*>(fusedShared);
  const int64_t H = cfg.H, G = cfg.G(), n = cfg.n(), steps = cfg.T;
  const FusedLane lane = fusedLane(cfg, S);
  const int C = lane.C, c = lane.c;
  const bool active = lane.active;
  const int64_t uu = lane.uu, len = lane.len, t0 = lane.t0;
  const int64_t mapSize = fusedMapSize(true, n);
  T* myMaps = maps + static_cast<int64_t>(blockIdx.x) * C * mapSize;
  fusedLoadWeights(Whh, WhhT, G, H);

  for (int64_t b = blockIdx.x; b < cfg.B; b += gridDim.x) {
    const T* y0b = y0 + b * n;
    // One step down from t: J_{t+1}'s linearization (none past the end), g_t; padded steps are identities.
    const auto stepAt = [&](int64_t t, bool& live, bool& hasNext, T (&gt)[ROWS], k::CellUnitIn<T>& in) {
      live = t < steps;
      hasNext = live && t + 1 < steps;
      const int64_t tn = hasNext ? t + 1 : steps - 1, tc = live ? t : steps - 1;
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
    // C: λ after the chunk, from λ_T = 0 through the maps of the chunks after it (all lanes walk all).
    T lt[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) lt[r] = T(0);
    for (int cc = C - 1; cc > 0; --cc) {
      T nd[ROWS];
      fusedApplyMap<T, ROWS, HM>(myMaps + cc * mapSize, n, H, uu, S, lt, nd);
#pragma unroll
      for (int r = 0; r < ROWS; ++r) lt[r] = cc > c ? nd[r] : lt[r];
    }
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

template <typename T, int ROWS, int NMAX>
static void launchAdjoint(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam) {
  const int S = fusedGroup(cfg.H);
  const int64_t blocksCap = static_cast<int64_t>(ctx.multiprocessors) * 4;
  const unsigned grid = static_cast<unsigned>(cfg.B < blocksCap ? cfg.B : blocksCap);
  PoolBuffer maps(ctx, static_cast<size_t>(grid) * (kFusedBlock / S) * fusedMapSize(true, cfg.n()) * sizeof(T));
  const size_t shared = static_cast<size_t>(cfg.G() * cfg.H) * sizeof(T);
  deerAdjointKernel<T, ROWS, NMAX><<<grid, kFusedBlock, shared, ctx.stream>>>(
      cfg, S, static_cast<const T*>(in.xp), static_cast<const T*>(in.Whh), static_cast<const T*>(in.bhh),
      static_cast<const T*>(in.y0), static_cast<const T*>(in.y), static_cast<const T*>(g), static_cast<T*>(lam),
      static_cast<T*>(maps.get()));
  ANTLER_LAUNCH_CHECK("deer.cell adjoint");
}

template <typename T>
static void launchAdjointTyped(Context& ctx, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam) {
  // The forward's two widths (launchFusedTyped).
  const bool lstm = cfg.rowsPerUnit() == 2, small = cfg.n() <= 4;
  if (lstm) {
    if (small) return launchAdjoint<T, 2, 4>(ctx, cfg, in, g, lam);
    return launchAdjoint<T, 2, k::kDeerFusedMaxDenseN>(ctx, cfg, in, g, lam);
  }
  if (small) return launchAdjoint<T, 1, 4>(ctx, cfg, in, g, lam);
  return launchAdjoint<T, 1, k::kDeerFusedMaxDenseN>(ctx, cfg, in, g, lam);
}

void cellDeerAdjoint(Context& ctx, DType t, const k::CellConfig& cfg, const CellInputs& in, const void* g, void* lam) {
  if (cfg.T <= 0 || cfg.B <= 0) return;
  if (cfg.n() > k::kDeerFusedMaxDenseN)
    fail(Code::Internal, "deer.cell adjoint: n = ", cfg.n(), " is past the fused kernel's limit");
  switch (t) {
    case DType::Float32: return launchAdjointTyped<float>(ctx, cfg, in, g, lam);
    case DType::Float64: return launchAdjointTyped<double>(ctx, cfg, in, g, lam);
    case DType::Int32: break;
  }
  fail(Code::Internal, "deer.cell adjoint: dtype ", dtypeName(t), " is not supported");
}

template <typename T, bool Dense, int ROWS, int NMAX>
static void launchFused(Context& ctx, const k::CellConfig& cfg, const k::DeerFusedParams& p, const CellInputs& in,
                        const void* guess, void* y, void* status) {
  const int S = fusedGroup(cfg.H);
  const int C = kFusedBlock / S;
  const int64_t blocksCap = static_cast<int64_t>(ctx.multiprocessors) * 4;
  const unsigned grid = static_cast<unsigned>(cfg.B < blocksCap ? cfg.B : blocksCap);
  PoolBuffer scratch(ctx, static_cast<size_t>(cfg.T * cfg.B * cfg.n()) * sizeof(T));
  PoolBuffer maps(ctx, static_cast<size_t>(grid) * C * fusedMapSize(Dense, cfg.n()) * sizeof(T));
  const size_t shared = static_cast<size_t>(cfg.G() * cfg.H) * sizeof(T);
  deerFusedKernel<T, Dense, ROWS, NMAX><<<grid, kFusedBlock, shared, ctx.stream>>>(
      cfg, p, S, static_cast<const T*>(in.xp), static_cast<const T*>(in.Whh), static_cast<const T*>(in.bhh),
      static_cast<const T*>(in.y0), static_cast<const T*>(guess), static_cast<T*>(y), static_cast<T*>(scratch.get()),
      static_cast<T*>(maps.get()), static_cast<double*>(status));
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
