#include "ops.h"

#include <cmath>
#include <algorithm>
#include <limits>

#include "error.h"

namespace antler::ops {

using kernels::BinaryOp;

const char* binaryName(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    case BinaryOp::Maximum: return "maximum";
    case BinaryOp::Minimum: return "minimum";
    case BinaryOp::Equal: return "equal";
    case BinaryOp::NotEqual: return "notEqual";
    case BinaryOp::Less: return "less";
    case BinaryOp::LessEqual: return "lessEqual";
    case BinaryOp::Greater: return "greater";
    case BinaryOp::GreaterEqual: return "greaterEqual";
    case BinaryOp::Pow: return "pow";
    case BinaryOp::Remainder: return "remainder";
    case BinaryOp::FloorDivide: return "floorDivide";
  }
  return "binary";
}

static void checkSameDevice(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device())
    fail(Code::DeviceMismatch, op, ": operands are on ", a.device().str(), " and ", b.device().str(),
         "; move one with .to('", a.device().str(), "')");
}

// float64 over float32 over int32: the cast that loses nothing.
static DType wider(DType a, DType b) {
  if (a == DType::Float64 || b == DType::Float64) return DType::Float64;
  if (a == DType::Float32 || b == DType::Float32) return DType::Float32;
  return a;
}

static void checkSameDtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype)
    fail(Code::DtypeMismatch, op, ": operands have dtypes ", dtypeName(a.dtype), " and ", dtypeName(b.dtype),
         "; convert one with .cast('", dtypeName(wider(a.dtype, b.dtype)), "')");
}

static void checkValueFitsDtype(const char* op, double value, DType dtype) {
  if (dtype != DType::Int32) return;
  if (!std::isfinite(value) || value != std::floor(value) || value < -2147483648.0 || value > 2147483647.0)
    fail(Code::InvalidArgument, op, ": value ", value, " is not representable as int32; expected an integer in [-2^31, 2^31)");
}

TensorPtr fromHost(const void* data, size_t bytes, const Shape& shape, DType dtype, const Device& device) {
  checkShape(shape, "tensor");
  const size_t expected = static_cast<size_t>(numelOf(shape)) * dtypeSize(dtype);
  if (bytes != expected)
    fail(Code::ShapeMismatch, "tensor: ", bytes / dtypeSize(dtype), " values were given for shape ", shapeStr(shape),
         ", which needs ", numelOf(shape));
  TensorPtr out = emptyTensor(shape, dtype, device);
  if (bytes) backendFor(device).copyFromHost(device, out->data(), data, bytes);
  return out;
}

void copyToHost(const Tensor& t, void* dst, size_t dstBytes) {
  if (dstBytes != t.bytes()) fail(Code::Internal, "dataSync: destination holds ", dstBytes, " bytes, tensor has ", t.bytes());
  if (dstBytes) backendFor(t.device()).copyToHost(t.device(), dst, t.data(), dstBytes);
}

TensorPtr full(const Shape& shape, DType dtype, const Device& device, double value) {
  checkShape(shape, "full");
  checkValueFitsDtype("full", value, dtype);
  TensorPtr out = emptyTensor(shape, dtype, device);
  if (out->numel()) backendFor(device).fill(device, out->data(), dtype, out->numel(), value);
  return out;
}

TensorPtr arange(double start, double stop, double step, DType dtype, const Device& device) {
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    fail(Code::InvalidArgument, "arange: start, stop and step must be finite numbers; got ", start, ", ", stop, ", ", step);
  if (step == 0) fail(Code::InvalidArgument, "arange: step must not be 0");
  const double count = std::ceil((stop - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  if (count > static_cast<double>(kMaxElements)) fail(Code::InvalidArgument, "arange: ", count, " elements is too many");
  checkValueFitsDtype("arange", start, dtype);
  checkValueFitsDtype("arange", step, dtype);
  if (n > 0) checkValueFitsDtype("arange", start + static_cast<double>(n - 1) * step, dtype);
  TensorPtr out = emptyTensor({n}, dtype, device);
  if (n) backendFor(device).arange(device, out->data(), dtype, n, start, step);
  return out;
}

TensorPtr random(const Shape& shape, DType dtype, const Device& device, const RandomSpec& spec) {
  const char* op = spec.normal ? "randn" : "rand";
  checkShape(shape, op);
  if (!std::isfinite(spec.a) || !std::isfinite(spec.b))
    fail(Code::InvalidArgument, op, ": distribution parameters must be finite; got ", spec.a, " and ", spec.b);
  if (spec.normal && dtype == DType::Int32) fail(Code::DtypeMismatch, "randn: dtype int32 is not supported; expected float32 or float64");
  if (spec.normal && spec.b < 0) fail(Code::InvalidArgument, "randn: stddev must be >= 0; got ", spec.b);
  if (!spec.normal && spec.b < spec.a) fail(Code::InvalidArgument, "rand: maxval ", spec.b, " is below minval ", spec.a);
  if (!spec.normal && dtype == DType::Int32) {
    checkValueFitsDtype("rand", spec.a, dtype);
    checkValueFitsDtype("rand", spec.b, dtype);
  }
  TensorPtr out = emptyTensor(shape, dtype, device);
  if (out->numel()) backendFor(device).random(device, out->data(), dtype, out->numel(), spec);
  return out;
}

TensorPtr clone(const Tensor& t) {
  TensorPtr out = emptyTensor(t.shape, t.dtype, t.device());
  if (t.bytes()) backendFor(t.device()).copy(t.device(), out->data(), t.data(), t.bytes());
  return out;
}

TensorPtr to(const Tensor& t, const Device& device) {
  if (device == t.device()) return clone(t);
  TensorPtr out = emptyTensor(t.shape, t.dtype, device);
  const size_t bytes = t.bytes();
  if (!bytes) return out;
  if (!t.device().isCuda()) {
    backendFor(device).copyFromHost(device, out->data(), t.data(), bytes);
  } else if (!device.isCuda()) {
    backendFor(t.device()).copyToHost(t.device(), out->data(), t.data(), bytes);
  } else {
    // Between two GPUs through host memory: correct everywhere, peer access or not.
    std::vector<char> staging(bytes);
    backendFor(t.device()).copyToHost(t.device(), staging.data(), t.data(), bytes);
    backendFor(device).copyFromHost(device, out->data(), staging.data(), bytes);
  }
  return out;
}

TensorPtr cast(const Tensor& t, DType dtype) {
  TensorPtr out = emptyTensor(t.shape, dtype, t.device());
  if (t.numel()) backendFor(t.device()).cast(t.device(), out->data(), dtype, t.data(), t.dtype, t.numel());
  return out;
}

TensorPtr reshape(const Tensor& t, const std::vector<int64_t>& requested) {
  if (requested.size() > 8) fail(Code::InvalidArgument, "reshape: ", requested.size(), " dims requested; at most 8 are supported");
  Shape shape(requested.begin(), requested.end());
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) fail(Code::InvalidArgument, "reshape: shape ", shapeStr(shape), " has more than one -1");
      inferred = static_cast<int>(i);
    } else if (shape[i] < 0) {
      fail(Code::InvalidArgument, "reshape: shape ", shapeStr(shape), " has a negative dimension");
    } else {
      if (shape[i] != 0 && known > kMaxElements / shape[i]) fail(Code::InvalidArgument, "reshape: shape ", shapeStr(shape), " is too large");
      known *= shape[i];
    }
  }
  const int64_t n = t.numel();
  if (inferred >= 0) {
    if (known == 0 || n % known != 0)
      fail(Code::ShapeMismatch, "reshape: cannot infer -1 in ", shapeStr(shape), " for a tensor of shape ", shapeStr(t.shape),
           " (", n, " elements)");
    shape[inferred] = n / known;
  } else if (known != n) {
    fail(Code::ShapeMismatch, "reshape: shape ", shapeStr(shape), " holds ", known, known == 1 ? " element" : " elements", "; the tensor of shape ",
         shapeStr(t.shape), " has ", n);
  }
  auto out = std::make_shared<Tensor>(t);
  out->shape = shape;
  return out;
}

// Strides (in elements) of `in` as seen from `outShape`, 0 along broadcast dims.
static void broadcastStrides(const Shape& in, const Shape& outShape, int64_t* strides) {
  const size_t offset = outShape.size() - in.size();
  int64_t stride = 1;
  for (size_t i = outShape.size(); i-- > 0;) {
    if (i < offset) { strides[i] = 0; continue; }
    const int64_t d = in[i - offset];
    strides[i] = d == 1 ? 0 : stride;
    stride *= d;
  }
}

// The indexer reading a and b (broadcastable to outShape) at each output index.
static kernels::BroadcastIndexer broadcastIndexer(const Shape& a, const Shape& b, const Shape& outShape) {
  kernels::BroadcastIndexer idx{};
  idx.ndim = static_cast<int>(outShape.size());
  for (int i = 0; i < idx.ndim; ++i) idx.shape[i] = outShape[i];
  broadcastStrides(a, outShape, idx.strideA);
  broadcastStrides(b, outShape, idx.strideB);
  return idx;
}

TensorPtr binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binaryName(op);
  checkSameDevice(name, a, b);
  checkSameDtype(name, a, b);
  if (op == BinaryOp::Div && !isFloating(a.dtype))
    fail(Code::DtypeMismatch, "div: int32 operands are not supported; cast to float32 or float64 first");
  const Shape outShape = broadcastShapes(a.shape, b.shape, name);
  checkShape(outShape, name);  // [2^30, 1] + [1, 2^30] would be 2^60 elements
  TensorPtr out = emptyTensor(outShape, a.dtype, a.device());
  const int64_t n = out->numel();
  if (!n) return out;
  Backend& be = backendFor(a.device());
  if (a.shape == b.shape) {
    be.binary(a.device(), op, a.dtype, out->data(), a.data(), b.data(), n, nullptr);
    return out;
  }
  const kernels::BroadcastIndexer idx = broadcastIndexer(a.shape, b.shape, outShape);
  be.binary(a.device(), op, a.dtype, out->data(), a.data(), b.data(), n, &idx);
  return out;
}

TensorPtr binaryScalar(BinaryOp op, const Tensor& a, double s, bool scalarFirst) {
  const char* name = binaryName(op);
  if (op == BinaryOp::Div && !isFloating(a.dtype))
    fail(Code::DtypeMismatch, "div: int32 operands are not supported; cast to float32 or float64 first");
  checkValueFitsDtype(name, s, a.dtype);
  TensorPtr out = emptyTensor(a.shape, a.dtype, a.device());
  if (out->numel()) backendFor(a.device()).binaryScalar(a.device(), op, a.dtype, out->data(), a.data(), s, scalarFirst, out->numel());
  return out;
}

