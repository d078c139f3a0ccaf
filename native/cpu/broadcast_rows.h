// Binary loops over broadcast operands on the CPU, row by row: shared by the
// arithmetic ops (elementwise.cpp) and the special functions (pointwise.cpp).
#pragma once
#include <cstdint>

#include "../kernels/indexers.h"
#include "parallel.h"

namespace antler::cpu {

// Calls row(yOffset, offsetA, offsetB, m, strideA, strideB) for every piece
// of the n-element output along its innermost dimension: y[yOffset + j] takes
// a[offsetA + j·strideA] and b[offsetB + j·strideB] for j in [0, m). Longer
// rows first: trailing dimensions of extent 1 are dropped, then the innermost
// dimension is folded into the next one while both operands step through
// them as one (stride[d] = stride[d + 1] · extent[d + 1], which a broadcast 0
// satisfies too). Each row's operand offsets are found once by the indexer;
// rows are cut into pieces of at most `piece` elements so that a few long
// rows (a tensor with a 0-d operand) still spread over the threads. `cost` is
// the work of one element (parallelFor's unit).
template <typename Row>
inline void forEachBroadcastRow(kernels::BroadcastIndexer idx, int64_t n, int64_t piece, int64_t cost, Row&& row) {
  while (idx.ndim > 1 && idx.shape[idx.ndim - 1] == 1) --idx.ndim;
  while (idx.ndim > 1) {
    const int d = idx.ndim - 2;
    const int64_t e = idx.shape[d + 1];
    if (idx.strideA[d] != idx.strideA[d + 1] * e || idx.strideB[d] != idx.strideB[d + 1] * e) break;
    idx.shape[d] *= e;
    idx.strideA[d] = idx.strideA[d + 1];
    idx.strideB[d] = idx.strideB[d + 1];
    --idx.ndim;
  }
  const int last = idx.ndim - 1;
  const int64_t len = idx.shape[last];
  if (len <= 0) return;
  const int64_t rows = n / len, sa = idx.strideA[last], sb = idx.strideB[last];
  const int64_t pieces = (len + piece - 1) / piece;
  parallelFor(rows * pieces, n * cost, [&](int64_t task) {
    const int64_t r = task / pieces, j0 = (task % pieces) * piece;
    const int64_t m = len - j0 < piece ? len - j0 : piece;
    int64_t oa, ob;
    idx.offsets(r * len, oa, ob);
    row(r * len + j0, oa + j0 * sa, ob + j0 * sb, m, sa, sb);
  });
}

}  // namespace antler::cpu
