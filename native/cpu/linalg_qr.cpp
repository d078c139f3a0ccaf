// Batched dense linear algebra on the CPU: Householder QR (kernels/linalg_qr.h),
// one matrix per task of parallelFor, each on one thread (SerialLanes); large matrices
// (blas::useLapack: min(m, n) at or above kQrLapack under 'default', every size under 'lapack') through
// LAPACK's geqrf + orgqr from the opened OpenBLAS, one call per matrix, the batch in sequence, OpenBLAS's
// threads inside each call.
//
// Precision: the kernel computes float32 in float (only the column norms are accumulated in double, as
// LAPACK's snrm2 scales them), so float32 goes to sgeqrf/sorgqr, float64 to dgeqrf/dorgqr. Both follow
// LAPACK's sign convention (R's diagonal −sign(α)·‖x‖, not made positive), so Q and R agree up to rounding.
#include <algorithm>
#include <climits>
#include <shared_mutex>
#include <vector>

#include "../core/error.h"
#include "../kernels/linalg_qr.h"
#include "blas.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace {

// min(m, n) from which 'default' runs LAPACK. The built-in kernel (rows walked contiguously) keeps up with
// geqrf + orgqr far longer than the other factorisations do: timed through linalg.qr (reduced, n×n) under
// 'builtin' and 'lapack' on the 2-core dev machine while other builds ran (load average 15–18: noisy, the
// minimum of interleaved runs), OpenBLAS 0.3.21 on 2 threads, ms, built-in → LAPACK:
//   float64, one matrix: n=64 .41→.15 / .60→.49  96 .87→.45 / 2.9→.35  128 1.0→1.0 / 1.0→3.3 / 1.2→.98
//            192 7.2→7.2 / 9.8→7.4 / 16→12  256 9.5→6.8 / 16→12 / 21→14  384 17→11 / 41→27  512 91→58
//   float64, a batch of 64: n=32 4.2→4.0  64 30→42 / 33→25  128 140→197 / 141→192  192 441→416
//   float32, one matrix: n=128 .49→.86 / .70→.80  192 3.5→3.3  256 2.8→2.0 / 5.0→4.4  384 9.1→6.7 / 10→7.4
// LAPACK wins by a quarter or more in most runs only from 256 on (outliers both ways under this load: float32
// 256 once 5.0→20), ties at 128–192 and loses on batches of 128×128.
constexpr int64_t kQrLapack = 256;

template <typename T>
using GeqrfFn = void (*)(const int*, const int*, T*, const int*, T*, T*, const int*, int*);
template <typename T>
using OrgqrFn = void (*)(const int*, const int*, const int*, T*, const int*, const T*, T*, const int*, int*);

template <typename T>
struct QrNames;
template <>
struct QrNames<float> {
  static constexpr const char* geqrf = "sgeqrf_";
  static constexpr const char* orgqr = "sorgqr_";
};
template <>
struct QrNames<double> {
  static constexpr const char* geqrf = "dgeqrf_";
  static constexpr const char* orgqr = "dorgqr_";
};

