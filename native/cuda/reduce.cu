// Sum of all elements, deterministic: the grid depends only on n, each block
// reduces a fixed set of elements in a fixed tree order, and one more block
// adds the per-block partials in the same way. No floating-point atomics,
// so the same input gives the same bits run after run.
#include "ops.cuh"

namespace antler::cuda {

constexpr int kReduceThreads = 256;      // a power of two: the tree halves it
constexpr int kReduceMaxBlocks = 1024;

// Accumulators: double for float32 and float64; for int32 a 64-bit unsigned
// integer, whose wrap-around is defined and whose low 32 bits are the int32 sum.
template <typename T> struct SumAcc { using type = double; };
template <> struct SumAcc<int32_t> { using type = unsigned long long; };

// Tree sum of one value per thread in shared memory; the result is in shared[0].
template <typename Acc>
static __device__ void blockSum(Acc* shared, Acc value) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kReduceThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
}

// partials[block] = sum of src[i] (times src2[i] when src2 is given: a dot
// product) for the i this block's threads stride over.
template <typename T, typename Acc>
static __global__ void __launch_bounds__(kReduceThreads) sumPartialsKernel(const T* src, const T* src2, int64_t n, Acc* partials) {
  __shared__ Acc shared[kReduceThreads];
  Acc acc = 0;
  if (src2 == nullptr)
    for (int64_t i = gridStart(); i < n; i += gridStride()) acc += static_cast<Acc>(src[i]);
  else
    for (int64_t i = gridStart(); i < n; i += gridStride()) acc += static_cast<Acc>(src[i]) * static_cast<Acc>(src2[i]);
  blockSum(shared, acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

// *out = T(sum of partials[0 .. count)), run as a single block.
template <typename T, typename Acc>
static __global__ void __launch_bounds__(kReduceThreads) sumFinalKernel(const Acc* partials, int count, T* out) {
  __shared__ Acc shared[kReduceThreads];
  Acc acc = 0;
  for (int i = threadIdx.x; i < count; i += kReduceThreads) acc += partials[i];
  blockSum(shared, acc);
  if (threadIdx.x == 0) *out = static_cast<T>(shared[0]);
}

template <typename T>
static void launchSum(Context& ctx, const void* src, const void* src2, int64_t n, void* out, const char* what) {
  using Acc = typename SumAcc<T>::type;
  const int64_t needed = (n + kReduceThreads - 1) / kReduceThreads;
  const int blocks = static_cast<int>(needed < kReduceMaxBlocks ? needed : kReduceMaxBlocks);
  PoolBuffer partials(ctx, static_cast<size_t>(blocks) * sizeof(Acc));
  Acc* p = static_cast<Acc*>(partials.get());
  sumPartialsKernel<T, Acc><<<blocks, kReduceThreads, 0, ctx.stream>>>(static_cast<const T*>(src), static_cast<const T*>(src2), n, p);
  ANTLER_LAUNCH_CHECK(what);
  sumFinalKernel<T, Acc><<<1, kReduceThreads, 0, ctx.stream>>>(p, blocks, static_cast<T*>(out));
  ANTLER_LAUNCH_CHECK(what);
}

void sumAll(Context& ctx, DType t, const void* src, int64_t n, void* out) {
  if (n <= 0) return fill(ctx, out, t, 1, 0.0);
  switch (t) {
    case DType::Float32: return launchSum<float>(ctx, src, nullptr, n, out, "sumAll");
    case DType::Float64: return launchSum<double>(ctx, src, nullptr, n, out, "sumAll");
    case DType::Int32: return launchSum<int32_t>(ctx, src, nullptr, n, out, "sumAll");
  }
  fail(Code::Internal, "sumAll: unknown dtype ", static_cast<int>(t));
}

// Σ a[i]·b[i], accumulated in double with the same fixed-order tree as sumAll.
void dot(Context& ctx, DType t, const void* a, const void* b, int64_t n, void* out) {
  if (n <= 0) return fill(ctx, out, t, 1, 0.0);
  switch (t) {
    case DType::Float32: return launchSum<float>(ctx, a, b, n, out, "dot");
    case DType::Float64: return launchSum<double>(ctx, a, b, n, out, "dot");
    case DType::Int32: break;
  }
  fail(Code::Internal, "dot: dtype ", static_cast<int>(t), " is not a float type");
}

}  // namespace antler::cuda
