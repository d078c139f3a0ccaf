// Reductions over axes, strided copies and where().
//
// reduce: out[i] = ⊕_{j < redN} x[outOffset(i) + redOffset(j)], ⊕ ∈ {+, max, min}.
// A block of 256 threads is bx outputs × by lanes (bx·by = 256). Lane y of
// output i folds j = j0 + y, j0 + y + by, … in order; the by lane values are
// then folded by a fixed shared-memory tree. When there are too few outputs to
// fill the device, the j range is also cut into `splits` chunks, one per
// blockIdx.y, whose results a second kernel folds in chunk order.
// bx, by and splits depend only on the shapes, never on the device or on
// timing, and nothing is accumulated atomically, so a given input gives the
// same bits on every run.
#include <type_traits>

#include "ops.cuh"

namespace antler::cuda {

using kernels::kMaxDims;
using kernels::ReduceOp;

namespace {

constexpr int kReduceBlock = 256;          // threads per reduce block, a power of two
constexpr int64_t kReduceTargetBlocks = 1024;
constexpr int64_t kReduceMinPerLane = 64;  // a split gives each lane at least this many elements

// Sum accumulates in double for float types; for int32 in a 64-bit unsigned
// integer, whose wrap-around is defined and whose low 32 bits are the int32 sum.
template <ReduceOp Op, typename T>
struct ReduceMath {
  using Acc = T;  // max/min are exact in T
  static __device__ __forceinline__ Acc identity() {
    if constexpr (std::is_same_v<T, int32_t>) return Op == ReduceOp::Max ? INT32_MIN : INT32_MAX;
    else return Op == ReduceOp::Max ? T(-INFINITY) : T(INFINITY);
  }
  static __device__ __forceinline__ Acc load(T v) { return v; }
  // NaN wins from either side (kernels::applyBinary's maximum/minimum).
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) {
    return kernels::applyBinary<T>(Op == ReduceOp::Max ? kernels::BinaryOp::Maximum : kernels::BinaryOp::Minimum, a,
                                   b);
  }
  static __device__ __forceinline__ T finish(Acc a) { return a; }
};

template <typename T>
struct ReduceMath<ReduceOp::Sum, T> {
  using Acc = std::conditional_t<std::is_same_v<T, int32_t>, unsigned long long, double>;
  static __device__ __forceinline__ Acc identity() { return Acc(0); }
  static __device__ __forceinline__ Acc load(T v) {
    if constexpr (std::is_same_v<T, int32_t>) return static_cast<unsigned long long>(static_cast<long long>(v));
    else return static_cast<double>(v);
  }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return a + b; }
  static __device__ __forceinline__ T finish(Acc a) {
    if constexpr (std::is_same_v<T, int32_t>) return static_cast<int32_t>(static_cast<uint32_t>(a));
    else return static_cast<T>(a);
  }
};

// Products as sums: in double, for int32 in a 64-bit unsigned integer (the low 32 bits are the wrapped product).
template <typename T>
struct ReduceMath<ReduceOp::Prod, T> {
  using Acc = typename ReduceMath<ReduceOp::Sum, T>::Acc;
  static __device__ __forceinline__ Acc identity() { return Acc(1); }
  static __device__ __forceinline__ Acc load(T v) { return ReduceMath<ReduceOp::Sum, T>::load(v); }
  static __device__ __forceinline__ Acc combine(Acc a, Acc b) { return a * b; }
  static __device__ __forceinline__ T finish(Acc a) { return ReduceMath<ReduceOp::Sum, T>::finish(a); }
};

// Merges adjacent dims that walk memory as one in every stride array
// (stride[d] == stride[d+1]·shape[d+1]) and drops extent-1 dims. The offset
// of every linear index is unchanged; the kernels then divide by fewer extents.
template <int K>
int collapseDims(int ndim, int64_t* shape, int64_t* const (&strides)[K]) {
  int kept = 0;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    bool merge = kept > 0;
    for (int k = 0; k < K && merge; ++k) merge = strides[k][kept - 1] == strides[k][d] * shape[d];
    if (merge) {
      shape[kept - 1] *= shape[d];
      for (int k = 0; k < K; ++k) strides[k][kept - 1] = strides[k][d];
    } else {
      shape[kept] = shape[d];
      for (int k = 0; k < K; ++k) strides[k][kept] = strides[k][d];
      ++kept;
    }
  }
  return kept;
}

