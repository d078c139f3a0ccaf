// The op table. Each backend (cpu/, cuda/) implements every entry with the
// same signature; core/ops.cpp validates and dispatches, so the JavaScript side
// never branches on the device to do math. Pointers are to the first element
// of contiguous row-major data on the backend's device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/cells.h"
#include "../kernels/deer_fused.h"
#include "../kernels/depthwise.h"
#include "../kernels/pool.h"
#include "../kernels/elk.h"
#include "../kernels/elementwise.h"
#include "../kernels/indexers.h"
#include "../kernels/philox.h"
#include "../kernels/scan.h"
#include "../kernels/scan_axis.h"
#include "../kernels/sru.h"
#include "../kernels/unary.h"
#include "device.h"
#include "dtype.h"

namespace antler {

namespace kernels {
enum class PointwiseOp : int;  // kernels/pointwise.h, included only where the functions are evaluated
}

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

// torch.optim.SGD, one parameter tensor:
//   d = ±grad (+ weightDecay·param); if momentum: buf = firstStep ? d : momentum·buf + (1−dampening)·d,
//   d = nesterov ? d + momentum·buf : buf;  param −= lr·d
struct SgdParams {
  double lr = 0, momentum = 0, dampening = 0, weightDecay = 0;
  bool nesterov = false, maximize = false, firstStep = true;
};

// torch.optim.Adam / AdamW (decoupled), one parameter tensor at step `step` (1-based):
//   g = ±grad (+ wd·param unless decoupled); decoupled: param ·= 1 − lr·wd
//   m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; amsgrad: vmax = max(vmax, v), use vmax
//   param −= (lr / (1−β1^step)) · m / (sqrt(v) / sqrt(1−β2^step) + eps)
struct AdamParams {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
  bool decoupled = false, amsgrad = false, maximize = false;
  int64_t step = 1;
};

// torch.optim.RMSprop, one parameter tensor:
//   g = ±grad (+ wd·param);  sq = α sq + (1−α) g²
//   centered: ga = α ga + (1−α) g, avg = sqrt(sq − ga²) + eps; else avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum·buf + g/avg, param −= lr·buf; else param −= lr·g/avg
struct RmspropParams {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0;
  bool centered = false, maximize = false;
};

// torch.optim.Adagrad (dense), one parameter tensor at step `step` (1-based):
//   g = ±grad (+ wd·param);  sum += g²;  param −= lr / (1 + (step−1)·lrDecay) · g / (sqrt(sum) + eps)
struct AdagradParams {
  double lr = 1e-2, lrDecay = 0, eps = 1e-10, weightDecay = 0;
  bool maximize = false;
  int64_t step = 1;
};

// torch.optim.RAdam, one parameter tensor at step `step` (1-based):
//   g = ±grad (+ wd·param unless decoupled); decoupled: param ·= 1 − lr·wd
//   m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; m̂ = m / (1−β1^step)
//   rho_t > 5: param −= lr·m̂·sqrt(1−β2^step)/(sqrt(v) + eps)·r_t; else param −= lr·m̂
struct RadamParams {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
  bool decoupled = false, maximize = false;
  int64_t step = 1;
};

// torch.optim.NAdam, one parameter tensor at step `step` (1-based); muProduct is
// Π mu_i over the steps so far, this step's mu_t included:
//   g = ±grad (+ wd·param unless decoupled); decoupled: param ·= 1 − lr·wd
//   m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; denom = sqrt(v / (1−β2^step)) + eps
//   param −= lr·(1−mu_t)/(1−muProduct)·g/denom + lr·mu_{t+1}/(1−muProduct·mu_{t+1})·m/denom
struct NadamParams {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, momentumDecay = 4e-3, muProduct = 1;
  bool decoupled = false, maximize = false;
  int64_t step = 1;
};

// torch.optim.Adamax, one parameter tensor at step `step` (1-based):
//   g = ±grad (+ wd·param); m = β1 m + (1−β1) g; u = max(β2·u, |g| + eps)
//   param −= lr / (1−β1^step) · m / u
struct AdamaxParams {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
  bool maximize = false;
  int64_t step = 1;
};

// torch.optim.Adadelta, one parameter tensor:
//   g = ±grad (+ wd·param); sq = ρ sq + (1−ρ) g²; delta = sqrt(acc + eps)/sqrt(sq + eps)·g
//   acc = ρ acc + (1−ρ) delta²; param −= lr·delta
struct AdadeltaParams {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weightDecay = 0;
  bool maximize = false;
};

// torch.optim.Rprop, one parameter tensor (step_size starts at lr, prev at 0, on the host):
//   g = ±grad; s = g·prev; s > 0: stepSize ·= η+; s < 0: stepSize ·= η−, g = 0; else unchanged
//   stepSize = clamp(stepSize, min, max); param −= sign(g)·stepSize; prev = g
struct RpropParams {
  double etaMinus = 0.5, etaPlus = 1.2, stepSizeMin = 1e-6, stepSizeMax = 50;
  bool maximize = false;
};

// torch.optim.ASGD, one parameter tensor, with the state's eta and mu as they are before this
// step (the host then sets eta = lr / (1 + λ·lr·step)^α, mu = 1 / max(1, step − t0)):
//   g = ±grad (+ wd·param); param ·= 1 − λ·eta; param −= eta·g
//   mu ≠ 1: ax += (param − ax)·mu; else ax = param
struct AsgdParams {
  double lambd = 1e-4, eta = 1e-2, mu = 1, weightDecay = 0;
  bool maximize = false;
};

// AdaHessian (Yao et al. 2021), one parameter tensor at step `step` with `hessianStep`
// refreshes of the Hessian diagonal so far (both 1-based; the refresh count includes this
// step's when d is given):
//   m = β1 m + (1−β1) g;  with d (this step's |D|): v = β2 v + (1−β2) d²
//   param ·= 1 − lr·wd (when wd ≠ 0)
//   param −= (lr / (1−β1^step)) · m / ((v / (1−β2^hessianStep))^(k/2) + eps)
struct AdaHessianParams {
  double lr = 0.15, beta1 = 0.9, beta2 = 0.999, eps = 1e-4, weightDecay = 0, hessianPower = 1;
  int64_t step = 1, hessianStep = 1;
};

// Inputs of the fused SRU recurrence (layouts in kernels/sru.h). x is null
// unless cfg.skip is ScaledInput; c0 null means zeros; maskPad may be null.
struct SruInputs {
  const void* U = nullptr;
  const void* x = nullptr;
  const void* weightC = nullptr;
  const void* bias = nullptr;
  const void* c0 = nullptr;
  const int32_t* maskPad = nullptr;
  // Backward only: the gradient of the state after every step [L, B, dirs·d]
  // (the forward's c output), added to the carry at each step; null for none.
  const void* gcAll = nullptr;
};

// Outputs of the SRU backward; gx is null unless cfg.skip is ScaledInput.
// Operands of the DEER linear scan (kernels/scan.h): A [T, B, n, n] (dense) or
// [T, B, n] (cfg.diagonal), b [T, B, n], y0 [B, n].
struct ScanInputs {
  const void* A = nullptr;
  const void* b = nullptr;
  const void* y0 = nullptr;
};

// Operands of one ELK step (kernels/elk.h, elk_dense.h): a [T, B, n] (the
// diagonal Jacobian) or [T, B, n, n] (dense, cfg.dense), u, yhat [T, B, n],
// y0 [B, n], lambda [B].
struct ElkBuffers {
  const void* a = nullptr;
  const void* u = nullptr;
  const void* yhat = nullptr;
  const void* y0 = nullptr;
  const void* lambda = nullptr;
};

// The same operands typed, as the kernels take them.
template <typename T>
kernels::ElkInputs<T> typedElkInputs(const ElkBuffers& b) {
  kernels::ElkInputs<T> in;
  in.a = static_cast<const T*>(b.a);
  in.u = static_cast<const T*>(b.u);
  in.yhat = static_cast<const T*>(b.yhat);
  in.y0 = static_cast<const T*>(b.y0);
  in.lambda = static_cast<const T*>(b.lambda);
  return in;
}

// Operands of the DEER cells (kernels/cells.h): xp [T, B, G], Whh [G, H],
// bhh [G] (null means zeros), y0 [B, n], y [T, B, n] (null for cellSequential).
struct CellInputs {
  const void* xp = nullptr;
  const void* Whh = nullptr;
  const void* bhh = nullptr;
  const void* y0 = nullptr;
  const void* y = nullptr;
};

struct SruGrads {
  void* gU = nullptr;
  void* gx = nullptr;
  void* gWeightC = nullptr;
  void* gBias = nullptr;
  void* gc0 = nullptr;
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
  // *out = Σ a[i]·b[i] over n ≥ 1 elements of a float type, accumulated in double and deterministic
  // (the order depends only on n): matmul of two vectors.
  virtual void dot(const Device& d, DType t, const void* a, const void* b, int64_t n, void* out) = 0;

