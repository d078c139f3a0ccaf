// random-gamma: CPU loops over native/kernels/random_gamma.h.
#include "../kernels/random_gamma.h"
