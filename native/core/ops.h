// Device-independent ops: every argument is validated here (the N-API layer
// has already checked JavaScript types), outputs are allocated before any
// kernel runs, and inputs are never written, so a failed op leaves every
// existing tensor intact. Then the op is dispatched through the op table.
#pragma once
#include <string>

#include "../kernels/pointwise.h"
#include "backend.h"
#include "tensor.h"

namespace antler::ops {

TensorPtr fromHost(const void* data, size_t bytes, const Shape& shape, DType dtype, const Device& device);
void copyToHost(const Tensor& t, void* dst, size_t dstBytes);

TensorPtr full(const Shape& shape, DType dtype, const Device& device, double value);
TensorPtr arange(double start, double stop, double step, DType dtype, const Device& device);
TensorPtr random(const Shape& shape, DType dtype, const Device& device, const RandomSpec& spec);

TensorPtr clone(const Tensor& t);
TensorPtr to(const Tensor& t, const Device& device);
TensorPtr cast(const Tensor& t, DType dtype);
// A view sharing storage; one dim may be -1 (inferred).
TensorPtr reshape(const Tensor& t, const std::vector<int64_t>& shape);

TensorPtr binary(kernels::BinaryOp op, const Tensor& a, const Tensor& b);
TensorPtr binaryScalar(kernels::BinaryOp op, const Tensor& a, double s, bool scalarFirst);
// PyTorch matmul semantics (1-D promotion, broadcast batch dims); transA /
// transB swap the last two dims of a 2-D-or-more operand.
TensorPtr matmul(const Tensor& a, const Tensor& b, bool transA, bool transB);
TensorPtr sumAll(const Tensor& t);

const char* binaryName(kernels::BinaryOp op);
const char* unaryName(kernels::UnaryOp op);

// ---- ops with gradients ----
TensorPtr unary(kernels::UnaryOp op, const Tensor& x, double p0, double p1);
TensorPtr unaryBackward(kernels::UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, double p0, double p1);
// lib/ops/pointwise.ts's special functions (kernels/pointwise.h): b is null unless the op is binary,
// then of a's dtype and device, the two shapes broadcasting to the output's (read in place, not
// expanded); p is polygamma's order (0 ≤ p ≤ 1000).
const char* pointwiseName(kernels::PointwiseOp op);
TensorPtr pointwise(kernels::PointwiseOp op, const Tensor& a, const Tensor* b, int p);
// Sum/Max/Min over `axes` (any order, negative counts from the end, empty = all).
TensorPtr reduce(kernels::ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepDims);
TensorPtr permute(const Tensor& x, const std::vector<int64_t>& perm);
// TensorFlow.js-style slice: `size` −1 means "to the end".
// Reverses the listed axes (negative axes count from the end).
TensorPtr flip(const Tensor& x, const std::vector<int64_t>& axes);
TensorPtr slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& size);
// Zeros of `shape` with g written at `begin` (the gradient of slice).
TensorPtr sliceBackward(const Tensor& g, const Shape& shape, const std::vector<int64_t>& begin);
TensorPtr concat(const std::vector<const Tensor*>& xs, int64_t axis);
TensorPtr broadcastTo(const Tensor& x, const Shape& shape);
TensorPtr where(const Tensor& cond, const Tensor& a, const Tensor& b);
TensorPtr softmax(const Tensor& x, int64_t axis, bool log);
TensorPtr softmaxBackward(const Tensor& y, const Tensor& gy, int64_t axis, bool log);
// Cumulative sum or product along `axis` (negative counts from the end; a scalar takes 0 or −1 and
// is returned as a copy): torch.cumsum/cumprod, with tf.cumsum's exclusive and reverse. Float types
// (the TS layer runs int32 through float64).
TensorPtr cumulative(kernels::CumOp op, const Tensor& x, int64_t axis, bool exclusive, bool reverse);
// The gradient of cumulative(Prod, x, axis, exclusive, reverse) given the output's gradient gy.
TensorPtr cumprodBackward(const Tensor& x, const Tensor& gy, int64_t axis, bool exclusive, bool reverse);
// torch.cummax (largest) / torch.cummin along `axis` (as cumulative's): values (x's dtype) and int32
// indices, both x's shape; a tie or a NaN takes the index (the last tie, the latest NaN).
// float32, float64 and int32.
std::pair<TensorPtr, TensorPtr> cumExtreme(const Tensor& x, int64_t axis, bool largest);
// torch.logcumsumexp along `axis` (as cumulative's; from the end when reverse), in double. Float types.
TensorPtr logCumSumExp(const Tensor& x, int64_t axis, bool reverse);
// logcumsumexp's gradient from x, its output y and y's gradient gy (all x's shape and dtype).
TensorPtr logCumSumExpBackward(const Tensor& x, const Tensor& y, const Tensor& gy, int64_t axis, bool reverse);
// Depthwise convolution (groups = input channels; kernels/depthwise.h) over k = 1…3 spatial axes, PyTorch's
// cross-correlation with zero padding: x [N, C, in…] and w [C·m, 1, k…] → y [N, C·m, out…] (outSizes given: the right
// padding only shows there); `padding` is each axis's left padding. The input gradient takes gy [N, C·m, out…] and w
// to [N, C, in…] (inShape); the weight gradient takes x and gy to w's shape [C·m, 1, k…] (kernelSizes). Float types;
// every shape and parameter checked here (SHAPE_MISMATCH, INVALID_ARGUMENT, DTYPE_MISMATCH, DEVICE_MISMATCH).
TensorPtr depthwiseConv(const Tensor& x, const Tensor& w, const Shape& outSizes, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation);
TensorPtr depthwiseConvBackwardInput(const Tensor& gy, const Tensor& w, const Shape& inShape,
                                     const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                     const std::vector<int64_t>& dilation);
