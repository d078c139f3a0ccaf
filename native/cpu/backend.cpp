// CPU backend: OpenMP loops over the shared math in native/kernels/.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "../core/backend.h"
#include "../core/error.h"
#include "../kernels/elementwise.h"
#include "../kernels/philox.h"
#include "gemm.h"
#include "ops.h"
#include "parallel.h"

namespace antler {
namespace {

using kernels::BinaryOp;

template <typename T>
void fillTyped(T* dst, int64_t n, T value) {
  ANTLER_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dst[i] = value;
}

template <typename T>
void arangeTyped(T* dst, int64_t n, double start, double step) {
  ANTLER_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(start + static_cast<double>(i) * step);
}

// One iteration per Philox block, so each block's words are computed once.
template <typename T>
void randomFloating(T* dst, int64_t n, const RandomSpec& spec) {
  constexpr int kBlock = sizeof(T) == 4 ? kernels::kFloatBlock : kernels::kDoubleBlock;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  ANTLER_PARALLEL_FOR(n)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    T raw[kBlock];
    if constexpr (sizeof(T) == 4) kernels::randomFloatBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    else kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    const int64_t base = blk * kBlock;
    for (int l = 0; l < kBlock && base + l < n; ++l)
      dst[base + l] = kernels::randomAffine<T>(raw[l], spec.normal, spec.a, spec.b);
  }
}

void randomInt32(int32_t* dst, int64_t n, const RandomSpec& spec) {
  const int64_t blocks = (n + kernels::kDoubleBlock - 1) / kernels::kDoubleBlock;
  ANTLER_PARALLEL_FOR(n)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double u[kernels::kDoubleBlock];
    kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), false, u);
    const int64_t base = blk * kernels::kDoubleBlock;
    for (int l = 0; l < kernels::kDoubleBlock && base + l < n; ++l)
      dst[base + l] = kernels::uniformInt32(u[l], spec.a, spec.b);
  }
}

template <typename TOut, typename TIn>
void castTyped(TOut* dst, const TIn* src, int64_t n) {
  ANTLER_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) dst[i] = kernels::castValue<TOut>(src[i]);
}

template <typename TOut>
void castFrom(TOut* dst, const void* src, DType srcType, int64_t n) {
  switch (srcType) {
    case DType::Float32: castTyped(dst, static_cast<const float*>(src), n); break;
    case DType::Float64: castTyped(dst, static_cast<const double*>(src), n); break;
    case DType::Int32: castTyped(dst, static_cast<const int32_t*>(src), n); break;
  }
}

template <typename T>
void binaryTyped(BinaryOp op, T* out, const T* a, const T* b, int64_t n, const kernels::BroadcastIndexer* idx) {
  if (!idx) {
    ANTLER_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::applyBinary(op, a[i], b[i]);
    return;
  }
  ANTLER_PARALLEL_FOR(n)
  for (int64_t i = 0; i < n; ++i) {
    int64_t oa, ob;
    idx->offsets(i, oa, ob);
    out[i] = kernels::applyBinary(op, a[oa], b[ob]);
  }
}

template <typename T>
void binaryScalarTyped(BinaryOp op, T* out, const T* a, T s, bool scalarFirst, int64_t n) {
  if (scalarFirst) {
    ANTLER_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::applyBinary(op, s, a[i]);
  } else {
    ANTLER_PARALLEL_FOR(n)
    for (int64_t i = 0; i < n; ++i) out[i] = kernels::applyBinary(op, a[i], s);
  }
}

