// One ELK step with the dense Jacobian (Gonzalez et al. 2024), shared by
// cpu/elk.cpp and cuda/elk.cu. The diagonal version and the derivation are in
// elk.h; this is the same Levenberg–Marquardt problem with n×n F_t:
//
//   min_y  Σ_t ‖y_t − F_t y_{t−1} − u_t‖² + λ Σ_t ‖y_t − ŷ_t‖²,   y_{−1} = y0 (fixed)
//
// the smoothing problem of y_t = F_t y_{t−1} + u_t + w_t (w ~ N(0, I)),
// observed as ŷ_t = y_t + v_t (v ~ N(0, I/λ)). With k = 1/(1+λ), step t is the
// element (A, b, C, η, J) of Särkkä & García-Fernández (2021, Lemma 8):
//   A = k F    b = k (u + λŷ)    C = k I    η = kλ Fᵀ(ŷ − u)    J = kλ FᵀF
// and step 0 (the previous state y0 known exactly):
//   A = 0      b = k (F y0 + u + λŷ)        C = k I    η = 0    J = 0.
// Combining an earlier e with a later l, with D = I + C_e J_l:
//   A = A_l D⁻¹ A_e                       b = A_l D⁻¹ (b_e + C_e η_l) + b_l
//   C = A_l D⁻¹ C_e A_lᵀ + C_l            η = (D⁻¹A_e)ᵀ (η_l − J_l b_e) + η_e
//   J = (D⁻¹A_e)ᵀ J_l A_e + J_e
// ((I + J_l C_e)⁻¹ = D⁻ᵀ because C and J are symmetric.) C and J are positive
// semi-definite, so C_e J_l has real eigenvalues ≥ 0 and D's are ≥ 1: the
// inverse (Gauss–Jordan with partial pivoting) never meets a small pivot in
// exact arithmetic. A prefix from step 0 holds the filtered mean m_t in b and
// covariance P_t in C.
//
// Smoother (Rauch–Tung–Striebel), in reverse time: s_{T−1} = m_{T−1} and
//   s_t = G_t s_{t+1} + (m_t − G_t (F_{t+1} m_t + u_{t+1})),
//   G_t = P_t F_{t+1}ᵀ (F_{t+1} P_t F_{t+1}ᵀ + I)⁻¹ = (F P)ᵀ M⁻¹,
// an affine recurrence whose maps (E, g) compose as (E_t E, E_t g + g_t).
//
// Every routine runs on a group of `lanes` cooperating workers: one CPU
// thread (lanes.h's SerialLanes) or a CUDA thread block (cuda/lanes.cuh). Workers
// split the entries of each result, and `sync()` separates a phase that
// writes a buffer from one that reads it. The building blocks lanesProduct,
// lanesApply and denseCopy are one phase each and leave the sync to their
// caller; every other routine returns synchronised. Buffers
// live in a per-group workspace (elkDenseWorkspace() values) except the
// operands and results in global memory.
//
// Operands are ElkInputs (elk.h) with `a` the dense F. Layouts: F [T, B, n, n] row-major; u, ŷ, m, y [T, B, n]; P [T, B, n, n];
// y0 [B, n]; λ [B]. An element is packed as A | C | J (n² each) | b | η (n
// each): elkDenseElementSize() values.
#pragma once
#include <cstdint>
#if !defined(__CUDACC__)
#include <vector>
#endif

#include "elk.h"
#include "hd.h"
#include "lanes.h"
#include "linalg_lu.h"  // pivotRow: LU's partial pivoting

