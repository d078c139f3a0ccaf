// Device-independent ops: every argument is validated here (the N-API layer
// has already checked JavaScript types), outputs are allocated before any
// kernel runs, and inputs are never written, so a failed op leaves every
// existing tensor intact. Then the op is dispatched through the op table.
#pragma once
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

}  // namespace antler::ops
