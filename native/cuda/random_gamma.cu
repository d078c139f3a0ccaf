// random-gamma: CUDA launchers over native/kernels/random_gamma.h (every launch checked).
#include "../kernels/random_gamma.h"