TensorPtr matmul(const Tensor& a, const Tensor& b, bool transA, bool transB) {
  checkSameDevice("matmul", a, b);
  checkSameDtype("matmul", a, b);
  if (!isFloating(a.dtype)) fail(Code::DtypeMismatch, "matmul: dtype ", dtypeName(a.dtype), " is not supported; expected float32 or float64");
  if (a.shape.empty() || b.shape.empty())
    fail(Code::ShapeMismatch, "matmul: operands must have at least 1 dim; got shapes ", shapeStr(a.shape), " and ", shapeStr(b.shape));
  if ((transA && a.shape.size() < 2) || (transB && b.shape.size() < 2))
    fail(Code::InvalidArgument, "matmul: transpose flags need 2-D or higher operands; got shapes ", shapeStr(a.shape), " and ", shapeStr(b.shape));
  // Promote vectors as PyTorch does, and remember to drop the added dim.
  const bool aVec = a.shape.size() == 1, bVec = b.shape.size() == 1;
  Shape as = aVec ? Shape{1, a.shape[0]} : a.shape;
  Shape bs = bVec ? Shape{b.shape[0], 1} : b.shape;
  const int64_t m = transA ? as[as.size() - 1] : as[as.size() - 2];
  const int64_t ka = transA ? as[as.size() - 2] : as[as.size() - 1];
  const int64_t kb = transB ? bs[bs.size() - 1] : bs[bs.size() - 2];
  const int64_t n = transB ? bs[bs.size() - 2] : bs[bs.size() - 1];
  if (ka != kb)
    fail(Code::ShapeMismatch, "matmul: inner dimensions differ: ", shapeStr(a.shape), (transA ? "ᵀ" : ""), " @ ", shapeStr(b.shape),
         (transB ? "ᵀ" : ""), " (", ka, " vs ", kb, ")");
  const Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  const Shape batchShape = broadcastShapes(aBatch, bBatch, "matmul");
  Shape outShape = batchShape;
  if (!aVec) outShape.push_back(m);
  if (!bVec) outShape.push_back(n);
  checkShape(outShape, "matmul");
  TensorPtr out = emptyTensor(outShape, a.dtype, a.device());
  if (!out->numel()) return out;
  MatmulArgs args;
  args.a = a.data(); args.b = b.data(); args.c = out->data();
  args.m = m; args.n = n; args.k = ka;
  args.transA = transA; args.transB = transB;
  args.batch = numelOf(batchShape);
  kernels::BroadcastIndexer& idx = args.batchIndex;
  idx.ndim = static_cast<int>(batchShape.size());
  for (int i = 0; i < idx.ndim; ++i) idx.shape[i] = batchShape[i];
  broadcastStrides(aBatch, batchShape, idx.strideA);
  broadcastStrides(bBatch, batchShape, idx.strideB);
  for (int i = 0; i < idx.ndim; ++i) { idx.strideA[i] *= m * ka; idx.strideB[i] *= ka * n; }
  if (ka == 0) {
    backendFor(a.device()).fill(a.device(), out->data(), a.dtype, out->numel(), 0.0);
    return out;
  }
  // Two vectors: a dot product, one pass accumulated in double, not a 1×1 GEMM.
  if (aVec && bVec) {
    backendFor(a.device()).dot(a.device(), a.dtype, a.data(), b.data(), ka, out->data());
    return out;
  }
  backendFor(a.device()).matmul(a.device(), a.dtype, args);
  return out;
}

TensorPtr sumAll(const Tensor& t) {
  TensorPtr out = emptyTensor({}, t.dtype, t.device());
  if (!t.numel()) {
    backendFor(t.device()).fill(t.device(), out->data(), t.dtype, 1, 0.0);
    return out;
  }
  backendFor(t.device()).sumAll(t.device(), t.dtype, t.data(), t.numel(), out->data());
  return out;
}

}  // namespace antler::ops

// ===================== ops with gradients =====================

namespace antler::ops {

using kernels::ReduceOp;
using kernels::UnaryOp;

const char* unaryName(UnaryOp op) {
  static const char* names[] = {"neg", "exp", "log", "tanh", "sigmoid", "relu", "softplus",
                                "gelu", "sqrt", "abs", "pow", "clamp", "square", "reciprocal",
                                "sin", "cos", "log1p", "expm1", "rsqrt", "sign", "floor", "ceil",
                                "round", "leakyRelu", "elu", "silu", "erf", "erfc", "tan", "asin", "acos",
                                "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "trunc", "log2", "log10",
                                "exp2"};
  static_assert(sizeof(names) / sizeof(names[0]) == kernels::kUnaryOpCount, "a name for every UnaryOp");
  const int i = static_cast<int>(op);
  return i >= 0 && i < kernels::kUnaryOpCount ? names[i] : "unary";
}

static bool unarySupportsInt(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Clamp || op == UnaryOp::Square ||
         op == UnaryOp::Sign || op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Round ||
         op == UnaryOp::Trunc;
}

static void checkSameShape(const char* op, const char* what, const Tensor& a, const Tensor& b) {
  if (a.shape != b.shape)
    fail(Code::ShapeMismatch, op, ": ", what, " has shape ", shapeStr(b.shape), "; expected ", shapeStr(a.shape));
}

static void checkLike(const char* op, const char* what, const Tensor& ref, const Tensor& t) {
  checkSameDevice(op, ref, t);
  checkSameDtype(op, ref, t);
  checkSameShape(op, what, ref, t);
}

static void checkFloating(const char* op, const Tensor& t) {
  if (!isFloating(t.dtype))
    fail(Code::DtypeMismatch, op, ": dtype ", dtypeName(t.dtype), " is not supported; expected float32 or float64");
}

// A scalar takes axis 0 or -1 (PyTorch's wrap_dim treats rank 0 as rank 1): callers keep their
// per-axis flags for at least one axis.
static int64_t normalizeAxis(int64_t axis, size_t rank, const char* op) {
  const int64_t r = static_cast<int64_t>(rank), w = r == 0 ? 1 : r;
  if (axis < -w || axis >= w)
    fail(Code::InvalidArgument, op, ": axis ", axis, " is out of range for a tensor of rank ", r);
  return axis < 0 ? axis + w : axis;
}

static std::vector<int64_t> contiguousStrides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) { st[i] = acc; acc *= s[i]; }
  return st;
}

TensorPtr unary(UnaryOp op, const Tensor& x, double p0, double p1) {
  const char* name = unaryName(op);
  if (!isFloating(x.dtype) && !unarySupportsInt(op))
    fail(Code::DtypeMismatch, name, ": dtype int32 is not supported; expected float32 or float64");
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (out->numel()) backendFor(x.device()).unary(x.device(), op, x.dtype, out->data(), x.data(), x.numel(), p0, p1);
  return out;
}

TensorPtr unaryBackward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy, double p0, double p1) {
  const char* name = unaryName(op);
  checkFloating(name, gy);
  checkLike(name, "y", x, y);
  checkLike(name, "gradient", x, gy);
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (out->numel())
    backendFor(x.device()).unaryBackward(x.device(), op, x.dtype, out->data(), x.data(), y.data(), gy.data(), x.numel(), p0, p1);
  return out;
}

const char* pointwiseName(kernels::PointwiseOp op) {
  static const char* names[] = {"lgamma", "polygamma", "erfinv", "sinc", "signbit", "atan2",
                                "hypot", "fmod", "copysign", "xlogy", "logaddexp", "logaddexp2"};
  static_assert(sizeof(names) / sizeof(names[0]) == kernels::kPointwiseOpCount, "a name for every PointwiseOp");
  const int i = static_cast<int>(op);
  return i >= 0 && i < kernels::kPointwiseOpCount ? names[i] : "pointwise";
}

TensorPtr pointwise(kernels::PointwiseOp op, const Tensor& a, const Tensor* b, int p) {
  const char* name = pointwiseName(op);
  checkFloating(name, a);
  if (kernels::pointwiseIsBinary(op) != (b != nullptr))
    fail(Code::InvalidArgument, name, ": expected ", b ? "one operand" : "two operands");
  if (p < 0 || p > 1000) fail(Code::InvalidArgument, name, ": order ", p, " is out of range; expected 0 to 1000");
  if (!b || b->shape == a.shape) {
    if (b) checkLike(name, "the second operand", a, *b);
    TensorPtr out = emptyTensor(a.shape, a.dtype, a.device());
    if (out->numel())
      backendFor(a.device()).pointwise(a.device(), op, a.dtype, out->data(), a.data(), b ? b->data() : nullptr, a.numel(), p, nullptr);
    return out;
  }
  // Broadcast operands (a 0-d one for a number) are read through their strides, not expanded.
  checkSameDevice(name, a, *b);
  checkSameDtype(name, a, *b);
  const Shape outShape = broadcastShapes(a.shape, b->shape, name);
  checkShape(outShape, name);
  TensorPtr out = emptyTensor(outShape, a.dtype, a.device());
  const int64_t n = out->numel();
  if (!n) return out;
  const kernels::BroadcastIndexer idx = broadcastIndexer(a.shape, b->shape, outShape);
  backendFor(a.device()).pointwise(a.device(), op, a.dtype, out->data(), a.data(), b->data(), n, p, &idx);
  return out;
}

TensorPtr reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepDims) {
  const char* name = op == ReduceOp::Sum ? "sum" : op == ReduceOp::Max ? "max" : op == ReduceOp::Min ? "min" : "prod";
  const size_t rank = x.shape.size();
  std::vector<bool> reduced(std::max<size_t>(rank, 1), axes.empty());  // a scalar's one axis too
  for (int64_t a : axes) {
    const int64_t ax = normalizeAxis(a, rank, name);
    if (reduced[ax]) fail(Code::InvalidArgument, name, ": axis ", a, " is listed twice");
    reduced[ax] = true;
  }
  const std::vector<int64_t> strides = contiguousStrides(x.shape);
  kernels::ReduceIndexer idx{};
  Shape outShape;
  int64_t outN = 1, redN = 1;
  // Extent-1 dims are dropped, and a dim is merged into the previous dim of its kind (reduced or kept)
  // when that one's stride is its stride times its extent: the two then walk memory as one dim, and
  // the merged dim's linear index is theirs (row-major), so the order in which the kernels visit the
  // elements, and each output's position, stay as they were. The kernels then take long runs (a full
  // sum of [32, 512, 7, 7] is one run of 802816, not runs of 7). Any dims separating two of a kind
  // keep them apart: a reduced dim between two kept ones has a stride that breaks the condition.
  const auto add = [](int& nd, int64_t* shp, int64_t* str, int64_t extent, int64_t stride) {
    if (extent == 1) return;
    if (nd > 0 && str[nd - 1] == stride * extent) {
      shp[nd - 1] *= extent;
      str[nd - 1] = stride;
      return;
    }
    shp[nd] = extent;
    str[nd++] = stride;
  };
  for (size_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      add(idx.redNdim, idx.redShape, idx.redStride, x.shape[d], strides[d]);
      redN *= x.shape[d];
      if (keepDims) outShape.push_back(1);
    } else {
      add(idx.outNdim, idx.outShape, idx.outStride, x.shape[d], strides[d]);
      outN *= x.shape[d];
      outShape.push_back(x.shape[d]);
    }
  }
  // An empty input may have dims whose product is past 2^40 (or int64): reducing over its 0 leaves them.
  checkShape(outShape, name);
  const bool identity = op == ReduceOp::Sum || op == ReduceOp::Prod;  // max/min have none
  if (!identity && redN == 0 && outN > 0)
    fail(Code::InvalidArgument, name, ": cannot reduce over an empty axis (shape ", shapeStr(x.shape), ")");
  TensorPtr out = emptyTensor(outShape, x.dtype, x.device());
  if (!outN) return out;
  if (redN == 0) {
    backendFor(x.device()).fill(x.device(), out->data(), x.dtype, outN, op == ReduceOp::Prod ? 1.0 : 0.0);
    return out;
  }
  backendFor(x.device()).reduce(x.device(), op, x.dtype, out->data(), x.data(), outN, redN, idx);
  return out;
}

