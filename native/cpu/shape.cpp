// Reductions over axes, strided copies and where() on the CPU.
//
// Every loop walks the innermost dimension with a running offset and pays the
// divisions of the index maps once per row, not once per element.
#include <cstring>
#include <type_traits>
#include <vector>

#include "../core/error.h"
#include "../kernels/indexers.h"
#include "lanes.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

using kernels::kMaxDims;
using kernels::ReduceOp;

namespace {

// Elements handled by one task. A reduction is a fold over chunks of this
// many elements, each chunk folded in index order: the chunks are what the
// threads share, so the result does not depend on the thread count.
constexpr int64_t kChunk = 4096;

template <typename T> struct SumAcc { using type = double; };
// Wrap-around of uint64 is defined; its low 32 bits are the int32 sum.
template <> struct SumAcc<int32_t> { using type = uint64_t; };

// Products accumulate as sums do: in double, or for int32 in a uint64 whose low 32 bits are the
// wrapped int32 product.
template <ReduceOp Op, typename T>
using ReduceAcc = std::conditional_t<Op == ReduceOp::Sum || Op == ReduceOp::Prod, typename SumAcc<T>::type, T>;

// Max/Min take the NaN whichever side it is on (kernels::applyBinary's rule).
template <ReduceOp Op, typename Acc>
inline Acc combine(Acc acc, Acc v) {
  if constexpr (Op == ReduceOp::Sum) return acc + v;
  else if constexpr (Op == ReduceOp::Prod) return acc * v;
  else if constexpr (Op == ReduceOp::Max) return kernels::applyBinary(kernels::BinaryOp::Maximum, acc, v);
  else return kernels::applyBinary(kernels::BinaryOp::Minimum, acc, v);
}

template <typename T, typename Acc>
inline T finish(Acc acc) {
  if constexpr (std::is_same_v<T, int32_t> && std::is_same_v<Acc, uint64_t>)
    return static_cast<int32_t>(static_cast<uint32_t>(acc));
  else return static_cast<T>(acc);
}

template <ReduceOp Op, typename T, typename Acc>
inline Acc toAcc(T v) {
  if constexpr (std::is_same_v<Acc, uint64_t>) return static_cast<uint64_t>(static_cast<int64_t>(v));
  else return static_cast<Acc>(v);
}

// The reduced dims of an indexer, at least one (extent 1, stride 0 when there are none).
struct RedDims {
  int nd;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxDims];
};

// Σ p[0 .. count) in Acc (lanes.h).
template <typename T, typename Acc>
inline Acc contiguousSum(const T* p, int64_t count) {
  return laneSum<Acc>(count, [p](int64_t k) { return toAcc<ReduceOp::Sum, T, Acc>(p[k]); });
}

// Folds elements j0 .. j1-1 (j0 < j1) of the reduction at xb, in order of j
// (sums: each contiguous run of the innermost reduced dim by contiguousSum).
template <ReduceOp Op, typename T, typename Acc>
Acc reduceRange(const T* xb, const RedDims& r, int64_t j0, int64_t j1) {
  int64_t pos[kMaxDims];
  int64_t off = 0;
  int64_t rest = j0;
  for (int d = r.nd - 1; d >= 0; --d) {
    pos[d] = rest % r.shape[d];
    rest /= r.shape[d];
    off += pos[d] * r.stride[d];
  }
  const int last = r.nd - 1;
  const int64_t extent = r.shape[last], stride = r.stride[last];
  // max/min start from the first element (folding it again is harmless); sum and prod from their identity.
  Acc acc = Op == ReduceOp::Sum ? Acc(0) : Op == ReduceOp::Prod ? Acc(1) : toAcc<Op, T, Acc>(xb[off]);
  int64_t remaining = j1 - j0;
  for (;;) {
    const int64_t count = extent - pos[last] < remaining ? extent - pos[last] : remaining;
    const T* p = xb + off;
    bool done = false;
    if constexpr (Op == ReduceOp::Sum) {
      if (stride == 1) {
        acc += contiguousSum<T, Acc>(p, count);
        done = true;
      }
    }
    if (!done)
      for (int64_t k = 0; k < count; ++k) acc = combine<Op>(acc, toAcc<Op, T, Acc>(p[k * stride]));
    remaining -= count;
    if (remaining == 0) return acc;
    // Next row: odometer carry over the outer reduced dims.
    off -= pos[last] * stride;
    pos[last] = 0;
    int d = last - 1;
    ++pos[d];
    off += r.stride[d];
    while (pos[d] == r.shape[d]) {
      off -= pos[d] * r.stride[d];
      pos[d] = 0;
      --d;
      ++pos[d];
      off += r.stride[d];
    }
  }
}

