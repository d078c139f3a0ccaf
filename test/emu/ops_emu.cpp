// The CUDA backend's row, reduction, shape, GEMM, elementwise and optimizer
// launchers (native/cuda/softmax.cu, layernorm.cu, loss.cu, embedding.cu,
// shape.cu, reduce.cu, matmul.cu, fill.cu, random.cu, cast.cu, binary.cu,
// unary.cu, optim.cu, cumsum.cu, argreduce.cu, topk.cu, ctc.cu), rewritten for the host by transform.js and run under
// cuda_emu.h, against the CPU backend (native/cpu/rows.cpp, shape.cpp,
// elementwise.cpp, unary.cpp, optim.cpp, cumsum.cpp, argreduce.cpp, topk.cpp, ctc.cpp) or, for the GEMM and sumAll, a
// float64 loop, on the same random inputs. Outputs start as NaN (for the
// bit-exact elementwise checks, as two different byte patterns). Prints one line per check and "emulation: N passed, M
// failed"; exits 1 on a failure.
// Usage: ops_emu SEED
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "compare.h"

namespace antler::cuda {
void sumAll(Context& ctx, DType t, const void* src, int64_t n, void* out);
void dot(Context& ctx, DType t, const void* a, const void* b, int64_t n, void* out);
void matmulTiled(Context& ctx, DType t, const MatmulArgs& args);
}  // namespace antler::cuda


static std::string dims(std::initializer_list<long long> v) {
  std::string s;
  for (long long x : v) s += (s.empty() ? "" : "x") + std::to_string(x);
  return s;
}

// ---------------------------------------------------------------- rows

template <typename T>
static void rowCase(int64_t outer, int64_t dim, int64_t inner, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const int64_t n = outer * dim * inner;
  const std::string shape = dims({outer, dim, inner}) + " sms=" + std::to_string(sms);
  Buf<T> x(n, -4, 4), gy(n);
  for (const bool log : {false, true}) {
    auto yG = Buf<T>::nan(n), yC = Buf<T>::nan(n), gG = Buf<T>::nan(n), gC = Buf<T>::nan(n);
    antler::cuda::softmax(ctx, t, log, yG.p(), x.p(), outer, dim, inner);
    antler::cpu::softmax(t, log, yC.p(), x.p(), outer, dim, inner);
    antler::cuda::softmaxBackward(ctx, t, log, gG.p(), yC.p(), gy.p(), outer, dim, inner);
    antler::cpu::softmaxBackward(t, log, gC.p(), yC.p(), gy.p(), outer, dim, inner);
    const std::string name = log ? "logSoftmax " : "softmax ";
    check(name + shape, yG, yC);
    check(name + "backward " + shape, gG, gC);
  }
}

// cumsum and cumprod over the middle axis of [outer, n, inner], all four exclusive/reverse
// combinations, and cumprod's gradient (products of factors near 1, every 37th one 0).
template <typename T>
static void cumsumCase(int64_t outer, int64_t n, int64_t inner, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const int64_t total = outer * n * inner;
  const std::string shape = dims({outer, n, inner}) + " sms=" + std::to_string(sms);
  Buf<T> x(total, -2, 2), f(total, 0.97, 1.03), gy(total, -1, 1);
  for (int64_t i = 0; i < total; i += 37) f.v[static_cast<size_t>(i)] = T(0);
  for (const bool exclusive : {false, true})
    for (const bool reverse : {false, true}) {
      const std::string opts = std::string(exclusive ? " exclusive" : "") + (reverse ? " reverse" : "") + " " + shape;
      auto yG = Buf<T>::nan(total), yC = Buf<T>::nan(total);
      antler::cuda::cumulative(ctx, t, k::CumOp::Sum, yG.p(), x.p(), outer, n, inner, exclusive, reverse);
      antler::cpu::cumulative(t, k::CumOp::Sum, yC.p(), x.p(), outer, n, inner, exclusive, reverse);
      check("cumsum" + opts, yG, yC);
      auto pG = Buf<T>::nan(total), pC = Buf<T>::nan(total);
      antler::cuda::cumulative(ctx, t, k::CumOp::Prod, pG.p(), f.p(), outer, n, inner, exclusive, reverse);
      antler::cpu::cumulative(t, k::CumOp::Prod, pC.p(), f.p(), outer, n, inner, exclusive, reverse);
      check("cumprod" + opts, pG, pC);
      auto gG = Buf<T>::nan(total), gC = Buf<T>::nan(total);
      antler::cuda::cumprodBackward(ctx, t, gG.p(), f.p(), gy.p(), outer, n, inner, exclusive, reverse);
      antler::cpu::cumprodBackward(t, gC.p(), f.p(), gy.p(), outer, n, inner, exclusive, reverse);
      check("cumprod backward" + opts, gG, gC);
      if (exclusive) continue;
      // logcumsumexp and its one-pass gradient (kernels::logCumSumExpBackwardLine), on x scaled to ±20.
      auto lG = Buf<T>::nan(total), lC = Buf<T>::nan(total);
      Buf<T> xs(total, -20, 20);
      antler::cuda::logCumSumExp(ctx, t, lG.p(), xs.p(), outer, n, inner, reverse);
      antler::cpu::logCumSumExp(t, lC.p(), xs.p(), outer, n, inner, reverse);
      check("logcumsumexp" + opts, lG, lC);
      auto hG = Buf<T>::nan(total), hC = Buf<T>::nan(total);
      antler::cuda::logCumSumExpBackward(ctx, t, hG.p(), xs.p(), lC.p(), gy.p(), outer, n, inner, reverse);
      antler::cpu::logCumSumExpBackward(t, hC.p(), xs.p(), lC.p(), gy.p(), outer, n, inner, reverse);
      check("logcumsumexp backward" + opts, hG, hC);
    }
}

template <typename T>
static void layerNormCase(int64_t N, int64_t D, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string shape = dims({N, D}) + " sms=" + std::to_string(sms);
  Buf<T> x(N * D, -3, 3), w(D), b(D), gy(N * D);
  auto yG = Buf<T>::nan(N * D), mG = Buf<T>::nan(N), rG = Buf<T>::nan(N);
  auto yC = Buf<T>::nan(N * D), mC = Buf<T>::nan(N), rC = Buf<T>::nan(N);
  antler::cuda::layerNorm(ctx, t, yG.p(), mG.p(), rG.p(), x.p(), w.p(), b.p(), N, D, 1e-5);
  antler::cpu::layerNorm(t, yC.p(), mC.p(), rC.p(), x.p(), w.p(), b.p(), N, D, 1e-5);
  check("layerNorm y " + shape, yG, yC, 10);
  check("layerNorm mean " + shape, mG, mC, 10);
  check("layerNorm rstd " + shape, rG, rC, 10);
  auto gxG = Buf<T>::nan(N * D), gwG = Buf<T>::nan(D), gbG = Buf<T>::nan(D);
  auto gxC = Buf<T>::nan(N * D), gwC = Buf<T>::nan(D), gbC = Buf<T>::nan(D);
  antler::cuda::layerNormBackward(ctx, t, gxG.p(), gwG.p(), gbG.p(), gy.p(), x.p(), mC.p(), rC.p(), w.p(), N, D);
  antler::cpu::layerNormBackward(t, gxC.p(), gwC.p(), gbC.p(), gy.p(), x.p(), mC.p(), rC.p(), w.p(), N, D);
  check("layerNorm gx " + shape, gxG, gxC, 10);
  check("layerNorm gw " + shape, gwG, gwC, 10);
  check("layerNorm gb " + shape, gbG, gbC, 10);
}

