// The symmetric eigenproblem of one large matrix by the standard O(n³) route (Golub & Van Loan §8.3), written
// against a lane group (lanes.h) so that the CPU (SerialLanes) and CUDA (one thread block) share it. lanesEigh
// (linalg_spectral.h) calls it above kEighTridiagMin, after loading the matrix (both triangles from the one read),
// scaling it to a largest |entry| in [0.5, 1) and checking it is finite; lanesEigh then sorts and writes the results.
//  1. Householder tridiagonalisation (§8.3.1): for k = 0 … n−3 the reflector H_k = I − τ v vᵀ (v₀ = 1) maps the
//     column below the diagonal onto β e₁ (β = −sign(α)‖x‖, no cancellation); the trailing block gets the symmetric
//     rank-2 update A ← A − v wᵀ − w vᵀ with p = τ A v, w = p − (τ/2)(pᵀv) v (lanes over its entries); v is kept
//     in row k of A (which the trailing block no longer reads).
//  2. When vectors are wanted, Q = H₀ H₁ ⋯ H_{n−3} is formed from the kept reflectors (backward accumulation
//     Q ← H_k Q, each lane its own columns, so no barrier until it ends) and transposed in place: row j of the
//     result is column j of Q. Rotating those rows in step 3 gives the rows of V = Q Z: the back-transformation by
//     the reflectors, done before the rotations (4n³/3 flops for Q where applying the reflectors to Z afterwards
//     costs 2n³).
//  3. Implicit symmetric QR with Wilkinson shifts (§8.3.3, Algorithm 8.3.2) on the tridiagonal (d, e): e_i is
//     negligible (set to 0, deflating) when |e_i| ≤ eps·(|d_i| + |d_{i+1}|) or ≤ 1e-290; each sweep works on
//     the lowest unreduced block, chasing the bulge from its top. Lane 0 runs the sweep on (d, e) and records its
//     rotations; then every lane applies them, in order, to its own components of the eigenvector rows (rows in
//     parallel: a rotation mixes two rows, each lane its columns of them). Without vectors lane 0 runs the
//     iteration alone. More than kTridiagMaxSweepsPerValue·n sweeps in all reports non-convergence.
// Every loop that lanes split walks the contiguous index innermost (coalesced on CUDA, vectorisable on the CPU).
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"
#include "lanes.h"

namespace antler::kernels {

// LAPACK's dsteqr allows 30 QR sweeps per eigenvalue; Wilkinson's shift needs 2–3 on average.
constexpr int kTridiagMaxSweepsPerValue = 30;
constexpr double kTridiagEps = 2.220446049250313e-16;   // float64's unit roundoff ×2 (kSpectralEps)
// Off-diagonal mass below this counts as zero (the matrix is scaled to a largest |entry| in [0.5, 1)).
constexpr double kTridiagTiny = 1e-290;

// Doubles of work lanesTridiagEigen needs beyond the matrix and the eigenvector rows: d, e, τ, p (n each), the
// rotations of a sweep (2n) and 4 slots.
ANTLER_HD int64_t tridiagScratchSize(int64_t n) { return 6 * n + 4; }

// The first index ≥ lo that this lane owns when the lanes split indices round-robin (index ≡ lane mod count).
ANTLER_HD int64_t firstOwnedIndex(int64_t lo, int64_t lane, int64_t count) {
  return lo <= lane ? lane : lane + ((lo - lane + count - 1) / count) * count;
}

// Step 1 on the n×n symmetric a (both triangles, row-major): d [n] and e [n − 1] of the tridiagonal, τ [n] and the
// reflectors' v in rows k of a (a[k][k+1 …]). p: n doubles. All lanes; ends synced.
template <typename Lanes>
ANTLER_HD void lanesTridiagonalize(const Lanes& L, int64_t n, double* a, double* d, double* e, double* tau, double* p) {
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t k = 0; k + 2 < n; ++k) {
    const int64_t m = n - k - 1;
    double* x = a + k * n + k + 1;   // row k right of the diagonal = column k below it; becomes v
    if (lane == 0) {
      double amax = 0;
      for (int64_t j = 1; j < m; ++j) amax = fabs(x[j]) > amax ? fabs(x[j]) : amax;
      double t = 0, beta = x[0], xnorm = 0;
      if (amax > 0) {
        double ss = 0;
        for (int64_t j = 1; j < m; ++j) {
          const double y = x[j] / amax;
          ss += y * y;
        }
        xnorm = amax * sqrt(ss);
      }
      // Else H_k = I: the column is β e₁ already, or the rest of it is below kTridiagTiny (rounding noise of a
      // matrix whose largest entry is ≥ 1/2, dropped: 1/(α − β) would overflow in the subnormal range).
      if (xnorm > kTridiagTiny) {
        const double alpha = x[0];
        beta = -copysign(hypot(alpha, xnorm), alpha);
        t = (beta - alpha) / beta;
        const double f = 1 / (alpha - beta);
        for (int64_t j = 1; j < m; ++j) x[j] *= f;
        x[0] = 1;
      }
      d[k] = a[k * n + k];
      e[k] = beta;
      tau[k] = t;
    }
    L.sync();
    const double t = tau[k];
    if (t == 0) continue;
    double* b = a + (k + 1) * n + k + 1;   // the trailing m×m block, leading dimension n
    const int64_t i0 = firstOwnedIndex(0, lane, count);
    for (int64_t i = i0; i < m; i += count) p[i] = 0;
    for (int64_t j = 0; j < m; ++j) {   // p = τ B v as Σ_j v_j B[j][·] (B symmetric)
      const double vj = x[j];
      const double* row = b + j * n;
      for (int64_t i = i0; i < m; i += count) p[i] += vj * row[i];
    }
    for (int64_t i = i0; i < m; i += count) p[i] *= t;
    L.sync();
    if (lane == 0) {   // w = p − (τ/2)(pᵀv) v, in place
      double s = 0;
      for (int64_t i = 0; i < m; ++i) s += p[i] * x[i];
      const double K = 0.5 * t * s;
      for (int64_t i = 0; i < m; ++i) p[i] -= K * x[i];
    }
    L.sync();
    for (int64_t i = 0; i < m; ++i) {   // B −= v wᵀ + w vᵀ
      const double vi = x[i], wi = p[i];
      double* row = b + i * n;
      for (int64_t j = i0; j < m; j += count) row[j] -= vi * p[j] + wi * x[j];
    }
    L.sync();
  }
  if (lane == 0) {
    if (n >= 2) {
      d[n - 2] = a[(n - 2) * n + n - 2];
      e[n - 2] = a[(n - 2) * n + n - 1];
      tau[n - 2] = 0;
    }
    if (n >= 1) {
      d[n - 1] = a[n * n - 1];
      e[n - 1] = 0;
      tau[n - 1] = 0;
    }
  }
  L.sync();
}