// reduceRange for `width` neighbouring outputs at once (their elements sit at
// xb[c + offset(j)], c < width): every output still folds its elements in
// order of j, so the results are those of reduceRange bit for bit, but each
// reduced row is read as one contiguous run instead of `width` strided walks.
template <ReduceOp Op, typename T, typename Acc>
void reduceColumns(const T* xb, const RedDims& r, int64_t j0, int64_t j1, int64_t width, Acc* acc) {
  int64_t pos[kMaxDims];
  int64_t off = 0, rest = j0;
  for (int d = r.nd - 1; d >= 0; --d) {
    pos[d] = rest % r.shape[d];
    rest /= r.shape[d];
    off += pos[d] * r.stride[d];
  }
  for (int64_t c = 0; c < width; ++c)
    acc[c] = Op == ReduceOp::Sum ? Acc(0) : Op == ReduceOp::Prod ? Acc(1) : toAcc<Op, T, Acc>(xb[off + c]);
  for (int64_t j = j0; j < j1; ++j) {
    const T* p = xb + off;
    for (int64_t c = 0; c < width; ++c) acc[c] = combine<Op>(acc[c], toAcc<Op, T, Acc>(p[c]));
    // Odometer step over the reduced dims.
    int d = r.nd - 1;
    ++pos[d];
    off += r.stride[d];
    while (d > 0 && pos[d] == r.shape[d]) {
      off -= pos[d] * r.stride[d];
      pos[d] = 0;
      --d;
      ++pos[d];
      off += r.stride[d];
    }
  }
}

// Outputs per block of the column path.
constexpr int64_t kReduceCols = 64;

template <ReduceOp Op, typename T>
void reduceTyped(T* out, const T* x, int64_t outN, int64_t redN, const kernels::ReduceIndexer& idx) {
  using Acc = ReduceAcc<Op, T>;
  RedDims r{};
  r.nd = idx.redNdim > 0 ? idx.redNdim : 1;
  for (int d = 0; d < r.nd; ++d) {
    r.shape[d] = idx.redNdim > 0 ? idx.redShape[d] : 1;
    r.stride[d] = idx.redNdim > 0 ? idx.redStride[d] : 0;
  }
  const int64_t work = outN * redN;
  const int64_t chunks = (redN + kChunk - 1) / kChunk;
  const int64_t inner = idx.outNdim > 0 ? idx.outShape[idx.outNdim - 1] : 1;
  if (idx.outNdim > 0 && idx.outStride[idx.outNdim - 1] == 1 && inner >= 8 && redN > 1) {
    // Neighbouring outputs are neighbours in memory (a reduction over outer
    // dims, as in a bias gradient): reduce blocks of them together.
    const int64_t perRun = (inner + kReduceCols - 1) / kReduceCols, blocks = (outN / inner) * perRun;
    std::vector<Acc> partial(static_cast<size_t>(outN * chunks));
    parallelFor(blocks * chunks, work, [&](int64_t task) {
      const int64_t blk = task / chunks, c = task % chunks;
      const int64_t col0 = (blk % perRun) * kReduceCols, i0 = (blk / perRun) * inner + col0;
      const int64_t width = inner - col0 < kReduceCols ? inner - col0 : kReduceCols;
      const int64_t end = (c + 1) * kChunk < redN ? (c + 1) * kChunk : redN;
      Acc acc[kReduceCols];
      reduceColumns<Op, T, Acc>(x + idx.outOffset(i0), r, c * kChunk, end, width, acc);
      for (int64_t k = 0; k < width; ++k) partial[static_cast<size_t>((i0 + k) * chunks + c)] = acc[k];
    });
    parallelFor(outN, outN * chunks, [&](int64_t i) {
      const Acc* p = partial.data() + i * chunks;
      Acc acc = p[0];
      for (int64_t c = 1; c < chunks; ++c) acc = combine<Op>(acc, p[c]);
      out[i] = finish<T>(acc);
    });
    return;
  }
  if (chunks == 1) {
    parallelFor(outN, work, [&](int64_t i) { out[i] = finish<T>(reduceRange<Op, T, Acc>(x + idx.outOffset(i), r, 0, redN)); });
    return;
  }
  std::vector<Acc> partial(static_cast<size_t>(outN * chunks));
  parallelFor(outN * chunks, work, [&](int64_t task) {
    const int64_t i = task / chunks, c = task % chunks;
    const int64_t end = (c + 1) * kChunk < redN ? (c + 1) * kChunk : redN;
    partial[static_cast<size_t>(task)] = reduceRange<Op, T, Acc>(x + idx.outOffset(i), r, c * kChunk, end);
  });
  for (int64_t i = 0; i < outN; ++i) {
    const Acc* p = partial.data() + i * chunks;
    Acc acc = p[0];
    for (int64_t c = 1; c < chunks; ++c) acc = combine<Op>(acc, p[c]);
    out[i] = finish<T>(acc);
  }
}