template <typename T>
static void crossEntropyCase(int64_t N, int64_t C, bool badLabel, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string shape = dims({N, C}) + (badLabel ? " bad label" : "") + " sms=" + std::to_string(sms);
  Buf<T> logits(N * C, -5, 5), g(N);
  std::vector<int32_t> labels(static_cast<size_t>(N));
  std::uniform_int_distribution<int32_t> L(0, static_cast<int32_t>(C) - 1);
  for (auto& l : labels) l = L(gen);
  const int64_t ignore = -100;
  if (N > 2) labels[1] = static_cast<int32_t>(ignore);
  if (badLabel) labels[N - 1] = static_cast<int32_t>(C + 3);
  auto lossG = Buf<T>::nan(N), validG = Buf<T>::nan(N), lossC = Buf<T>::nan(N), validC = Buf<T>::nan(N);
  const int64_t badG = antler::cuda::crossEntropy(ctx, t, lossG.p(), validG.p(), logits.p(), labels.data(), N, C, ignore);
  const int64_t badC = antler::cpu::crossEntropy(t, lossC.p(), validC.p(), logits.p(), labels.data(), N, C, ignore);
  emu::checkEqual(std::string(sizeof(T) == 8 ? "float64" : "float32") + " crossEntropy bad row " + shape, badG, badC);
  if (badLabel) return;
  check("crossEntropy loss " + shape, lossG, lossC);
  check("crossEntropy valid " + shape, validG, validC);
  auto gxG = Buf<T>::nan(N * C), gxC = Buf<T>::nan(N * C);
  antler::cuda::crossEntropyBackward(ctx, t, gxG.p(), logits.p(), labels.data(), g.p(), N, C, ignore);
  antler::cpu::crossEntropyBackward(t, gxC.p(), logits.p(), labels.data(), g.p(), N, C, ignore);
  check("crossEntropy backward " + shape, gxG, gxC);
}

// CTC loss (forward: nll and the α lattice; backward: the gradient) on random lattices: targets with
// repeats, target lengths 0 to S, an infeasible sample (∞ loss: NaN gradient, or 0 with zeroInfinity),
// and S large enough that a block's threads loop over the lattice.
template <typename T>
static void ctcCase(int64_t Tm, int64_t N, int64_t C, int64_t S, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string shape = dims({Tm, N, C, S}) + " sms=" + std::to_string(sms);
  Buf<T> lp(Tm * N * C, -4, 0), g(N);
  const int64_t blank = C - 1;
  std::vector<int32_t> targets(static_cast<size_t>(N * S)), inLen(static_cast<size_t>(N)), tgtLen(static_cast<size_t>(N));
  std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(C) - 2);
  for (int64_t i = 0; i < N * S; ++i) targets[static_cast<size_t>(i)] = (i % 3 == 1) ? targets[static_cast<size_t>(i - 1)] : label(gen);
  for (int64_t n = 0; n < N; ++n) {
    tgtLen[static_cast<size_t>(n)] = static_cast<int32_t>((n * 7) % (S + 1));
    inLen[static_cast<size_t>(n)] = static_cast<int32_t>(Tm - (n % 3));
  }
  tgtLen[0] = static_cast<int32_t>(S);
  inLen[0] = static_cast<int32_t>(std::min<int64_t>(Tm, std::max<int64_t>(1, S / 2)));   // too short for its target: ∞
  // Equal non-finite entries (−∞ in α, ∞ loss, NaN gradient) compare as equal; the rest within tolerance.
  const auto same = [](Buf<T>& a, Buf<T>& b) {
    for (size_t i = 0; i < a.v.size(); ++i)
      if ((std::isnan(a.v[i]) && std::isnan(b.v[i])) || (std::isinf(a.v[i]) && a.v[i] == b.v[i])) a.v[i] = b.v[i] = T(0);
  };
  const int64_t A = N * Tm * (2 * S + 1);
  auto nllG = Buf<T>::nan(N), nllC = Buf<T>::nan(N), aG = Buf<T>::nan(A), aC = Buf<T>::nan(A);
  antler::cuda::ctcLoss(ctx, t, nllG.p(), aG.p(), lp.p(), targets.data(), inLen.data(), tgtLen.data(), Tm, N, C, S, blank);
  antler::cpu::ctcLoss(t, nllC.p(), aC.p(), lp.p(), targets.data(), inLen.data(), tgtLen.data(), Tm, N, C, S, blank);
  if (S > 0) emu::checkEqual("ctc sample 0 is infeasible " + shape, std::isinf(nllC.v[0]) ? 1 : 0, 1);
  for (const bool zeroInfinity : {false, true}) {
    auto gG = Buf<T>::nan(Tm * N * C), gC = Buf<T>::nan(Tm * N * C);
    antler::cuda::ctcLossBackward(ctx, t, gG.p(), g.p(), lp.p(), targets.data(), inLen.data(), tgtLen.data(), nllC.p(), aC.p(), Tm, N, C, S, blank, zeroInfinity);
    antler::cpu::ctcLossBackward(t, gC.p(), g.p(), lp.p(), targets.data(), inLen.data(), tgtLen.data(), nllC.p(), aC.p(), Tm, N, C, S, blank, zeroInfinity);
    same(gG, gC);
    check(std::string("ctc backward") + (zeroInfinity ? " zeroInfinity " : " ") + shape, gG, gC, 10);
  }
  same(nllG, nllC);
  same(aG, aC);
  check("ctc nll " + shape, nllG, nllC, 10);
  check("ctc alpha " + shape, aG, aC, 10);
}

