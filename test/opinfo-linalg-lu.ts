// Registry entries of lib/ops/linalg-lu.ts (appended to OPS in test/opinfo.ts), named `linalg.<function>`.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Rng } from './helpers';
import { vals } from './opinfo';
import type { InputSpec, OpInfo } from './opinfo';

const z = (shape: number[], dtype: 'float64' | 'int32' = 'float64') => antler.zeros(shape, { dtype });

/**
 * Well-conditioned batches of n×n matrices: entries in [−0.5, 0.5) with the diagonal pushed to
 * ±[1.5, 2.5) (a triangular solve with them is well conditioned; so is a solve with the full matrix).
 */
function wellConditioned(rng: Rng, shape: number[]): InputSpec {
  const spec = vals(rng, shape, -0.5, 0.5);
  const n = shape[shape.length - 1];
  for (let i = 0; i < spec.values.length; i++) {
    const r = Math.floor(i / n) % n, c = i % n;
    if (r === c) spec.values[i] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1.5, 2.5);
  }
  return spec;
}

/**
 * Batches of n×n matrices with entries in [−1, 1), each redrawn until |det| ≥ 0.05: generic matrices, but not
 * the near-singular ones whose determinant cancels. There float32's det error relative to |det| grows as
 * ~1e-8/|det| (torch 1.13's too: 1.0e-4 at |det| 2.5e-4, where antler's was 4.0e-5), past the registry's 1e-5
 * in 5 of 3,000 opinfo seeds (1.7e-3 a run; seed 40 first), and slogdet's finite differences (h = 1e-6) lose
 * their accuracy (23× the gradient bound in one of 1,500 draws, over 0.3× in 5). At |det| ≥ 0.05 the worst
 * over those 3,000 seeds is 0.12 of the float32 bound, and of 1,500 draws 3e-10 for slogdet's gradient.
 * logAwayFromZero also redraws |log |det|| < 0.1: slogdet's float32 check divides by max |log |det||, and two
 * determinants near ±1 took it to 0.78 of its bound in 20,000 seeds (10791).
 */
function awayFromSingular(rng: Rng, shape: number[], logAwayFromZero = false): InputSpec {
  const n = shape[shape.length - 1];
  const spec = vals(rng, shape, -1, 1);
  for (let b = 0; b < spec.values.length / (n * n); b++)
    for (;;) {
      const M = spec.values.slice(b * n * n, (b + 1) * n * n);
      // |det| by elimination with partial pivoting
      let det = 1;
      for (let c = 0; c < n; c++) {
        let p = c;
        for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[p * n + c])) p = r;
        for (let k = 0; k < n; k++) [M[c * n + k], M[p * n + k]] = [M[p * n + k], M[c * n + k]];
        det *= M[c * n + c];
        for (let r = c + 1; r < n && M[c * n + c] !== 0; r++) {
          const f = M[r * n + c] / M[c * n + c];
          for (let k = c; k < n; k++) M[r * n + k] -= f * M[c * n + k];
        }
      }
      if (Math.abs(det) >= 0.05 && !(logAwayFromZero && Math.abs(Math.log(Math.abs(det))) < 0.1)) break;
      for (let i = 0; i < n * n; i++) spec.values[b * n * n + i] = rng.uniform(-1, 1);
    }
  return spec;
}

/**
 * 3×3 matrices with entries in [−0.8, 0.8), redrawn until A⁵ cancels by less than 10× (max |A⁵| ≥ 0.1·max |A|⁵,
 * |A| entrywise; 19% of draws are redrawn): the float32 error of A⁵ relative to max |A⁵| grows with that ratio,
 * past the registry's 1e-5 in 1 of 20,000 opinfo seeds (23729: ratio 1,453, error 1.12e-5, torch 1.13's float32
 * the same 1.12e-5).
 */
function powerAwayFromCancelling(rng: Rng): InputSpec {
  const mm = (X: number[], Y: number[]): number[] =>
    Array.from({ length: 9 }, (_, e) => X[Math.floor(e / 3) * 3] * Y[e % 3] + X[Math.floor(e / 3) * 3 + 1] * Y[3 + (e % 3)] + X[Math.floor(e / 3) * 3 + 2] * Y[6 + (e % 3)]);
  const pow5 = (X: number[]): number[] => mm(X, mm(X, mm(X, mm(X, X))));
  for (;;) {
    const spec = vals(rng, [3, 3], -0.8, 0.8);
    const P = pow5(spec.values), Q = pow5(spec.values.map(Math.abs));
    if (Math.max(...P.map(Math.abs)) >= 0.1 * Math.max(...Q)) return spec;
  }
}

/** Strictly diagonally dominant matrices with a positive diagonal (their determinant is positive). */
function dominant(rng: Rng, shape: number[]): InputSpec {
  const spec = wellConditioned(rng, shape);
  spec.values = spec.values.map((v) => (Math.abs(v) >= 1.5 ? Math.abs(v) : v));
  return spec;
}

