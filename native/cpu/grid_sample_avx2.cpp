// grid_sample.cpp compiled a second time, for AVX2 (see isa.h).
#include "isa_avx2_prelude.h"
#if ANTLER_CPU_AVX2_VARIANT
#define ANTLER_GRID_GATHER 1  // the loops over points gather x (vgatherdps/vgatherdpd)
#include "grid_sample.cpp"
#pragma GCC pop_options
#endif
