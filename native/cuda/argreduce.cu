// argmax/argmin along the middle axis of x viewed as [outer, n, inner], with
// the (value, index) order of kernels/argreduce.h, shared with the CPU.
//
// inner == 1 (the reduced axis is the last, e.g. logits [B, V]): rows are
// contiguous and each is reduced by a group of threads (kernels::rowblock, as
// softmax.cu): every thread walks a strided part of the row, then the row's
// (value, index) pairs are combined by warp shuffles and shared memory. The
// order is total, so the fixed tree picks the same index as a sequential walk.
// inner > 1: one thread walks each line and neighbouring threads take
// neighbouring inner positions, which keeps every load coalesced.
#include <cmath>

#include "../kernels/argreduce.h"
#include "../kernels/rows.h"
#include "ops.cuh"

namespace antler::cuda {

namespace rb = kernels::rowblock;

// Reduces one (value, index) pair per thread over the threads of its row
// (threadIdx.y); every thread of the row gets the winner. All threads of the
// block must call it together, rows past the end included. Values travel as
// double (exact for float32 and int32) and so do indices (exact: they are
// below 2^31).
static __device__ __forceinline__ void argRowReduce(double& v, int64_t& i, double* sharedV, double* sharedI,
                                                    bool largest) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const double ov = __shfl_xor_sync(0xffffffffu, v, offset);
    const int64_t oi = static_cast<int64_t>(__shfl_xor_sync(0xffffffffu, static_cast<double>(i), offset));
    if (kernels::argBeats(ov, oi, v, i, largest)) {
      v = ov;
      i = oi;
    }
  }
  const int warpsPerRow = static_cast<int>(blockDim.x) / 32;
  if (warpsPerRow == 1) return;
  const int first = static_cast<int>(threadIdx.y) * warpsPerRow;
  __syncthreads();   // the previous row's readers are done with shared
  if (threadIdx.x % 32 == 0) {
    sharedV[first + static_cast<int>(threadIdx.x) / 32] = v;
    sharedI[first + static_cast<int>(threadIdx.x) / 32] = static_cast<double>(i);
  }
  __syncthreads();
  v = sharedV[first];
  i = static_cast<int64_t>(sharedI[first]);
  for (int w = 1; w < warpsPerRow; ++w) {
    const double wv = sharedV[first + w];
    const int64_t wi = static_cast<int64_t>(sharedI[first + w]);
    if (kernels::argBeats(wv, wi, v, i, largest)) {
      v = wv;
      i = wi;
    }
  }
}

template <typename T>
static __global__ void __launch_bounds__(rb::kRowBlockThreads)
    argReduceRowsKernel(int32_t* out, const T* x, int64_t rows, int64_t n, bool largest) {
  __shared__ double sharedV[rb::kWarpsPerBlock];
  __shared__ double sharedI[rb::kWarpsPerBlock];
  const int64_t rowsPerBlock = blockDim.y;
  for (int64_t first = blockIdx.x * rowsPerBlock; first < rows; first += gridDim.x * rowsPerBlock) {
    const int64_t row = first + threadIdx.y;
    const bool active = row < rows;
    // A thread without elements holds a pair every element beats: the worst value, past the last index.
    double v = largest ? -INFINITY : INFINITY;
    int64_t k = n;
    if (active && static_cast<int64_t>(threadIdx.x) < n) {
      const T* xs = x + row * n;
      T best = xs[threadIdx.x];
      int64_t bestK = threadIdx.x;
      for (int64_t d = threadIdx.x + blockDim.x; d < n; d += blockDim.x) {
        const T xd = xs[d];
        if (kernels::argBeatsLater(xd, best, largest)) {
          best = xd;
          bestK = d;
          if (xd != xd) break;   // this thread's first NaN: nothing later of its own beats it
        }
      }
      v = static_cast<double>(best);
      k = bestK;
    }
    argRowReduce(v, k, sharedV, sharedI, largest);
    if (active && threadIdx.x == 0) out[row] = static_cast<int32_t>(k);
  }
}

// Lines strided by inner: thread t takes line (o, j), o = t / inner, j = t % inner, and writes out[t].
template <typename T>
static __global__ void argReduceStridedKernel(int32_t* out, const T* x, int64_t outer, int64_t n, int64_t inner,
                                              bool largest) {
  for (int64_t t = gridStart(); t < outer * inner; t += gridStride()) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    out[t] = static_cast<int32_t>(kernels::argReduceLine(x, base, n, inner, largest));
  }
}

template <typename T>
static void launchArgReduce(Context& ctx, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
                            bool largest) {
  int32_t* o = static_cast<int32_t*>(out);
  const T* in = static_cast<const T*>(x);
  if (inner == 1) {
    const dim3 block = rb::shapeFor(n);
    argReduceRowsKernel<T><<<gridFor(ctx, outer, block.y), block, 0, ctx.stream>>>(o, in, outer, n, largest);
  } else {
    argReduceStridedKernel<T>
        <<<gridFor(ctx, outer * inner), kBlockSize, 0, ctx.stream>>>(o, in, outer, n, inner, largest);
  }
  ANTLER_LAUNCH_CHECK("argReduce");
}

void argReduce(Context& ctx, DType t, void* out, const void* x, int64_t outer, int64_t n, int64_t inner,
               bool largest) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  switch (t) {
    case DType::Float32: return launchArgReduce<float>(ctx, out, x, outer, n, inner, largest);
    case DType::Float64: return launchArgReduce<double>(ctx, out, x, outer, n, inner, largest);
    case DType::Int32: return launchArgReduce<int32_t>(ctx, out, x, outer, n, inner, largest);
  }
  fail(Code::Internal, "argReduce: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