template <typename T>
void reduceDispatch(ReduceOp op, void* out, const void* x, int64_t outN, int64_t redN,
                    const kernels::ReduceIndexer& idx) {
  T* o = static_cast<T*>(out);
  const T* src = static_cast<const T*>(x);
  switch (op) {
    case ReduceOp::Sum: return reduceTyped<ReduceOp::Sum, T>(o, src, outN, redN, idx);
    case ReduceOp::Max: return reduceTyped<ReduceOp::Max, T>(o, src, outN, redN, idx);
    case ReduceOp::Min: return reduceTyped<ReduceOp::Min, T>(o, src, outN, redN, idx);
    case ReduceOp::Prod: return reduceTyped<ReduceOp::Prod, T>(o, src, outN, redN, idx);
  }
  fail(Code::Internal, "reduce: unknown op ", static_cast<int>(op));
}

// A transpose-like copy: the output's innermost dim reads the source with a
// stride, and another dim p reads it contiguously. Walking output rows would
// read one element per source row (a new page every few elements for wide
// rows); instead (p, innermost) is copied in kTile × kTile tiles, so reads
// and writes both stay on kTile rows at a time. False when the copy is not
// of that kind.
template <typename U>
bool copyTiled(U* dst, const U* src, int64_t n, const kernels::StridedIndexer& idx) {
  constexpr int64_t kTile = 32;
  const int last = idx.ndim - 1;
  // A source stride of 0 along the innermost dim is a broadcast, not a transpose: each run is a fill.
  if (idx.ndim < 2 || idx.srcStride[last] == 1 || idx.srcStride[last] == 0 || idx.dstStride[last] != 1) return false;
  int p = -1;
  for (int d = last - 1; d >= 0 && p < 0; --d)
    if (idx.srcStride[d] == 1 && idx.shape[d] > 1) p = d;
  if (p < 0) return false;
  const int64_t P = idx.shape[p], L = idx.shape[last];
  if (P < 8 || L < 8) return false;  // thin: the row walk does as well
  const int64_t sL = idx.srcStride[last], dP = idx.dstStride[p];
  kernels::StridedIndexer outer{};  // the other dims
  for (int d = 0; d < last; ++d) {
    if (d == p) continue;
    outer.shape[outer.ndim] = idx.shape[d];
    outer.srcStride[outer.ndim] = idx.srcStride[d];
    outer.dstStride[outer.ndim] = idx.dstStride[d];
    ++outer.ndim;
  }
  // One task per tile, so tall and wide copies alike spread over the threads.
  const int64_t outerN = n / (P * L), tilesP = (P + kTile - 1) / kTile, tilesL = (L + kTile - 1) / kTile;
  parallelFor(outerN * tilesP * tilesL, n, [&](int64_t task) {
    const int64_t o = task / (tilesP * tilesL), t = task % (tilesP * tilesL);
    const int64_t i0 = (t / tilesL) * kTile, i1 = i0 + kTile < P ? i0 + kTile : P;
    const int64_t j0 = (t % tilesL) * kTile, j1 = j0 + kTile < L ? j0 + kTile : L;
    int64_t os = 0, od = 0;
    outer.offsets(o, os, od);
    for (int64_t i = i0; i < i1; ++i) {
      U* out = dst + od + i * dP;
      const U* in = src + os + i;
      for (int64_t j = j0; j < j1; ++j) out[j] = in[j * sL];
    }
  });
  return true;
}