  // ---- ops with gradients (autograd builds on these) ----

  // y = f(x; p0, p1) and gx = gy · f'(x) (kernels/unary.h). y is the forward output.
  virtual void unary(const Device& d, kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0,
                     double p1) = 0;
  virtual void unaryBackward(const Device& d, kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y,
                             const void* gy, int64_t n, double p0, double p1) = 0;
  // y = op(a[, b]) of kernels/pointwise.h over n elements (b null unless the op is binary; p the
  // polygamma order); float types only. idx null: a, b and y share one shape; else y[i] =
  // op(a[ia], b[ib]) at idx's offsets of i (strides 0 along broadcast dims).
  virtual void pointwise(const Device& d, kernels::PointwiseOp op, DType t, void* y, const void* a, const void* b,
                         int64_t n, int p, const kernels::BroadcastIndexer* idx) = 0;
  // out[i] = reduce_j x[outOffset(i) + redOffset(j)]; Sum accumulates in double (int64 for int32);
  // Max/Min propagate NaN; redN >= 1 for Max/Min.
  virtual void reduce(const Device& d, kernels::ReduceOp op, DType t, void* out, const void* x, int64_t outN,
                      int64_t redN, const kernels::ReduceIndexer& idx) = 0;
  // dst[od(i)] = src[os(i)] (permute, slice, concat, broadcastTo, pad).
  virtual void copyStrided(const Device& d, DType t, void* dst, const void* src, int64_t n,
                           const kernels::StridedIndexer& idx) = 0;
  // out[i] = cond != 0 ? a : b, with cond of dtype condType (any of the three).
  virtual void where(const Device& d, DType t, DType condType, void* out, const void* cond, const void* a,
                     const void* b, int64_t n, const kernels::TernaryIndexer& idx) = 0;

