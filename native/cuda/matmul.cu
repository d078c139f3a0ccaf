// The built-in GEMM, for machines without cuBLAS (and sizes beyond its 32-bit
// parameters): a classic shared-memory tiled kernel with register blocking.
#include "ops.cuh"

namespace antler::cuda {

constexpr int kTileM = 64;         // rows of C per block
constexpr int kTileN = 64;         // columns of C per block
constexpr int kTileK = 16;         // depth of one shared-memory stage
constexpr int kThreadsX = 16;      // threads along a tile's columns
constexpr int kThreadsY = 16;      // threads along a tile's rows
constexpr int kGemmThreads = kThreadsX * kThreadsY;
constexpr int kRowsPerThread = kTileM / kThreadsY;   // 4
constexpr int kColsPerThread = kTileN / kThreadsX;   // 4
constexpr int kLoadsA = kTileM * kTileK / kGemmThreads;  // elements of A each thread stages: 4
constexpr int kLoadsB = kTileK * kTileN / kGemmThreads;  // 4
constexpr int kMaxGridYZ = 65535;
static_assert(kTileM % kThreadsY == 0 && kTileN % kThreadsX == 0, "tiles split evenly over threads");
static_assert(kTileM * kTileK % kGemmThreads == 0 && kTileK * kTileN % kGemmThreads == 0, "stages split evenly");

// For each batch z, C_z[m, n] = op(A_z) op(B_z) with op(A)[i, p] = A[i, p] or
// A[p, i] (transA) and op(B)[p, j] = B[p, j] or B[j, p] (transB), all row-major;
// A_z and B_z start at the batch indexer's offsets, C_z at z·m·n.
//
// A block owns a 64×64 tile of C and walks k in stages of 16: it stages
// op(A)[tile rows, stage] and op(B)[stage, tile cols] in shared memory (zeros
// outside the matrices, so no tail case inside the product loop), then each
// thread accumulates a 4×4 sub-block in registers. Thread (tx, ty) owns rows
// ty + 16r and columns tx + 16c: in a warp, the A reads from shared memory are
// broadcasts, the B reads and C writes are 16 consecutive elements.
// Global reads follow whichever of op(A)'s axes is contiguous in memory, so
// consecutive threads read consecutive addresses for either transpose flag.
// Tiles and batches beyond the grid's limits are covered by looping; the loop
// bounds are uniform across a block, so every thread reaches each barrier.
// The transpose flags are template parameters so the staging index math is
// constant (as runtime flags they cost registers and a small spill).
template <typename T, bool transA, bool transB>
static __global__ void __launch_bounds__(kGemmThreads, 2)
    gemmTiledKernel(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, int64_t m, int64_t n,
                    int64_t k, int64_t batch, kernels::BroadcastIndexer batchIndex) {
  // +1 column of padding: the non-contiguous staging writes hit distinct banks.
  __shared__ T As[kTileK][kTileM + 1];
  __shared__ T Bs[kTileK][kTileN + 1];
  const int tx = threadIdx.x % kThreadsX;
  const int ty = threadIdx.x / kThreadsX;
  const int64_t tilesM = (m + kTileM - 1) / kTileM;
  const int64_t tilesN = (n + kTileN - 1) / kTileN;

  for (int64_t z = blockIdx.z; z < batch; z += gridDim.z) {
    int64_t offA = 0, offB = 0;
    batchIndex.offsets(z, offA, offB);
    const T* a = A + offA;
    const T* b = B + offB;
    T* c = C + z * m * n;

    for (int64_t tileRow = blockIdx.y; tileRow < tilesM; tileRow += gridDim.y) {
      for (int64_t tileCol = blockIdx.x; tileCol < tilesN; tileCol += gridDim.x) {
        const int64_t row0 = tileRow * kTileM;
        const int64_t col0 = tileCol * kTileN;
        T acc[kRowsPerThread][kColsPerThread];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
          for (int cc = 0; cc < kColsPerThread; ++cc) acc[r][cc] = T(0);

        for (int64_t p0 = 0; p0 < k; p0 += kTileK) {
#pragma unroll
          for (int l = 0; l < kLoadsA; ++l) {
            const int e = threadIdx.x + l * kGemmThreads;
            // A stored [m, k] is contiguous along p; stored [k, m] (transA) along i.
            const int i = transA ? e % kTileM : e / kTileK;
            const int p = transA ? e / kTileM : e % kTileK;
            const int64_t gi = row0 + i, gp = p0 + p;
            T v = T(0);
            if (gi < m && gp < k) v = transA ? a[gp * m + gi] : a[gi * k + gp];
            As[p][i] = v;
          }
#pragma unroll
          for (int l = 0; l < kLoadsB; ++l) {
            const int e = threadIdx.x + l * kGemmThreads;
            // B stored [k, n] is contiguous along j; stored [n, k] (transB) along p.
            const int j = transB ? e / kTileK : e % kTileN;
            const int p = transB ? e % kTileK : e / kTileN;
            const int64_t gj = col0 + j, gp = p0 + p;
            T v = T(0);
            if (gj < n && gp < k) v = transB ? b[gj * k + gp] : b[gp * n + gj];
            Bs[p][j] = v;
          }
          __syncthreads();
#pragma unroll
          for (int p = 0; p < kTileK; ++p) {
            T av[kRowsPerThread], bv[kColsPerThread];
#pragma unroll
            for (int r = 0; r < kRowsPerThread; ++r) av[r] = As[p][ty + r * kThreadsY];
#pragma unroll
            for (int cc = 0; cc < kColsPerThread; ++cc) bv[cc] = Bs[p][tx + cc * kThreadsX];
#pragma unroll
            for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
              for (int cc = 0; cc < kColsPerThread; ++cc) acc[r][cc] += av[r] * bv[cc];
          }
          __syncthreads();  // before the next stage overwrites As and Bs
        }

#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) {
          const int64_t gi = row0 + ty + r * kThreadsY;
#pragma unroll
          for (int cc = 0; cc < kColsPerThread; ++cc) {
            const int64_t gj = col0 + tx + cc * kThreadsX;
            if (gi < m && gj < n) c[gi * n + gj] = acc[r][cc];
          }
        }
      }
    }
  }
}

