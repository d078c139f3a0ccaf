// cells.cpp compiled a second time, for AVX2 (see isa.h).
#include "isa_avx2_prelude.h"
#if ANTLER_CPU_AVX2_VARIANT
#include "cells.cpp"
#pragma GCC pop_options
#endif
