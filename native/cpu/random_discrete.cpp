// random-discrete: CPU loops over native/kernels/random_discrete.h.
#include "../kernels/random_discrete.h"
