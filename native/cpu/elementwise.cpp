// Tensors made from nothing (fill, arange, rand/randn), dtype conversion,
// binary ops with broadcasting and the whole-tensor sum on the CPU: OpenMP
// loops over the math in kernels/elementwise.h and kernels/philox.h, which
// the CUDA kernels (native/cuda/fill.cu, random.cu, cast.cu, binary.cu) share.
#include <type_traits>
#include <vector>

#include "../core/error.h"
#include "../kernels/elementwise.h"
#include "../kernels/philox.h"
#include "broadcast_rows.h"
#include "lanes.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::BinaryOp;

// Calls f with a null T* for the element type of t.
template <typename F>
static void withType(DType t, const char* what, F&& f) {
  switch (t) {
    case DType::Float32: return f(static_cast<float*>(nullptr));
    case DType::Float64: return f(static_cast<double*>(nullptr));
    case DType::Int32: return f(static_cast<int32_t*>(nullptr));
  }
  fail(Code::Internal, what, ": unknown dtype ", static_cast<int>(t));
}

void fill(void* dst, DType t, int64_t n, double value) {
  withType(t, "fill", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* d = static_cast<T*>(dst);
    const T v = static_cast<T>(value);
    parallelFor(n, n, [&](int64_t i) { d[i] = v; });
  });
}

// dst[i] = T(start + i * step) in double, rounded twice (no fma), as on CUDA.
void arange(void* dst, DType t, int64_t n, double start, double step) {
  withType(t, "arange", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* d = static_cast<T*>(dst);
    parallelFor(n, n, [&](int64_t i) { d[i] = static_cast<T>(kernels::addRn(start, kernels::mulRn(static_cast<double>(i), step))); });
  });
}

// One iteration per Philox block, so each block's words are computed once.
template <typename T>
static void randomFloating(T* dst, int64_t n, const RandomSpec& spec) {
  constexpr int kBlock = sizeof(T) == 4 ? kernels::kFloatBlock : kernels::kDoubleBlock;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallelFor(blocks, n, [&](int64_t blk) {
    T raw[kBlock];
    if constexpr (sizeof(T) == 4) kernels::randomFloatBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    else kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), spec.normal, raw);
    const int64_t base = blk * kBlock;
    for (int l = 0; l < kBlock && base + l < n; ++l)
      dst[base + l] = kernels::randomAffine<T>(raw[l], spec.normal, spec.a, spec.b);
  });
}

static void randomInt32(int32_t* dst, int64_t n, const RandomSpec& spec) {
  const int64_t blocks = (n + kernels::kDoubleBlock - 1) / kernels::kDoubleBlock;
  parallelFor(blocks, n, [&](int64_t blk) {
    double u[kernels::kDoubleBlock];
    kernels::randomDoubleBlock(spec.stream, static_cast<uint64_t>(blk), false, u);
    const int64_t base = blk * kernels::kDoubleBlock;
    for (int l = 0; l < kernels::kDoubleBlock && base + l < n; ++l)
      dst[base + l] = kernels::uniformInt32(u[l], spec.a, spec.b);
  });
}

void random(void* dst, DType t, int64_t n, const RandomSpec& spec) {
  switch (t) {
    case DType::Float32: return randomFloating(static_cast<float*>(dst), n, spec);
    case DType::Float64: return randomFloating(static_cast<double*>(dst), n, spec);
    case DType::Int32:
      if (spec.normal) fail(Code::DtypeMismatch, "randn: dtype int32 is not supported");
      return randomInt32(static_cast<int32_t*>(dst), n, spec);
  }
  fail(Code::Internal, "random: unknown dtype ", static_cast<int>(t));
}

void cast(void* dst, DType dstType, const void* src, DType srcType, int64_t n) {
  withType(dstType, "cast", [&](auto* outTag) {
    withType(srcType, "cast", [&](auto* inTag) {
      using TOut = std::remove_pointer_t<decltype(outTag)>;
      using TIn = std::remove_pointer_t<decltype(inTag)>;
      TOut* d = static_cast<TOut*>(dst);
      const TIn* s = static_cast<const TIn*>(src);
      parallelFor(n, n, [&](int64_t i) { d[i] = kernels::castValue<TOut, TIn>(s[i]); });
    });
  });
}

// The binary loops take the op as a compile-time constant (dispatchBinaryOp),
// so each is a plain loop the compiler vectorises.
template <BinaryOp Op, typename T>
static void binarySameShape(T* o, const T* x, const T* y, int64_t n) {
  parallelFor(n, n, [&](int64_t i) { o[i] = kernels::applyBinary(Op, x[i], y[i]); });
}

// One row of the innermost dimension: the inputs' steps there are 1 or 0
// (broadcast), each combination its own loop.
template <BinaryOp Op, typename T>
static inline void binaryRow(T* o, const T* x, const T* y, int64_t len, int64_t sx, int64_t sy) {
  if (sx == 1 && sy == 1) {
    for (int64_t j = 0; j < len; ++j) o[j] = kernels::applyBinary(Op, x[j], y[j]);
  } else if (sx == 1 && sy == 0) {
    const T v = y[0];
    for (int64_t j = 0; j < len; ++j) o[j] = kernels::applyBinary(Op, x[j], v);
  } else if (sx == 0 && sy == 1) {
    const T v = x[0];
    for (int64_t j = 0; j < len; ++j) o[j] = kernels::applyBinary(Op, v, y[j]);
  } else {
    for (int64_t j = 0; j < len; ++j) o[j] = kernels::applyBinary(Op, x[j * sx], y[j * sy]);
  }
}