template <typename T>
static void embeddingCase(int64_t n, int64_t rows, int64_t cols, bool badIndex, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string shape = dims({n, rows, cols}) + (badIndex ? " bad index" : "") + " sms=" + std::to_string(sms);
  Buf<T> table(rows * cols), g(n * cols);
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::uniform_int_distribution<int32_t> R(0, static_cast<int32_t>(rows) - 1);
  for (auto& i : idx) i = R(gen);  // repeats: scatter-add must sum them
  if (badIndex) idx[n / 2] = static_cast<int32_t>(rows);
  auto outG = Buf<T>::nan(n * cols), outC = Buf<T>::nan(n * cols);
  const int64_t badG = antler::cuda::gatherRows(ctx, t, outG.p(), table.p(), idx.data(), n, rows, cols);
  const int64_t badC = antler::cpu::gatherRows(t, outC.p(), table.p(), idx.data(), n, rows, cols);
  emu::checkEqual(std::string(sizeof(T) == 8 ? "float64" : "float32") + " gatherRows bad index " + shape, badG, badC);
  if (!badIndex) check("gatherRows " + shape, outG, outC);
  Buf<T> gtG(rows * cols, 0, 0), gtC(rows * cols, 0, 0);
  const int64_t sBadG = antler::cuda::scatterAddRows(ctx, t, gtG.p(), g.p(), idx.data(), n, rows, cols, true);
  // Unchecked (checked = false): no flag read back, so -1 even with a bad index, which still adds nothing.
  Buf<T> gtU(rows * cols, 0, 0);
  const int64_t sBadU = antler::cuda::scatterAddRows(ctx, t, gtU.p(), g.p(), idx.data(), n, rows, cols, false);
  emu::checkEqual(std::string(sizeof(T) == 8 ? "float64" : "float32") + " unchecked scatterAddRows reports nothing " + shape, sBadU, int64_t(-1));
  const int64_t sBadC = antler::cpu::scatterAddRows(t, gtC.p(), g.p(), idx.data(), n, rows, cols);
  emu::checkEqual(std::string(sizeof(T) == 8 ? "float64" : "float32") + " scatterAddRows bad index " + shape, sBadG, sBadC);
  if (badIndex) {
    // The CPU checks every index before it adds anything; CUDA's kernel adds the good rows and skips the bad one.
    Buf<T> zeros(rows * cols, 0, 0);
    check("scatterAddRows with a bad index writes nothing " + shape, gtC, zeros);
    // Both CUDA paths add the good rows: the CPU's sums with the bad row's gradient zeroed (sent to row 0).
    std::vector<int32_t> idxGood = idx;
    idxGood[static_cast<size_t>(n / 2)] = 0;
    Buf<T> gGood = g;
    for (int64_t c = 0; c < cols; ++c) gGood.v[static_cast<size_t>((n / 2) * cols + c)] = T(0);
    Buf<T> gtRef(rows * cols, 0, 0);
    antler::cpu::scatterAddRows(t, gtRef.p(), gGood.p(), idxGood.data(), n, rows, cols);
    check("scatterAddRows with a bad index adds the good rows " + shape, gtG, gtRef, 10);
    check("unchecked scatterAddRows with a bad index adds the good rows " + shape, gtU, gtRef, 10);
    return;
  }
  check("scatterAddRows " + shape, gtG, gtC, 10);
  check("unchecked scatterAddRows " + shape, gtU, gtC, 10);
}

// ---------------------------------------------------------------- reductions and shapes

// x is contiguous [d0, d1, d2]; the reduced axes are those with reduce[i] set.
template <typename T>
static void reduceCase(const int64_t (&shape)[3], const bool (&axes)[3], int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const int64_t strides[3] = {shape[1] * shape[2], shape[2], 1};
  k::ReduceIndexer idx{};
  int64_t outN = 1, redN = 1;
  for (int d = 0; d < 3; ++d) {
    if (axes[d]) {
      idx.redShape[idx.redNdim] = shape[d];
      idx.redStride[idx.redNdim++] = strides[d];
      redN *= shape[d];
    } else {
      idx.outShape[idx.outNdim] = shape[d];
      idx.outStride[idx.outNdim++] = strides[d];
      outN *= shape[d];
    }
  }
  Buf<T> x(shape[0] * shape[1] * shape[2], -2, 2);
  const std::string name = dims({shape[0], shape[1], shape[2]}) + " over " + std::string(axes[0] ? "0" : "") +
                           (axes[1] ? "1" : "") + (axes[2] ? "2" : "") + " sms=" + std::to_string(sms);
  // Products of factors near 1 stay in range over 60,000 of them.
  Buf<T> near1(shape[0] * shape[1] * shape[2], 0.95, 1.05);
  for (const auto op : {k::ReduceOp::Sum, k::ReduceOp::Max, k::ReduceOp::Min, k::ReduceOp::Prod}) {
    auto oG = Buf<T>::nan(outN), oC = Buf<T>::nan(outN);
    Buf<T>& in = op == k::ReduceOp::Prod ? near1 : x;
    antler::cuda::reduce(ctx, op, t, oG.p(), in.p(), outN, redN, idx);
    antler::cpu::reduce(op, t, oC.p(), in.p(), outN, redN, idx);
    const char* opName = op == k::ReduceOp::Sum ? "sum " : op == k::ReduceOp::Max ? "max " : op == k::ReduceOp::Min ? "min " : "prod ";
    check(std::string("reduce ") + opName + name, oG, oC, 10);
  }
  // sumAll over the whole of x, against a float64 loop.
  double total = 0;
  for (T v : x.v) total += double(v);
  Buf<T> sG = Buf<T>::nan(1), ref(1);
  ref.v[0] = static_cast<T>(total);
  antler::cuda::sumAll(ctx, t, x.p(), static_cast<int64_t>(x.v.size()), sG.p());
  check("sumAll " + name, sG, ref, 100);
  // dot of x with another vector, against a float64 loop and against the CPU backend.
  Buf<T> y(x.v.size(), -2, 2);
  double d = 0;
  for (size_t i = 0; i < x.v.size(); ++i) d += double(x.v[i]) * double(y.v[i]);
  Buf<T> dG = Buf<T>::nan(1), dC = Buf<T>::nan(1), dRef(1);
  dRef.v[0] = static_cast<T>(d);
  antler::cuda::dot(ctx, t, x.p(), y.p(), static_cast<int64_t>(x.v.size()), dG.p());
  antler::cpu::dot(t, x.p(), y.p(), static_cast<int64_t>(x.v.size()), dC.p());
  check("dot " + name, dG, dRef, 100);
  check("dot cpu " + name, dC, dRef, 100);
}