/**
 * Batches of m×n matrices whose partial pivoting is decided by a wide margin: entries in
 * [−0.3, 0.3), a dominant ±[1.5, 2.5) at (i, i) for i < min(m, n), then the rows shuffled (so P is
 * not the identity). Column diagonal dominance survives elimination, so every pivot beats the
 * rest of its column by ≥ 1.5 − (m − 1)·0.3 (m ≤ 5): finite-difference steps never switch a pivot,
 * which random [−1, 1) entries do on some seeds (two rows with |a| 5e-5 apart).
 */
function pivoted(rng: Rng, shape: number[]): InputSpec {
  const spec = vals(rng, shape, -0.3, 0.3);
  const [m, n] = shape.slice(-2);
  const count = spec.values.length / (m * n);
  for (let b = 0; b < count; b++) {
    const M = spec.values.slice(b * m * n, (b + 1) * m * n);
    for (let i = 0; i < Math.min(m, n); i++) M[i * n + i] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(1.5, 2.5);
    const order = Array.from({ length: m }, (_, i) => i);
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((r, i) => {
      for (let c = 0; c < n; c++) spec.values[b * m * n + i * n + c] = M[r * n + c];
    });
  }
  return spec;
}

/** M Mᵀ + n·I for M [..., n, n]: symmetric positive-definite, differentiable in M (the Cholesky entries' input). */
function spdOf(M: antler.Tensor): antler.Tensor {
  const n = M.shape[M.rank - 1];
  return antler.add(antler.matmul(M, M, { transposeB: true }), antler.mul(antler.eye(n, n, { dtype: M.dtype as 'float64', device: M.device }), n));
}

/** A solveTriangular entry: A's and B's shapes and the options. */
const trsm = (note: string, aShape: number[], bShape: number[], o: antler.linalg.SolveTriangularOptions): OpInfo => ({
  name: `linalg.solveTriangular(${note})`,
  samples: (rng) => [{ inputs: [wellConditioned(rng, aShape), vals(rng, bShape, -1.5, 1.5)] }],
  fn: ([A, B]) => antler.linalg.solveTriangular(A, B, o),
});

