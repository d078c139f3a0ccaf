// The CUDA entry of the op table: device discovery (cudaStatus), the per-device
// contexts, and CudaBackend, which forwards each op to its launcher in the
// file of its family (see ops.cuh).
//
// cudart is linked statically, so this code runs on machines with no NVIDIA
// driver: every probe failure becomes `available: false` with the reason.
#include <dlfcn.h>

#include <memory>
#include <mutex>
#include <vector>

#include "../core/backend.h"
#include "../core/cuda_archs.h"
#include "../core/error.h"
#include "common.cuh"
#include "cublas.h"
#include "ops.cuh"

#ifndef ANTLER_CUDA_ARCHS
#define ANTLER_CUDA_ARCHS "unknown"
#endif

namespace antler {
namespace cuda {

namespace {

// Contexts are never destroyed: tensors freed while the process exits still
// return their blocks to a pool, and cudart may already be torn down by then.
std::mutex contextsMutex;
std::vector<Context*>& contexts() {
  static auto* all = new std::vector<Context*>();
  return *all;
}

std::string cudaErrorText(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

// "12.2" for 12020 (the encoding of cudaDriverGetVersion/cudaRuntimeGetVersion).
std::string cudaVersionText(int v) {
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

// Whether the driver library cudart loads at run time can be opened here.
// cudart reports a missing driver as cudaErrorInsufficientDriver ("driver
// version is insufficient"), which misleads on a machine that has none.
bool driverLibraryLoads() {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return false;
  dlclose(lib);
  return true;
}

// Why cudaGetDeviceCount failed, in terms of what is wrong on this machine.
std::string deviceCountFailure(cudaError_t err, int driverVersion, int runtimeVersion) {
  if (driverVersion == 0 && !driverLibraryLoads()) return "no NVIDIA driver found (libcuda.so.1 could not be loaded)";
  std::string reason = "cudaGetDeviceCount failed: " + cudaErrorText(err);
  if (err == cudaErrorInsufficientDriver)
    reason += " (the driver found supports CUDA " + (driverVersion ? cudaVersionText(driverVersion) : std::string("unknown")) +
              "; this runtime is CUDA " + cudaVersionText(runtimeVersion) + " and needs a driver for CUDA " +
              std::to_string(runtimeVersion / 1000) + ".0 or newer)";
  return reason;
}

// Does nothing: context() asks the runtime for its attributes, which fails when
// this build has no code the device can run (a build for other GPU generations).
__global__ void imageProbeKernel() {}

// "sm_75 or newer" advice for a device too old for antler, else the rebuild command for it.
std::string rebuildAdvice(int major, int minor) {
  const int arch = major * 10 + minor;
  if (arch < 75) return "antler's CUDA backend needs compute capability 7.5 or newer; use the CPU";
  return "rebuild for it: ANTLER_CUDA_ARCHS=" + std::to_string(arch) +
         " npm rebuild antler (npm run build in a clone of antler)";
}

// "cuda:0 (NAME, compute capability 8.6) cannot run this build's GPU code, which is for ARCHS; ADVICE"
std::string noCodeFor(const std::string& device, const CudaDeviceInfo& info, const std::string& archs) {
  return device + " (" + info.name + ", compute capability " + std::to_string(info.major) + "." +
         std::to_string(info.minor) + ") cannot run this build's GPU code, which is for " + archs + "; " +
         rebuildAdvice(info.major, info.minor);
}

// Throws CUDA_UNAVAILABLE when device d cannot run this build's kernels.
void checkKernelImage(const Device& d) {
  cudaFuncAttributes attributes{};
  const cudaError_t err = cudaFuncGetAttributes(&attributes, imageProbeKernel);
  if (err == cudaSuccess) return;
  cudaGetLastError();
  const std::vector<CudaDeviceInfo>& devices = cudaStatus().devices;
  const CudaDeviceInfo info = static_cast<size_t>(d.index) < devices.size() ? devices[d.index] : CudaDeviceInfo{};
  if (err == cudaErrorNoKernelImageForDevice || err == cudaErrorInvalidDeviceFunction)
    fail(Code::CudaUnavailable, "device ", noCodeFor(d.str(), info, ANTLER_CUDA_ARCHS));
  // Only PTX fits this GPU, and the driver cannot compile it (too old for this toolkit's PTX, or no JIT).
  if (err == cudaErrorUnsupportedPtxVersion || err == cudaErrorJitCompilerNotFound || err == cudaErrorInvalidPtx ||
      err == cudaErrorJitCompilationDisabled)
    fail(Code::CudaUnavailable, "device ", d.str(), " (", info.name, ", compute capability ", info.major, ".", info.minor,
         ") has no GPU code of its own in this build (", ANTLER_CUDA_ARCHS,
         ") and the driver cannot compile the build's PTX (", cudaErrorText(err),
         "): update the NVIDIA driver, or ", rebuildAdvice(info.major, info.minor));
  throwCudaError(err, "context", "cudaFuncGetAttributes");
}


}  // namespace

Context& context(const Device& d) {
  Context* ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(contextsMutex);
    std::vector<Context*>& all = contexts();
    if (all.size() <= static_cast<size_t>(d.index)) all.resize(static_cast<size_t>(d.index) + 1, nullptr);
    if (all[d.index] == nullptr) {
      ANTLER_CUDA_CHECK(cudaSetDevice(d.index));
      checkKernelImage(d);
      int multiprocessors = 0;
      ANTLER_CUDA_CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, d.index));
      int sharedOptin = 0;
      ANTLER_CUDA_CHECK(cudaDeviceGetAttribute(&sharedOptin, cudaDevAttrMaxSharedMemoryPerBlockOptin, d.index));
      auto fresh = std::make_unique<Context>();
      fresh->device = d.index;
      fresh->multiprocessors = multiprocessors > 0 ? multiprocessors : 1;
      fresh->sharedOptin = sharedOptin;
      // Non-blocking: no implicit ordering with the legacy default stream,
      // which is fine because every op of this device is queued on this stream.
      ANTLER_CUDA_CHECK(cudaStreamCreateWithFlags(&fresh->stream, cudaStreamNonBlocking));
      fresh->pool = new CachingAllocator(d.index, fresh->stream);
      all[d.index] = fresh.release();
    }
    ctx = all[d.index];
  }
  ANTLER_CUDA_CHECK(cudaSetDevice(d.index));
  return *ctx;
}

Context* existingContext(const Device& d) {
  std::lock_guard<std::mutex> lock(contextsMutex);
  const std::vector<Context*>& all = contexts();
  return d.index >= 0 && static_cast<size_t>(d.index) < all.size() ? all[d.index] : nullptr;
}

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

