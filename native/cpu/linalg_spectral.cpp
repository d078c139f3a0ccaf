// Batched dense linear algebra on the CPU: symmetric eigendecomposition (eigh) and SVD.
//  - Small matrices (and preferredLinalg 'builtin', and no LAPACK): the Jacobi kernels of kernels/linalg_spectral.h,
//    one matrix per OpenMP iteration (SerialLanes), each with its own scratch.
//  - Large ones (blas::useLapack: at or above the op's threshold below, or at every size under 'lapack'): LAPACK's
//    dsyevd (divide and conquer) and dgesdd (divide and conquer; dgesvd when it does not converge) from the opened
//    OpenBLAS, one matrix after the other (OpenBLAS threads inside each), in float64 for both dtypes as the kernels
//    are. The kernels' contracts hold on both paths: eigenvalues ascending, singular values descending, eigenvectors
//    as columns, info = 1 and NaN outputs for a matrix holding NaN or ±inf (checked before LAPACK sees it) or that
//    did not converge. Neither path normalises the signs of vectors.
#include <algorithm>
#include <climits>
#include <cmath>
#include <shared_mutex>
#include <vector>

#include "../core/error.h"
#include "../kernels/linalg_spectral.h"
#include "blas.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

namespace k = kernels;

namespace {

// The size (n of n×n; min(m, n) of m×n) from which 'default' runs LAPACK. Measured on a shared 2-core machine
// (OpenBLAS 0.3.21, float64, median ms per call, built-in Jacobi / LAPACK; a batch of 64 runs the kernels in parallel
// over the batch and LAPACK one matrix after the other). Other jobs loaded the machine (load average 10–18): LAPACK's
// entries from 48 on are the least of three runs, which varied up to 5× (svd 64 alone: 270, 3.2 and 0.60 ms).
//            n:  4          8          12         16         24       32       48        64        96        128
//   eigh     1: .052/.038  .047/.060  .089/.056  .82/.078   1.2/.12  2.0/.16  16/.31    44/.46    150/3.6   320/4.0
//           64: .61/.12    1.5/.90    10/3.7     28/8.4     130/16   300/28   1100/42   2600/74   9600/150  42000/260
//   eigvalsh 1: .050/.026  .039/.033  .079/.039  .70/.058   2.9/.089 5.5/.12  17/.11    36/.19    130/.33   350/.79
//           64: .63/.083   4.2/.75    12/4.3     28/6.9     120/12   260/19   880/30    2300/46   12000/80  30000/130
//   svd      1: .066/.045  .051/.061  .090/.045  .69/.090   1.3/.16  3.8/.18  53/.40    92/.60    230/2.4   560/9.0
//           64: .63/.18    1.6/.49    12/1.2     50/18      180/25   440/24   1000/51   3100/91   20000/200 32000/420
//   svdvals  1: .020/.023  .029/.023  .053/.029  4.5/.030   4.3/.039 7.9/.057 27/.088   59/.14    170/.34   310/1.0
//           64: .58/.11    1.1/.25    8.1/.43    32/.70     120/1.4  360/15   1100/17   2100/20   6900/53   14000/150
// LAPACK wins clearly (2× to 10× alone, more in batches) from 12 for the SVD and from 16 for eigh (at 12–14 eigh and
// eigvalsh gain 1.5× alone). Below, the kernels stay: they are as fast alone, and eigh's Jacobi keeps the small
// eigenvalues of graded positive definite matrices relatively accurate, which dsyevd does not (linalg-spectral.test's
// graded 8×8 lost 0.5% of its smallest eigenvalue under 'lapack'). Under LAPACK, eigvalsh's values (dsyevd 'N': QR
// iteration) may differ from eigh's (divide and conquer) in the last bits, as torch's do; the kernels' agree exactly.
constexpr int64_t kEighLapackFrom = 16;
constexpr int64_t kEigvalshLapackFrom = 16;
constexpr int64_t kSvdLapackFrom = 12;
constexpr int64_t kSvdvalsLapackFrom = 12;

// LAPACK's Fortran routines: every argument by pointer, the hidden lengths of the character arguments last.
using DsyevdFn = void (*)(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                          double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);
using DgesddFn = void (*)(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                          const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                          int* info, size_t);
using DgesvdFn = void (*)(const char* jobu, const char* jobvt, const int* m, const int* n, double* a, const int* lda,
                          double* s, double* u, const int* ldu, double* vt, const int* ldvt, double* work,
                          const int* lwork, int* info, size_t, size_t);

DsyevdFn dsyevd() {
  static const auto f = reinterpret_cast<DsyevdFn>(blas::lapackSymbol("dsyevd_"));
  return f;
}
DgesddFn dgesdd() {
  static const auto f = reinterpret_cast<DgesddFn>(blas::lapackSymbol("dgesdd_"));
  return f;
}
DgesvdFn dgesvd() {
  static const auto f = reinterpret_cast<DgesvdFn>(blas::lapackSymbol("dgesvd_"));
  return f;
}

// LAPACK's integers are 32-bit: dgesdd's workspace (up to about m·n + 4k² + 7k) and the factors must fit, with room.
// Larger matrices stay on the built-in kernels.
constexpr int64_t kLapackMaxElems = INT_MAX / 4;

// A LAPACK workspace size from a query (work[0] as a double), or −1 when it does not fit an int.
int workspaceSize(double query) {
  return query < static_cast<double>(INT_MAX) ? std::max(1, static_cast<int>(query)) : -1;
}

template <typename T>
void fillNaN(T* x, int64_t size) {
  std::fill(x, x + size, static_cast<T>(NAN));
}

// eigh of each n×n matrix by dsyevd. The symmetric matrix the kernels read (A's lower triangle, or its upper when
// `upper`, mirrored) is written whole into a column-major buffer, so uplo 'L' reads the intended triangle; the
// eigenvectors come back as its columns: V[i][j] = a[i + j·n]. Returns false (nothing written) for n = 0 and sizes
// that do not fit LAPACK's integers (dsyevd's workspace 1 + 6n + 2n²).
template <typename T>
bool eighLapack(const T* A, int64_t B, int64_t n64, bool upper, bool vectors, T* w, T* V, int32_t* info) {
  if (n64 == 0 || 2 * n64 * n64 + 6 * n64 + 1 >= INT_MAX) return false;
  const int n = static_cast<int>(n64);
  const char jobz = vectors ? 'V' : 'N', uplo = 'L';
  std::vector<double> a(static_cast<size_t>(n64 * n64)), wd(static_cast<size_t>(n64));
  double workQuery = 0;
  int iworkQuery = 0, query = -1, res = 0;
  const std::shared_lock<std::shared_mutex> lock(blas::threadCountLock());   // no thread-count switch meanwhile
  dsyevd()(&jobz, &uplo, &n, a.data(), &n, wd.data(), &workQuery, &query, &iworkQuery, &query, &res, 1, 1);
  if (res != 0) fail(Code::Internal, "linalgEigh: LAPACK dsyevd's workspace query failed (info ", res, ")");
  const int lwork = workspaceSize(workQuery), liwork = std::max(1, iworkQuery);
  if (lwork < 0) return false;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  for (int64_t b = 0; b < B; ++b) {
    const T* Ab = A + b * n64 * n64;
    T* wb = w + b * n64;
    T* Vb = vectors ? V + b * n64 * n64 : nullptr;
    bool finite = true;
    for (int64_t i = 0; i < n64; ++i)
      for (int64_t j = 0; j < n64; ++j) {
        const double x = static_cast<double>((upper ? i <= j : i >= j) ? Ab[i * n64 + j] : Ab[j * n64 + i]);
        finite = finite && std::isfinite(x);
        a[i * n64 + j] = x;
      }
    res = 0;
    if (finite) dsyevd()(&jobz, &uplo, &n, a.data(), &n, wd.data(), work.data(), &lwork, iwork.data(), &liwork, &res,
                         1, 1);
    if (res < 0) fail(Code::Internal, "linalgEigh: LAPACK dsyevd rejected argument ", -res);
    info[b] = finite && res == 0 ? 0 : 1;
    if (info[b] != 0) {   // non-finite input, or not converged (res > 0)
      fillNaN(wb, n64);
      if (vectors) fillNaN(Vb, n64 * n64);
      continue;
    }
    for (int64_t i = 0; i < n64; ++i) wb[i] = static_cast<T>(wd[i]);
    if (vectors)
      for (int64_t i = 0; i < n64; ++i)
        for (int64_t j = 0; j < n64; ++j) Vb[i * n64 + j] = static_cast<T>(a[i + j * n64]);
  }
  return true;
}

// SVD of each m×n row-major matrix by dgesdd (dgesvd when dgesdd does not converge). LAPACK reads the row-major A
// as the column-major n×m Aᵀ = U′ Σ V′ᵀ, so A = V′ Σ U′ᵀ: A's U is V′, whose transpose V′ᵀ LAPACK writes column-major
// (uc × m, ldvt = uc), which is U's row-major m × uc layout; A's Vh is U′ᵀ, and U′ column-major (n × vr, ldu = n) is
// Vh's row-major vr × n. Returns false (nothing written) for empty matrices (the kernels' completed bases) and sizes
// that do not fit LAPACK's integers.
template <typename T>
bool svdLapack(const T* A, int64_t B, int64_t m64, int64_t n64, bool full, bool vectors, T* U, T* S, T* Vh,
               int32_t* info) {
  const int64_t k64 = std::min(m64, n64), big = std::max(m64, n64);
  if (k64 == 0 || m64 * n64 + 4 * k64 * k64 + 8 * big > kLapackMaxElems || (vectors && full && big * big > kLapackMaxElems))
    return false;
  const int lm = static_cast<int>(n64), ln = static_cast<int>(m64);
  const int64_t uc = full ? m64 : k64, vr = full ? n64 : k64;   // U [m, uc], Vh [vr, n]
  const char jobz = !vectors ? 'N' : full ? 'A' : 'S';
  const int ldu = lm, ldvt = vectors ? static_cast<int>(uc) : 1;
  std::vector<double> a(static_cast<size_t>(m64 * n64)), s(static_cast<size_t>(k64));
  std::vector<double> u(vectors ? static_cast<size_t>(vr * n64) : 1), vt(vectors ? static_cast<size_t>(m64 * uc) : 1);
  std::vector<int> iwork(static_cast<size_t>(8 * k64));
  double workQuery = 0;
  int query = -1, res = 0;
  const std::shared_lock<std::shared_mutex> lock(blas::threadCountLock());   // no thread-count switch meanwhile
  dgesdd()(&jobz, &lm, &ln, a.data(), &lm, s.data(), u.data(), &ldu, vt.data(), &ldvt, &workQuery, &query, iwork.data(),
           &res, 1);
  if (res != 0) fail(Code::Internal, "linalgSvd: LAPACK dgesdd's workspace query failed (info ", res, ")");
  const int lwork = workspaceSize(workQuery);
  if (lwork < 0) return false;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<double> workSvd;   // dgesvd's, queried on the first matrix dgesdd does not converge on
  int lworkSvd = 0;
  bool queriedSvd = false;
  const auto load = [&](const T* Ab) {
    bool finite = true;
    for (int64_t e = 0; e < m64 * n64; ++e) {
      a[e] = static_cast<double>(Ab[e]);
      finite = finite && std::isfinite(a[e]);
    }
    return finite;
  };
  for (int64_t b = 0; b < B; ++b) {
    const T* Ab = A + b * m64 * n64;
    T* Sb = S + b * k64;
    T* Ub = vectors ? U + b * m64 * uc : nullptr;
    T* Vhb = vectors ? Vh + b * vr * n64 : nullptr;
    const bool finite = load(Ab);
    res = 0;
    if (finite)
      dgesdd()(&jobz, &lm, &ln, a.data(), &lm, s.data(), u.data(), &ldu, vt.data(), &ldvt, work.data(), &lwork,
               iwork.data(), &res, 1);
    if (res < 0) fail(Code::Internal, "linalgSvd: LAPACK dgesdd rejected argument ", -res);
    if (finite && res > 0 && dgesvd()) {   // dgesdd did not converge: the QR-iteration driver on the same matrix
      if (!queriedSvd) {
        queriedSvd = true;
        int q = 0;
        dgesvd()(&jobz, &jobz, &lm, &ln, a.data(), &lm, s.data(), u.data(), &ldu, vt.data(), &ldvt, &workQuery, &query,
                 &q, 1, 1);
        if (q != 0) fail(Code::Internal, "linalgSvd: LAPACK dgesvd's workspace query failed (info ", q, ")");
        lworkSvd = workspaceSize(workQuery);
        if (lworkSvd > 0) workSvd.resize(static_cast<size_t>(lworkSvd));
      }
      if (!workSvd.empty()) {   // else (a workspace beyond LAPACK's integers) reported as not converged
        load(Ab);
        dgesvd()(&jobz, &jobz, &lm, &ln, a.data(), &lm, s.data(), u.data(), &ldu, vt.data(), &ldvt, workSvd.data(),
                 &lworkSvd, &res, 1, 1);
        if (res < 0) fail(Code::Internal, "linalgSvd: LAPACK dgesvd rejected argument ", -res);
      }
    }
    info[b] = finite && res == 0 ? 0 : 1;
    if (info[b] != 0) {   // non-finite input, or not converged
      fillNaN(Sb, k64);
      if (vectors) {
        fillNaN(Ub, m64 * uc);
        fillNaN(Vhb, vr * n64);
      }
      continue;
    }
    for (int64_t j = 0; j < k64; ++j) Sb[j] = static_cast<T>(s[j]);
    if (vectors) {
      for (int64_t e = 0; e < m64 * uc; ++e) Ub[e] = static_cast<T>(vt[e]);
      for (int64_t e = 0; e < vr * n64; ++e) Vhb[e] = static_cast<T>(u[e]);
    }
  }
  return true;
}

template <typename T>
void eigh(const T* A, int64_t B, int64_t n, bool upper, bool vectors, T* w, T* V, int32_t* info) {
  if (B > 0 && blas::useLapack(n, vectors ? kEighLapackFrom : kEigvalshLapackFrom, {"dsyevd_"}) &&
      eighLapack(A, B, n, upper, vectors, w, V, info))
    return;
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
  if (B > 0 && blas::useLapack(kk, vectors ? kSvdLapackFrom : kSvdvalsLapackFrom, {"dgesdd_", "dgesvd_"}) &&
      svdLapack(A, B, m, n, full, vectors, U, S, Vh, info))
    return;
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