// Transpose [a, b, c] -> [c, a, b] by copyStrided, and where() with broadcast operands.
template <typename T>
static void shapeCase(int64_t a, int64_t b, int64_t c, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string name = dims({a, b, c}) + " sms=" + std::to_string(sms);
  Buf<T> x(a * b * c);
  k::StridedIndexer si{};
  si.ndim = 3;
  const int64_t outShape[3] = {c, a, b};
  const int64_t srcStride[3] = {1, b * c, c};  // out (k, i, j) reads x (i, j, k)
  const int64_t dstStride[3] = {a * b, b, 1};
  for (int d = 0; d < 3; ++d) {
    si.shape[d] = outShape[d];
    si.srcStride[d] = srcStride[d];
    si.dstStride[d] = dstStride[d];
  }
  auto yG = Buf<T>::nan(a * b * c), yC = Buf<T>::nan(a * b * c);
  antler::cuda::copyStrided(ctx, t, yG.p(), x.p(), a * b * c, si);
  antler::cpu::copyStrided(t, yC.p(), x.p(), a * b * c, si);
  check("copyStrided transpose " + name, yG, yC);

  // where(cond [a, 1, c], x [a, b, c], y [b, 1]) -> [a, b, c].
  Buf<T> cond(a * c), other(b);
  for (auto& v : cond.v) v = v > 0 ? T(1) : T(0);
  k::TernaryIndexer ti{};
  ti.ndim = 3;
  const int64_t shape[3] = {a, b, c}, sC[3] = {c, 0, 1}, sA[3] = {b * c, c, 1}, sB[3] = {0, 1, 0};
  for (int d = 0; d < 3; ++d) {
    ti.shape[d] = shape[d];
    ti.strideC[d] = sC[d];
    ti.strideA[d] = sA[d];
    ti.strideB[d] = sB[d];
  }
  auto wG = Buf<T>::nan(a * b * c), wC = Buf<T>::nan(a * b * c);
  antler::cuda::where(ctx, t, t, wG.p(), cond.p(), x.p(), other.p(), a * b * c, ti);
  antler::cpu::where(t, t, wC.p(), cond.p(), x.p(), other.p(), a * b * c, ti);
  check("where broadcast " + name, wG, wC);
}

// ---------------------------------------------------------------- GEMM

// C_z = op(A_z) op(B_z) for z < batch, B shared by every batch (stride 0), against a float64 loop.
template <typename T>
static void gemmCase(int64_t batch, int64_t m, int64_t n, int64_t kk, bool tA, bool tB, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  Buf<T> A(batch * m * kk), B(kk * n);
  auto C = Buf<T>::nan(batch * m * n);
  Buf<T> ref(batch * m * n);
  for (int64_t z = 0; z < batch; ++z)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < kk; ++p) {
          const double a = A.v[z * m * kk + (tA ? p * m + i : i * kk + p)];
          const double b = B.v[tB ? j * kk + p : p * n + j];
          acc += a * b;
        }
        ref.v[z * m * n + i * n + j] = static_cast<T>(acc);
      }
  antler::MatmulArgs args;
  args.a = A.p();
  args.b = B.p();
  args.c = C.p();
  args.m = m;
  args.n = n;
  args.k = kk;
  args.transA = tA;
  args.transB = tB;
  args.batch = batch;
  args.batchIndex.ndim = 1;
  args.batchIndex.shape[0] = batch;
  args.batchIndex.strideA[0] = m * kk;
  args.batchIndex.strideB[0] = 0;
  antler::cuda::matmulTiled(ctx, dtypeOf<T>(), args);
  check("matmulTiled " + dims({batch, m, n, kk}) + (tA ? " transA" : "") + (tB ? " transB" : "") + " sms=" +
            std::to_string(sms),
        C, ref, 10);
}

// ---------------------------------------------------------------- elementwise and optimizers

template <typename T>
static void unaryCase(int64_t n, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  Buf<T> x0(n, 0.1, 3), gy(n);  // positive: log, sqrt and pow are defined
  for (int o = 0; o < k::kUnaryOpCount; ++o) {
    const auto op = static_cast<k::UnaryOp>(o);
    const double p0 = op == k::UnaryOp::Clamp ? 0.5 : 1.7, p1 = 2.5;
    // Inside each op's domain: (0, 1) for asin, acos and atanh, above 1 for acosh.
    Buf<T> x = x0;
    if (op == k::UnaryOp::Asin || op == k::UnaryOp::Acos || op == k::UnaryOp::Atanh)
      for (auto& v : x.v) v = static_cast<T>(v / T(3.2));
    if (op == k::UnaryOp::Acosh)
      for (auto& v : x.v) v = static_cast<T>(v + T(1));
    auto yG = Buf<T>::nan(n), yC = Buf<T>::nan(n), gG = Buf<T>::nan(n), gC = Buf<T>::nan(n);
    antler::cuda::unary(ctx, op, t, yG.p(), x.p(), n, p0, p1);
    antler::cpu::unary(op, t, yC.p(), x.p(), n, p0, p1);
    antler::cuda::unaryBackward(ctx, op, t, gG.p(), x.p(), yC.p(), gy.p(), n, p0, p1);
    antler::cpu::unaryBackward(op, t, gC.p(), x.p(), yC.p(), gy.p(), n, p0, p1);
    check("unary " + std::to_string(o) + " n=" + std::to_string(n), yG, yC);
    check("unaryBackward " + std::to_string(o) + " n=" + std::to_string(n), gG, gC);
  }
}

