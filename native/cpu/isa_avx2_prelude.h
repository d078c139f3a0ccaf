// Included first by each *_avx2.cpp wrapper (see isa.h). Everything that is
// not one of our loops is included here, before the target pragma, so that
// the inline functions and templates the wrapper instantiates out of line
// (std containers, antler::fail, the Error type) are compiled for the
// baseline: the linker keeps one copy of such a function for the whole
// addon, and an AVX2 one could be the copy the baseline code calls.
// test/cpu/isa.test.ts checks the wrappers' objects for that.
//
// parallel.h and lanes.h come after the pragma, in the body: their templates
// take the loop body as a lambda, and an AVX2 lambda is inlined only into an
// AVX2 instantiation.
#pragma once
#include "isa.h"

#if ANTLER_CPU_AVX2_VARIANT
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "../core/error.h"
#include "../kernels/cells.h"
#include "../kernels/grid_sample.h"
#include "../kernels/rows.h"
#include "../kernels/sru.h"
#include "../kernels/unary.h"
#include "gemm.h"
#include "ops.h"

#if defined(ANTLER_CPU_PARALLEL_H) || defined(ANTLER_CPU_LANES_H)
#error "parallel.h and lanes.h must be included after the AVX2 target pragma"
#endif

#undef ANTLER_ISA_NS
#define ANTLER_ISA_NS isa_avx2
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
