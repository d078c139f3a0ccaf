// CPU backend: OpenMP loops over the shared math in native/kernels/.
#include <cstring>

#include "../core/backend.h"
#include "../core/error.h"
#include "allocator.h"
#include "gemm.h"
#include "ops.h"
#include "parallel.h"

namespace antler {
namespace {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  void* allocate(const Device&, size_t bytes) override {
    void* p = cpu::hostPool().allocate(bytes);
    if (p && poisonNewBuffers()) std::memset(p, 0xFF, (bytes + 63) / 64 * 64);
    return p;
  }
  void deallocate(const Device&, void* ptr, size_t bytes) noexcept override { cpu::hostPool().deallocate(ptr, bytes); }
  size_t cachedBytes(const Device&) const override { return cpu::hostPool().cachedBytes(); }
  void releaseCache(const Device&) override { cpu::hostPool().releaseCache(); }

  void copyFromHost(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copyToHost(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(const Device&, void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void synchronize(const Device&) override {}

  void fill(const Device&, void* dst, DType t, int64_t n, double value) override { cpu::fill(dst, t, n, value); }
  void arange(const Device&, void* dst, DType t, int64_t n, double start, double step) override {
    cpu::arange(dst, t, n, start, step);
  }
  void random(const Device&, void* dst, DType t, int64_t n, const RandomSpec& spec) override {
    cpu::random(dst, t, n, spec);
  }
  void cast(const Device&, void* dst, DType dstType, const void* src, DType srcType, int64_t n) override {
    cpu::cast(dst, dstType, src, srcType, n);
  }
  void binary(const Device&, kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
              const kernels::BroadcastIndexer* idx) override {
    cpu::binary(op, t, out, a, b, n, idx);
  }
  void binaryScalar(const Device&, kernels::BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst,
                    int64_t n) override {
    cpu::binaryScalar(op, t, out, a, s, scalarFirst, n);
  }

  void matmul(const Device&, DType t, const MatmulArgs& args) override {
    if (t == DType::Float32) cpu::gemmBatched<float>(args);
    else if (t == DType::Float64) cpu::gemmBatched<double>(args);
    else fail(Code::DtypeMismatch, "matmul: dtype int32 is not supported on cpu");
  }

  void sumAll(const Device&, DType t, const void* src, int64_t n, void* out) override { cpu::sumAll(t, src, n, out); }
  void dot(const Device&, DType t, const void* a, const void* b, int64_t n, void* out) override { cpu::dot(t, a, b, n, out); }

  void unary(const Device&, kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0,
             double p1) override {
    cpu::unary(op, t, y, x, n, p0, p1);
  }
  void unaryBackward(const Device&, kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y,
                     const void* gy, int64_t n, double p0, double p1) override {
    cpu::unaryBackward(op, t, gx, x, y, gy, n, p0, p1);
  }
  void pointwise(const Device&, kernels::PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n,
                 int p, const kernels::BroadcastIndexer* idx) override {
    cpu::pointwise(op, t, y, a, b, n, p, idx);
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
  void cumulative(const Device&, DType t, kernels::CumOp op, void* out, const void* x, int64_t outer, int64_t n,
                  int64_t inner, bool exclusive, bool reverse) override {
    cpu::cumulative(t, op, out, x, outer, n, inner, exclusive, reverse);
  }
  void cumprodBackward(const Device&, DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n,
                       int64_t inner, bool exclusive, bool reverse) override {
    cpu::cumprodBackward(t, gx, x, gy, outer, n, inner, exclusive, reverse);
  }
  void cumExtreme(const Device&, DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n,
                  int64_t inner, bool largest) override {
    cpu::cumExtreme(t, values, indices, x, outer, n, inner, largest);
  }
  void logCumSumExp(const Device&, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                    bool reverse) override {
    cpu::logCumSumExp(t, out, x, outer, n, inner, reverse);
  }
  void logCumSumExpBackward(const Device&, DType t, void* gx, const void* x, const void* y, const void* gy,
                            int64_t outer, int64_t n, int64_t inner, bool reverse) override {
    cpu::logCumSumExpBackward(t, gx, x, y, gy, outer, n, inner, reverse);
  }
  void depthwiseConv(const Device&, DType t, void* y, const void* x, const void* w,
                     const kernels::DepthwiseGeometry& g) override {
    cpu::depthwiseConv(t, y, x, w, g);
  }
  void depthwiseConvBackwardInput(const Device&, DType t, void* gx, const void* gy, const void* w,
                                  const kernels::DepthwiseGeometry& g) override {
    cpu::depthwiseConvBackwardInput(t, gx, gy, w, g);
  }
  void depthwiseConvBackwardWeight(const Device&, DType t, void* gw, const void* x, const void* gy,
                                   const kernels::DepthwiseGeometry& g) override {
    cpu::depthwiseConvBackwardWeight(t, gw, x, gy, g);
  }
  void maxPool(const Device&, DType t, void* y, int32_t* indices, const void* x, const kernels::PoolGeometry& g) override {
    cpu::maxPool(t, y, indices, x, g);
  }
  void avgPool(const Device&, DType t, void* y, const void* x, const kernels::PoolGeometry& g) override {
    cpu::avgPool(t, y, x, g);
  }
  void avgPoolBackward(const Device&, DType t, void* gx, const void* gy, const kernels::PoolGeometry& g) override {
    cpu::avgPoolBackward(t, gx, gy, g);
  }
  void argReduce(const Device&, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                 bool largest) override {
    cpu::argReduce(t, out, x, outer, n, inner, largest);
  }
  void topk(const Device&, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
            bool largest) override {
    cpu::topk(t, out, x, outer, n, inner, k, largest);
  }
  void searchsorted(const Device&, DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M,
                    int64_t K, bool right) override {
    cpu::searchsorted(t, out, seq, values, B, M, K, right);
  }

  // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
  void triangularSolve(const Device&, DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t k,
                       bool upper, bool left, bool unit) override {
    cpu::triangularSolve(t, X, A, B, batch, n, k, upper, left, unit);
  }
  void luFactor(const Device&, DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m,
                int64_t n) override {
    cpu::luFactor(t, LU, pivots, info, A, batch, m, n);
  }
  void luPermutation(const Device&, int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m) override {
    cpu::luPermutation(perm, pivots, batch, k, m);
  }
  void cholesky(const Device&, DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n) override {
    cpu::cholesky(t, L, info, A, batch, n);
  }
  // (end of linalg-lu)

  // linalg-qr (Householder QR): native/kernels/linalg_qr.h
  void linalgQr(const Device&, DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n,
                int64_t qCols, int64_t rRows) override {
    cpu::linalgQr(t, Q, R, A, B, m, n, qCols, rRows);
  }
  // (end of linalg-qr)

  // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
  void linalgEigh(const Device&, DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w,
                  void* V, int32_t* info) override {
    cpu::linalgEigh(t, A, B, n, upper, vectors, w, V, info);
  }
  void linalgSvd(const Device&, DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors,
                 void* U, void* S, void* Vh, int32_t* info) override {
    cpu::linalgSvd(t, A, B, m, n, full, vectors, U, S, Vh, info);
  }
  // (end of linalg-spectral)

  // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
  void standardGamma(const Device&, DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s) override {
    cpu::standardGamma(t, out, alpha, n, s);
  }
  void gammaBinary(const Device&, DType t, int op, void* out, const void* a, const void* x, int64_t n) override {
    cpu::gammaBinary(t, op, out, a, x, n);
  }
  // (end of random-gamma)

  // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
  void discreteSample(const Device&, DType t, int op, void* out, const void* a, const void* b, int64_t n,
                      const kernels::PhiloxStream& s) override {
    cpu::discreteSample(t, op, out, a, b, n, s);
  }
  // (end of random-discrete)
  void ctcLoss(const Device&, DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
               const int32_t* inLen, const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S,
               int64_t blank) override {
    cpu::ctcLoss(t, nll, logAlpha, lp, targets, inLen, tgtLen, T, N, C, S, blank);
  }
  void ctcLossBackward(const Device&, DType t, void* grad, const void* g, const void* lp, const int32_t* targets,
                       const int32_t* inLen, const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T,
                       int64_t N, int64_t C, int64_t S, int64_t blank, bool zeroInfinity) override {
    cpu::ctcLossBackward(t, grad, g, lp, targets, inLen, tgtLen, nll, logAlpha, T, N, C, S, blank, zeroInfinity);
  }
  void gridSample(const Device&, DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C,
                  const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) override {
    cpu::gridSample(t, out, x, grid, N, C, sizes, per, dims, mode, padding, align);
  }
  void gridSampleBackward(const Device&, DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid,
                          int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding,
                          bool align) override {
    cpu::gridSampleBackward(t, gx, gg, gy, x, grid, N, C, sizes, per, dims, mode, padding, align);
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
  int64_t scatterAddRows(const Device&, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n,
                         int64_t rows, int64_t cols, bool /*checked: the CPU always checks*/) override {
    return cpu::scatterAddRows(t, gtable, g, idx, n, rows, cols);
  }
  void setRows(const Device&, DType t, void* table, const void* src, const int32_t* idx, int64_t n, int64_t rows,
               int64_t cols) override {
    const size_t rowBytes = static_cast<size_t>(cols) * dtypeSize(t);
    char* dst = static_cast<char*>(table);
    const char* from = static_cast<const char*>(src);
    cpu::parallelFor(n, n * cols, [&](int64_t i) {
      if (idx[i] >= 0 && idx[i] < rows)
        std::memcpy(dst + static_cast<size_t>(idx[i]) * rowBytes, from + static_cast<size_t>(i) * rowBytes, rowBytes);
    });
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
  void deerResidual(const Device&, DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f,
                    double rtol, void* out) override {
    cpu::deerResidual(t, T, B, n, y, f, rtol, out);
  }
  void expm(const Device&, DType t, int64_t count, int64_t m, const void* A, void* E) override {
    cpu::expm(t, count, m, A, E);
  }
  void cellLinearize(const Device&, DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac,
                     const CellInputs& in, void* f, void* J, void* bOff) override {
    cpu::cellLinearize(t, cfg, jac, in, f, J, bOff);
  }
  void cellSequential(const Device&, DType t, const kernels::CellConfig& cfg, const CellInputs& in, void* y) override {
    cpu::cellSequential(t, cfg, in, y);
  }
  void cellDeerAdjoint(const Device&, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                       void* lam, int) override {
    cpu::cellDeerAdjoint(t, cfg, in, g, lam);
  }
  void cellDeerSolve(const Device&, DType t, const kernels::CellConfig& cfg, bool dense,
                     const kernels::DeerFusedParams& p, const CellInputs& in, const void* guess, void* y,
                     void* status) override {
    cpu::cellDeerSolve(t, cfg, dense, p, in, guess, y, static_cast<double*>(status));
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

  void adaHessianStep(const Device&, DType t, void* param, const void* grad, void* m, void* v, const void* dDiag,
                      int64_t n, const AdaHessianParams& p) override {
    cpu::adaHessianStep(t, param, grad, m, v, dDiag, n, p);
  }
  void rmspropStep(const Device&, DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf,
                   int64_t n, const RmspropParams& p) override {
    cpu::rmspropStep(t, param, grad, squareAvg, gradAvg, buf, n, p);
  }
  void adagradStep(const Device&, DType t, void* param, const void* grad, void* sum, int64_t n,
                   const AdagradParams& p) override {
    cpu::adagradStep(t, param, grad, sum, n, p);
  }
  void radamStep(const Device&, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                 const RadamParams& p) override {
    cpu::radamStep(t, param, grad, m, v, n, p);
  }
  void nadamStep(const Device&, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                 const NadamParams& p) override {
    cpu::nadamStep(t, param, grad, m, v, n, p);
  }
  void adamaxStep(const Device&, DType t, void* param, const void* grad, void* m, void* u, int64_t n,
                  const AdamaxParams& p) override {
    cpu::adamaxStep(t, param, grad, m, u, n, p);
  }
  void adadeltaStep(const Device&, DType t, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n,
                    const AdadeltaParams& p) override {
    cpu::adadeltaStep(t, param, grad, squareAvg, accDelta, n, p);
  }
  void rpropStep(const Device&, DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n,
                 const RpropParams& p) override {
    cpu::rpropStep(t, param, grad, prev, stepSize, n, p);
  }
  void asgdStep(const Device&, DType t, void* param, const void* grad, void* ax, int64_t n,
                const AsgdParams& p) override {
    cpu::asgdStep(t, param, grad, ax, n, p);
  }
};

}  // namespace

Backend& cpuBackend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace antler