template <typename T>
static void optimCase(int64_t n, int sms) {
  emu::Device dev(sms);
  auto& ctx = dev.ctx;
  const DType t = dtypeOf<T>();
  const std::string size = " n=" + std::to_string(n);
  Buf<T> param(n), grad(n), mom(n), m(n), v(n, 0, 1), vmax(n, 0, 1);
  antler::SgdParams sp;
  sp.lr = 0.1;
  sp.momentum = 0.9;
  sp.dampening = 0.1;
  sp.weightDecay = 0.01;
  sp.nesterov = true;
  sp.firstStep = false;
  Buf<T> pG = param, pC = param, bG = mom, bC = mom;
  antler::cuda::sgdStep(ctx, t, pG.p(), grad.p(), bG.p(), n, sp);
  antler::cpu::sgdStep(t, pC.p(), grad.p(), bC.p(), n, sp);
  check("sgdStep param" + size, pG, pC);
  check("sgdStep momentum" + size, bG, bC);
  antler::AdamParams ap;
  ap.weightDecay = 0.01;
  ap.decoupled = true;
  ap.amsgrad = true;
  ap.step = 7;
  Buf<T> qG = param, qC = param, mG = m, mC = m, vG = v, vC = v, xG = vmax, xC = vmax;
  antler::cuda::adamStep(ctx, t, qG.p(), grad.p(), mG.p(), vG.p(), xG.p(), n, ap);
  antler::cpu::adamStep(t, qC.p(), grad.p(), mC.p(), vC.p(), xC.p(), n, ap);
  check("adamStep param" + size, qG, qC);
  check("adamStep m" + size, mG, mC);
  check("adamStep v" + size, vG, vC);
  check("adamStep vmax" + size, xG, xC);
  // AdaHessian: a refresh step (with d) at power 1, then one without at power 0.5 and weight decay.
  Buf<T> d(n, 0, 2);
  antler::AdaHessianParams hp;
  hp.step = 5;
  hp.hessianStep = 3;
  Buf<T> hG = param, hC = param, hmG = m, hmC = m, hvG = v, hvC = v;
  antler::cuda::adaHessianStep(ctx, t, hG.p(), grad.p(), hmG.p(), hvG.p(), d.p(), n, hp);
  antler::cpu::adaHessianStep(t, hC.p(), grad.p(), hmC.p(), hvC.p(), d.p(), n, hp);
  hp.step = 6;
  hp.hessianPower = 0.5;
  hp.weightDecay = 0.1;
  antler::cuda::adaHessianStep(ctx, t, hG.p(), grad.p(), hmG.p(), hvG.p(), nullptr, n, hp);
  antler::cpu::adaHessianStep(t, hC.p(), grad.p(), hmC.p(), hvC.p(), nullptr, n, hp);
  check("adaHessianStep param" + size, hG, hC);
  check("adaHessianStep m" + size, hmG, hmC);
  check("adaHessianStep v" + size, hvG, hvC);
  // RMSprop centered with momentum and weight decay (every state buffer), then plain; Adagrad with lr decay.
  antler::RmspropParams rp;
  rp.lr = 0.01;
  rp.momentum = 0.9;
  rp.centered = true;
  rp.weightDecay = 0.05;
  rp.maximize = true;
  // square_avg in [1, 2] and grad_avg in [−1, 1]: sq ≥ ga², as a real history gives (else sqrt of < 0).
  Buf<T> sq0(n, 1, 2), ga0(n, -1, 1);
  Buf<T> rG = param, rC = param, sqG = sq0, sqC = sq0, gaG = ga0, gaC = ga0, rbG = mom, rbC = mom;
  antler::cuda::rmspropStep(ctx, t, rG.p(), grad.p(), sqG.p(), gaG.p(), rbG.p(), n, rp);
  antler::cpu::rmspropStep(t, rC.p(), grad.p(), sqC.p(), gaC.p(), rbC.p(), n, rp);
  rp = antler::RmspropParams();
  antler::cuda::rmspropStep(ctx, t, rG.p(), grad.p(), sqG.p(), nullptr, nullptr, n, rp);
  antler::cpu::rmspropStep(t, rC.p(), grad.p(), sqC.p(), nullptr, nullptr, n, rp);
  check("rmspropStep param" + size, rG, rC);
  check("rmspropStep square_avg" + size, sqG, sqC);
  check("rmspropStep grad_avg" + size, gaG, gaC);
  check("rmspropStep momentum_buffer" + size, rbG, rbC);
  antler::AdagradParams gp;
  gp.lrDecay = 0.1;
  gp.weightDecay = 0.01;
  gp.step = 4;
  Buf<T> aG = param, aC = param, sG = v, sC = v;
  antler::cuda::adagradStep(ctx, t, aG.p(), grad.p(), sG.p(), n, gp);
  antler::cpu::adagradStep(t, aC.p(), grad.p(), sC.p(), n, gp);
  check("adagradStep param" + size, aG, aC);
  check("adagradStep sum" + size, sG, sC);
  // RAdam at a step before rho_t passes 5 and one after (decoupled decay, maximize); NAdam with L2 decay;
  // Adamax with maximize; Adadelta with weight decay. m in [−1, 1], v, exp_inf and the averages ≥ 0.
  antler::RadamParams radp;
  radp.weightDecay = 0.1;
  radp.decoupled = true;
  radp.maximize = true;
  Buf<T> raG = param, raC = param, ramG = m, ramC = m, ravG = v, ravC = v;
  for (int64_t step : {3, 9}) {
    radp.step = step;
    antler::cuda::radamStep(ctx, t, raG.p(), grad.p(), ramG.p(), ravG.p(), n, radp);
    antler::cpu::radamStep(t, raC.p(), grad.p(), ramC.p(), ravC.p(), n, radp);
  }
  check("radamStep param" + size, raG, raC);
  check("radamStep exp_avg" + size, ramG, ramC);
  check("radamStep exp_avg_sq" + size, ravG, ravC);
  antler::NadamParams nap;
  nap.weightDecay = 0.05;
  nap.momentumDecay = 0.1;
  nap.step = 5;
  nap.muProduct = 0.4;
  Buf<T> naG = param, naC = param, namG = m, namC = m, navG = v, navC = v;
  antler::cuda::nadamStep(ctx, t, naG.p(), grad.p(), namG.p(), navG.p(), n, nap);
  antler::cpu::nadamStep(t, naC.p(), grad.p(), namC.p(), navC.p(), n, nap);
  check("nadamStep param" + size, naG, naC);
  check("nadamStep exp_avg" + size, namG, namC);
  check("nadamStep exp_avg_sq" + size, navG, navC);
  antler::AdamaxParams axp;
  axp.maximize = true;
  axp.weightDecay = 0.01;
  axp.step = 3;
  Buf<T> axG = param, axC = param, axmG = m, axmC = m, axuG = v, axuC = v;
  antler::cuda::adamaxStep(ctx, t, axG.p(), grad.p(), axmG.p(), axuG.p(), n, axp);
  antler::cpu::adamaxStep(t, axC.p(), grad.p(), axmC.p(), axuC.p(), n, axp);
  check("adamaxStep param" + size, axG, axC);
  check("adamaxStep exp_avg" + size, axmG, axmC);
  check("adamaxStep exp_inf" + size, axuG, axuC);
  antler::AdadeltaParams adp;
  adp.weightDecay = 0.05;
  Buf<T> adG = param, adC = param, adsG = v, adsC = v, adaG = sq0, adaC = sq0;
  antler::cuda::adadeltaStep(ctx, t, adG.p(), grad.p(), adsG.p(), adaG.p(), n, adp);
  antler::cpu::adadeltaStep(t, adC.p(), grad.p(), adsC.p(), adaC.p(), n, adp);
  check("adadeltaStep param" + size, adG, adC);
  check("adadeltaStep square_avg" + size, adsG, adsC);
  check("adadeltaStep acc_delta" + size, adaG, adaC);
  // Rprop (maximize, two steps: prev from m has both signs, so every branch runs; step sizes from v, clamped);
  // ASGD with weight decay and averaging (mu ≠ 1), then a step with mu 1 (ax copies the parameter).
  antler::RpropParams rpp;
  rpp.maximize = true;
  rpp.stepSizeMin = 1e-3;
  rpp.stepSizeMax = 0.5;
  Buf<T> rpG = param, rpC = param, rppG = m, rppC = m, rpsG = v, rpsC = v;
  for (int k = 0; k < 2; ++k) {
    antler::cuda::rpropStep(ctx, t, rpG.p(), grad.p(), rppG.p(), rpsG.p(), n, rpp);
    antler::cpu::rpropStep(t, rpC.p(), grad.p(), rppC.p(), rpsC.p(), n, rpp);
  }
  check("rpropStep param" + size, rpG, rpC);
  check("rpropStep prev" + size, rppG, rppC);
  check("rpropStep step_size" + size, rpsG, rpsC);
  antler::AsgdParams asp;
  asp.weightDecay = 0.05;
  asp.lambd = 0.1;
  asp.eta = 0.2;
  asp.mu = 0.25;
  Buf<T> asG = param, asC = param, asaG = m, asaC = m;
  for (double mu : {0.25, 1.0}) {
    asp.mu = mu;
    antler::cuda::asgdStep(ctx, t, asG.p(), grad.p(), asaG.p(), n, asp);
    antler::cpu::asgdStep(t, asC.p(), grad.p(), asaC.p(), n, asp);
  }
  check("asgdStep param" + size, asG, asC);
  check("asgdStep ax" + size, asaG, asaC);
}

