// The DEER linear recurrence y_t = A_t y_{t−1} + b_t (ALGORITHMS.md §2) as a
// scan over pairs (A, b). Each variant of A is a combine type with the same
// four functions, so one scan (cpu/scan.cpp, cuda/scan.cu) serves them all:
//   step(A, prev, b, out)      out = A·prev + b       (out must not alias prev for Dense)
//   stepT(A, prev, b, out)     out = Aᵀ·prev + b      (the adjoint's reverse scan)
//   compose(A2, A1, out)       out = A2·A1            (earlier A1, later A2)
//   combine(A1,b1, A2,b2, …)   (A2·A1, A2·b1 + b2)    the scan's associative operator
//   outer(l, y, gA)            gA = l·yᵀ (Dense) or l ⊙ y (Diagonal): ∂loss/∂A from λ and y_{t−1}
// The `Entry` functions compute one entry e ∈ [0, aSize()) of an A-shaped
// result (Dense: e = i·n + j), for a thread per entry on the GPU; `elementwise`
// says that row i of every result depends on row i of the operands only.
// Layouts: A_t is row-major n×n (Dense) or n (Diagonal); b, y, λ are n.
// The `i` overloads compute one output row, for a thread per row on the GPU.
#pragma once
#include <cmath>

#include "hd.h"

namespace antler::kernels {

// Dense A [n, n], row-major.
struct DenseCombine {
  int64_t n = 0;
  ANTLER_HD int64_t aSize() const { return n * n; }

  template <typename T>
  ANTLER_HD T stepRow(const T* A, const T* prev, const T* b, int64_t i) const {
    T acc = b[i];
    for (int64_t j = 0; j < n; ++j) acc += A[i * n + j] * prev[j];
    return acc;
  }
  template <typename T>
  ANTLER_HD T stepTRow(const T* A, const T* prev, const T* b, int64_t i) const {
    T acc = b[i];
    for (int64_t j = 0; j < n; ++j) acc += A[j * n + i] * prev[j];
    return acc;
  }
  template <typename T>
  ANTLER_HD void step(const T* A, const T* prev, const T* b, T* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = stepRow(A, prev, b, i);
  }
  template <typename T>
  ANTLER_HD void stepT(const T* A, const T* prev, const T* b, T* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = stepTRow(A, prev, b, i);
  }
  // out = A2·A1; out must not alias A1 or A2.
  template <typename T>
  ANTLER_HD void compose(const T* A2, const T* A1, T* out) const {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T acc = T(0);
        for (int64_t k = 0; k < n; ++k) acc += A2[i * n + k] * A1[k * n + j];
        out[i * n + j] = acc;
      }
  }
  // (A, b) = (A2·A1, A2·b1 + b2); outputs must not alias inputs.
  template <typename T>
  ANTLER_HD void combine(const T* A1, const T* b1, const T* A2, const T* b2, T* A, T* b) const {
    compose(A2, A1, A);
    step(A2, b1, b2, b);
  }
  template <typename T>
  ANTLER_HD void outerRow(const T* l, const T* y, T* gA, int64_t i) const {
    for (int64_t j = 0; j < n; ++j) gA[i * n + j] = l[i] * y[j];
  }

  static constexpr bool elementwise = false;
  // Σ_k x[k·xs]·y[k·ys] over k < n.
  template <typename T>
  ANTLER_HD T dot(const T* x, int64_t xs, const T* y, int64_t ys) const {
    T acc = T(0);
    for (int64_t k = 0; k < n; ++k) acc += x[k * xs] * y[k * ys];
    return acc;
  }
  // Row i of Aᵀ·v (the transposed step without an offset: gy0 = A_0ᵀ λ_0).
  template <typename T>
  ANTLER_HD T applyTRow(const T* A, const T* v, int64_t i) const {
    return dot(A + i, n, v, 1);
  }
  // Entry e of A2·A1 (earlier A1, later A2).
  template <typename T>
  ANTLER_HD T composeEntry(const T* A2, const T* A1, int64_t e) const {
    const int64_t i = e / n, j = e - i * n;
    return dot(A2 + i * n, 1, A1 + j, n);
  }
  // Entry e of A2ᵀ·A1: the reverse scan's compose.
  template <typename T>
  ANTLER_HD T composeTEntry(const T* A2, const T* A1, int64_t e) const {
    const int64_t i = e / n, j = e - i * n;
    return dot(A2 + i, n, A1 + j, n);
  }
  template <typename T>
  ANTLER_HD T transposeEntry(const T* A, int64_t e) const {
    const int64_t i = e / n, j = e - i * n;
    return A[j * n + i];
  }
  // Entry e of l·yᵀ.
  template <typename T>
  ANTLER_HD T outerEntry(const T* l, const T* y, int64_t e) const {
    const int64_t i = e / n;
    return l[i] * y[e - i * n];
  }
};