  // Softmax over the middle axis of x viewed as [outer, dim, inner]:
  //   y = exp(x − max) / Σ exp(x − max)      (log: y = x − max − log Σ exp(x − max))
  //   gx = y (gy − Σ gy·y)                   (log: gx = gy − exp(y) Σ gy)
  virtual void softmax(const Device& d, DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim,
                       int64_t inner) = 0;
  virtual void softmaxBackward(const Device& d, DType t, bool log, void* gx, const void* y, const void* gy,
                               int64_t outer, int64_t dim, int64_t inner) = 0;

  // Cumulative sum or product over the middle axis of x viewed as [outer, n, inner]
  // (kernels/scan_axis.h): out_i = Σ_{k ≤ i} x_k or Π_{k ≤ i} x_k (k < i when exclusive; from the end when
  // reverse), accumulated in double. Float types only.
  virtual void cumulative(const Device& d, DType t, kernels::CumOp op, void* out, const void* x, int64_t outer,
                          int64_t n, int64_t inner, bool exclusive, bool reverse) = 0;
  // The gradient of the cumulative product: gx from x and the output's gradient gy, without division
  // (kernels::cumprodBackwardLine). Float types only.
  virtual void cumprodBackward(const Device& d, DType t, void* gx, const void* x, const void* gy, int64_t outer,
                               int64_t n, int64_t inner, bool exclusive, bool reverse) = 0;
  // cummax (largest) / cummin over the middle axis of x viewed as [outer, n, inner]
  // (kernels::cumExtremeLine): values (x's dtype) and int32 indices, both x's shape; torch's tie and NaN
  // rule. n < 2^31. float32, float64 and int32.
  virtual void cumExtreme(const Device& d, DType t, void* values, int32_t* indices, const void* x, int64_t outer,
                          int64_t n, int64_t inner, bool largest) = 0;
  // logcumsumexp over the middle axis (kernels::logCumSumExpLine), from the end when reverse, in double.
  // Float types only.
  virtual void logCumSumExp(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n,
                            int64_t inner, bool reverse) = 0;
  // logcumsumexp's gradient gx from x, its output y and y's gradient gy, one pass per line against the
  // scan's order (kernels::logCumSumExpBackwardLine). Float types only.
  virtual void logCumSumExpBackward(const Device& d, DType t, void* gx, const void* x, const void* y, const void* gy,
                                    int64_t outer, int64_t n, int64_t inner, bool reverse) = 0;

