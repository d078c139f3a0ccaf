// cuBLAS, opened at run time. Linking it would make the whole addon fail to
// load wherever libcublas is absent, so the few entry points GEMM needs are
// declared here and resolved with dlsym; no cuBLAS header or library is needed
// to build. Without it, matmul uses the built-in tiled kernel (matmul.cu).
#pragma once
#include <string>

#include "../core/backend.h"

struct CUstream_st;  // cudaStream_t, without including the CUDA headers

namespace antler::cuda::blas {

using Handle = struct cublasContext*;

struct LoadResult {
  bool loaded = false;
  std::string path;  // the library that loaded, or why none did
};

// Tries $ANTLER_CUBLAS, then libcublas.so.13, then libcublas.so.12, once.
const LoadResult& load();

// A handle for the current device, or nullptr (library absent or creation failed).
// retry() runs once when cublasCreate fails for memory (CUBLAS_STATUS_ALLOC_FAILED), before a
// second try: the caller frees its cached blocks there.
Handle createHandle(void (*retry)(void*), void* arg);

// True when the GEMM's sizes fit cuBLAS's 32-bit int parameters.
bool fits(const MatmulArgs& args);

// Row-major C = op(A) @ op(B) for every batch of args on `stream`. Throws
// CUDA_ERROR (OUT_OF_MEMORY for CUBLAS_STATUS_ALLOC_FAILED) naming the call.
void gemm(Handle handle, CUstream_st* stream, DType t, const MatmulArgs& args);

}  // namespace antler::cuda::blas