// Linear indices are cut into blocks of kChunk; inside a block the innermost
// dim is walked with its strides. U is an unsigned integer of the element's
// size: a copy moves bits, never converts.
template <typename U>
void copyStridedTyped(U* dst, const U* src, int64_t n, const kernels::StridedIndexer& idx) {
  if (idx.ndim == 0) {
    dst[0] = src[0];
    return;
  }
  if (copyTiled(dst, src, n, idx)) return;
  const int last = idx.ndim - 1;
  const int64_t extent = idx.shape[last], ss = idx.srcStride[last], ds = idx.dstStride[last];
  const int64_t blocks = (n + kChunk - 1) / kChunk;
  parallelFor(blocks, n, [&](int64_t b) {
    const int64_t begin = b * kChunk, end = begin + kChunk < n ? begin + kChunk : n;
    // The block's first offsets by division, then an odometer over the outer dims from run to run
    // (runs can be short: 49 elements for [N, C, 1, 1] → [N, C, 7, 7]).
    int64_t pos[kMaxDims];
    int64_t os = 0, od = 0, rest = begin;
    for (int d = last; d >= 0; --d) {
      pos[d] = rest % idx.shape[d];
      rest /= idx.shape[d];
      os += pos[d] * idx.srcStride[d];
      od += pos[d] * idx.dstStride[d];
    }
    for (int64_t i = begin;;) {
      const int64_t count = extent - pos[last] < end - i ? extent - pos[last] : end - i;
      // Unit-stride writes get loops the compiler vectorises: a run filled from one source value
      // (a broadcast along the innermost merged dim: broadcastTo from a scalar or [N, C, 1, 1], the
      // backward of sum and mean) and a run copied as is. Other strides take the general loop.
      U* o = dst + od;
      const U* in = src + os;
      if (ds == 1 && ss == 0) {
        const U v = *in;
        for (int64_t e = 0; e < count; ++e) o[e] = v;
      } else if (ds == 1 && ss == 1) {
        std::memcpy(o, in, static_cast<size_t>(count) * sizeof(U));
      } else {
        for (int64_t e = 0; e < count; ++e) o[e * ds] = in[e * ss];
      }
      i += count;
      if (i == end) return;
      // The run ended its row (a block ends only at `end`): carry into the outer dims. With one dim
      // the row is all of n, so there is always an outer dim here.
      os -= pos[last] * ss;
      od -= pos[last] * ds;
      pos[last] = 0;
      int d = last - 1;
      ++pos[d];
      os += idx.srcStride[d];
      od += idx.dstStride[d];
      while (pos[d] == idx.shape[d]) {
        os -= pos[d] * idx.srcStride[d];
        od -= pos[d] * idx.dstStride[d];
        pos[d] = 0;
        --d;
        ++pos[d];
        os += idx.srcStride[d];
        od += idx.dstStride[d];
      }
    }
  });
}

template <typename U, typename C>
void whereTyped(U* out, const C* cond, const U* a, const U* b, int64_t n, const kernels::TernaryIndexer& idx) {
  if (idx.ndim == 0) {
    out[0] = cond[0] != C(0) ? a[0] : b[0];
    return;
  }
  const int last = idx.ndim - 1;
  const int64_t extent = idx.shape[last], cs = idx.strideC[last], as = idx.strideA[last], bs = idx.strideB[last];
  const int64_t blocks = (n + kChunk - 1) / kChunk;
  parallelFor(blocks, n, [&](int64_t blk) {
    const int64_t end = (blk + 1) * kChunk < n ? (blk + 1) * kChunk : n;
    for (int64_t i = blk * kChunk; i < end;) {
      int64_t oc, oa, ob;
      idx.offsets(i, oc, oa, ob);
      const int64_t k = i % extent;
      const int64_t count = extent - k < end - i ? extent - k : end - i;
      // The common layouts as unit-stride loops of bit selects, which the compiler vectorises (a
      // ternary of two loads stays a branch per element, mispredicted half the time on a random
      // mask): all three contiguous along the run, or one operand a broadcast value (where(c, 0, g)
      // in the gradients of relu, abs, clamp …); any other strides take the general loop.
      const C* c = cond + oc;
      U* o = out + i;
      const auto pick = [](C cv, U x, U y) {
        const U m = U(0) - static_cast<U>(cv != C(0));
        return static_cast<U>((x & m) | (y & ~m));
      };
      if (cs == 1 && as == 1 && bs == 1) {
        const U* pa = a + oa;
        const U* pb = b + ob;
        for (int64_t e = 0; e < count; ++e) o[e] = pick(c[e], pa[e], pb[e]);
      } else if (cs == 1 && as == 0 && bs == 1) {
        const U va = a[oa];
        const U* pb = b + ob;
        for (int64_t e = 0; e < count; ++e) o[e] = pick(c[e], va, pb[e]);
      } else if (cs == 1 && as == 1 && bs == 0) {
        const U* pa = a + oa;
        const U vb = b[ob];
        for (int64_t e = 0; e < count; ++e) o[e] = pick(c[e], pa[e], vb);
      } else {
        for (int64_t e = 0; e < count; ++e) o[e] = pick(c[e * cs], a[oa + e * as], b[ob + e * bs]);
      }
      i += count;
    }
  });
}

