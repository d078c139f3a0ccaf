/**
 * linalg.eigh and eigvalsh above kEighTridiagMin (n > 32): the built-in Householder tridiagonalisation and implicit
 * QR with Wilkinson shifts (native/kernels/linalg_tridiag.h, which lanesEigh dispatches to), run under
 * preferredLinalgLibrary('builtin') so that no LAPACK route takes these sizes. Checked against the float64 references
 * of test/linalg-reference.ts: eigenvalues by bisection on the Sturm count of a tridiagonal reduction by Givens
 * rotations (a different reduction from the kernel's Householder reflectors, and bisection instead of QR), or of the
 * matrix itself when it is tridiagonal; A V = V diag(w) and VᵀV = I to ~n·eps; repeated eigenvalues, diagonal, zero,
 * 1e±150 scales, both triangles (junk in the other), float32, batches, NaN/±inf (LINALG_ERROR, NaN outputs with
 * info 1 from the kernel); the gradient by central differences.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { native } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';
import { eigvalsRef as eigvalsOf, frob, mT, randomOrthogonal, tridiagonalEigvals } from '../linalg-reference';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
beforeAll(() => antler.preferredLinalgLibrary('builtin'));
afterAll(() => antler.preferredLinalgLibrary('default'));

const L = antler.linalg;
const EPS64 = 2.220446049250313e-16;
const EPS32 = 1.1920928955078125e-7;
const read = (t: Tensor) => Array.from(t.dataSync());
type Dtype = 'float32' | 'float64';

/** The n×n symmetric matrix from the random values x (row-major): x + xᵀ. */
function randomSymmetric(n: number): number[] {
  const x = randomArray(rng, n * n);
  return x.map((v, e) => v + x[(e % n) * n + Math.floor(e / n)]);
}

/** a (row-major n×n) with the triangle that UPLO does not read replaced by junk. */
function withJunk(a: number[], n: number, upper: boolean): number[] {
  return a.map((v, e) => {
    const i = Math.floor(e / n), j = e % n;
    return (upper ? i > j : i < j) ? 1000 * (rng.uniform(-1, 1) + 2) : v;
  });
}

/** The eigenvalues of the symmetric a (n×n), ascending: Givens reduction (not the kernel's Householder), bisection. */
const eigvalsRef = (a: ArrayLike<number>, n: number): number[] => eigvalsOf(a, n, 'givens');

/** max |A V − V diag(w)| / ‖A‖_F and max |VᵀV − I| for the row-major a, V (n×n) and w. */
function residuals(a: ArrayLike<number>, V: ArrayLike<number>, w: ArrayLike<number>, n: number): { res: number; orth: number } {
  let res = 0, orth = 0;
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) col[i] = V[i * n + j];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * col[k];
      res = Math.max(res, Math.abs(s - col[i] * w[j]));
    }
    for (let l = j; l < n; l++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[k * n + l] * col[k];
      orth = Math.max(orth, Math.abs(s - (l === j ? 1 : 0)));
    }
  }
  return { res: res / Math.max(frob(a), 1e-300), orth };
}

/** eigh of the row-major a (n×n) in dtype: the input as stored (float32-rounded), w, V, and eigvalsh's values. */
function eighOf(a: number[], n: number, dtype: Dtype, upper = false): { a: number[]; w: number[]; V: number[]; wOnly: number[] } {
  return tidy(() => {
    const t = tensor(a, [n, n], { dtype });
    const UPLO = upper ? ('U' as const) : ('L' as const);
    const { eigenvalues, eigenvectors } = L.eigh(t, { UPLO });
    return { a: read(t), w: read(eigenvalues), V: read(eigenvectors), wOnly: read(L.eigvalsh(t, { UPLO })) };
  });
}

