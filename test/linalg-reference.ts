/**
 * Float64 references shared by the spectral linear-algebra suites (test/cpu/linalg-spectral, linalg-lapack-spectral,
 * linalg-tridiag and linalg-bidiag): plain JS loops transcribing the definitions, independent of the kernels and of
 * LAPACK. Eigenvalues of a symmetric matrix by a tridiagonal reduction (Householder reflectors, or Givens rotations
 * where the suite wants a reduction unlike the kernel's) and bisection on the Sturm count (LAPACK's dstebz route,
 * absolute accuracy ~n·eps·‖A‖); singular values by Householder bidiagonalisation and bisection on the Golub–Kahan
 * tridiagonal (zero diagonal, the bidiagonal's entries interleaved off it: eigenvalues ±σ_i), absolute accuracy
 * ~(m + n)·eps·‖A‖ for the smallest σ too; random orthogonal matrices and matrices with given singular values; small
 * dense-matrix helpers. Matrices are row-major, as nested rows (Mat) or flat (ArrayLike) with their dims.
 */
import { randomArray, Rng } from './helpers';

export type Mat = number[][];
/** A matrix as nested rows or flat row-major values. */
export type Dense = Mat | ArrayLike<number>;

export const toMat = (v: ArrayLike<number>, m: number, n: number, off = 0): Mat => Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => v[off + i * n + j]));
export const mT = (a: Mat): Mat => (a.length ? a[0].map((_, j) => a.map((r) => r[j])) : []);
/** The product a b (skips zero entries of a: cheap on the sparse and triangular factors the suites build). */
export const mm = (a: Mat, b: Mat): Mat => {
  const n = b.length ? b[0].length : 0;
  return a.map((r) => {
    const out = new Array<number>(n).fill(0);
    r.forEach((x, k) => {
      if (x !== 0) for (let j = 0; j < n; j++) out[j] += x * b[k][j];
    });
    return out;
  });
};
export const sub = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((x, j) => x - b[i][j]));
/** The Frobenius norm of a nested or flat matrix. */
export const frob = (a: Dense): number => {
  let s = 0;
  for (const x of isMat(a) ? a.flat() : Array.from(a)) s += x * x;
  return Math.sqrt(s);
};
export const eyeMat = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
export const maxAbsDiff = (a: Mat, b: Mat): number => Math.max(0, ...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i][j]))));

function isMat(a: Dense): a is Mat {
  return Array.isArray(a) && a.length > 0 && Array.isArray(a[0]);
}

/** a's values, row-major, as a fresh Float64Array (m×n: the dims of a flat a). */
function flat(a: Dense, m: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  if (isMat(a)) a.forEach((r, i) => r.forEach((x, j) => (out[i * n + j] = x)));
  else for (let e = 0; e < m * n; e++) out[e] = a[e];
  return out;
}

/**
 * The symmetric n×n a reduced to tridiagonal form (diagonal d, off-diagonal e) by Householder reflections
 * H = I − β v vᵀ on both sides (A ← H A H as the rank-2 update A − v wᵀ − w vᵀ): backward stable, O(n³).
 */
export function householderTridiagonal(a0: Dense, n: number): { d: Float64Array; e: Float64Array } {
  const a = flat(a0, n, n), v = new Float64Array(n), p = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  for (let k = 0; k + 2 < n; k++) {
    let nx = 0;
    for (let i = k + 1; i < n; i++) nx += a[i * n + k] ** 2;
    nx = Math.sqrt(nx);
    if (nx === 0) continue;
    v.fill(0);
    for (let i = k + 1; i < n; i++) v[i] = a[i * n + k];
    v[k + 1] += v[k + 1] < 0 ? -nx : nx;
    let vv = 0;
    for (let i = k + 1; i < n; i++) vv += v[i] * v[i];
    const beta = 2 / vv;
    let vp = 0;
    for (let i = k; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += a[i * n + j] * v[j];
      p[i] = beta * s;
      vp += v[i] * p[i];
    }
    const K = (beta * vp) / 2;
    for (let i = k; i < n; i++) p[i] -= K * v[i];
    for (let i = k; i < n; i++) for (let j = k; j < n; j++) a[i * n + j] -= v[i] * p[j] + p[i] * v[j];
  }
  for (let i = 0; i + 1 < n; i++) e[i] = a[(i + 1) * n + i];
  return { d: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), e };
}

