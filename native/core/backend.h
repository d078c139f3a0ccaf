// The op table. Each backend (cpu/, cuda/) implements every entry with the
// same signature; core/ops.cpp validates and dispatches, so the JavaScript side
// never branches on the device to do math. Pointers are to the first element
// of contiguous row-major data on the backend's device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/elementwise.h"
#include "../kernels/philox.h"
#include "device.h"
#include "dtype.h"

namespace antler {

struct RandomSpec {
  bool normal = false;   // uniform: a + (b - a) * u;  normal: a + b * z
  double a = 0.0, b = 1.0;
  kernels::PhiloxStream stream{};
};

// C[batch] = op(A[batch]) @ op(B[batch]); A is [m, k] ([k, m] when transA),
// B is [k, n] ([n, k] when transB), C is [m, n], all row-major. The batch
// indexer maps a batch number to element offsets into A and B (stride 0 along
// broadcast batch dims); C batches are contiguous.
struct MatmulArgs {
  const void* a = nullptr;
  const void* b = nullptr;
  void* c = nullptr;
  int64_t m = 0, n = 0, k = 0;
  bool transA = false, transB = false;
  int64_t batch = 1;
  kernels::BroadcastIndexer batchIndex{};
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory. allocate throws OUT_OF_MEMORY; deallocate never throws.
  virtual void* allocate(const Device& d, size_t bytes) = 0;
  virtual void deallocate(const Device& d, void* ptr, size_t bytes) noexcept = 0;
  // Bytes held by the backend beyond live buffers (a cache), for memory().
  virtual size_t cachedBytes(const Device& d) const = 0;
  virtual void releaseCache(const Device& d) = 0;

  virtual void copyFromHost(const Device& d, void* dst, const void* src, size_t bytes) = 0;
  // Waits for queued work on the device, then copies.
  virtual void copyToHost(const Device& d, void* dst, const void* src, size_t bytes) = 0;
  virtual void copy(const Device& d, void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize(const Device& d) = 0;

  virtual void fill(const Device& d, void* dst, DType t, int64_t n, double value) = 0;
  virtual void arange(const Device& d, void* dst, DType t, int64_t n, double start, double step) = 0;
  virtual void random(const Device& d, void* dst, DType t, int64_t n, const RandomSpec& spec) = 0;
  virtual void cast(const Device& d, void* dst, DType dstType, const void* src, DType srcType, int64_t n) = 0;

  // out[i] = op(a[ia], b[ib]); idx == nullptr means a, b and out share one
  // contiguous shape of n elements.
  virtual void binary(const Device& d, kernels::BinaryOp op, DType t, void* out, const void* a,
                      const void* b, int64_t n, const kernels::BroadcastIndexer* idx) = 0;
  // out[i] = op(a[i], s) or op(s, a[i]) when scalarFirst.
  virtual void binaryScalar(const Device& d, kernels::BinaryOp op, DType t, void* out, const void* a,
                            double s, bool scalarFirst, int64_t n) = 0;
  virtual void matmul(const Device& d, DType t, const MatmulArgs& args) = 0;
  // *out = sum of n elements, accumulated in double (float types) or int64 (int32, wrapped).
  virtual void sumAll(const Device& d, DType t, const void* src, int64_t n, void* out) = 0;
};

Backend& cpuBackend();

// ANTLER_POISON=1: every new buffer is filled with 0xFF bytes (NaN for floats,
// -1 for int32) so tests catch an op that leaves an output element unwritten.
bool poisonNewBuffers();

struct CudaDeviceInfo {
  std::string name;
  size_t totalMemory = 0;
  int major = 0, minor = 0;
  int multiprocessors = 0;
};

struct CudaStatus {
  bool compiled = false;
  bool available = false;
  std::string reason;        // why not available
  int runtimeVersion = 0;
  int driverVersion = 0;
  std::vector<CudaDeviceInfo> devices;
  std::string archs;         // architectures compiled in
  bool cublas = false;       // cuBLAS opened
  std::string cublasPath;    // which library, or why not
};

// Probes once (cheap after the first call); never throws.
const CudaStatus& cudaStatus();
// The CUDA backend for device d, or CUDA_UNAVAILABLE with the reason.
Backend& cudaBackend(const Device& d);

inline Backend& backendFor(const Device& d) {
  return d.isCuda() ? cudaBackend(d) : cpuBackend();
}

}  // namespace antler