// Step 2: Vt (n×n) = Qᵀ, Q = H₀ ⋯ H_{n−3} from lanesTridiagonalize's a and τ. s: n doubles. All lanes; ends synced.
template <typename Lanes>
ANTLER_HD void lanesFormReflectorsTransposed(const Lanes& L, int64_t n, const double* a, const double* tau, double* Vt,
                                             double* s) {
  const int64_t lane = L.lane(), count = L.count();
  const int64_t c0 = firstOwnedIndex(0, lane, count);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = c0; c < n; c += count) Vt[i * n + c] = i == c ? 1.0 : 0.0;
  // Q ← H_k Q for k = n−3 … 0: rows k+1 … n−1 of the columns k+1 … n−1 (Q is the identity elsewhere). A lane owns
  // its columns throughout, so the steps need no barrier between them.
  for (int64_t k = n - 3; k >= 0; --k) {
    const double t = tau[k];
    if (t == 0) continue;
    const int64_t m = n - k - 1, c1 = firstOwnedIndex(k + 1, lane, count);
    const double* v = a + k * n + k + 1;
    for (int64_t c = c1; c < n; c += count) s[c] = 0;
    for (int64_t i = 0; i < m; ++i) {
      const double vi = v[i];
      const double* row = Vt + (k + 1 + i) * n;
      for (int64_t c = c1; c < n; c += count) s[c] += vi * row[c];
    }
    for (int64_t c = c1; c < n; c += count) s[c] *= t;
    for (int64_t i = 0; i < m; ++i) {
      const double vi = v[i];
      double* row = Vt + (k + 1 + i) * n;
      for (int64_t c = c1; c < n; c += count) row[c] -= vi * s[c];
    }
  }
  L.sync();
  for (int64_t i = lane; i < n; i += count)
    for (int64_t j = i + 1; j < n; ++j) {
      const double x = Vt[i * n + j];
      Vt[i * n + j] = Vt[j * n + i];
      Vt[j * n + i] = x;
    }
  L.sync();
}

ANTLER_HD bool tridiagNegligible(const double* d, const double* e, int64_t i) {
  const double x = fabs(e[i]);
  return x <= kTridiagEps * (fabs(d[i]) + fabs(d[i + 1])) || x <= kTridiagTiny;
}