/**
 * The symmetric n×n a reduced to tridiagonal form by Givens rotations (planes (k + 1, i) zeroing a[i][k], applied to
 * both sides): a different reduction from the kernels' Householder reflectors. O(n³) per column, O(n⁴) in all.
 */
export function givensTridiagonal(a0: Dense, n: number): { d: Float64Array; e: Float64Array } {
  const w = flat(a0, n, n);
  for (let k = 0; k + 2 < n; k++)
    for (let i = k + 2; i < n; i++) {
      const x = w[(k + 1) * n + k], y = w[i * n + k];
      if (y === 0) continue;
      const r = Math.hypot(x, y), c = x / r, s = y / r;
      const p = k + 1;
      for (let j = 0; j < n; j++) {   // rows p, i
        const u = w[p * n + j], t = w[i * n + j];
        w[p * n + j] = c * u + s * t;
        w[i * n + j] = c * t - s * u;
      }
      for (let j = 0; j < n; j++) {   // columns p, i
        const u = w[j * n + p], t = w[j * n + i];
        w[j * n + p] = c * u + s * t;
        w[j * n + i] = c * t - s * u;
      }
    }
  return { d: Float64Array.from({ length: n }, (_, i) => w[i * n + i]), e: Float64Array.from({ length: Math.max(0, n - 1) }, (_, i) => w[(i + 1) * n + i]) };
}

/**
 * The m×n a (m ≥ n) reduced to upper bidiagonal form (diagonal d, superdiagonal f) by Householder reflections from
 * the left (column k below the diagonal) and the right (row k right of the superdiagonal). O(m·n²).
 */
export function householderBidiagonal(a0: Dense, m: number, n: number): { d: Float64Array; f: Float64Array } {
  const a = flat(a0, m, n), d = new Float64Array(n), f = new Float64Array(Math.max(0, n - 1));
  const reflect = (len: number, get: (i: number) => number): { v: Float64Array; beta: number; alpha: number } => {
    const v = Float64Array.from({ length: len }, (_, i) => get(i));
    const nx = frob(v);
    if (nx === 0) return { v, beta: 0, alpha: 0 };
    const alpha = v[0] < 0 ? nx : -nx;
    v[0] -= alpha;
    return { v, beta: 2 / v.reduce((s, x) => s + x * x, 0), alpha };
  };
  for (let k = 0; k < n; k++) {
    const L1 = reflect(m - k, (i) => a[(k + i) * n + k]);
    d[k] = L1.alpha;
    for (let j = k + 1; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m - k; i++) s += L1.v[i] * a[(k + i) * n + j];
      s *= L1.beta;
      for (let i = 0; i < m - k; i++) a[(k + i) * n + j] -= s * L1.v[i];
    }
    if (k + 1 >= n) continue;
    const R = reflect(n - k - 1, (j) => a[k * n + k + 1 + j]);
    f[k] = R.alpha;
    for (let i = k + 1; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n - k - 1; j++) s += a[i * n + k + 1 + j] * R.v[j];
      s *= R.beta;
      for (let j = 0; j < n - k - 1; j++) a[i * n + k + 1 + j] -= s * R.v[j];
    }
  }
  return { d, f };
}

/**
 * The number of eigenvalues of the symmetric tridiagonal (d, e) below lam: the negative pivots of its LDLᵀ (Sturm
 * count); a pivot smaller than pivmin in magnitude counts as −pivmin (a −∞ after it still counts right).
 */
