#pragma once
// OpenBLAS, opened at run time (dlopen) rather than linked: one binary (a
// prebuilt one, or a node-gyp build) loads on machines without it and uses it
// on machines with it. The CBLAS GEMMs, the thread setter, LAPACK's QR
// (nn.init.orthogonal_) and, for large single matrices, LAPACK's factorisations (lapackSymbol).
#include <cstdint>
#include <initializer_list>
#include <shared_mutex>
#include <string>

namespace antler::cpu::blas {

// CBLAS's enum values (the standard's, the same in every implementation).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                         int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                         double*, int);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
// LAPACK's Fortran QR routines (OpenBLAS ships LAPACK): every argument by pointer.
using DgeqrfFn = void (*)(const int*, const int*, double*, const int*, double*, double*, const int*, int*);
using DorgqrFn = void (*)(const int*, const int*, const int*, double*, const int*, const double*, double*, const int*,
                          int*);

struct Library {
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SetThreadsFn setThreads = nullptr;  // openblas_set_num_threads, when exported
  GetThreadsFn getThreads = nullptr;  // openblas_get_num_threads, when exported
  DgeqrfFn dgeqrf = nullptr;          // LAPACK's QR, when exported (a NO_LAPACK build has none)
  DorgqrFn dorgqr = nullptr;
  bool loaded = false;
  // The open library (null when none): LAPACK's routines are looked up from it by lapackSymbol().
  void* handle = nullptr;
  // "OpenBLAS 0.3.21 … (/usr/lib/…/libopenblas.so.0)" or why the built-in GEMM is used.
  std::string description;
};

// Opened on first use, once per process. Looks for ANTLER_OPENBLAS (a path)
// when set, else libopenblas.so.0 / libopenblas.so (…dylib on macOS);
// ANTLER_BLAS=off in the environment skips it.
const Library& library();

// The OpenBLAS thread count antler means to run with: the library's own at
// load, then setNumThreads()'s. A small GEMM that runs single-threaded
// restores this, not what it read, so a setNumThreads() on another thread
// meanwhile is kept.
int wantedThreads();
void setWantedThreads(int n);

// Held exclusively while the thread count is switched (a small GEMM, setNumThreads), shared
// by the other GEMMs (see gemm.cpp).
std::shared_mutex& threadCountLock();

// LAPACK's Fortran routines from the opened OpenBLAS (every argument by pointer, then the hidden lengths of
// character arguments), or null when there is no library or it lacks the name (a NO_LAPACK build). Look a
// routine up once (a function-local static) and cast it to its prototype.
void* lapackSymbol(const char* name);

// Which code the CPU linalg ops (eigh, SVD, LU, Cholesky, QR, triangular solves) run on one matrix:
//  Default: LAPACK from OpenBLAS for matrices at least as large as the op's threshold (where it is faster),
//           the built-in batched kernels below it and when LAPACK is missing;
//  Lapack:  LAPACK at every size (set only when it is available);
//  Builtin: the built-in kernels at every size.
enum class LinalgLibrary { Default = 0, Lapack = 1, Builtin = 2 };
LinalgLibrary preferredLinalg();
void setPreferredLinalg(LinalgLibrary lib);
// Whether a matrix whose size measure is n (the op decides: n of n×n, min(m, n) of m×n) goes to LAPACK:
// the preference above, the op's threshold for Default, and lapackSymbol(name) != null for every name.
bool useLapack(int64_t n, int64_t threshold, std::initializer_list<const char*> routines);

}  // namespace antler::cpu::blas
