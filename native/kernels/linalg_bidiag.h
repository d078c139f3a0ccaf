// SVD of one larger matrix in O(M·N²): Householder bidiagonalisation, then the bidiagonal SVD by implicit-shift
// QR. lanesSvd (linalg_spectral.h) calls it for min(m, n) ≥ kSvdBidiagMinN instead of one-sided Jacobi, on the CPU
// (SerialLanes) and on CUDA (one thread block). Same contract as lanesSvd: G = A (m ≥ n) or Aᵀ (m < n), M×N
// column-major, M ≥ N, in double whatever the storage type, scaled by a power of two to a largest |entry| in
// [0.5, 1); singular values ≥ 0 descending; info 1 and NaN outputs when G holds a non-finite value or the QR
// iteration does not converge.
//
//  1. Golub–Kahan: G = Q B Pᵀ with B upper bidiagonal (d on the diagonal, e above), Q = H_0 ⋯ H_{N−1} and
//     P = K_0 ⋯ K_{N−3}, Householder reflectors in LAPACK's convention (I − τ v vᵀ, v's first entry 1, β = −sign(α)‖x‖,
//     no reflection when the rest of x is zero). H_j zeroes column j below the diagonal, K_j row j right of the
//     superdiagonal; v is kept where it zeroed (column j below row j, row j right of column j + 1). Lanes take the
//     columns (H_j: one column's dot product and update each) or the rows (K_j: w = G v by columns of G, so that lanes
//     read consecutive rows) of the trailing matrix.
//  2. B = U_b Σ V_bᵀ by Golub–Kahan QR sweeps on the bottom unreduced block [ll, hi] (Demmel & Kahan, "Accurate
//     singular values of bidiagonal matrices", 1990): a bulge chase from the top with the shift σ = the smaller
//     singular value of B's trailing 2×2, or their zero-shift sweep (high relative accuracy) when σ is negligible
//     against |d_ll| or the block's estimated smallest singular value is tiny against the largest; e_k is set to 0
//     when |e_k| ≤ thresh (an absolute floor from the estimate of σ_min) or when it passes their relative test
//     |e_k| ≤ tol·μ_k (μ_ll = |d_ll|, μ_{k+1} = |d_{k+1}|·μ_k/(μ_k + |e_k|)), which leaves small singular values
//     of B relatively accurate. At most kBidiagMaxSweepsPerN·N² rotations in all, then info = 1. Lane 0 runs the
//     chase on (d, e); a sweep's rotations go to scratch, and the lanes apply them to the rows they own of
//     U = Q (M×uc) and V = P (N×N) (rotation after rotation, down consecutive rows), one barrier per sweep.
//  3. Signs (σ_k < 0: σ_k and V's column k flip), sorting (descending), output as lanesSvd. U's columns come from Q
//     (M×M for full matrices: its last M − N columns complete the basis), so they are orthonormal even for zero
//     singular values.
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.h"
#include "lanes.h"
#include "linalg_spectral.h"