/** The symmetric matrix a (the triangle read), mirrored from it. */
function mirrored(a: number[], n: number, upper: boolean): number[] {
  return a.map((v, e) => {
    const i = Math.floor(e / n), j = e % n;
    return (upper ? i <= j : i >= j) ? v : a[j * n + i];
  });
}

/** Checks eigh's factors of a (n×n, symmetric) against the reference values `ref` (ascending). */
function checkFactors(a: number[], r: { w: number[]; V: number[]; wOnly: number[] }, ref: number[], n: number, dtype: Dtype, what: string): void {
  const eps = dtype === 'float64' ? EPS64 : EPS32;
  const scale = Math.max(frob(a), 1e-300);
  // Values: backward stable to n·eps64·‖A‖ in float64 (measured ≤ 0.11·n·eps64·‖A‖_F, n = 33 … 200, two seeds);
  // float32 adds the final rounding of each value (≤ eps32/2·|λ|; measured ≤ 0.13·eps32·‖A‖_F).
  expectClose(r.w, ref, 0, (dtype === 'float64' ? n * EPS64 : EPS32) * scale, `${what}: eigenvalues (seed ${SEED})`);
  expectClose(r.wOnly, r.w, 0, (dtype === 'float64' ? 4 * EPS64 : 2 * EPS32) * scale, `${what}: eigvalsh = eigh's values`);
  for (let i = 1; i < n; i++) expect(r.w[i]).toBeGreaterThanOrEqual(r.w[i - 1]);
  const { res, orth } = residuals(a, r.V, r.w, n);
  // float64 measured: residual ≤ 0.07·n·eps, orthogonality ≤ 0.36·n·eps. float32: V's entries rounded (eps32/2 each),
  // measured ≤ 0.02·√n·eps32 and 0.09·√n·eps32.
  const bound = dtype === 'float64' ? n * eps : 0.5 * Math.sqrt(n) * eps;
  if (!(res <= bound && orth <= bound)) throw new Error(`${what}: |AV − VΛ|/|A| = ${res / eps} eps, |VᵀV − I| = ${orth / eps} eps (bound ${bound / eps} eps; seed ${SEED})`);
}

