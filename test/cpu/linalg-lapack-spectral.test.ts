/**
 * eigh / eigvalsh / svd / svdvals on the CPU under each preferredLinalgLibrary: 'default' (LAPACK's dsyevd and
 * dgesdd from the opened OpenBLAS at and above the ops' thresholds, native/cpu/linalg_spectral.cpp), 'lapack' (at
 * every size) and 'builtin' (the built-in kernels). Against test/linalg-reference.ts's float64 references, independent
 * of both: eigenvalues by Householder tridiagonalisation and Sturm bisection, singular values by Householder
 * bidiagonalisation and Sturm bisection of the Golub–Kahan tridiagonal (eigenvalues ±σ); A V = V diag(w), VᵀV = I,
 * A = U diag(S) Vh with orthonormal factors, the orders. Also: the kernels' contracts at small sizes under 'lapack'
 * (batches, m ≠ n, 1×1, empty, one triangle read), float32 computed in float64 and rounded, NaN and ±inf, and
 * float64 gradients against central differences through LAPACK's factors. Skipped where the process has no LAPACK.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, tensorCounts } from '../helpers';
import { eigvalsRef, frob, svdvalsRef } from '../linalg-reference';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const L = antler.linalg;
const EPS64 = 2.220446049250313e-16;
type Lib = 'default' | 'lapack' | 'builtin';
type DT = 'float32' | 'float64';
const HAS_LAPACK = antler.backends().cpu.lapack;
const describeLapack = HAS_LAPACK ? describe : describe.skip;

/** Runs f with the preference set, restoring 'default' after. */
function under<T>(lib: Lib, f: () => T): T {
  antler.preferredLinalgLibrary(lib);
  try {
    return f();
  } finally {
    antler.preferredLinalgLibrary('default');
  }
}

const read = (t: Tensor): Float64Array => Float64Array.from(t.dataSync());
const randn = (size: number): Float64Array => {
  const u = randomArray(rng, 2 * size, 0, 1);
  return Float64Array.from({ length: size }, (_, i) => Math.sqrt(-2 * Math.log(1 - u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]));
};
/** A random symmetric n×n matrix (row-major), entries rounded to float32 when dt is (so both dtypes read the same). */
function randomSymmetric(n: number, dt: DT): Float64Array {
  const g = randn(n * n), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = (g[i * n + j] + g[j * n + i]) / 2;
  return dt === 'float32' ? a.map(Math.fround) : a;
}
const randomMatrix = (m: number, n: number, dt: DT): Float64Array => (dt === 'float32' ? randn(m * n).map(Math.fround) : randn(m * n));

/** max |A V − V diag(w)| and max |VᵀV − I| of matrix b of a batch (A row-major n×n). */
function eighResiduals(a: Float64Array, w: Float64Array, V: Float64Array, n: number, b: number): [number, number] {
  let res = 0, orth = 0;
  const wo = b * n, Vo = b * n * n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let av = 0, vv = 0;
      for (let k = 0; k < n; k++) {
        av += a[i * n + k] * V[Vo + k * n + j];
        vv += V[Vo + k * n + i] * V[Vo + k * n + j];
      }
      res = Math.max(res, Math.abs(av - V[Vo + i * n + j] * w[wo + j]));
      orth = Math.max(orth, Math.abs(vv - (i === j ? 1 : 0)));
    }
  return [res, orth];
}

/** max |A − U diag(S) Vh|, max |UᵀU − I|, max |Vh Vhᵀ − I| of matrix b (reduced factors: U m×k, Vh k×n). */
function svdResiduals(a: Float64Array, U: Float64Array, S: Float64Array, Vh: Float64Array, m: number, n: number, b: number): [number, number, number] {
  const k = Math.min(m, n), Uo = b * m * k, So = b * k, Vo = b * k * n;
  let rec = 0, ou = 0, ov = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += U[Uo + i * k + t] * S[So + t] * Vh[Vo + t * n + j];
      rec = Math.max(rec, Math.abs(a[i * n + j] - s));
    }
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let su = 0, sv = 0;
      for (let t = 0; t < m; t++) su += U[Uo + t * k + i] * U[Uo + t * k + j];
      for (let t = 0; t < n; t++) sv += Vh[Vo + i * n + t] * Vh[Vo + j * n + t];
      ou = Math.max(ou, Math.abs(su - (i === j ? 1 : 0)));
      ov = Math.max(ov, Math.abs(sv - (i === j ? 1 : 0)));
    }
  return [rec, ou, ov];
}