// Copies src (contiguous, shape `shape`) viewed through srcStrides into dst at dstStrides.
// Dims of extent 1 move nothing and are dropped; a dim whose strides in src and dst are
// both its inner neighbour's times that neighbour's extent is merged into it. The kernels
// then walk long innermost runs instead of recomputing an offset per element (a concat or
// slice along a last axis of extent 1, a stack of gates: 30× faster on the CPU).
static void stridedCopy(const Tensor& src, const void* srcData, void* dstData, const Shape& shape,
                        const std::vector<int64_t>& srcStrides, const std::vector<int64_t>& dstStrides) {
  const int64_t n = numelOf(shape);
  if (!n) return;
  kernels::StridedIndexer idx{};
  idx.ndim = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    const int k = idx.ndim - 1;
    if (k >= 0 && idx.srcStride[k] == srcStrides[i] * shape[i] && idx.dstStride[k] == dstStrides[i] * shape[i]) {
      idx.shape[k] *= shape[i];
      idx.srcStride[k] = srcStrides[i];
      idx.dstStride[k] = dstStrides[i];
      continue;
    }
    idx.shape[idx.ndim] = shape[i];
    idx.srcStride[idx.ndim] = srcStrides[i];
    idx.dstStride[idx.ndim] = dstStrides[i];
    ++idx.ndim;
  }
  if (idx.ndim == 0) {  // one element
    idx.ndim = 1;
    idx.shape[0] = 1;
    idx.srcStride[0] = idx.dstStride[0] = 0;
  }
  backendFor(src.device()).copyStrided(src.device(), src.dtype, dstData, srcData, n, idx);
}

TensorPtr permute(const Tensor& x, const std::vector<int64_t>& perm) {
  const size_t rank = x.shape.size();
  if (perm.size() != rank)
    fail(Code::InvalidArgument, "permute: ", perm.size(), " axes were given for a tensor of rank ", rank);
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> axes(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t a = normalizeAxis(perm[i], rank, "permute");
    if (seen[a]) fail(Code::InvalidArgument, "permute: axis ", perm[i], " appears twice");
    seen[a] = true;
    axes[i] = a;
  }
  const std::vector<int64_t> inStrides = contiguousStrides(x.shape);
  Shape outShape(rank);
  std::vector<int64_t> srcStrides(rank);
  for (size_t i = 0; i < rank; ++i) {
    outShape[i] = x.shape[axes[i]];
    srcStrides[i] = inStrides[axes[i]];
  }
  TensorPtr out = emptyTensor(outShape, x.dtype, x.device());
  stridedCopy(x, x.data(), out->data(), outShape, srcStrides, contiguousStrides(outShape));
  return out;
}

// out[i] = x[i with every listed axis reversed]: a strided copy with negative
// source strides, starting from the last element along those axes.
TensorPtr flip(const Tensor& x, const std::vector<int64_t>& axesIn) {
  const size_t rank = x.shape.size();
  std::vector<bool> flipped(std::max<size_t>(rank, 1), false);  // flipping a scalar is the scalar
  for (int64_t a : axesIn) {
    const int64_t ax = normalizeAxis(a, rank, "flip");
    if (flipped[ax]) fail(Code::InvalidArgument, "flip: axis ", a, " appears twice");
    flipped[ax] = true;
  }
  std::vector<int64_t> strides = contiguousStrides(x.shape);
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t offset = 0;
  for (size_t i = 0; i < rank; ++i)
    if (flipped[i]) {
      offset += (x.shape[i] - 1) * strides[i];
      strides[i] = -strides[i];
    }
  const char* src = static_cast<const char*>(x.data()) + offset * static_cast<int64_t>(dtypeSize(x.dtype));
  stridedCopy(x, src, out->data(), x.shape, strides, contiguousStrides(x.shape));
  return out;
}

static void checkSliceArgs(const Shape& shape, const std::vector<int64_t>& begin, std::vector<int64_t>& size, const char* op) {
  if (begin.size() != shape.size() || size.size() != shape.size())
    fail(Code::InvalidArgument, op, ": begin and size need ", shape.size(), " entries for shape ", shapeStr(shape), "; got ",
         begin.size(), " and ", size.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (begin[i] < 0 || begin[i] > shape[i])
      fail(Code::InvalidArgument, op, ": begin[", i, "] = ", begin[i], " is outside [0, ", shape[i], "]");
    if (size[i] == -1) size[i] = shape[i] - begin[i];
    if (size[i] < 0 || begin[i] + size[i] > shape[i])
      fail(Code::InvalidArgument, op, ": size[", i, "] = ", size[i], " from begin ", begin[i], " runs past dim ", shape[i]);
  }
}

TensorPtr slice(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& sizeIn) {
  std::vector<int64_t> size = sizeIn;
  checkSliceArgs(x.shape, begin, size, "slice");
  const std::vector<int64_t> strides = contiguousStrides(x.shape);
  int64_t offset = 0;
  for (size_t i = 0; i < begin.size(); ++i) offset += begin[i] * strides[i];
  Shape outShape(size.begin(), size.end());
  TensorPtr out = emptyTensor(outShape, x.dtype, x.device());
  if (!out->numel()) return out;
  const char* src = static_cast<const char*>(x.data()) + offset * static_cast<int64_t>(dtypeSize(x.dtype));
  stridedCopy(x, src, out->data(), outShape, strides, contiguousStrides(outShape));
  return out;
}

TensorPtr sliceBackward(const Tensor& g, const Shape& shape, const std::vector<int64_t>& begin) {
  checkShape(shape, "sliceBackward");
  std::vector<int64_t> size(g.shape.begin(), g.shape.end());
  checkSliceArgs(shape, begin, size, "sliceBackward");
  TensorPtr out = emptyTensor(shape, g.dtype, g.device());
  if (!out->numel()) return out;
  backendFor(g.device()).fill(g.device(), out->data(), g.dtype, out->numel(), 0.0);
  const std::vector<int64_t> strides = contiguousStrides(shape);
  int64_t offset = 0;
  for (size_t i = 0; i < begin.size(); ++i) offset += begin[i] * strides[i];
  char* dst = static_cast<char*>(out->data()) + offset * static_cast<int64_t>(dtypeSize(g.dtype));
  stridedCopy(g, g.data(), dst, g.shape, contiguousStrides(g.shape), strides);
  return out;
}

TensorPtr concat(const std::vector<const Tensor*>& xs, int64_t axisIn) {
  if (xs.empty()) fail(Code::InvalidArgument, "concat: needs at least one tensor");
  const Tensor& first = *xs[0];
  if (first.shape.empty()) fail(Code::InvalidArgument, "concat: scalars cannot be concatenated; reshape them to [1] first");
  const int64_t axis = normalizeAxis(axisIn, first.shape.size(), "concat");
  Shape outShape = first.shape;
  outShape[axis] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& t = *xs[k];
    checkSameDevice("concat", first, t);
    checkSameDtype("concat", first, t);
    if (t.shape.size() != first.shape.size())
      fail(Code::ShapeMismatch, "concat: tensor ", k, " has shape ", shapeStr(t.shape), ", rank differs from ", shapeStr(first.shape));
    for (size_t d = 0; d < t.shape.size(); ++d)
      if (static_cast<int64_t>(d) != axis && t.shape[d] != first.shape[d])
        fail(Code::ShapeMismatch, "concat: tensor ", k, " has shape ", shapeStr(t.shape), "; all dims but axis ", axis,
             " must match ", shapeStr(first.shape));
    outShape[axis] += t.shape[axis];
  }
  checkShape(outShape, "concat");
  TensorPtr out = emptyTensor(outShape, first.dtype, first.device());
  const std::vector<int64_t> outStrides = contiguousStrides(outShape);
  int64_t at = 0;
  for (const Tensor* t : xs) {
    char* dst = static_cast<char*>(out->data()) + at * outStrides[axis] * static_cast<int64_t>(dtypeSize(first.dtype));
    if (t->numel()) stridedCopy(*t, t->data(), dst, t->shape, contiguousStrides(t->shape), outStrides);
    at += t->shape[axis];
  }
  return out;
}

TensorPtr broadcastTo(const Tensor& x, const Shape& shape) {
  checkShape(shape, "broadcastTo");
  if (broadcastShapes(x.shape, shape, "broadcastTo") != shape)
    fail(Code::ShapeMismatch, "broadcastTo: shape ", shapeStr(x.shape), " cannot be broadcast to ", shapeStr(shape));
  TensorPtr out = emptyTensor(shape, x.dtype, x.device());
  if (!out->numel()) return out;
  std::vector<int64_t> srcStrides(shape.size());
  broadcastStrides(x.shape, shape, srcStrides.data());
  stridedCopy(x, x.data(), out->data(), shape, srcStrides, contiguousStrides(shape));
  return out;
}

TensorPtr where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  checkSameDevice("where", a, b);
  checkSameDevice("where", a, cond);
  checkSameDtype("where", a, b);
  const Shape ab = broadcastShapes(a.shape, b.shape, "where");
  const Shape outShape = broadcastShapes(cond.shape, ab, "where");
  checkShape(outShape, "where");  // the result's, not a's and b's alone (an empty cond keeps it empty)
  TensorPtr out = emptyTensor(outShape, a.dtype, a.device());
  const int64_t n = out->numel();
  if (!n) return out;
  kernels::TernaryIndexer idx{};
  idx.ndim = static_cast<int>(outShape.size());
  for (int i = 0; i < idx.ndim; ++i) idx.shape[i] = outShape[i];
  broadcastStrides(cond.shape, outShape, idx.strideC);
  broadcastStrides(a.shape, outShape, idx.strideA);
  broadcastStrides(b.shape, outShape, idx.strideB);
  if (idx.ndim == 0) { idx.ndim = 1; idx.shape[0] = 1; idx.strideC[0] = idx.strideA[0] = idx.strideB[0] = 0; }
  backendFor(a.device()).where(a.device(), a.dtype, cond.dtype, out->data(), cond.data(), a.data(), b.data(), n, idx);
  return out;
}

static void softmaxDims(const Shape& s, int64_t axis, int64_t& outer, int64_t& dim, int64_t& inner) {
  outer = 1; inner = 1;
  dim = s.empty() ? 1 : s[axis];
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
}

