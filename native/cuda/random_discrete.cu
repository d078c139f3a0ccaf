// random-discrete: CUDA launchers over native/kernels/random_discrete.h (every launch checked).
#include "../kernels/random_discrete.h"