const isSorted = (x: ArrayLike<number>, descending: boolean): boolean => Array.from(x).every((v, i, s) => i === 0 || (descending ? v <= s[i - 1] : v >= s[i - 1]));

/** Checks eigh and eigvalsh of the batch of symmetric matrices `as` (n×n) under lib. tol: relative to ‖A‖_F. */
function checkEigh(lib: Lib, as: Float64Array[], n: number, dt: DT, tol: number, upper = false): void {
  tidy(() => {
    const B = as.length;
    // The triangle that is not read holds junk: only the other one may be used.
    const junk = as.flatMap((a) => Array.from(a, (x, e) => ((upper ? Math.floor(e / n) > e % n : Math.floor(e / n) < e % n) ? 1e3 + x : x)));
    const x = tensor(junk, B === 1 ? [n, n] : [B, n, n], { dtype: dt });
    const UPLO = upper ? 'U' : 'L';
    const { eigenvalues, eigenvectors } = under(lib, () => L.eigh(x, { UPLO }));
    const vals = under(lib, () => L.eigvalsh(x, { UPLO }));
    expect(eigenvalues.dtype).toBe(dt);
    expect(eigenvectors.shape).toEqual(x.shape);
    const w = read(eigenvalues), V = read(eigenvectors), wv = read(vals);
    as.forEach((a, b) => {
      const scale = Math.max(1, frob(a)), msg = `${lib} eigh ${n}×${n} ${dt} UPLO ${UPLO} matrix ${b} (seed ${SEED})`;
      const wb = w.subarray(b * n, b * n + n);
      expect(isSorted(wb, false)).toBe(true);
      const ref = eigvalsRef(a, n);
      expectClose(wb, ref, 0, tol * scale, `${msg}: eigenvalues`);
      expectClose(wv.subarray(b * n, b * n + n), ref, 0, tol * scale, `${msg}: eigvalsh`);
      const [res, orth] = eighResiduals(a, w, V, n, b);
      expect([msg, res / scale < tol, orth < tol]).toEqual([msg, true, true]);
    });
  });
}

/** Checks svd (reduced) and svdvals of the batch `as` (m×n) under lib. */
function checkSvd(lib: Lib, as: Float64Array[], m: number, n: number, dt: DT, tol: number): void {
  tidy(() => {
    const B = as.length, k = Math.min(m, n);
    const x = tensor(as.flatMap((a) => Array.from(a)), B === 1 ? [m, n] : [B, m, n], { dtype: dt });
    const f = under(lib, () => L.svd(x, { fullMatrices: false }));
    const sv = read(under(lib, () => L.svdvals(x)));
    expect(f.S.dtype).toBe(dt);
    expect([f.U.shape, f.Vh.shape]).toEqual([[...x.shape.slice(0, -1), k], [...x.shape.slice(0, -2), k, n]]);
    const U = read(f.U), S = read(f.S), Vh = read(f.Vh);
    as.forEach((a, b) => {
      const scale = Math.max(1, frob(a)), msg = `${lib} svd ${m}×${n} ${dt} matrix ${b} (seed ${SEED})`;
      const Sb = S.subarray(b * k, b * k + k);
      expect(isSorted(Sb, true)).toBe(true);
      const ref = svdvalsRef(a, m, n);
      expectClose(Sb, ref, 0, tol * scale, `${msg}: singular values`);
      expectClose(sv.subarray(b * k, b * k + k), ref, 0, tol * scale, `${msg}: svdvals`);
      const [rec, ou, ov] = svdResiduals(a, U, S, Vh, m, n, b);
      expect([msg, rec / scale < tol, ou < tol, ov < tol]).toEqual([msg, true, true, true]);
    });
  });
}