describe(`eigh above the Jacobi sizes: tridiagonal reduction and implicit QR (seed ${SEED})`, () => {
  test('random symmetric n = 33 … 200, float64 and float32, lower and upper (junk in the other triangle): values against bisection, A V = V diag(w), VᵀV = I', () => {
    for (const n of [33, 34, 65, 100, 200])
      for (const dtype of ['float64', 'float32'] as const)
        for (const upper of n <= 100 ? [false, true] : [n % 2 === 0]) {
          const a = randomSymmetric(n);
          const r = eighOf(withJunk(a, n, upper), n, dtype, upper);
          const stored = mirrored(r.a, n, upper);
          checkFactors(stored, r, eigvalsRef(stored, n), n, dtype, `n ${n} ${dtype} ${upper ? 'U' : 'L'}`);
        }
  });

  test('repeated eigenvalues Q diag(1, 1, 1, 2, 2, 2, …) Qᵀ: the values, an orthonormal V, A V = V diag(w)', () => {
    for (const n of [36, 100]) {
      const q = mT(randomOrthogonal(rng, n));   // Q's columns, the eigenvectors
      const lam = Array.from({ length: n }, (_, k) => 1 + Math.floor(k / 3));
      const a = Array.from({ length: n * n }, (_, e) => {
        const i = Math.floor(e / n), j = e % n;
        return q.reduce((s, u, k) => s + lam[k] * u[i] * u[j], 0);
      });
      const sym = a.map((v, e) => (v + a[(e % n) * n + Math.floor(e / n)]) / 2);
      const r = eighOf(sym, n, 'float64');
      checkFactors(sym, r, eigvalsRef(sym, n), n, 'float64', `repeated n ${n}`);
      expectClose(r.w, lam, 0, 8 * n * EPS64 * lam[n - 1], `repeated n ${n}: the exact values`);
    }
  });

  test('diagonal (exact values, V a signed permutation), tridiagonal (against its own Sturm count), zero (w = 0, V = I)', () => {
    const n = 50;
    const diag = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0.5 : rng.uniform(-3, 3)));
    const D = Array.from({ length: n * n }, (_, e) => (Math.floor(e / n) === e % n ? diag[e % n] : 0));
    const rd = eighOf(D, n, 'float64');
    expect(rd.w).toEqual([...diag].sort((x, y) => x - y));
    expect(rd.wOnly).toEqual(rd.w);
    expect(rd.V.every((x) => x === 0 || Math.abs(x) === 1)).toBe(true);
    checkFactors(D, rd, [...diag].sort((x, y) => x - y), n, 'float64', 'diagonal');

    const m = 60;
    const d = randomArray(rng, m, -2, 2), e = randomArray(rng, m - 1, -1, 1);
    e[20] = 0;   // splits it into two blocks
    const T = Array.from({ length: m * m }, (_, k) => {
      const i = Math.floor(k / m), j = k % m;
      return i === j ? d[i] : Math.abs(i - j) === 1 ? e[Math.min(i, j)] : 0;
    });
    for (const dtype of ['float64', 'float32'] as const) {
      const rt = eighOf(T, m, dtype);
      const dt = Array.from({ length: m }, (_, i) => rt.a[i * m + i]), et = Array.from({ length: m - 1 }, (_, i) => rt.a[(i + 1) * m + i]);
      checkFactors(rt.a, rt, tridiagonalEigvals(dt, et), m, dtype, `tridiagonal ${dtype}`);
    }

    const rz = eighOf(new Array(40 * 40).fill(0), 40, 'float64');
    expect(rz.w).toEqual(new Array(40).fill(0));
    expect(rz.V).toEqual(Array.from({ length: 1600 }, (_, e) => (Math.floor(e / 40) === e % 40 ? 1 : 0)));
  });

  test('low rank (the all-ones matrix, h·hᵀ of rank 1 and 3): columns of rounding noise that shrink into the subnormal range', () => {
    for (const n of [40, 101]) {
      const ones = new Array(n * n).fill(1);
      checkFactors(ones, eighOf(ones, n, 'float64'), [...new Array(n - 1).fill(0), n], n, 'float64', `all-ones n ${n}`);
      for (const rank of [1, 3]) {
        const h = randomArray(rng, n * rank);
        const a = Array.from({ length: n * n }, (_, e) => {
          const i = Math.floor(e / n), j = e % n;
          let s = 0;
          for (let k = 0; k < rank; k++) s += h[i * rank + k] * h[j * rank + k];
          return s;
        });
        checkFactors(a, eighOf(a, n, 'float64'), eigvalsRef(a, n), n, 'float64', `rank ${rank} n ${n}`);
      }
    }
  });

  test('scales 1e150 and 1e-150 (no overflow or underflow): the unscaled values times the scale, residuals relative to ‖A‖', () => {
    const n = 48;
    const a = randomSymmetric(n);
    const ref = eigvalsRef(a, n);
    for (const s of [1e150, 1e-150]) {
      const as = a.map((x) => x * s);
      const r = eighOf(as, n, 'float64');
      checkFactors(as, r, ref.map((x) => x * s), n, 'float64', `scale ${s}`);
    }
    // float32 at its own extremes (1e±30: the squares would leave float32's range, not float64's).
    for (const s of [1e30, 1e-30]) {
      const r = eighOf(a.map((x) => x * s), n, 'float32');
      checkFactors(r.a, r, eigvalsRef(r.a, n), n, 'float32', `float32 scale ${s}`);
    }
  });

  test('a batch of large matrices: each its own; NaN or ±inf in one: LINALG_ERROR naming it, and from the kernel NaN outputs with info 1 for it alone', () => {
    const n = 40;
    const mats = [randomSymmetric(n), randomSymmetric(n), randomSymmetric(n)];
    tidy(() => {
      const t = tensor(mats.flat(), [3, n, n], { dtype: 'float64' });
      const { eigenvalues, eigenvectors } = L.eigh(t);
      const w = read(eigenvalues), V = read(eigenvectors);
      mats.forEach((a, b) =>
        checkFactors(a, { w: w.slice(b * n, b * n + n), V: V.slice(b * n * n, (b + 1) * n * n), wOnly: w.slice(b * n, b * n + n) }, eigvalsRef(a, n), n, 'float64', `batch ${b}`),
      );
    });
    for (const bad of [NaN, Infinity, -Infinity])
      for (const dtype of ['float64', 'float32'] as const)
        tidy(() => {
          const v = mats.flat();
          v[n * n + 5 * n + 2] = bad;   // matrix 1, in its lower triangle
          const t = tensor(v, [3, n, n], { dtype });
          const before = read(t);
          expectAntlerError(() => L.eigh(t), 'LINALG_ERROR', /batch index 1/);
          expectAntlerError(() => L.eigvalsh(t), 'LINALG_ERROR', /batch index 1/);
          expect(read(t)).toEqual(before);
          for (const vectors of [true, false]) {
            const [w, V, info] = native().linalgEigh(t.handle, false, vectors).map(wrap);
            expect(read(info)).toEqual([0, 1, 0]);
            const wv = read(w);
            expect(wv.slice(n, 2 * n).every(Number.isNaN)).toBe(true);
            expect([...wv.slice(0, n), ...wv.slice(2 * n)].every(Number.isFinite)).toBe(true);
            if (vectors) {
              const Vv = read(V);
              expect(Vv.slice(n * n, 2 * n * n).every(Number.isNaN)).toBe(true);
              expect(Vv.slice(0, n * n).every(Number.isFinite)).toBe(true);
            }
          }
        });
  });

  test('the gradient (eigenvalues and V ⊙ V, through the same backward as Jacobi) against central differences at n = 37', () =>
    tidy(() => {
      const n = 37;
      // sym(X) = X + Xᵀ + diag(4, 8, …): eigenvalues ≥ ~2 apart, so the 1/(λj − λi) terms stay well conditioned.
      const x0 = randomArray(rng, n * n, -0.4, 0.4);
      const cw = randomArray(rng, n), cV = randomArray(rng, n * n);
      const f = (x: Tensor): Tensor => {
        const s = antler.add(antler.add(x, antler.transpose(x)), antler.diag(tensor(Array.from({ length: n }, (_, i) => 4 * (i + 1)), [n], { dtype: 'float64' })));
        const { eigenvalues: w, eigenvectors: V } = L.eigh(s);
        return antler.add(antler.sum(antler.mul(w, tensor(cw, [n], { dtype: 'float64' }))), antler.sum(antler.mul(antler.mul(V, V), tensor(cV, [n, n], { dtype: 'float64' }))));
      };
      const x = tensor(x0, [n, n], { dtype: 'float64' }).requiresGrad_(true);
      f(x).backward();
      const g = read(x.grad!);
      // Fourth-order central differences with h = 1e-3: f ~ 1e2 carries ~1e-14 of rounding, so a smaller step loses
      // to it (h = 1e-6: 3e-4 relative error on small entries, with Jacobi at n = 30 as with this route).
      const h = 1e-3;
      const entries = Array.from({ length: 40 }, () => Math.floor(rng.uniform(0, n * n)));
      const fd = entries.map((e) =>
        tidy(() => {
          const at = (d: number) => read(f(tensor(x0.map((v, k) => (k === e ? v + d : v)), [n, n], { dtype: 'float64' })))[0];
          return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
        }),
      );
      expectClose(entries.map((e) => g[e]), fd, 1e-7, 1e-8, `eigh gradient at n ${n} (seed ${SEED})`);
    }));
});
