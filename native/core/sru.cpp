// The fused SRU recurrence: validation and dispatch. Every shape, dtype,
// device and option is checked here, outputs are allocated before any kernel
// runs, and inputs are never written. The math is in kernels/sru.h; the loops
// in cpu/sru.cpp and cuda/sru.cu.
#include <cmath>

#include "error.h"
#include "ops.h"

namespace antler::ops {

namespace {

constexpr const char* kForward = "SRU";
constexpr const char* kBackward = "SRU backward";

// A hidden size far beyond any real layer, small enough that dirs·d·k and
// 2·dirs·d cannot overflow.
constexpr int64_t kMaxHidden = int64_t(1) << 32;

void checkOptions(const char* op, const SruOptions& o) {
  if (o.d < 1 || o.d > kMaxHidden) fail(Code::InvalidArgument, op, ": d (hidden size) must be an integer >= 1; got ", o.d);
  if (o.dirs != 1 && o.dirs != 2)
    fail(Code::InvalidArgument, op, ": dirs must be 1 (unidirectional) or 2 (bidirectional); got ", o.dirs);
  if (o.k != 3 && o.k != 4) fail(Code::InvalidArgument, op, ": k (columns of U per unit) must be 3 or 4; got ", o.k);
  if (o.k == 4 && !o.hasSkipTerm)
    fail(Code::InvalidArgument, op, ": k = 4 adds the skip projection x' to U and needs hasSkipTerm: true; "
         "without a skip term use k = 3");
  if (!std::isfinite(o.scaleX)) fail(Code::InvalidArgument, op, ": scaleX must be finite; got ", o.scaleX);
  if (o.activation != "identity" && o.activation != "tanh")
    fail(Code::InvalidArgument, op, ": activation must be 'identity' or 'tanh'; got '", o.activation, "'");
}

void checkDevice(const char* op, const char* what, const Tensor& ref, const Tensor& t) {
  if (t.device() != ref.device())
    fail(Code::DeviceMismatch, op, ": ", what, " is on ", t.device().str(), " but U is on ", ref.device().str(),
         "; move it with .to('", ref.device().str(), "')");
}

// Same device and dtype as U, and the expected shape.
void checkOperand(const char* op, const char* what, const Tensor& U, const Tensor& t, const Shape& shape,
                  const char* layout) {
  checkDevice(op, what, U, t);
  if (t.dtype != U.dtype)
    fail(Code::DtypeMismatch, op, ": ", what, " has dtype ", dtypeName(t.dtype), " but U has ", dtypeName(U.dtype),
         "; convert it with .cast('", dtypeName(U.dtype), "')");
  if (t.shape != shape)
    fail(Code::ShapeMismatch, op, ": ", what, " has shape ", shapeStr(t.shape), "; expected ", layout, " = ",
         shapeStr(shape));
}

kernels::SruConfig configFor(const char* op, const Tensor& U, const Tensor* x, const Tensor& weightC,
                             const Tensor& bias, const Tensor* c0, const Tensor* maskPad, const SruOptions& o) {
  checkOptions(op, o);
  if (!isFloating(U.dtype))
    fail(Code::DtypeMismatch, op, ": U has dtype ", dtypeName(U.dtype), "; expected float32 or float64");
  const int64_t width = o.dirs * o.d;
  if (U.shape.size() != 3 || U.shape[2] != width * o.k)
    fail(Code::ShapeMismatch, op, ": U has shape ", shapeStr(U.shape), "; expected [L, B, dirs·d·k] with dirs·d·k = ",
         width * o.k, " (d = ", o.d, ", dirs = ", o.dirs, ", k = ", o.k, ")");
  const int64_t L = U.shape[0], B = U.shape[1];
  checkOperand(op, "weight_c", U, weightC, {2 * width}, "[2·dirs·d]");
  checkOperand(op, "bias", U, bias, {2 * width}, "[2·dirs·d]");

  const bool usesX = o.k == 3 && o.hasSkipTerm;
  if (usesX && !x)
    fail(Code::InvalidArgument, op, ": x is required: with k = 3 and a skip term, h uses scaleX·x; pass x [L, B, dirs·d] = ",
         shapeStr({L, B, width}));
  if (!usesX && x)
    fail(Code::InvalidArgument, op, ": x must be null ", (o.hasSkipTerm ? "with k = 4 (the skip term is U's x' column)" : "without a skip term"),
         "; got a tensor of shape ", shapeStr(x->shape));
  if (x) checkOperand(op, "x", U, *x, {L, B, width}, "[L, B, dirs·d]");
  if (c0) checkOperand(op, "c0", U, *c0, {B, width}, "[B, dirs·d]");
  if (maskPad) {
    checkDevice(op, "maskPad", U, *maskPad);
    if (maskPad->dtype != DType::Int32)
      fail(Code::DtypeMismatch, op, ": maskPad has dtype ", dtypeName(maskPad->dtype),
           "; expected int32 (nonzero = padded step)");
    if (maskPad->shape != Shape{L, B})
      fail(Code::ShapeMismatch, op, ": maskPad has shape ", shapeStr(maskPad->shape), "; expected [L, B] = ",
           shapeStr({L, B}));
  }

  kernels::SruConfig cfg;
  cfg.L = L;
  cfg.B = B;
  cfg.d = o.d;
  cfg.dirs = o.dirs;
  cfg.k = o.k;
  cfg.skip = !o.hasSkipTerm ? kernels::SruSkip::None
             : o.k == 4     ? kernels::SruSkip::Projection
                            : kernels::SruSkip::ScaledInput;
  cfg.scaleX = o.scaleX;
  cfg.tanhActivation = o.activation == "tanh";
  return cfg;
}

SruInputs inputsOf(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias, const Tensor* c0,
                   const Tensor* maskPad) {
  SruInputs in;
  in.U = U.data();
  in.x = x ? x->data() : nullptr;
  in.weightC = weightC.data();
  in.bias = bias.data();
  in.c0 = c0 ? c0->data() : nullptr;
  in.maskPad = maskPad ? static_cast<const int32_t*>(maskPad->data()) : nullptr;
  return in;
}

}  // namespace

SruForwardResult sruForward(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias,
                            const Tensor* c0, const Tensor* maskPad, const SruOptions& o) {
  const kernels::SruConfig cfg = configFor(kForward, U, x, weightC, bias, c0, maskPad, o);
  const Device& dev = U.device();
  SruForwardResult r;
  r.h = emptyTensor({cfg.L, cfg.B, cfg.width()}, U.dtype, dev);
  r.c = emptyTensor({cfg.L, cfg.B, cfg.width()}, U.dtype, dev);
  r.cLast = emptyTensor({cfg.B, cfg.width()}, U.dtype, dev);
  if (cfg.B > 0)
    backendFor(dev).sruForward(dev, U.dtype, cfg, inputsOf(U, x, weightC, bias, c0, maskPad), r.h->data(),
                               r.c->data(), r.cLast->data());
  return r;
}

SruBackwardResult sruBackward(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias,
                              const Tensor* c0, const Tensor* maskPad, const Tensor& c, const Tensor& gh,
                              const Tensor& gcLast, const Tensor* gcAll, const SruOptions& o) {
  const kernels::SruConfig cfg = configFor(kBackward, U, x, weightC, bias, c0, maskPad, o);
  const Shape seq{cfg.L, cfg.B, cfg.width()}, state{cfg.B, cfg.width()};
  checkOperand(kBackward, "c (the forward's states)", U, c, seq, "[L, B, dirs·d]");
  checkOperand(kBackward, "the gradient of h", U, gh, seq, "[L, B, dirs·d]");
  checkOperand(kBackward, "the gradient of the last state", U, gcLast, state, "[B, dirs·d]");
  if (gcAll) checkOperand(kBackward, "the gradient of every state", U, *gcAll, seq, "[L, B, dirs·d]");
  const Device& dev = U.device();
  SruBackwardResult r;
  r.gU = emptyTensor(U.shape, U.dtype, dev);
  if (cfg.skip == kernels::SruSkip::ScaledInput) r.gx = emptyTensor(seq, U.dtype, dev);
  r.gWeightC = emptyTensor(weightC.shape, U.dtype, dev);
  r.gBias = emptyTensor(bias.shape, U.dtype, dev);
  r.gc0 = emptyTensor(state, U.dtype, dev);
  SruGrads g;
  g.gU = r.gU->data();
  g.gx = r.gx ? r.gx->data() : nullptr;
  g.gWeightC = r.gWeightC->data();
  g.gBias = r.gBias->data();
  g.gc0 = r.gc0->data();
  SruInputs in = inputsOf(U, x, weightC, bias, c0, maskPad);
  in.gcAll = gcAll ? gcAll->data() : nullptr;
  backendFor(dev).sruBackward(dev, U.dtype, cfg, in, c.data(), gh.data(), gcLast.data(), g);
  return r;
}

SruDeerResult sruDeer(const Tensor& U, const Tensor* x, const Tensor& weightC, const Tensor& bias, const Tensor* c0,
                      const Tensor* maskPad, const Tensor& c, const SruOptions& o, bool linearize) {
  const char* op = linearize ? "SRU deer linearize" : "SRU deer output";
  const kernels::SruConfig cfg = configFor(op, U, x, weightC, bias, c0, maskPad, o);
  const Shape seq{cfg.L, cfg.B, cfg.width()};
  // The linearization reads c and writes F, J and bOff in the scan layout [L, dirs·B, d]
  // (kernels/sru.h); the output pass reads c and writes h in the natural [L, B, dirs·d].
  const Shape scanSeq{cfg.L, cfg.dirs * cfg.B, cfg.d};
  if (linearize) checkOperand(op, "c (the states' guess)", U, c, scanSeq, "[L, dirs·B, d] (the scan layout)");
  else checkOperand(op, "c (the states)", U, c, seq, "[L, B, dirs·d]");
  const Device& dev = U.device();
  SruDeerResult r;
  if (linearize) {
    r.F = emptyTensor(scanSeq, U.dtype, dev);
    r.J = emptyTensor(scanSeq, U.dtype, dev);
    r.bOff = emptyTensor(scanSeq, U.dtype, dev);
  } else {
    r.h = emptyTensor(seq, U.dtype, dev);
  }
  if (cfg.L > 0 && cfg.B > 0) {
    auto ptr = [](const TensorPtr& t) { return t ? t->data() : nullptr; };
    backendFor(dev).sruDeer(dev, U.dtype, cfg, inputsOf(U, x, weightC, bias, c0, maskPad), c.data(), ptr(r.F),
                            ptr(r.J), ptr(r.bOff), ptr(r.h));
  }
  return r;
}

}  // namespace antler::ops