TensorPtr softmax(const Tensor& x, int64_t axisIn, bool log) {
  const char* name = log ? "logSoftmax" : "softmax";
  checkFloating(name, x);
  const int64_t axis = x.shape.empty() ? 0 : normalizeAxis(axisIn, x.shape.size(), name);
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t outer, dim, inner;
  softmaxDims(x.shape, axis, outer, dim, inner);
  backendFor(x.device()).softmax(x.device(), x.dtype, log, out->data(), x.data(), outer, dim, inner);
  return out;
}

TensorPtr softmaxBackward(const Tensor& y, const Tensor& gy, int64_t axisIn, bool log) {
  const char* name = log ? "logSoftmax" : "softmax";
  checkFloating(name, y);
  checkLike(name, "gradient", y, gy);
  const int64_t axis = y.shape.empty() ? 0 : normalizeAxis(axisIn, y.shape.size(), name);
  TensorPtr out = emptyTensor(y.shape, y.dtype, y.device());
  if (!out->numel()) return out;
  int64_t outer, dim, inner;
  softmaxDims(y.shape, axis, outer, dim, inner);
  backendFor(y.device()).softmaxBackward(y.device(), y.dtype, log, out->data(), y.data(), gy.data(), outer, dim, inner);
  return out;
}

TensorPtr cumulative(kernels::CumOp op, const Tensor& x, int64_t axisIn, bool exclusive, bool reverse) {
  const char* name = op == kernels::CumOp::Prod ? "cumprod" : "cumsum";
  checkFloating(name, x);
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), name);
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  backendFor(x.device()).cumulative(x.device(), x.dtype, op, out->data(), x.data(), outer, n, inner, exclusive,
                                    reverse);
  return out;
}

TensorPtr cumprodBackward(const Tensor& x, const Tensor& gy, int64_t axisIn, bool exclusive, bool reverse) {
  checkFloating("cumprod", x);
  checkLike("cumprod", "gradient", x, gy);
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), "cumprod");
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  backendFor(x.device()).cumprodBackward(x.device(), x.dtype, out->data(), x.data(), gy.data(), outer, n, inner,
                                         exclusive, reverse);
  return out;
}

std::pair<TensorPtr, TensorPtr> cumExtreme(const Tensor& x, int64_t axisIn, bool largest) {
  const char* name = largest ? "cummax" : "cummin";
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), name);
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  if (n > std::numeric_limits<int32_t>::max())
    fail(Code::InvalidArgument, name, ": axis ", axis, " has ", n, " elements; int32 indices reach 2^31 − 1");
  TensorPtr values = emptyTensor(x.shape, x.dtype, x.device());
  TensorPtr indices = emptyTensor(x.shape, DType::Int32, x.device());
  if (!values->numel()) return {values, indices};
  backendFor(x.device()).cumExtreme(x.device(), x.dtype, values->data(), static_cast<int32_t*>(indices->data()),
                                    x.data(), outer, n, inner, largest);
  return {values, indices};
}

TensorPtr logCumSumExp(const Tensor& x, int64_t axisIn, bool reverse) {
  checkFloating("logcumsumexp", x);
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), "logcumsumexp");
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  backendFor(x.device()).logCumSumExp(x.device(), x.dtype, out->data(), x.data(), outer, n, inner, reverse);
  return out;
}

TensorPtr logCumSumExpBackward(const Tensor& x, const Tensor& y, const Tensor& gy, int64_t axisIn, bool reverse) {
  checkFloating("logcumsumexp", x);
  checkLike("logcumsumexp", "output", x, y);
  checkLike("logcumsumexp", "gradient", x, gy);
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), "logcumsumexp");
  TensorPtr out = emptyTensor(x.shape, x.dtype, x.device());
  if (!out->numel()) return out;
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  backendFor(x.device()).logCumSumExpBackward(x.device(), x.dtype, out->data(), x.data(), y.data(), gy.data(), outer, n,
                                              inner, reverse);
  return out;
}

// The checked geometry of a depthwise convolution from x's shape [N, C, in…], w's [C·m, 1, k…] and y's [N, C·m, out…]
// (k = 1…3 spatial axes, laid into the last k of three). Per-axis sizes and parameters stay below 2^31 so that
// o·s + a·d never overflows int64.
static kernels::DepthwiseGeometry depthwiseGeometry(const char* op, const Shape& xs, const Shape& ws, const Shape& ys,
                                                    const std::vector<int64_t>& stride,
                                                    const std::vector<int64_t>& padding,
                                                    const std::vector<int64_t>& dilation) {
  const size_t r = xs.size();
  if (r < 3 || r > 5)
    fail(Code::ShapeMismatch, op, ": input has shape ", shapeStr(xs), "; expected [N, C, ...spatial] with 1 to 3 spatial axes");
  const size_t k = r - 2;
  if (ws.size() != r || ws[1] != 1)
    fail(Code::ShapeMismatch, op, ": weight has shape ", shapeStr(ws), "; expected [C·m, 1, ...kernel] with ", k, " kernel axes");
  if (ys.size() != r)
    fail(Code::ShapeMismatch, op, ": output has shape ", shapeStr(ys), "; expected rank ", r);
  const int64_t N = xs[0], C = xs[1], Cout = ws[0];
  if (C < 1 || Cout < C || Cout % C != 0)
    fail(Code::ShapeMismatch, op, ": weight has ", Cout, " output channels (shape ", shapeStr(ws), "); expected a positive multiple of the input's ", C, " channels");
  if (ys[0] != N || ys[1] != Cout)
    fail(Code::ShapeMismatch, op, ": output has shape ", shapeStr(ys), "; expected [", N, ", ", Cout, ", ...]");
  if (stride.size() != k || padding.size() != k || dilation.size() != k)
    fail(Code::InvalidArgument, op, ": stride, padding and dilation need ", k, " values each; got ", stride.size(), ", ",
         padding.size(), " and ", dilation.size());
  constexpr int64_t kLimit = int64_t(1) << 31;
  kernels::DepthwiseGeometry g{};
  g.N = N;
  g.C = C;
  g.m = Cout / C;
  for (size_t d = 0; d < 3; ++d) g.in[d] = g.out[d] = g.k[d] = g.stride[d] = g.dil[d] = 1, g.pad[d] = 0;
  for (size_t d = 0; d < k; ++d) {
    const size_t at = 3 - k + d;
    const int64_t L = xs[2 + d], K = ws[2 + d], O = ys[2 + d];
    if (L < 1 || K < 1 || O < 1 || L >= kLimit || K >= kLimit || O >= kLimit)
      fail(Code::ShapeMismatch, op, ": spatial sizes must be in [1, 2^31); got input ", shapeStr(xs), ", weight ", shapeStr(ws),
           ", output ", shapeStr(ys));
    if (stride[d] < 1 || dilation[d] < 1 || padding[d] < 0 || stride[d] >= kLimit || dilation[d] >= kLimit || padding[d] >= kLimit)
      fail(Code::InvalidArgument, op, ": axis ", d, " has stride ", stride[d], ", padding ", padding[d], ", dilation ",
           dilation[d], "; expected stride and dilation in [1, 2^31), padding in [0, 2^31)");
    g.in[at] = L, g.k[at] = K, g.out[at] = O, g.stride[at] = stride[d], g.pad[at] = padding[d], g.dil[at] = dilation[d];
  }
  return g;
}

static void checkDepthwiseOperands(const char* op, const Tensor& a, const Tensor& b) {
  checkFloating(op, a);
  checkSameDtype(op, a, b);
  checkSameDevice(op, a, b);
}

TensorPtr depthwiseConv(const Tensor& x, const Tensor& w, const Shape& outSizes, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation) {
  const char* op = "depthwiseConv";
  checkDepthwiseOperands(op, x, w);
  if (x.shape.size() < 3 || w.shape.empty())
    fail(Code::ShapeMismatch, op, ": input has shape ", shapeStr(x.shape), " and weight ", shapeStr(w.shape), "; expected [N, C, ...spatial] and [C·m, 1, ...kernel]");
  Shape ys{x.shape[0], w.shape[0]};
  ys.insert(ys.end(), outSizes.begin(), outSizes.end());
  checkShape(ys, op);
  const kernels::DepthwiseGeometry g = depthwiseGeometry(op, x.shape, w.shape, ys, stride, padding, dilation);
  TensorPtr y = emptyTensor(ys, x.dtype, x.device());
  if (!y->numel()) return y;
  backendFor(x.device()).depthwiseConv(x.device(), x.dtype, y->data(), x.data(), w.data(), g);
  return y;
}

TensorPtr depthwiseConvBackwardInput(const Tensor& gy, const Tensor& w, const Shape& inShape,
                                     const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                     const std::vector<int64_t>& dilation) {
  const char* op = "depthwiseConv input gradient";
  checkDepthwiseOperands(op, gy, w);
  checkShape(inShape, op);
  const kernels::DepthwiseGeometry g = depthwiseGeometry(op, inShape, w.shape, gy.shape, stride, padding, dilation);
  TensorPtr gx = emptyTensor(inShape, gy.dtype, gy.device());
  if (!gx->numel()) return gx;
  backendFor(gy.device()).depthwiseConvBackwardInput(gy.device(), gy.dtype, gx->data(), gy.data(), w.data(), g);
  return gx;
}

TensorPtr depthwiseConvBackwardWeight(const Tensor& x, const Tensor& gy, const Shape& kernelSizes,
                                      const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                      const std::vector<int64_t>& dilation) {
  const char* op = "depthwiseConv weight gradient";
  checkDepthwiseOperands(op, x, gy);
  if (gy.shape.size() < 2)
    fail(Code::ShapeMismatch, op, ": gradient has shape ", shapeStr(gy.shape), "; expected [N, C·m, ...spatial]");
  Shape ws{gy.shape[1], 1};
  ws.insert(ws.end(), kernelSizes.begin(), kernelSizes.end());
  checkShape(ws, op);
  const kernels::DepthwiseGeometry g = depthwiseGeometry(op, x.shape, ws, gy.shape, stride, padding, dilation);
  if (g.N == 0) return full(ws, x.dtype, x.device(), 0.0);  // no terms: the sums are 0
  TensorPtr gw = emptyTensor(ws, x.dtype, x.device());
  backendFor(x.device()).depthwiseConvBackwardWeight(x.device(), x.dtype, gw->data(), x.data(), gy.data(), g);
  return gw;
}