// ---------------------------------------------------------------- fill, arange, random, cast, binary

// These are pointwise and must equal the CPU to the bit, in every dtype. The
// emulated and the CPU output start as two different byte patterns, so an
// element that either side leaves unwritten is a mismatch.
template <typename T>
struct Out {
  std::vector<T> gpu, cpu;
  explicit Out(int64_t n) : gpu(static_cast<size_t>(n)), cpu(static_cast<size_t>(n)) {
    std::memset(gpu.data(), 0xFF, gpu.size() * sizeof(T));
    std::memset(cpu.data(), 0xFE, cpu.size() * sizeof(T));
  }
};

template <typename T>
static void checkSame(const std::string& what, const Out<T>& o) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < o.cpu.size(); ++i)
    if (std::memcmp(&o.gpu[i], &o.cpu[i], sizeof(T)) != 0 && bad++ == 0) first = i;
  (bad ? emu::failed : emu::passed) += 1;
  std::printf("%s %s: %zu of %zu elements differ", bad ? "FAIL" : "ok", what.c_str(), bad, o.cpu.size());
  if (bad) std::printf(" (first at %zu: %.17g vs %.17g)", first, double(o.gpu[first]), double(o.cpu[first]));
  std::printf("\n");
}

template <typename T>
static std::vector<T> randomValues(int64_t n, double lo, double hi) {
  std::uniform_real_distribution<double> U(lo, hi);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(U(gen));
  return v;
}

template <typename T>
constexpr DType dtypeOfAny() {
  if constexpr (std::is_same_v<T, int32_t>) return DType::Int32;
  else return dtypeOf<T>();
}

template <typename T>
static void fillArangeCase(int64_t n, int sms) {
  emu::Device dev(sms);
  const DType t = dtypeOfAny<T>();
  const std::string tail = std::string(antler::dtypeName(t)) + " n=" + std::to_string(n) + " sms=" + std::to_string(sms);
  std::uniform_real_distribution<double> U(-50, 50);
  const double value = U(gen), start = U(gen), step = U(gen) / 7;
  Out<T> f(n), a(n);
  antler::cuda::fill(dev.ctx, f.gpu.data(), t, n, value);
  antler::cpu::fill(f.cpu.data(), t, n, value);
  checkSame("fill " + tail, f);
  antler::cuda::arange(dev.ctx, a.gpu.data(), t, n, start, step);
  antler::cpu::arange(a.cpu.data(), t, n, start, step);
  checkSame("arange " + tail, a);
}

// rand (uniform in [a, b)), randn (a + b z) and integer draws on a random
// Philox key and stream; n not a multiple of the 4- or 2-value blocks.
template <typename T>
static void randomCase(int64_t n, int sms) {
  emu::Device dev(sms);
  const DType t = dtypeOfAny<T>();
  std::uniform_int_distribution<uint32_t> W;
  antler::RandomSpec spec;
  spec.stream = {{W(gen), W(gen)}, W(gen), W(gen)};
  struct Draw { const char* name; bool normal; double a, b; };
  const bool isInt = t == DType::Int32;
  const Draw draws[] = {{"rand", false, -2.0, 5.0}, {"randn", true, 1.0, 0.5},
                        {"rand wide", false, -2147483648.0, 2147483647.0}, {"rand empty range", false, 3.0, 3.0}};
  for (const Draw& d : draws) {
    if (isInt && d.normal) continue;  // randn has no int32 form
    spec.normal = d.normal;
    spec.a = d.a;
    spec.b = d.b;
    Out<T> o(n);
    antler::cuda::random(dev.ctx, o.gpu.data(), t, n, spec);
    antler::cpu::random(o.cpu.data(), t, n, spec);
    checkSame(std::string(d.name) + " " + antler::dtypeName(t) + " n=" + std::to_string(n) + " sms=" + std::to_string(sms), o);
  }
}

// Every dtype pair, over values that include NaN, ±inf, fractions of both
// signs and magnitudes beyond the int32 range (which saturate).
template <typename TOut, typename TIn>
static void castCase(int64_t n, int sms) {
  emu::Device dev(sms);
  const double range = std::is_same_v<TIn, int32_t> ? 2.1e9 : 3.0e9;  // int32 inputs must be int32 values
  std::vector<TIn> src = randomValues<TIn>(n, -range, range);
  const std::vector<TIn> small = randomValues<TIn>(n, -4, 4);
  for (int64_t i = 0; i < n; i += 2) src[static_cast<size_t>(i)] = small[static_cast<size_t>(i)];
  if constexpr (!std::is_same_v<TIn, int32_t>) {
    if (n > 8) {
      src[1] = std::numeric_limits<TIn>::quiet_NaN();
      src[3] = std::numeric_limits<TIn>::infinity();
      src[5] = -std::numeric_limits<TIn>::infinity();
      src[7] = TIn(-0.75);
    }
  }
  const DType to = dtypeOfAny<TOut>(), from = dtypeOfAny<TIn>();
  Out<TOut> o(n);
  antler::cuda::cast(dev.ctx, o.gpu.data(), to, src.data(), from, n);
  antler::cpu::cast(o.cpu.data(), to, src.data(), from, n);
  checkSame(std::string("cast ") + antler::dtypeName(from) + " -> " + antler::dtypeName(to) + " n=" + std::to_string(n) +
                " sms=" + std::to_string(sms),
            o);
}

