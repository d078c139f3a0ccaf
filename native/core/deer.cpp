// The DEER linear scan y_t = A_t y_{t−1} + b_t: validation and dispatch. Every
// shape, dtype and device is checked here, outputs are allocated before any
// kernel runs, and inputs are never written. The combines are in
// kernels/scan.h; the loops in cpu/scan.cpp and cuda/scan.cu.
#include <cmath>

#include "error.h"
#include "ops.h"

namespace antler::ops {

namespace {

constexpr const char* kForward = "deer.scan";
constexpr const char* kBackward = "deer.scan backward";
constexpr const char* kElk = "deer.elk";
constexpr const char* kResidual = "deer residual";
constexpr const char* kExpm = "deer.expm";

// t has A's device and dtype (A is named `ref` in the messages) and the given shape.
void checkOperand(const char* op, const char* what, const Tensor& A, const Tensor& t, const Shape& shape,
                  const char* layout, const char* ref = "A") {
  if (t.device() != A.device())
    fail(Code::DeviceMismatch, op, ": ", what, " is on ", t.device().str(), " but ", ref, " is on ", A.device().str(),
         "; move it with .to('", A.device().str(), "')");
  if (t.dtype != A.dtype)
    fail(Code::DtypeMismatch, op, ": ", what, " has dtype ", dtypeName(t.dtype), " but ", ref, " has ", dtypeName(A.dtype),
         "; convert it with .cast('", dtypeName(A.dtype), "')");
  if (t.shape != shape)
    fail(Code::ShapeMismatch, op, ": ", what, " has shape ", shapeStr(t.shape), "; expected ", layout, " = ",
         shapeStr(shape));
}

kernels::ScanConfig configFor(const char* op, const Tensor& A, const Tensor& b, const Tensor& y0) {
  if (!isFloating(A.dtype))
    fail(Code::DtypeMismatch, op, ": A has dtype ", dtypeName(A.dtype), "; expected float32 or float64");
  kernels::ScanConfig cfg;
  if (A.shape.size() == 4) {
    if (A.shape[2] != A.shape[3])
      fail(Code::ShapeMismatch, op, ": A has shape ", shapeStr(A.shape),
           "; a dense A must be [T, B, n, n] (square n×n per step)");
    cfg.diagonal = false;
  } else if (A.shape.size() == 3) {
    cfg.diagonal = true;
  } else {
    fail(Code::ShapeMismatch, op, ": A has shape ", shapeStr(A.shape),
         "; expected [T, B, n, n] (dense) or [T, B, n] (diagonal)");
  }
  cfg.T = A.shape[0];
  cfg.B = A.shape[1];
  cfg.n = A.shape[2];
  if (cfg.n < 1) fail(Code::ShapeMismatch, op, ": A has shape ", shapeStr(A.shape), "; the state size n must be >= 1");
  checkOperand(op, "b", A, b, {cfg.T, cfg.B, cfg.n}, "[T, B, n]");
  checkOperand(op, "y0", A, y0, {cfg.B, cfg.n}, "[B, n]");
  return cfg;
}

ScanInputs inputsOf(const Tensor& A, const Tensor& b, const Tensor& y0) {
  ScanInputs in;
  in.A = A.data();
  in.b = b.data();
  in.y0 = y0.data();
  return in;
}

}  // namespace

TensorPtr deerScan(const Tensor& A, const Tensor& b, const Tensor& y0) {
  const kernels::ScanConfig cfg = configFor(kForward, A, b, y0);
  const Device& dev = A.device();
  TensorPtr y = emptyTensor({cfg.T, cfg.B, cfg.n}, A.dtype, dev);
  if (cfg.T > 0 && cfg.B > 0) backendFor(dev).deerScan(dev, A.dtype, cfg, inputsOf(A, b, y0), y->data());
  return y;
}

DeerScanGrads deerScanBackward(const Tensor& A, const Tensor& b, const Tensor& y0, const Tensor& y, const Tensor& gy,
                               bool adjointOnly) {
  const kernels::ScanConfig cfg = configFor(kBackward, A, b, y0);
  const Shape seq{cfg.T, cfg.B, cfg.n};
  checkOperand(kBackward, "y (the forward's output)", A, y, seq, "[T, B, n]");
  checkOperand(kBackward, "the gradient of y", A, gy, seq, "[T, B, n]");
  const Device& dev = A.device();
  DeerScanGrads g;
  g.gb = emptyTensor(seq, A.dtype, dev);
  if (!adjointOnly) g.gA = emptyTensor(A.shape, A.dtype, dev);
  if (cfg.T == 0) {
    // y does not depend on y0 when there are no steps.
    if (!adjointOnly) g.gy0 = full(y0.shape, A.dtype, dev, 0.0);
    return g;
  }
  if (!adjointOnly) g.gy0 = emptyTensor(y0.shape, A.dtype, dev);
  auto ptr = [](const TensorPtr& t) { return t ? t->data() : nullptr; };
  if (cfg.B > 0)
    backendFor(dev).deerScanBackward(dev, A.dtype, cfg, inputsOf(A, b, y0), y.data(), gy.data(), ptr(g.gA),
                                     g.gb->data(), ptr(g.gy0));
  return g;
}

TensorPtr deerElk(const Tensor& a, const Tensor& u, const Tensor& yhat, const Tensor& y0, const Tensor& lambda) {
  if (!isFloating(a.dtype))
    fail(Code::DtypeMismatch, kElk, ": a has dtype ", dtypeName(a.dtype), "; expected float32 or float64");
  if (a.shape.size() != 3 && !(a.shape.size() == 4 && a.shape[2] == a.shape[3]))
    fail(Code::ShapeMismatch, kElk, ": a has shape ", shapeStr(a.shape),
         "; expected the diagonal Jacobian [T, B, n] or the dense Jacobian [T, B, n, n]");
  kernels::ElkConfig cfg;
  cfg.T = a.shape[0];
  cfg.B = a.shape[1];
  cfg.n = a.shape[2];
  cfg.dense = a.shape.size() == 4;
  if (cfg.n < 1) fail(Code::ShapeMismatch, kElk, ": a has shape ", shapeStr(a.shape), "; the state size n must be >= 1");
  const Shape seq{cfg.T, cfg.B, cfg.n};
  checkOperand(kElk, "u", a, u, seq, "[T, B, n]", "a");
  checkOperand(kElk, "yhat", a, yhat, seq, "[T, B, n]", "a");
  checkOperand(kElk, "y0", a, y0, {cfg.B, cfg.n}, "[B, n]", "a");
  checkOperand(kElk, "lambda", a, lambda, {cfg.B}, "[B]", "a");
  const Device& dev = a.device();
  TensorPtr y = emptyTensor(seq, a.dtype, dev);
  if (cfg.T > 0 && cfg.B > 0) {
    ElkBuffers in;
    in.a = a.data();
    in.u = u.data();
    in.yhat = yhat.data();
    in.y0 = y0.data();
    in.lambda = lambda.data();
    backendFor(dev).deerElk(dev, a.dtype, cfg, in, y->data());
  }
  return y;
}

TensorPtr deerResidual(const Tensor& y, const Tensor& f, double rtol) {
  if (!(rtol >= 0) || !std::isfinite(rtol)) fail(Code::InvalidArgument, kResidual, ": rtol is ", rtol, "; expected a finite number >= 0");
  if (!isFloating(y.dtype))
    fail(Code::DtypeMismatch, kResidual, ": y has dtype ", dtypeName(y.dtype), "; expected float32 or float64");
  if (y.shape.size() != 3)
    fail(Code::ShapeMismatch, kResidual, ": y has shape ", shapeStr(y.shape), "; expected [T, B, n]");
  checkOperand(kResidual, "f", y, f, y.shape, "y's shape [T, B, n]", "y");
  const int64_t T = y.shape[0], B = y.shape[1], n = y.shape[2];
  const Device& dev = y.device();
  if (T == 0 || n == 0) return full({4, B}, y.dtype, dev, 0.0);
  TensorPtr out = emptyTensor({4, B}, y.dtype, dev);
  if (B > 0) backendFor(dev).deerResidual(dev, y.dtype, T, B, n, y.data(), f.data(), rtol, out->data());
  return out;
}

TensorPtr expm(const Tensor& A) {
  if (!isFloating(A.dtype))
    fail(Code::DtypeMismatch, kExpm, ": A has dtype ", dtypeName(A.dtype), "; expected float32 or float64");
  const size_t r = A.shape.size();
  if (r < 2 || A.shape[r - 1] != A.shape[r - 2])
    fail(Code::ShapeMismatch, kExpm, ": A has shape ", shapeStr(A.shape),
         "; expected square matrices [..., m, m] (rank >= 2, the last two dims equal)");
  const int64_t m = A.shape[r - 1];
  int64_t count = 1;
  for (size_t i = 0; i + 2 < r; ++i) count *= A.shape[i];
  const Device& dev = A.device();
  TensorPtr E = emptyTensor(A.shape, A.dtype, dev);
  if (count > 0 && m > 0) backendFor(dev).expm(dev, A.dtype, count, m, A.data(), E->data());
  return E;
}

}  // namespace antler::ops
