// Batched dense linear algebra on the CPU: symmetric eigendecomposition (eigh) and SVD (kernels/linalg_spectral.h),
// one matrix per OpenMP iteration (SerialLanes), each with its own scratch.
#include <vector>

#include "../core/error.h"
#include "../kernels/linalg_spectral.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

namespace {

template <typename T>
void eigh(const T* A, int64_t B, int64_t n, bool upper, bool vectors, T* w, T* V, int32_t* info) {
  const int64_t scratch = k::eighScratchSize(n, vectors);
  parallelFor(B, B * n * n * n * 8, [&](int64_t b) {
    std::vector<double> s(static_cast<size_t>(scratch));
    k::lanesEigh(k::SerialLanes{}, n, A + b * n * n, upper, vectors, w + b * n, vectors ? V + b * n * n : nullptr,
                 info + b, s.data());
  });
}

template <typename T>
void svd(const T* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors, T* U, T* S, T* Vh, int32_t* info) {
  const int64_t kk = m < n ? m : n, uc = full ? m : kk, vr = full ? n : kk;
  const int64_t scratch = k::svdScratchSize(m, n, full, vectors);
  parallelFor(B, B * m * n * (kk + 1) * 8, [&](int64_t b) {
    std::vector<double> s(static_cast<size_t>(scratch));
    k::lanesSvd(k::SerialLanes{}, m, n, A + b * m * n, full, vectors, vectors ? U + b * m * uc : nullptr, S + b * kk,
                vectors ? Vh + b * vr * n : nullptr, info + b, s.data());
  });
}

}  // namespace

void linalgEigh(DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w, void* V,
                int32_t* info) {
  switch (t) {
    case DType::Float32:
      return eigh(static_cast<const float*>(A), B, n, upper, vectors, static_cast<float*>(w), static_cast<float*>(V), info);
    case DType::Float64:
      return eigh(static_cast<const double*>(A), B, n, upper, vectors, static_cast<double*>(w), static_cast<double*>(V),
                  info);
    default: fail(Code::Internal, "linalgEigh: unsupported dtype ", static_cast<int>(t));
  }
}

void linalgSvd(DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors, void* U, void* S,
               void* Vh, int32_t* info) {
  switch (t) {
    case DType::Float32:
      return svd(static_cast<const float*>(A), B, m, n, full, vectors, static_cast<float*>(U), static_cast<float*>(S),
                 static_cast<float*>(Vh), info);
    case DType::Float64:
      return svd(static_cast<const double*>(A), B, m, n, full, vectors, static_cast<double*>(U), static_cast<double*>(S),
                 static_cast<double*>(Vh), info);
    default: fail(Code::Internal, "linalgSvd: unsupported dtype ", static_cast<int>(t));
  }
}

}  // namespace antler::cpu