// Broadcasting: the output row by row along its innermost dimension (broadcast_rows.h).
template <BinaryOp Op, typename T>
static void binaryBroadcast(T* o, const T* x, const T* y, int64_t n, const kernels::BroadcastIndexer& idx) {
  forEachBroadcastRow(idx, n, 16384, 1, [&](int64_t at, int64_t ox, int64_t oy, int64_t m, int64_t sx, int64_t sy) {
    binaryRow<Op, T>(o + at, x + ox, y + oy, m, sx, sy);
  });
}

template <BinaryOp Op, typename T>
static void binaryScalarLoop(T* o, const T* x, T v, bool scalarFirst, int64_t n) {
  if (scalarFirst) {
    parallelFor(n, n, [&](int64_t i) { o[i] = kernels::applyBinary(Op, v, x[i]); });
  } else {
    parallelFor(n, n, [&](int64_t i) { o[i] = kernels::applyBinary(Op, x[i], v); });
  }
}

void binary(BinaryOp op, DType t, void* out, const void* a, const void* b, int64_t n,
            const kernels::BroadcastIndexer* idx) {
  withType(t, "binary", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(a);
    const T* y = static_cast<const T*>(b);
    const bool known = kernels::dispatchBinaryOp(op, [&](auto opc) {
      constexpr BinaryOp Op = decltype(opc)::value;
      if (!idx || idx->ndim == 0)
        binarySameShape<Op, T>(o, x, y, n);
      else
        binaryBroadcast<Op, T>(o, x, y, n, *idx);
    });
    if (!known) fail(Code::Internal, "binary: unknown op ", static_cast<int>(op));
  });
}

void binaryScalar(BinaryOp op, DType t, void* out, const void* a, double s, bool scalarFirst, int64_t n) {
  withType(t, "binaryScalar", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const bool known = kernels::dispatchBinaryOp(op, [&](auto opc) {
      binaryScalarLoop<decltype(opc)::value, T>(static_cast<T*>(out), static_cast<const T*>(a), static_cast<T>(s),
                                                scalarFirst, n);
    });
    if (!known) fail(Code::Internal, "binaryScalar: unknown op ", static_cast<int>(op));
  });
}

// Σ over [0, n) in fixed chunks of 2^14 (in parallel), chunkSum(begin, end)
// summing one, then the chunk sums in order: the result does not depend on
// the thread count.
template <typename Acc, typename ChunkSum>
static Acc chunkedSum(int64_t n, ChunkSum chunkSum) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<Acc> partial(static_cast<size_t>(chunks));
  parallelFor(chunks, n, [&](int64_t c) {
    partial[static_cast<size_t>(c)] = chunkSum(c * kChunk, (c + 1) * kChunk < n ? (c + 1) * kChunk : n);
  });
  Acc total = 0;
  for (Acc p : partial) total += p;
  return total;
}

// Sums in a wider type.
template <typename T, typename Acc>
static Acc sumTyped(const T* src, int64_t n) {
  return chunkedSum<Acc>(n, [src](int64_t begin, int64_t end) {
    const T* p = src + begin;
    return laneSum<Acc>(end - begin, [p](int64_t i) { return static_cast<Acc>(p[i]); });
  });
}

// Σ a[i]·b[i] in double, each chunk in running lanes (lanes.h).
template <typename T>
static double dotTyped(const T* a, const T* b, int64_t n) {
  return chunkedSum<double>(n, [a, b](int64_t begin, int64_t end) {
    const T* x = a + begin;
    const T* y = b + begin;
    return laneSum<double>(end - begin, [x, y](int64_t i) { return static_cast<double>(x[i]) * static_cast<double>(y[i]); });
  });
}

void dot(DType t, const void* a, const void* b, int64_t n, void* out) {
  switch (t) {
    case DType::Float32:
      *static_cast<float*>(out) = static_cast<float>(dotTyped(static_cast<const float*>(a), static_cast<const float*>(b), n));
      return;
    case DType::Float64:
      *static_cast<double*>(out) = dotTyped(static_cast<const double*>(a), static_cast<const double*>(b), n);
      return;
    case DType::Int32:
      break;
  }
  fail(Code::Internal, "dot: dtype ", static_cast<int>(t), " is not a float type");
}

void sumAll(DType t, const void* src, int64_t n, void* out) {
  switch (t) {
    case DType::Float32:
      *static_cast<float*>(out) = static_cast<float>(sumTyped<float, double>(static_cast<const float*>(src), n));
      return;
    case DType::Float64:
      *static_cast<double*>(out) = sumTyped<double, double>(static_cast<const double*>(src), n);
      return;
    case DType::Int32:  // wraps modulo 2^32, as int32 addition does on the GPU
      *static_cast<int32_t*>(out) =
          static_cast<int32_t>(static_cast<uint32_t>(sumTyped<int32_t, int64_t>(static_cast<const int32_t*>(src), n)));
      return;
  }
  fail(Code::Internal, "sumAll: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