// Every binary op between same-shape operands, broadcast operands
// ([d0, 1, d2] with [1, d1, 1] and [d1, 1]), and a scalar on either side.
// int32 divisors and exponents are kept in [1, 4] (division by zero is
// undefined for integers), half the other int32 operand spans the whole
// range; the float operands include a NaN.
template <typename T>
static void binaryCase(int64_t d0, int64_t d1, int64_t d2, int sms) {
  emu::Device dev(sms);
  const DType t = dtypeOfAny<T>();
  constexpr bool isInt = std::is_same_v<T, int32_t>;
  const int64_t n = d0 * d1 * d2;
  std::vector<T> a = randomValues<T>(n, -5, 5), b = randomValues<T>(n, isInt ? 1 : -5, 5);
  std::vector<T> aB = randomValues<T>(d0 * d2, -5, 5), bB = randomValues<T>(d1, isInt ? 1 : 0.5, isInt ? 5 : 3);
  if constexpr (!isInt) {
    a[0] = std::numeric_limits<T>::quiet_NaN();
    aB[0] = std::numeric_limits<T>::quiet_NaN();
  } else {  // half the int32 values anywhere in range: add, sub, mul and pow wrap around
    const std::vector<T> wide = randomValues<T>(n, -2.1e9, 2.1e9);
    for (int64_t i = 1; i < n; i += 2) a[static_cast<size_t>(i)] = wide[static_cast<size_t>(i)];
  }
  if (n > 3) a[3] = b[3];  // an equal pair for the comparisons (b, not a, is never 0 for int32)
  k::BroadcastIndexer idx{};
  idx.ndim = 3;
  const int64_t shape[3] = {d0, d1, d2}, sA[3] = {d2, 0, 1}, sB[3] = {0, 1, 0};
  for (int d = 0; d < 3; ++d) {
    idx.shape[d] = shape[d];
    idx.strideA[d] = sA[d];
    idx.strideB[d] = sB[d];
  }
  const std::string tail = std::string(antler::dtypeName(t)) + " " + dims({d0, d1, d2}) + " sms=" + std::to_string(sms);
  const double s = isInt ? 3.0 : 1.75;
  for (int o = 0; o < k::kBinaryOpCount; ++o) {
    const auto op = static_cast<k::BinaryOp>(o);
    const std::string name = "binary " + std::to_string(o) + " ";
    Out<T> same(n), bcast(n), right(n), left(n);
    antler::cuda::binary(dev.ctx, op, t, same.gpu.data(), a.data(), b.data(), n, nullptr);
    antler::cpu::binary(op, t, same.cpu.data(), a.data(), b.data(), n, nullptr);
    checkSame(name + "same shape " + tail, same);
    antler::cuda::binary(dev.ctx, op, t, bcast.gpu.data(), aB.data(), bB.data(), n, &idx);
    antler::cpu::binary(op, t, bcast.cpu.data(), aB.data(), bB.data(), n, &idx);
    checkSame(name + "broadcast " + tail, bcast);
    // A scalar first divides or raises the int32 operand's values, so those come from b (in [1, 4]).
    antler::cuda::binaryScalar(dev.ctx, op, t, right.gpu.data(), a.data(), s, false, n);
    antler::cpu::binaryScalar(op, t, right.cpu.data(), a.data(), s, false, n);
    checkSame(name + "scalar second " + tail, right);
    antler::cuda::binaryScalar(dev.ctx, op, t, left.gpu.data(), b.data(), s, true, n);
    antler::cpu::binaryScalar(op, t, left.cpu.data(), b.data(), s, true, n);
    checkSame(name + "scalar first " + tail, left);
  }
}

// argmax/argmin over the middle axis of [outer, n, inner]: the emulated CUDA launcher against the CPU
// backend, and the CPU against a plain first-extreme loop. Values are few distinct integers (ties
// everywhere) with ±inf and, for float types, NaNs: lines with none, one or several.
template <typename T>
static void argReduceCase(int64_t outer, int64_t n, int64_t inner, int sms) {
  emu::Device dev(sms);
  const DType t = dtypeOfAny<T>();
  const int64_t total = outer * n * inner, lines = outer * inner;
  std::vector<T> x = randomValues<T>(total, -3.5, 3.5);
  std::uniform_real_distribution<double> U(0, 1);
  // Per line: plain values only, or also extremes (±inf, int32's limits), or also NaNs, or both,
  // each special at a rate that leaves a few per line.
  std::vector<int> kind(static_cast<size_t>(lines));
  for (auto& k : kind) k = static_cast<int>(U(gen) * 4);
  const double rate = std::min(0.05, 3.0 / static_cast<double>(n));
  for (int64_t i = 0; i < total; ++i) {
    T& v = x[static_cast<size_t>(i)];
    v = static_cast<T>(static_cast<int>(v));   // integers in [-3, 3]
    const int k = kind[static_cast<size_t>((i / (n * inner)) * inner + i % inner)];
    if ((k & 1) && U(gen) < rate) {
      const bool high = U(gen) < 0.5;
      if constexpr (std::is_same_v<T, int32_t>) v = high ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
      else v = high ? T(INFINITY) : T(-INFINITY);
    }
    if constexpr (!std::is_same_v<T, int32_t>)
      if ((k & 2) && U(gen) < rate) v = std::numeric_limits<T>::quiet_NaN();
  }
  const std::string tail = std::string(antler::dtypeName(t)) + " " + dims({outer, n, inner}) + " sms=" + std::to_string(sms);
  for (const bool largest : {true, false}) {
    const std::string name = largest ? "argmax " : "argmin ";
    Out<int32_t> o(lines);
    antler::cuda::argReduce(dev.ctx, t, o.gpu.data(), x.data(), outer, n, inner, largest);
    antler::cpu::argReduce(t, o.cpu.data(), x.data(), outer, n, inner, largest);
    checkSame(name + tail, o);
    Out<int32_t> ref(lines);
    ref.gpu = o.cpu;
    for (int64_t l = 0; l < lines; ++l) {
      const int64_t base = (l / inner) * n * inner + l % inner;
      int32_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        const T v = x[static_cast<size_t>(base + k * inner)], b = x[static_cast<size_t>(base + best * inner)];
        if (b != b) break;
        if (v != v || (largest ? v > b : v < b)) best = static_cast<int32_t>(k);
      }
      ref.cpu[static_cast<size_t>(l)] = best;
    }
    checkSame(name + "cpu vs reference loop " + tail, ref);
  }
}