// One implicit QR sweep with the Wilkinson shift on the unreduced block lo … hi (< hi: e ≠ 0) of (d, e): the
// rotation j (c, s at rot[2j], rot[2j+1]) maps rows lo+j, lo+j+1 (x, y) to (c x + s y, c y − s x). Lane 0 alone.
ANTLER_HD void tridiagQrSweep(int64_t lo, int64_t hi, double* d, double* e, double* rot) {
  const double f = (d[hi - 1] - d[hi]) / 2, g = e[hi - 1], h = hypot(f, g);
  const double mu = d[hi] - g * (g / (f + (f < 0 ? -h : h)));   // the eigenvalue of the last 2×2 nearer d[hi]
  double x = d[lo] - mu, z = e[lo];
  for (int64_t k = lo; k < hi; ++k) {
    const double r = hypot(x, z), c = r > 0 ? x / r : 1.0, s = r > 0 ? z / r : 0.0;
    if (k > lo) e[k - 1] = r;   // the bulge at (k−1, k+1) rotated away
    const double dk = d[k], dk1 = d[k + 1], ek = e[k], cs = c * s;
    d[k] = c * c * dk + 2 * cs * ek + s * s * dk1;
    d[k + 1] = s * s * dk - 2 * cs * ek + c * c * dk1;
    e[k] = cs * (dk1 - dk) + (c * c - s * s) * ek;
    if (k + 1 < hi) {   // the new bulge at (k, k+2)
      z = s * e[k + 1];
      e[k + 1] *= c;
      x = e[k];
    }
    rot[2 * (k - lo)] = c;
    rot[2 * (k - lo) + 1] = s;
  }
}

// Lane 0's step of the QR iteration: deflates from the bottom (`hi`, kept across calls), then one sweep on the lowest
// unreduced block, its first row in lo and its rotations' count in nrot. Returns 0 (rotations to apply), 1 (done) or
// 2 (out of sweeps).
ANTLER_HD int tridiagQrStep(int64_t n, double* d, double* e, double* rot, int64_t& hi, int64_t& sweeps, int64_t& lo,
                            int64_t& nrot) {
  nrot = 0;
  lo = 0;
  while (hi > 0 && tridiagNegligible(d, e, hi - 1)) e[--hi] = 0;
  if (hi == 0) return 1;
  if (sweeps >= kTridiagMaxSweepsPerValue * n) return 2;
  lo = hi - 1;
  while (lo > 0 && !tridiagNegligible(d, e, lo - 1)) --lo;
  if (lo > 0) e[lo - 1] = 0;
  ++sweeps;
  tridiagQrSweep(lo, hi, d, e, rot);
  nrot = hi - lo;
  return 0;
}

// The eigenvalues (unsorted) of the n×n symmetric a (both triangles, scaled, finite; overwritten) into work[0 … n),
// and, when Vt is not null, the eigenvectors as Vt's rows (n×n). work: tridiagScratchSize(n) doubles. Returns
// false when the QR iteration did not converge. All lanes (the same answer to each); ends synced.
template <typename Lanes>
ANTLER_HD bool lanesTridiagEigen(const Lanes& L, int64_t n, double* a, double* Vt, double* work) {
  double* d = work;
  double* e = d + n;
  double* tau = e + n;
  double* p = tau + n;
  double* rot = p + n;   // 2n
  double* slot = rot + 2 * n;
  const int64_t lane = L.lane(), count = L.count();
  lanesTridiagonalize(L, n, a, d, e, tau, p);
  if (Vt) lanesFormReflectorsTransposed(L, n, a, tau, Vt, p);
  int64_t hi = n - 1, sweeps = 0, lo = 0, nrot = 0;   // lane 0's state
  if (!Vt) {
    if (lane == 0) {
      int state = 0;
      while ((state = tridiagQrStep(n, d, e, rot, hi, sweeps, lo, nrot)) == 0) {
      }
      slot[0] = state;
    }
    L.sync();
  } else {
    const int64_t i0 = firstOwnedIndex(0, lane, count);
    for (;;) {
      if (lane == 0) {
        slot[0] = tridiagQrStep(n, d, e, rot, hi, sweeps, lo, nrot);
        slot[1] = static_cast<double>(lo);
        slot[2] = static_cast<double>(nrot);
      }
      L.sync();
      if (slot[0] != 0) break;   // every lane reads the same; lane 0 writes the slots again only after the barrier below
      const int64_t first = static_cast<int64_t>(slot[1]), rots = static_cast<int64_t>(slot[2]);
      for (int64_t j = 0; j < rots; ++j) {
        const double c = rot[2 * j], s = rot[2 * j + 1];
        if (s == 0) continue;
        double* r0 = Vt + (first + j) * n;
        double* r1 = r0 + n;
        for (int64_t i = i0; i < n; i += count) {
          const double x = r0[i], y = r1[i];
          r0[i] = c * x + s * y;
          r1[i] = c * y - s * x;
        }
      }
      L.sync();
    }
  }
  const bool ok = slot[0] == 1;
  L.sync();
  return ok;
}

}  // namespace antler::kernels