// Diagonal A [n]: every operation is elementwise, so outputs may alias inputs.
struct DiagonalCombine {
  int64_t n = 0;
  ANTLER_HD int64_t aSize() const { return n; }

  template <typename T>
  ANTLER_HD T stepRow(const T* A, const T* prev, const T* b, int64_t i) const {
    return A[i] * prev[i] + b[i];
  }
  template <typename T>
  ANTLER_HD T stepTRow(const T* A, const T* prev, const T* b, int64_t i) const {
    return A[i] * prev[i] + b[i];
  }
  template <typename T>
  ANTLER_HD void step(const T* A, const T* prev, const T* b, T* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = stepRow(A, prev, b, i);
  }
  template <typename T>
  ANTLER_HD void stepT(const T* A, const T* prev, const T* b, T* out) const {
    step(A, prev, b, out);
  }
  template <typename T>
  ANTLER_HD void compose(const T* A2, const T* A1, T* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = A2[i] * A1[i];
  }
  template <typename T>
  ANTLER_HD void combine(const T* A1, const T* b1, const T* A2, const T* b2, T* A, T* b) const {
    for (int64_t i = 0; i < n; ++i) {
      b[i] = A2[i] * b1[i] + b2[i];
      A[i] = A2[i] * A1[i];
    }
  }
  template <typename T>
  ANTLER_HD void outerRow(const T* l, const T* y, T* gA, int64_t i) const {
    gA[i] = l[i] * y[i];
  }

  static constexpr bool elementwise = true;
  template <typename T>
  ANTLER_HD T applyTRow(const T* A, const T* v, int64_t i) const {
    return A[i] * v[i];
  }
  template <typename T>
  ANTLER_HD T composeEntry(const T* A2, const T* A1, int64_t e) const {
    return A2[e] * A1[e];
  }
  template <typename T>
  ANTLER_HD T composeTEntry(const T* A2, const T* A1, int64_t e) const {
    return A2[e] * A1[e];
  }
  template <typename T>
  ANTLER_HD T transposeEntry(const T* A, int64_t e) const {
    return A[e];
  }
  template <typename T>
  ANTLER_HD T outerEntry(const T* l, const T* y, int64_t e) const {
    return l[e] * y[e];
  }
};

// Sizes of one scan: T steps, B independent batch elements, state size n.
struct ScanConfig {
  int64_t T = 0, B = 0, n = 0;
  bool diagonal = false;
  ANTLER_HD int64_t aSize() const { return diagonal ? n : n * n; }
};

// T steps cut into `count` chunks of `len` steps (the last may be shorter),
// none empty: chunk c covers steps [begin(c), end(c)).
struct ScanChunks {
  int64_t T = 0, len = 0, count = 1;
  ANTLER_HD int64_t begin(int64_t c) const { return c * len; }
  ANTLER_HD int64_t end(int64_t c) const { return c * len + len < T ? c * len + len : T; }
};

// At most `chunks` (≥ 1) chunks of equal length over T ≥ 1 steps.
ANTLER_HD ScanChunks scanChunks(int64_t T, int64_t chunks) {
  ScanChunks p;
  p.T = T;
  p.len = (T + chunks - 1) / chunks;
  p.count = (T + p.len - 1) / p.len;
  return p;
}

// How many chunks the chunked scans (CPU and GPU, linear and ELK) cut T steps
// of `units` independent chains into: enough that units·chunks reaches
// `target` workers, every chunk at least minSteps long and, when `balanced`,
// no more than about √(2T) of them (a chunk costs about twice its length, the
// summaries one step each). 1 when chunking cannot help. Host code.
inline int64_t chunkCount(int64_t T, int64_t units, int64_t target, int64_t minSteps, bool balanced) {
  int64_t chunks = (target + units - 1) / (units > 0 ? units : 1);
  if (chunks > T / minSteps) chunks = T / minSteps;
  if (balanced) {
    const int64_t cap = static_cast<int64_t>(std::ceil(std::sqrt(2.0 * static_cast<double>(T))));
    if (chunks > cap) chunks = cap;
  }
  return chunks >= 2 ? chunks : 1;
}

}  // namespace antler::kernels
