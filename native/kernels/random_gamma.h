// random-gamma: samplers shared by the CPU and CUDA backends (helper's work; see lib/ops/random-special.ts).
#pragma once
#include "hd.h"
#include "philox.h"
