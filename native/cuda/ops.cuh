// Launchers, one per op, each defined in the file of its family (fill.cu,
// random.cu, cast.cu, binary.cu, reduce.cu, matmul.cu). The caller (backend.cu)
// has made ctx's device current; arguments were validated by core/ops.cpp, and
// each launcher checks what its kernels rely on.
#pragma once
#include "../core/backend.h"
#include "common.cuh"

namespace antler::cuda {

void fill(Context& ctx, void* dst, DType t, int64_t n, double value);
void arange(Context& ctx, void* dst, DType t, int64_t n, double start, double step);
void random(Context& ctx, void* dst, DType t, int64_t n, const RandomSpec& spec);
void cast(Context& ctx, void* dst, DType dstType, const void* src, DType srcType, int64_t n);
void binary(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
            const kernels::BroadcastIndexer* idx);
void binaryScalar(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst,
                  int64_t n);
void sumAll(Context& ctx, DType t, const void* src, int64_t n, void* out);
void dot(Context& ctx, DType t, const void* a, const void* b, int64_t n, void* out);
// The built-in tiled GEMM, used when cuBLAS is absent or the sizes overflow its int parameters.
void matmulTiled(Context& ctx, DType t, const MatmulArgs& args);

// Ops with gradients; contracts in core/backend.h. Files: unary.cu (unary,
// unaryBackward), shape.cu (reduce, copyStrided, where), softmax.cu, cumsum.cu, argreduce.cu, depthwise.cu, pool.cu, topk.cu, ctc.cu,
// grid_sample.cu (gridSample, gridSampleBackward),
// loss.cu (crossEntropy), embedding.cu (gatherRows, scatterAddRows),
// layernorm.cu, sru.cu (sruForward, sruBackward, sruDeer), scan.cu (deerScan,
// deerScanBackward), elk.cu (deerElk), cells.cu (cellLinearize, cellSequential, cellBackward), deer_fused.cu (cellDeerSolve),
// optim.cu (sgdStep, adamStep, adaHessianStep, rmspropStep, adagradStep, radamStep, nadamStep, adamaxStep,
// adadeltaStep, rpropStep, asgdStep).
void unary(Context& ctx, kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0, double p1);
void unaryBackward(Context& ctx, kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y, const void* gy,
                   int64_t n, double p0, double p1);
void reduce(Context& ctx, kernels::ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
            const kernels::ReduceIndexer& idx);
void pointwise(Context& ctx, kernels::PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p,
               const kernels::BroadcastIndexer* idx);
void copyStrided(Context& ctx, DType t, void* dst, const void* src, int64_t n, const kernels::StridedIndexer& idx);
void where(Context& ctx, DType t, DType condType, void* out, const void* cond, const void* a, const void* b, int64_t n,
           const kernels::TernaryIndexer& idx);
void softmax(Context& ctx, DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner);
void softmaxBackward(Context& ctx, DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer,
                     int64_t dim, int64_t inner);
void cumulative(Context& ctx, DType t, kernels::CumOp op, void* out, const void* x, int64_t outer, int64_t n,
                int64_t inner, bool exclusive, bool reverse);
void cumprodBackward(Context& ctx, DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n,
                     int64_t inner, bool exclusive, bool reverse);
void cumExtreme(Context& ctx, DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n,
                int64_t inner, bool largest);
void logCumSumExp(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                  bool reverse);
void logCumSumExpBackward(Context& ctx, DType t, void* gx, const void* x, const void* y, const void* gy, int64_t outer,
                          int64_t n, int64_t inner, bool reverse);
void depthwiseConv(Context& ctx, DType t, void* y, const void* x, const void* w, const kernels::DepthwiseGeometry& g);
void depthwiseConvBackwardInput(Context& ctx, DType t, void* gx, const void* gy, const void* w,
                                const kernels::DepthwiseGeometry& g);
void depthwiseConvBackwardWeight(Context& ctx, DType t, void* gw, const void* x, const void* gy,
                                 const kernels::DepthwiseGeometry& g);
void maxPool(Context& ctx, DType t, void* y, int32_t* indices, const void* x, const kernels::PoolGeometry& g);
void avgPool(Context& ctx, DType t, void* y, const void* x, const kernels::PoolGeometry& g);
void avgPoolBackward(Context& ctx, DType t, void* gx, const void* gy, const kernels::PoolGeometry& g);
void argReduce(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
               bool largest);
void topk(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k,
          bool largest);
void searchsorted(Context& ctx, DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M,
                  int64_t K, bool right);

// linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
void triangularSolve(Context& ctx, DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t k,
                     bool upper, bool left, bool unit);
void luFactor(Context& ctx, DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m,
              int64_t n);
void luPermutation(Context& ctx, int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m);
void cholesky(Context& ctx, DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n);
// (end of linalg-lu)

// linalg-qr (Householder QR): native/kernels/linalg_qr.h
void linalgQr(Context& ctx, DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n, int64_t qCols,
              int64_t rRows);
// (end of linalg-qr)

// linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
void linalgEigh(Context& ctx, DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w,
                void* V, int32_t* info);
void linalgSvd(Context& ctx, DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors,
               void* U, void* S, void* Vh, int32_t* info);
// (end of linalg-spectral)

// random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
void standardGamma(Context& ctx, DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s);
void gammaBinary(Context& ctx, DType t, int op, void* out, const void* a, const void* x, int64_t n);
// (end of random-gamma)

// random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
void discreteSample(Context& ctx, DType t, int op, void* out, const void* a, const void* b, int64_t n, const kernels::PhiloxStream& s);
// (end of random-discrete)
void ctcLoss(Context& ctx, DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
             const int32_t* inLen, const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank);
void ctcLossBackward(Context& ctx, DType t, void* grad, const void* g, const void* lp, const int32_t* targets,
                     const int32_t* inLen, const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T,
                     int64_t N, int64_t C, int64_t S, int64_t blank, bool zeroInfinity);
void gridSample(Context& ctx, DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C,
                const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align);
void gridSampleBackward(Context& ctx, DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid,
                        int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding,
                        bool align);
int64_t crossEntropy(Context& ctx, DType t, void* loss, void* valid, const void* logits, const int32_t* labels,
                     int64_t N, int64_t C, int64_t ignoreIndex);
void crossEntropyBackward(Context& ctx, DType t, void* gx, const void* logits, const int32_t* labels, const void* g,
                          int64_t N, int64_t C, int64_t ignoreIndex);
int64_t gatherRows(Context& ctx, DType t, void* out, const void* table, const int32_t* idx, int64_t n, int64_t rows,
                   int64_t cols);
// checked = false: no flag, no readback, no sync; returns −1 (a bad index still adds nothing).
int64_t scatterAddRows(Context& ctx, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n, int64_t rows,
                       int64_t cols, bool checked);
void setRows(Context& ctx, DType t, void* table, const void* src, const int32_t* idx, int64_t n, int64_t rows,
             int64_t cols);
void layerNorm(Context& ctx, DType t, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b,
               int64_t N, int64_t D, double eps);
void layerNormBackward(Context& ctx, DType t, void* gx, void* gw, void* gb, const void* gy, const void* x,
                       const void* mean, const void* rstd, const void* w, int64_t N, int64_t D);
void sruForward(Context& ctx, DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h, void* c,
                void* cLast);
void sruBackward(Context& ctx, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c,
                 const void* gh, const void* gcLast, const SruGrads& out);
void sruDeer(Context& ctx, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J,
             void* bOff, void* h);
void deerScan(Context& ctx, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, void* y);
void deerScanBackward(Context& ctx, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, const void* y,
                      const void* gy, void* gA, void* gb, void* gy0);
void deerElk(Context& ctx, DType t, const kernels::ElkConfig& cfg, const ElkBuffers& in, void* y);
void deerResidual(Context& ctx, DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f, double rtol,
                  void* out);
void expm(Context& ctx, DType t, int64_t count, int64_t m, const void* A, void* E);
void cellLinearize(Context& ctx, DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac,
                   const CellInputs& in, void* f, void* J, void* bOff);
void cellSequential(Context& ctx, DType t, const kernels::CellConfig& cfg, const CellInputs& in, void* y);
void cellBackward(Context& ctx, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                  bool adjoint, void* gxp, void* ghh, void* gy0);
void cellDeerAdjoint(Context& ctx, DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g,
                     void* lam, int maxSegments);
void cellDeerSolve(Context& ctx, DType t, const kernels::CellConfig& cfg, bool dense, const kernels::DeerFusedParams& p,
                   const CellInputs& in, const void* guess, void* y, void* status);
void sgdStep(Context& ctx, DType t, void* param, const void* grad, void* momentumBuf, int64_t n, const SgdParams& p);
void adamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
              const AdamParams& p);
void adaHessianStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, const void* dDiag,
                    int64_t n, const AdaHessianParams& p);
void rmspropStep(Context& ctx, DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf,
                 int64_t n, const RmspropParams& p);
void adagradStep(Context& ctx, DType t, void* param, const void* grad, void* sum, int64_t n, const AdagradParams& p);
void radamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, int64_t n, const RadamParams& p);
void nadamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, int64_t n, const NadamParams& p);
void adamaxStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* u, int64_t n, const AdamaxParams& p);
void adadeltaStep(Context& ctx, DType t, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n,
                  const AdadeltaParams& p);
void rpropStep(Context& ctx, DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n,
               const RpropParams& p);
void asgdStep(Context& ctx, DType t, void* param, const void* grad, void* ax, int64_t n, const AsgdParams& p);

}  // namespace antler::cuda
