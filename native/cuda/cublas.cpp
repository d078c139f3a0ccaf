#include "cublas.h"

#include <dlfcn.h>
#include <glob.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../core/error.h"

namespace antler::cuda::blas {

namespace {

// cublasStatus_t and cublasOperation_t are C enums, passed as int.
using Status = int;
using Operation = int;
constexpr Status kSuccess = 0;
constexpr Status kAllocFailed = 3;
constexpr Operation kOpN = 0;
constexpr Operation kOpT = 1;

using CreateFn = Status (*)(Handle*);
using DestroyFn = Status (*)(Handle);
using SetStreamFn = Status (*)(Handle, CUstream_st*);
template <typename T>
using GemmFn = Status (*)(Handle, Operation, Operation, int, int, int, const T*, const T*, int, const T*, int,
                          const T*, T*, int);
template <typename T>
using GemmStridedFn = Status (*)(Handle, Operation, Operation, int, int, int, const T*, const T*, int, long long,
                                 const T*, int, long long, const T*, T*, int, long long, int);
using GetPropertyFn = Status (*)(int, int*);  // libraryPropertyType: 0 major, 1 minor, 2 patch

struct Api {
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn setStream = nullptr;
  GemmFn<float> sgemm = nullptr;
  GemmFn<double> dgemm = nullptr;
  GemmStridedFn<float> sgemmStrided = nullptr;
  GemmStridedFn<double> dgemmStrided = nullptr;
};

Api api;

const char* statusName(Status s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}

void check(Status s, const char* call) {
  if (s == kSuccess) return;
  fail(s == kAllocFailed ? Code::OutOfMemory : Code::CudaError, "matmul: ", call, " failed: ", statusName(s), " (", s,
       ")");
}

template <typename Fn>
bool resolve(void* lib, const char* symbol, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (fn == nullptr && missing.empty()) missing = symbol;
  return fn != nullptr;
}

// Opens one candidate; on failure appends "<path>: <why>" to `reasons`.
bool tryOpen(const std::string& path, std::string& reasons) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();  // already names the path
    reasons += (reasons.empty() ? "" : "; ") + (why ? std::string(why) : path + ": dlopen failed");
    return false;
  }
  Api found;
  std::string missing;
  resolve(lib, "cublasCreate_v2", found.create, missing);
  resolve(lib, "cublasDestroy_v2", found.destroy, missing);
  resolve(lib, "cublasSetStream_v2", found.setStream, missing);
  resolve(lib, "cublasSgemm_v2", found.sgemm, missing);
  resolve(lib, "cublasDgemm_v2", found.dgemm, missing);
  resolve(lib, "cublasSgemmStridedBatched", found.sgemmStrided, missing);
  resolve(lib, "cublasDgemmStridedBatched", found.dgemmStrided, missing);
  if (!missing.empty()) {
    reasons += (reasons.empty() ? "" : "; ") + path + ": has no symbol " + missing;
    dlclose(lib);
    return false;
  }
  api = found;  // the library stays open for the life of the process
  return true;
}

std::string versionOf(const std::string& path) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (lib == nullptr) return "";
  GetPropertyFn getProperty = nullptr;
  std::string missing;
  resolve(lib, "cublasGetProperty", getProperty, missing);
  int major = 0, minor = 0, patch = 0;
  std::string out;
  if (getProperty && getProperty(0, &major) == kSuccess && getProperty(1, &minor) == kSuccess &&
      getProperty(2, &patch) == kSuccess)
    out = " (cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) + ")";
  dlclose(lib);  // drops only the RTLD_NOLOAD reference
  return out;
}

template <typename T>
void gemmTyped(GemmFn<T> plain, GemmStridedFn<T> strided, const char* plainName, const char* stridedName,
               Handle handle, const MatmulArgs& args) {
  // cuBLAS is column-major, and a row-major matrix read column-major is its
  // transpose. So row-major C = op(A) op(B) is computed as column-major
  // Cᵀ = op(B)ᵀ op(A)ᵀ: the operands swap, each keeps its own transpose flag,
  // and every leading dimension is the row length of the stored matrix.
  const Operation opB = args.transB ? kOpT : kOpN;
  const Operation opA = args.transA ? kOpT : kOpN;
  const int m = static_cast<int>(args.n);  // rows of Cᵀ
  const int n = static_cast<int>(args.m);  // columns of Cᵀ
  const int k = static_cast<int>(args.k);
  const int ldb = static_cast<int>(args.transB ? args.k : args.n);  // B stored [n, k] or [k, n]
  const int lda = static_cast<int>(args.transA ? args.m : args.k);  // A stored [k, m] or [m, k]
  const int ldc = static_cast<int>(args.n);
  const T one = 1, zero = 0;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  T* c = static_cast<T*>(args.c);
  const kernels::BroadcastIndexer& idx = args.batchIndex;
  if (idx.ndim <= 1) {
    // One batch dim (or none) means each operand advances by a fixed stride, 0 when broadcast.
    const long long strideA = idx.ndim == 1 ? idx.strideA[0] : 0;
    const long long strideB = idx.ndim == 1 ? idx.strideB[0] : 0;
    check(strided(handle, opB, opA, m, n, k, &one, b, ldb, strideB, a, lda, strideA, &zero, c, ldc,
                  static_cast<long long>(args.m * args.n), static_cast<int>(args.batch)),
          stridedName);
    return;
  }
  for (int64_t batch = 0; batch < args.batch; ++batch) {
    int64_t oa = 0, ob = 0;
    idx.offsets(batch, oa, ob);
    check(plain(handle, opB, opA, m, n, k, &one, b + ob, ldb, a + oa, lda, &zero, c + batch * args.m * args.n, ldc),
          plainName);
  }
}

}  // namespace