  // Depthwise convolution (kernels/depthwise.h; groups = input channels, multiplier g.m): y [N, C·m, out…] from x
  // [N, C, in…] and w [C·m, 1, k…]; its input gradient gx [N, C, in…] from gy and w (a gather, no atomics); its
  // weight gradient gw [C·m, 1, k…] from x and gy (a fixed-order double sum: the same result every run). Float types.
  virtual void depthwiseConv(const Device& d, DType t, void* y, const void* x, const void* w,
                             const kernels::DepthwiseGeometry& g) = 0;
  virtual void depthwiseConvBackwardInput(const Device& d, DType t, void* gx, const void* gy, const void* w,
                                          const kernels::DepthwiseGeometry& g) = 0;
  virtual void depthwiseConvBackwardWeight(const Device& d, DType t, void* gw, const void* x, const void* gy,
                                           const kernels::DepthwiseGeometry& g) = 0;

  // Max and average pooling over g.planes (sample, channel) planes (kernels/pool.h): the max's values y [planes,
  // out…] and int32 indices (flat in-plane positions, −1 for a window with no input element); the average y, and its
  // adjoint gx [planes, in…] from gy (a gather per input element on CUDA, no atomics). Float types.
  virtual void maxPool(const Device& d, DType t, void* y, int32_t* indices, const void* x,
                       const kernels::PoolGeometry& g) = 0;
  virtual void avgPool(const Device& d, DType t, void* y, const void* x, const kernels::PoolGeometry& g) = 0;
  virtual void avgPoolBackward(const Device& d, DType t, void* gx, const void* gy, const kernels::PoolGeometry& g) = 0;

  // argmax (largest) or argmin over the middle axis of x viewed as [outer, n, inner] (kernels/argreduce.h):
  // out [outer, inner] int32 holds the index of each line's extreme, the first on ties, the first NaN
  // if the line holds one. n ≥ 1. float32, float64 and int32.
  virtual void argReduce(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                         bool largest) = 0;

  // topk over the middle axis of x viewed as [outer, n, inner] (kernels/argreduce.h's order): out
  // [outer, k, inner] int32 holds the indices of each line's k best elements, best first (NaNs first,
  // then by value, then the lower index). 1 ≤ k ≤ n. float32, float64 and int32.
  virtual void topk(const Device& d, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                    int64_t k, bool largest) = 0;

  // searchsorted (kernels/selection.h): for each value of row b of values [B, K], the position in
  // row b of the sorted seq [B, M] where it goes (boundaries < v, or ≤ v when right); out [B, K]
  // int32. float32, float64 and int32.
  virtual void searchsorted(const Device& d, DType t, int32_t* out, const void* seq, const void* values, int64_t B,
                            int64_t M, int64_t K, bool right) = 0;

  // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
  // Triangular solve (kernels::lanesTriangularSolveMatrix) of A [batch, n, n] (upper or lower triangle
  // read; diagonal taken as 1 when unit) with B: left, A X = B with B and X [batch, n, k]; right,
  // X A = B with B and X [batch, k, n]. Row-major, X fresh. Float types only.
  virtual void triangularSolve(const Device& d, DType t, void* X, const void* A, const void* B, int64_t batch, int64_t n,
                               int64_t k, bool upper, bool left, bool unit) = 0;
  // LU factorisation with partial pivoting (kernels::lanesLuFactor; LAPACK getrf's result) of A [batch, m, n]
  // row-major: LU [batch, m, n] (L unit lower below the diagonal, U on and above), pivots int32
  // [batch, min(m, n)] 1-based, info int32 [batch] (k > 0: U[k − 1, k − 1] is 0). Float types only.
  virtual void luFactor(const Device& d, DType t, void* LU, int32_t* pivots, int32_t* info, const void* A, int64_t batch,
                        int64_t m, int64_t n) = 0;
  // The row permutation of LU pivots [batch, k] on m rows (kernels::lanesLuPermutation): perm int32 [batch, m].
  virtual void luPermutation(const Device& d, int32_t* perm, const int32_t* pivots, int64_t batch, int64_t k,
                             int64_t m) = 0;
  // Cholesky factorisation (kernels::lanesCholesky; LAPACK potrf, lower) of symmetric A [batch, n, n]
  // row-major, its lower triangle read: L [batch, n, n] (strict upper zero), info int32 [batch] (k > 0:
  // the leading minor of order k is not positive definite). Float types only.
  virtual void cholesky(const Device& d, DType t, void* L, int32_t* info, const void* A, int64_t batch, int64_t n) = 0;
  // (end of linalg-lu)

  // linalg-qr (Householder QR): native/kernels/linalg_qr.h
  // Householder QR (kernels/linalg_qr.h, LAPACK's geqrf + orgqr convention) of each of the B row-major
  // m×n matrices of A: R [B, rRows, n] (rRows = min(m, n), or m for 'complete') and, when qCols > 0,
  // Q [B, m, qCols] (qCols = min(m, n), or m for 'complete'). float32 and float64.
  virtual void linalgQr(const Device& d, DType t, void* Q, void* R, const void* A, int64_t B, int64_t m, int64_t n,
                        int64_t qCols, int64_t rRows) = 0;
  // (end of linalg-qr)

  // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
  // Symmetric eigendecomposition (kernels/linalg_spectral.h's lanesEigh) of A [B, n, n] (its lower triangle, or
  // upper): w [B, n] ascending, V [B, n, n] (eigenvectors as columns; unused unless vectors), info [B] (0, or 1:
  // not converged or non-finite, outputs NaN). float32 and float64.
  virtual void linalgEigh(const Device& d, DType t, const void* A, int64_t B, int64_t n, bool upper, bool vectors,
                          void* w, void* V, int32_t* info) = 0;
  // SVD (lanesSvd) of A [B, m, n]: S [B, k] descending (k = min(m, n)); when vectors, U [B, m, k or m] and
  // Vh [B, k or n, n] (reduced or full), info [B] as linalgEigh's.
  virtual void linalgSvd(const Device& d, DType t, const void* A, int64_t B, int64_t m, int64_t n, bool full,
                         bool vectors, void* U, void* S, void* Vh, int32_t* info) = 0;
  // (end of linalg-spectral)

  // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
  // x ~ Gamma(alpha[i], 1) per element from Philox stream s (kernels::standardGammaSample), float types.
  virtual void standardGamma(const Device& d, DType t, void* out, const void* alpha, int64_t n, const kernels::PhiloxStream& s) = 0;
  // Elementwise over same-shape a, x: op 0 standardGammaGrad(a, x), 1 P(a, x) (gammainc), 2 Q(a, x) (gammaincc).
  virtual void gammaBinary(const Device& d, DType t, int op, void* out, const void* a, const void* x, int64_t n) = 0;
  // (end of random-gamma)

  // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
  // op 0: out[i] ~ Poisson(a[i]); op 1: out[i] ~ Binomial(a[i], b[i]) (b: same length), from Philox stream s; float types.
  virtual void discreteSample(const Device& d, DType t, int op, void* out, const void* a, const void* b, int64_t n,
                              const kernels::PhiloxStream& s) = 0;
  // (end of random-discrete)

