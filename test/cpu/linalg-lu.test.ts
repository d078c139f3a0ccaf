/**
 * lib/ops/linalg-lu.ts against float64 references written here (plain JS loops transcribing the
 * definitions: substitution for triangular systems), on fresh random inputs: both triangles and
 * sides, unit diagonals, broadcast batches, empty and 1×1 matrices, zero diagonals, NaN, float32,
 * and bad inputs (AntlerError, nothing left behind). Gradients are checked by the op registry
 * (test/opinfo-linalg-lu.ts); here the conventions finite differences cannot see.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { broadcastShape, diagonalSpread, expectAntlerErrorInTidy, expectClose, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const F32 = { dtype: 'float32' as const };
const I32 = { dtype: 'int32' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

/** Hadamard's bound on every cofactor of the n×n row-major M: the largest product of n − 1 of its row norms. */
function rowNormProductBound(M: readonly number[], n: number): number {
  const norms = Array.from({ length: n }, (_, i) => Math.hypot(...M.slice(i * n, (i + 1) * n)));
  return Math.max(...norms.map((_, i) => norms.reduce((p, r, k) => (k === i ? p : p * r), 1)));
}

/** det by Laplace expansion along the first row (exact on small integers). */
const detLaplace = (M: number[], n: number): number => {
  if (n === 0) return 1;
  let s = 0;
  for (let j = 0; j < n; j++) {
    if (M[j] === 0) continue;
    const sub: number[] = [];
    for (let i = 1; i < n; i++) for (let c = 0; c < n; c++) if (c !== j) sub.push(M[i * n + c]);
    s += (j % 2 ? -1 : 1) * M[j] * detLaplace(sub, n - 1);
  }
  return s;
};

/** The cofactor matrix by minors (Laplace), exact on small integers. */
const cofLaplace = (M: number[], n: number): number[] => {
  const C: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const sub: number[] = [];
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (r !== i && c !== j) sub.push(M[r * n + c]);
      C.push(((i + j) % 2 ? -1 : 1) * detLaplace(sub, n - 1));
    }
  return C;
};

/** Batches of n×n matrices, entries in [−0.5, 0.5), the diagonal ±[1, 2): well conditioned as triangles. */
function wellConditioned(batch: number[], n: number): number[] {
  const v = randomArray(rng, prod(batch) * n * n, -0.5, 0.5);
  for (let b = 0; b < prod(batch); b++)
    for (let i = 0; i < n; i++) v[b * n * n + i * n + i] = (rng.next() < 0.5 ? -1 : 1) * (1 + rng.next());
  return v;
}

/** Index of batch element `flat` of `shape` in an operand of batch shape `own` (broadcast). */
function broadcastIndex(flat: number, shape: number[], own: number[]): number {
  let idx = 0, stride = 1;
  const off = shape.length - own.length;
  for (let d = shape.length - 1; d >= 0; d--) {
    const coord = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
    const od = d - off;
    if (od >= 0) {
      if (own[od] !== 1) idx += coord * stride;
      stride *= own[od];
    }
  }
  return idx;
}

/**
 * torch.linalg.solve_triangular for one matrix by substitution, row by row with dot products (a
 * different order from the kernel's column sweeps): left, A X = B (B n×k); right, X A = B (B k×n).
 * Only A's triangle is read; its diagonal is 1 when unit.
 */
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
    // Column i of X A = B: Σ_j x[r, j]·a(j, i) = b[r, i], with a(j, i) ≠ 0 for j ≤ i (upper) or j ≥ i (lower).
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

/** The batched reference with broadcasting: A [...aBatch, n, n], B [...bBatch, r, c]. */
function trsmBatchRef(A: number[], aBatch: number[], B: number[], bBatch: number[], n: number, r: number, c: number, upper: boolean, left: boolean, unit: boolean): { shape: number[]; values: number[] } {
  const batch = broadcastShape(aBatch, bBatch)!;
  const values: number[] = [];
  for (let b = 0; b < prod(batch); b++) {
    const ai = broadcastIndex(b, batch, aBatch), bi = broadcastIndex(b, batch, bBatch);
    values.push(...trsmRef(A.slice(ai * n * n, (ai + 1) * n * n), B.slice(bi * r * c, (bi + 1) * r * c), n, left ? c : r, upper, left, unit));
  }
  return { shape: [...batch, r, c], values };
}


/** LAPACK getrf by hand in float64: right-looking elimination, pivot = first row of the largest |a| (NaN never preferred). */
function luRef(A: number[], m: number, n: number): { LU: number[]; piv: number[]; info: number } {
  const a = A.slice();
  const k = Math.min(m, n), piv: number[] = [];
  let info = 0;
  for (let j = 0; j < k; j++) {
    let p = j;
    for (let i = j + 1; i < m; i++) if (Math.abs(a[i * n + j]) > Math.abs(a[p * n + j])) p = i;
    piv.push(p + 1);
    if (a[p * n + j] === 0) {
      if (!info) info = j + 1;
      continue;
    }
    for (let c = 0; c < n; c++) [a[j * n + c], a[p * n + c]] = [a[p * n + c], a[j * n + c]];
    for (let i = j + 1; i < m; i++) {
      a[i * n + j] /= a[j * n + j];
      for (let c = j + 1; c < n; c++) a[i * n + c] -= a[i * n + j] * a[j * n + c];
    }
  }
  return { LU: a, piv, info };
}

/** det by the definition's Leibniz-free route: Gaussian elimination (luRef) sign × Π U[i, i]. */
function detRef(A: number[], n: number): number {
  const { LU, piv } = luRef(A, n, n);
  let d = 1;
  for (let i = 0; i < n; i++) d *= LU[i * n + i] * (piv[i] !== i + 1 ? -1 : 1);
  return d;
}

/** X = A⁻¹ B (B n×k) by Gauss–Jordan elimination with partial pivoting on [A | B]. */
function solveRef(A: number[], B: number[], n: number, k: number): number[] {
  const w = n + k;
  const M = Array.from({ length: n * w }, (_, e) => {
    const i = Math.floor(e / w), c = e % w;
    return c < n ? A[i * n + c] : B[i * k + c - n];
  });
  for (let j = 0; j < n; j++) {
    let p = j;
    for (let i = j + 1; i < n; i++) if (Math.abs(M[i * w + j]) > Math.abs(M[p * w + j])) p = i;
    for (let c = 0; c < w; c++) [M[j * w + c], M[p * w + c]] = [M[p * w + c], M[j * w + c]];
    const d = M[j * w + j];
    for (let c = 0; c < w; c++) M[j * w + c] /= d;
    for (let i = 0; i < n; i++) {
      if (i === j) continue;
      const f = M[i * w + j];
      for (let c = 0; c < w; c++) M[i * w + c] -= f * M[j * w + c];
    }
  }
  return Array.from({ length: n * k }, (_, e) => M[Math.floor(e / k) * w + n + (e % k)]);
}

