// Launchers, one per op, each defined in the file of its family (fill.cu,
// random.cu, cast.cu, binary.cu, reduce.cu, matmul.cu). The caller (backend.cu)
// has made ctx's device current; arguments were validated by core/ops.cpp, and
// each launcher checks what its kernels rely on.
#pragma once
#include "../core/backend.h"
#include "common.cuh"

namespace antler::cuda {

void fill(Context& ctx, void* dst, DType t, int64_t n, double value);
void arange(Context& ctx, void* dst, DType t, int64_t n, double start, double step);
void random(Context& ctx, void* dst, DType t, int64_t n, const RandomSpec& spec);
void cast(Context& ctx, void* dst, DType dstType, const void* src, DType srcType, int64_t n);
void binary(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
            const kernels::BroadcastIndexer* idx);
void binaryScalar(Context& ctx, kernels::BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst,
                  int64_t n);
void sumAll(Context& ctx, DType t, const void* src, int64_t n, void* out);
// The built-in tiled GEMM, used when cuBLAS is absent or the sizes overflow its int parameters.
void matmulTiled(Context& ctx, DType t, const MatmulArgs& args);

}  // namespace antler::cuda