namespace antler::kernels {

ANTLER_HD int64_t elkDenseElementSize(int64_t n) { return 3 * n * n + 2 * n; }

template <typename T>
struct DenseElement {
  T *A, *C, *J, *b, *eta;
};

template <typename T>
ANTLER_HD DenseElement<T> denseElementAt(T* p, int64_t n) {
  const int64_t nn = n * n;
  return {p, p + nn, p + 2 * nn, p + 3 * nn, p + 3 * nn + n};
}

// Scratch of one group: three elements (two for the running fold, one for
// the next step) and the combine's temporaries: five n×n and four n.
ANTLER_HD int64_t elkDenseWorkspace(int64_t n) { return 3 * elkDenseElementSize(n) + 5 * n * n + 4 * n; }

// The index of pivot rows is kept in the workspace as a value of T (exact for n < 2²⁴).
template <typename T>
struct DenseTemps {
  T *D, *Dinv, *DA, *DC, *W, *v1, *v2, *v3, *piv;
};

template <typename T>
ANTLER_HD DenseTemps<T> denseTempsAt(T* p, int64_t n) {
  const int64_t nn = n * n;
  return {p, p + nn, p + 2 * nn, p + 3 * nn, p + 4 * nn, p + 5 * nn, p + 5 * nn + n, p + 5 * nn + 2 * n,
          p + 5 * nn + 3 * n};
}

// Entry (i, j) of X or Xᵀ.
template <typename T>
ANTLER_HD T entryOf(const T* X, int64_t n, bool trans, int64_t i, int64_t j) {
  return trans ? X[j * n + i] : X[i * n + j];
}

// Entry (i, j) of op(X)·op(Y).
template <typename T>
ANTLER_HD T productEntry(const T* X, bool tx, const T* Y, bool ty, int64_t n, int64_t i, int64_t j) {
  T acc = T(0);
  for (int64_t k = 0; k < n; ++k) acc += entryOf(X, n, tx, i, k) * entryOf(Y, n, ty, k, j);
  return acc;
}

// out = op(X)·op(Y) (+ add); out must not alias X or Y (add may be out).
template <typename T, typename Lanes>
ANTLER_HD void lanesProduct(const Lanes& L, int64_t n, T* out, const T* X, bool tx, const T* Y, bool ty,
                            const T* add = nullptr) {
  for (int64_t e = L.lane(); e < n * n; e += L.count()) {
    const int64_t i = e / n, j = e - i * n;
    const T v = productEntry(X, tx, Y, ty, n, i, j);
    out[e] = add ? v + add[e] : v;
  }
}

// out = alpha·op(X)·v (+ add); out must not alias v.
template <typename T, typename Lanes>
ANTLER_HD void lanesApply(const Lanes& L, int64_t n, T* out, const T* X, bool tx, const T* v, T alpha = T(1),
                          const T* add = nullptr) {
  for (int64_t i = L.lane(); i < n; i += L.count()) {
    T acc = T(0);
    for (int64_t k = 0; k < n; ++k) acc += entryOf(X, n, tx, i, k) * v[k];
    out[i] = add ? alpha * acc + add[i] : alpha * acc;
  }
}

// Inv = M⁻¹ by Gauss–Jordan elimination with partial pivoting; M is destroyed,
// f (n) and piv (1) are scratch.
template <typename T, typename Lanes>
ANTLER_HD void lanesInvert(const Lanes& L, int64_t n, T* M, T* Inv, T* f, T* piv) {
  for (int64_t e = L.lane(); e < n * n; e += L.count()) Inv[e] = (e / n == e % n) ? T(1) : T(0);
  L.sync();
  for (int64_t k = 0; k < n; ++k) {
    if (L.lane() == 0) piv[0] = static_cast<T>(pivotRow(M, n, n, k));
    L.sync();
    const int64_t p = static_cast<int64_t>(piv[0]);
    // Swap rows k and p of [M | Inv], the lanes over the 2n columns.
    if (p != k)
      for (int64_t j = L.lane(); j < 2 * n; j += L.count()) {
        T* X = j < n ? M : Inv;
        const int64_t c = j < n ? j : j - n;
        const T tmp = X[k * n + c];
        X[k * n + c] = X[p * n + c];
        X[p * n + c] = tmp;
      }
    L.sync();
    // The multipliers of every row (row k's is its scale 1/pivot).
    const T pivot = M[k * n + k];
    for (int64_t i = L.lane(); i < n; i += L.count()) f[i] = i == k ? T(1) / pivot : M[i * n + k] / pivot;
    L.sync();
    // Row k scaled; every other row i minus f_i times the old row k. Each
    // lane owns one column, so it reads row k's entry before writing it.
    for (int64_t j = L.lane(); j < 2 * n; j += L.count()) {
      T* X = j < n ? M : Inv;
      const int64_t c = j < n ? j : j - n;
      const T rowK = X[k * n + c];
      for (int64_t i = 0; i < n; ++i) X[i * n + c] = i == k ? rowK * f[k] : X[i * n + c] - f[i] * rowK;
    }
    L.sync();
  }
}

#if !defined(__CUDACC__)
// The same three routines for one CPU thread. Every entry is the same sum in
// the same order (k ascending, each product rounded before it is added: the
// CPU build does not contract to FMA), so the results are the generic
// routines' to the bit; only the loops are reordered so that the innermost
// one runs along contiguous rows and vectorises (the generic order walks
// columns, one entry at a time).
template <typename T>
T* serialScratch(int64_t size) {
  static thread_local std::vector<T> buf;
  if (static_cast<int64_t>(buf.size()) < size) buf.resize(static_cast<size_t>(size));
  return buf.data();
}

template <typename T>
inline void lanesProduct(const SerialLanes&, int64_t n, T* out, const T* X, bool tx, const T* Y, bool ty,
                         const T* add = nullptr) {
  T* scratch = serialScratch<T>(n * n + n);
  T* __restrict acc = scratch;
  const T* Yr = Y;  // op(Y) row-major
  if (ty) {
    T* Yt = scratch + n;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) Yt[j * n + i] = Y[i * n + j];
    Yr = Yt;
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) acc[j] = T(0);
    for (int64_t k = 0; k < n; ++k) {
      const T x = tx ? X[k * n + i] : X[i * n + k];
      const T* __restrict yk = Yr + k * n;
      for (int64_t j = 0; j < n; ++j) acc[j] += x * yk[j];
    }
    T* o = out + i * n;  // add may be out: each entry is read before it is written
    if (add)
      for (int64_t j = 0; j < n; ++j) o[j] = acc[j] + add[i * n + j];
    else
      for (int64_t j = 0; j < n; ++j) o[j] = acc[j];
  }
}