  void* allocate(const Device& d, size_t bytes) override {
    if (bytes == 0) return nullptr;
    Context& ctx = context(d);
    void* p = ctx.pool->allocate(bytes);
    if (poisonNewBuffers()) {
      const cudaError_t err = cudaMemsetAsync(p, 0xFF, bytes, ctx.stream);
      if (err != cudaSuccess) {
        ctx.pool->deallocate(p);
        throwCudaError(err, "allocate", "cudaMemsetAsync");
      }
    }
    return p;
  }

  void deallocate(const Device& d, void* ptr, size_t) noexcept override {
    if (ptr == nullptr) return;
    // A pointer exists only if allocate created the context; no CUDA call here.
    if (Context* ctx = existingContext(d)) ctx->pool->deallocate(ptr);
  }

  size_t cachedBytes(const Device& d) const override {
    const Context* ctx = existingContext(d);
    return ctx ? ctx->pool->cachedBytes() : 0;
  }

  void releaseCache(const Device& d) override {
    if (existingContext(d) == nullptr) return;
    context(d).pool->releaseCache();
  }

  // The source is JavaScript memory that may be freed or reused once this
  // returns, so the copy must be complete, not just queued.
  void copyFromHost(const Device& d, void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    Context& ctx = context(d);
    ANTLER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream));
    ANTLER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  }

  // Queued on the stream, so it follows every op that produced src.
  void copyToHost(const Device& d, void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    Context& ctx = context(d);
    ANTLER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx.stream));
    ANTLER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  }

  void copy(const Device& d, void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    Context& ctx = context(d);
    ANTLER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.stream));
  }

  void synchronize(const Device& d) override {
    Context& ctx = context(d);
    ANTLER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  }

  void fill(const Device& d, void* dst, DType t, int64_t n, double value) override {
    cuda::fill(context(d), dst, t, n, value);
  }

  void arange(const Device& d, void* dst, DType t, int64_t n, double start, double step) override {
    cuda::arange(context(d), dst, t, n, start, step);
  }

  void random(const Device& d, void* dst, DType t, int64_t n, const RandomSpec& spec) override {
    cuda::random(context(d), dst, t, n, spec);
  }

  void cast(const Device& d, void* dst, DType dstType, const void* src, DType srcType, int64_t n) override {
    cuda::cast(context(d), dst, dstType, src, srcType, n);
  }

  void binary(const Device& d, kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
              const kernels::BroadcastIndexer* idx) override {
    cuda::binary(context(d), op, t, out, a, b, n, idx);
  }

  void binaryScalar(const Device& d, kernels::BinaryOp op, DType t, void* out, const void* a, double s,
                    bool scalarFirst, int64_t n) override {
    cuda::binaryScalar(context(d), op, t, out, a, s, scalarFirst, n);
  }

  void matmul(const Device& d, DType t, const MatmulArgs& args) override {
    if (!isFloating(t))
      fail(Code::DtypeMismatch, "matmul: dtype ", dtypeName(t), " is not supported; expected float32 or float64");
    Context& ctx = context(d);
    if (args.m <= 0 || args.n <= 0 || args.batch <= 0) return;
    if (args.k <= 0) return cuda::fill(ctx, args.c, t, args.batch * args.m * args.n, 0.0);
    if (blas::load().loaded && blas::fits(args)) {
      // cuBLAS allocates its own workspace with cudaMalloc, outside the caching allocator: when that
      // fails for memory the pool's cached blocks are released and the call tried once more, as
      // CachingAllocator::allocate does for tensors.
      const auto release = [](void* c) { static_cast<Context*>(c)->pool->releaseCache(); };
      std::call_once(ctx.blasOnce, [&ctx, &release] { ctx.blasHandle = blas::createHandle(release, &ctx); });
      if (ctx.blasHandle != nullptr) {
        try {
          return blas::gemm(ctx.blasHandle, ctx.stream, t, args);
        } catch (const Error& e) {
          if (e.code() != Code::OutOfMemory) throw;
          release(&ctx);
          return blas::gemm(ctx.blasHandle, ctx.stream, t, args);
        }
      }
    }
    cuda::matmulTiled(ctx, t, args);
  }

  void sumAll(const Device& d, DType t, const void* src, int64_t n, void* out) override {
    cuda::sumAll(context(d), t, src, n, out);
  }

  void dot(const Device& d, DType t, const void* a, const void* b, int64_t n, void* out) override {
    cuda::dot(context(d), t, a, b, n, out);
  }

  void unary(const Device& d, kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0,
             double p1) override {
    cuda::unary(context(d), op, t, y, x, n, p0, p1);
  }
  void unaryBackward(const Device& d, kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y,
                     const void* gy, int64_t n, double p0, double p1) override {
    cuda::unaryBackward(context(d), op, t, gx, x, y, gy, n, p0, p1);
  }
  void pointwise(const Device& d, kernels::PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n,
                 int p, const kernels::BroadcastIndexer* idx) override {
    cuda::pointwise(context(d), op, t, y, a, b, n, p, idx);
  }
  void reduce(const Device& d, kernels::ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
              const kernels::ReduceIndexer& idx) override {
    cuda::reduce(context(d), op, t, out, x, outN, redN, idx);
  }
  void copyStrided(const Device& d, DType t, void* dst, const void* src, int64_t n,
                   const kernels::StridedIndexer& idx) override {
    cuda::copyStrided(context(d), t, dst, src, n, idx);
  }
  void where(const Device& d, DType t, DType condType, void* out, const void* cond, const void* a, const void* b,
             int64_t n, const kernels::TernaryIndexer& idx) override {
    cuda::where(context(d), t, condType, out, cond, a, b, n, idx);
  }
  void softmax(const Device& d, DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim,
               int64_t inner) override {
    cuda::softmax(context(d), t, log, y, x, outer, dim, inner);
  }
  void softmaxBackward(const Device& d, DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer,
                       int64_t dim, int64_t inner) override {
    cuda::softmaxBackward(context(d), t, log, gx, y, gy, outer, dim, inner);
  }
  void cumulative(const Device& d, DType t, kernels::CumOp op, void* out, const void* x, int64_t outer, int64_t n,
                  int64_t inner, bool exclusive, bool reverse) override {
    cuda::cumulative(context(d), t, op, out, x, outer, n, inner, exclusive, reverse);
  }
  void cumprodBackward(const Device& d, DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n,
                       int64_t inner, bool exclusive, bool reverse) override {
    cuda::cumprodBackward(context(d), t, gx, x, gy, outer, n, inner, exclusive, reverse);
  }
  void cumExtreme(const Device& d, DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n,
                  int64_t inner, bool largest) override {
    cuda::cumExtreme(context(d), t, values, indices, x, outer, n, inner, largest);
  }
  void logCumSumExp(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                    bool reverse) override {
    cuda::logCumSumExp(context(d), t, out, x, outer, n, inner, reverse);
  }
  void logCumSumExpBackward(const Device& d, DType t, void* gx, const void* x, const void* y, const void* gy,
                            int64_t outer, int64_t n, int64_t inner, bool reverse) override {
    cuda::logCumSumExpBackward(context(d), t, gx, x, y, gy, outer, n, inner, reverse);
  }
  void depthwiseConv(const Device& d, DType t, void* y, const void* x, const void* w,
                     const kernels::DepthwiseGeometry& g) override {
    cuda::depthwiseConv(context(d), t, y, x, w, g);
  }
  void depthwiseConvBackwardInput(const Device& d, DType t, void* gx, const void* gy, const void* w,
                                  const kernels::DepthwiseGeometry& g) override {
    cuda::depthwiseConvBackwardInput(context(d), t, gx, gy, w, g);
  }
  void depthwiseConvBackwardWeight(const Device& d, DType t, void* gw, const void* x, const void* gy,
                                   const kernels::DepthwiseGeometry& g) override {
    cuda::depthwiseConvBackwardWeight(context(d), t, gw, x, gy, g);
  }
  void maxPool(const Device& d, DType t, void* y, int32_t* indices, const void* x,
               const kernels::PoolGeometry& g) override {
    cuda::maxPool(context(d), t, y, indices, x, g);
  }
  void avgPool(const Device& d, DType t, void* y, const void* x, const kernels::PoolGeometry& g) override {
    cuda::avgPool(context(d), t, y, x, g);
  }
  void avgPoolBackward(const Device& d, DType t, void* gx, const void* gy, const kernels::PoolGeometry& g) override {
    cuda::avgPoolBackward(context(d), t, gx, gy, g);
  }
  void argReduce(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                 bool largest) override {
    cuda::argReduce(context(d), t, out, x, outer, n, inner, largest);
  }
  void topk(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
            bool largest) override {
    cuda::topk(context(d), t, out, x, outer, n, inner, k, largest);
  }
  void searchsorted(const Device& d, DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M,
                    int64_t K, bool right) override {
    cuda::searchsorted(context(d), t, out, seq, values, B, M, K, right);
  }

  // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
  void triangularSolve(const Device& d, DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t k,
                       bool upper, bool left, bool unit) override {
    cuda::triangularSolve(context(d), t, X, A, B, batch, n, k, upper, left, unit);
  }
  void luFactor(const Device& d, DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m,
                int64_t n) override {
    cuda::luFactor(context(d), t, LU, pivots, info, A, batch, m, n);
  }
  void luPermutation(const Device& d, int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m) override {
    cuda::luPermutation(context(d), perm, pivots, batch, k, m);
  }
  void cholesky(const Device& d, DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n) override {
    cuda::cholesky(context(d), t, L, info, A, batch, n);
  }
  // (end of linalg-lu)

  // linalg-qr (Householder QR): native/kernels/linalg_qr.h
  void linalgQr(const Device& d, DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n,
                int64_t qCols, int64_t rRows) override {
    cuda::linalgQr(context(d), t, Q, R, A, B, m, n, qCols, rRows);
  }
  // (end of linalg-qr)

  // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
  void linalgEigh(const Device& d, DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w,
                  void* V, int32_t* info) override {
    cuda::linalgEigh(context(d), t, A, B, n, upper, vectors, w, V, info);
  }
  void linalgSvd(const Device& d, DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors,
                 void* U, void* S, void* Vh, int32_t* info) override {
    cuda::linalgSvd(context(d), t, A, B, m, n, full, vectors, U, S, Vh, info);
  }
  // (end of linalg-spectral)

  // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
  void standardGamma(const Device& d, DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s) override {
    cuda::standardGamma(context(d), t, out, alpha, n, s);
  }
  void gammaBinary(const Device& d, DType t, int op, void* out, const void* a, const void* x, int64_t n) override {
    cuda::gammaBinary(context(d), t, op, out, a, x, n);
  }
  // (end of random-gamma)

  // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
  void discreteSample(const Device& d, DType t, int op, void* out, const void* a, const void* b, int64_t n,
                      const kernels::PhiloxStream& s) override {
    cuda::discreteSample(context(d), t, op, out, a, b, n, s);
  }
  // (end of random-discrete)
  void ctcLoss(const Device& d, DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
               const int32_t* inLen, const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S,
               int64_t blank) override {
    cuda::ctcLoss(context(d), t, nll, logAlpha, lp, targets, inLen, tgtLen, T, N, C, S, blank);
  }
  void ctcLossBackward(const Device& d, DType t, void* grad, const void* g, const void* lp, const int32_t* targets,
                       const int32_t* inLen, const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T,
                       int64_t N, int64_t C, int64_t S, int64_t blank, bool zeroInfinity) override {
    cuda::ctcLossBackward(context(d), t, grad, g, lp, targets, inLen, tgtLen, nll, logAlpha, T, N, C, S, blank,
                          zeroInfinity);
  }
  void gridSample(const Device& d, DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C,
                  const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) override {
    cuda::gridSample(context(d), t, out, x, grid, N, C, sizes, per, dims, mode, padding, align);
  }
  void gridSampleBackward(const Device& d, DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid,
                          int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding,
                          bool align) override {
    cuda::gridSampleBackward(context(d), t, gx, gg, gy, x, grid, N, C, sizes, per, dims, mode, padding, align);
  }
  int64_t crossEntropy(const Device& d, DType t, void* loss, void* valid, const void* logits, const int32_t* labels,
                       int64_t N, int64_t C, int64_t ignoreIndex) override {
    return cuda::crossEntropy(context(d), t, loss, valid, logits, labels, N, C, ignoreIndex);
  }
  void crossEntropyBackward(const Device& d, DType t, void* gx, const void* logits, const int32_t* labels,
                            const void* g, int64_t N, int64_t C, int64_t ignoreIndex) override {
    cuda::crossEntropyBackward(context(d), t, gx, logits, labels, g, N, C, ignoreIndex);
  }
  int64_t gatherRows(const Device& d, DType t, void* out, const void* table, const int32_t* idx, int64_t n,
                     int64_t rows, int64_t cols) override {
    return cuda::gatherRows(context(d), t, out, table, idx, n, rows, cols);
  }
  int64_t scatterAddRows(const Device& d, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n,
                         int64_t rows, int64_t cols, bool checked) override {
    return cuda::scatterAddRows(context(d), t, gtable, g, idx, n, rows, cols, checked);
  }
  void setRows(const Device& d, DType t, void* table, const void* src, const int32_t* idx, int64_t n, int64_t rows,
               int64_t cols) override {
    cuda::setRows(context(d), t, table, src, idx, n, rows, cols);
  }
  void layerNorm(const Device& d, DType t, void* y, void* mean, void* rstd, const void* x, const void* w,
                 const void* b, int64_t N, int64_t D, double eps) override {
    cuda::layerNorm(context(d), t, y, mean, rstd, x, w, b, N, D, eps);
  }
  void layerNormBackward(const Device& d, DType t, void* gx, void* gw, void* gb, const void* gy, const void* x,
                         const void* mean, const void* rstd, const void* w, int64_t N, int64_t D) override {
    cuda::layerNormBackward(context(d), t, gx, gw, gb, gy, x, mean, rstd, w, N, D);
  }
  void sruForward(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h, void* c,
                  void* cLast) override {
    cuda::sruForward(context(d), t, cfg, in, h, c, cLast);
  }
  void sruBackward(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c,
                   const void* gh, const void* gcLast, const SruGrads& out) override {
    cuda::sruBackward(context(d), t, cfg, in, c, gh, gcLast, out);
  }
  void deerScan(const Device& d, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, void* y) override {
    cuda::deerScan(context(d), t, cfg, in, y);
  }
  void deerScanBackward(const Device& d, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in,
                        const void* y, const void* gy, void* gA, void* gb, void* gy0) override {
    cuda::deerScanBackward(context(d), t, cfg, in, y, gy, gA, gb, gy0);
  }
  void sruDeer(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, void* F,
               void* J, void* bOff, void* h) override {
    cuda::sruDeer(context(d), t, cfg, in, c, F, J, bOff, h);
  }
  void deerElk(const Device& d, DType t, const kernels::ElkConfig& cfg, const ElkBuffers& in, void* y) override {
    cuda::deerElk(context(d), t, cfg, in, y);
  }
  void deerResidual(const Device& d, DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f,
                    double rtol, void* out) override {
    cuda::deerResidual(context(d), t, T, B, n, y, f, rtol, out);
  }
  void expm(const Device& d, DType t, int64_t count, int64_t m, const void* A, void* E) override {
    cuda::expm(context(d), t, count, m, A, E);
  }
  void cellLinearize(const Device& d, DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac,
                     const CellInputs& in, void* f, void* J, void* bOff) override {
    cuda::cellLinearize(context(d), t, cfg, jac, in, f, J, bOff);
  }
  void cellDeerAdjoint(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                       void* lam, int maxSegments) override {
    cuda::cellDeerAdjoint(context(d), t, cfg, in, g, lam, maxSegments);
  }
  void cellDeerSolve(const Device& d, DType t, const kernels::CellConfig& cfg, bool dense,
                     const kernels::DeerFusedParams& p, const CellInputs& in, const void* guess, void* y,
                     void* status) override {
    cuda::cellDeerSolve(context(d), t, cfg, dense, p, in, guess, y, status);
  }
  void cellSequential(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in,
                      void* y) override {
    cuda::cellSequential(context(d), t, cfg, in, y);
  }
  void cellBackward(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                    bool adjoint, void* gxp, void* ghh, void* gy0) override {
    cuda::cellBackward(context(d), t, cfg, in, g, adjoint, gxp, ghh, gy0);
  }
  void sgdStep(const Device& d, DType t, void* param, const void* grad, void* momentumBuf, int64_t n,
               const SgdParams& p) override {
    cuda::sgdStep(context(d), t, param, grad, momentumBuf, n, p);
  }
  void adamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
                const AdamParams& p) override {
    cuda::adamStep(context(d), t, param, grad, m, v, vmax, n, p);
  }

  void adaHessianStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, const void* dDiag,
                      int64_t n, const AdaHessianParams& p) override {
    cuda::adaHessianStep(context(d), t, param, grad, m, v, dDiag, n, p);
  }
  void rmspropStep(const Device& d, DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf,
                   int64_t n, const RmspropParams& p) override {
    cuda::rmspropStep(context(d), t, param, grad, squareAvg, gradAvg, buf, n, p);
  }
  void adagradStep(const Device& d, DType t, void* param, const void* grad, void* sum, int64_t n,
                   const AdagradParams& p) override {
    cuda::adagradStep(context(d), t, param, grad, sum, n, p);
  }
  void radamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                 const RadamParams& p) override {
    cuda::radamStep(context(d), t, param, grad, m, v, n, p);
  }
  void nadamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                 const NadamParams& p) override {
    cuda::nadamStep(context(d), t, param, grad, m, v, n, p);
  }
  void adamaxStep(const Device& d, DType t, void* param, const void* grad, void* m, void* u, int64_t n,
                  const AdamaxParams& p) override {
    cuda::adamaxStep(context(d), t, param, grad, m, u, n, p);
  }
  void adadeltaStep(const Device& d, DType t, void* param, const void* grad, void* squareAvg, void* accDelta,
                    int64_t n, const AdadeltaParams& p) override {
    cuda::adadeltaStep(context(d), t, param, grad, squareAvg, accDelta, n, p);
  }
  void rpropStep(const Device& d, DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n,
                 const RpropParams& p) override {
    cuda::rpropStep(context(d), t, param, grad, prev, stepSize, n, p);
  }
  void asgdStep(const Device& d, DType t, void* param, const void* grad, void* ax, int64_t n,
                const AsgdParams& p) override {
    cuda::asgdStep(context(d), t, param, grad, ax, n, p);
  }
};

}  // namespace cuda