template <typename U>
void whereCond(DType condType, void* out, const void* cond, const void* a, const void* b, int64_t n,
               const kernels::TernaryIndexer& idx) {
  U* o = static_cast<U*>(out);
  const U* pa = static_cast<const U*>(a);
  const U* pb = static_cast<const U*>(b);
  switch (condType) {
    case DType::Float32: return whereTyped(o, static_cast<const float*>(cond), pa, pb, n, idx);
    case DType::Float64: return whereTyped(o, static_cast<const double*>(cond), pa, pb, n, idx);
    case DType::Int32: return whereTyped(o, static_cast<const int32_t*>(cond), pa, pb, n, idx);
  }
  fail(Code::Internal, "where: unknown condition dtype ", static_cast<int>(condType));
}

void checkNdim(const char* op, int ndim) {
  if (ndim < 0 || ndim > kMaxDims) fail(Code::Internal, op, ": indexer has ", ndim, " dims; expected 0 to ", kMaxDims);
}

}  // namespace

void reduce(ReduceOp op, DType t, void* out, const void* x, int64_t outN, int64_t redN,
            const kernels::ReduceIndexer& idx) {
  if (outN <= 0) return;
  checkNdim("reduce", idx.outNdim);
  checkNdim("reduce", idx.redNdim);
  if (redN <= 0) {
    if (op != ReduceOp::Sum) fail(Code::Internal, "reduce: max/min over 0 elements");
    std::memset(out, 0, static_cast<size_t>(outN) * dtypeSize(t));  // all-zero bits are 0 in every dtype
    return;
  }
  switch (t) {
    case DType::Float32: return reduceDispatch<float>(op, out, x, outN, redN, idx);
    case DType::Float64: return reduceDispatch<double>(op, out, x, outN, redN, idx);
    case DType::Int32: return reduceDispatch<int32_t>(op, out, x, outN, redN, idx);
  }
  fail(Code::Internal, "reduce: unknown dtype ", static_cast<int>(t));
}

void copyStrided(DType t, void* dst, const void* src, int64_t n, const kernels::StridedIndexer& idx) {
  if (n <= 0) return;
  checkNdim("copyStrided", idx.ndim);
  if (dtypeSize(t) != 4 && dtypeSize(t) != 8) fail(Code::Internal, "copyStrided: unknown dtype ", static_cast<int>(t));
  if (dtypeSize(t) == 8)
    copyStridedTyped(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), n, idx);
  else
    copyStridedTyped(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), n, idx);
}

void where(DType t, DType condType, void* out, const void* cond, const void* a, const void* b, int64_t n,
           const kernels::TernaryIndexer& idx) {
  if (n <= 0) return;
  checkNdim("where", idx.ndim);
  if (dtypeSize(t) != 4 && dtypeSize(t) != 8) fail(Code::Internal, "where: unknown dtype ", static_cast<int>(t));
  if (dtypeSize(t) == 8) whereCond<uint64_t>(condType, out, cond, a, b, n, idx);
  else whereCond<uint32_t>(condType, out, cond, a, b, n, idx);
}

}  // namespace antler::cpu