// The checked geometry of a pool of x's shape [N, C, in…] (k = 1…3 spatial axes, laid into the last k of three). Per
// axis: sizes and parameters in [1, 2^31) (padding in [0, k/2], PyTorch's limit), and the last window starting inside
// the input (o·s − p < L: the sizes floor or ceil mode give), so an average's window always holds an input element;
// the plane's in… positions below 2^31 (the indices are int32).
static kernels::PoolGeometry poolGeometry(const char* op, const Shape& xs, const PoolParams& p) {
  const size_t r = xs.size();
  if (r < 3 || r > 5)
    fail(Code::ShapeMismatch, op, ": input has shape ", shapeStr(xs), "; expected [N, C, ...spatial] with 1 to 3 spatial axes");
  const size_t k = r - 2;
  if (p.adaptive && p.outSizes.size() != k)
    fail(Code::InvalidArgument, op, ": outSizes needs ", k, " values for input ", shapeStr(xs), "; got ", p.outSizes.size());
  if (!p.adaptive && (p.outSizes.size() != k || p.kernel.size() != k || p.stride.size() != k || p.padding.size() != k || p.dilation.size() != k))
    fail(Code::InvalidArgument, op, ": outSizes, kernel, stride, padding and dilation need ", k, " values each; got ",
         p.outSizes.size(), ", ", p.kernel.size(), ", ", p.stride.size(), ", ", p.padding.size(), " and ", p.dilation.size());
  constexpr int64_t kLimit = int64_t(1) << 31;
  kernels::PoolGeometry g{};
  g.planes = xs[0] * xs[1];
  g.includePad = p.includePad;
  g.divisor = p.divisor;
  g.adaptive = p.adaptive;
  for (size_t d = 0; d < 3; ++d) g.in[d] = g.out[d] = g.k[d] = g.stride[d] = g.dil[d] = 1, g.pad[d] = 0;
  int64_t plane = 1;
  for (size_t d = 0; d < k; ++d) {
    const size_t at = 3 - k + d;
    const int64_t L = xs[2 + d], O = p.outSizes[d];
    if (L < 1 || L >= kLimit || O < 1 || O >= kLimit)
      fail(Code::ShapeMismatch, op, ": spatial sizes must be in [1, 2^31); got input ", shapeStr(xs), " and output sizes ", shapeStr(p.outSizes));
    plane *= L;
    if (plane >= kLimit)
      fail(Code::InvalidArgument, op, ": input ", shapeStr(xs), " has 2^31 or more positions per plane; the indices are int32");
    g.in[at] = L, g.out[at] = O;
    // Adaptive: k is the longest window (⌈L/O⌉ + 1 at most, L at most), the CPU's work estimate only.
    if (p.adaptive) {
      g.k[at] = std::min(L, (L + O - 1) / O + 1);
      continue;
    }
    const int64_t K = p.kernel[d], s = p.stride[d], pd = p.padding[d], dl = p.dilation[d];
    if (K < 1 || K >= kLimit || s < 1 || s >= kLimit || dl < 1 || dl >= kLimit || pd < 0 || 2 * pd > K)
      fail(Code::InvalidArgument, op, ": axis ", d, " has kernel ", K, ", stride ", s, ", padding ", pd, ", dilation ", dl,
           "; expected kernel, stride and dilation in [1, 2^31), padding in [0, kernel / 2]");
    if ((O - 1) * s - pd >= L)
      fail(Code::ShapeMismatch, op, ": axis ", d, "'s last window (output ", O - 1, " of ", O, ") starts at ", (O - 1) * s - pd,
           ", past the input's ", L, " positions");
    g.k[at] = K, g.stride[at] = s, g.pad[at] = pd, g.dil[at] = dl;
  }
  return g;
}

static Shape poolOutShape(const Shape& xs, const Shape& outSizes) {
  Shape ys{xs[0], xs[1]};
  ys.insert(ys.end(), outSizes.begin(), outSizes.end());
  return ys;
}

std::pair<TensorPtr, TensorPtr> maxPool(const Tensor& x, const PoolParams& p) {
  const char* op = "maxPool";
  checkFloating(op, x);
  const kernels::PoolGeometry g = poolGeometry(op, x.shape, p);
  const Shape ys = poolOutShape(x.shape, p.outSizes);
  checkShape(ys, op);
  TensorPtr values = emptyTensor(ys, x.dtype, x.device());
  TensorPtr indices = emptyTensor(ys, DType::Int32, x.device());
  if (values->numel())
    backendFor(x.device()).maxPool(x.device(), x.dtype, values->data(), static_cast<int32_t*>(indices->data()), x.data(), g);
  return {values, indices};
}

TensorPtr avgPool(const Tensor& x, const PoolParams& p) {
  const char* op = "avgPool";
  checkFloating(op, x);
  const kernels::PoolGeometry g = poolGeometry(op, x.shape, p);
  const Shape ys = poolOutShape(x.shape, p.outSizes);
  checkShape(ys, op);
  TensorPtr y = emptyTensor(ys, x.dtype, x.device());
  if (y->numel()) backendFor(x.device()).avgPool(x.device(), x.dtype, y->data(), x.data(), g);
  return y;
}

TensorPtr avgPoolBackward(const Tensor& gy, const Shape& inShape, const PoolParams& p) {
  const char* op = "avgPool gradient";
  checkFloating(op, gy);
  checkShape(inShape, op);
  const kernels::PoolGeometry g = poolGeometry(op, inShape, p);
  const Shape ys = poolOutShape(inShape, p.outSizes);
  if (gy.shape != ys)
    fail(Code::ShapeMismatch, op, ": gradient has shape ", shapeStr(gy.shape), "; expected ", shapeStr(ys));
  TensorPtr gx = emptyTensor(inShape, gy.dtype, gy.device());
  if (gx->numel()) backendFor(gy.device()).avgPoolBackward(gy.device(), gy.dtype, gx->data(), gy.data(), g);
  return gx;
}

TensorPtr argReduce(const Tensor& x, int64_t axisIn, bool largest) {
  const char* name = largest ? "argmax" : "argmin";
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), name);
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  if (n <= 0) fail(Code::InvalidArgument, name, ": axis ", axis, " of shape ", shapeStr(x.shape), " is empty");
  if (n > std::numeric_limits<int32_t>::max())
    fail(Code::InvalidArgument, name, ": axis ", axis, " has ", n, " elements; int32 indices reach 2^31 − 1");
  Shape outShape = x.shape;
  if (!outShape.empty()) outShape.erase(outShape.begin() + axis);
  TensorPtr out = emptyTensor(outShape, DType::Int32, x.device());
  if (!out->numel()) return out;
  backendFor(x.device()).argReduce(x.device(), x.dtype, out->data(), x.data(), outer, n, inner, largest);
  return out;
}

TensorPtr topkIndices(const Tensor& x, int64_t axisIn, int64_t k, bool largest) {
  const int64_t axis = normalizeAxis(axisIn, x.shape.size(), "topk");
  int64_t outer, n, inner;
  softmaxDims(x.shape, axis, outer, n, inner);
  if (k < 0 || k > n)
    fail(Code::InvalidArgument, "topk: k = ", k, " is out of range for axis ", axis, " of shape ", shapeStr(x.shape),
         " (n = ", n, "); 0 ≤ k ≤ n");
  if (n > std::numeric_limits<int32_t>::max())
    fail(Code::InvalidArgument, "topk: axis ", axis, " has ", n, " elements; int32 indices reach 2^31 − 1");
  Shape outShape = x.shape;
  if (outShape.empty()) {
    if (k != 1) outShape.push_back(k);   // a scalar is one element: k = 1 keeps it a scalar
  } else {
    outShape[static_cast<size_t>(axis)] = k;
  }
  TensorPtr out = emptyTensor(outShape, DType::Int32, x.device());
  if (!out->numel()) return out;
  backendFor(x.device()).topk(x.device(), x.dtype, out->data(), x.data(), outer, n, inner, k, largest);
  return out;
}

TensorPtr searchsorted(const Tensor& seq, const Tensor& values, bool right) {
  const char* op = "searchsorted";
  checkSameDevice(op, seq, values);
  if (seq.dtype != values.dtype)
    fail(Code::DtypeMismatch, op, ": seq is ", dtypeName(seq.dtype), " and values ", dtypeName(values.dtype), "; expected one dtype");
  if (seq.shape.size() != 2 || values.shape.size() != 2 || seq.shape[0] != values.shape[0])
    fail(Code::ShapeMismatch, op, ": expected seq [B, M] and values [B, K]; got ", shapeStr(seq.shape), " and ", shapeStr(values.shape));
  const int64_t B = seq.shape[0], M = seq.shape[1], K = values.shape[1];
  if (M > std::numeric_limits<int32_t>::max())
    fail(Code::InvalidArgument, op, ": the sequence has ", M, " elements; int32 positions reach 2^31 − 1");
  TensorPtr out = emptyTensor({B, K}, DType::Int32, seq.device());
  if (!out->numel()) return out;
  backendFor(seq.device()).searchsorted(seq.device(), seq.dtype, static_cast<int32_t*>(out->data()), seq.data(), values.data(), B, M, K, right);
  return out;
}

// linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
TensorPtr triangularSolve(const Tensor& A, const Tensor& rhs, bool upper, bool left, bool unit) {
  const char* op = "solveTriangular";
  checkSameDevice(op, A, rhs);
  checkFloating(op, A);
  if (A.dtype != rhs.dtype)
    fail(Code::DtypeMismatch, op, ": A is ", dtypeName(A.dtype), " and B ", dtypeName(rhs.dtype), "; expected one dtype");
  if (A.shape.size() != 3 || rhs.shape.size() != 3 || A.shape[1] != A.shape[2] || rhs.shape[0] != A.shape[0] ||
      rhs.shape[left ? 1 : 2] != A.shape[1])
    fail(Code::ShapeMismatch, op, ": expected A [B, n, n] and B ", left ? "[B, n, k]" : "[B, k, n]", "; got ",
         shapeStr(A.shape), " and ", shapeStr(rhs.shape));
  const int64_t batch = A.shape[0], n = A.shape[1], k = rhs.shape[left ? 2 : 1];
  TensorPtr out = emptyTensor(rhs.shape, rhs.dtype, rhs.device());
  if (!out->numel()) return out;
  backendFor(A.device()).triangularSolve(A.device(), A.dtype, out->data(), A.data(), rhs.data(), batch, n, k, upper, left,
                                         unit);
  return out;
}
LuFactorResult luFactor(const Tensor& A) {
  const char* op = "luFactor";
  checkFloating(op, A);
  if (A.shape.size() != 3) fail(Code::ShapeMismatch, op, ": expected A [B, m, n]; got ", shapeStr(A.shape));
  const int64_t batch = A.shape[0], m = A.shape[1], n = A.shape[2], k = m < n ? m : n;
  if (m > std::numeric_limits<int32_t>::max())
    fail(Code::InvalidArgument, op, ": ", m, " rows; int32 pivots reach 2^31 − 1");
  TensorPtr LU = emptyTensor(A.shape, A.dtype, A.device());
  TensorPtr pivots = emptyTensor({batch, k}, DType::Int32, A.device());
  TensorPtr info = emptyTensor({batch}, DType::Int32, A.device());
  if (batch > 0)
    backendFor(A.device()).luFactor(A.device(), A.dtype, LU->data(), static_cast<int32_t*>(pivots->data()),
                                    static_cast<int32_t*>(info->data()), A.data(), batch, m, n);
  return {LU, pivots, info};
}

