#include "gemm.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "parallel.h"

#include "blas.h"

namespace antler::cpu {

namespace {

// Block sizes chosen so a packed A block (MC x KC) and B block (KC x NC) of
// doubles stay within a typical 256 KiB L2.
constexpr int64_t MC = 64, KC = 256, NC = 256;

// C = op(A) op(B) for one batch. op(A)(i, p) = transA ? A[p*m + i] : A[i*k + p].
template <typename T>
void gemmBlocked(const T* A, const T* B, T* C, int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  const int64_t rowBlocks = (m + MC - 1) / MC;
  parallelFor(rowBlocks, m * n * k, [&](int64_t rb) {
    const int64_t i0 = rb * MC, i1 = std::min(m, i0 + MC);
    std::vector<T> packA(static_cast<size_t>(MC * KC));
    std::vector<T> packB(static_cast<size_t>(KC * NC));
    for (int64_t i = i0; i < i1; ++i) std::fill(C + i * n, C + (i + 1) * n, T(0));
    for (int64_t p0 = 0; p0 < k; p0 += KC) {
      const int64_t p1 = std::min(k, p0 + KC), kb = p1 - p0;
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t p = p0; p < p1; ++p)
          packA[(i - i0) * kb + (p - p0)] = transA ? A[p * m + i] : A[i * k + p];
      for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t j1 = std::min(n, j0 + NC), nb = j1 - j0;
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t j = j0; j < j1; ++j)
            packB[(p - p0) * nb + (j - j0)] = transB ? B[j * k + p] : B[p * n + j];
        for (int64_t i = i0; i < i1; ++i) {
          T* crow = C + i * n + j0;
          const T* arow = packA.data() + (i - i0) * kb;
          for (int64_t p = 0; p < kb; ++p) {
            const T av = arow[p];
            const T* brow = packB.data() + p * nb;
#pragma omp simd
            for (int64_t j = 0; j < nb; ++j) crow[j] += av * brow[j];
          }
        }
      }
    }
  });
}

inline void blasGemm(const blas::Library& lib, const float* A, const float* B, float* C, int64_t m, int64_t n, int64_t k,
                     bool tA, bool tB) {
  lib.sgemm(blas::kRowMajor, tA ? blas::kTrans : blas::kNoTrans, tB ? blas::kTrans : blas::kNoTrans, static_cast<int>(m),
            static_cast<int>(n), static_cast<int>(k), 1.0f, A, static_cast<int>(tA ? m : k), B,
            static_cast<int>(tB ? k : n), 0.0f, C, static_cast<int>(n));
}
inline void blasGemm(const blas::Library& lib, const double* A, const double* B, double* C, int64_t m, int64_t n,
                     int64_t k, bool tA, bool tB) {
  lib.dgemm(blas::kRowMajor, tA ? blas::kTrans : blas::kNoTrans, tB ? blas::kTrans : blas::kNoTrans, static_cast<int>(m),
            static_cast<int>(n), static_cast<int>(k), 1.0, A, static_cast<int>(tA ? m : k), B,
            static_cast<int>(tB ? k : n), 0.0, C, static_cast<int>(n));
}

// Products of fewer multiply-adds than this run on one OpenBLAS thread. Its pool's threads
// sleep between calls, and between products a training step runs OpenMP loops: waking
// them cost about 250 µs per product on a 2-core machine (a 128×128×128 product: 48 µs
// with warm threads, 281 µs after an elementwise loop; on one thread 47 and 76 µs), while a
// second thread saves little below ~4M multiply-adds (~100 µs of work on one core).
constexpr int64_t kSingleThreadGemm = int64_t(1) << 22;

// OpenBLAS's thread count is one setting for the whole process. A product below the
// cut sets it to one thread for its own call and back to the count antler means
// (blas::wantedThreads) after; that switch must not overlap any other product, which
// would then run, and round, on one thread too (a review saw a worker's 400³ products
// change in their last bits while the main thread ran small ones). So the small
// products hold this lock exclusively and the others shared: every product runs on the
// thread count its size decides, whatever other threads do (concurrent small products
// from worker threads take turns; setNumThreads takes it exclusively too).
using blas::threadCountLock;

class ThreadCountFor {
 public:
  ThreadCountFor(const blas::Library& lib, bool useBlas, int64_t work) : lib_(lib) {
    if (!useBlas || !lib.setThreads || blas::wantedThreads() <= 1) return;
    small_ = work < kSingleThreadGemm;
    if (small_) {
      exclusive_ = std::unique_lock<std::shared_mutex>(threadCountLock());
      lib.setThreads(1);
    } else {
      shared_ = std::shared_lock<std::shared_mutex>(threadCountLock());
    }
  }
  ~ThreadCountFor() {
    if (small_ && exclusive_.owns_lock()) lib_.setThreads(blas::wantedThreads());
  }
  ThreadCountFor(const ThreadCountFor&) = delete;
  ThreadCountFor& operator=(const ThreadCountFor&) = delete;

 private:
  const blas::Library& lib_;
  bool small_ = false;
  std::unique_lock<std::shared_mutex> exclusive_;
  std::shared_lock<std::shared_mutex> shared_;
};

}  // namespace

template <typename T>
void gemmBatched(const MatmulArgs& args) {
  const T* A = static_cast<const T*>(args.a);
  const T* B = static_cast<const T*>(args.b);
  T* C = static_cast<T*>(args.c);
  const blas::Library& lib = blas::library();
  // cblas takes int dimensions: larger operands go to the built-in kernel.
  const int64_t limit = 0x7fffffff;
  const bool useBlas = lib.loaded && args.m < limit && args.n < limit && args.k < limit && args.m * args.k < limit &&
                       args.k * args.n < limit && args.m * args.n < limit;
  const ThreadCountFor threads(lib, useBlas, args.m * args.n * args.k);
  for (int64_t b = 0; b < args.batch; ++b) {
    int64_t oa = 0, ob = 0;
    args.batchIndex.offsets(b, oa, ob);
    T* c = C + b * args.m * args.n;
    if (useBlas) {
      blasGemm(lib, A + oa, B + ob, c, args.m, args.n, args.k, args.transA, args.transB);
      continue;
    }
    gemmBlocked(A + oa, B + ob, c, args.m, args.n, args.k, args.transA, args.transB);
  }
}

template <typename T>
void gemm(const T* A, const T* B, T* C, int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  MatmulArgs args;
  args.a = A;
  args.b = B;
  args.c = C;
  args.m = m;
  args.n = n;
  args.k = k;
  args.transA = transA;
  args.transB = transB;
  gemmBatched<T>(args);
}

template void gemm<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool, bool);
template void gemm<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool, bool);
template void gemmBatched<float>(const MatmulArgs&);
template void gemmBatched<double>(const MatmulArgs&);

const char* blasName() {
  return blas::library().description.c_str();
}

}  // namespace antler::cpu