int64_t pow2AtLeast(int64_t v) {  // v <= 2^30
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

void checkNdim(const char* op, int ndim) {
  if (ndim < 0 || ndim > kMaxDims) fail(Code::Internal, op, ": indexer has ", ndim, " dims; expected 0 to ", kMaxDims);
}

}  // namespace

// One pass of the reduction described at the top: block (bx, by) folds
// outputs base + threadIdx.x over j in chunk blockIdx.y. With partials null it
// writes out[i]; otherwise partials[i · gridDim.y + chunk].
template <ReduceOp Op, typename T>
static __global__ void __launch_bounds__(kReduceBlock)
    reduceKernel(const T* x, int64_t outN, int64_t redN, kernels::ReduceIndexer idx, int64_t chunk, T* out,
                 typename ReduceMath<Op, T>::Acc* partials) {
  using M = ReduceMath<Op, T>;
  using Acc = typename M::Acc;
  __shared__ Acc shared[kReduceBlock];
  const int bx = blockDim.x, by = blockDim.y;
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int tid = ty * bx + tx;
  const int64_t j0 = static_cast<int64_t>(blockIdx.y) * chunk;
  const int64_t j1 = j0 + chunk < redN ? j0 + chunk : redN;
  const bool flat = idx.redNdim <= 1;  // the common case after collapsing: no division per element
  const int64_t flatStride = idx.redNdim == 1 ? idx.redStride[0] : 0;
  // base is the same for the whole block, so every thread reaches every __syncthreads.
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * bx; base < outN; base += static_cast<int64_t>(gridDim.x) * bx) {
    const int64_t o = base + tx;
    Acc acc = M::identity();
    if (o < outN) {
      const T* xo = x + idx.outOffset(o);
      if (flat)
        for (int64_t j = j0 + ty; j < j1; j += by) acc = M::combine(acc, M::load(xo[j * flatStride]));
      else
        for (int64_t j = j0 + ty; j < j1; j += by) acc = M::combine(acc, M::load(xo[idx.redOffset(j)]));
    }
    shared[tid] = acc;
    __syncthreads();
    for (int half = by / 2; half > 0; half /= 2) {
      if (ty < half) shared[tid] = M::combine(shared[tid], shared[tid + half * bx]);
      __syncthreads();
    }
    // Thread (tx, 0) alone reads shared[tx] and alone writes it next iteration: no barrier needed here.
    if (ty == 0 && o < outN) {
      if (partials == nullptr) out[o] = M::finish(shared[tx]);
      else partials[o * gridDim.y + blockIdx.y] = shared[tx];
    }
  }
}

// out[i] = fold of partials[i · splits + s] over s = 0, 1, …, splits − 1.
template <ReduceOp Op, typename T>
static __global__ void reduceSplitsKernel(const typename ReduceMath<Op, T>::Acc* partials, int64_t outN, int splits,
                                          T* out) {
  using M = ReduceMath<Op, T>;
  for (int64_t o = gridStart(); o < outN; o += gridStride()) {
    const auto* p = partials + o * splits;
    auto acc = p[0];
    for (int s = 1; s < splits; ++s) acc = M::combine(acc, p[s]);
    out[o] = M::finish(acc);
  }
}

