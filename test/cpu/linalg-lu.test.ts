/**
 * lib/ops/linalg-lu.ts against float64 references written here (plain JS loops transcribing the
 * definitions: substitution for triangular systems), on fresh random inputs: both triangles and
 * sides, unit diagonals, broadcast batches, empty and 1×1 matrices, zero diagonals, NaN, float32,
 * and bad inputs (AntlerError, nothing left behind). Gradients are checked by the op registry
 * (test/opinfo-linalg-lu.ts); here the conventions finite differences cannot see.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { broadcastShape, expectAntlerErrorInTidy, expectClose, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const F32 = { dtype: 'float32' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

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
});