  // CTC loss (kernels/ctc.h) of log-probabilities lp [T, N, C] against targets [N, S] (int32, none
  // blank, validated by the caller), inLen [N] in [1, T], tgtLen [N] in [0, S]: nll [N] and logAlpha
  // [N, T, 2S + 1] (−∞ outside each sample's lattice), saved for ctcLossBackward.
  virtual void ctcLoss(const Device& d, DType t, void* nll, void* logAlpha, const void* lp, const int32_t* targets,
                       const int32_t* inLen, const int32_t* tgtLen, int64_t T, int64_t N, int64_t C, int64_t S,
                       int64_t blank) = 0;
  // grad [T, N, C] = g[n] · ∂nll[n]/∂lp (0 past a sample's length; NaN on an infinite nll's steps, or 0
  // with zeroInfinity).
  virtual void ctcLossBackward(const Device& d, DType t, void* grad, const void* g, const void* lp,
                               const int32_t* targets, const int32_t* inLen, const int32_t* tgtLen, const void* nll,
                               const void* logAlpha, int64_t T, int64_t N, int64_t C, int64_t S, int64_t blank,
                               bool zeroInfinity) = 0;

  // gridSample (kernels/grid_sample.h): out [N, C, per] from x [N, C, inner] (inner = Π sizes[0 … dims − 1],
  // dims 2 or 3) at grid [N, per, dims]; mode and padding are kernels::GridSampleMode / GridSamplePadding.
  virtual void gridSample(const Device& d, DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C,
                          const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align) = 0;
  // Its gradients from gy [N, C, per]: gx (x's shape, overwritten) and gg (grid's shape); either may be null
  // (not wanted).
  virtual void gridSampleBackward(const Device& d, DType t, void* gx, void* gg, const void* gy, const void* x,
                                  const void* grid, int64_t N, int64_t C, const int64_t* sizes, int64_t per, int dims,
                                  int mode, int padding, bool align) = 0;

  // Per row i of logits [N, C]: loss[i] = logsumexp(x_i) − x_i[label_i], valid[i] = 1; a row whose label
  // is ignoreIndex gets loss 0, valid 0. Returns the first row whose label is neither in [0, C) nor
  // ignoreIndex, or −1 (waits for the device to read that flag).
  virtual int64_t crossEntropy(const Device& d, DType t, void* loss, void* valid, const void* logits,
                               const int32_t* labels, int64_t N, int64_t C, int64_t ignoreIndex) = 0;
  // gx[i, c] = g[i] · (softmax(x_i)_c − [c == label_i]); ignored rows get 0.
  virtual void crossEntropyBackward(const Device& d, DType t, void* gx, const void* logits, const int32_t* labels,
                                    const void* g, int64_t N, int64_t C, int64_t ignoreIndex) = 0;

  // out[i, :] = table[idx[i], :] for table [rows, cols]. Returns the first i with idx[i] outside
  // [0, rows), or −1 (waits for the device to read that flag).
  virtual int64_t gatherRows(const Device& d, DType t, void* out, const void* table, const int32_t* idx, int64_t n,
                             int64_t rows, int64_t cols) = 0;
  // gtable[idx[i], :] += g[i, :] for gtable [rows, cols], zeroed by the caller. A bad index (outside [0, rows))
  // adds nothing on any backend. Returns the first i with a bad idx[i], or −1. `checked` says whether the caller
  // needs that answer: true, the device's flag is read back (a stream sync on CUDA); false (indices valid by
  // construction or already validated), CUDA neither reads nor waits and returns −1. The CPU checks every index
  // before it writes at all, whatever `checked` says (cheap, and it keeps an internal index bug failing the tests).
  virtual int64_t scatterAddRows(const Device& d, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n,
                                 int64_t rows, int64_t cols, bool checked) = 0;
  // table[idx[i], :] = src[i, :] in place for table [rows, cols] (embedding's maxNorm); an idx[i] outside
  // [0, rows) writes nothing, and a repeated index carries the same row each time (else which lands is unspecified).
  virtual void setRows(const Device& d, DType t, void* table, const void* src, const int32_t* idx, int64_t n,
                       int64_t rows, int64_t cols) = 0;