TensorPtr depthwiseConvBackwardWeight(const Tensor& x, const Tensor& gy, const Shape& kernelSizes,
                                      const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                      const std::vector<int64_t>& dilation);
// Max and average pooling (kernels/pool.h) of x [N, C, in…] over k = 1…3 spatial axes with the given output sizes,
// kernel sizes, strides, left paddings and dilations (k values each): maxPool → {values [N, C, out…], int32 indices
// in the flattened in… plane (−1 for a window with no input element)}; avgPool → y (divisor 0: each window's own,
// counting the padding where includePad); avgPoolBackward → avgPool's adjoint gx (inShape) from gy [N, C, out…].
// adaptive: PyTorch's adaptive windows to outSizes instead (kernel, stride, padding, dilation empty and unused; any
// output size in [1, 2^31), larger than the input's too). Float types; shapes and parameters checked here
// (SHAPE_MISMATCH, INVALID_ARGUMENT, DTYPE_MISMATCH).
struct PoolParams {
  Shape outSizes;
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool includePad = true;
  int64_t divisor = 0;
  bool adaptive = false;
};
std::pair<TensorPtr, TensorPtr> maxPool(const Tensor& x, const PoolParams& p);
TensorPtr avgPool(const Tensor& x, const PoolParams& p);
TensorPtr avgPoolBackward(const Tensor& gy, const Shape& inShape, const PoolParams& p);
// torch.argmax (largest) / torch.argmin along `axis` (negative counts from the end; a scalar takes 0
// or −1): int32 of x's shape without that axis; the first index on ties, the first NaN if any.
// The axis must not be empty. float32, float64 and int32.
TensorPtr argReduce(const Tensor& x, int64_t axis, bool largest);
// torch.topk's indices along `axis` (negative counts from the end; a scalar takes 0 or −1 and is
// treated as one element): int32 of x's shape with that axis of size k, the indices of the k best
// elements of each line, best first, in argReduce's order (NaNs first, then the larger value, or
// the smaller when !largest, then the lower index). 0 ≤ k ≤ n. float32, float64 and int32.
TensorPtr topkIndices(const Tensor& x, int64_t axis, int64_t k, bool largest);
// torch.searchsorted over rows: seq [B, M] sorted along its last axis, values [B, K] of its dtype and
// device -> int32 [B, K], each value's position in its row (boundaries < v, or ≤ v when right).
TensorPtr searchsorted(const Tensor& seq, const Tensor& values, bool right);

// linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
// torch.linalg.solve_triangular on flattened batches: A [B, n, n], rhs [B, n, k] (left: A X = rhs)
// or [B, k, n] (right: X A = rhs), one float dtype, one device; returns X of rhs's shape.
TensorPtr triangularSolve(const Tensor& A, const Tensor& rhs, bool upper, bool left, bool unit);
// torch.linalg.lu_factor_ex on flattened batches: A [B, m, n] float → {LU [B, m, n], pivots int32
// [B, min(m, n)], info int32 [B]}.
struct LuFactorResult {
  TensorPtr LU, pivots, info;
};
LuFactorResult luFactor(const Tensor& A);
// The row permutation of LU pivots int32 [B, k] (1-based) on m ≥ k rows: perm int32 [B, m], row i of
// Pᵀ A being row perm[i] of A. Pivots outside [1, m] are skipped.
TensorPtr luPermutation(const Tensor& pivots, int64_t m);
// torch.linalg.cholesky_ex on flattened batches: A [B, n, n] float → {L [B, n, n], info int32 [B]}.
std::pair<TensorPtr, TensorPtr> cholesky(const Tensor& A);
// (end of linalg-lu)