template <typename T>
inline void lanesApply(const SerialLanes&, int64_t n, T* out, const T* X, bool tx, const T* v, T alpha = T(1),
                       const T* add = nullptr) {
  T* __restrict acc = serialScratch<T>(n);
  for (int64_t i = 0; i < n; ++i) acc[i] = T(0);
  if (tx) {
    for (int64_t k = 0; k < n; ++k) {
      const T vk = v[k];
      const T* __restrict xk = X + k * n;
      for (int64_t i = 0; i < n; ++i) acc[i] += xk[i] * vk;
    }
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < n; ++k) acc[i] += X[i * n + k] * v[k];
  }
  for (int64_t i = 0; i < n; ++i) out[i] = add ? alpha * acc[i] + add[i] : alpha * acc[i];
}

template <typename T>
inline void lanesInvert(const SerialLanes&, int64_t n, T* M, T* Inv, T* f, T* piv) {
  for (int64_t e = 0; e < n * n; ++e) Inv[e] = (e / n == e % n) ? T(1) : T(0);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t p = pivotRow(M, n, n, k);
    piv[0] = static_cast<T>(p);
    if (p != k)
      for (T* X : {M, Inv})
        for (int64_t c = 0; c < n; ++c) {
          const T tmp = X[k * n + c];
          X[k * n + c] = X[p * n + c];
          X[p * n + c] = tmp;
        }
    const T pivot = M[k * n + k];
    for (int64_t i = 0; i < n; ++i) f[i] = i == k ? T(1) / pivot : M[i * n + k] / pivot;
    // Every row but k minus f_i times row k, then row k scaled (so the others read it unscaled).
    for (T* X : {M, Inv}) {
      const T* __restrict rowK = X + k * n;
      for (int64_t i = 0; i < n; ++i) {
        if (i == k) continue;
        T* __restrict row = X + i * n;
        const T fi = f[i];
        for (int64_t c = 0; c < n; ++c) row[c] = row[c] - fi * rowK[c];
      }
      T* row = X + k * n;
      for (int64_t c = 0; c < n; ++c) row[c] = row[c] * f[k];
    }
  }
}
#endif

