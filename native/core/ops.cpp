#include "ops.h"

#include <cmath>
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
  }
  return "binary";
}

static void checkSameDevice(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device())
    fail(Code::DeviceMismatch, op, ": operands are on ", a.device().str(), " and ", b.device().str(),
         "; move one with .to('", a.device().str(), "')");
}

static void checkSameDtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype)
    fail(Code::DtypeMismatch, op, ": operands have dtypes ", dtypeName(a.dtype), " and ", dtypeName(b.dtype),
         "; convert one with .cast('", dtypeName(a.dtype), "')");
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
    fail(Code::ShapeMismatch, "reshape: shape ", shapeStr(shape), " holds ", known, " elements; the tensor of shape ",
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

TensorPtr binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binaryName(op);
  checkSameDevice(name, a, b);
  checkSameDtype(name, a, b);
  if (op == BinaryOp::Div && !isFloating(a.dtype))
    fail(Code::DtypeMismatch, "div: int32 operands are not supported; cast to float32 or float64 first");
  const Shape outShape = broadcastShapes(a.shape, b.shape, name);
  TensorPtr out = emptyTensor(outShape, a.dtype, a.device());
  const int64_t n = out->numel();
  if (!n) return out;
  Backend& be = backendFor(a.device());
  if (a.shape == b.shape) {
    be.binary(a.device(), op, a.dtype, out->data(), a.data(), b.data(), n, nullptr);
    return out;
  }
  kernels::BroadcastIndexer idx{};
  idx.ndim = static_cast<int>(outShape.size());
  for (int i = 0; i < idx.ndim; ++i) idx.shape[i] = outShape[i];
  broadcastStrides(a.shape, outShape, idx.strideA);
  broadcastStrides(b.shape, outShape, idx.strideB);
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