// linalg-qr (Householder QR): native/kernels/linalg_qr.h
// torch.linalg.qr of a [B, m, n] (float32/float64): mode 0 'reduced' (Q [B, m, k], R [B, k, n], k = min(m, n)),
// 1 'complete' (Q [B, m, m], R [B, m, n]), 2 'r' (R [B, k, n]; Q [B, m, 0]). Householder, LAPACK's signs.
std::pair<TensorPtr, TensorPtr> linalgQr(const Tensor& a, int64_t mode);
// (end of linalg-qr)

// linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
// torch.linalg.eigh's factorisation of A [B, n, n] (float32/float64): {w [B, n], V [B, n, n] (or [0] when not
// vectors), info [B] int32}.
std::vector<TensorPtr> linalgEigh(const Tensor& A, bool upper, bool vectors);
// torch.linalg.svd's factorisation of A [B, m, n]: {U, S [B, k], Vh, info [B] int32}; U and Vh are [0] when not vectors.
std::vector<TensorPtr> linalgSvd(const Tensor& A, bool full, bool vectors);
// (end of linalg-spectral)

// random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
// x ~ Gamma(alpha, 1) elementwise (torch._standard_gamma), Philox (seed, stream); float types.
TensorPtr standardGamma(const Tensor& alpha, uint64_t seed, uint64_t stream);
// op 0: dx/dalpha of standardGamma at (a, x) (torch._standard_gamma_grad); 1: gammainc; 2: gammaincc.
// a and x: same shape, dtype and device.
TensorPtr gammaBinary(int op, const Tensor& a, const Tensor& x);
// (end of random-gamma)

// random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
// op 0: torch.poisson(a); op 1: torch.binomial(a = count, b = prob), b same shape/dtype/device (ignored for op 0).
// Philox (seed, stream), the stream's high word tagged per op so that seeded draws of other samplers do not share counters.
TensorPtr discreteSample(int op, const Tensor& a, const Tensor* b, uint64_t seed, uint64_t stream);
// (end of random-discrete)
// CTC loss (kernels/ctc.h): log_probs [T, N, C] float, targets int32 [N, S], input and target lengths
// int32 [N] (values checked by the caller) -> nll [N] and logAlpha [N, T, 2S + 1] (saved for backward).
std::pair<TensorPtr, TensorPtr> ctcLoss(const Tensor& lp, const Tensor& targets, const Tensor& inLen, const Tensor& tgtLen,
                                        int64_t blank);
// The gradient of Σ g[n]·nll[n] with respect to log_probs: [T, N, C].
TensorPtr ctcLossBackward(const Tensor& g, const Tensor& lp, const Tensor& targets, const Tensor& inLen,
                          const Tensor& tgtLen, const Tensor& nll, const Tensor& logAlpha, int64_t blank,
                          bool zeroInfinity);
// gridSample (kernels/grid_sample.h): x [N, C, H, W] or [N, C, D, H, W] float at grid [N, Ho, Wo, 2] or
// [N, Do, Ho, Wo, 3] (same dtype and device) -> [N, C, Ho, Wo] or [N, C, Do, Ho, Wo]; mode 0 bilinear,
// 1 nearest, 2 bicubic (4-D only); padding 0 zeros, 1 border, 2 reflection.
TensorPtr gridSample(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding, bool align);
// Its gradients from gy (the output's shape): {gx or null, gg or null} as needX / needGrid ask.
std::pair<TensorPtr, TensorPtr> gridSampleBackward(const Tensor& gy, const Tensor& x, const Tensor& grid, int64_t mode,
                                                   int64_t padding, bool align, bool needX, bool needGrid);