const CudaStatus& cudaStatus() {
  static const CudaStatus status = [] {
    CudaStatus s;
    s.compiled = true;
    s.archs = ANTLER_CUDA_ARCHS;
    s.cublasPath = "not loaded: CUDA is not available";
    try {
      // Versions are informative only; a missing driver reports 0.
      if (cudaRuntimeGetVersion(&s.runtimeVersion) != cudaSuccess) s.runtimeVersion = 0;
      if (cudaDriverGetVersion(&s.driverVersion) != cudaSuccess) s.driverVersion = 0;
      int count = 0;
      const cudaError_t err = cudaGetDeviceCount(&count);
      if (err != cudaSuccess) {
        cudaGetLastError();
        s.reason = cuda::deviceCountFailure(err, s.driverVersion, s.runtimeVersion);
        return s;
      }
      if (count <= 0) {
        s.reason = "no CUDA device found";
        return s;
      }
      for (int i = 0; i < count; ++i) {
        CudaDeviceInfo info;
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) {
          info.name = prop.name;
          info.totalMemory = prop.totalGlobalMem;
          info.major = prop.major;
          info.minor = prop.minor;
          info.multiprocessors = prop.multiProcessorCount;
        } else {
          cudaGetLastError();
          info.name = "unknown";
        }
        s.devices.push_back(info);
      }
      // No device this build has code for: say so here (backends(), doctor) rather than at the first op.
      std::string unrunnable;
      bool anyRuns = false;
      for (size_t i = 0; i < s.devices.size(); ++i) {
        const CudaDeviceInfo& dev = s.devices[i];
        if (dev.name == "unknown" || cudaBuildRunsOn(s.archs, dev.major, dev.minor)) {
          anyRuns = true;
          break;
        }
        if (unrunnable.empty()) unrunnable = "device " + cuda::noCodeFor("cuda:" + std::to_string(i), dev, s.archs);
      }
      if (!anyRuns) {
        s.reason = unrunnable;
        return s;
      }
      s.available = true;
      const cuda::blas::LoadResult& blas = cuda::blas::load();
      s.cublas = blas.loaded;
      s.cublasPath = blas.path;
    } catch (const std::exception& e) {
      s.available = false;
      s.devices.clear();
      s.reason = std::string("probing CUDA failed: ") + e.what();
    }
    return s;
  }();
  return status;
}

Backend& cudaBackend(const Device& d) {
  const CudaStatus& status = cudaStatus();
  if (!status.available) fail(Code::CudaUnavailable, "device ", d.str(), " is not available: ", status.reason);
  const int count = static_cast<int>(status.devices.size());
  if (d.index < 0 || d.index >= count)
    fail(Code::InvalidArgument, "device ", d.str(), " does not exist; this machine has ", count, " CUDA device(s)");
  // Never destroyed, like the contexts it uses.
  static cuda::CudaBackend* backend = new cuda::CudaBackend();
  return *backend;
}

}  // namespace antler