// Sums in a wider type over fixed chunks, then adds the chunk sums in order:
// the result does not depend on the thread count.
template <typename T, typename Acc>
Acc sumTyped(const T* src, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<Acc> partial(static_cast<size_t>(chunks));
  ANTLER_PARALLEL_FOR(n)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    Acc s = 0;
    for (int64_t i = c * kChunk; i < end; ++i) s += static_cast<Acc>(src[i]);
    partial[static_cast<size_t>(c)] = s;
  }
  Acc total = 0;
  for (Acc p : partial) total += p;
  return total;
}

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  void* allocate(const Device&, size_t bytes) override {
    if (bytes == 0) return nullptr;
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) fail(Code::OutOfMemory, "cpu: could not allocate ", bytes, " bytes");
    if (poisonNewBuffers()) std::memset(p, 0xFF, rounded);
    return p;
  }
  void deallocate(const Device&, void* ptr, size_t) noexcept override { std::free(ptr); }
  size_t cachedBytes(const Device&) const override { return 0; }
  void releaseCache(const Device&) override {}

  void copyFromHost(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copyToHost(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void synchronize(const Device&) override {}

  void fill(const Device&, void* dst, DType t, int64_t n, double value) override {
    switch (t) {
      case DType::Float32: fillTyped(static_cast<float*>(dst), n, static_cast<float>(value)); break;
      case DType::Float64: fillTyped(static_cast<double*>(dst), n, value); break;
      case DType::Int32: fillTyped(static_cast<int32_t*>(dst), n, static_cast<int32_t>(value)); break;
    }
  }

  void arange(const Device&, void* dst, DType t, int64_t n, double start, double step) override {
    switch (t) {
      case DType::Float32: arangeTyped(static_cast<float*>(dst), n, start, step); break;
      case DType::Float64: arangeTyped(static_cast<double*>(dst), n, start, step); break;
      case DType::Int32: arangeTyped(static_cast<int32_t*>(dst), n, start, step); break;
    }
  }

  void random(const Device&, void* dst, DType t, int64_t n, const RandomSpec& spec) override {
    switch (t) {
      case DType::Float32: randomFloating(static_cast<float*>(dst), n, spec); break;
      case DType::Float64: randomFloating(static_cast<double*>(dst), n, spec); break;
      case DType::Int32: randomInt32(static_cast<int32_t*>(dst), n, spec); break;
    }
  }

  void cast(const Device&, void* dst, DType dstType, const void* src, DType srcType, int64_t n) override {
    switch (dstType) {
      case DType::Float32: castFrom(static_cast<float*>(dst), src, srcType, n); break;
      case DType::Float64: castFrom(static_cast<double*>(dst), src, srcType, n); break;
      case DType::Int32: castFrom(static_cast<int32_t*>(dst), src, srcType, n); break;
    }
  }

  void binary(const Device&, BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
              const kernels::BroadcastIndexer* idx) override {
    switch (t) {
      case DType::Float32:
        binaryTyped(op, static_cast<float*>(out), static_cast<const float*>(a), static_cast<const float*>(b), n, idx);
        break;
      case DType::Float64:
        binaryTyped(op, static_cast<double*>(out), static_cast<const double*>(a), static_cast<const double*>(b), n, idx);
        break;
      case DType::Int32:
        binaryTyped(op, static_cast<int32_t*>(out), static_cast<const int32_t*>(a), static_cast<const int32_t*>(b), n, idx);
        break;
    }
  }

  void binaryScalar(const Device&, BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst,
                    int64_t n) override {
    switch (t) {
      case DType::Float32:
        binaryScalarTyped(op, static_cast<float*>(out), static_cast<const float*>(a), static_cast<float>(s), scalarFirst, n);
        break;
      case DType::Float64:
        binaryScalarTyped(op, static_cast<double*>(out), static_cast<const double*>(a), s, scalarFirst, n);
        break;
      case DType::Int32:
        binaryScalarTyped(op, static_cast<int32_t*>(out), static_cast<const int32_t*>(a), static_cast<int32_t>(s), scalarFirst, n);
        break;
    }
  }

  void matmul(const Device&, DType t, const MatmulArgs& args) override {
    if (t == DType::Float32) cpu::gemmBatched<float>(args);
    else if (t == DType::Float64) cpu::gemmBatched<double>(args);
    else fail(Code::DtypeMismatch, "matmul: dtype int32 is not supported on cpu");
  }

  void sumAll(const Device&, DType t, const void* src, int64_t n, void* out) override {
    switch (t) {
      case DType::Float32:
        *static_cast<float*>(out) = static_cast<float>(sumTyped<float, double>(static_cast<const float*>(src), n));
        break;
      case DType::Float64:
        *static_cast<double*>(out) = sumTyped<double, double>(static_cast<const double*>(src), n);
        break;
      case DType::Int32:
        *static_cast<int32_t*>(out) =
            static_cast<int32_t>(static_cast<uint32_t>(sumTyped<int32_t, int64_t>(static_cast<const int32_t*>(src), n)));
        break;
    }
  }

  void unary(const Device&, kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0,
             double p1) override {
    cpu::unary(op, t, y, x, n, p0, p1);
  }
  void unaryBackward(const Device&, kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y,
                     const void* gy, int64_t n, double p0, double p1) override {
    cpu::unaryBackward(op, t, gx, x, y, gy, n, p0, p1);
  }
  void reduce(const Device&, kernels::ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
              const kernels::ReduceIndexer& idx) override {
    cpu::reduce(op, t, out, x, outN, redN, idx);
  }
  void copyStrided(const Device&, DType t, void* dst, const void* src, int64_t n,
                   const kernels::StridedIndexer& idx) override {
    cpu::copyStrided(t, dst, src, n, idx);
  }
  void where(const Device&, DType t, DType condType, void* out, const void* cond, const void* a, const void* b,
             int64_t n, const kernels::TernaryIndexer& idx) override {
    cpu::where(t, condType, out, cond, a, b, n, idx);
  }
  void softmax(const Device&, DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim,
               int64_t inner) override {
    cpu::softmax(t, log, y, x, outer, dim, inner);
  }
  void softmaxBackward(const Device&, DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer,
                       int64_t dim, int64_t inner) override {
    cpu::softmaxBackward(t, log, gx, y, gy, outer, dim, inner);
  }
  int64_t crossEntropy(const Device&, DType t, void* loss, void* valid, const void* logits, const int32_t* labels,
                       int64_t N, int64_t C, int64_t ignoreIndex) override {
    return cpu::crossEntropy(t, loss, valid, logits, labels, N, C, ignoreIndex);
  }
  void crossEntropyBackward(const Device&, DType t, void* gx, const void* logits, const int32_t* labels,
                            const void* g, int64_t N, int64_t C, int64_t ignoreIndex) override {
    cpu::crossEntropyBackward(t, gx, logits, labels, g, N, C, ignoreIndex);
  }
  int64_t gatherRows(const Device&, DType t, void* out, const void* table, const int32_t* idx, int64_t n,
                     int64_t rows, int64_t cols) override {
    return cpu::gatherRows(t, out, table, idx, n, rows, cols);
  }
  void scatterAddRows(const Device&, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n,
                      int64_t cols) override {
    cpu::scatterAddRows(t, gtable, g, idx, n, cols);
  }
  void layerNorm(const Device&, DType t, void* y, void* mean, void* rstd, const void* x, const void* w,
                 const void* b, int64_t N, int64_t D, double eps) override {
    cpu::layerNorm(t, y, mean, rstd, x, w, b, N, D, eps);
  }
  void layerNormBackward(const Device&, DType t, void* gx, void* gw, void* gb, const void* gy, const void* x,
                         const void* mean, const void* rstd, const void* w, int64_t N, int64_t D) override {
    cpu::layerNormBackward(t, gx, gw, gb, gy, x, mean, rstd, w, N, D);
  }
  void sruForward(const Device&, DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h, void* c,
                  void* cLast) override {
    cpu::sruForward(t, cfg, in, h, c, cLast);
  }
  void sruBackward(const Device&, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c,
                   const void* gh, const void* gcLast, const SruGrads& out) override {
    cpu::sruBackward(t, cfg, in, c, gh, gcLast, out);
  }
  void deerScan(const Device&, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, void* y) override {
    cpu::deerScan(t, cfg, in, y);
  }
  void deerScanBackward(const Device&, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, const void* y,
                        const void* gy, void* gA, void* gb, void* gy0) override {
    cpu::deerScanBackward(t, cfg, in, y, gy, gA, gb, gy0);
  }
  void sruDeer(const Device&, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, void* F,
               void* J, void* bOff, void* h) override {
    cpu::sruDeer(t, cfg, in, c, F, J, bOff, h);
  }
  void deerElk(const Device&, DType t, const kernels::ElkConfig& cfg, const ElkBuffers& in, void* y) override {
    cpu::deerElk(t, cfg, in, y);
  }
  void cellLinearize(const Device&, DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac,
                     const CellInputs& in, void* f, void* J, void* bOff) override {
    cpu::cellLinearize(t, cfg, jac, in, f, J, bOff);
  }
  void cellSequential(const Device&, DType t, const kernels::CellConfig& cfg, const CellInputs& in, void* y) override {
    cpu::cellSequential(t, cfg, in, y);
  }
  void cellBackward(const Device&, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                    bool adjoint, void* gxp, void* ghh, void* gy0) override {
    cpu::cellBackward(t, cfg, in, g, adjoint, gxp, ghh, gy0);
  }
  void sgdStep(const Device&, DType t, void* param, const void* grad, void* momentumBuf, int64_t n,
               const SgdParams& p) override {
    cpu::sgdStep(t, param, grad, momentumBuf, n, p);
  }
  void adamStep(const Device&, DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
                const AdamParams& p) override {
    cpu::adamStep(t, param, grad, m, v, vmax, n, p);
  }
};

}  // namespace

Backend& cpuBackend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace antler