// logits [..., C] with labels int32 [...]: per-row loss and valid mask, both shaped like labels.
std::pair<TensorPtr, TensorPtr> crossEntropy(const Tensor& logits, const Tensor& labels, int64_t ignoreIndex);
TensorPtr crossEntropyBackward(const Tensor& logits, const Tensor& labels, const Tensor& g, int64_t ignoreIndex);
// table [R, C], indices int32 of any shape -> [...indices.shape, C]
TensorPtr gatherRows(const Tensor& table, const Tensor& indices);
// out [rows, cols] = the rows of g summed at int32 indices. Every index is range-checked (a bad one throws
// INVALID_ARGUMENT naming its position) on the CPU always, on CUDA only when `checked` (the check costs a stream
// sync there); unchecked on CUDA, a bad index adds nothing and nothing throws. Pass checked = false only for
// indices valid by construction or already validated on the device (a gather's backward).
TensorPtr scatterAddRows(const Tensor& g, const Tensor& indices, int64_t rows, bool checked);
// table[indices[i], :] = src[i, :] in place: table [R, C], indices int32 [n], src [n, C] of the table's dtype
// and device. An index outside [0, R) writes nothing; a repeated index must carry the same row each time.
void setRows(Tensor& table, const Tensor& indices, const Tensor& src);
struct LayerNormResult { TensorPtr y, mean, rstd; };
LayerNormResult layerNorm(const Tensor& x, const Tensor* w, const Tensor* b, double eps);
struct LayerNormGrads { TensorPtr gx, gw, gb; };
LayerNormGrads layerNormBackward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                 const Tensor* w, bool affine);

// ---- fused SRU recurrence (core/sru.cpp; equations and layouts in kernels/sru.h) ----
struct SruOptions {
  int64_t d = 0;        // hidden size
  int64_t dirs = 1;     // 1, or 2 when bidirectional
  int64_t k = 3;        // columns of U per unit: 3 (x̃, f, r) or 4 (adds x')
  bool hasSkipTerm = true;
  double scaleX = 1.0;  // multiplies x in the skip term (k = 3)
  std::string activation = "identity";  // "identity" | "tanh"
};
struct SruForwardResult { TensorPtr h, c, cLast; };
// U [L, B, dirs·d·k]; x [L, B, dirs·d] exactly when k = 3 with a skip term, else null;
// weightC, bias [2·dirs·d]; c0 [B, dirs·d] or null (zeros); maskPad int32 [L, B] or null.
// Returns h and c [L, B, dirs·d] (c: the state after every step) and cLast [B, dirs·d].
SruForwardResult sruForward(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias,
                            const Tensor* c0, const Tensor* maskPad, const SruOptions& o);
// gx is null unless x is used; gc0 is returned whether or not c0 was given.
// gcAll (optional): the gradient of c, the state after every step, as well.
struct SruBackwardResult { TensorPtr gU, gx, gWeightC, gBias, gc0; };
SruBackwardResult sruBackward(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias,
                              const Tensor* c0, const Tensor* maskPad, const Tensor& c, const Tensor& gh,
                              const Tensor& gcLast, const Tensor* gcAll, const SruOptions& o);

// DEER for SRU from a guess c [L, B, dirs·d] of every state (same operands as
// sruForward): linearize -> F, J (diagonal ∂c_t/∂c_{t−1}), bOff = F − J·c_{t−1};
// else -> h. Not differentiable (lib/sru/deer.ts).
struct SruDeerResult { TensorPtr F, J, bOff, h; };
SruDeerResult sruDeer(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias, const Tensor* c0,
                      const Tensor* maskPad, const Tensor& c, const SruOptions& o, bool linearize);

// ---- DEER linear scan (core/deer.cpp; combines in kernels/scan.h) ----
// y_t = A_t y_{t−1} + b_t, y_{−1} = y0. A [T, B, n, n] (dense) or [T, B, n]
// (diagonal), b [T, B, n], y0 [B, n] -> y [T, B, n].
TensorPtr deerScan(const Tensor& A, const Tensor& b, const Tensor& y0);
struct DeerScanGrads { TensorPtr gA, gb, gy0; };
// From the forward's inputs, its output y and gy = ∂loss/∂y (the reverse scan).
// adjointOnly: only gb (the adjoint λ); gA and gy0 are null.
DeerScanGrads deerScanBackward(const Tensor& A, const Tensor& b, const Tensor& y0, const Tensor& y, const Tensor& gy,
                               bool adjointOnly = false);
