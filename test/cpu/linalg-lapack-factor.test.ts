/**
 * The CPU factorisations routed to LAPACK/BLAS (native/cpu/linalg_lu.cpp: getrf, potrf, trsm;
 * native/cpu/linalg_qr.cpp: geqrf + orgqr) against the definitions in float64, under each
 * preferredLinalgLibrary: 'default' (LAPACK at or above each op's threshold), 'lapack' (every size)
 * and 'builtin' (never). Large matrices: P L U = A, L Lᵀ = A, Q R = A with QᵀQ = I, solve and inv
 * residuals, triangular solves against a float64 substitution written here. Small ones under
 * 'lapack' against the built-in kernels (pivots, info, factors) and the definitions: m ≠ n,
 * batches, empty matrices, singular and not positive-definite inputs, NaN. Gradients by central
 * finite differences at n = 40 under 'lapack'. Fresh random inputs (seed in the titles).
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { diagonalSpread, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Lib = 'default' | 'lapack' | 'builtin';
type Dt = 'float32' | 'float64';
const LIBS: Lib[] = antler.backends().cpu.lapack ? ['default', 'lapack', 'builtin'] : ['default', 'builtin'];
const HAVE_LAPACK = antler.backends().cpu.lapack;
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const eps = (dt: Dt) => (dt === 'float32' ? 2 ** -23 : 2 ** -52);
const maxAbs = (xs: number[]) => xs.reduce((s, v) => Math.max(s, Math.abs(v)), 0);

/** Runs f with the library preference set, restoring 'default' after. */
function under<R>(lib: Lib, f: () => R): R {
  antler.preferredLinalgLibrary(lib);
  try {
    return f();
  } finally {
    antler.preferredLinalgLibrary('default');
  }
}

afterAll(() => antler.preferredLinalgLibrary('default'));

/** Plain float64 product of row-major a (m×k) and b (k×n). */
function mm(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++)
    for (let q = 0; q < k; q++) {
      const v = a[i * k + q];
      if (v === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += v * b[q * n + j];
    }
  return c;
}
const tr = (a: number[], m: number, n: number) => Array.from({ length: m * n }, (_, e) => a[(e % m) * n + Math.floor(e / m)]);
const sub = (a: number[], b: number[]) => a.map((v, i) => v - b[i]);
/** How many entries below the diagonal of a row-major m×n matrix are not exactly zero. */
function countBelow(a: number[], m: number, n: number): number {
  let count = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < Math.min(i, n); j++) if (a[i * n + j] !== 0) count++;
  return count;
}
const eyeRef = (n: number) => Array.from({ length: n * n }, (_, e) => (Math.floor(e / n) === e % n ? 1 : 0));
/** The values a float32 tensor holds (so the references are of the matrix actually factored). */
const asDtype = (v: number[], dt: Dt) => (dt === 'float32' ? v.map(Math.fround) : v);

/** A random matrix with unit-scale entries and a diagonal boost d: well conditioned for d ≳ √n. */
function randomMatrix(m: number, n: number, d = 0): number[] {
  const v = randomArray(rng, m * n);
  for (let i = 0; i < Math.min(m, n); i++) v[i * n + i] += d;
  return v;
}

/** A symmetric positive-definite M Mᵀ / n + I. */
function spd(n: number): number[] {
  const M = randomArray(rng, n * n);
  return mm(M, tr(M, n, n), n, n, n).map((x, e) => x / n + (e % (n + 1) === 0 ? 1 : 0));
}

/** Row-by-row substitution in float64 (dot products; a different order from LAPACK's and the kernel's). */
function trsmRef(A: number[], B: number[], n: number, k: number, upper: boolean, left: boolean, unit: boolean): number[] {
  const a = (i: number, j: number) => (i === j && unit ? 1 : A[i * n + j]);
  const X = new Array<number>(n * k).fill(0);
  if (left) {
    for (let s = 0; s < n; s++) {
      const i = upper ? n - 1 - s : s;
      for (let c = 0; c < k; c++) {
        let acc = B[i * k + c];
        for (let j = upper ? i + 1 : 0; j < (upper ? n : i); j++) acc -= a(i, j) * X[j * k + c];
        X[i * k + c] = acc / a(i, i);
      }
    }
  } else {
    for (let s = 0; s < n; s++) {
      const i = upper ? s : n - 1 - s;
      for (let r = 0; r < k; r++) {
        let acc = B[r * n + i];
        for (let j = upper ? 0 : i + 1; j < (upper ? i : n); j++) acc -= X[r * n + j] * a(j, i);
        X[r * n + i] = acc / a(i, i);
      }
    }
  }
  return X;
}