template <ReduceOp Op, typename T>
static void launchReduce(Context& ctx, void* out, const void* x, int64_t outN, int64_t redN,
                         const kernels::ReduceIndexer& given) {
  using Acc = typename ReduceMath<Op, T>::Acc;
  kernels::ReduceIndexer idx = given;
  int64_t* outStrides[1] = {idx.outStride};
  int64_t* redStrides[1] = {idx.redStride};
  idx.outNdim = collapseDims(idx.outNdim, idx.outShape, outStrides);
  idx.redNdim = collapseDims(idx.redNdim, idx.redShape, redStrides);

  // Lanes along a contiguous reduced dim read adjacent elements; otherwise
  // up to 32 adjacent outputs share a warp, which is coalesced when the
  // outputs are what is adjacent in memory (a reduction over a leading axis).
  const bool contiguous = idx.redNdim >= 1 && idx.redStride[idx.redNdim - 1] == 1;
  const int64_t bx0 = contiguous ? 1 : pow2AtLeast(outN < 32 ? outN : 32);
  const int64_t lanesWanted = pow2AtLeast(redN < kReduceBlock ? redN : kReduceBlock);
  const int by = static_cast<int>(lanesWanted < kReduceBlock / bx0 ? lanesWanted : kReduceBlock / bx0);
  const int bx = kReduceBlock / by;

  const int64_t outBlocks = (outN + bx - 1) / bx;
  int64_t splits = 1;
  if (outBlocks < kReduceTargetBlocks) {
    const int64_t byWork = (redN + by * kReduceMinPerLane - 1) / (by * kReduceMinPerLane);
    const int64_t byFill = kReduceTargetBlocks / outBlocks;
    splits = byWork < byFill ? byWork : byFill;
    if (splits < 1) splits = 1;
  }
  const int64_t chunk = (redN + splits - 1) / splits;
  splits = (redN + chunk - 1) / chunk;

  // The grid only decides which block computes which outputs, not how: capping it changes no result.
  const int64_t cap = static_cast<int64_t>(ctx.multiprocessors) * 32;
  const dim3 grid(static_cast<unsigned>(outBlocks < cap ? outBlocks : cap), static_cast<unsigned>(splits));
  const dim3 block(static_cast<unsigned>(bx), static_cast<unsigned>(by));
  T* o = static_cast<T*>(out);
  const T* src = static_cast<const T*>(x);
  if (splits == 1) {
    reduceKernel<Op, T><<<grid, block, 0, ctx.stream>>>(src, outN, redN, idx, chunk, o, nullptr);
    ANTLER_LAUNCH_CHECK("reduce");
    return;
  }
  PoolBuffer partials(ctx, static_cast<size_t>(outN * splits) * sizeof(Acc));
  Acc* p = static_cast<Acc*>(partials.get());
  reduceKernel<Op, T><<<grid, block, 0, ctx.stream>>>(src, outN, redN, idx, chunk, o, p);
  ANTLER_LAUNCH_CHECK("reduce");
  reduceSplitsKernel<Op, T><<<gridFor(ctx, outN), kBlockSize, 0, ctx.stream>>>(p, outN, static_cast<int>(splits), o);
  ANTLER_LAUNCH_CHECK("reduce");
}

template <typename T>
static void reduceTyped(Context& ctx, ReduceOp op, void* out, const void* x, int64_t outN, int64_t redN,
                        const kernels::ReduceIndexer& idx) {
  switch (op) {
    case ReduceOp::Sum: return launchReduce<ReduceOp::Sum, T>(ctx, out, x, outN, redN, idx);
    case ReduceOp::Max: return launchReduce<ReduceOp::Max, T>(ctx, out, x, outN, redN, idx);
    case ReduceOp::Min: return launchReduce<ReduceOp::Min, T>(ctx, out, x, outN, redN, idx);
    case ReduceOp::Prod: return launchReduce<ReduceOp::Prod, T>(ctx, out, x, outN, redN, idx);
  }
  fail(Code::Internal, "reduce: unknown op ", static_cast<int>(op));
}

void reduce(Context& ctx, ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
            const kernels::ReduceIndexer& idx) {
  if (outN <= 0) return;
  checkNdim("reduce", idx.outNdim);
  checkNdim("reduce", idx.redNdim);
  if (redN <= 0) {
    if (op != ReduceOp::Sum) fail(Code::Internal, "reduce: max/min/prod over 0 elements (core/ops.cpp fills those)");
    // All-zero bits are 0 in every dtype.
    ANTLER_CUDA_CHECK(cudaMemsetAsync(out, 0, static_cast<size_t>(outN) * dtypeSize(t), ctx.stream));
    return;
  }
  switch (t) {
    case DType::Float32: return reduceTyped<float>(ctx, op, out, x, outN, redN, idx);
    case DType::Float64: return reduceTyped<double>(ctx, op, out, x, outN, redN, idx);
    case DType::Int32: return reduceTyped<int32_t>(ctx, op, out, x, outN, redN, idx);
  }
  fail(Code::Internal, "reduce: unknown dtype ", static_cast<int>(t));
}