TensorPtr luPermutation(const Tensor& pivots, int64_t m) {
  const char* op = "luPermutation";
  if (pivots.dtype != DType::Int32) fail(Code::DtypeMismatch, op, ": pivots must be int32; got ", dtypeName(pivots.dtype));
  if (pivots.shape.size() != 2 || m < pivots.shape[1] || m > std::numeric_limits<int32_t>::max())
    fail(Code::ShapeMismatch, op, ": expected pivots [B, k] and k ≤ m < 2^31; got ", shapeStr(pivots.shape), " and m = ", m);
  const int64_t batch = pivots.shape[0], k = pivots.shape[1];
  TensorPtr perm = emptyTensor({batch, m}, DType::Int32, pivots.device());
  if (perm->numel())
    backendFor(pivots.device()).luPermutation(pivots.device(), static_cast<int32_t*>(perm->data()),
                                              static_cast<const int32_t*>(pivots.data()), batch, k, m);
  return perm;
}
std::pair<TensorPtr, TensorPtr> cholesky(const Tensor& A) {
  const char* op = "cholesky";
  checkFloating(op, A);
  if (A.shape.size() != 3 || A.shape[1] != A.shape[2])
    fail(Code::ShapeMismatch, op, ": expected A [B, n, n]; got ", shapeStr(A.shape));
  const int64_t batch = A.shape[0], n = A.shape[1];
  TensorPtr L = emptyTensor(A.shape, A.dtype, A.device());
  TensorPtr info = emptyTensor({batch}, DType::Int32, A.device());
  if (batch > 0)
    backendFor(A.device()).cholesky(A.device(), A.dtype, L->data(), static_cast<int32_t*>(info->data()), A.data(), batch, n);
  return {L, info};
}
// (end of linalg-lu)

// linalg-qr (Householder QR): native/kernels/linalg_qr.h
std::pair<TensorPtr, TensorPtr> linalgQr(const Tensor& a, int64_t mode) {
  const char* op = "linalg.qr";
  if (!isFloating(a.dtype))
    fail(Code::DtypeMismatch, op, ": dtype ", dtypeName(a.dtype), " is not supported; expected float32 or float64");
  if (a.shape.size() != 3) fail(Code::ShapeMismatch, op, ": expected A [B, m, n]; got ", shapeStr(a.shape));
  if (mode < 0 || mode > 2) fail(Code::InvalidArgument, op, ": mode ", mode, " is not 0 (reduced), 1 (complete) or 2 (r)");
  const int64_t B = a.shape[0], m = a.shape[1], n = a.shape[2], k = m < n ? m : n;
  const int64_t qCols = mode == 0 ? k : mode == 1 ? m : 0, rRows = mode == 1 ? m : k;
  TensorPtr Q = emptyTensor({B, m, qCols}, a.dtype, a.device());
  TensorPtr R = emptyTensor({B, rRows, n}, a.dtype, a.device());
  if (B > 0 && (Q->numel() > 0 || R->numel() > 0))
    backendFor(a.device()).linalgQr(a.device(), a.dtype, Q->data(), R->data(), a.data(), B, m, n, qCols, rRows);
  return {Q, R};
}
// (end of linalg-qr)

// linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
static void checkSpectralMatrix(const char* op, const Tensor& A, bool square) {
  if (!isFloating(A.dtype))
    fail(Code::DtypeMismatch, op, ": dtype ", dtypeName(A.dtype), " is not supported; expected float32 or float64");
  if (A.shape.size() != 3 || (square && A.shape[1] != A.shape[2]))
    fail(Code::ShapeMismatch, op, ": expected ", square ? "[B, n, n]" : "[B, m, n]", "; got ", shapeStr(A.shape));
}

std::vector<TensorPtr> linalgEigh(const Tensor& A, bool upper, bool vectors) {
  checkSpectralMatrix("linalgEigh", A, true);
  const int64_t B = A.shape[0], n = A.shape[1];
  TensorPtr w = emptyTensor({B, n}, A.dtype, A.device());
  TensorPtr V = emptyTensor(vectors ? Shape{B, n, n} : Shape{0}, A.dtype, A.device());
  TensorPtr info = emptyTensor({B}, DType::Int32, A.device());
  if (B > 0)
    backendFor(A.device()).linalgEigh(A.device(), A.dtype, A.data(), B, n, upper, vectors, w->data(), V->data(),
                                      static_cast<int32_t*>(info->data()));
  return {w, V, info};
}

std::vector<TensorPtr> linalgSvd(const Tensor& A, bool full, bool vectors) {
  checkSpectralMatrix("linalgSvd", A, false);
  const int64_t B = A.shape[0], m = A.shape[1], n = A.shape[2], k = m < n ? m : n;
  TensorPtr U = emptyTensor(vectors ? Shape{B, m, full ? m : k} : Shape{0}, A.dtype, A.device());
  TensorPtr S = emptyTensor({B, k}, A.dtype, A.device());
  TensorPtr Vh = emptyTensor(vectors ? Shape{B, full ? n : k, n} : Shape{0}, A.dtype, A.device());
  TensorPtr info = emptyTensor({B}, DType::Int32, A.device());
  if (B > 0)
    backendFor(A.device()).linalgSvd(A.device(), A.dtype, A.data(), B, m, n, full, vectors, U->data(), S->data(),
                                     Vh->data(), static_cast<int32_t*>(info->data()));
  return {U, S, Vh, info};
}
// (end of linalg-spectral)