// One quasi-ELK step (kernels/elk.h): a (diagonal Jacobian), u (offset), yhat
// [T, B, n], y0 [B, n], lambda [B] >= 0 -> y [T, B, n]. Not differentiable.
TensorPtr deerElk(const Tensor& a, const Tensor& u, const Tensor& yhat, const Tensor& y0, const Tensor& lambda);
// The residual of each sequence (kernels/residual.h): y and f [T, B, n] ->
// [4, B] = max |y − f|, Σ (y − f)², max |f|, max (|y − f| − rtol·|f|) per
// column (zeros when T·n = 0; rtol finite and ≥ 0).
TensorPtr deerResidual(const Tensor& y, const Tensor& f, double rtol);
// exp(A) of every m×m matrix of A [..., m, m] (kernels/expm.h).
TensorPtr expm(const Tensor& A);

// ---- DEER cells (core/cells.cpp; math in kernels/cells.h) ----
// kind: 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu'. xp [T, B, G] (the precomputed
// W_ih x + b_ih), Whh [G, H], bhh [G] or null (zeros), y0 [B, n]; G and n follow
// the kind (GRU 3H, H; LSTM 4H, 2H with y = [h, c]; RNN H, H). The previous
// state of step t is y0 at t = 0 and y[t − 1] after.
// f_t = cell(y_{t−1}, xp_t) [T, B, n]; jacobian 'dense': J_t = ∂f_t/∂y_{t−1}
// [T, B, n, n], 'diagonal': its diagonal [T, B, n], 'none': J and bOff null;
// bOff = f − J·y_{t−1} (diagonal: f − J ⊙ y_{t−1}).
struct CellLinearization { TensorPtr f, J, bOff; };
CellLinearization cellLinearize(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                                const Tensor& y0, const Tensor& y, const std::string& jacobian);
// The sequential walk y_t = cell(y_{t−1}, xp_t) -> y [T, B, n].
TensorPtr cellSequential(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                         const Tensor& y0);
// From the solution y: gxp [T, B, G], ghh [T, B, G] (the gradient of the step's
// Whh·h + bhh) and gy0 [B, n]. adjoint false: g = ∂loss/∂y and the walk runs
// backward through time; adjoint true: g is already λ (every step independent).
// The whole deer ('dense') or quasi ('diagonal') Newton solve in one call
// (kernels/deer_fused.h), from the first guess [T, B, n]: y [T, B, n] (each
// sequence's last judged iterate) and status float64 [B, 3] (code, steps,
// residual). On CUDA: dense for n <= kDeerFusedMaxDenseN, diagonal for
// H <= kDeerFusedMaxHidden.
struct CellDeerSolution { TensorPtr y, status; };
// The adjoint λ [T, B, n] at the solution y for the gradient g [T, B, n] in one call:
// λ_t = g_t + J_{t+1}ᵀ λ_{t+1} (on CUDA for n <= kDeerFusedMaxDenseN; maxSegments: the most blocks
// a sequence is split over there, 0 for as many as fill the device).
TensorPtr cellDeerAdjoint(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                          const Tensor& y0, const Tensor& y, const Tensor& g, int maxSegments = 0);
CellDeerSolution cellDeerSolve(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                               const Tensor& y0, const Tensor& guess, const std::string& jacobian,
                               const kernels::DeerFusedParams& params);
struct CellGrads { TensorPtr gxp, ghh, gy0; };
CellGrads cellBackward(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                       const Tensor& y0, const Tensor& y, const Tensor& g, bool adjoint);

// Copies src's values into dst in place (same shape and dtype; any devices).
void assign(Tensor& dst, const Tensor& src);
void sgdStep(Tensor& param, const Tensor& grad, Tensor* momentumBuf, const SgdParams& p);
void adamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p);
void adaHessianStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const Tensor* dDiag,
                    const AdaHessianParams& p);
void rmspropStep(Tensor& param, const Tensor& grad, Tensor& squareAvg, Tensor* gradAvg, Tensor* buf,
                 const RmspropParams& p);
void adagradStep(Tensor& param, const Tensor& grad, Tensor& sum, const AdagradParams& p);
void radamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const RadamParams& p);
void nadamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const NadamParams& p);
void adamaxStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& u, const AdamaxParams& p);
void adadeltaStep(Tensor& param, const Tensor& grad, Tensor& squareAvg, Tensor& accDelta, const AdadeltaParams& p);
void rpropStep(Tensor& param, const Tensor& grad, Tensor& prev, Tensor& stepSize, const RpropParams& p);
void asgdStep(Tensor& param, const Tensor& grad, Tensor& ax, const AsgdParams& p);

}  // namespace antler::ops