// r = e ⊗ l (earlier e, later l); r must not alias e or l.
template <typename T, typename Lanes>
ANTLER_HD void denseKalmanCombine(const Lanes& L, int64_t n, const DenseElement<T>& e, const DenseElement<T>& l,
                                  const DenseElement<T>& r, const DenseTemps<T>& w) {
  // D = I + C_e J_l;  v1 = b_e + C_e η_l;  v3 = η_l − J_l b_e.
  lanesProduct(L, n, w.D, e.C, false, l.J, false);
  lanesApply(L, n, w.v1, e.C, false, l.eta, T(1), e.b);
  lanesApply(L, n, w.v3, l.J, false, e.b, T(-1), l.eta);
  L.sync();
  for (int64_t i = L.lane(); i < n; i += L.count()) w.D[i * n + i] += T(1);
  L.sync();
  lanesInvert(L, n, w.D, w.Dinv, w.v2, w.piv);
  // DA = D⁻¹A_e;  DC = D⁻¹C_e;  v2 = D⁻¹v1;  W = J_l A_e (D is free now).
  lanesProduct(L, n, w.DA, w.Dinv, false, e.A, false);
  lanesProduct(L, n, w.DC, w.Dinv, false, e.C, false);
  lanesApply(L, n, w.v2, w.Dinv, false, w.v1);
  lanesProduct(L, n, w.W, l.J, false, e.A, false);
  L.sync();
  // A = A_l DA;  b = A_l v2 + b_l;  η = DAᵀ v3 + η_e;  J = DAᵀ W + J_e;  D = A_l DC.
  lanesProduct(L, n, r.A, l.A, false, w.DA, false);
  lanesApply(L, n, r.b, l.A, false, w.v2, T(1), l.b);
  lanesApply(L, n, r.eta, w.DA, true, w.v3, T(1), e.eta);
  lanesProduct(L, n, r.J, w.DA, true, w.W, false, e.J);
  lanesProduct(L, n, w.D, l.A, false, w.DC, false);
  L.sync();
  // C = (A_l DC) A_lᵀ + C_l.
  lanesProduct(L, n, r.C, w.D, false, l.A, true, l.C);
  L.sync();
  // C and J are symmetric in exact arithmetic, and D⁻ᵀ = (I + J_l C_e)⁻¹ relies
  // on it: average each off-diagonal pair so rounding cannot accumulate
  // asymmetry over long folds. A lane owns the pair (i, j), (j, i) with i < j.
  for (int64_t x = L.lane(); x < n * n; x += L.count()) {
    const int64_t i = x / n, j = x - i * n;
    if (i >= j) continue;
    const T c = (r.C[i * n + j] + r.C[j * n + i]) / T(2), q = (r.J[i * n + j] + r.J[j * n + i]) / T(2);
    r.C[i * n + j] = r.C[j * n + i] = c;
    r.J[i * n + j] = r.J[j * n + i] = q;
  }
  L.sync();
}

// The element of step t of batch element b, into e.
template <typename T, typename Lanes>
ANTLER_HD void denseFilterElement(const Lanes& L, const ElkConfig& cfg, const ElkInputs<T>& in, int64_t t,
                                  int64_t b, const DenseElement<T>& e) {
  const int64_t n = cfg.n, nn = n * n;
  const T* F = in.a + (t * cfg.B + b) * nn;
  const T* u = in.u + (t * cfg.B + b) * n;
  const T* yh = in.yhat + (t * cfg.B + b) * n;
  const T lam = in.lambda[b], k = T(1) / (T(1) + lam);
  for (int64_t x = L.lane(); x < nn; x += L.count()) {
    const int64_t i = x / n, j = x - i * n;
    e.C[x] = i == j ? k : T(0);
    e.A[x] = t == 0 ? T(0) : k * F[x];
  }
  if (t == 0) {
    for (int64_t x = L.lane(); x < nn; x += L.count()) e.J[x] = T(0);
  } else {
    // J = kλ FᵀF: each lane scales the entries it wrote.
    lanesProduct(L, n, e.J, F, true, F, false);
    for (int64_t x = L.lane(); x < nn; x += L.count()) e.J[x] = k * lam * e.J[x];
  }
  for (int64_t i = L.lane(); i < n; i += L.count()) {
    if (t == 0) {
      T fy = T(0);
      for (int64_t j = 0; j < n; ++j) fy += F[i * n + j] * in.y0[b * n + j];
      e.b[i] = k * (fy + u[i] + lam * yh[i]);
      e.eta[i] = T(0);
    } else {
      e.b[i] = k * (u[i] + lam * yh[i]);
      T acc = T(0);
      for (int64_t j = 0; j < n; ++j) acc += F[j * n + i] * (yh[j] - u[j]);
      e.eta[i] = k * lam * acc;
    }
  }
  L.sync();
}

template <typename T, typename Lanes>
ANTLER_HD void denseCopy(const Lanes& L, int64_t size, T* to, const T* from) {
  for (int64_t x = L.lane(); x < size; x += L.count()) to[x] = from[x];
}

