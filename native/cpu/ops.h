// CPU implementations of the op-table entries that autograd builds on, one
// file per family: elementwise.cpp (fill, arange, random, cast, binary,
// binaryScalar, sumAll), unary.cpp (unary, unaryBackward), shape.cpp (reduce,
// copyStrided, where), rows.cpp (softmax, crossEntropy, gatherRows,
// scatterAddRows, layerNorm), cumsum.cpp (cumulative, cumprodBackward, cumExtreme, logCumSumExp), argreduce.cpp (argReduce), depthwise.cpp (depthwiseConv and its gradients), pool.cpp (maxPool, avgPool, avgPoolBackward), topk.cpp (topk), ctc.cpp (ctcLoss, ctcLossBackward), grid_sample.cpp (gridSample, gridSampleBackward), sru.cpp (sruForward, sruBackward, sruDeer), scan.cpp
// (deerScan, deerScanBackward), elk.cpp (deerElk), cells.cpp (cellLinearize, cellSequential,
// cellBackward), optim.cpp
// (sgdStep, adamStep). Signatures and contracts are those of core/backend.h
// without the device.
#pragma once
#include "../core/backend.h"

namespace antler::cpu {

void fill(void* dst, DType t, int64_t n, double value);
void arange(void* dst, DType t, int64_t n, double start, double step);
void random(void* dst, DType t, int64_t n, const RandomSpec& spec);
void cast(void* dst, DType dstType, const void* src, DType srcType, int64_t n);
void binary(kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
            const kernels::BroadcastIndexer* idx);
void binaryScalar(kernels::BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst, int64_t n);
void sumAll(DType t, const void* src, int64_t n, void* out);
void dot(DType t, const void* a, const void* b, int64_t n, void* out);
void unary(kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0, double p1);
void unaryBackward(kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y, const void* gy, int64_t n,
                   double p0, double p1);
void reduce(kernels::ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
            const kernels::ReduceIndexer& idx);
void pointwise(kernels::PointwiseOp op, DType t, void* y, const void* a, const void* b, int64_t n, int p,
               const kernels::BroadcastIndexer* idx);
void copyStrided(DType t, void* dst, const void* src, int64_t n, const kernels::StridedIndexer& idx);
void where(DType t, DType condType, void* out, const void* cond, const void* a, const void* b, int64_t n,
           const kernels::TernaryIndexer& idx);
void softmax(DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner);
void softmaxBackward(DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer, int64_t dim,
                     int64_t inner);
void cumulative(DType t, kernels::CumOp op, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                bool exclusive, bool reverse);
void cumprodBackward(DType t, void* gx, const void* x, const void* gy, int64_t outer, int64_t n, int64_t inner,
                     bool exclusive, bool reverse);
void cumExtreme(DType t, void* values, int32_t* indices, const void* x, int64_t outer, int64_t n, int64_t inner,
                bool largest);
void logCumSumExp(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool reverse);
void logCumSumExpBackward(DType t, void* gx, const void* x, const void* y, const void* gy, int64_t outer, int64_t n,
                          int64_t inner, bool reverse);
void depthwiseConv(DType t, void* y, const void* x, const void* w, const kernels::DepthwiseGeometry& g);
void depthwiseConvBackwardInput(DType t, void* gx, const void* gy, const void* w, const kernels::DepthwiseGeometry& g);
void depthwiseConvBackwardWeight(DType t, void* gw, const void* x, const void* gy, const kernels::DepthwiseGeometry& g);
void maxPool(DType t, void* y, int32_t* indices, const void* x, const kernels::PoolGeometry& g);
void avgPool(DType t, void* y, const void* x, const kernels::PoolGeometry& g);
void avgPoolBackward(DType t, void* gx, const void* gy, const kernels::PoolGeometry& g);
void argReduce(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, bool largest);
void topk(DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest);
void searchsorted(DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M, int64_t K, bool right);

// linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
void triangularSolve(DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n, int64_t k, bool upper,
                     bool left, bool unit);
void luFactor(DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch, int64_t m, int64_t n);
void luPermutation(int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k, int64_t m);
void cholesky(DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n);
// (end of linalg-lu)

// linalg-qr (Householder QR): native/kernels/linalg_qr.h
void linalgQr(DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n, int64_t qCols, int64_t rRows);
// (end of linalg-qr)

// linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
void linalgEigh(DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors, void* w, void* V,
                int32_t* info);
void linalgSvd(DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full, bool vectors, void* U, void* S,
               void* Vh, int32_t* info);
// (end of linalg-spectral)

// random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
void standardGamma(DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s);
void gammaBinary(DType t, int op, void* out, const void* a, const void* x, int64_t n);
// (end of random-gamma)

// random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
void discreteSample(DType t, int op, void* out, const void* a, const void* b, int64_t n, const kernels::PhiloxStream& s);
// (end of random-discrete)
void ctcLoss(DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets, const int32_t* inLen,
             const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank);
void ctcLossBackward(DType t, void* grad, const void* g, const void* lp, const int32_t* targets, const int32_t* inLen,
                     const int32_t* tgtLen, const void* nll, const void* logAlpha, int64_t T, int64_t N, int64_t C,
                     int64_t S, int64_t blank, bool zeroInfinity);
void gridSample(DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C, const int64_t* sizes,
                int64_t per, int dims, int mode, int padding, bool align);
void gridSampleBackward(DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid, int64_t N,
                        int64_t C, const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align);
int64_t crossEntropy(DType t, void* loss, void* valid, const void* logits, const int32_t* labels, int64_t N, int64_t C,
                     int64_t ignoreIndex);
void crossEntropyBackward(DType t, void* gx, const void* logits, const int32_t* labels, const void* g, int64_t N,
                          int64_t C, int64_t ignoreIndex);
int64_t gatherRows(DType t, void* out, const void* table, const int32_t* idx, int64_t n, int64_t rows, int64_t cols);
int64_t scatterAddRows(DType t, void* gtable, const void* g, const int32_t* idx, int64_t n, int64_t rows, int64_t cols);
void layerNorm(DType t, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int64_t N,
               int64_t D, double eps);
void layerNormBackward(DType t, void* gx, void* gw, void* gb, const void* gy, const void* x, const void* mean,
                       const void* rstd, const void* w, int64_t N, int64_t D);
void sruForward(DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h, void* c, void* cLast);
void sruBackward(DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, const void* gh,
                 const void* gcLast, const SruGrads& out);
void sruDeer(DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J, void* bOff,
             void* h);
void deerScan(DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, void* y);
void deerScanBackward(DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, const void* y, const void* gy,
                      void* gA, void* gb, void* gy0);
void deerElk(DType t, const kernels::ElkConfig& cfg, const ElkBuffers& in, void* y);
void deerResidual(DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f, double rtol, void* out);
void expm(DType t, int64_t count, int64_t m, const void* A, void* E);
void cellLinearize(DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac, const CellInputs& in, void* f,
                   void* J, void* bOff);
void cellSequential(DType t, const kernels::CellConfig& cfg, const CellInputs& in, void* y);
void cellDeerAdjoint(DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g, void* lam);
void cellDeerSolve(DType t, const kernels::CellConfig& cfg, bool dense, const kernels::DeerFusedParams& p,
                   const CellInputs& in, const void* guess, void* y, double* status);
void cellBackward(DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g, bool adjoint, void* gxp,
                  void* ghh, void* gy0);
void sgdStep(DType t, void* param, const void* grad, void* momentumBuf, int64_t n, const SgdParams& p);
void adamStep(DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n, const AdamParams& p);
void adaHessianStep(DType t, void* param, const void* grad, void* m, void* v, const void* dDiag, int64_t n,
                    const AdaHessianParams& p);
void rmspropStep(DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf, int64_t n,
                 const RmspropParams& p);
void adagradStep(DType t, void* param, const void* grad, void* sum, int64_t n, const AdagradParams& p);
void radamStep(DType t, void* param, const void* grad, void* m, void* v, int64_t n, const RadamParams& p);
void nadamStep(DType t, void* param, const void* grad, void* m, void* v, int64_t n, const NadamParams& p);
void adamaxStep(DType t, void* param, const void* grad, void* m, void* u, int64_t n, const AdamaxParams& p);
void adadeltaStep(DType t, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n,
                  const AdadeltaParams& p);
void rpropStep(DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n, const RpropParams& p);
void asgdStep(DType t, void* param, const void* grad, void* ax, int64_t n, const AsgdParams& p);

}  // namespace antler::cpu
