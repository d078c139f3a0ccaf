// The CPU's vectorised, compute-bound loop families (unary.cpp: exp, tanh,
// sigmoid… and their gradients; rows.cpp: softmax, cross-entropy, layer
// norm, embedding rows; sru.cpp: the fused SRU recurrence; cells.cpp: the
// DEER cells; grid_sample.cpp: gridSample's kernels) are compiled twice: once for the x86-64 baseline
// (SSE2), as every other file, and once more for AVX2 through the
// *_avx2.cpp wrappers (isa_avx2_prelude.h). The entry points below (ops.h)
// pick a copy at run time: AVX2 when the CPU and the OS support it, unless
// ANTLER_CPU_ISA=baseline. (Elsewhere than x86-64 with GCC there is one,
// portable copy, reported as 'baseline'.)
//
// Both copies compute bit-identical results: -ffp-contract=off and no
// -mfma, so no multiply-add is fused; no -ffast-math, so no reduction is
// reordered; wider vectors only run more of the same lanes at once
// (test/cpu/isa.test.ts compares the two copies bit for bit). One exception:
// a NaN result's sign and payload. x86 passes on the first operand's NaN, and
// GCC may swap a commutative operation's operands when it vectorises, so
// where two NaNs meet either may come out (still a NaN).
//
// cells.cpp (the GRU/LSTM/RNN steps of the sequential walks and DEER's
// linearisation) has both copies too since its unit loops vectorise. scan.cpp
// and elk.cpp were tried and gained nothing (`npm run bench -- isa`: their
// inner loops were not vectorised, so AVX2 only re-encodes scalar code); they
// have one copy. scan.cpp's dense loops and the residual vectorise since
// (DenseCpu), but stream the n² entries of every step's A from memory; a
// second copy was not retried.
//
// Each body file defines its entry points in namespace ANTLER_ISA_NS
// (isa_baseline by default; isa_avx2 when compiled through its wrapper), and
// isa.cpp defines the ops.h functions as dispatchers over the list below.
#pragma once
#include <cstdint>

#include "ops.h"

#ifndef ANTLER_ISA_NS
#define ANTLER_ISA_NS isa_baseline
#endif

// GCC on x86-64 builds the AVX2 copy (its `#pragma GCC target`); elsewhere
// only the baseline copy exists and the wrappers compile to nothing.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ANTLER_CPU_AVX2_VARIANT 1
#else
#define ANTLER_CPU_AVX2_VARIANT 0
#endif

