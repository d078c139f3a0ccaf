// The DEER recurrent cells (GRU, LSTM, Elman RNN): validation and dispatch.
// Every option, shape, dtype and device is checked here, outputs are
// allocated before any kernel runs, and inputs are never written. The math is
// in kernels/cells.h; the loops in cpu/cells.cpp and cuda/cells.cu.
#include <cmath>
#include <vector>

#include "error.h"
#include "ops.h"

namespace antler::ops {

namespace {

namespace k = kernels;

constexpr const char* kLinearize = "deer.cell linearize";
constexpr const char* kSequential = "deer.cell";
constexpr const char* kBackward = "deer.cell backward";
constexpr const char* kSolve = "deer.cell solve";
constexpr const char* kAdjoint = "deer.cell adjoint";

k::CellKind kindArg(const char* op, const std::string& kind) {
  if (kind == "gru") return k::CellKind::Gru;
  if (kind == "lstm") return k::CellKind::Lstm;
  if (kind == "rnn_tanh") return k::CellKind::RnnTanh;
  if (kind == "rnn_relu") return k::CellKind::RnnRelu;
  fail(Code::InvalidArgument, op, ": kind must be 'gru', 'lstm', 'rnn_tanh' or 'rnn_relu'; got '", kind, "'");
}

k::CellJacobian jacobianArg(const char* op, const std::string& jacobian) {
  if (jacobian == "none") return k::CellJacobian::None;
  if (jacobian == "diagonal") return k::CellJacobian::Diagonal;
  if (jacobian == "dense") return k::CellJacobian::Dense;
  fail(Code::InvalidArgument, op, ": jacobian must be 'none', 'diagonal' or 'dense'; got '", jacobian, "'");
}

const char* kindName(k::CellKind kind) {
  switch (kind) {
    case k::CellKind::Gru: return "a GRU";
    case k::CellKind::Lstm: return "an LSTM";
    case k::CellKind::RnnTanh: return "an Elman RNN (rnn_tanh)";
    case k::CellKind::RnnRelu: return "an Elman RNN (rnn_relu)";
  }
  return "this cell";
}

// G / H and n / H as the messages write them.
const char* gatesText(k::CellKind kind) {
  return kind == k::CellKind::Gru ? "3·H" : kind == k::CellKind::Lstm ? "4·H" : "H";
}
const char* stateText(k::CellKind kind) { return kind == k::CellKind::Lstm ? "2·H" : "H"; }

// Same device and dtype as Whh.
void checkLike(const char* op, const char* what, const Tensor& Whh, const Tensor& t) {
  if (t.device() != Whh.device())
    fail(Code::DeviceMismatch, op, ": ", what, " is on ", t.device().str(), " but Whh is on ", Whh.device().str(),
         "; move it with .to('", Whh.device().str(), "')");
  if (t.dtype != Whh.dtype)
    fail(Code::DtypeMismatch, op, ": ", what, " has dtype ", dtypeName(t.dtype), " but Whh has ",
         dtypeName(Whh.dtype), "; convert it with .cast('", dtypeName(Whh.dtype), "')");
}

// Same device and dtype as Whh, and the expected shape.
void checkOperand(const char* op, const char* what, const Tensor& Whh, const Tensor& t, const Shape& shape,
                  const std::string& layout) {
  checkLike(op, what, Whh, t);
  if (t.shape != shape)
    fail(Code::ShapeMismatch, op, ": ", what, " has shape ", shapeStr(t.shape), "; expected ", layout, " = ",
         shapeStr(shape));
}

// Checks kind, Whh, xp, bhh and y0; T and B come from xp, H from Whh.
k::CellConfig configFor(const char* op, const std::string& kind, const Tensor& xp, const Tensor& Whh,
                        const Tensor* bhh, const Tensor& y0) {
  k::CellConfig cfg;
  cfg.kind = kindArg(op, kind);
  const int64_t gates = cfg.gatesPerUnit();
  if (!isFloating(Whh.dtype))
    fail(Code::DtypeMismatch, op, ": Whh has dtype ", dtypeName(Whh.dtype), "; expected float32 or float64");
  if (Whh.shape.size() != 2 || Whh.shape[1] < 1 || Whh.shape[0] != gates * Whh.shape[1]) {
    const int64_t H = Whh.shape.size() == 2 ? Whh.shape[1] : 0;
    if (H < 1)
      fail(Code::ShapeMismatch, op, ": Whh has shape ", shapeStr(Whh.shape), "; expected [", gatesText(cfg.kind),
           ", H] with the hidden size H >= 1 for ", kindName(cfg.kind));
    fail(Code::ShapeMismatch, op, ": Whh has shape ", shapeStr(Whh.shape), "; expected [", gatesText(cfg.kind),
         ", H] = ", shapeStr({gates * H, H}), " for ", kindName(cfg.kind));
  }
  cfg.H = Whh.shape[1];
  const int64_t G = cfg.G(), n = cfg.n();
  const std::string gLayout = std::string("[T, B, ") + gatesText(cfg.kind) + "]";
  checkLike(op, "xp", Whh, xp);
  if (xp.shape.size() != 3 || xp.shape[2] != G)
    fail(Code::ShapeMismatch, op, ": xp has shape ", shapeStr(xp.shape), "; expected ", gLayout, " with ",
         gatesText(cfg.kind), " = ", G, " for ", kindName(cfg.kind), " of hidden size ", cfg.H);
  cfg.T = xp.shape[0];
  cfg.B = xp.shape[1];
  if (bhh) checkOperand(op, "bhh", Whh, *bhh, {G}, std::string("[") + gatesText(cfg.kind) + "]");
  checkOperand(op, "y0", Whh, y0, {cfg.B, n}, std::string("[B, ") + stateText(cfg.kind) + "]");
  return cfg;
}

CellInputs inputsOf(const Tensor& xp, const Tensor& Whh, const Tensor* bhh, const Tensor& y0, const Tensor* y) {
  CellInputs in;
  in.xp = xp.data();
  in.Whh = Whh.data();
  in.bhh = bhh ? bhh->data() : nullptr;
  in.y0 = y0.data();
  in.y = y ? y->data() : nullptr;
  return in;
}

std::string stateLayout(const k::CellConfig& cfg) {
  return std::string("[T, B, ") + stateText(cfg.kind) + "]";
}

}  // namespace

CellLinearization cellLinearize(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                                const Tensor& y0, const Tensor& y, const std::string& jacobian) {
  const k::CellConfig cfg = configFor(kLinearize, kind, xp, Whh, bhh, y0);
  const k::CellJacobian jac = jacobianArg(kLinearize, jacobian);
  const Shape seq{cfg.T, cfg.B, cfg.n()};
  checkOperand(kLinearize, "y", Whh, y, seq, stateLayout(cfg));
  const Device& dev = Whh.device();
  CellLinearization r;
  r.f = emptyTensor(seq, Whh.dtype, dev);
  if (jac == k::CellJacobian::Dense) r.J = emptyTensor({cfg.T, cfg.B, cfg.n(), cfg.n()}, Whh.dtype, dev);
  if (jac == k::CellJacobian::Diagonal) r.J = emptyTensor(seq, Whh.dtype, dev);
  if (jac != k::CellJacobian::None) r.bOff = emptyTensor(seq, Whh.dtype, dev);
  if (cfg.T > 0 && cfg.B > 0)
    backendFor(dev).cellLinearize(dev, Whh.dtype, cfg, jac, inputsOf(xp, Whh, bhh, y0, &y), r.f->data(),
                                  r.J ? r.J->data() : nullptr, r.bOff ? r.bOff->data() : nullptr);
  return r;
}

TensorPtr cellSequential(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                         const Tensor& y0) {
  const k::CellConfig cfg = configFor(kSequential, kind, xp, Whh, bhh, y0);
  const Device& dev = Whh.device();
  TensorPtr y = emptyTensor({cfg.T, cfg.B, cfg.n()}, Whh.dtype, dev);
  if (cfg.T > 0 && cfg.B > 0)
    backendFor(dev).cellSequential(dev, Whh.dtype, cfg, inputsOf(xp, Whh, bhh, y0, nullptr), y->data());
  return y;
}

CellGrads cellBackward(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                       const Tensor& y0, const Tensor& y, const Tensor& g, bool adjoint) {
  const k::CellConfig cfg = configFor(kBackward, kind, xp, Whh, bhh, y0);
  const Shape seq{cfg.T, cfg.B, cfg.n()};
  checkOperand(kBackward, "y (the solution)", Whh, y, seq, stateLayout(cfg));
  checkOperand(kBackward, adjoint ? "the adjoint λ" : "the gradient of y", Whh, g, seq, stateLayout(cfg));
  const Device& dev = Whh.device();
  CellGrads r;
  r.gxp = emptyTensor(xp.shape, Whh.dtype, dev);
  r.ghh = emptyTensor(xp.shape, Whh.dtype, dev);
  if (cfg.T == 0) {
    // y does not depend on y0 when there are no steps.
    r.gy0 = full(y0.shape, Whh.dtype, dev, 0.0);
    return r;
  }
  r.gy0 = emptyTensor(y0.shape, Whh.dtype, dev);
  if (cfg.B > 0)
    backendFor(dev).cellBackward(dev, Whh.dtype, cfg, inputsOf(xp, Whh, bhh, y0, &y), g.data(), adjoint,
                                 r.gxp->data(), r.ghh->data(), r.gy0->data());
  return r;
}

TensorPtr cellDeerAdjoint(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                          const Tensor& y0, const Tensor& y, const Tensor& g, int maxSegments) {
  const k::CellConfig cfg = configFor(kAdjoint, kind, xp, Whh, bhh, y0);
  if (maxSegments < 0)
    fail(Code::InvalidArgument, kAdjoint, ": maxSegments must be 0 (as many as fill the device) or more; got ",
         maxSegments);
  const Shape seq{cfg.T, cfg.B, cfg.n()};
  checkOperand(kAdjoint, "y (the solution)", Whh, y, seq, stateLayout(cfg));
  checkOperand(kAdjoint, "the gradient of y", Whh, g, seq, stateLayout(cfg));
  const Device& dev = Whh.device();
  if (dev.type == DeviceType::Cuda && cfg.n() > k::kDeerFusedMaxDenseN)
    fail(Code::InvalidArgument, kAdjoint, ": on CUDA the fused adjoint takes states of at most ",
         k::kDeerFusedMaxDenseN, " values; got n = ", cfg.n(), " for ", kindName(cfg.kind), " of hidden size ", cfg.H,
         " (use the reverse scan, deer.scan's backward)");
  TensorPtr lam = emptyTensor(seq, Whh.dtype, dev);
  if (cfg.T > 0 && cfg.B > 0)
    backendFor(dev).cellDeerAdjoint(dev, Whh.dtype, cfg, inputsOf(xp, Whh, bhh, y0, &y), g.data(), lam->data(),
                                    maxSegments);
  return lam;
}

CellDeerSolution cellDeerSolve(const std::string& kind, const Tensor& xp, const Tensor& Whh, const Tensor* bhh,
                               const Tensor& y0, const Tensor& guess, const std::string& jacobian,
                               const k::DeerFusedParams& params) {
  const k::CellConfig cfg = configFor(kSolve, kind, xp, Whh, bhh, y0);
  const k::CellJacobian jac = jacobianArg(kSolve, jacobian);
  if (jac == k::CellJacobian::None)
    fail(Code::InvalidArgument, kSolve, ": jacobian must be 'dense' (deer) or 'diagonal' (quasi); got 'none'");
  const bool dense = jac == k::CellJacobian::Dense;
  checkOperand(kSolve, "the first guess", Whh, guess, {cfg.T, cfg.B, cfg.n()}, stateLayout(cfg));
  const auto finiteNonNegative = [](double v) { return v >= 0 && v < HUGE_VAL; };
  if (!finiteNonNegative(params.atol) || !finiteNonNegative(params.rtol))
    fail(Code::InvalidArgument, kSolve, ": atol and rtol must be finite and >= 0; got atol ", params.atol, ", rtol ",
         params.rtol);
  if (params.maxSegments < 0)
    fail(Code::InvalidArgument, kSolve, ": maxSegments must be 0 (as many as fill the device) or more; got ",
         params.maxSegments);
  if (params.maxIters < 0 || params.stallIters < 1 || !(params.growthFactor > 1) || !(params.stallFloor >= 0) ||
      !(params.eps > 0))
    fail(Code::InvalidArgument, kSolve, ": expected maxIters >= 0, stallIters >= 1, growthFactor > 1, stallFloor >= 0 ",
         "and eps > 0; got maxIters ", params.maxIters, ", stallIters ", params.stallIters, ", growthFactor ",
         params.growthFactor, ", stallFloor ", params.stallFloor, ", eps ", params.eps);
  const Device& dev = Whh.device();
  if (dev.type == DeviceType::Cuda) {
    if (dense && cfg.n() > k::kDeerFusedMaxDenseN)
      fail(Code::InvalidArgument, kSolve, ": on CUDA the fused dense solve takes states of at most ",
           k::kDeerFusedMaxDenseN, " values; got n = ", cfg.n(), " for ", kindName(cfg.kind), " of hidden size ",
           cfg.H, " (use the iteration by launches, or jacobian 'diagonal')");
    if (!dense && cfg.H > k::kDeerFusedMaxHidden)
      fail(Code::InvalidArgument, kSolve, ": on CUDA the fused quasi solve takes hidden sizes of at most ",
           k::kDeerFusedMaxHidden, "; got H = ", cfg.H, " for ", kindName(cfg.kind));
  }
  CellDeerSolution r;
  r.y = emptyTensor({cfg.T, cfg.B, cfg.n()}, Whh.dtype, dev);
  if (cfg.T == 0 || cfg.B == 0) {
    // Nothing to solve: every sequence has converged with no step (residual 0).
    const std::vector<double> rows(static_cast<size_t>(cfg.B * k::kDeerStatusWidth), 0.0);
    r.status = fromHost(rows.data(), rows.size() * sizeof(double), {cfg.B, k::kDeerStatusWidth}, DType::Float64, dev);
    return r;
  }
  r.status = emptyTensor({cfg.B, k::kDeerStatusWidth}, DType::Float64, dev);
  backendFor(dev).cellDeerSolve(dev, Whh.dtype, cfg, dense, params, inputsOf(xp, Whh, bhh, y0, nullptr), guess.data(),
                                r.y->data(), r.status->data());
  return r;
}

}  // namespace antler::ops