// Where cuBLAS may be, in order: $ANTLER_CUBLAS; the loader's own search
// (LD_LIBRARY_PATH, RUNPATH, ld.so.cache); then the places a pip or conda
// install of PyTorch or the CUDA toolkit puts it without telling the loader:
// the active virtualenv's and conda environment's site-packages (nvidia/cu13
// and nvidia/cublas wheels), conda's lib, and the toolkit's default prefix.
static std::vector<std::string> candidatePaths() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("ANTLER_CUBLAS"); env != nullptr && *env != '\0') out.emplace_back(env);
  out.emplace_back("libcublas.so.13");
  out.emplace_back("libcublas.so.12");
  std::vector<std::string> patterns;
  for (const char* var : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
    const char* prefix = std::getenv(var);
    if (prefix == nullptr || *prefix == '\0') continue;
    const std::string site = std::string(prefix) + "/lib/python3*/site-packages/nvidia/";
    patterns.push_back(site + "cu13/lib/libcublas.so.13");
    // 13 before 12 in every place (a glob over both would sort 12 first).
    for (const char* v : {"13", "12"}) {
      patterns.push_back(site + "cublas/lib/libcublas.so." + v);
      patterns.push_back(std::string(prefix) + "/lib/libcublas.so." + v);
    }
  }
  for (const char* v : {"13", "12"}) {
    patterns.push_back(std::string("/usr/local/cuda/lib64/libcublas.so.") + v);
    patterns.push_back(std::string("/usr/local/cuda/targets/*/lib/libcublas.so.") + v);
  }
  for (const std::string& pattern : patterns) {
    glob_t found{};
    if (glob(pattern.c_str(), 0, nullptr, &found) == 0)
      for (size_t i = 0; i < found.gl_pathc; ++i) out.emplace_back(found.gl_pathv[i]);
    globfree(&found);
  }
  return out;
}

const LoadResult& load() {
  static const LoadResult result = [] {
    LoadResult r;
    std::string reasons;
    for (const std::string& candidate : candidatePaths()) {
      if (tryOpen(candidate, reasons)) {
        r.loaded = true;
        r.path = candidate + versionOf(candidate);
        return r;
      }
    }
    r.path = "not loaded (matmul uses the built-in kernel): " + reasons;
    return r;
  }();
  return result;
}

Handle createHandle(void (*retry)(void*), void* arg) {
  if (!load().loaded) return nullptr;
  Handle h = nullptr;
  Status st = api.create(&h);
  if (st == kAllocFailed) {  // the caching allocator may hold the memory cuBLAS wants
    retry(arg);
    st = api.create(&h);
  }
  if (st != kSuccess) {
    // Once per device context: the GEMMs still run, on the built-in kernel, but slower; say so.
    std::fprintf(stderr, "antler: cuBLAS (%s) loaded but cublasCreate failed with status %d; matmul uses the built-in kernel\n",
                 load().path.c_str(), st);
    return nullptr;
  }
  return h;
}

bool fits(const MatmulArgs& args) {
  return args.m <= INT_MAX && args.n <= INT_MAX && args.k <= INT_MAX && args.batch <= INT_MAX;
}

void gemm(Handle handle, CUstream_st* stream, DType t, const MatmulArgs& args) {
  check(api.setStream(handle, stream), "cublasSetStream_v2");
  if (t == DType::Float32)
    gemmTyped<float>(api.sgemm, api.sgemmStrided, "cublasSgemm_v2", "cublasSgemmStridedBatched", handle, args);
  else if (t == DType::Float64)
    gemmTyped<double>(api.dgemm, api.dgemmStrided, "cublasDgemm_v2", "cublasDgemmStridedBatched", handle, args);
  else
    fail(Code::Internal, "matmul: cuBLAS has no GEMM for dtype ", dtypeName(t));
}

}  // namespace antler::cuda::blas