export function sturmCount(d: ArrayLike<number>, e: ArrayLike<number>, lam: number, pivmin: number): number {
  let neg = 0, q = 1;
  for (let i = 0; i < d.length; i++) {
    q = d[i] - lam - (i > 0 ? (e[i - 1] * e[i - 1]) / q : 0);
    if (Math.abs(q) < pivmin) q = -pivmin;
    if (q < 0) neg++;
  }
  return neg;
}

/**
 * The eigenvalues of the symmetric tridiagonal (d, e), ascending: bisection on the Sturm count inside the Gershgorin
 * bound r, each to a width of 1e−17·r (scale-free: 1e±150 matrices resolve as well as unit ones).
 */
export function tridiagonalEigvals(d: ArrayLike<number>, e: ArrayLike<number>): number[] {
  const n = d.length;
  let r = 1e-300;
  for (let i = 0; i < n; i++) r = Math.max(r, Math.abs(d[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0));
  const pivmin = 1e-290 * Math.max(1, r);
  const bound = r * (1 + 1e-12);
  return Array.from({ length: n }, (_, k) => {
    let lo = -bound, hi = bound;
    for (let it = 0; it < 300 && hi - lo > 1e-17 * r; it++) {
      const mid = (lo + hi) / 2;
      if (mid <= lo || mid >= hi) break;
      if (sturmCount(d, e, mid, pivmin) > k) hi = mid;
      else lo = mid;
    }
    return (lo + hi) / 2;
  });
}

/** The eigenvalues of the symmetric n×n a, ascending: a tridiagonal reduction (Householder, or Givens), then bisection. */
export function eigvalsRef(a: Dense, n = isMat(a) ? a.length : Math.round(Math.sqrt(a.length)), reduction: 'householder' | 'givens' = 'householder'): number[] {
  const { d, e } = reduction === 'givens' ? givensTridiagonal(a, n) : householderTridiagonal(a, n);
  return tridiagonalEigvals(d, e);
}

/**
 * The singular values of the m×n a, descending (min(m, n) of them, ≥ 0): the largest eigenvalues of the Golub–Kahan
 * tridiagonal of its bidiagonal form (of aᵀ when m < n).
 */
export function svdvalsRef(a: Dense, m = isMat(a) ? a.length : 0, n = isMat(a) ? (a[0]?.length ?? 0) : 0): number[] {
  const x = flat(a, m, n);
  const at = m >= n ? x : Float64Array.from({ length: m * n }, (_, e) => x[(e % m) * n + Math.floor(e / m)]);
  const [M, N] = m >= n ? [m, n] : [n, m];
  if (N === 0) return [];
  const { d, f } = householderBidiagonal(at, M, N);
  const off = new Float64Array(2 * N - 1);
  for (let i = 0; i < N; i++) {
    off[2 * i] = d[i];
    if (i + 1 < N) off[2 * i + 1] = f[i];
  }
  return tridiagonalEigvals(new Float64Array(2 * N), off).slice(N).reverse().map((s) => Math.max(0, s));
}

/** A random orthogonal n×n matrix: Gram–Schmidt, twice, of random vectors. */
export function randomOrthogonal(rng: Rng, n: number): Mat {
  const q: number[][] = [];
  while (q.length < n) {
    const v = randomArray(rng, n);
    for (let pass = 0; pass < 2; pass++)
      for (const u of q) {
        const dd = u.reduce((s, x, i) => s + x * v[i], 0);
        for (let i = 0; i < n; i++) v[i] -= dd * u[i];
      }
    const nr = Math.hypot(...v);
    if (nr > 0.1) q.push(v.map((x) => x / nr));
  }
  return mT(q);
}

/** U₀ diag(s) V₀ᵀ (m×n) with random orthogonal U₀, V₀: singular values s (to the rounding of the product). */
export function withSingularValues(rng: Rng, m: number, n: number, s: number[]): Mat {
  const U0 = randomOrthogonal(rng, m), V0 = randomOrthogonal(rng, n);
  const US = U0.map((r) => r.slice(0, s.length).map((x, j) => x * s[j]));
  return mm(US, mT(V0).slice(0, s.length));
}
