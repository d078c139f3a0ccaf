// Sums in eight running lanes: the adds of one lane do not wait on the
// others, and the compiler keeps the lanes in vector registers. The lanes are
// combined in a fixed tree and the tail added last, so a result depends on n
// alone (not on threads or alignment).
#pragma once
#define ANTLER_CPU_LANES_H 1
#include <cstdint>

namespace antler::cpu {

// Σ term(i) for i in [0, n), accumulated in Acc.
template <typename Acc, typename Term>
inline Acc laneSum(int64_t n, Term term) {
  Acc s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += term(i + l);
  Acc run = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) run += term(i);
  return run;
}

}  // namespace antler::cpu