describeLapack(`eigh and svd through LAPACK (seed ${SEED})`, () => {
  afterAll(() => antler.preferredLinalgLibrary('default'));

  test.each(['default', 'lapack', 'builtin'] as Lib[])('%s: eigh / eigvalsh of 40×40, 100×100 (and 200×200 but builtin), float64 and float32, both triangles', (lib) => {
    for (const n of lib === 'builtin' ? [40, 100] : [40, 100, 200])
      for (const dt of ['float64', 'float32'] as DT[]) {
        const tol = dt === 'float64' ? 8 * n * EPS64 : 2e-6 * Math.sqrt(n);
        checkEigh(lib, [randomSymmetric(n, dt)], n, dt, tol, n === 100);
      }
    checkEigh(lib, [randomSymmetric(48, 'float64'), randomSymmetric(48, 'float64')], 48, 'float64', 8 * 48 * EPS64, true);
  });

  test.each(['default', 'lapack', 'builtin'] as Lib[])('%s: svd / svdvals of 40×40, 100×70, 70×200 (and 200×200 but builtin), float64 and float32', (lib) => {
    const shapes: [number, number][] = [[40, 40], [100, 70], [70, 200]];
    if (lib !== 'builtin') shapes.push([200, 200]);
    for (const [m, n] of shapes)
      for (const dt of ['float64', 'float32'] as DT[]) {
        const M = Math.max(m, n), tol = dt === 'float64' ? 8 * M * EPS64 : 2e-6 * Math.sqrt(M);
        checkSvd(lib, [randomMatrix(m, n, dt)], m, n, dt, tol);
      }
    checkSvd(lib, [randomMatrix(50, 45, 'float64'), randomMatrix(50, 45, 'float64'), randomMatrix(50, 45, 'float64')], 50, 45, 'float64', 8 * 50 * EPS64);
  });

  test("'default' runs LAPACK on large matrices and the built-in kernels on small ones (the same numbers as the forced choices)", () =>
    tidy(() => {
      const big = tensor(Array.from(randomSymmetric(200, 'float64')), [200, 200], { dtype: 'float64' });
      const small = tensor(Array.from(randomSymmetric(4, 'float64')), [4, 4], { dtype: 'float64' });
      const runs = (x: Tensor) => (['default', 'lapack', 'builtin'] as Lib[]).map((lib) => under(lib, () => [L.eigvalsh(x), L.svdvals(x), L.eigh(x).eigenvectors, L.svd(x).U].map(read)));
      const [dBig, lBig, bBig] = runs(big), [dSmall, lSmall, bSmall] = runs(small);
      dBig.forEach((r, i) => expect(r).toEqual(lBig[i]));
      dSmall.forEach((r, i) => expect(r).toEqual(bSmall[i]));
      // … and the two libraries' answers are different code: not bit-identical. A 4×4's four singular values
      // agree to the bit between the two on 2 of 3,000 random draws, so one small matrix failed about one run in
      // 1,500: six of them all agree with odds (7e-4)^6 ≈ 1e-19.
      expect(bBig[0]).not.toEqual(lBig[0]);
      const smalls = [small, ...Array.from({ length: 5 }, () => tensor(Array.from(randomSymmetric(4, 'float64')), [4, 4], { dtype: 'float64' }))];
      const svdvalsBy = (lib: Lib) => smalls.map((x) => under(lib, () => read(L.svdvals(x))));
      expect(svdvalsBy('builtin')).not.toEqual(svdvalsBy('lapack'));
    }));

  test("float32 is computed in float64 and rounded: LAPACK's float32 results are float64's rounded", () =>
    tidy(() => {
      for (const n of [1, 5, 60]) {
        const a = Array.from(randomSymmetric(n, 'float32'));
        const [x32, x64] = (['float32', 'float64'] as DT[]).map((dtype) => tensor(a, [n, n], { dtype }));
        under('lapack', () => {
          const [e32, e64] = [L.eigh(x32), L.eigh(x64)];
          expect(read(e32.eigenvalues)).toEqual(read(e64.eigenvalues).map(Math.fround));
          expect(read(e32.eigenvectors)).toEqual(read(e64.eigenvectors).map(Math.fround));
          const [s32, s64] = [L.svd(x32, { fullMatrices: false }), L.svd(x64, { fullMatrices: false })];
          for (const key of ['U', 'S', 'Vh'] as const) expect(read(s32[key])).toEqual(read(s64[key]).map(Math.fround));
        });
      }
    }));

  test("'lapack' at small sizes keeps the kernels' contracts: n = 1…8, batches, m ≠ n, 1×1, empty, one triangle read, full matrices", () => {
    for (let n = 1; n <= 8; n++) {
      checkEigh('lapack', [randomSymmetric(n, 'float64')], n, 'float64', 20 * EPS64 * Math.max(n, 4));
      checkEigh('lapack', [randomSymmetric(n, 'float64'), randomSymmetric(n, 'float64'), randomSymmetric(n, 'float64')], n, 'float64', 20 * EPS64 * Math.max(n, 4), true);
    }
    checkEigh('lapack', [randomSymmetric(6, 'float32')], 6, 'float32', 2e-6);
    for (const [B, m, n] of [[1, 1, 1], [1, 4, 3], [2, 3, 5], [3, 6, 6], [2, 7, 2], [1, 1, 4], [1, 5, 1]]) {
      const as = Array.from({ length: B }, () => randomMatrix(m, n, 'float64'));
      checkSvd('lapack', as, m, n, 'float64', 20 * EPS64 * Math.max(m, n, 4));
      tidy(() => {
        const x = tensor(as.flatMap((a) => Array.from(a)), [B, m, n], { dtype: 'float64' });
        const full = under('lapack', () => L.svd(x));
        expect([full.U.shape, full.Vh.shape]).toEqual([[B, m, m], [B, n, n]]);
        // Full factors are orthogonal and reproduce A.
        const eyeDiff = (Q: Tensor) => antler.max(antler.abs(antler.sub(antler.matmul(antler.transpose(Q, -2, -1), Q), antler.eye(Q.shape[2], Q.shape[2], { dtype: 'float64' })))).item();
        expect(eyeDiff(full.U)).toBeLessThan(1e-14);
        expect(eyeDiff(full.Vh)).toBeLessThan(1e-14);
        const k = Math.min(m, n);
        const rec = antler.matmul(antler.mul(antler.narrow(full.U, -1, 0, k), antler.unsqueeze(full.S, -2)), antler.narrow(full.Vh, -2, 0, k));
        expect(antler.max(antler.abs(antler.sub(rec, x))).item()).toBeLessThan(1e-14 * Math.max(m, n));
      });
    }
    tidy(() =>
      under('lapack', () => {
        const F64 = { dtype: 'float64' as const };
        expect(L.eigh(antler.zeros([0, 0], F64)).eigenvalues.shape).toEqual([0]);
        expect(L.eigh(antler.zeros([2, 0, 0], F64)).eigenvectors.shape).toEqual([2, 0, 0]);
        expect(L.eigvalsh(antler.zeros([0, 3, 3], F64)).shape).toEqual([0, 3]);
        const e = L.svd(antler.zeros([0, 3], F64));
        expect([e.U.shape, e.S.shape, e.Vh.shape]).toEqual([[0, 0], [0], [3, 3]]);
        expect(Array.from(read(e.Vh))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
        const e2 = L.svd(antler.zeros([2, 3, 0], F64), { fullMatrices: false });
        expect([e2.U.shape, e2.S.shape, e2.Vh.shape]).toEqual([[2, 3, 0], [2, 0], [2, 0, 0]]);
        expect(L.svdvals(antler.zeros([0, 2, 2], F64)).shape).toEqual([0, 2]);
        expect(Array.from(read(L.eigvalsh(antler.zeros([3, 3], F64))))).toEqual([0, 0, 0]);
        expect(Array.from(read(L.svdvals(antler.zeros([3, 2], F64))))).toEqual([0, 0]);
      }),
    );
  });

  test.each(['lapack', 'builtin'] as Lib[])('%s: NaN or ±inf in the read triangle throws LINALG_ERROR naming the batch index; in the other triangle it is not read', (lib) =>
    tidy(() =>
      under(lib, () => {
        for (const n of [3, 40]) {
          const a = Array.from(randomSymmetric(n, 'float64'));
          const bad = a.slice();
          bad[(n - 1) * n + 1] = NaN; // lower triangle
          const x = tensor([...a, ...bad, ...a], [3, n, n], { dtype: 'float64' });
          expectAntlerError(() => L.eigh(x), 'LINALG_ERROR', /linalg\.eigh: .*batch index 1/);
          expectAntlerError(() => L.eigvalsh(x), 'LINALG_ERROR', /linalg\.eigvalsh: .*batch index 1/);
          expectAntlerError(() => L.svd(x), 'LINALG_ERROR', /linalg\.svd: .*batch index 1/);
          expectAntlerError(() => L.svdvals(x), 'LINALG_ERROR', /linalg\.svdvals: .*batch index 1/);
          // The upper triangle is not read: UPLO 'U' sees the symmetric a.
          expectClose(read(L.eigvalsh(x, { UPLO: 'U' })).subarray(n, 2 * n), eigvalsRef(Float64Array.from(a), n), 0, 50 * n * EPS64 * frob(Float64Array.from(a)), `${lib}: NaN in the unread triangle`);
          const inf = a.slice();
          inf[2] = Infinity;
          inf[2 * n] = -Infinity;
          expectAntlerError(() => L.eigh(tensor([...a, ...inf], [2, n, n], { dtype: 'float32' }), { UPLO: 'U' }), 'LINALG_ERROR', /batch index 1/);
          expectAntlerError(() => L.svdvals(tensor([...inf, ...a], [2, n, n], { dtype: 'float64' })), 'LINALG_ERROR', /batch index 0/);
          expect(read(x)[n * n + (n - 1) * n + 1]).toBeNaN(); // input intact
        }
      }),
    ),
  );

  test("'lapack': float64 gradients of eigh and svd at n ≈ 40 against central differences (the backward reads the factors)", () => {
    const n = 40, h = 1e-6;
    const D = Array.from({ length: n * n }, (_, e) => (Math.floor(e / n) === e % n ? 4 * (e % n + 1) : 0)); // eigen/singular values ≥ ~2 apart
    const F64 = { dtype: 'float64' as const };
    const [c, W, W2] = [randomArray(rng, n), randomArray(rng, n * n), randomArray(rng, n * n)];
    const losses: [string, (x: Tensor) => Tensor][] = [
      ['eigh', (x) => {
        const s = antler.add(antler.add(x, antler.transpose(x, 0, 1)), tensor(D, [n, n], F64));
        const { eigenvalues: w, eigenvectors: V } = L.eigh(s);
        return antler.add(antler.sum(antler.mul(w, tensor(c, [n], F64))), antler.sum(antler.mul(antler.mul(V, V), tensor(W, [n, n], F64))));
      }],
      ['svd', (x) => {
        const { U, S, Vh } = L.svd(antler.add(x, tensor(D, [n, n], F64)), { fullMatrices: false });
        const w1 = tensor(W, [n, n], F64), w2 = tensor(W2, [n, n], F64);
        return antler.add(antler.add(antler.sum(antler.mul(S, tensor(c, [n], F64))), antler.sum(antler.mul(antler.mul(U, U), w1))), antler.sum(antler.mul(antler.mul(Vh, Vh), w2)));
      }],
    ];
    under('lapack', () =>
      tidy(() => {
        for (const [name, loss] of losses) {
          const a = randomArray(rng, n * n, -0.4, 0.4);
          const x = tensor(a, [n, n], F64).requiresGrad_(true);
          loss(x).backward();
          const g = read(x.grad!);
          const picks = Array.from({ length: 24 }, () => Math.floor(rng.next() * n * n));
          const fd = picks.map((i) =>
            tidy(() => {
              const p = a.slice(), q = a.slice();
              p[i] += h;
              q[i] -= h;
              return (loss(tensor(p, [n, n], F64)).item() - loss(tensor(q, [n, n], F64)).item()) / (2 * h);
            }),
          );
          const scale = Math.max(1, ...fd.map(Math.abs));
          expectClose(picks.map((i) => g[i]), fd, 0, 1e-6 * scale, `${name} gradient through LAPACK (seed ${SEED})`);
        }
      }),
    );
  });
});

test('preferredLinalgLibrary is back to default', () => {
  expect(antler.preferredLinalgLibrary()).toBe('default');
});
