#include "linalg.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>

#include "../core/error.h"
#include "blas.h"
#include "parallel.h"

namespace antler::cpu {

namespace {

// Multiplies column j by −1 where R's diagonal entry d[j] is negative.
void fixSigns(double* a, int64_t m, int64_t n, const std::vector<double>& d) {
  for (int64_t j = 0; j < n; ++j)
    if (d[j] < 0)
      for (int64_t i = 0; i < m; ++i) a[i + j * m] = -a[i + j * m];
}

// Applies I − tau v vᵀ (v[k] = 1, v[i] for i > k read from vk) to columns [j0, n) of a, rows [k, m).
void reflect(double* a, int64_t m, int64_t n, int64_t k, int64_t j0, const double* vk, double tau) {
  if (tau == 0 || j0 >= n) return;
  parallelFor(n - j0, (n - j0) * (m - k), [&](int64_t c) {
    double* col = a + (j0 + c) * m;
    double w = col[k];
    for (int64_t i = k + 1; i < m; ++i) w += vk[i] * col[i];
    w *= tau;
    col[k] -= w;
    for (int64_t i = k + 1; i < m; ++i) col[i] -= w * vk[i];
  });
}

void householder(double* a, int64_t m, int64_t n) {
  std::vector<double> tau(n), d(n);
  for (int64_t k = 0; k < n; ++k) {
    double* col = a + k * m;
    double ss = 0;
    for (int64_t i = k; i < m; ++i) ss += col[i] * col[i];
    const double alpha = std::sqrt(ss), x0 = col[k];
    if (alpha == 0) {  // a zero column: no reflection, R's entry 0
      tau[k] = 0, d[k] = 0;
      for (int64_t i = k + 1; i < m; ++i) col[i] = 0;
      continue;
    }
    // beta takes the sign opposite to x0, so x0 − beta adds magnitudes (no cancellation).
    const double beta = x0 >= 0 ? -alpha : alpha;
    tau[k] = (beta - x0) / beta;
    const double scale = 1 / (x0 - beta);
    for (int64_t i = k + 1; i < m; ++i) col[i] *= scale;
    d[k] = beta;
    reflect(a, m, n, k, k + 1, col, tau[k]);
  }
  // Q = H_0 H_1 … H_{n−1} [I; 0], accumulated from the last reflection (each H_k leaves columns < k alone).
  std::vector<double> v(a, a + m * n);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) a[i + j * m] = i == j ? 1.0 : 0.0;
  for (int64_t k = n - 1; k >= 0; --k) reflect(a, m, n, k, k, v.data() + k * m, tau[k]);
  fixSigns(a, m, n, d);
}

bool lapack(double* a, int64_t m64, int64_t n64) {
  const blas::Library& lib = blas::library();
  if (!lib.dgeqrf || !lib.dorgqr || m64 > INT_MAX || n64 > INT_MAX) return false;
  const int m = static_cast<int>(m64), n = static_cast<int>(n64);
  std::vector<double> tau(n64);
  int info = 0, query = -1;
  double best = 0;
  lib.dgeqrf(&m, &n, a, &m, tau.data(), &best, &query, &info);
  if (info != 0) fail(Code::Internal, "orthogonal_: LAPACK dgeqrf's workspace query failed (info ", info, ")");
  double bestQ = 0;
  lib.dorgqr(&m, &n, &n, a, &m, tau.data(), &bestQ, &query, &info);
  if (info != 0) fail(Code::Internal, "orthogonal_: LAPACK dorgqr's workspace query failed (info ", info, ")");
  const int lwork = static_cast<int>(std::max({best, bestQ, static_cast<double>(n), 1.0}));
  std::vector<double> work(lwork);
  lib.dgeqrf(&m, &n, a, &m, tau.data(), work.data(), &lwork, &info);
  if (info != 0) fail(Code::Internal, "orthogonal_: LAPACK dgeqrf failed (info ", info, ")");
  std::vector<double> d(n64);
  for (int64_t j = 0; j < n64; ++j) d[j] = a[j + j * m64];
  lib.dorgqr(&m, &n, &n, a, &m, tau.data(), work.data(), &lwork, &info);
  if (info != 0) fail(Code::Internal, "orthogonal_: LAPACK dorgqr failed (info ", info, ")");
  fixSigns(a, m64, n64, d);
  return true;
}

}  // namespace

const char* orthonormalizeColumns(double* a, int64_t m, int64_t n, bool allowLapack) {
  if (n < 1 || m < n) fail(Code::Internal, "orthonormalizeColumns: expected m >= n >= 1; got m ", m, ", n ", n);
  if (allowLapack && lapack(a, m, n)) return "lapack";
  householder(a, m, n);
  return "householder";
}

}  // namespace antler::cpu