// random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
TensorPtr standardGamma(const Tensor& alpha, uint64_t seed, uint64_t stream) {
  checkFloating("standardGamma", alpha);
  kernels::PhiloxStream s;
  s.key = kernels::PhiloxKey{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  s.stream0 = static_cast<uint32_t>(stream);
  s.stream1 = static_cast<uint32_t>(stream >> 32);
  TensorPtr out = emptyTensor(alpha.shape, alpha.dtype, alpha.device());
  if (out->numel()) backendFor(alpha.device()).standardGamma(alpha.device(), alpha.dtype, out->data(), alpha.data(), out->numel(), s);
  return out;
}

TensorPtr gammaBinary(int op, const Tensor& a, const Tensor& x) {
  const char* name = op == 0 ? "standardGammaGrad" : op == 1 ? "gammainc" : "gammaincc";
  if (op < 0 || op > 2) fail(Code::InvalidArgument, "gammaBinary: op ", op, " is not 0, 1 or 2");
  checkFloating(name, a);
  checkLike(name, "x", a, x);
  TensorPtr out = emptyTensor(a.shape, a.dtype, a.device());
  if (out->numel()) backendFor(a.device()).gammaBinary(a.device(), a.dtype, op, out->data(), a.data(), x.data(), out->numel());
  return out;
}
// (end of random-gamma)

// random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
TensorPtr discreteSample(int op, const Tensor& a, const Tensor* b, uint64_t seed, uint64_t stream) {
  if (op < 0 || op > 1) fail(Code::InvalidArgument, "discreteSample: op ", op, " is not 0 or 1");
  const char* name = op == 0 ? "poisson" : "binomial";
  checkFloating(name, a);
  if (op == 1) {
    if (!b) fail(Code::InvalidArgument, "binomial: prob is missing");
    checkLike(name, "prob", a, *b);
  }
  kernels::PhiloxStream s;
  s.key = kernels::PhiloxKey{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  s.stream0 = static_cast<uint32_t>(stream);
  s.stream1 = static_cast<uint32_t>(stream >> 32) ^ (op == 0 ? 0x706f6973u : 0x62696e6fu);  // "pois", "bino"
  TensorPtr out = emptyTensor(a.shape, a.dtype, a.device());
  if (out->numel())
    backendFor(a.device()).discreteSample(a.device(), a.dtype, op, out->data(), a.data(), op == 1 ? b->data() : a.data(), out->numel(), s);
  return out;
}
// (end of random-discrete)

// CTC operands: lp [T, N, C] float, targets int32 [N, S], inLen and tgtLen int32 [N], on one device.
// Their values (lengths in range, labels in [0, C) and not blank) are the caller's to check.
static void checkCtc(const Tensor& lp, const Tensor& targets, const Tensor& inLen, const Tensor& tgtLen, int64_t blank) {
  const char* op = "ctcLoss";
  checkFloating(op, lp);
  if (lp.shape.size() != 3) fail(Code::ShapeMismatch, op, ": log_probs must be [T, N, C]; got ", shapeStr(lp.shape));
  const int64_t N = lp.shape[1], C = lp.shape[2];
  for (const Tensor* t : {&targets, &inLen, &tgtLen}) {
    checkSameDevice(op, lp, *t);
    if (t->dtype != DType::Int32) fail(Code::DtypeMismatch, op, ": targets and lengths must be int32; got ", dtypeName(t->dtype));
  }
  if (targets.shape.size() != 2 || targets.shape[0] != N)
    fail(Code::ShapeMismatch, op, ": targets must be [N, S] = [", N, ", S]; got ", shapeStr(targets.shape));
  if (inLen.shape != Shape{N} || tgtLen.shape != Shape{N})
    fail(Code::ShapeMismatch, op, ": lengths must be [", N, "]; got ", shapeStr(inLen.shape), " and ", shapeStr(tgtLen.shape));
  if (blank < 0 || blank >= C) fail(Code::InvalidArgument, op, ": blank ", blank, " is outside [0, ", C, ")");
  if (N > 2147483647) fail(Code::InvalidArgument, op, ": a batch of ", N, " is more than 2^31 − 1 samples");
}

std::pair<TensorPtr, TensorPtr> ctcLoss(const Tensor& lp, const Tensor& targets, const Tensor& inLen, const Tensor& tgtLen,
                                        int64_t blank) {
  checkCtc(lp, targets, inLen, tgtLen, blank);
  const int64_t T = lp.shape[0], N = lp.shape[1], C = lp.shape[2], S = targets.shape[1];
  TensorPtr nll = emptyTensor({N}, lp.dtype, lp.device());
  const Shape alphaShape{N, T, 2 * S + 1};
  checkShape(alphaShape, "ctcLoss");
  TensorPtr logAlpha = emptyTensor(alphaShape, lp.dtype, lp.device());
  if (!N) return {nll, logAlpha};
  if (T == 0) fail(Code::ShapeMismatch, "ctcLoss: log_probs have no time steps");
  backendFor(lp.device()).ctcLoss(lp.device(), lp.dtype, nll->data(), logAlpha->data(), lp.data(),
                                  static_cast<const int32_t*>(targets.data()), static_cast<const int32_t*>(inLen.data()),
                                  static_cast<const int32_t*>(tgtLen.data()), T, N, C, S, blank);
  return {nll, logAlpha};
}

TensorPtr ctcLossBackward(const Tensor& g, const Tensor& lp, const Tensor& targets, const Tensor& inLen,
                          const Tensor& tgtLen, const Tensor& nll, const Tensor& logAlpha, int64_t blank,
                          bool zeroInfinity) {
  checkCtc(lp, targets, inLen, tgtLen, blank);
  const int64_t T = lp.shape[0], N = lp.shape[1], C = lp.shape[2], S = targets.shape[1];
  for (const Tensor* t : {&g, &nll}) {
    checkSameDevice("ctcLoss", lp, *t);
    checkSameDtype("ctcLoss", lp, *t);
    if (t->shape != Shape{N}) fail(Code::ShapeMismatch, "ctcLoss: gradient and nll must be [", N, "]; got ", shapeStr(t->shape));
  }
  checkSameDevice("ctcLoss", lp, logAlpha);
  if (logAlpha.shape != Shape{N, T, 2 * S + 1} || logAlpha.dtype != lp.dtype)
    fail(Code::ShapeMismatch, "ctcLoss: logAlpha has shape ", shapeStr(logAlpha.shape), "; expected [", N, ", ", T, ", ", 2 * S + 1, "]");
  TensorPtr grad = emptyTensor(lp.shape, lp.dtype, lp.device());
  if (!grad->numel()) return grad;
  backendFor(lp.device()).ctcLossBackward(lp.device(), lp.dtype, grad->data(), g.data(), lp.data(),
                                          static_cast<const int32_t*>(targets.data()),
                                          static_cast<const int32_t*>(inLen.data()),
                                          static_cast<const int32_t*>(tgtLen.data()), nll.data(), logAlpha.data(), T, N,
                                          C, S, blank, zeroInfinity);
  return grad;
}

// gridSample operands: x [N, C, *sizes] (2 or 3 spatial axes, none empty) and grid [N, *out, dims] of one
// float dtype on one device; mode 0–2 (bicubic 4-D only), padding 0–2. Returns the spatial rank.
static int checkGridSample(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding) {
  const char* op = "gridSample";
  checkFloating(op, x);
  checkSameDtype(op, x, grid);
  checkSameDevice(op, x, grid);
  const size_t rank = x.shape.size();
  if (rank != 4 && rank != 5) fail(Code::ShapeMismatch, op, ": x has shape ", shapeStr(x.shape), "; expected [N, C, H, W] or [N, C, D, H, W]");
  const int dims = static_cast<int>(rank) - 2;
  if (grid.shape.size() != rank || grid.shape[rank - 1] != dims || grid.shape[0] != x.shape[0])
    fail(Code::ShapeMismatch, op, ": grid has shape ", shapeStr(grid.shape), "; for x ", shapeStr(x.shape), " expected [",
         x.shape[0], ", *, ", dims, "] with ", dims, " output axes");
  for (size_t a = 2; a < rank; ++a)
    if (x.shape[a] == 0) fail(Code::InvalidArgument, op, ": x has an empty spatial axis (shape ", shapeStr(x.shape), ")");
  if (mode < 0 || mode > 2) fail(Code::InvalidArgument, op, ": mode ", mode, " is not 0 (bilinear), 1 (nearest) or 2 (bicubic)");
  if (padding < 0 || padding > 2) fail(Code::InvalidArgument, op, ": padding ", padding, " is not 0 (zeros), 1 (border) or 2 (reflection)");
  if (mode == 2 && dims != 2) fail(Code::InvalidArgument, op, ": bicubic needs a 4-D input; got x of shape ", shapeStr(x.shape));
  return dims;
}

TensorPtr gridSample(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding, bool align) {
  const int dims = checkGridSample(x, grid, mode, padding);
  const int64_t N = x.shape[0], C = x.shape[1];
  Shape outShape{N, C};
  int64_t per = 1;
  for (int a = 0; a < dims; ++a) {
    outShape.push_back(grid.shape[1 + a]);
    per *= grid.shape[1 + a];
  }
  checkShape(outShape, "gridSample");
  TensorPtr out = emptyTensor(outShape, x.dtype, x.device());
  if (!out->numel()) return out;
  backendFor(x.device()).gridSample(x.device(), x.dtype, out->data(), x.data(), grid.data(), N, C, x.shape.data() + 2,
                                    per, dims, static_cast<int>(mode), static_cast<int>(padding), align);
  return out;
}

std::pair<TensorPtr, TensorPtr> gridSampleBackward(const Tensor& gy, const Tensor& x, const Tensor& grid, int64_t mode,
                                                   int64_t padding, bool align, bool needX, bool needGrid) {
  const int dims = checkGridSample(x, grid, mode, padding);
  checkSameDtype("gridSample", x, gy);
  checkSameDevice("gridSample", x, gy);
  const int64_t N = x.shape[0], C = x.shape[1];
  Shape outShape{N, C};
  int64_t per = 1;
  for (int a = 0; a < dims; ++a) {
    outShape.push_back(grid.shape[1 + a]);
    per *= grid.shape[1 + a];
  }
  if (gy.shape != outShape)
    fail(Code::ShapeMismatch, "gridSample: the gradient has shape ", shapeStr(gy.shape), "; expected ", shapeStr(outShape));
  TensorPtr gx = needX ? emptyTensor(x.shape, x.dtype, x.device()) : nullptr;
  TensorPtr gg = needGrid ? emptyTensor(grid.shape, grid.dtype, grid.device()) : nullptr;
  if ((gx && gx->numel()) || (gg && gg->numel()))
    backendFor(x.device()).gridSampleBackward(x.device(), x.dtype, gx ? gx->data() : nullptr, gg ? gg->data() : nullptr,
                                              gy.data(), x.data(), grid.data(), N, C, x.shape.data() + 2, per, dims,
                                              static_cast<int>(mode), static_cast<int>(padding), align);
  return {gx, gg};
}

static void checkLabels(const Tensor& logits, const Tensor& labels, const char* op) {
  checkFloating(op, logits);
  checkSameDevice(op, logits, labels);
  if (labels.dtype != DType::Int32)
    fail(Code::DtypeMismatch, op, ": labels must be int32 class indices; got ", dtypeName(labels.dtype));
  if (logits.shape.empty()) fail(Code::ShapeMismatch, op, ": logits must have a class dim; got a scalar");
  const Shape rows(logits.shape.begin(), logits.shape.end() - 1);
  if (labels.shape != rows)
    fail(Code::ShapeMismatch, op, ": labels have shape ", shapeStr(labels.shape), "; logits ", shapeStr(logits.shape),
         " need labels of shape ", shapeStr(rows), " (classes on the last axis: logits [..., C], labels [...])");
}

std::pair<TensorPtr, TensorPtr> crossEntropy(const Tensor& logits, const Tensor& labels, int64_t ignoreIndex) {
  checkLabels(logits, labels, "crossEntropy");
  const int64_t C = logits.shape.back();
  const int64_t N = labels.numel();
  TensorPtr loss = emptyTensor(labels.shape, logits.dtype, logits.device());
  TensorPtr valid = emptyTensor(labels.shape, logits.dtype, logits.device());
  if (!N) return {loss, valid};
  if (C == 0) fail(Code::ShapeMismatch, "crossEntropy: logits have 0 classes");
  const int64_t bad = backendFor(logits.device()).crossEntropy(logits.device(), logits.dtype, loss->data(), valid->data(),
                                                              logits.data(), static_cast<const int32_t*>(labels.data()),
                                                              N, C, ignoreIndex);
  if (bad >= 0)
    fail(Code::InvalidArgument, "crossEntropy: label at row ", bad, " is outside [0, ", C, ") and is not ignoreIndex (",
         ignoreIndex, ")");
  return {loss, valid};
}

TensorPtr crossEntropyBackward(const Tensor& logits, const Tensor& labels, const Tensor& g, int64_t ignoreIndex) {
  checkLabels(logits, labels, "crossEntropy");
  checkSameDevice("crossEntropy", logits, g);
  checkSameDtype("crossEntropy", logits, g);
  checkSameShape("crossEntropy", "gradient", labels, g);
  TensorPtr gx = emptyTensor(logits.shape, logits.dtype, logits.device());
  if (!gx->numel()) return gx;
  backendFor(logits.device()).crossEntropyBackward(logits.device(), logits.dtype, gx->data(), logits.data(),
                                                   static_cast<const int32_t*>(labels.data()), g.data(), labels.numel(),
                                                   logits.shape.back(), ignoreIndex);
  return gx;
}

TensorPtr gatherRows(const Tensor& table, const Tensor& indices) {
  checkSameDevice("embedding", table, indices);
  if (indices.dtype != DType::Int32) fail(Code::DtypeMismatch, "embedding: indices must be int32; got ", dtypeName(indices.dtype));
  if (table.shape.size() != 2) fail(Code::ShapeMismatch, "embedding: the table must be 2-D [rows, dim]; got ", shapeStr(table.shape));
  Shape outShape = indices.shape;
  outShape.push_back(table.shape[1]);
  checkShape(outShape, "embedding");
  TensorPtr out = emptyTensor(outShape, table.dtype, table.device());
  if (!out->numel()) {
    if (indices.numel() && table.shape[0] == 0) fail(Code::InvalidArgument, "embedding: the table has no rows");
    return out;
  }
  const int64_t bad = backendFor(table.device()).gatherRows(table.device(), table.dtype, out->data(), table.data(),
                                                           static_cast<const int32_t*>(indices.data()), indices.numel(),
                                                           table.shape[0], table.shape[1]);
  if (bad >= 0) fail(Code::InvalidArgument, "embedding: index at position ", bad, " is outside [0, ", table.shape[0], ")");
  return out;
}

TensorPtr scatterAddRows(const Tensor& g, const Tensor& indices, int64_t rows, bool checked) {
  checkSameDevice("embedding", g, indices);
  if (indices.dtype != DType::Int32) fail(Code::DtypeMismatch, "embedding: indices must be int32");
  if (g.shape.size() != indices.shape.size() + 1 || !std::equal(indices.shape.begin(), indices.shape.end(), g.shape.begin()))
    fail(Code::ShapeMismatch, "embedding: gradient of shape ", shapeStr(g.shape), " does not match indices ", shapeStr(indices.shape));
  const int64_t cols = g.shape.back();
  TensorPtr out = emptyTensor({rows, cols}, g.dtype, g.device());
  if (!out->numel()) {
    if (indices.numel() && rows == 0) fail(Code::InvalidArgument, "embedding: indices into a table of 0 rows");
    return out;
  }
  backendFor(g.device()).fill(g.device(), out->data(), g.dtype, out->numel(), 0.0);
  if (indices.numel()) {
    // A bad index adds nothing on any backend; it throws here on the CPU always, on CUDA when `checked`.
    const int64_t bad = backendFor(g.device()).scatterAddRows(g.device(), g.dtype, out->data(), g.data(),
                                                              static_cast<const int32_t*>(indices.data()),
                                                              indices.numel(), rows, cols, checked);
    if (bad >= 0) fail(Code::InvalidArgument, "embedding: gradient index at position ", bad, " is outside [0, ", rows, ")");
  }
  return out;
}

void setRows(Tensor& table, const Tensor& indices, const Tensor& src) {
  checkSameDevice("setRows", table, indices);
  checkSameDevice("setRows", table, src);
  checkFloating("setRows", table);
  if (indices.dtype != DType::Int32) fail(Code::DtypeMismatch, "setRows: indices must be int32; got ", dtypeName(indices.dtype));
  if (src.dtype != table.dtype)
    fail(Code::DtypeMismatch, "setRows: the rows are ", dtypeName(src.dtype), " and the table ", dtypeName(table.dtype));
  if (table.shape.size() != 2 || indices.shape.size() != 1 || src.shape.size() != 2 || src.shape[0] != indices.shape[0] ||
      src.shape[1] != table.shape[1])
    fail(Code::ShapeMismatch, "setRows: expected a table [R, C], indices [n] and rows [n, C]; got ", shapeStr(table.shape),
         ", ", shapeStr(indices.shape), " and ", shapeStr(src.shape));
  if (!src.numel()) return;
  // An index outside [0, R) writes nothing (no host read of the indices; callers check them, as renormRows's gather).
  backendFor(table.device()).setRows(table.device(), table.dtype, table.data(), src.data(),
                                     static_cast<const int32_t*>(indices.data()), indices.numel(), table.shape[0],
                                     table.shape[1]);
}

LayerNormResult layerNorm(const Tensor& x, const Tensor* w, const Tensor* b, double eps) {
  checkFloating("layerNorm", x);
  if (x.shape.empty()) fail(Code::ShapeMismatch, "layerNorm: input must have at least 1 dim");
  if (!(eps >= 0)) fail(Code::InvalidArgument, "layerNorm: eps must be >= 0; got ", eps);
  const int64_t D = x.shape.back();
  const Shape affine{D};
  for (const Tensor* p : {w, b})
    if (p) {
      checkSameDevice("layerNorm", x, *p);
      checkSameDtype("layerNorm", x, *p);
      if (p->shape != affine)
        fail(Code::ShapeMismatch, "layerNorm: weight/bias of shape ", shapeStr(p->shape), "; expected ", shapeStr(affine));
    }
  const Shape rows(x.shape.begin(), x.shape.end() - 1);
  LayerNormResult r;
  r.y = emptyTensor(x.shape, x.dtype, x.device());
  r.mean = emptyTensor(rows, x.dtype, x.device());
  r.rstd = emptyTensor(rows, x.dtype, x.device());
  const int64_t N = numelOf(rows);
  if (N && D)
    backendFor(x.device()).layerNorm(x.device(), x.dtype, r.y->data(), r.mean->data(), r.rstd->data(), x.data(),
                                     w ? w->data() : nullptr, b ? b->data() : nullptr, N, D, eps);
  return r;
}

LayerNormGrads layerNormBackward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor* w,
                                 bool affine) {
  checkLike("layerNorm", "gradient", x, gy);
  const int64_t D = x.shape.back();
  const int64_t N = x.numel() / (D ? D : 1);
  LayerNormGrads g;
  g.gx = emptyTensor(x.shape, x.dtype, x.device());
  if (affine) {
    g.gw = emptyTensor({D}, x.dtype, x.device());
    g.gb = emptyTensor({D}, x.dtype, x.device());
  }
  Backend& be = backendFor(x.device());
  if (!D) return g;
  if (!N) {
    if (affine) {
      be.fill(x.device(), g.gw->data(), x.dtype, D, 0.0);
      be.fill(x.device(), g.gb->data(), x.dtype, D, 0.0);
    }
    return g;
  }
  be.layerNormBackward(x.device(), x.dtype, g.gx->data(), affine ? g.gw->data() : nullptr, affine ? g.gb->data() : nullptr,
                       gy.data(), x.data(), mean.data(), rstd.data(), w ? w->data() : nullptr, N, D);
  return g;
}

void assign(Tensor& dst, const Tensor& src) {
  // The destination keeps its dtype: only the source can be converted.
  if (dst.dtype != src.dtype)
    fail(Code::DtypeMismatch, "assign: the source is ", dtypeName(src.dtype), " and the destination ", dtypeName(dst.dtype),
         "; convert the source with .cast('", dtypeName(dst.dtype), "')");
  checkSameShape("assign", "source", dst, src);
  const size_t bytes = dst.bytes();
  if (!bytes || dst.data() == src.data()) return;
  if (dst.device() == src.device()) return backendFor(dst.device()).copy(dst.device(), dst.data(), src.data(), bytes);
  TensorPtr staged = to(src, dst.device());
  backendFor(dst.device()).copy(dst.device(), dst.data(), staged->data(), bytes);
}

void sgdStep(Tensor& param, const Tensor& grad, Tensor* buf, const SgdParams& p) {
  checkFloating("SGD", param);
  checkLike("SGD", "gradient", param, grad);
  if (buf) checkLike("SGD", "momentum buffer", param, *buf);
  if (p.momentum != 0 && !buf) fail(Code::Internal, "SGD: momentum needs a buffer");
  if (param.numel())
    backendFor(param.device()).sgdStep(param.device(), param.dtype, param.data(), grad.data(), buf ? buf->data() : nullptr,
                                       param.numel(), p);
}

void adaHessianStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const Tensor* dDiag,
                    const AdaHessianParams& p) {
  checkFloating("AdaHessian", param);
  checkLike("AdaHessian", "gradient", param, grad);
  checkLike("AdaHessian", "exp_avg", param, m);
  checkLike("AdaHessian", "exp_hessian_diag_sq", param, v);
  if (dDiag) checkLike("AdaHessian", "hessian diagonal", param, *dDiag);
  if (p.step < 1 || p.hessianStep < 1)
    fail(Code::InvalidArgument, "AdaHessian: step and hessianStep must be >= 1; got ", p.step, " and ", p.hessianStep);
  if (param.numel())
    backendFor(param.device()).adaHessianStep(param.device(), param.dtype, param.data(), grad.data(), m.data(),
                                              v.data(), dDiag ? dDiag->data() : nullptr, param.numel(), p);
}