/** Cholesky–Banachiewicz (row by row) in float64, the lower triangle of A read; info = order of the first bad minor. */
function choleskyRef(A: number[], n: number): { L: number[]; info: number } {
  const L = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let q = 0; q < j; q++) s -= L[i * n + q] * L[j * n + q];
      if (i === j) {
        if (!(s > 0)) return { L, info: i + 1 };
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  return { L, info: 0 };
}

/** A symmetric positive-definite n×n matrix M Mᵀ + n·I of random M. */
function choleskyRefInput(n: number): number[] {
  const m = randomArray(rng, n * n);
  return matmulRef(m, transposeRef(m, n, n), n, n, n).map((x, e) => x + (e % (n + 1) === 0 ? n : 0));
}

const matmulRef = (A: number[], B: number[], m: number, k: number, n: number): number[] =>
  Array.from({ length: m * n }, (_, e) => {
    let s = 0;
    for (let q = 0; q < k; q++) s += A[Math.floor(e / n) * k + q] * B[q * n + (e % n)];
    return s;
  });
const transposeRef = (A: number[], m: number, n: number): number[] => Array.from({ length: m * n }, (_, e) => A[(e % m) * n + Math.floor(e / m)]);

describe(`linalg (lu family) (seed ${SEED})`, () => {
  describe('solveTriangular', () => {
    test('matches substitution in float64 for both triangles and sides, unit diagonals and broadcast batches', () => {
      const batches: [number[], number[]][] = [[[], []], [[3], []], [[], [2]], [[2, 1], [3]], [[1, 2], [4, 1]], [[2], [2]]];
      for (let trial = 0; trial < 24; trial++) {
        const [aBatch, bBatch] = batches[trial % batches.length];
        const n = rng.int(1, 7), k = rng.int(1, 5);
        const upper = rng.next() < 0.5, left = trial % 2 === 0, unit = rng.next() < 0.3;
        const [r, c] = left ? [n, k] : [k, n];
        const A = wellConditioned(aBatch, n), B = randomArray(rng, prod(bBatch) * r * c, -2, 2);
        const ref = trsmBatchRef(A, aBatch, B, bBatch, n, r, c, upper, left, unit);
        tidy(() => {
          const X = antler.linalg.solveTriangular(tensor(A, [...aBatch, n, n], F64), tensor(B, [...bBatch, r, c], F64), { upper, left, unitriangular: unit });
          const msg = `seed ${SEED}, trial ${trial}: n ${n}, k ${k}, upper ${upper}, left ${left}, unit ${unit}`;
          expect(X.shape).toEqual(ref.shape);
          expect(X.dtype).toBe('float64');
          expectClose(read(X), ref.values, 1e-12, 1e-12, msg);
          const X32 = antler.linalg.solveTriangular(tensor(A, [...aBatch, n, n], F32), tensor(B, [...bBatch, r, c], F32), { upper, left, unitriangular: unit });
          expect(X32.dtype).toBe('float32');
          expectClose(read(X32), ref.values, 1e-4, 1e-4, `${msg} (float32)`);
        });
      }
    });

    test('reads only the triangle it is given (the other one, and the diagonal when unitriangular, may hold NaN)', () => {
      for (const [upper, left, unit] of [[true, true, false], [false, true, true], [true, false, true], [false, false, false]] as const) {
        const n = 5, k = 3;
        const A = wellConditioned([], n), B = randomArray(rng, n * k);
        const poisoned = A.map((v, i) => {
          const r = Math.floor(i / n), c = i % n;
          return (upper ? r > c : r < c) || (unit && r === c) ? NaN : v;
        });
        const ref = trsmRef(A, B, n, k, upper, left, unit);
        tidy(() => {
          const X = antler.linalg.solveTriangular(tensor(poisoned, [n, n], F64), tensor(B, left ? [n, k] : [k, n], F64), { upper, left, unitriangular: unit });
          expectClose(read(X), ref, 1e-12, 1e-12, `seed ${SEED}: upper ${upper}, left ${left}, unit ${unit}`);
        });
      }
    });

    test('A X = B holds (residual ≤ 10·n·eps·‖A‖‖X‖) on larger systems, and a transposed A solves with the other triangle', () => {
      const n = 40, k = 7;
      const A = wellConditioned([2], n), B = randomArray(rng, 2 * n * k);
      tidy(() => {
        const At = tensor(A, [2, n, n], F64), Bt = tensor(B, [2, n, k], F64);
        const X = antler.linalg.solveTriangular(At, Bt, { upper: false });
        const L = antler.tril(At);
        const res = read(antler.sub(antler.matmul(L, X), Bt));
        const bound = 10 * n * 2 ** -52 * Math.max(...read(antler.abs(L))) * Math.max(...read(antler.abs(X))) * n;
        expect(Math.max(...res.map(Math.abs))).toBeLessThan(bound);
        // Aᵀ is upper: solving with it as upper equals solving Lᵀ Y = B.
        const Y = antler.linalg.solveTriangular(antler.transpose(At), Bt, { upper: true });
        const ref: number[] = [];
        for (let b = 0; b < 2; b++) {
          const Ab = A.slice(b * n * n, (b + 1) * n * n);
          const T = Ab.map((_, i) => Ab[(i % n) * n + Math.floor(i / n)]);
          ref.push(...trsmRef(T, B.slice(b * n * k, (b + 1) * n * k), n, k, true, true, false));
        }
        expectClose(read(Y), ref, 1e-11, 1e-11, `seed ${SEED}`);
      });
    });

    test('zero diagonals give inf/NaN as torch (no error); NaN spreads only along the substitution', () => {
      tidy(() => {
        // torch.linalg.solve_triangular(zeros(2, 2), zeros(2, 1), upper=True) → [[nan], [nan]].
        expect(read(antler.linalg.solveTriangular(antler.zeros([2, 2], F64), antler.zeros([2, 1], F64), { upper: true })).every(Number.isNaN)).toBe(true);
        const X = read(antler.linalg.solveTriangular(tensor([0, 0, 0, 1], [2, 2], F64), tensor([1, 1], [2, 1], F64), { upper: false }));
        expect(X[0]).toBe(Infinity);
        expect(Number.isNaN(X[1])).toBe(true);
        // Lower: row 0 of X depends on b[0] only; a NaN in b[1] stays in row 1 (and below).
        const Y = read(antler.linalg.solveTriangular(tensor([2, 0, 0, 1, 3, 0, 1, 1, 4], [3, 3], F64), tensor([2, NaN, 4], [3, 1], F64), { upper: false }));
        expect(Y[0]).toBe(1);
        expect(Y.slice(1).every(Number.isNaN)).toBe(true);
      });
    });

    test('empty and 1×1 systems, empty batches', () => {
      tidy(() => {
        const sol = (a: number[], aShape: number[], bShape: number[], o: antler.linalg.SolveTriangularOptions) =>
          antler.linalg.solveTriangular(tensor(a, aShape, F64), antler.ones(bShape, F64), o);
        expect(sol([], [0, 0], [0, 3], { upper: true }).shape).toEqual([0, 3]);
        expect(sol([], [0, 0], [3, 0], { upper: true, left: false }).shape).toEqual([3, 0]);
        expect(sol([], [0, 2, 2], [2, 0], { upper: true }).shape).toEqual([0, 2, 0]);
        expect(sol([1, 0, 0, 1], [2, 2], [2, 0], { upper: false }).shape).toEqual([2, 0]);
        expect(read(sol([4], [1, 1], [1, 3], { upper: true }))).toEqual([0.25, 0.25, 0.25]);
        expect(read(sol([4], [1, 1], [1, 3], { upper: true, unitriangular: true }))).toEqual([1, 1, 1]);
        expect(read(sol([4], [1, 1], [3, 1], { upper: false, left: false }))).toEqual([0.25, 0.25, 0.25]);
      });
    });

    test('mixed float dtypes promote; int32 and bad shapes or options throw and leave nothing behind', () => {
      tidy(() => {
        const X = antler.linalg.solveTriangular(tensor([2, 0, 1, 4], [2, 2], F32), tensor([2, 6], [2, 1], F64), { upper: false });
        expect(X.dtype).toBe('float64');
        expect(read(X)).toEqual([1, 1.25]);
      });
      const A = tensor([1, 0, 0, 1], [2, 2], F64), B = antler.ones([2, 1], F64);
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A, B, undefined as unknown as antler.linalg.SolveTriangularOptions), 'INVALID_ARGUMENT', /upper is required/);
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A, B, { upper: 1 as unknown as boolean }), 'INVALID_ARGUMENT');
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A, antler.ones([2], F64), { upper: true }), 'SHAPE_MISMATCH', /at least 2 dimensions/);
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A, antler.ones([3, 1], F64), { upper: true }), 'SHAPE_MISMATCH', /\[2, 2\]|2, 2/);
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A, antler.ones([2, 3], F64), { upper: true, left: false }), 'SHAPE_MISMATCH');
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(antler.ones([2, 3], F64), B, { upper: true }), 'SHAPE_MISMATCH', /square/);
      expectAntlerErrorInTidy(() => antler.linalg.solveTriangular(A.cast('int32'), B, { upper: true }), 'DTYPE_MISMATCH', /int32/);
      A.dispose();
      B.dispose();
    });

    test('gradient: zero outside the triangle (and on the diagonal when unitriangular), gB = solve(Aᵀ, g)', () => {
      for (const [upper, left, unit] of [[true, true, false], [false, false, true], [false, true, false], [true, false, true]] as const) {
        const n = 4, k = 2;
        const Av = wellConditioned([], n), Bv = randomArray(rng, n * k), Gv = randomArray(rng, n * k);
        tidy(() => {
          const A = tensor(Av, [n, n], { ...F64, requiresGrad: true });
          const B = tensor(Bv, left ? [n, k] : [k, n], { ...F64, requiresGrad: true });
          const X = antler.linalg.solveTriangular(A, B, { upper, left, unitriangular: unit });
          X.backward(tensor(Gv, X.shape.slice(), F64));
          const gA = read(A.grad!);
          for (let i = 0; i < n; i++)
            for (let j = 0; j < n; j++)
              if ((upper ? i > j : i < j) || (unit && i === j)) expect(gA[i * n + j]).toBe(0);
          // gB solves the transposed system: left, Aᵀ gB = G; right, gB Aᵀ = G (the other triangle).
          const T = Av.map((_, i) => Av[(i % n) * n + Math.floor(i / n)]);
          expectClose(read(B.grad!), trsmRef(T, Gv, n, k, !upper, left, unit), 1e-12, 1e-12, `seed ${SEED}: upper ${upper}, left ${left}, unit ${unit}`);
          // gA = −gB Xᵀ (left) or −Xᵀ gB (right) on the triangle.
          const gB = read(B.grad!), Xv = read(X);
          for (let i = 0; i < n; i++)
            for (let j = 0; j < n; j++) {
              if ((upper ? i > j : i < j) || (unit && i === j)) continue;
              let s = 0;
              for (let c = 0; c < k; c++) s += left ? gB[i * k + c] * Xv[j * k + c] : Xv[c * n + i] * gB[c * n + j];
              expect(Math.abs(gA[i * n + j] + s)).toBeLessThan(1e-12 * (1 + Math.abs(s)));
            }
        });
      }
    });
  });
  describe('LU', () => {
    test('luFactorEx equals LAPACK getrf by hand (pivots exactly: the first largest |a|), square and rectangular, batches, float32', () => {
      for (let trial = 0; trial < 20; trial++) {
        const B = rng.int(1, 3), m = rng.int(1, 7), n = trial % 3 === 0 ? m : rng.int(1, 7);
        // Half the trials in small integers: ties in |a| and exact zeros (singular matrices, zero pivots).
        const ints = trial % 2 === 1;
        const v = randomArray(rng, B * m * n, -2, 2).map((x) => (ints ? Math.round(x) : x));
        const msg = `seed ${SEED}, trial ${trial}: B ${B}, ${m}×${n}, ints ${ints}`;
        tidy(() => {
          const r = antler.linalg.luFactorEx(tensor(v, [B, m, n], F64));
          const r32 = antler.linalg.luFactorEx(tensor(v, [B, m, n], F32));
          expect(r.LU.shape).toEqual([B, m, n]);
          expect(r.pivots.shape).toEqual([B, Math.min(m, n)]);
          expect(r.pivots.dtype).toBe('int32');
          expect(r.info.shape).toEqual([B]);
          const LU: number[] = [], piv: number[] = [], info: number[] = [];
          for (let b = 0; b < B; b++) {
            const ref = luRef(v.slice(b * m * n, (b + 1) * m * n), m, n);
            LU.push(...ref.LU);
            piv.push(...ref.piv);
            info.push(ref.info);
          }
          if (ints && antler.preferredLinalgLibrary() === 'lapack') {
            // Rerun under 'lapack' (linalg-lapack-contracts.test.ts): getrf's blocked order rounds otherwise than
            // the kernel's (and this reference's) sequence of rank-1 updates, so rows whose |a| tie but for
            // rounding may pivot the other way, and a pivot exactly zero in one order may be ~1e-16 in the other
            // (seed 1 here; measured on 10 000 random integer matrices up to 8×8: 2 pivot sequences and 1 info
            // differ). That factorisation on its own terms: P L U = A, info = the first exactly zero U[k, k] + 1.
            const { P, L, U } = antler.linalg.lu(tensor(v, [B, m, n], F64));
            expect(Math.max(0, ...read(antler.abs(antler.sub(antler.matmul(P, antler.matmul(L, U)), tensor(v, [B, m, n], F64)))))).toBeLessThan(1e-12);
            const lu = read(r.LU), k = Math.min(m, n);
            const first = Array.from({ length: B }, (_, b) => {
              for (let i = 0; i < k; i++) if (lu[b * m * n + i * n + i] === 0) return i + 1;
              return 0;
            });
            expect(read(r.info)).toEqual(first);
            return;
          }
          expect(read(r.pivots)).toEqual(piv);
          expect(read(r.info)).toEqual(info);
          // Per matrix, 1e-12 (float64) or 1e-4 (float32), or 64 eps · max(1, max|LU|) · κ̂ where larger, κ̂ =
          // max|U[k, k]| / min|U[k, k]| of the reference (capped at 1e5): the float32 input's rounding and either
          // order's (getrf's blocked one under 'lapack') are amplified by the pivots' spread. Measured (random m, n ≤ 7
          // in [−2, 2], 'builtin' and 'lapack'; 800 000 matrices, and 8 million of which those with κ̂ > 300 were
          // factored): at most 4.2 (float32) and 7.1 (float64, 'lapack'; 'builtin' is this reference's order, exact)
          // in units of eps · max(1, max|LU|) · κ̂, while the fixed bounds alone reached 0.91 (float32) and 0.23
          // (float64 under 'lapack') with a 1/x tail in κ̂: about 1 run in 150 000 for ~20 matrices a run. A wrong
          // entry (O(1)) still fails: the bound is below 0.01 · max(1, max|LU|) but for κ̂ > 1e3 (6e-4 of these).
          if (!ints) expect(read(r32.pivots)).toEqual(piv);
          const lu64 = read(r.LU), lu32 = read(r32.LU);
          for (let b = 0; b < B; b++) {
            const mat = LU.slice(b * m * n, (b + 1) * m * n), k = Math.min(m, n);
            const kappa = diagonalSpread(Array.from({ length: k }, (_, i) => mat[i * n + i]), 1e5);
            const unit = Math.max(1, ...mat.map(Math.abs)) * kappa;
            expectClose(lu64.slice(b * m * n, (b + 1) * m * n), mat, 1e-12, Math.max(1e-12, 64 * 2 ** -52 * unit), `${msg}, matrix ${b}`);
            if (!ints) expectClose(lu32.slice(b * m * n, (b + 1) * m * n), mat, 1e-4, Math.max(1e-4, 64 * 2 ** -23 * unit), `${msg}, matrix ${b} (float32)`);
          }
        });
      }
    });

    test('transposed inputs factor as their values (the operands are made contiguous); luSolve skips pivots outside [1, n]', () => {
      const n = 6;
      const v = randomArray(rng, n * n);
      tidy(() => {
        const At = antler.transpose(tensor(v, [n, n], F64));
        const ref = luRef(transposeRef(v, n, n), n, n);
        const r = antler.linalg.luFactorEx(At);
        expect(read(r.pivots)).toEqual(ref.piv);
        expectClose(read(r.LU), ref.LU, 1e-12, 1e-12, `seed ${SEED}`);
        // Out-of-range pivots (not from luFactor) are skipped, as no row exists to swap with: no crash, finite values.
        const { LU } = antler.linalg.luFactor(tensor(wellConditioned([], 3), [3, 3], F64));
        const X = antler.linalg.luSolve(LU, tensor([7, -1, 0], [3], I32), antler.ones([3, 1], F64));
        expect(read(X).every(Number.isFinite)).toBe(true);
      });
    });

    test('lu reconstructs A = P L U (residual ≤ 10·n·eps·max|A|), P a permutation, L unit lower, U upper', () => {
      for (const [m, n] of [[5, 5], [3, 6], [7, 2], [30, 30], [1, 1]]) {
        const v = randomArray(rng, 2 * m * n);
        tidy(() => {
          const A = tensor(v, [2, m, n], F64);
          const { P, L, U } = antler.linalg.lu(A);
          const k = Math.min(m, n);
          expect(P.shape).toEqual([2, m, m]);
          expect(L.shape).toEqual([2, m, k]);
          expect(U.shape).toEqual([2, k, n]);
          const res = read(antler.sub(antler.matmul(P, antler.matmul(L, U)), A));
          expect(Math.max(...res.map(Math.abs))).toBeLessThan(10 * Math.max(m, n) * 2 ** -52 * Math.max(...v.map(Math.abs)) * Math.max(m, n));
          const p = read(P), l = read(L), u = read(U);
          for (let b = 0; b < 2; b++) {
            for (let i = 0; i < m; i++) expect(p.slice(b * m * m + i * m, b * m * m + (i + 1) * m).sort()).toEqual([...new Array(m - 1).fill(0), 1]);
            for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) if (j >= i) expect(l[b * m * k + i * k + j]).toBe(i === j ? 1 : 0);
            for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) expect(u[b * k * n + i * n + j]).toBe(0);
          }
        });
      }
    });

    test('singular, NaN, empty and 1×1 inputs; luFactor and LINALG_ERROR name the batch element', () => {
      tidy(() => {
        // A zero column in the middle: info 2, the factorisation goes on (getrf's).
        const r = antler.linalg.luFactorEx(tensor([1, 0, 2, 3, 0, 4, 5, 0, 7], [3, 3], F64));
        expect(read(r.info)).toEqual([2]);
        expect(read(r.pivots)).toEqual(luRef([1, 0, 2, 3, 0, 4, 5, 0, 7], 3, 3).piv);
        const nan = antler.linalg.luFactorEx(tensor([NaN, 1, 2, 3], [2, 2], F64));
        expect(nan.info.shape).toEqual([]);
        // |NaN| > x and x > |NaN| are both false: the NaN row stays the pivot (BLAS iamax's rule; torch 1.13 gives [1, 2] too).
        expect(read(nan.pivots)).toEqual([1, 2]);
        expect(antler.linalg.luFactorEx(antler.zeros([0, 0], F64)).pivots.shape).toEqual([0]);
        expect(antler.linalg.luFactorEx(antler.zeros([2, 0, 3], F64)).LU.shape).toEqual([2, 0, 3]);
        expect(read(antler.linalg.det(antler.zeros([3, 0, 0], F64)))).toEqual([1, 1, 1]);
        expect(read(antler.linalg.det(tensor([-3], [1, 1], F64)))).toEqual([-3]);
        expect(read(antler.linalg.inv(tensor([4], [1, 1], F64)))).toEqual([0.25]);
        const sing = tensor([1, 2, 3, 4, 1, 2, 2, 4], [2, 2, 2], F64);
        expectAntlerErrorInTidy(() => antler.linalg.luFactor(sing), 'LINALG_ERROR', /linalg\.luFactor: the matrix at batch index 1 is singular \(U\[1, 1\]/);
        expectAntlerErrorInTidy(() => antler.linalg.inv(sing), 'LINALG_ERROR', /linalg\.inv: the matrix at batch index 1 is singular/);
        expectAntlerErrorInTidy(() => antler.linalg.solve(tensor([0, 0, 0, 0], [2, 2], F64), antler.ones([2], F64)), 'LINALG_ERROR', /linalg\.solve: the matrix is singular \(U\[0, 0\]/);
        expectAntlerErrorInTidy(() => antler.linalg.luFactorEx(sing, { checkErrors: true }), 'LINALG_ERROR', /batch index 1/);
        expect(read(antler.linalg.invEx(sing).info)).toEqual([0, 2]);
        expect(read(antler.linalg.solveEx(sing, antler.ones([2, 2, 1], F64)).info)).toEqual([0, 2]);
        expectAntlerErrorInTidy(() => antler.linalg.luFactor(tensor([1, 0, 0, 1], [2, 2], I32)), 'DTYPE_MISMATCH');
        expectAntlerErrorInTidy(() => antler.linalg.lu(antler.eye(2, 2, F64), { pivot: false }), 'INVALID_ARGUMENT', /pivot/);
      });
    });

    test('luSolve (both sides, adjoint, broadcast) and solve (torch\'s vector rule, left: false) against Gauss–Jordan', () => {
      const n = 5, k = 3;
      const Av = wellConditioned([2], n), Bv = randomArray(rng, 2 * n * k);
      tidy(() => {
        const A = tensor(Av, [2, n, n], F64);
        const { LU, pivots } = antler.linalg.luFactor(A);
        const refs = (f: (a: number[], b: number[]) => number[], bs: number) => [0, 1].flatMap((b) => f(Av.slice(b * n * n, (b + 1) * n * n), Bv.slice(b * bs, (b + 1) * bs)));
        const left = refs((a, b) => solveRef(a, b, n, k), n * k);
        const leftT = refs((a, b) => solveRef(transposeRef(a, n, n), b, n, k), n * k);
        // X A = B ⟺ Aᵀ Xᵀ = Bᵀ; X Aᵀ = B ⟺ A Xᵀ = Bᵀ (B k×n).
        const right = refs((a, b) => transposeRef(solveRef(transposeRef(a, n, n), transposeRef(b, k, n), n, k), n, k), k * n);
        const rightT = refs((a, b) => transposeRef(solveRef(a, transposeRef(b, k, n), n, k), n, k), k * n);
        const B = tensor(Bv, [2, n, k], F64), Br = tensor(Bv, [2, k, n], F64);
        const msg = `seed ${SEED}`;
        expectClose(read(antler.linalg.luSolve(LU, pivots, B)), left, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.luSolve(LU, pivots, B, { adjoint: true })), leftT, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.luSolve(LU, pivots, Br, { left: false })), right, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.luSolve(LU, pivots, Br, { left: false, adjoint: true })), rightT, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.solve(A, B)), left, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.solve(A, Br, { left: false })), right, 1e-11, 1e-11, msg);
        expectClose(read(antler.linalg.solve(A.cast('float32'), B.cast('float32'))), left, 1e-4, 1e-4, `${msg} float32`);
        // Vectors: B [n] broadcast over A's batch; B [2, n] (A's shape less its last dim) is a batch of vectors.
        const b0 = Bv.slice(0, n);
        const xv = antler.linalg.solve(A, tensor(b0, [n], F64));
        expect(xv.shape).toEqual([2, n]);
        expectClose(read(xv), [0, 1].flatMap((b) => solveRef(Av.slice(b * n * n, (b + 1) * n * n), b0, n, 1)), 1e-11, 1e-11, msg);
        const xb = antler.linalg.solve(A, tensor(Bv.slice(0, 2 * n), [2, n], F64));
        expect(xb.shape).toEqual([2, n]);
        expectClose(read(xb), [0, 1].flatMap((b) => solveRef(Av.slice(b * n * n, (b + 1) * n * n), Bv.slice(b * n, (b + 1) * n), n, 1)), 1e-11, 1e-11, msg);
        // B [n, 1] against A [2, n, n]: a matrix, broadcast.
        expect(antler.linalg.solve(A, tensor(b0, [n, 1], F64)).shape).toEqual([2, n, 1]);
        // A broadcast against B's batch.
        expect(antler.linalg.solve(tensor(Av.slice(0, n * n), [1, n, n], F64), tensor(Bv, [2, n, k], F64)).shape).toEqual([2, n, k]);
      });
    });

    test('inv, det, slogdet and logdet against Gauss–Jordan and elimination; signs, singular and negative determinants', () => {
      for (const n of [1, 2, 3, 6]) {
        const v = randomArray(rng, 3 * n * n, -1, 1);
        tidy(() => {
          const A = tensor(v, [3, n, n], F64);
          const mats = [0, 1, 2].map((b) => v.slice(b * n * n, (b + 1) * n * n));
          const eye = Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? 1 : 0));
          // Each matrix within the fixed bounds or 16 eps · κ₁ where larger (κ₁ = ‖A‖₁‖A⁻¹‖₁ of the reference): inv's
          // forward error is about eps · κ · max|A⁻¹| and det's relative error (log|det|'s absolute one) about eps · κ,
          // once the elimination's order differs from detRef's (getrf's under 'lapack'; 'builtin' is exact). Measured over
          // 10 million random matrices of this test (4 million 'builtin', 6 million 'lapack'; those with κ₁ > 1000
          // computed, and a uniform sample): at most 0.57 (inv, in eps · κ₁ · max|A⁻¹|) and 0.34 (det, log|det|), while
          // the fixed 1e-12 on log|det| failed 31 of the 6 million under 'lapack' (up to 11.7 times it: about 1 run in
          // 15 000 for these 12 matrices) and inv's fixed 1e-9 reached 0.15.
          // A wrong value (O(1) relative) still fails unless κ₁ > 1e13.
          const dets = mats.map((a) => detRef(a, n));
          const inverses = mats.map((a) => solveRef(a, eye, n, n));
          const norm1 = (x: number[]) => Math.max(...Array.from({ length: n }, (_, j) => x.reduce((s, v, e) => (e % n === j ? s + Math.abs(v) : s), 0)));
          const rounding = mats.map((a, b) => 16 * 2 ** -52 * norm1(a) * norm1(inverses[b]));
          const [inv, det] = [antler.linalg.inv(A), antler.linalg.det(A)].map(read);
          const { sign, logabsdet } = antler.linalg.slogdet(A);
          expect(read(sign)).toEqual(dets.map(Math.sign));
          const [lad, ld] = [logabsdet, antler.linalg.logdet(A)].map(read);
          mats.forEach((_, b) => {
            const at = `seed ${SEED} n ${n}, matrix ${b} (κ₁ ${(rounding[b] / (16 * 2 ** -52)).toExponential(2)})`;
            expectClose(inv.slice(b * n * n, (b + 1) * n * n), inverses[b], 1e-9, Math.max(1e-9, rounding[b] * Math.max(...inverses[b].map(Math.abs))), `inv ${at}`);
            expectClose([det[b]], [dets[b]], Math.max(1e-12, rounding[b]), 1e-14, `det ${at}`);
            expectClose([lad[b]], [Math.log(Math.abs(dets[b]))], 1e-12, Math.max(1e-12, rounding[b]), `slogdet ${at}`);
            expectClose([ld[b]], [dets[b] < 0 ? NaN : Math.log(dets[b])], 1e-12, Math.max(1e-12, rounding[b]), `logdet ${at}`);
          });
          expectClose(read(antler.linalg.det(A.cast('float32'))), dets, 1e-4, 1e-5, `det float32 seed ${SEED}`);
        });
      }
      tidy(() => {
        const S = tensor([1, 2, 2, 4], [2, 2], F64);
        expect(Math.abs(read(antler.linalg.det(S))[0])).toBe(0);
        const { sign, logabsdet } = antler.linalg.slogdet(S);
        expect(read(sign)).toEqual([0]);
        expect(read(logabsdet)).toEqual([-Infinity]);
        expect(read(antler.linalg.logdet(S))).toEqual([-Infinity]);
        // A swap: det [[0, 1], [1, 0]] = −1, slogdet sign −1, logdet NaN.
        const Q = tensor([0, 1, 1, 0], [2, 2], F64);
        expect(read(antler.linalg.det(Q))).toEqual([-1]);
        expect(read(antler.linalg.slogdet(Q).sign)).toEqual([-1]);
        expect(Number.isNaN(read(antler.linalg.logdet(Q))[0])).toBe(true);
        // No overflow: det of 1e200·I₂ overflows, logabsdet does not.
        expectClose(read(antler.linalg.slogdet(antler.mul(antler.eye(2, 2, F64), 1e200)).logabsdet), [400 * Math.log(10)], 1e-14, 0, 'logabsdet');
      });
      // NaN entries (torch 1.13: sign 0 from sgn(NaN) = 0, logabsdet, det and logdet NaN, and NaN gradients),
      // in a batch with a regular matrix that keeps its values; float64 and float32.
      for (const dtype of ['float64', 'float32'] as const)
        tidy(() => {
          const mats = [[NaN, 1, 2, 3], [1, 2, 3, NaN], [NaN, NaN, NaN, NaN], [0, 0, 0, NaN], [2, 1, 1, 3]];
          const A = tensor(mats.flat(), [5, 2, 2], { dtype, requiresGrad: true });
          const { sign, logabsdet } = antler.linalg.slogdet(A);
          expect(read(sign)).toEqual([0, 0, 0, 0, 1]);
          expect(read(logabsdet).slice(0, 4).every(Number.isNaN)).toBe(true);
          expectClose(read(logabsdet).slice(4), [Math.log(5)], 1e-6, 0, `logabsdet (${dtype})`);
          expect(read(antler.linalg.det(A)).map((x, b) => (b < 4 ? Number.isNaN(x) : x))).toEqual([true, true, true, true, 5]);
          expect(read(antler.linalg.logdet(A)).slice(0, 4).every(Number.isNaN)).toBe(true);
          logabsdet.sum().backward();
          expect(read(A.grad!).slice(0, 16).every(Number.isNaN)).toBe(true);
          expectClose(read(A.grad!).slice(16), [0.6, -0.2, -0.2, 0.4], 1e-6, 1e-6, `logabsdet gradient (${dtype})`);
        });
    });

    test('det\'s gradient: g·det·A⁻ᵀ, and the cofactor matrix at singular A (torch 1.13 createGraph\'s value), never NaN', () => {
      const cases: [number[], number, number[]][] = [
        [[1, 2, 3, 2, 4, 6, 1, 0, 1], 3, [4, 4, -4, -2, -2, 2, 0, 0, 0]],
        [[0, 1, 0, 0], 2, [0, 0, -1, 0]],
        [[1, 2, 2, 4], 2, [4, -2, -2, 1]],
        [[0, 0, 0, 0], 2, [0, 0, 0, 0]],
        [[1, 2, 3, 4, 5, 6, 7, 8, 10], 3, [2, 2, -3, 4, -11, 6, -3, 6, -3]],
      ];
      for (const [v, n, cof] of cases)
        for (const dtype of ['float64', 'float32'] as const)
          tidy(() => {
            const A = tensor(v, [n, n], { dtype, requiresGrad: true });
            antler.linalg.det(A).backward();
            const tol = dtype === 'float32' ? 1e-5 : 1e-13;
            expectClose(read(A.grad!), cof, tol, tol, `det gradient of ${JSON.stringify(v)} (${dtype})`);
          });
    });

    test('det\'s gradient at singular matrices with many zero pivots (nilpotent shifts, random integer rank drops) is the exact cofactor matrix; empty matrices', () => {
      // The shift matrix (ones above the diagonal): every pivot of U is 0, the cofactor matrix is
      // (−1)^(n−1) at [n − 1, 0] and 0 elsewhere (an ε-perturbed LU over/underflows here).
      for (const [n, dtype] of [[6, 'float32'], [9, 'float32'], [22, 'float64'], [30, 'float64']] as const)
        tidy(() => {
          const v = new Array<number>(n * n).fill(0);
          for (let i = 0; i + 1 < n; i++) v[i * n + i + 1] = 1;
          const A = tensor(v, [n, n], { dtype, requiresGrad: true });
          antler.linalg.det(A).backward();
          const cof = new Array<number>(n * n).fill(0);
          cof[(n - 1) * n] = n % 2 ? 1 : -1;
          expect(read(A.grad!).map((x) => x + 0)).toEqual(cof); // + 0: −0 as 0
        });
      // Laplace expansion (exact on small integers) against random integer matrices, many singular.
      let singular = 0;
      for (let t = 0; t < 60; t++) {
        const n = 2 + (t % 5);
        const M = Array.from({ length: n * n }, () => Math.floor(rng.next() * 5) - 2);
        if (t % 3 === 0) for (let c = 0; c < n; c++) M[n + c] = M[c]; // a repeated row
        else if (t % 3 === 1) for (let i = 0; i < n; i++) M[i * n + (t % n)] = 0; // a zero column
        if (detLaplace(M, n) === 0) singular++;
        const cof = cofLaplace(M, n);
        // Each cofactor is a degree-(n − 1) polynomial in the entries, through an LU whose pivots may round to
        // ±ε where they are exactly 0 in another order (LAPACK's blocked one: a 6×6 of rank 4 gave 1.4e-5 in
        // float32 where every cofactor is 0; CI, seed 1415162881, under 'lapack'): its rounding is a few
        // eps·H, H = the largest product of n − 1 row norms (Hadamard's bound on every cofactor; measured at
        // most 1.39 eps·H over 100 000 such random integer matrices under 'lapack' in float32). A wrong
        // cofactor is off by ≥ 1 or has a wrong sign, and 8 eps·H ≤ 2.7e-3 in float32 here (entries in [−2, 2], n ≤ 6: H ≤ 24^2.5).
        const H = rowNormProductBound(M, n);
        for (const dtype of ['float64', 'float32'] as const)
          tidy(() => {
            const A = tensor(M, [1, n, n], { dtype, requiresGrad: true });
            antler.linalg.det(A).sum().backward();
            const tol = dtype === 'float32' ? 1e-5 : 1e-12;
            const rounding = 8 * (dtype === 'float32' ? 2 ** -23 : 2 ** -52) * H;
            expectClose(read(A.grad!), cof, tol, Math.max(tol * Math.max(1, ...cof.map(Math.abs)), rounding), `seed ${SEED}: det gradient of ${JSON.stringify(M)} (${dtype})`);
          });
      }
      expect(singular).toBeGreaterThan(30);
      // Empty matrices (det = 1): an empty gradient, no error.
      for (const shape of [[0, 0], [2, 0, 0]])
        tidy(() => {
          const A = antler.zeros(shape, { ...F64, requiresGrad: true });
          antler.linalg.det(A).sum().backward();
          expect(A.grad!.shape).toEqual(shape);
        });
      // A batch of a singular and an invertible matrix: the invertible one stays twice differentiable.
      tidy(() => {
        const A = tensor([1, 2, 2, 4, 2, 1, 1, 3], [2, 2, 2], { ...F64, requiresGrad: true });
        const [g] = antler.autograd.grad(antler.linalg.det(A).sum(), A, { createGraph: true });
        expect(read(g!)).toEqual([4, -2, -2, 1, 3, -1, -1, 2]);
        const [h] = antler.autograd.grad(g!.sum(), A);
        expectClose(read(h!).slice(4), [1, -1, -1, 1], 1e-12, 1e-12, 'd/dA of the cofactor sum (invertible element)');
      });
    });

    test('det\'s gradient chooses the cofactor path per batch element on the device: rank n − 1, n − 2 and regular matrices mixed in a batch; on the CPU at most one host read (test/gpu/linalg-lu.test.ts: none on CUDA)', () => {
      // Every host read in lib goes through Tensor's dataSync or data (item, arraySync and array call them).
      const reads = ['dataSync', 'data', 'to'] as const;
      for (let t = 0; t < 8; t++) {
        const n = 2 + (t % 4);
        // Integer products B C (B n×r, C r×n) of rank ≤ r: r = n (mostly regular), n − 1, n − 2; and a zero matrix.
        const ranks = [n, n - 1, Math.max(n - 2, 0), 0, n - 1, n];
        const mats = ranks.map((r) => {
          const B = Array.from({ length: n * r }, () => Math.floor(rng.next() * 5) - 2);
          const C = Array.from({ length: r * n }, () => Math.floor(rng.next() * 5) - 2);
          return r === 0 ? new Array<number>(n * n).fill(0) : matmulRef(B, C, n, r, n);
        });
        const cof = mats.flatMap((M) => cofLaplace(M, n));
        for (const dtype of ['float64', 'float32'] as const)
          tidy(() => {
            const A = tensor(mats.flat(), [2, 3, n, n], { dtype, requiresGrad: true });
            const spies = reads.map((name) => jest.spyOn(Tensor.prototype, name));
            try {
              antler.linalg.det(A).sum().backward();
              // One read on the CPU: whether any matrix is singular (skips the exact path when none is).
              expect(spies.map((spy) => spy.mock.calls.length)).toEqual([1, 0, 0]);
            } finally {
              for (const spy of spies) spy.mockRestore();
            }
            const tol = dtype === 'float32' ? 1e-5 : 1e-12;
            const scale = Math.max(1, ...cof.map(Math.abs));
            // Per matrix, beside tol · scale, the rounding bound 8 eps · H of the singular-integer test above (H =
            // the largest product of n − 1 row norms): a rank-deficient matrix's pivots may round to ±ε where they
            // are exactly 0, and its cofactors carry that rounding. Measured over batches of n = 5 in float32 (30 000
            // under 'lapack', 10 000 under 'builtin'): at most 1.44 eps · H, while tol · scale alone reached 0.18 of
            // itself ('builtin': 0.10) with a tail of about x^-1.7 (roughly 1 run in 150 000 past it, 2 such batches
            // a run). A wrong cofactor (off by ≥ 1, integers) still fails where 8 eps · H < 1 (float32: H < 1e6).
            const grad = read(A.grad!), eps = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
            mats.forEach((M, b) => {
              const span = [b * n * n, (b + 1) * n * n];
              const atol = Math.max(tol * scale, 8 * eps * rowNormProductBound(M, n));
              expectClose(grad.slice(...span), cof.slice(...span), tol, atol, `seed ${SEED}: det gradient of ranks ${ranks}, matrix ${b} (n = ${n}, ${dtype})`);
            });
          });
      }
    });

  });

  describe('cholesky', () => {
    test('equals Cholesky–Banachiewicz; upper is Lᵀ; only the lower triangle is read (the upper one with upper, as torch); batches; float32', () => {
      for (const n of [1, 2, 4, 9]) {
        const M = randomArray(rng, 2 * n * n);
        const S = [0, 1].flatMap((b) => {
          const m = M.slice(b * n * n, (b + 1) * n * n);
          return matmulRef(m, transposeRef(m, n, n), n, n, n).map((x, e) => x + (e % (n + 1) === 0 ? n : 0));
        });
        const ref = [0, 1].flatMap((b) => choleskyRef(S.slice(b * n * n, (b + 1) * n * n), n).L);
        // The strict upper triangle poisoned with NaN: never read.
        const poisoned = S.map((x, e) => ((e % (n * n)) % n > Math.floor((e % (n * n)) / n) ? NaN : x));
        tidy(() => {
          const L = antler.linalg.cholesky(tensor(poisoned, [2, n, n], F64));
          expectClose(read(L), ref, 1e-12, 1e-12, `seed ${SEED} n ${n}`);
          expectClose(read(antler.linalg.cholesky(tensor(S, [2, n, n], F64), { upper: true })), [0, 1].flatMap((b) => transposeRef(ref.slice(b * n * n, (b + 1) * n * n), n, n)), 1e-12, 1e-12, 'upper');
          // upper reads only the upper triangle (torch's, LAPACK potrf 'U'): the strict lower one poisoned.
          const poisonedLower = S.map((x, e) => ((e % (n * n)) % n < Math.floor((e % (n * n)) / n) ? NaN : x));
          expectClose(read(antler.linalg.cholesky(tensor(poisonedLower, [2, n, n], F64), { upper: true })), [0, 1].flatMap((b) => transposeRef(ref.slice(b * n * n, (b + 1) * n * n), n, n)), 1e-12, 1e-12, 'upper, lower poisoned');
          expect(read(antler.linalg.choleskyEx(tensor(poisonedLower, [2, n, n], F64), { upper: true }).info)).toEqual([0, 0]);
          expectClose(read(antler.linalg.cholesky(tensor(S, [2, n, n], F32))), ref, 1e-5, 1e-5, 'float32');
          const ex = antler.linalg.choleskyEx(tensor(S, [2, n, n], F64));
          expect(read(ex.info)).toEqual([0, 0]);
        });
      }
    });

    test('not positive-definite: info is the order of the first bad leading minor; LINALG_ERROR names it and the batch element', () => {
      tidy(() => {
        // Leading minors 1, −3 (order 2 fails); then the zero matrix (order 1).
        const A = tensor([1, 2, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [2, 3, 3], F64);
        // Lower triangle [1; 1 2; 0 2 1]: minors 1, 1, −3 (order 3 fails).
        const bad = tensor([1, 0, 0, 1, 2, 0, 0, 2, 1], [1, 3, 3], F64);
        expect(read(antler.linalg.choleskyEx(antler.concat([antler.eye(3, 3, F64).reshape([1, 3, 3]), bad], 0)).info)).toEqual([0, 3]);
        expect(read(antler.linalg.choleskyEx(A).info)).toEqual([2, 1]);
        expect(read(antler.linalg.choleskyEx(tensor([NaN], [1, 1], F64)).info)).toEqual([1]);
        expect(read(antler.linalg.choleskyEx(tensor([1, 0, 0, NaN], [2, 2], F64)).info)).toEqual([2]);
        // upper: the minors of the upper triangle (torch's): [[1, 5], [0, 1]] fails at order 2, [[1, 0], [5, 1]] does not.
        expect(read(antler.linalg.choleskyEx(tensor([1, 5, 0, 1, 1, 0, 5, 1], [2, 2, 2], F64), { upper: true }).info)).toEqual([2, 0]);
        expectAntlerErrorInTidy(() => antler.linalg.cholesky(A), 'LINALG_ERROR', /linalg\.cholesky: the matrix at batch index 0 is not positive-definite \(the leading minor of order 2 is not positive-definite\)/);
        expectAntlerErrorInTidy(() => antler.linalg.choleskyEx(A, { checkErrors: true }), 'LINALG_ERROR', /order 2/);
        expect(antler.linalg.cholesky(antler.zeros([0, 0], F64)).shape).toEqual([0, 0]);
      });
    });

    test('gradient is symmetric (torch\'s) and flows to both triangles\' mirror: d/dM of cholesky(M Mᵀ + nI)', () => {
      tidy(() => {
        const n = 4;
        const A = tensor(choleskyRefInput(n), [n, n], { ...F64, requiresGrad: true });
        antler.sum(antler.linalg.cholesky(A)).backward();
        const g = read(A.grad!);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(g[i * n + j] - g[j * n + i])).toBeLessThan(1e-14);
      });
    });
  });

  describe('compositions', () => {
    test('matrixPower against repeated products (0, 1, positive and negative n), tensorinv and tensorsolve', () => {
      const n = 3;
      const v = wellConditioned([], n);
      tidy(() => {
        const A = tensor(v, [n, n], F64);
        const eye: number[] = Array.from({ length: n * n }, (_, e) => (e % (n + 1) === 0 ? 1 : 0));
        let p = eye;
        const inverse = solveRef(v, eye, n, n);
        let q = eye;
        for (let k = 1; k <= 6; k++) {
          p = matmulRef(p, v, n, n, n);
          q = matmulRef(q, inverse, n, n, n);
          expectClose(read(antler.linalg.matrixPower(A, k)), p, 1e-12, 1e-12, `A^${k}`);
          expectClose(read(antler.linalg.matrixPower(A, -k)), q, 1e-10, 1e-10, `A^-${k}`);
        }
        expect(read(antler.linalg.matrixPower(antler.stack([A, A]), 0))).toEqual([...eye, ...eye]);
        const X = antler.linalg.tensorinv(tensor(v.concat(v.slice(0, 0)), [3, 3], F64), 1);
        expectClose(read(X), inverse, 1e-12, 1e-12, 'tensorinv');
        const W = wellConditioned([], 6);
        const b = randomArray(rng, 6);
        const x = antler.linalg.tensorsolve(tensor(W, [2, 3, 2, 3], F64), tensor(b, [2, 3], F64));
        expect(x.shape).toEqual([2, 3]);
        expectClose(read(x), solveRef(W, b, 6, 1), 1e-11, 1e-11, 'tensorsolve');
        const Ti = antler.linalg.tensorinv(tensor(W, [6, 2, 3], F64), 1);
        expect(Ti.shape).toEqual([2, 3, 6]);
        expectClose(read(Ti), solveRef(W, Array.from({ length: 36 }, (_, e) => (e % 7 === 0 ? 1 : 0)), 6, 6), 1e-11, 1e-11, 'tensorinv [6, 2, 3]');
        expectAntlerErrorInTidy(() => antler.linalg.matrixPower(A, 0.5), 'INVALID_ARGUMENT');
        expectAntlerErrorInTidy(() => antler.linalg.matrixPower(antler.zeros([2, 2], F64), -1), 'LINALG_ERROR');
      });
    });
  });
});