// X(return type, name, (parameters), (arguments)) for every entry point that
// has an AVX2 copy; the signatures are those of ops.h.
#define ANTLER_CPU_ISA_ENTRIES(X)                                                                                     \
  X(void, unary, (kernels::UnaryOp op, DType t, void* y, const void* x, int64_t n, double p0, double p1),            \
    (op, t, y, x, n, p0, p1))                                                                                          \
  X(void, unaryBackward,                                                                                               \
    (kernels::UnaryOp op, DType t, void* gx, const void* x, const void* y, const void* gy, int64_t n, double p0,     \
     double p1),                                                                                                       \
    (op, t, gx, x, y, gy, n, p0, p1))                                                                                  \
  X(void, softmax, (DType t, bool log, void* y, const void* x, int64_t outer, int64_t dim, int64_t inner),           \
    (t, log, y, x, outer, dim, inner))                                                                                 \
  X(void, softmaxBackward,                                                                                             \
    (DType t, bool log, void* gx, const void* y, const void* gy, int64_t outer, int64_t dim, int64_t inner),         \
    (t, log, gx, y, gy, outer, dim, inner))                                                                            \
  X(int64_t, crossEntropy,                                                                                             \
    (DType t, void* loss, void* valid, const void* logits, const int32_t* labels, int64_t N, int64_t C,              \
     int64_t ignoreIndex),                                                                                             \
    (t, loss, valid, logits, labels, N, C, ignoreIndex))                                                               \
  X(void, crossEntropyBackward,                                                                                        \
    (DType t, void* gx, const void* logits, const int32_t* labels, const void* g, int64_t N, int64_t C,              \
     int64_t ignoreIndex),                                                                                             \
    (t, gx, logits, labels, g, N, C, ignoreIndex))                                                                     \
  X(int64_t, gatherRows,                                                                                               \
    (DType t, void* out, const void* table, const int32_t* idx, int64_t n, int64_t rows, int64_t cols),              \
    (t, out, table, idx, n, rows, cols))                                                                               \
  X(int64_t, scatterAddRows,                                                                                           \
    (DType t, void* gtable, const void* g, const int32_t* idx, int64_t n, int64_t rows, int64_t cols),               \
    (t, gtable, g, idx, n, rows, cols))                                                                                \
  X(void, layerNorm,                                                                                                   \
    (DType t, void* y, void* mean, void* rstd, const void* x, const void* w, const void* b, int64_t N, int64_t D,    \
     double eps),                                                                                                      \
    (t, y, mean, rstd, x, w, b, N, D, eps))                                                                            \
  X(void, layerNormBackward,                                                                                           \
    (DType t, void* gx, void* gw, void* gb, const void* gy, const void* x, const void* mean, const void* rstd,       \
     const void* w, int64_t N, int64_t D),                                                                             \
    (t, gx, gw, gb, gy, x, mean, rstd, w, N, D))                                                                     \
  X(void, sruForward, (DType t, const kernels::SruConfig& cfg, const SruInputs& in, void* h, void* c, void* cLast),  \
    (t, cfg, in, h, c, cLast))                                                                                         \
  X(void, sruBackward,                                                                                                 \
    (DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, const void* gh, const void* gcLast,  \
     const SruGrads& out),                                                                                             \
    (t, cfg, in, c, gh, gcLast, out))                                                                                  \
  X(void, sruDeer,                                                                                                     \
    (DType t, const kernels::SruConfig& cfg, const SruInputs& in, const void* c, void* F, void* J, void* bOff,       \
     void* h),                                                                                                         \
    (t, cfg, in, c, F, J, bOff, h))                                                                                  \
  X(void, cellLinearize,                                                                                               \
    (DType t, const kernels::CellConfig& cfg, kernels::CellJacobian jac, const CellInputs& in, void* f, void* J,     \
     void* bOff),                                                                                                      \
    (t, cfg, jac, in, f, J, bOff))                                                                                     \
  X(void, cellSequential, (DType t, const kernels::CellConfig& cfg, const CellInputs& in, void* y), (t, cfg, in, y))  \
  X(void, gridSample,                                                                                                  \
    (DType t, void* out, const void* x, const void* grid, int64_t N, int64_t C, const int64_t* sizes, int64_t per,   \
     int dims, int mode, int padding, bool align),                                                                     \
    (t, out, x, grid, N, C, sizes, per, dims, mode, padding, align))                                                  \
  X(void, gridSampleBackward,                                                                                          \
    (DType t, void* gx, void* gg, const void* gy, const void* x, const void* grid, int64_t N, int64_t C,             \
     const int64_t* sizes, int64_t per, int dims, int mode, int padding, bool align),                                 \
    (t, gx, gg, gy, x, grid, N, C, sizes, per, dims, mode, padding, align))                                           \
  X(void, cellBackward,                                                                                                \
    (DType t, const kernels::CellConfig& cfg, const CellInputs& in, const void* g, bool adjoint, void* gxp,          \
     void* ghh, void* gy0),                                                                                            \
    (t, cfg, in, g, adjoint, gxp, ghh, gy0))

namespace antler::cpu {

#define ANTLER_CPU_ISA_DECLARE(R, name, params, args) R name params;
namespace isa_baseline {
ANTLER_CPU_ISA_ENTRIES(ANTLER_CPU_ISA_DECLARE)
}
#if ANTLER_CPU_AVX2_VARIANT
namespace isa_avx2 {
ANTLER_CPU_ISA_ENTRIES(ANTLER_CPU_ISA_DECLARE)
}
#endif
#undef ANTLER_CPU_ISA_DECLARE

// "avx2" or "baseline": the copy the entry points run (chosen once).
const char* cpuIsa();
// Whether this CPU (and its OS) can run the AVX2 copy, and the build has one.
bool cpuAvx2Supported();

}  // namespace antler::cpu