/** ‖A‖∞ (max row sum) of a row-major m×n matrix. */
function normInf(a: number[], m: number, n: number): number {
  let best = 0;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.abs(a[i * n + j]);
    best = Math.max(best, s);
  }
  return best;
}

describe(`CPU factorisations through LAPACK (seed ${SEED})`, () => {
  describe.each(LIBS)("large matrices under '%s'", (lib) => {
    test.each([40, 100, 200])('n = %i: P L U = A (|L| ≤ 1), L Lᵀ = A, Q R = A with QᵀQ = I (square, tall, wide; complete), float32 and float64', (n) => {
      for (const dt of ['float64', 'float32'] as Dt[]) {
        const e = eps(dt);
        under(lib, () =>
          tidy(() => {
            // LU, square, wide and tall (n × n + 7).
            for (const [m, c] of [[n, n], [n, n + 7], [n + 5, n]]) {
              const a = asDtype(randomMatrix(m, c), dt);
              const { P, L, U } = antler.linalg.lu(tensor(a, [m, c], { dtype: dt }));
              const k = Math.min(m, c);
              const p = read(P), l = read(L), u = read(U);
              const res = sub(mm(p, mm(l, u, m, k, c), m, m, c), a);
              // Backward error of partial pivoting: ‖P L U − A‖ ≤ c·n·eps·‖|L||U|‖, with |L| ≤ 1 and |U| ≤ 2^k·max|A| (in practice ~√n).
              expect(maxAbs(res)).toBeLessThan(4 * k * e * maxAbs(u) * Math.sqrt(k) + 1e-300);
              expect(maxAbs(l)).toBeLessThanOrEqual(1);
              expect(countBelow(u, k, c)).toBe(0);
            }
            // Cholesky.
            const s = asDtype(spd(n), dt);
            const Lc = read(antler.linalg.cholesky(tensor(s, [n, n], { dtype: dt })));
            expect(Array.from({ length: n }, (_, i) => Lc[i * n + i]).every((d) => d > 0)).toBe(true);
            expect(countBelow(tr(Lc, n, n), n, n)).toBe(0);
            expect(maxAbs(sub(mm(Lc, tr(Lc, n, n), n, n, n), s))).toBeLessThan(4 * n * e * maxAbs(s));
            // QR: square, tall, wide; reduced and complete.
            for (const [m, c, mode] of [[n, n, 'reduced'], [n + 9, n, 'reduced'], [n, n + 9, 'reduced'], [n + 9, n, 'complete']] as const) {
              const a = asDtype(randomMatrix(m, c), dt);
              const { Q, R } = antler.linalg.qr(tensor(a, [m, c], { dtype: dt }), { mode });
              const qCols = Q.shape[1], rRows = R.shape[0], k = Math.min(m, c);
              expect([Q.shape, R.shape]).toEqual([[m, mode === 'complete' ? m : k], [mode === 'complete' ? m : k, c]]);
              const q = read(Q), r = read(R);
              expect(countBelow(r, rRows, c)).toBe(0);
              expect(maxAbs(sub(mm(q, r, m, qCols, c), a))).toBeLessThan(4 * Math.max(m, c) * e * maxAbs(a) * Math.sqrt(Math.max(m, c)));
              expect(maxAbs(sub(mm(tr(q, m, qCols), q, qCols, m, qCols), eyeRef(qCols)))).toBeLessThan(4 * m * e);
              // R's diagonal keeps LAPACK's sign (β = −sign(α)·‖x‖), the built-in kernel's too: both signs occur.
              if (n >= 100 && mode === 'reduced' && m === c) {
                const diag = Array.from({ length: k }, (_, i) => r[i * c + i]);
                expect(diag.some((v) => v < 0) && diag.some((v) => v > 0)).toBe(true);
              }
            }
          }),
        );
      }
    });

    test("QR around its threshold (min(m, n) = 255, 256, 300; 'default' turns to LAPACK at 256): Q R = A, QᵀQ = I, float32 and float64", () => {
      for (const [m, c] of [[255, 255], [256, 270], [300, 300]])
        for (const dt of ['float64', 'float32'] as Dt[])
          under(lib, () =>
            tidy(() => {
              const e = eps(dt), a = asDtype(randomMatrix(m, c), dt);
              const { Q, R } = antler.linalg.qr(tensor(a, [m, c], { dtype: dt }));
              const k = Math.min(m, c), q = read(Q), r = read(R);
              expect(countBelow(r, k, c)).toBe(0);
              expect(maxAbs(sub(mm(q, r, m, k, c), a))).toBeLessThan(4 * c * e * maxAbs(a) * Math.sqrt(c));
              expect(maxAbs(sub(mm(tr(q, m, k), q, k, m, k), eyeRef(k)))).toBeLessThan(4 * m * e);
            }),
          );
    });

    test('singular and not positive-definite large matrices: info, LINALG_ERROR and its message as the built-in kernels give them', () => {
      const n = 100;
      under(lib, () =>
        tidy(() => {
          // A zero column stays exactly zero through elimination: U[50, 50] = 0 whatever the order of the updates.
          const a = randomMatrix(n, n);
          for (let i = 0; i < n; i++) a[i * n + 50] = 0;
          const A = tensor(a, [n, n], F64);
          expect(read(antler.linalg.luFactorEx(A).info)).toEqual([51]);
          expect(() => antler.linalg.solve(A, antler.ones([n], F64))).toThrow(/linalg\.solve: the matrix is singular \(U\[50, 50\]/);
          expect(read(antler.linalg.invEx(A).info)).toEqual([51]);
          // The leading minor of order 61 not positive-definite.
          const s = spd(n);
          s[60 * n + 60] = -1;
          expect(read(antler.linalg.choleskyEx(tensor(s, [n, n], F64)).info)).toEqual([61]);
          expect(() => antler.linalg.cholesky(tensor(s, [n, n], F64))).toThrow(/the leading minor of order 61 is not positive-definite/);
          s[60 * n + 60] = NaN;
          expect(read(antler.linalg.choleskyEx(tensor(s, [n, n], F64)).info)).toEqual([61]);
        }),
      );
    });

    test.each([40, 100, 200])('n = %i: solve and inv residuals (backward error, and forward error within the condition number), triangular solves equal float64 substitution', (n) => {
      for (const dt of ['float64', 'float32'] as Dt[]) {
        const e = eps(dt), msg = `seed ${SEED}, ${lib}, n ${n}, ${dt}`;
        under(lib, () =>
          tidy(() => {
            const a = asDtype(randomMatrix(n, n, 2 * Math.sqrt(n)), dt);
            const k = 5;
            const b = asDtype(randomArray(rng, n * k), dt);
            const X = read(antler.linalg.solve(tensor(a, [n, n], { dtype: dt }), tensor(b, [n, k], { dtype: dt })));
            const An = normInf(a, n, n);
            // Backward error: ‖A X − B‖∞ ≤ c·n·eps·‖A‖∞‖X‖∞.
            expect(normInf(sub(mm(a, X, n, n, k), b), n, k)).toBeLessThan(4 * n * e * An * normInf(X, n, k));
            const inv = read(antler.linalg.inv(tensor(a, [n, n], { dtype: dt })));
            const invN = normInf(inv, n, n), cond = An * invN;
            expect(normInf(sub(mm(a, inv, n, n, n), eyeRef(n)), n, n)).toBeLessThan(4 * n * e * cond);
            // Forward error of the solve against X = A⁻¹ B in float64 (the computed inverse, itself within cond·eps in float64).
            if (dt === 'float64') {
              const Xref = mm(inv, b, n, n, k);
              expect(maxAbs(sub(X, Xref))).toBeLessThan(4 * n * e * cond * maxAbs(Xref));
            }
            // Triangular solves: both triangles and sides, unit diagonals, k = n right-hand sides (solve's and inv's shape).
            for (const [upper, left, unit] of [[false, true, false], [true, true, false], [false, false, true], [true, false, false], [true, true, true]] as const) {
              const T = asDtype(randomMatrix(n, n, 0).map((v, i) => (Math.floor(i / n) === i % n ? (v < 0 ? -2 : 2) + v : v / Math.sqrt(n))), dt);
              const B = asDtype(randomArray(rng, n * n), dt);
              const got = read(antler.linalg.solveTriangular(tensor(T, [n, n], { dtype: dt }), tensor(B, [n, n], { dtype: dt }), { upper, left, unitriangular: unit }));
              const ref = trsmRef(T, B, n, n, upper, left, unit);
              expectClose(got, ref, 0, 8 * n * e * maxAbs(ref), `${msg}: trsm upper ${upper}, left ${left}, unit ${unit}`);
            }
          }),
        );
      }
    });
  });

  (HAVE_LAPACK ? test : test.skip)("'default' runs LAPACK above the thresholds: the same bits as 'lapack', other bits than 'builtin' (the routes are taken)", () =>
    tidy(() => {
      // Every check above holds on either route, so a LAPACK path that silently fell back to the kernels (a routine
      // name not found, a threshold never reached) would pass them: LAPACK's blocked order rounds otherwise.
      const n = 64, a = randomMatrix(n, n, 2), q = randomMatrix(300, 280), s = spd(n), b = randomMatrix(n, 5);
      const runs = (lib: Lib) =>
        under(lib, () => {
          const A = tensor(a, [n, n], F64), S = tensor(s, [n, n], F64), B = tensor(b, [n, 5], F64);
          return [antler.linalg.luFactor(A).LU, antler.linalg.cholesky(S), antler.linalg.solveTriangular(A, B, { upper: false }),
            antler.linalg.qr(tensor(q, [300, 280], F64)).R].map(read);
        });
      const [d, l, bi] = (['default', 'lapack', 'builtin'] as Lib[]).map(runs);
      ['luFactor', 'cholesky', 'solveTriangular', 'qr'].forEach((op, i) => {
        expect([op, d[i]]).toEqual([op, l[i]]);
        expect([op, d[i]]).not.toEqual([op, bi[i]]);
      });
    }));

  describe("small matrices under 'lapack' equal the built-in kernels (the existing contracts)", () => {
    const it = HAVE_LAPACK ? test : test.skip;

    it('LU: m, n in 1..8, batches; pivots and info exactly, factors to rounding; integer matrices with ties and exact singularities', () => {
      for (let trial = 0; trial < 40; trial++) {
        const B = 1 + (trial % 3), m = 1 + Math.floor(rng.next() * 8), n = trial % 4 === 0 ? m : 1 + Math.floor(rng.next() * 8);
        const ints = trial % 2 === 1;
        const v = randomArray(rng, B * m * n, -2, 2).map((x) => (ints ? Math.round(x) : x));
        for (const dt of ['float64', 'float32'] as Dt[]) {
          const msg = `seed ${SEED}, trial ${trial}: ${B}×${m}×${n}, ints ${ints}, ${dt}`;
          tidy(() => {
            const A = tensor(v, [B, m, n], { dtype: dt });
            const ref = under('builtin', () => antler.linalg.luFactorEx(A));
            const got = under('lapack', () => antler.linalg.luFactorEx(A));
            if (!ints) {
              // No ties: the same pivots, info 0 and factors to rounding.
              expect(read(got.info)).toEqual(read(ref.info));
              expect(read(got.pivots)).toEqual(read(ref.pivots));
              // Two orders of the same elimination differ by rounding that later steps amplify by the pivots'
              // spread: per matrix, 64 eps · max(1, max|LU|) · κ̂, κ̂ = max|U[k, k]| / min|U[k, k]| (capped at 1e4).
              // Measured (400 000 random m, n ≤ 8 in [−2, 2], float32 and float64): at most 6.2 of that unit;
              // a fixed 128 eps failed 17 of those matrices, about 1 run in 150 (CI, seed 2475218042: 135 eps on a 3×8×7 float64).
              const lu = read(got.LU), luRef = read(ref.LU), k = Math.min(m, n);
              for (let b = 0; b < B; b++) {
                const mat = luRef.slice(b * m * n, (b + 1) * m * n);
                const kappa = diagonalSpread(Array.from({ length: k }, (_, i) => mat[i * n + i]), 1e4);
                const tolB = 64 * eps(dt) * Math.max(1, maxAbs(mat)) * kappa;
                expectClose(lu.slice(b * m * n, (b + 1) * m * n), mat, 0, tolB, `${msg}, matrix ${b}`);
              }
              return;
            }
            // Integer entries tie in |a| after rounding that LAPACK's blocked order and the kernel's do not share,
            // and a pivot exactly zero in one order may be ~1e-16 in the other (measured on 10 000 random integer
            // matrices up to 8×8: 2 pivot sequences and 1 info differ): each factorisation on its own terms. info
            // is the first exactly zero U[k, k] + 1 (0 when none), P L U = A.
            const { P, L, U } = under('lapack', () => antler.linalg.lu(A));
            const res = read(antler.sub(antler.matmul(P, antler.matmul(L, U)), A));
            expect(maxAbs(res)).toBeLessThan(64 * eps(dt) * 8);
            const lu = read(got.LU), info = read(got.info), k = Math.min(m, n);
            for (let b = 0; b < B; b++) {
              let first = 0;
              for (let i = 0; i < k && !first; i++) if (lu[b * m * n + i * n + i] === 0) first = i + 1;
              expect(info[b]).toBe(first);
            }
          });
        }
      }
    });

    it('LU: singular (a zero column, rank-deficient integer matrices), NaN and empty inputs; solve, inv and det give the same errors and info', () => {
      const cases: [number[], number[]][] = [
        [[1, 0, 2, 3, 0, 4, 5, 0, 7], [3, 3]],
        [[1, 2, 3, 4, 1, 2, 2, 4], [2, 2, 2]],
        [[0, 0, 0, 0], [2, 2]],
        [[1, 2, 3, 2, 4, 6, 1, 1, 1], [3, 3]],
        [[NaN, 1, 2, 3], [2, 2]],
        [[1, 2, NaN, 4, 5, 6, 7, 8, 10], [3, 3]],
        [[1, 2, 3, 4, 5, 6], [2, 3]],
        [[1, 2, 3, 4, 5, 6], [3, 2]],
      ];
      for (const [v, shape] of cases)
        tidy(() => {
          const A = tensor(v, shape, F64);
          const ref = under('builtin', () => antler.linalg.luFactorEx(A));
          const got = under('lapack', () => antler.linalg.luFactorEx(A));
          expect(read(got.info)).toEqual(read(ref.info));
          expect(read(got.pivots)).toEqual(read(ref.pivots));
          expectClose(read(got.LU), read(ref.LU), 1e-14, 1e-14, `${shape}: ${v}`);
          if (shape[shape.length - 1] === shape[shape.length - 2]) {
            const err = (lib: Lib) => {
              try {
                under(lib, () => antler.linalg.inv(A));
                return 'none';
              } catch (e) {
                return `${(e as antler.AntlerError).code}: ${(e as Error).message}`;
              }
            };
            expect(err('lapack')).toBe(err('builtin'));
            expect(read(under('lapack', () => antler.linalg.solveEx(A, antler.ones([...shape.slice(0, -1), 1], F64)).info))).toEqual(read(ref.info));
            expect(read(under('lapack', () => antler.linalg.det(A)))).toEqual(read(under('builtin', () => antler.linalg.det(A))));
          }
        });
      tidy(() =>
        under('lapack', () => {
          expect(antler.linalg.luFactorEx(antler.zeros([0, 0], F64)).pivots.shape).toEqual([0]);
          expect(antler.linalg.luFactorEx(antler.zeros([2, 0, 3], F64)).LU.shape).toEqual([2, 0, 3]);
          expect(antler.linalg.luFactorEx(antler.zeros([0, 3, 3], F64)).info.shape).toEqual([0]);
          expect(read(antler.linalg.det(antler.zeros([3, 0, 0], F64)))).toEqual([1, 1, 1]);
          expect(read(antler.linalg.inv(tensor([4], [1, 1], F64)))).toEqual([0.25]);
        }),
      );
    });

    it('Cholesky: n in 1..8, batches, float32; only the lower triangle read; info of not positive-definite and NaN inputs as the kernel', () => {
      for (let n = 1; n <= 8; n++)
        for (const dt of ['float64', 'float32'] as Dt[])
          tidy(() => {
            const s = [spd(n), spd(n)].flat();
            // The strict upper triangle poisoned: never read.
            const poisoned = s.map((x, e) => ((e % (n * n)) % n > Math.floor((e % (n * n)) / n) ? NaN : x));
            const A = tensor(poisoned, [2, n, n], { dtype: dt });
            const ref = under('builtin', () => antler.linalg.choleskyEx(A));
            const got = under('lapack', () => antler.linalg.choleskyEx(A));
            expect(read(got.info)).toEqual([0, 0]);
            expectClose(read(got.L), read(ref.L), 0, 16 * eps(dt) * n, `seed ${SEED}, n ${n}, ${dt}`);
            const up = under('lapack', () => antler.linalg.cholesky(tensor(s, [2, n, n], { dtype: dt }), { upper: true }));
            expectClose(read(up), read(antler.transpose(ref.L)), 0, 16 * eps(dt) * n, `upper, n ${n}`);
          });
      const cases: [number[], number[]][] = [
        [[1, 2, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 3, 3]],
        [[1, 0, 0, 1, 2, 0, 0, 2, 1], [3, 3]],
        [[NaN], [1, 1]],
        [[1, 0, 0, NaN], [2, 2]],
        [[4, 0, 0, NaN, 4, 0, 1, 1, 4], [3, 3]],
        [[4, 0, 0, 0, 1, 4, 0, 0, NaN, 1, 4, 0, 1, 1, 1, 4], [4, 4]],
        [[-1, 0, 0, 1], [2, 2]],
        [[1, 0, 0, 0], [2, 2]],
      ];
      for (const [v, shape] of cases)
        tidy(() => {
          const A = tensor(v, shape, F64);
          const ref = read(under('builtin', () => antler.linalg.choleskyEx(A)).info);
          expect(read(under('lapack', () => antler.linalg.choleskyEx(A)).info)).toEqual(ref);
          const msg = (lib: Lib) => {
            try {
              under(lib, () => antler.linalg.cholesky(A));
              return 'none';
            } catch (e) {
              return `${(e as antler.AntlerError).code}: ${(e as Error).message}`;
            }
          };
          expect(msg('lapack')).toBe(msg('builtin'));
        });
      // Not positive-definite at order 30 of a 40×40 (LAPACK's blocked path): the same info.
      tidy(() => {
        const s = spd(40);
        s[29 * 40 + 29] = -5;
        const A = tensor(s, [40, 40], F64);
        expect(read(under('lapack', () => antler.linalg.choleskyEx(A)).info)).toEqual([30]);
        expect(read(under('builtin', () => antler.linalg.choleskyEx(A)).info)).toEqual([30]);
        s[29 * 40 + 29] = 1;
        s[33 * 40 + 3] = NaN;
        const N = tensor(s, [40, 40], F64);
        expect(read(under('lapack', () => antler.linalg.choleskyEx(N)).info)).toEqual(read(under('builtin', () => antler.linalg.choleskyEx(N)).info));
        expect(read(under('builtin', () => antler.linalg.choleskyEx(N)).info)).toEqual([34]);
        expect(under('lapack', () => antler.linalg.cholesky(antler.zeros([0, 0], F64))).shape).toEqual([0, 0]);
        expect(under('lapack', () => antler.linalg.cholesky(antler.zeros([0, 3, 3], F64))).shape).toEqual([0, 3, 3]);
      });
    });

    it('triangular solves: n in 1..8, both triangles and sides, unit, batches; the unused triangle may hold NaN; zero diagonals give inf/NaN', () => {
      for (let trial = 0; trial < 32; trial++) {
        const n = 1 + (trial % 8), k = 1 + Math.floor(rng.next() * 5), B = 1 + (trial % 3);
        const upper = trial % 2 === 0, left = trial % 4 < 2, unit = trial % 3 === 0;
        const [r, c] = left ? [n, k] : [k, n];
        const A = Array.from({ length: B }, () => randomMatrix(n, n, 0).map((v, i) => (Math.floor(i / n) === i % n ? (v < 0 ? -1.5 : 1.5) + v / 2 : v))).flat();
        const poisoned = A.map((v, i) => {
          const e = i % (n * n), rr = Math.floor(e / n), cc = e % n;
          return (upper ? rr > cc : rr < cc) || (unit && rr === cc) ? NaN : v;
        });
        const rhs = randomArray(rng, B * r * c);
        for (const dt of ['float64', 'float32'] as Dt[])
          tidy(() => {
            const got = read(under('lapack', () => antler.linalg.solveTriangular(tensor(poisoned, [B, n, n], { dtype: dt }), tensor(rhs, [B, r, c], { dtype: dt }), { upper, left, unitriangular: unit })));
            const ref: number[] = [];
            for (let b = 0; b < B; b++) ref.push(...trsmRef(A.slice(b * n * n, (b + 1) * n * n), rhs.slice(b * r * c, (b + 1) * r * c), n, left ? c : r, upper, left, unit));
            expectClose(got, ref, dt === 'float32' ? 1e-4 : 1e-12, dt === 'float32' ? 1e-4 : 1e-12, `seed ${SEED}, trial ${trial}, ${dt}`);
          });
      }
      tidy(() =>
        under('lapack', () => {
          expect(read(antler.linalg.solveTriangular(antler.zeros([2, 2], F64), antler.zeros([2, 1], F64), { upper: true })).every(Number.isNaN)).toBe(true);
          const X = read(antler.linalg.solveTriangular(tensor([0, 0, 0, 1], [2, 2], F64), tensor([1, 1], [2, 1], F64), { upper: false }));
          expect(X[0]).toBe(Infinity);
          expect(Number.isNaN(X[1])).toBe(true);
          expect(antler.linalg.solveTriangular(antler.zeros([0, 0], F64), antler.ones([0, 3], F64), { upper: true }).shape).toEqual([0, 3]);
          expect(antler.linalg.solveTriangular(antler.zeros([0, 2, 2], F64), antler.ones([2, 0], F64), { upper: true }).shape).toEqual([0, 2, 0]);
          expect(read(antler.linalg.solveTriangular(tensor([4], [1, 1], F64), antler.ones([1, 3], F64), { upper: true }))).toEqual([0.25, 0.25, 0.25]);
        }),
      );
    });

    it('QR: m, n in 1..8, batches, every mode, float32; zero columns, the zero matrix, NaN in one matrix of a batch, empty inputs', () => {
      for (let trial = 0; trial < 30; trial++) {
        const B = 1 + (trial % 3), m = 1 + Math.floor(rng.next() * 8), n = 1 + Math.floor(rng.next() * 8);
        const mode = (['reduced', 'complete', 'r'] as const)[trial % 3];
        const v = randomArray(rng, B * m * n);
        if (trial % 5 === 0) for (let i = 0; i < m; i++) v[i * n] = 0; // a zero first column: H = I, τ = 0
        for (const dt of ['float64', 'float32'] as Dt[])
          tidy(() => {
            const A = tensor(v, [B, m, n], { dtype: dt });
            const ref = under('builtin', () => antler.linalg.qr(A, { mode }));
            const got = under('lapack', () => antler.linalg.qr(A, { mode }));
            const msg = `seed ${SEED}, trial ${trial}: ${B}×${m}×${n} ${mode} ${dt}`;
            expect([got.Q.shape, got.R.shape]).toEqual([ref.Q.shape, ref.R.shape]);
            // Per matrix, 64 eps · κ̂, κ̂ = max / min of R's nonzero |diagonal| (capped at 1e4): Householder's
            // rounding reaches Q and R amplified by how close the leading columns are to dependent. Measured over
            // 200 000 random matrices (m, n ≤ 8, every mode, float32 and float64): at most 8.9 eps·κ̂, while a fixed
            // 64 eps failed 4 of them (116–122 eps), about 1 run in 125.
            const [rq, rr, gq, gr] = [ref.Q, ref.R, got.Q, got.R].map(read);
            const rRows = ref.R.shape[1], qCols = ref.Q.shape.length === 3 ? ref.Q.shape[2] : 0, k = Math.min(m, n); // mode r: Q is [0]
            for (let b = 0; b < B; b++) {
              const d = Array.from({ length: k }, (_, i) => rr[b * rRows * n + i * n + i]).filter((x) => x !== 0);
              const tolB = 64 * eps(dt) * (d.length ? diagonalSpread(d, 1e4) : 1);
              expectClose(gr.slice(b * rRows * n, (b + 1) * rRows * n), rr.slice(b * rRows * n, (b + 1) * rRows * n), 0, tolB, `${msg}, R ${b}`);
              expectClose(gq.slice(b * m * qCols, (b + 1) * m * qCols), rq.slice(b * m * qCols, (b + 1) * m * qCols), 0, tolB, `${msg}, Q ${b}`);
            }
          });
      }
      tidy(() =>
        under('lapack', () => {
          const z = antler.linalg.qr(antler.zeros([3, 3], F64));
          expect(read(z.Q)).toEqual(eyeRef(3));
          expect(read(z.R).every((x) => x === 0)).toBe(true);
          const v = randomArray(rng, 2 * 4 * 3);
          v[5] = NaN;
          const { Q, R } = antler.linalg.qr(tensor(v, [2, 4, 3], F64));
          const q = read(Q), r = read(R);
          expect(q.slice(0, 12).some(Number.isNaN) && r.slice(0, 9).some(Number.isNaN)).toBe(true);
          expect(q.slice(12).every(Number.isFinite) && r.slice(9).every(Number.isFinite)).toBe(true);
          const ok = under('builtin', () => antler.linalg.qr(tensor(v.slice(12), [4, 3], F64)));
          expectClose(q.slice(12), read(ok.Q), 0, 1e-14);
          let f = antler.linalg.qr(antler.zeros([3, 0], F64), { mode: 'complete' });
          expect([f.Q.shape, f.R.shape]).toEqual([[3, 3], [3, 0]]);
          expect(read(f.Q)).toEqual(eyeRef(3));
          f = antler.linalg.qr(antler.zeros([0, 2, 3], F64), { mode: 'complete' });
          expect([f.Q.shape, f.R.shape]).toEqual([[0, 2, 2], [0, 2, 3]]);
          f = antler.linalg.qr(antler.zeros([0, 3], F64));
          expect([f.Q.shape, f.R.shape]).toEqual([[0, 0], [0, 3]]);
        }),
      );
    });
  });

  describe("gradients under 'lapack' at n = 40: autograd against central differences in float64", () => {
    const it = HAVE_LAPACK ? test : test.skip;
    const n = 40;

    /** The directional derivative d/dt f(A + tV) at 0 by central differences against ⟨∇f(A), V⟩. */
    function checkGrad(name: string, a: number[], shape: number[], f: (A: Tensor) => Tensor, sym = false): void {
      under('lapack', () =>
        tidy(() => {
          const W = randomArray(rng, 1 << 16);
          const loss = (A: Tensor) => {
            const y = f(A);
            return antler.sum(antler.mul(y, tensor(W.slice(0, y.size), y.shape, F64)));
          };
          const A = tensor(a, shape, { ...F64, requiresGrad: true });
          loss(A).backward();
          const g = read(A.grad!);
          let V = randomArray(rng, a.length);
          // Symmetric directions for Cholesky (its input is taken as symmetric).
          if (sym) V = V.map((_, e) => (V[e] + V[(e % n) * n + Math.floor(e / n)]) / 2);
          const h = 1e-6;
          const at = (t: number) => read(loss(tensor(a.map((x, i) => x + t * V[i]), shape, F64)))[0];
          const fd = (at(h) - at(-h)) / (2 * h);
          const ad = g.reduce((s, gi, i) => s + gi * V[i], 0);
          expect(Math.abs(fd - ad)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ad)));
          void name;
        }),
      );
    }

    it('luFactor, lu (wide), cholesky, qr (tall, reduced), solve, inv, solveTriangular', () => {
      checkGrad('luFactor', randomMatrix(n, n, 4), [n, n], (A) => antler.linalg.luFactor(A).LU);
      checkGrad('lu wide', randomMatrix(n, n + 3, 4), [n, n + 3], (A) => antler.linalg.lu(A).U);
      checkGrad('cholesky', spd(n), [n, n], (A) => antler.linalg.cholesky(A), true);
      const tall = randomMatrix(n + 4, n, 2);
      checkGrad('qr Q', tall, [n + 4, n], (A) => antler.linalg.qr(A).Q);
      checkGrad('qr R', tall, [n + 4, n], (A) => antler.linalg.qr(A).R);
      const b = randomArray(rng, n * 3);
      checkGrad('solve', randomMatrix(n, n, 2 * Math.sqrt(n)), [n, n], (A) => antler.linalg.solve(A, tensor(b, [n, 3], F64)));
      checkGrad('inv', randomMatrix(n, n, 2 * Math.sqrt(n)), [n, n], (A) => antler.linalg.inv(A));
      checkGrad('solveTriangular', randomMatrix(n, n, 4), [n, n], (A) => antler.linalg.solveTriangular(A, tensor(b, [n, 3], F64), { upper: true }));
    });
  });
});