// dst[od(i)] = src[os(i)]. U is an unsigned integer of the element's size:
// a copy moves bits, never converts.
template <typename U>
static __global__ void copyStridedKernel(U* dst, const U* src, int64_t n, kernels::StridedIndexer idx) {
  if (idx.ndim == 1) {
    const int64_t ss = idx.srcStride[0], ds = idx.dstStride[0];
    for (int64_t i = gridStart(); i < n; i += gridStride()) dst[i * ds] = src[i * ss];
    return;
  }
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    int64_t os = 0, od = 0;
    idx.offsets(i, os, od);
    dst[od] = src[os];
  }
}

template <typename U>
static void launchCopyStrided(Context& ctx, void* dst, const void* src, int64_t n, kernels::StridedIndexer idx) {
  int64_t* strides[2] = {idx.srcStride, idx.dstStride};
  idx.ndim = collapseDims(idx.ndim, idx.shape, strides);
  copyStridedKernel<U><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(static_cast<U*>(dst),
                                                                        static_cast<const U*>(src), n, idx);
  ANTLER_LAUNCH_CHECK("copyStrided");
}

void copyStrided(Context& ctx, DType t, void* dst, const void* src, int64_t n, const kernels::StridedIndexer& idx) {
  if (n <= 0) return;
  checkNdim("copyStrided", idx.ndim);
  switch (dtypeSize(t)) {
    case 4: return launchCopyStrided<uint32_t>(ctx, dst, src, n, idx);
    case 8: return launchCopyStrided<unsigned long long>(ctx, dst, src, n, idx);
  }
  fail(Code::Internal, "copyStrided: unknown dtype ", static_cast<int>(t));
}

// out[i] = cond[oc] != 0 ? a[oa] : b[ob]; out is contiguous. A NaN condition
// counts as true (NaN != 0), as a float converts to bool.
template <typename U, typename C>
static __global__ void whereKernel(U* out, const C* cond, const U* a, const U* b, int64_t n,
                                   kernels::TernaryIndexer idx) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) {
    int64_t oc = 0, oa = 0, ob = 0;
    idx.offsets(i, oc, oa, ob);
    out[i] = cond[oc] != C(0) ? a[oa] : b[ob];
  }
}

template <typename U, typename C>
static void launchWhere(Context& ctx, void* out, const void* cond, const void* a, const void* b, int64_t n,
                        kernels::TernaryIndexer idx) {
  int64_t* strides[3] = {idx.strideC, idx.strideA, idx.strideB};
  idx.ndim = collapseDims(idx.ndim, idx.shape, strides);
  whereKernel<U, C><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<U*>(out), static_cast<const C*>(cond), static_cast<const U*>(a), static_cast<const U*>(b), n, idx);
  ANTLER_LAUNCH_CHECK("where");
}

template <typename U>
static void whereCond(Context& ctx, DType condType, void* out, const void* cond, const void* a, const void* b,
                      int64_t n, const kernels::TernaryIndexer& idx) {
  switch (condType) {
    case DType::Float32: return launchWhere<U, float>(ctx, out, cond, a, b, n, idx);
    case DType::Float64: return launchWhere<U, double>(ctx, out, cond, a, b, n, idx);
    case DType::Int32: return launchWhere<U, int32_t>(ctx, out, cond, a, b, n, idx);
  }
  fail(Code::Internal, "where: unknown condition dtype ", static_cast<int>(condType));
}

void where(Context& ctx, DType t, DType condType, void* out, const void* cond, const void* a, const void* b, int64_t n,
           const kernels::TernaryIndexer& idx) {
  if (n <= 0) return;
  checkNdim("where", idx.ndim);
  switch (dtypeSize(t)) {
    case 4: return whereCond<uint32_t>(ctx, condType, out, cond, a, b, n, idx);
    case 8: return whereCond<unsigned long long>(ctx, condType, out, cond, a, b, n, idx);
  }
  fail(Code::Internal, "where: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cuda