void rmspropStep(Tensor& param, const Tensor& grad, Tensor& squareAvg, Tensor* gradAvg, Tensor* buf,
                 const RmspropParams& p) {
  checkFloating("RMSprop", param);
  checkLike("RMSprop", "gradient", param, grad);
  checkLike("RMSprop", "square_avg", param, squareAvg);
  if (gradAvg) checkLike("RMSprop", "grad_avg", param, *gradAvg);
  if (buf) checkLike("RMSprop", "momentum_buffer", param, *buf);
  if (p.centered && !gradAvg) fail(Code::Internal, "RMSprop: centered needs grad_avg");
  if (p.momentum > 0 && !buf) fail(Code::Internal, "RMSprop: momentum needs momentum_buffer");
  if (param.numel())
    backendFor(param.device()).rmspropStep(param.device(), param.dtype, param.data(), grad.data(), squareAvg.data(),
                                           gradAvg ? gradAvg->data() : nullptr, buf ? buf->data() : nullptr,
                                         param.numel(), p);
}

void adagradStep(Tensor& param, const Tensor& grad, Tensor& sum, const AdagradParams& p) {
  checkFloating("Adagrad", param);
  checkLike("Adagrad", "gradient", param, grad);
  checkLike("Adagrad", "sum", param, sum);
  if (p.step < 1) fail(Code::InvalidArgument, "Adagrad: step must be >= 1; got ", p.step);
  if (param.numel())
    backendFor(param.device()).adagradStep(param.device(), param.dtype, param.data(), grad.data(), sum.data(),
                                         param.numel(), p);
}

// The checks of the steps that keep two state tensors beside the parameter (RAdam, NAdam, Adamax, Adadelta, Rprop).
static void checkTwoStateStep(const char* op, const Tensor& param, const Tensor& grad, const char* aName, const Tensor& a,
                              const char* bName, const Tensor& b) {
  checkFloating(op, param);
  checkLike(op, "gradient", param, grad);
  checkLike(op, aName, param, a);
  checkLike(op, bName, param, b);
}

void radamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const RadamParams& p) {
  checkTwoStateStep("RAdam", param, grad, "exp_avg", m, "exp_avg_sq", v);
  if (p.step < 1) fail(Code::InvalidArgument, "RAdam: step must be >= 1; got ", p.step);
  if (param.numel())
    backendFor(param.device()).radamStep(param.device(), param.dtype, param.data(), grad.data(), m.data(), v.data(),
                                         param.numel(), p);
}

void nadamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const NadamParams& p) {
  checkTwoStateStep("NAdam", param, grad, "exp_avg", m, "exp_avg_sq", v);
  if (p.step < 1) fail(Code::InvalidArgument, "NAdam: step must be >= 1; got ", p.step);
  if (param.numel())
    backendFor(param.device()).nadamStep(param.device(), param.dtype, param.data(), grad.data(), m.data(), v.data(),
                                         param.numel(), p);
}

void adamaxStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& u, const AdamaxParams& p) {
  checkTwoStateStep("Adamax", param, grad, "exp_avg", m, "exp_inf", u);
  if (p.step < 1) fail(Code::InvalidArgument, "Adamax: step must be >= 1; got ", p.step);
  if (param.numel())
    backendFor(param.device()).adamaxStep(param.device(), param.dtype, param.data(), grad.data(), m.data(), u.data(),
                                          param.numel(), p);
}

void adadeltaStep(Tensor& param, const Tensor& grad, Tensor& squareAvg, Tensor& accDelta, const AdadeltaParams& p) {
  checkTwoStateStep("Adadelta", param, grad, "square_avg", squareAvg, "acc_delta", accDelta);
  if (param.numel())
    backendFor(param.device()).adadeltaStep(param.device(), param.dtype, param.data(), grad.data(), squareAvg.data(), accDelta.data(),
                                          param.numel(), p);
}

void rpropStep(Tensor& param, const Tensor& grad, Tensor& prev, Tensor& stepSize, const RpropParams& p) {
  checkTwoStateStep("Rprop", param, grad, "prev", prev, "step_size", stepSize);
  if (param.numel())
    backendFor(param.device()).rpropStep(param.device(), param.dtype, param.data(), grad.data(), prev.data(), stepSize.data(),
                                         param.numel(), p);
}

void asgdStep(Tensor& param, const Tensor& grad, Tensor& ax, const AsgdParams& p) {
  checkFloating("ASGD", param);
  checkLike("ASGD", "gradient", param, grad);
  checkLike("ASGD", "ax", param, ax);
  if (param.numel())
    backendFor(param.device()).asgdStep(param.device(), param.dtype, param.data(), grad.data(), ax.data(), param.numel(), p);
}

void adamStep(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor* vmax, const AdamParams& p) {
  checkFloating("Adam", param);
  checkLike("Adam", "gradient", param, grad);
  checkLike("Adam", "exp_avg", param, m);
  checkLike("Adam", "exp_avg_sq", param, v);
  if (vmax) checkLike("Adam", "max_exp_avg_sq", param, *vmax);
  if (p.amsgrad && !vmax) fail(Code::Internal, "Adam: amsgrad needs max_exp_avg_sq");
  if (p.step < 1) fail(Code::InvalidArgument, "Adam: step must be >= 1; got ", p.step);
  if (param.numel())
    backendFor(param.device()).adamStep(param.device(), param.dtype, param.data(), grad.data(), m.data(), v.data(),
                                        vmax ? vmax->data() : nullptr, param.numel(), p);
}

}  // namespace antler::ops