export const LINALG_LU_OPS: OpInfo[] = [
  {
    ...trsm('upper, left', [3, 3], [3, 2], { upper: true }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.linalg.solveTriangular(z([2, 2]), z([2, 1]), {} as antler.linalg.SolveTriangularOptions)],
      ['INVALID_ARGUMENT', () => antler.linalg.solveTriangular(z([2, 2]), z([2, 1]), { upper: true, side: 'left' } as antler.linalg.SolveTriangularOptions)],
      ['SHAPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 3]), z([2, 1]), { upper: true })],
      ['SHAPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2]), z([3, 1]), { upper: true })],
      ['SHAPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2]), z([2]), { upper: true })],
      ['SHAPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2]), z([2, 3]), { upper: true, left: false })],
      ['SHAPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2, 2]), z([3, 2, 1]), { upper: true })],
      ['DTYPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2], 'int32'), z([2, 1]), { upper: true })],
      ['DTYPE_MISMATCH', () => antler.linalg.solveTriangular(z([2, 2]), z([2, 1], 'int32'), { upper: true })],
    ],
  },
  trsm('lower, left, broadcast batch', [2, 3, 3], [3, 2], { upper: false }),
  trsm('upper, right, broadcast batch', [3, 3], [2, 1, 2, 3], { upper: true, left: false }),
  trsm('lower, right', [2, 4, 4], [2, 3, 4], { upper: false, left: false }),
  trsm('upper, unitriangular', [4, 4], [4, 3], { upper: true, unitriangular: true }),
  trsm('lower, right, unitriangular', [3, 3], [2, 3], { upper: false, left: false, unitriangular: true }),
  {
    name: 'linalg.luFactor',
    samples: (rng) => [{ inputs: [pivoted(rng, [3, 3])] }, { inputs: [pivoted(rng, [2, 4, 4])], note: 'batch' }],
    fn: ([A]) => antler.linalg.luFactor(A).LU,
    bad: [
      ['SHAPE_MISMATCH', () => antler.linalg.luFactor(z([3]))],
      ['DTYPE_MISMATCH', () => antler.linalg.luFactor(z([2, 2], 'int32'))],
      ['INVALID_ARGUMENT', () => antler.linalg.luFactor(antler.eye(2, 2, { dtype: 'float64' }), { pivot: false })],
      ['LINALG_ERROR', () => antler.linalg.luFactor(z([2, 2]))],
    ],
  },
  { name: 'linalg.luFactor(wide)', samples: (rng) => [{ inputs: [pivoted(rng, [2, 3, 5])] }], fn: ([A]) => antler.linalg.luFactor(A).LU },
  { name: 'linalg.luFactor(tall)', samples: (rng) => [{ inputs: [pivoted(rng, [2, 5, 3])] }], fn: ([A]) => antler.linalg.luFactor(A).LU },
  { name: 'linalg.lu(L, wide)', samples: (rng) => [{ inputs: [pivoted(rng, [3, 4])] }], fn: ([A]) => antler.linalg.lu(A).L },
  { name: 'linalg.lu(U, tall)', samples: (rng) => [{ inputs: [pivoted(rng, [4, 2])] }], fn: ([A]) => antler.linalg.lu(A).U },
  { name: 'linalg.luFactorEx', samples: (rng) => [{ inputs: [pivoted(rng, [2, 3, 3])] }], fn: ([A]) => antler.linalg.luFactorEx(A).LU },
  { name: 'linalg.lu(L)', samples: (rng) => [{ inputs: [pivoted(rng, [4, 4])] }], fn: ([A]) => antler.linalg.lu(A).L },
  { name: 'linalg.lu(U)', samples: (rng) => [{ inputs: [pivoted(rng, [2, 3, 3])] }], fn: ([A]) => antler.linalg.lu(A).U },
  {
    name: 'linalg.luSolve',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3]), vals(rng, [3, 2], -1, 1)] }, { inputs: [wellConditioned(rng, [2, 3, 3]), vals(rng, [3, 2], -1, 1)], note: 'broadcast' }],
    fn: ([A, B]) => {
      const { LU, pivots } = antler.linalg.luFactor(A);
      return antler.linalg.luSolve(LU, pivots, B);
    },
    bad: [
      ['DTYPE_MISMATCH', () => antler.linalg.luSolve(z([2, 2]), z([2]), z([2, 1]))],
      ['SHAPE_MISMATCH', () => antler.linalg.luSolve(z([2, 2]), z([3], 'int32'), z([2, 1]))],
      ['SHAPE_MISMATCH', () => antler.linalg.luSolve(z([2, 2]), z([2], 'int32'), z([3, 1]))],
    ],
  },
  {
    name: 'linalg.luSolve(adjoint)',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3]), vals(rng, [3, 2], -1, 1)] }],
    fn: ([A, B]) => {
      const { LU, pivots } = antler.linalg.luFactor(A);
      return antler.linalg.luSolve(LU, pivots, B, { adjoint: true });
    },
  },
  {
    name: 'linalg.luSolve(right)',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3]), vals(rng, [2, 3], -1, 1)] }],
    fn: ([A, B]) => {
      const { LU, pivots } = antler.linalg.luFactor(A);
      return antler.linalg.luSolve(LU, pivots, B, { left: false });
    },
  },
  {
    name: 'linalg.luSolve(right, adjoint)',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [2, 3, 3]), vals(rng, [2, 1, 3], -1, 1)] }],
    fn: ([A, B]) => {
      const { LU, pivots } = antler.linalg.luFactor(A);
      return antler.linalg.luSolve(LU, pivots, B, { left: false, adjoint: true });
    },
  },
  {
    name: 'linalg.solve',
    samples: (rng) => [
      { inputs: [wellConditioned(rng, [3, 3]), vals(rng, [3, 2], -1, 1)] },
      { inputs: [wellConditioned(rng, [2, 3, 3]), vals(rng, [3], -1, 1)], note: 'vector, broadcast' },
      { inputs: [wellConditioned(rng, [2, 3, 3]), vals(rng, [2, 3], -1, 1)], note: 'batch of vectors' },
    ],
    fn: ([A, B]) => antler.linalg.solve(A, B),
    bad: [
      ['LINALG_ERROR', () => antler.linalg.solve(z([2, 2]), z([2]))],
      ['SHAPE_MISMATCH', () => antler.linalg.solve(z([2, 3]), z([2]))],
      ['SHAPE_MISMATCH', () => antler.linalg.solve(antler.eye(2, 2, { dtype: 'float64' }), z([3]))],
      ['DTYPE_MISMATCH', () => antler.linalg.solve(z([2, 2], 'int32'), z([2]))],
    ],
  },
  { name: 'linalg.solve(right)', samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3]), vals(rng, [2, 3], -1, 1)] }], fn: ([A, B]) => antler.linalg.solve(A, B, { left: false }) },
  { name: 'linalg.solveEx', samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3]), vals(rng, [3, 2], -1, 1)] }], fn: ([A, B]) => antler.linalg.solveEx(A, B).result },
  {
    name: 'linalg.inv',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3])] }, { inputs: [wellConditioned(rng, [2, 4, 4])], note: 'batch' }],
    fn: ([A]) => antler.linalg.inv(A),
    bad: [['LINALG_ERROR', () => antler.linalg.inv(z([2, 2]))], ['SHAPE_MISMATCH', () => antler.linalg.inv(z([2, 3]))]],
  },
  { name: 'linalg.invEx', samples: (rng) => [{ inputs: [wellConditioned(rng, [3, 3])] }], fn: ([A]) => antler.linalg.invEx(A).inverse },
  {
    name: 'linalg.det',
    samples: (rng) => [{ inputs: [awayFromSingular(rng, [3, 3])] }, { inputs: [awayFromSingular(rng, [2, 4, 4])], note: 'batch' }, { inputs: [vals(rng, [1, 1], -1, 1)], note: '1×1' }],
    fn: ([A]) => antler.linalg.det(A),
    bad: [['SHAPE_MISMATCH', () => antler.linalg.det(z([2, 3]))], ['DTYPE_MISMATCH', () => antler.linalg.det(z([2, 2], 'int32'))]],
  },
  { name: 'linalg.slogdet', samples: (rng) => [{ inputs: [awayFromSingular(rng, [2, 3, 3], true)] }], fn: ([A]) => antler.linalg.slogdet(A).logabsdet },
  { name: 'linalg.logdet', samples: (rng) => [{ inputs: [dominant(rng, [2, 3, 3])] }], fn: ([A]) => antler.linalg.logdet(A) },
  {
    name: 'linalg.cholesky',
    samples: (rng) => [{ inputs: [vals(rng, [3, 3], -1, 1)] }, { inputs: [vals(rng, [2, 4, 4], -1, 1)], note: 'batch' }],
    fn: ([M]) => antler.linalg.cholesky(spdOf(M)),
    bad: [
      ['LINALG_ERROR', () => antler.linalg.cholesky(antler.neg(antler.eye(2, 2, { dtype: 'float64' })))],
      ['SHAPE_MISMATCH', () => antler.linalg.cholesky(z([2, 3]))],
      ['DTYPE_MISMATCH', () => antler.linalg.cholesky(z([2, 2], 'int32'))],
      ['INVALID_ARGUMENT', () => antler.linalg.cholesky(antler.eye(2, 2, { dtype: 'float64' }), { lower: true } as antler.linalg.CholeskyOptions)],
    ],
  },
  { name: 'linalg.cholesky(upper)', samples: (rng) => [{ inputs: [vals(rng, [3, 3], -1, 1)] }], fn: ([M]) => antler.linalg.cholesky(spdOf(M), { upper: true }) },
  { name: 'linalg.choleskyEx', samples: (rng) => [{ inputs: [vals(rng, [2, 3, 3], -1, 1)] }], fn: ([M]) => antler.linalg.choleskyEx(spdOf(M)).L },
  {
    name: 'linalg.matrixPower',
    samples: (rng) => [{ inputs: [powerAwayFromCancelling(rng)] }],
    fn: ([A]) => antler.linalg.matrixPower(A, 5),
    bad: [['INVALID_ARGUMENT', () => antler.linalg.matrixPower(z([2, 2]), 1.5)], ['SHAPE_MISMATCH', () => antler.linalg.matrixPower(z([2, 3]), 2)]],
  },
  { name: 'linalg.matrixPower(negative)', samples: (rng) => [{ inputs: [wellConditioned(rng, [2, 3, 3])] }], fn: ([A]) => antler.linalg.matrixPower(A, -3) },
  { name: 'linalg.matrixPower(0, 1)', samples: (rng) => [{ inputs: [vals(rng, [3, 3], -1, 1)] }], fn: ([A]) => antler.add(antler.linalg.matrixPower(A, 0), antler.linalg.matrixPower(A, 1)) },
  {
    name: 'linalg.tensorinv',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [6, 6])] }],
    fn: ([A]) => antler.linalg.tensorinv(antler.reshape(A, [6, 2, 3]), 1),
    bad: [['SHAPE_MISMATCH', () => antler.linalg.tensorinv(z([2, 3, 4]), 1)]],
  },
  {
    name: 'linalg.tensorsolve',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [6, 6]), vals(rng, [2, 3], -1, 1)] }],
    fn: ([A, B]) => antler.linalg.tensorsolve(antler.reshape(A, [2, 3, 6]), B),
    bad: [['SHAPE_MISMATCH', () => antler.linalg.tensorsolve(z([2, 3, 6]), z([3, 2]))]],
  },
  {
    name: 'linalg.tensorsolve(dims)',
    samples: (rng) => [{ inputs: [wellConditioned(rng, [6, 6]), vals(rng, [2, 3], -1, 1)] }],
    fn: ([A, B]) => antler.linalg.tensorsolve(antler.reshape(A, [6, 2, 3]), B, [0]),
  },
];
/** Functions of lib/ops/linalg-lu.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_LU_NOT_OPS: string[] = [];