// Folds steps t0 … t1−1 of batch element b onto `start` (the prefix of the
// steps before t0; null: none, the fold starts at step t0's element) and
// writes the result to `out` (global; null: not wanted). With m and P not null,
// writes every step's filtered mean and covariance. ws: elkDenseWorkspace(n).
template <typename T, typename Lanes>
ANTLER_HD void denseFilterFold(const Lanes& L, const ElkConfig& cfg, const ElkInputs<T>& in, int64_t b,
                               int64_t t0, int64_t t1, const T* start, T* out, T* m, T* P, T* ws) {
  const int64_t n = cfg.n, es = elkDenseElementSize(n), nn = n * n;
  T* cur = ws;
  T* next = ws + es;
  const DenseElement<T> step = denseElementAt(ws + 2 * es, n);
  const DenseTemps<T> w = denseTempsAt(ws + 3 * es, n);
  int64_t t = t0;
  if (start) {
    denseCopy(L, es, cur, start);
  } else {
    denseFilterElement(L, cfg, in, t, b, denseElementAt(cur, n));
    ++t;
  }
  L.sync();
  auto record = [&](int64_t at, T* acc) {
    if (!m) return;
    const DenseElement<T> a = denseElementAt(acc, n);
    for (int64_t x = L.lane(); x < nn; x += L.count()) P[(at * cfg.B + b) * nn + x] = a.C[x];
    for (int64_t x = L.lane(); x < n; x += L.count()) m[(at * cfg.B + b) * n + x] = a.b[x];
  };
  if (!start) record(t0, cur);
  for (; t < t1; ++t) {
    denseFilterElement(L, cfg, in, t, b, step);
    denseKalmanCombine(L, n, denseElementAt(cur, n), step, denseElementAt(next, n), w);
    record(t, next);
    T* done = cur;
    cur = next;
    next = done;
  }
  if (out) denseCopy(L, es, out, cur);
  L.sync();
}

// Phase 2 of the chunked filter for batch element b: from the summaries of
// chunks 0 … C−2 (sums + (b·C + q)·es), the exclusive prefix of every chunk
// q ≥ 1 into starts + (b·C + q)·es. w: combine temporaries.
template <typename T, typename Lanes>
ANTLER_HD void denseFilterPrefixes(const Lanes& L, int64_t n, int64_t C, int64_t b, const T* sums, T* starts,
                                   const DenseTemps<T>& w) {
  const int64_t es = elkDenseElementSize(n);
  T* start = starts + b * C * es;
  // The combine takes elements by mutable view; it only reads the later one.
  T* sum = const_cast<T*>(sums) + b * C * es;
  denseCopy(L, es, start + es, sum);
  L.sync();
  for (int64_t q = 1; q + 1 < C; ++q)
    denseKalmanCombine(L, n, denseElementAt(start + q * es, n), denseElementAt(sum + q * es, n),
                       denseElementAt(start + (q + 1) * es, n), w);
}

// Phase 2 of the chunked smoother for batch element b: from the maps (E, g) of
// chunks 1 … C−1 (sums + (b·C + q)·(n² + n)), s at the end of every chunk q
// into into + (b·C + q)·n, from the last chunk down (the last chunk's own slot
// is set to 0 and read by no walk; its map has E = 0).
template <typename T, typename Lanes>
ANTLER_HD void denseSmootherPrefixes(const Lanes& L, int64_t n, int64_t C, int64_t b, const T* sums, T* into) {
  const int64_t nn = n * n, pair = nn + n;
  for (int64_t i = L.lane(); i < n; i += L.count()) into[(b * C + C - 1) * n + i] = T(0);
  L.sync();
  for (int64_t q = C - 1; q > 0; --q) {
    const int64_t task = b * C + q;
    const T* E = sums + task * pair;
    lanesApply(L, n, into + (task - 1) * n, E, false, into + task * n, T(1), E + nn);
    L.sync();
  }
}

