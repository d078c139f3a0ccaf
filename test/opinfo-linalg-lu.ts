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
];
/** Functions of lib/ops/linalg-lu.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_LU_NOT_OPS: string[] = [];