// One QR per matrix by geqrf (+ orgqr when Q is formed) on a column-major copy; R is geqrf's upper
// triangle (rows ≥ k zero for 'complete' with m > n), Q orgqr's first qCols columns of H_0 ⋯ H_{k−1}.
template <typename T>
void lapackQr(int64_t B, const kernels::QrDims& d, const T* A, T* Q, T* R) {
  static const auto geqrf = reinterpret_cast<GeqrfFn<T>>(blas::lapackSymbol(QrNames<T>::geqrf));
  static const auto orgqr = reinterpret_cast<OrgqrFn<T>>(blas::lapackSymbol(QrNames<T>::orgqr));
  const int64_t m = d.m, n = d.n, k = d.k, qc = d.qCols;
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k), qi = static_cast<int>(qc);
  // The m×max(n, qCols) column-major work matrix: A's columns, then (for 'complete' with m > n) room for
  // Q's extra columns, which orgqr fills.
  const int64_t cols = std::max(n, qc);
  std::vector<T> a(static_cast<size_t>(m * cols)), tau(static_cast<size_t>(k));
  // The workspace: geqrf's and orgqr's own queries.
  int inf = 0, query = -1;
  T best = 0, bestQ = 0;
  geqrf(&mi, &ni, a.data(), &mi, tau.data(), &best, &query, &inf);
  if (inf != 0)
    fail(Code::Internal, "linalg.qr: LAPACK ", QrNames<T>::geqrf, "'s workspace query failed (info ", inf, ")");
  if (qc > 0) {
    orgqr(&mi, &qi, &ki, a.data(), &mi, tau.data(), &bestQ, &query, &inf);
    if (inf != 0)
      fail(Code::Internal, "linalg.qr: LAPACK ", QrNames<T>::orgqr, "'s workspace query failed (info ", inf, ")");
  }
  const int lwork = static_cast<int>(std::max({static_cast<double>(best), static_cast<double>(bestQ),
                                               static_cast<double>(cols), 1.0}));
  std::vector<T> work(static_cast<size_t>(lwork));
  const std::shared_lock<std::shared_mutex> threads(blas::threadCountLock());
  for (int64_t b = 0; b < B; ++b) {
    const T* x = A + b * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) a[i + j * m] = x[i * n + j];
    geqrf(&mi, &ni, a.data(), &mi, tau.data(), work.data(), &lwork, &inf);
    if (inf != 0) fail(Code::Internal, "linalg.qr: LAPACK ", QrNames<T>::geqrf, " failed (info ", inf, ")");
    T* r = R + b * d.rRows * n;
    for (int64_t i = 0; i < d.rRows; ++i)
      for (int64_t j = 0; j < n; ++j) r[i * n + j] = i <= j ? a[i + j * m] : T(0);
    if (qc == 0) continue;
    orgqr(&mi, &qi, &ki, a.data(), &mi, tau.data(), work.data(), &lwork, &inf);
    if (inf != 0) fail(Code::Internal, "linalg.qr: LAPACK ", QrNames<T>::orgqr, " failed (info ", inf, ")");
    T* q = Q + b * m * qc;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < qc; ++j) q[i * qc + j] = a[i + j * m];
  }
}

}  // namespace

template <typename T>
static void linalgQrTyped(int64_t B, const kernels::QrDims& d, const T* A, T* Q, T* R) {
  const int64_t m = d.m, n = d.n;
  if (d.k > 0 && m <= INT_MAX && n <= INT_MAX && m * std::max(n, d.qCols) <= INT_MAX &&
      blas::useLapack(d.k, kQrLapack, {QrNames<T>::geqrf, QrNames<T>::orgqr}))
    return lapackQr(B, d, A, Q, R);
  const int64_t work = B * (m * n * (d.k + d.qCols) + 1);
  parallelFor(B, work, [&](int64_t b) {
    static thread_local std::vector<T> scratch;
    const size_t need = static_cast<size_t>(m * n + d.k + 1);
    if (scratch.size() < need) scratch.resize(need);
    double red[2];
    kernels::householderQr(kernels::SerialLanes{}, d, A + b * m * n, scratch.data(), scratch.data() + m * n, red,
                           d.qCols > 0 ? Q + b * m * d.qCols : nullptr, R + b * d.rRows * n);
  });
}

void linalgQr(DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n, int64_t qCols, int64_t rRows) {
  if (B <= 0) return;
  const kernels::QrDims d{m, n, m < n ? m : n, qCols, rRows};
  switch (t) {
    case DType::Float32:
      return linalgQrTyped(B, d, static_cast<const float*>(A), static_cast<float*>(Q), static_cast<float*>(R));
    case DType::Float64:
      return linalgQrTyped(B, d, static_cast<const double*>(A), static_cast<double*>(Q), static_cast<double*>(R));
    default:
      break;
  }
  fail(Code::Internal, "linalg.qr: unsupported dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
