// searchsorted on the CPU: one binary search (kernels/selection.h) per value,
// rows of sorted boundaries seq [B, M] and values [B, K], out [B, K] int32.
#include "../core/error.h"
#include "../kernels/selection.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void searchsortedTyped(int32_t* out, const T* seq, const T* values, int64_t B, int64_t M, int64_t K, bool right) {
  int64_t logM = 1;
  while ((int64_t{1} << logM) < M + 1) ++logM;
  parallelFor(B * K, B * K * logM, [&](int64_t i) {
    const int64_t b = i / K;
    out[i] = static_cast<int32_t>(kernels::searchsortedPosition(seq + b * M, M, values[i], right));
  });
}

void searchsorted(DType t, int32_t* out, const void* seq, const void* values, int64_t B, int64_t M, int64_t K, bool right) {
  if (B <= 0 || K <= 0) return;
  switch (t) {
    case DType::Float32: return searchsortedTyped(out, static_cast<const float*>(seq), static_cast<const float*>(values), B, M, K, right);
    case DType::Float64: return searchsortedTyped(out, static_cast<const double*>(seq), static_cast<const double*>(values), B, M, K, right);
    case DType::Int32: return searchsortedTyped(out, static_cast<const int32_t*>(seq), static_cast<const int32_t*>(values), B, M, K, right);
  }
  fail(Code::Internal, "searchsorted: unknown dtype ", static_cast<int>(t));
}

}  // namespace antler::cpu
