// The DEER linear recurrence y_t = A_t y_{t−1} + b_t (ALGORITHMS.md §2) as a
// scan over pairs (A, b). Each variant of A is a combine type with the same
// four functions, so one scan (cpu/scan.cpp, cuda/scan.cu) serves them all:
//   step(A, prev, b, out)      out = A·prev + b       (out must not alias prev for Dense)
//   stepT(A, prev, b, out)     out = Aᵀ·prev + b      (the adjoint's reverse scan)
//   compose(A2, A1, out)       out = A2·A1            (earlier A1, later A2)
//   combine(A1,b1, A2,b2, …)   (A2·A1, A2·b1 + b2)    the scan's associative operator
//   outer(l, y, gA)            gA = l·yᵀ (Dense) or l ⊙ y (Diagonal): ∂loss/∂A from λ and y_{t−1}
// Layouts: A_t is row-major n×n (Dense) or n (Diagonal); b, y, λ are n.
// The `i` overloads compute one output row, for a thread per row on the GPU.
#pragma once
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
};

// Sizes of one scan: T steps, B independent batch elements, state size n.
struct ScanConfig {
  int64_t T = 0, B = 0, n = 0;
  bool diagonal = false;
  ANTLER_HD int64_t aSize() const { return diagonal ? n : n * n; }
};

}  // namespace antler::kernels
