// rand / randn from the counter-based Philox generator in kernels/philox.h.
// Element i of a draw depends only on (seed, stream, i), so the CPU and CUDA
// backends produce the same values whatever the launch shape.
#include "ops.cuh"

namespace antler::cuda {

// One thread per Philox block of kFloatBlock values: element i is lane
// i % 4 of block i / 4, mapped by randomAffine. The last block may be partial.
static __global__ void randomFloatKernel(float* dst, int64_t n, RandomSpec spec) {
  const int64_t blocks = (n + kernels::kFloatBlock - 1) / kernels::kFloatBlock;
  for (int64_t blk = gridStart(); blk < blocks; blk += gridStride()) {
    float raw[kernels::kFloatBlock];
    kernels::randomFloatBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    const int64_t first = blk * kernels::kFloatBlock;
#pragma unroll
    for (int lane = 0; lane < kernels::kFloatBlock; ++lane)
      if (first + lane < n) dst[first + lane] = kernels::randomAffine<float>(raw[lane], spec.normal, spec.a, spec.b);
  }
}

// As above with blocks of kDoubleBlock values.
static __global__ void randomDoubleKernel(double* dst, int64_t n, RandomSpec spec) {
  const int64_t blocks = (n + kernels::kDoubleBlock - 1) / kernels::kDoubleBlock;
  for (int64_t blk = gridStart(); blk < blocks; blk += gridStride()) {
    double raw[kernels::kDoubleBlock];
    kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    const int64_t first = blk * kernels::kDoubleBlock;
#pragma unroll
    for (int lane = 0; lane < kernels::kDoubleBlock; ++lane)
      if (first + lane < n) dst[first + lane] = kernels::randomAffine<double>(raw[lane], spec.normal, spec.a, spec.b);
  }
}

// Uniform integers in [a, b) from the double stream (kernels::uniformInt32).
static __global__ void randomInt32Kernel(int32_t* dst, int64_t n, RandomSpec spec) {
  const int64_t blocks = (n + kernels::kDoubleBlock - 1) / kernels::kDoubleBlock;
  for (int64_t blk = gridStart(); blk < blocks; blk += gridStride()) {
    double raw[kernels::kDoubleBlock];
    kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), false, raw);
    const int64_t first = blk * kernels::kDoubleBlock;
#pragma unroll
    for (int lane = 0; lane < kernels::kDoubleBlock; ++lane)
      if (first + lane < n) dst[first + lane] = kernels::uniformInt32(raw[lane], spec.a, spec.b);
  }
}

void random(Context& ctx, void* dst, DType t, int64_t n, const RandomSpec& spec) {
  if (n <= 0) return;
  if (t == DType::Int32 && spec.normal) fail(Code::DtypeMismatch, "randn: dtype int32 is not supported");
  const int64_t valuesPerThread = t == DType::Float32 ? kernels::kFloatBlock : kernels::kDoubleBlock;
  const unsigned grid = gridFor(ctx, (n + valuesPerThread - 1) / valuesPerThread);
  switch (t) {
    case DType::Float32:
      randomFloatKernel<<<grid, kBlockSize, 0, ctx.stream>>>(static_cast<float*>(dst), n, spec);
      break;
    case DType::Float64:
      randomDoubleKernel<<<grid, kBlockSize, 0, ctx.stream>>>(static_cast<double*>(dst), n, spec);
      break;
    case DType::Int32:
      randomInt32Kernel<<<grid, kBlockSize, 0, ctx.stream>>>(static_cast<int32_t*>(dst), n, spec);
      break;
    default:
      fail(Code::Internal, "random: unknown dtype ", static_cast<int>(t));
  }
  ANTLER_LAUNCH_CHECK(spec.normal ? "randn" : "rand");
}

}  // namespace antler::cuda