namespace antler::kernels {

// Rotations the QR iteration may spend, in units of N² (LAPACK's dbdsqr allows 6; random matrices use ≈ 2).
constexpr int kBidiagMaxSweepsPerN = 6;
constexpr double kBidiagMinNormal = 2.2250738585072014e-308;
// Reflector mass at or below this counts as zero (G is scaled to a largest |entry| in [0.5, 1)): linalg_tridiag.h's
// kTridiagTiny.
constexpr double kBidiagTiny = 1e-290;
// tol = u^(7/8) ≈ 1.1e-14, u = eps/2 the unit roundoff (u^(−1/8) ≈ 98.7: Demmel–Kahan's choice between 10 and 100
// units of roundoff, and LAPACK's dbdsqr's, whose EPS is u). The relative deflation |e_k| ≤ tol·μ_k drops up to
// tol·σ_max from the reconstruction of a graded matrix, whose zero-shift sweeps shrink e_k only linearly: with
// 90.5·eps (2e-14), graded 20×20 (3,000 draws) reconstructed to median 18.5, p999 88 eps (dgesdd 7.5, 48); with
// this, 9.2, 48, for ≈ 1% more rotations on random matrices. (dbdsqr's choice of the chase's direction per block,
// bottom to top when |d_ll| < |d_hi|, was tried and is not done: identical results on these, and on rows or columns
// scaled 1 … 1e−12 within a few eps of reconstruction either way, with orthogonality worse on some (p999 24 → 32 eps).)
constexpr double kBidiagTol = 98.70149282610821 * (0.5 * kSpectralEps);

// Scratch layout (doubles) after G (M×N): d, e, τ_q, τ_p, the permutation (N each); a sweep's rotations (4N: right
// c, s, left c, s); the reflector work vector (M + N); 8 slots; then (vectors) U (M×uc) and V (N×N), column-major.
ANTLER_HD int64_t svdBidiagScratchSize(int64_t m, int64_t n, bool full, bool vectors) {
  const int64_t M = m > n ? m : n, N = m > n ? n : m;
  return M * N + 10 * N + M + 8 + (vectors ? M * (full ? M : N) + N * N : 0);
}

// The plane rotation [c s; −s c] with c·f + s·g = r, −s·f + c·g = 0. With |f| and |g| in [1e−150, 1e150] (their
// squares and sum normal) from f, g themselves; else on f, g scaled by the larger (no overflow or underflow of
// squares). Scaling always (f/sc, g/sc: one more rounding in the smaller) left c² + s² further from 1: the QR's U and
// V lost orthogonality ≈ 4× faster than LAPACK's dbdsqr (random 200×200: 131 eps median against dgesvd's 29; unscaled
// 26), as LAPACK's dlartg also scales only outside such a range.
ANTLER_HD void bidiagRotation(double f, double g, double& c, double& s, double& r) {
  const double fa = fabs(f), ga = fabs(g);
  if (g == 0) {
    c = 1;
    s = 0;
    r = f;
  } else if (f == 0) {
    c = 0;
    s = 1;
    r = g;
  } else if (fa >= 1e-150 && fa <= 1e150 && ga >= 1e-150 && ga <= 1e150) {
    const double rr = sqrt(f * f + g * g);
    c = f / rr;
    s = g / rr;
    r = rr;
  } else {
    const double sc = fa > ga ? fa : ga, fs = f / sc, gs = g / sc, rr = sqrt(fs * fs + gs * gs);
    c = fs / rr;
    s = gs / rr;
    r = sc * rr;
  }
}

// The smaller singular value of [f g; 0 h]: σ_max + σ_min = √((|f| + |h|)² + g²), σ_max − σ_min = √((|f| − |h|)² + g²),
// σ_min = |f h| / σ_max (no cancellation), all on the entries scaled by the largest.
ANTLER_HD double bidiagSmallerSv(double f, double g, double h) {
  const double fa = fabs(f), ga = fabs(g), ha = fabs(h);
  const double mx = fa > ha ? fa : ha, mn = fa > ha ? ha : fa, big = mx > ga ? mx : ga;
  if (mn == 0) return 0;
  const double a = mx / big, b = mn / big, c = ga / big;
  const double smax = 0.5 * (sqrt((a + b) * (a + b) + c * c) + sqrt((a - b) * (a - b) + c * c));
  return (mn / smax) * a;
}

// The QR iteration's state, lane 0's.
struct BidiagQr {
  int64_t hi, iter, maxit;
  double thresh;
};

// Lane 0: deflates what has converged and runs one sweep on the bottom unreduced block [ll, hi], its right rotations
// in rot[0 … N), rot[N … 2N) and left ones in rot[2N … 3N), rot[3N … 4N) (indexed k − ll). Returns 1 (a sweep: ll in
// out), 0 (B is diagonal) or −1 (no convergence within maxit rotations).
ANTLER_HD int bidiagQrStep(int64_t N, double* d, double* e, double* rot, BidiagQr& st, int64_t& out) {
  double* rc = rot;
  double* rs = rot + N;
  double* lc = rot + 2 * N;
  double* ls = rot + 3 * N;
  for (;;) {
    const int64_t hi = st.hi;
    if (hi <= 0) return 0;
    if (st.iter > st.maxit) return -1;
    // The bottom unreduced block [ll, hi] and its largest entry.
    int64_t ll = 0;
    double smax = fabs(d[hi]);
    for (int64_t k = hi - 1; k >= 0; --k) {
      if (fabs(e[k]) <= st.thresh) {
        e[k] = 0;
        ll = k + 1;
        break;
      }
      smax = fmax(smax, fmax(fabs(d[k]), fabs(e[k])));
    }
    if (ll == hi) {   // d[hi] has converged
      st.hi = hi - 1;
      continue;
    }
    // Demmel–Kahan's relative tests, from the bottom and then through the block.
    if (fabs(e[hi - 1]) <= kBidiagTol * fabs(d[hi])) {
      e[hi - 1] = 0;
      continue;
    }
    double mu = fabs(d[ll]), sminl = mu;
    bool split = false;
    for (int64_t k = ll; k < hi && !split; ++k) {
      if (fabs(e[k]) <= kBidiagTol * mu) {
        e[k] = 0;
        split = true;
        break;
      }
      mu = fabs(d[k + 1]) * (mu / (mu + fabs(e[k])));
      sminl = fmin(sminl, mu);
    }
    if (split) continue;
    double shift = 0;
    if (static_cast<double>(N) * kBidiagTol * (sminl / smax) > fmax(kSpectralEps, 0.01 * kBidiagTol)) {
      const double sll = fabs(d[ll]);
      shift = bidiagSmallerSv(d[hi - 1], e[hi - 1], d[hi]);
      if (sll > 0 && (shift / sll) * (shift / sll) < kSpectralEps) shift = 0;
    }
    st.iter += hi - ll;
    if (shift == 0) {   // zero-shift QR (Demmel–Kahan): every step without cancellation
      double c = 1, s = 0, oc = 1, os = 0, r = 0;
      for (int64_t k = ll; k < hi; ++k) {
        bidiagRotation(d[k] * c, e[k], c, s, r);
        if (k > ll) e[k - 1] = os * r;
        bidiagRotation(oc * r, d[k + 1] * s, oc, os, d[k]);
        rc[k - ll] = c;
        rs[k - ll] = s;
        lc[k - ll] = oc;
        ls[k - ll] = os;
      }
      const double h = d[hi] * c;
      d[hi] = h * oc;
      e[hi - 1] = h * os;
    } else {   // the bulge chase started from the first column of BᵀB − σ²I (scaled by 1/d_ll)
      double f = (fabs(d[ll]) - shift) * ((d[ll] < 0 ? -1.0 : 1.0) + shift / d[ll]), g = e[ll];
      for (int64_t k = ll; k < hi; ++k) {
        double cr, sr, cl, sl, r;
        bidiagRotation(f, g, cr, sr, r);
        if (k > ll) e[k - 1] = r;
        f = cr * d[k] + sr * e[k];
        e[k] = cr * e[k] - sr * d[k];
        g = sr * d[k + 1];
        d[k + 1] = cr * d[k + 1];
        bidiagRotation(f, g, cl, sl, r);
        d[k] = r;
        f = cl * e[k] + sl * d[k + 1];
        d[k + 1] = cl * d[k + 1] - sl * e[k];
        if (k + 1 < hi) {
          g = sl * e[k + 1];
          e[k + 1] = cl * e[k + 1];
        }
        rc[k - ll] = cr;
        rs[k - ll] = sr;
        lc[k - ll] = cl;
        ls[k - ll] = sl;
      }
      e[hi - 1] = f;
    }
    if (fabs(e[hi - 1]) <= st.thresh) e[hi - 1] = 0;
    out = ll;
    return 1;
  }
}

// Applies the rotations c[k − ll], s[k − ll] (k = ll … hi − 1, in order) to columns k, k + 1 of the column-major
// X (rows × ·): column k ← c·x_k + s·x_{k+1}, column k + 1 ← c·x_{k+1} − s·x_k. Lanes own rows.
template <typename Lanes>
ANTLER_HD void bidiagRotateColumns(const Lanes& L, int64_t rows, double* X, int64_t ll, int64_t hi, const double* c,
                                   const double* s) {
  for (int64_t k = ll; k < hi; ++k) {
    const double ck = c[k - ll], sk = s[k - ll];
    if (sk == 0 && ck == 1) continue;
    double* x = X + k * rows;
    double* y = x + rows;
    for (int64_t i = L.lane(); i < rows; i += L.count()) {
      const double a = x[i], b = y[i];
      x[i] = ck * a + sk * b;
      y[i] = ck * b - sk * a;
    }
  }
}

// Lane 0: the reflector that maps x = (α, x[1 … len)) (stride `stride`) to (β, 0 …): τ, β, v = x[1 …]/(α − β) in place
// (LAPACK's dlarfg; τ = 0 and β = α when x[1 …] is zero, or at most kBidiagTiny: rounding noise of G, whose largest
// entry is ≥ 1/2, dropped, as 1/(α − β) would overflow in the subnormal range and fill the reflector with NaN — the
// reduction of a low-rank matrix such as all-ones 70×70 shrinks its noise columns by ~1e-15 a step until it gets
// there). Norms on x scaled by its largest entry.
ANTLER_HD void bidiagReflector(double* x, int64_t len, int64_t stride, double& tau, double& beta) {
  const double alpha = x[0];
  double amax = 0;
  for (int64_t i = 1; i < len; ++i) amax = fmax(amax, fabs(x[i * stride]));
  if (amax <= kBidiagTiny) {
    tau = 0;
    beta = alpha;
    return;
  }
  amax = fmax(amax, fabs(alpha));
  double ssq = 0;
  for (int64_t i = 0; i < len; ++i) {
    const double t = x[i * stride] / amax;
    ssq += t * t;
  }
  beta = (alpha < 0 ? 1.0 : -1.0) * amax * sqrt(ssq);
  tau = (beta - alpha) / beta;
  const double by = 1 / (alpha - beta);
  for (int64_t i = 1; i < len; ++i) x[i * stride] *= by;
}

// The SVD of lanesSvd (its arguments; s: svdBidiagScratchSize(m, n, full, vectors) doubles).
template <typename T, typename Lanes>
ANTLER_HD void lanesSvdBidiag(const Lanes& L, int64_t m, int64_t n, const T* A, bool full, bool vectors, T* U, T* S,
                              T* Vh, int32_t* info, double* s) {
  const bool trans = m < n;
  const int64_t M = trans ? n : m, N = trans ? m : n, uc = full ? M : N;
  double* G = s;   // M×N column-major
  double* d = G + M * N;
  double* e = d + N;
  double* tq = e + N;
  double* tp = tq + N;
  double* perm = tp + N;
  double* rot = perm + N;   // 4N
  double* w = rot + 4 * N;  // M + N
  double* red = w + M + N;  // [0]: scale slot; [1]: state (1 ok); [2]: command; [3]: ll of the sweep; [4]: hi
  double* Uw = red + 8;     // M×uc (vectors)
  double* Vw = Uw + M * uc; // N×N (vectors)
  const int64_t lane = L.lane(), count = L.count();
  for (int64_t el = lane; el < M * N; el += count) {
    const int64_t j = el / M, i = el % M;
    G[el] = static_cast<double>(trans ? A[j * n + i] : A[i * n + j]);
  }
  L.sync();
  const double undo = lanesScaleUnit(L, M * N, G, red);
  if (lane == 0) {
    bool finite = true;
    for (int64_t el = 0; el < M * N && finite; ++el) finite = fabs(G[el]) <= 1.7e308;
    red[1] = finite ? 1.0 : 0.0;
  }
  L.sync();
  bool ok = red[1] != 0;
  // 1. Bidiagonalisation.
  for (int64_t j = 0; ok && j < N; ++j) {
    double* gj = G + j * M;
    if (lane == 0) {
      bidiagReflector(gj + j, M - j, 1, tq[j], d[j]);
      gj[j] = 1;
    }
    L.sync();
    const double tau = tq[j];
    if (tau != 0)
      for (int64_t c = j + 1 + lane; c < N; c += count) {   // H_j on column c
        double* gc = G + c * M;
        double dot = 0;
        for (int64_t i = j; i < M; ++i) dot += gj[i] * gc[i];
        dot *= tau;
        for (int64_t i = j; i < M; ++i) gc[i] -= dot * gj[i];
      }
    L.sync();
    if (j + 1 >= N) break;
    if (lane == 0) {
      bidiagReflector(G + (j + 1) * M + j, N - j - 1, M, tp[j], e[j]);
      G[(j + 1) * M + j] = 1;
    }
    L.sync();
    const double taup = tp[j];
    if (taup != 0) {   // K_j on rows j + 1 …: w = G v, then G −= τ w vᵀ (lanes own rows)
      for (int64_t i = j + 1 + lane; i < M; i += count) w[i] = 0;
      for (int64_t c = j + 1; c < N; ++c) {
        const double vc = G[c * M + j];
        const double* gc = G + c * M;
        for (int64_t i = j + 1 + lane; i < M; i += count) w[i] += gc[i] * vc;
      }
      for (int64_t c = j + 1; c < N; ++c) {
        const double vc = taup * G[c * M + j];
        double* gc = G + c * M;
        for (int64_t i = j + 1 + lane; i < M; i += count) gc[i] -= w[i] * vc;
      }
    }
    L.sync();
  }
  // Q (M×uc) and P (N×N) from the reflectors, backwards (H_j touches rows and columns ≥ j of H_{j+1} ⋯ I).
  if (ok && vectors) {
    for (int64_t el = lane; el < M * uc; el += count) Uw[el] = el / M == el % M ? 1.0 : 0.0;
    for (int64_t el = lane; el < N * N; el += count) Vw[el] = el / N == el % N ? 1.0 : 0.0;
    L.sync();
    for (int64_t j = N - 1; j >= 0; --j) {
      const double tau = tq[j];
      const double* v = G + j * M;
      if (tau != 0)
        for (int64_t c = j + lane; c < uc; c += count) {
          double* uc_ = Uw + c * M;
          double dot = 0;
          for (int64_t i = j; i < M; ++i) dot += v[i] * uc_[i];
          dot *= tau;
          for (int64_t i = j; i < M; ++i) uc_[i] -= dot * v[i];
        }
      L.sync();
    }
    for (int64_t j = N - 2; j >= 0; --j) {
      const double tau = tp[j];
      if (tau == 0) continue;
      for (int64_t r = j + 1 + lane; r < N; r += count) w[r] = G[r * M + j];   // v, contiguous
      L.sync();
      for (int64_t c = j + 1 + lane; c < N; c += count) {
        double* vc = Vw + c * N;
        double dot = 0;
        for (int64_t r = j + 1; r < N; ++r) dot += w[r] * vc[r];
        dot *= tau;
        for (int64_t r = j + 1; r < N; ++r) vc[r] -= dot * w[r];
      }
      L.sync();
    }
  }
  // 2. The bidiagonal QR iteration.
  BidiagQr st{N - 1, 0, static_cast<int64_t>(kBidiagMaxSweepsPerN) * N * N, 0};
  if (ok && lane == 0) {
    if (N > 0) e[N - 1] = 0;
    double mu = fabs(d[0]), smin = mu;   // Demmel–Kahan's estimate of σ_min, for the absolute floor
    for (int64_t k = 1; k < N && smin > 0; ++k) {
      mu = fabs(d[k]) * (mu / (mu + fabs(e[k - 1])));
      smin = fmin(smin, mu);
    }
    smin /= sqrt(static_cast<double>(N));
    st.thresh = fmax(kBidiagTol * smin, static_cast<double>(st.maxit) * kBidiagMinNormal);
  }
  while (ok) {
    if (lane == 0) {
      int64_t ll = 0;
      const int r = bidiagQrStep(N, d, e, rot, st, ll);
      red[2] = r;
      red[3] = static_cast<double>(ll);
      red[4] = static_cast<double>(st.hi);
    }
    L.sync();
    const int cmd = static_cast<int>(red[2]);
    if (cmd < 0) ok = false;
    if (cmd <= 0) break;
    if (vectors) {
      const int64_t ll = static_cast<int64_t>(red[3]), hi = static_cast<int64_t>(red[4]);
      bidiagRotateColumns(L, N, Vw, ll, hi, rot, rot + N);
      bidiagRotateColumns(L, M, Uw, ll, hi, rot + 2 * N, rot + 3 * N);
    }
    L.sync();
  }
  // 3. Signs, order, output.
  if (lane == 0 && ok) {
    for (int64_t k = 0; k < N; ++k) {
      rot[k] = d[k] < 0 ? -1.0 : 1.0;
      d[k] = fabs(d[k]);
    }
    sortOrder(N, d, 1, perm, true);
  }
  L.sync();
  if (ok && vectors)
    for (int64_t el = lane; el < N * N; el += count)
      if (rot[el / N] < 0) Vw[el] = -Vw[el];
  L.sync();
  const double nan = NAN;
  for (int64_t j = lane; j < N; j += count) S[j] = static_cast<T>(ok ? d[static_cast<int64_t>(perm[j])] * undo : nan);
  if (vectors) {
    // G = Uw' diag(σ) Vw'ᵀ with the columns permuted (Uw's completion columns ≥ N stay). A = G: U = Uw', Vh = Vw'ᵀ.
    // A = Gᵀ: U = Vw' (N×N = m×m), Vh = Uw'ᵀ (uc×M = vr×n).
    const int64_t ucA = trans ? N : uc, vrA = trans ? uc : N;
    for (int64_t el = lane; el < m * ucA; el += count) {
      const int64_t i = el / ucA, j = el % ucA;
      const int64_t pj = ok && j < N ? static_cast<int64_t>(perm[j]) : j;
      const double x = trans ? Vw[pj * N + i] : Uw[pj * M + i];
      U[el] = static_cast<T>(ok ? x : nan);
    }
    for (int64_t el = lane; el < vrA * n; el += count) {
      const int64_t j = el / n, i = el % n;
      const int64_t pj = ok && j < N ? static_cast<int64_t>(perm[j]) : j;
      const double x = trans ? Uw[pj * M + i] : Vw[pj * N + i];
      Vh[el] = static_cast<T>(ok ? x : nan);
    }
  }
  if (lane == 0) *info = ok ? 0 : 1;
  L.sync();
}

}  // namespace antler::kernels