  // Rows of D: mean, rstd = 1/sqrt(biased var + eps) saved per row; y = (x − mean)·rstd·w + b
  // (w, b may be null). Backward gives gx and, when non-null, gw = Σ_rows gy·x̂, gb = Σ_rows gy
  // (deterministic order).
  virtual void layerNorm(const Device& d, DType t, void* y, void* mean, void* rstd, const void* x, const void* w,
                         const void* b, int64_t N, int64_t D, double eps) = 0;
  virtual void layerNormBackward(const Device& d, DType t, void* gx, void* gw, void* gb, const void* gy,
                                 const void* x, const void* mean, const void* rstd, const void* w, int64_t N,
                                 int64_t D) = 0;

  // The fused SRU recurrence of one layer, both directions in one pass, one chain per
  // (batch, direction, unit) walking its direction's time order (kernels/sru.h).
  // Forward: h [L, B, dirs·d], c [L, B, dirs·d] (the state after every step; a
  // padded step carries it and gives h = 0) and cLast [B, dirs·d] (the forward
  // direction's state after t = L−1, the backward direction's after t = 0).
  // Backward, from the forward's inputs, its c, gh = ∂loss/∂h and gcLast = ∂loss/∂cLast:
  // gU [L, B, dirs·d·k] (0 on padded steps), gx [L, B, dirs·d] (ScaledInput only:
  // scaleX·gh·(1 − r)), gWeightC and gBias [2·dirs·d] summed over t and batch in an
  // order fixed by the shapes (same bits on every run, whatever the thread count),
  // gc0 [B, dirs·d]. L or B may be 0; d >= 1.
  virtual void sruForward(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h,
                          void* c, void* cLast) = 0;
  virtual void sruBackward(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in,
                           const void* c, const void* gh, const void* gcLast, const SruGrads& out) = 0;
  // DEER for SRU, one thread per (t, b, col) (kernels/sru.h sruDeerEntry) from the
  // guess c [L, B, dirs·d]: with J not null, F, J (diagonal) and bOff = F − J·c_{t−1};
  // with J null, h. Called with L, B >= 1.
  virtual void sruDeer(const Device& d, DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c,
                       void* F, void* J, void* bOff, void* h) = 0;

  // The DEER linear recurrence y_t = A_t y_{t−1} + b_t, y_{−1} = y0, for each batch
  // element (ALGORITHMS.md §2; combines in kernels/scan.h): y [T, B, n].
  // Backward, from the forward's inputs, its y and gy = ∂loss/∂y, by the reverse
  // scan λ_t = gy_t + A_{t+1}ᵀ λ_{t+1} (λ_{T−1} = gy_{T−1}): gb = λ [T, B, n],
  // gA_t = λ_t y_{t−1}ᵀ [T, B, n, n] (λ_t ⊙ y_{t−1}, [T, B, n], diagonal),
  // gy0 = A_0ᵀ λ_0 [B, n]. Called with T, B, n >= 1.
  virtual void deerScan(const Device& d, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in, void* y) = 0;
  virtual void deerScanBackward(const Device& d, DType t, const kernels::ScanConfig& cfg, const ScanInputs& in,
                                const void* y, const void* gy, void* gA, void* gb, void* gy0) = 0;

  // One ELK step (kernels/elk.h; elk_dense.h when cfg.dense): y [T, B, n],
  // the Levenberg–Marquardt solution of the linearisation (diagonal, or dense
  // with cfg.dense) damped towards yhat, by a Kalman filter and smoother.
  // Called with T, B, n >= 1.
  virtual void deerElk(const Device& d, DType t, const kernels::ElkConfig& cfg, const ElkBuffers& in, void* y) = 0;

  // The residual of each sequence (kernels/residual.h) from y and f [T, B, n]:
  // out [4, B] = max |y − f|, Σ (y − f)², max |f|, max (|y − f| − rtol·|f|)
  // per column, deterministic. Called with T, B, n >= 1.
  virtual void deerResidual(const Device& d, DType t, int64_t T, int64_t B, int64_t n, const void* y, const void* f,
                            double rtol, void* out) = 0;

  // Matrix exponentials (kernels/expm.h): E[i] = exp(A[i]) for count m×m
  // row-major matrices. Called with count, m >= 1.
  virtual void expm(const Device& d, DType t, int64_t count, int64_t m, const void* A, void* E) = 0;