// topk indices over the middle axis of [outer, n, inner] (out [outer, k, inner]): the emulated CUDA
// launcher (selection passes for k ≤ 8 on many or short lines; otherwise the merge sort: runs of 16,
// merge passes, the first k) against the CPU backend (selection passes for k ≤ 8, partial_sort or
// std::sort above), and the CPU
// against a std::sort of each line's (value, index) pairs. Inputs as argReduceCase: ties, ±inf, NaNs.
template <typename T>
static void topkCase(int64_t outer, int64_t n, int64_t inner, int sms) {
  emu::Device dev(sms);
  const DType t = dtypeOfAny<T>();
  const int64_t total = outer * n * inner, lines = outer * inner;
  std::vector<T> x = randomValues<T>(total, -3.5, 3.5);
  std::uniform_real_distribution<double> U(0, 1);
  const double rate = std::min(0.05, 3.0 / static_cast<double>(n));
  for (int64_t i = 0; i < total; ++i) {
    T& v = x[static_cast<size_t>(i)];
    v = static_cast<T>(static_cast<int>(v));   // integers in [-3, 3]
    if (U(gen) < rate) {
      const bool high = U(gen) < 0.5;
      if constexpr (std::is_same_v<T, int32_t>) v = high ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
      else v = high ? T(INFINITY) : T(-INFINITY);
    }
    if constexpr (!std::is_same_v<T, int32_t>)
      if (U(gen) < rate) v = std::numeric_limits<T>::quiet_NaN();
  }
  const std::string tail = std::string(antler::dtypeName(t)) + " " + dims({outer, n, inner}) + " sms=" + std::to_string(sms);
  std::vector<int64_t> ks = {1, std::min<int64_t>(3, n), n};
  if (n > 9) ks.push_back(9);
  if (n > 40) ks.push_back(n / 2 + 1);
  for (const bool largest : {true, false})
    for (const int64_t k : ks) {
      const std::string name = std::string("topk k=") + std::to_string(k) + (largest ? " largest " : " smallest ");
      const int64_t size = outer * k * inner;
      Out<int32_t> o(size);
      antler::cuda::topk(dev.ctx, t, o.gpu.data(), x.data(), outer, n, inner, k, largest);
      antler::cpu::topk(t, o.cpu.data(), x.data(), outer, n, inner, k, largest);
      checkSame(name + tail, o);
      Out<int32_t> ref(size);
      ref.gpu = o.cpu;
      std::vector<int64_t> idx(static_cast<size_t>(n));
      for (int64_t l = 0; l < lines; ++l) {
        const int64_t ol = l / inner, j = l % inner, base = ol * n * inner + j;
        for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
        std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
          const T va = x[static_cast<size_t>(base + a * inner)], vb = x[static_cast<size_t>(base + b * inner)];
          const bool an = va != va, bn = vb != vb;
          if (an != bn) return largest ? an : bn;  // a NaN is the largest value (torch.topk)
          if (an || va == vb) return a < b;
          return largest ? va > vb : va < vb;
        });
        for (int64_t i = 0; i < k; ++i)
          ref.cpu[static_cast<size_t>(ol * k * inner + i * inner + j)] = static_cast<int32_t>(idx[static_cast<size_t>(i)]);
      }
      checkSame(name + "cpu vs reference sort " + tail, ref);
    }
}

template <typename T>
static void elementwiseAll() {
  fillArangeCase<T>(1, 4);
  fillArangeCase<T>(70001, 1);
  randomCase<T>(1, 4);
  randomCase<T>(7, 4);
  randomCase<T>(40001, 1);
  castCase<T, float>(1, 4);
  castCase<T, float>(5003, 1);
  castCase<T, double>(5003, 2);
  castCase<T, int32_t>(5003, 2);
  binaryCase<T>(1, 1, 1, 4);
  binaryCase<T>(4, 5, 6, 4);
  binaryCase<T>(30, 17, 40, 1);
  argReduceCase<T>(1, 1, 1, 4);
  argReduceCase<T>(7, 33, 1, 4);
  argReduceCase<T>(3, 1500, 1, 2);
  argReduceCase<T>(300, 3, 1, 2);
  argReduceCase<T>(4, 9, 5, 2);
  argReduceCase<T>(3, 1, 4, 4);
  argReduceCase<T>(2, 40, 700, 1);
  topkCase<T>(1, 1, 1, 4);
  topkCase<T>(7, 33, 1, 4);
  topkCase<T>(3, 300, 1, 2);
  topkCase<T>(4, 9, 5, 2);
  topkCase<T>(3, 1, 4, 4);
  topkCase<T>(2, 40, 70, 1);
  topkCase<T>(1, 2500, 1, 2);   // one long line: the merge sort even for k ≤ 8 (12 passes, a ragged last run)
  topkCase<T>(2, 333, 3, 1);    // inner > 1 through the merge sort
}

template <typename T>
static void all() {
  rowCase<T>(1, 1, 1, 4);
  rowCase<T>(7, 33, 1, 4);
  rowCase<T>(3, 1500, 1, 2);
  rowCase<T>(4, 9, 5, 2);
  cumsumCase<T>(1, 1, 1, 4);
  cumsumCase<T>(7, 33, 1, 4);
  cumsumCase<T>(3, 1500, 1, 2);
  cumsumCase<T>(4, 9, 5, 2);
  cumsumCase<T>(2, 40, 700, 1);
  layerNormCase<T>(1, 1, 4);
  layerNormCase<T>(9, 70, 4);
  layerNormCase<T>(5, 2000, 2);
  layerNormCase<T>(300, 8, 1);
  crossEntropyCase<T>(1, 1, false, 4);
  crossEntropyCase<T>(40, 10, false, 4);
  crossEntropyCase<T>(6, 3000, false, 2);
  crossEntropyCase<T>(20, 7, true, 1);
  ctcCase<T>(1, 1, 2, 0, 4);
  ctcCase<T>(12, 5, 6, 4, 4);
  ctcCase<T>(60, 3, 9, 150, 2);   // a lattice of 301 positions: more than a block's 256 threads
  embeddingCase<T>(50, 7, 9, false, 4);
  embeddingCase<T>(3, 2, 600, false, 2);
  embeddingCase<T>(30, 5, 4, true, 1);
  reduceCase<T>({4, 5, 6}, {false, true, false}, 4);
  reduceCase<T>({4, 5, 6}, {true, false, true}, 4);
  reduceCase<T>({3, 700, 5}, {false, true, false}, 2);
  reduceCase<T>({2000, 3, 1}, {true, false, false}, 2);
  reduceCase<T>({3, 4, 900}, {false, false, true}, 1);
  reduceCase<T>({30, 40, 50}, {true, true, true}, 2);
  shapeCase<T>(1, 1, 1, 4);
  shapeCase<T>(5, 7, 3, 4);
  shapeCase<T>(20, 30, 40, 1);
  gemmCase<T>(1, 1, 1, 1, false, false, 4);
  gemmCase<T>(2, 70, 65, 33, false, false, 4);
  gemmCase<T>(1, 17, 130, 20, true, false, 2);
  gemmCase<T>(3, 64, 64, 16, false, true, 2);
  gemmCase<T>(1, 5, 9, 100, true, true, 1);
  unaryCase<T>(1, 4);
  unaryCase<T>(10000, 1);
  optimCase<T>(1, 4);
  optimCase<T>(9000, 1);
}

int main(int argc, char** argv) {
  emu::start(argc, argv);
  all<double>();
  all<float>();
  elementwiseAll<double>();
  elementwiseAll<float>();
  elementwiseAll<int32_t>();
  return emu::finish();
}