// The smoother's map (E, g) of step t into E (n×n) and g (n), from the
// filtered m and P (step T−1: E = 0, g = m); ws: 3n² + 2n + 1 values (FP, M, M⁻¹, then v, f and the pivot).
template <typename T, typename Lanes>
ANTLER_HD void denseSmootherStep(const Lanes& L, const ElkConfig& cfg, const ElkInputs<T>& in, const T* m,
                                 const T* P, int64_t t, int64_t b, T* E, T* g, T* ws) {
  const int64_t n = cfg.n, nn = n * n;
  if (t == cfg.T - 1) {  // s_{T−1} = m_{T−1}: E = 0, g = m
    for (int64_t x = L.lane(); x < nn; x += L.count()) E[x] = T(0);
    for (int64_t i = L.lane(); i < n; i += L.count()) g[i] = m[(t * cfg.B + b) * n + i];
    L.sync();
    return;
  }
  const T* F = in.a + ((t + 1) * cfg.B + b) * nn;
  const T* u = in.u + ((t + 1) * cfg.B + b) * n;
  const T* mt = m + (t * cfg.B + b) * n;
  const T* Pt = P + (t * cfg.B + b) * nn;
  T* FP = ws;
  T* M = ws + nn;
  T* Minv = ws + 2 * nn;
  T* v = ws + 3 * nn;
  T* f = v + n;
  T* piv = f + n;
  lanesProduct(L, n, FP, F, false, Pt, false);
  lanesApply(L, n, v, F, false, mt, T(1), u);  // v = F m + u
  L.sync();
  lanesProduct(L, n, M, FP, false, F, true);
  L.sync();
  for (int64_t i = L.lane(); i < n; i += L.count()) M[i * n + i] += T(1);
  L.sync();
  lanesInvert(L, n, M, Minv, f, piv);
  lanesProduct(L, n, E, FP, true, Minv, false);  // G = (FP)ᵀ M⁻¹
  L.sync();
  for (int64_t i = L.lane(); i < n; i += L.count()) {
    T acc = T(0);
    for (int64_t j = 0; j < n; ++j) acc += E[i * n + j] * v[j];
    g[i] = mt[i] - acc;
  }
  L.sync();
}

// Smoother workspace: the step's (E, g), the composed map twice, and the step's scratch.
ANTLER_HD int64_t elkDenseSmootherWorkspace(int64_t n) { return 3 * (n * n + n) + 3 * n * n + 2 * n + 1; }

// The map from s_{t1} to s_{t0} (steps t1−1 down to t0 of batch element b), into out (n² + n: E then g).
template <typename T, typename Lanes>
ANTLER_HD void denseSmootherCompose(const Lanes& L, const ElkConfig& cfg, const ElkInputs<T>& in, const T* m,
                                    const T* P, int64_t b, int64_t t0, int64_t t1, T* out, T* ws) {
  const int64_t n = cfg.n, nn = n * n, pair = nn + n;
  T* stepE = ws;
  T* cur = ws + pair;
  T* next = ws + 2 * pair;
  T* scratch = ws + 3 * pair;
  bool first = true;
  for (int64_t t = t1 - 1; t >= t0; --t) {
    denseSmootherStep(L, cfg, in, m, P, t, b, first ? cur : stepE, first ? cur + nn : stepE + nn, scratch);
    if (!first) {
      lanesProduct(L, n, next, stepE, false, cur, false);
      lanesApply(L, n, next + nn, stepE, false, cur + nn, T(1), stepE + nn);
      L.sync();
      T* done = cur;
      cur = next;
      next = done;
    }
    first = false;
  }
  denseCopy(L, pair, out, cur);
  L.sync();
}

// Walks steps t1−1 down to t0 of batch element b from sNext = s_{t1} (null
// when t1 = T: step T−1 is s = m), writing s_t into y. y may be m itself:
// step t reads m_t before it writes s_t, and no other step's m.
template <typename T, typename Lanes>
ANTLER_HD void denseSmootherWalk(const Lanes& L, const ElkConfig& cfg, const ElkInputs<T>& in, const T* m,
                                 const T* P, int64_t b, int64_t t0, int64_t t1, const T* sNext, T* y, T* ws) {
  const int64_t n = cfg.n, nn = n * n;
  T* E = ws;
  T* g = ws + nn;
  T* scratch = ws + 3 * (nn + n);
  for (int64_t t = t1 - 1; t >= t0; --t) {
    T* yt = y + (t * cfg.B + b) * n;
    if (t == cfg.T - 1) {
      for (int64_t i = L.lane(); i < n; i += L.count()) yt[i] = m[(t * cfg.B + b) * n + i];
    } else {
      denseSmootherStep(L, cfg, in, m, P, t, b, E, g, scratch);
      lanesApply(L, n, yt, E, false, sNext, T(1), g);
    }
    L.sync();
    sNext = yt;
  }
}

}  // namespace antler::kernels
