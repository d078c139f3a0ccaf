// Index maps used by strided copies, reductions over axes and where().
#pragma once
#include "elementwise.h"

namespace antler::kernels {

// dst[dstOffset(i)] = src[srcOffset(i)] for every i < prod(shape). Strides in
// elements (0 along broadcast dims of src); pointers already include offsets.
struct StridedIndexer {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t srcStride[kMaxDims];
  int64_t dstStride[kMaxDims];

  ANTLER_HD void offsets(int64_t linear, int64_t& os, int64_t& od) const {
    os = 0; od = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = linear % shape[d];
      linear /= shape[d];
      os += idx * srcStride[d];
      od += idx * dstStride[d];
    }
  }
};

// A reduction over some axes of x: output element i (contiguous, row-major
// over the kept axes) reduces the redN elements at x[outOffset(i) + redOffset(j)].
struct ReduceIndexer {
  int outNdim;
  int64_t outShape[kMaxDims];
  int64_t outStride[kMaxDims];
  int redNdim;
  int64_t redShape[kMaxDims];
  int64_t redStride[kMaxDims];

  ANTLER_HD int64_t outOffset(int64_t i) const {
    int64_t o = 0;
    for (int d = outNdim - 1; d >= 0; --d) { o += (i % outShape[d]) * outStride[d]; i /= outShape[d]; }
    return o;
  }
  ANTLER_HD int64_t redOffset(int64_t j) const {
    int64_t o = 0;
    for (int d = redNdim - 1; d >= 0; --d) { o += (j % redShape[d]) * redStride[d]; j /= redShape[d]; }
    return o;
  }
};

enum class ReduceOp : int { Sum = 0, Max = 1, Min = 2, Prod = 3 };

// out[i] = cond[ic] != 0 ? a[ia] : b[ib] over a broadcast output shape.
struct TernaryIndexer {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t strideC[kMaxDims];
  int64_t strideA[kMaxDims];
  int64_t strideB[kMaxDims];

  ANTLER_HD void offsets(int64_t linear, int64_t& oc, int64_t& oa, int64_t& ob) const {
    oc = 0; oa = 0; ob = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t idx = linear % shape[d];
      linear /= shape[d];
      oc += idx * strideC[d];
      oa += idx * strideA[d];
      ob += idx * strideB[d];
    }
  }
};

}  // namespace antler::kernels
