// Embedding rows: gather rows of a table by int32 index, and the gradient,
// which adds rows back into a zeroed table. One thread per element of the
// gathered [n, cols] block, so neighbouring threads touch neighbouring columns.
#include "ops.cuh"

namespace antler::cuda {

constexpr unsigned long long kNoBadIndex = ~0ull;

//   out[i, c] = table[idx[i], c]
// An index outside [0, rows) writes 0 and lowers *badIndex to i (atomicMin:
// the first bad position wins whatever the order the threads run in).
template <typename T>
static __global__ void gatherRowsKernel(T* out, const T* table, const int32_t* idx, int64_t n, int64_t rows,
                                        int64_t cols, unsigned long long* badIndex) {
  for (int64_t e = gridStart(); e < n * cols; e += gridStride()) {
    const int64_t i = e / cols, c = e % cols;
    const int64_t r = idx[i];
    if (r < 0 || r >= rows) {
      if (c == 0) atomicMin(badIndex, static_cast<unsigned long long>(i));
      out[e] = T(0);
    } else {
      out[e] = table[r * cols + c];
    }
  }
}

//   gtable[idx[i], c] += g[i, c]
// Repeated indices meet in atomicAdd, so float sums of a repeated row vary in
// the last bits from run to run (as PyTorch's CUDA embedding backward may).
// An index outside [0, rows) adds nothing and lowers *badIndex to i, as in
// gatherRowsKernel (badIndex null: the caller did not ask).
template <typename T>
static __global__ void scatterAddRowsKernel(T* gtable, const T* g, const int32_t* idx, int64_t n, int64_t rows,
                                            int64_t cols, unsigned long long* badIndex) {
  for (int64_t e = gridStart(); e < n * cols; e += gridStride()) {
    const int64_t i = e / cols, c = e % cols;
    const int64_t r = idx[i];
    if (r < 0 || r >= rows) {
      if (c == 0 && badIndex) atomicMin(badIndex, static_cast<unsigned long long>(i));
    } else {
      atomicAdd(gtable + r * cols + c, g[e]);
    }
  }
}

//   table[idx[i], c] = src[i, c] (a repeated index carries the same row each time; one outside [0, rows)
//   writes nothing)
template <typename T>
static __global__ void setRowsKernel(T* table, const T* src, const int32_t* idx, int64_t n, int64_t rows, int64_t cols) {
  for (int64_t e = gridStart(); e < n * cols; e += gridStride()) {
    const int64_t i = e / cols, c = e % cols;
    const int64_t r = idx[i];
    if (r >= 0 && r < rows) table[r * cols + c] = src[e];
  }
}

// The first bad index position a kernel reports: a device word set to kNoBadIndex on the stream when
// made, lowered by the kernel's atomicMin, and read back (a sync) by read(): -1 when no index was bad.
class BadIndexFlag {
 public:
  explicit BadIndexFlag(Context& ctx) : ctx_(ctx), buffer_(ctx, sizeof(unsigned long long)) {
    ANTLER_CUDA_CHECK(cudaMemsetAsync(get(), 0xFF, sizeof(unsigned long long), ctx_.stream));
  }
  unsigned long long* get() const { return static_cast<unsigned long long*>(buffer_.get()); }
  int64_t read() const {
    unsigned long long host = kNoBadIndex;
    ANTLER_CUDA_CHECK(cudaMemcpyAsync(&host, get(), sizeof(host), cudaMemcpyDeviceToHost, ctx_.stream));
    ANTLER_CUDA_CHECK(cudaStreamSynchronize(ctx_.stream));
    return host == kNoBadIndex ? -1 : static_cast<int64_t>(host);
  }

 private:
  Context& ctx_;
  PoolBuffer buffer_;
};

template <typename T>
static int64_t launchGatherRows(Context& ctx, void* out, const void* table, const int32_t* idx, int64_t n,
                                int64_t rows, int64_t cols) {
  BadIndexFlag flag(ctx);
  gatherRowsKernel<T><<<gridFor(ctx, n * cols), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(out), static_cast<const T*>(table), idx, n, rows, cols, flag.get());
  ANTLER_LAUNCH_CHECK("gatherRows");
  return flag.read();
}

template <typename T>
static int64_t launchScatterAddRows(Context& ctx, void* gtable, const void* g, const int32_t* idx, int64_t n,
                                    int64_t rows, int64_t cols, bool checked) {
  // Unchecked: no flag, no readback, no sync (a bad index still adds nothing).
  if (!checked) {
    scatterAddRowsKernel<T><<<gridFor(ctx, n * cols), kBlockSize, 0, ctx.stream>>>(
        static_cast<T*>(gtable), static_cast<const T*>(g), idx, n, rows, cols, nullptr);
    ANTLER_LAUNCH_CHECK("scatterAddRows");
    return -1;
  }
  BadIndexFlag flag(ctx);
  scatterAddRowsKernel<T><<<gridFor(ctx, n * cols), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(gtable), static_cast<const T*>(g), idx, n, rows, cols, flag.get());
  ANTLER_LAUNCH_CHECK("scatterAddRows");
  return flag.read();
}

// The gather only copies values, so int32 tables work too.
int64_t gatherRows(Context& ctx, DType t, void* out, const void* table, const int32_t* idx, int64_t n, int64_t rows,
                   int64_t cols) {
  if (n <= 0 || cols <= 0) return -1;
  switch (t) {
    case DType::Float32: return launchGatherRows<float>(ctx, out, table, idx, n, rows, cols);
    case DType::Float64: return launchGatherRows<double>(ctx, out, table, idx, n, rows, cols);
    case DType::Int32: return launchGatherRows<int32_t>(ctx, out, table, idx, n, rows, cols);
  }
  fail(Code::Internal, "gatherRows: unknown dtype ", static_cast<int>(t));
}

int64_t scatterAddRows(Context& ctx, DType t, void* gtable, const void* g, const int32_t* idx, int64_t n, int64_t rows,
                       int64_t cols, bool checked) {
  if (n <= 0 || cols <= 0) return -1;
  switch (t) {
    case DType::Float32: return launchScatterAddRows<float>(ctx, gtable, g, idx, n, rows, cols, checked);
    case DType::Float64: return launchScatterAddRows<double>(ctx, gtable, g, idx, n, rows, cols, checked);
    case DType::Int32: break;
  }
  fail(Code::Internal, "scatterAddRows: dtype ", dtypeName(t), " is not supported");
}

void setRows(Context& ctx, DType t, void* table, const void* src, const int32_t* idx, int64_t n, int64_t rows,
             int64_t cols) {
  if (n <= 0 || cols <= 0) return;
  switch (t) {
    case DType::Float32:
      setRowsKernel<float><<<gridFor(ctx, n * cols), kBlockSize, 0, ctx.stream>>>(
          static_cast<float*>(table), static_cast<const float*>(src), idx, n, rows, cols);
      break;
    case DType::Float64:
      setRowsKernel<double><<<gridFor(ctx, n * cols), kBlockSize, 0, ctx.stream>>>(
          static_cast<double*>(table), static_cast<const double*>(src), idx, n, rows, cols);
      break;
    case DType::Int32: fail(Code::Internal, "setRows: dtype ", dtypeName(t), " is not supported");
  }
  ANTLER_LAUNCH_CHECK("setRows");
}

}  // namespace antler::cuda