  // The DEER cells (kernels/cells.h), the previous state of step t being y0 at
  // t = 0 and y[t − 1] after. cellLinearize: f [T, B, n], and unless jac is None,
  // J [T, B, n, n] (Dense) or [T, B, n] (Diagonal) and bOff = f − J·y_{t−1}
  // [T, B, n]; parallel over every (t, b). cellSequential: y [T, B, n], one walk
  // over t per batch element. cellBackward from the solution in.y and g [T, B, n]:
  // gxp, ghh [T, B, G] and gy0 [B, n]; adjoint false: g = ∂loss/∂y and one walk
  // t = T−1 … 0 per batch element accumulates λ_t = g_t + (∂f_{t+1}/∂y_t)ᵀ λ_{t+1};
  // adjoint true: g is λ and every (t, b) is independent. Called with T, B, H >= 1.
  virtual void cellLinearize(const Device& d, DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac,
                             const CellInputs& in, void* f, void* J, void* bOff) = 0;
  virtual void cellSequential(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in,
                              void* y) = 0;
  virtual void cellBackward(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in,
                            const void* g, bool adjoint, void* gxp, void* ghh, void* gy0) = 0;

  // The fused Newton solve (kernels/deer_fused.h): y [T, B, n] from guess,
  // status [B, kDeerStatusWidth] float64 on the same device. Called with T, B,
  // H >= 1 and, on CUDA, sizes within its limits (core/cells.cpp).
  virtual void cellDeerSolve(const Device& d, DType t, const kernels::CellConfig& cfg, bool dense,
                             const kernels::DeerFusedParams& p, const CellInputs& in, const void* guess, void* y,
                             void* status) = 0;

  // The adjoint at the solution in.y in one call: λ [T, B, n] with λ_t = g_t + J_{t+1}ᵀ λ_{t+1},
  // λ_{T−1} = g_{T−1} (kernels/deer_fused.h). Called with T, B, H >= 1 and, on CUDA, n within
  // kDeerFusedMaxDenseN.
  // maxSegments: on CUDA the most blocks a sequence is split over (0: as many as fill the device).
  virtual void cellDeerAdjoint(const Device& d, DType t, const kernels::CellConfig& cfg, const CellInputs& in,
                               const void* g, void* lam, int maxSegments) = 0;

  // Fused optimizer updates, in place on param and the state buffers.
  virtual void sgdStep(const Device& d, DType t, void* param, const void* grad, void* momentumBuf, int64_t n,
                       const SgdParams& p) = 0;
  virtual void adamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, void* vmax,
                        int64_t n, const AdamParams& p) = 0;
  // dDiag may be null: a step without a refresh leaves v as it is.
  virtual void adaHessianStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v,
                              const void* dDiag, int64_t n, const AdaHessianParams& p) = 0;
  // gradAvg is null unless centered, buf null unless momentum > 0.
  virtual void rmspropStep(const Device& d, DType t, void* param, const void* grad, void* squareAvg, void* gradAvg,
                           void* buf, int64_t n, const RmspropParams& p) = 0;
  virtual void adagradStep(const Device& d, DType t, void* param, const void* grad, void* sum, int64_t n,
                           const AdagradParams& p) = 0;
  virtual void radamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                         const RadamParams& p) = 0;
  virtual void nadamStep(const Device& d, DType t, void* param, const void* grad, void* m, void* v, int64_t n,
                         const NadamParams& p) = 0;
  virtual void adamaxStep(const Device& d, DType t, void* param, const void* grad, void* m, void* u, int64_t n,
                          const AdamaxParams& p) = 0;
  virtual void adadeltaStep(const Device& d, DType t, void* param, const void* grad, void* squareAvg, void* accDelta,
                            int64_t n, const AdadeltaParams& p) = 0;
  virtual void rpropStep(const Device& d, DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n,
                         const RpropParams& p) = 0;
  virtual void asgdStep(const Device& d, DType t, void* param, const void* grad, void* ax, int64_t n,
                        const AsgdParams& p) = 0;
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