template <typename T>
static void launchGemm(Context& ctx, const MatmulArgs& args) {
  const int64_t tilesM = (args.m + kTileM - 1) / kTileM;
  const int64_t tilesN = (args.n + kTileN - 1) / kTileN;
  const int64_t maxGridX = 0x7fffffff;
  const dim3 grid(static_cast<unsigned>(tilesN < maxGridX ? tilesN : maxGridX),
                  static_cast<unsigned>(tilesM < kMaxGridYZ ? tilesM : kMaxGridYZ),
                  static_cast<unsigned>(args.batch < kMaxGridYZ ? args.batch : kMaxGridYZ));
  const auto kernel = args.transA ? (args.transB ? gemmTiledKernel<T, true, true> : gemmTiledKernel<T, true, false>)
                                  : (args.transB ? gemmTiledKernel<T, false, true> : gemmTiledKernel<T, false, false>);
  kernel<<<grid, kGemmThreads, 0, ctx.stream>>>(static_cast<const T*>(args.a), static_cast<const T*>(args.b),
                                                static_cast<T*>(args.c), args.m, args.n, args.k, args.batch,
                                                args.batchIndex);
  ANTLER_LAUNCH_CHECK("matmul");
}

void matmulTiled(Context& ctx, DType t, const MatmulArgs& args) {
  if (args.m <= 0 || args.n <= 0 || args.batch <= 0) return;
  if (args.k <= 0) return fill(ctx, args.c, t, args.batch * args.m * args.n, 0.0);
  if (args.batchIndex.ndim < 0 || args.batchIndex.ndim > kernels::kMaxDims)
    fail(Code::Internal, "matmul: batch indexer has ", args.batchIndex.ndim, " dims; expected 0 to ",
         kernels::kMaxDims);
  switch (t) {
    case DType::Float32: return launchGemm<float>(ctx, args);
    case DType::Float64: return launchGemm<double>(ctx, args);
    default: break;
  }
  fail(Code::DtypeMismatch, "matmul: dtype ", dtypeName(t), " is not supported; expected float32 or float64");
}

}  // namespace antler::cuda
