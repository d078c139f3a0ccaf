// Registry entries of lib/ops/linalg-norms.ts (appended to OPS in test/opinfo.ts), named `linalg.<function>`.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Rng } from './helpers';
import { awayFromZero, vals } from './opinfo';
import type { InputSpec, OpInfo, Sample } from './opinfo';

const L = antler.linalg;
const z = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
const z32 = (shape: number[]) => antler.zeros(shape, { dtype: 'int32' });
const v = (rng: Rng, shape: number[]) => vals(rng, shape, -1.5, 1.5);
/**
 * vecdot's 'broadcast' sample, x [2, 3] · y [3], redrawn until neither row's 3 products cancel by 10× or more:
 * the float32 check divides by max |result|, and two near-0 dots took it to 0.68 of its bound in 20,000 opinfo
 * seeds (16377), as multiDot's scalar chain below went past it.
 */
function dotsAwayFromCancelling(rng: Rng): InputSpec[] {
  for (;;) {
    const xs = [v(rng, [2, 3]), v(rng, [3])];
    const [x, y] = xs.map((s) => s.values);
    let ok = true;
    for (let r = 0; r < 2; r++) {
      let d = 0, total = 0;
      for (let i = 0; i < 3; i++) (d += x[r * 3 + i] * y[i]), (total += Math.abs(x[r * 3 + i] * y[i]));
      if (Math.abs(d) < 0.1 * total) ok = false;
    }
    if (ok) return xs;
  }
}
/**
 * multiDot's 'three matrices' sample, A [2, 6] · b [6, 1] · c [1, 3] (the outer product of A·b and c), redrawn
 * until neither entry of A·b cancels its 6 terms by 10× or more: two near-0 entries took the float32 check to
 * 0.55 of its bound in 20,000 opinfo seeds (19163).
 */
function columnAwayFromCancelling(rng: Rng): InputSpec[] {
  for (;;) {
    const xs = [v(rng, [2, 6]), v(rng, [6, 1]), v(rng, [1, 3])];
    const [A, b] = xs.map((s) => s.values);
    let ok = true;
    for (let r = 0; r < 2; r++) {
      let d = 0, total = 0;
      for (let j = 0; j < 6; j++) (d += A[r * 6 + j] * b[j]), (total += Math.abs(A[r * 6 + j] * b[j]));
      if (Math.abs(d) < 0.1 * total) ok = false;
    }
    if (ok) return xs;
  }
}
/** multiDot's 'two' sample, x [3] · A [3, 2], redrawn as columnAwayFromCancelling (0.29 of the bound in 20,000 seeds, 21046). */
function rowAwayFromCancelling(rng: Rng): InputSpec[] {
  for (;;) {
    const xs = [v(rng, [3]), v(rng, [3, 2])];
    const [x, A] = xs.map((s) => s.values);
    let ok = true;
    for (let c = 0; c < 2; c++) {
      let d = 0, total = 0;
      for (let i = 0; i < 3; i++) (d += x[i] * A[i * 2 + c]), (total += Math.abs(x[i] * A[i * 2 + c]));
      if (Math.abs(d) < 0.1 * total) ok = false;
    }
    if (ok) return xs;
  }
}
/**
 * multiDot's 'vectors at both ends' sample, x·A·B·y with x [4], A [4, 3], B [3, 2], y [2] from v, redrawn until
 * the 24 terms x_i A_ij B_jk y_k cancel by less than 10× (|Σ| ≥ 0.1·Σ|·|): a scalar that cancels toward 0 has a
 * float32 error relative to itself of ~eps·Σ|·|/|Σ| (torch 1.13's the same: 3.4e-5 at 0.0021, opinfo seed 660),
 * past the registry's 1e-5 in 8 of 3,000 opinfo seeds (2.7e-3 a run). With at most 10× cancellation it is a
 * few eps·10 ≈ 1e-6.
 */
function awayFromCancelling(rng: Rng): InputSpec[] {
  for (;;) {
    const xs = [v(rng, [4]), v(rng, [4, 3]), v(rng, [3, 2]), v(rng, [2])];
    const [x, A, B, y] = xs.map((s) => s.values);
    let r = 0, total = 0;
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 2; k++) {
          const t = x[i] * A[i * 3 + j] * B[j * 2 + k] * y[k];
          r += t;
          total += Math.abs(t);
        }
    if (Math.abs(r) >= 0.1 * total) return xs;
  }
}
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** |x| distinct (0.1 apart at least) and away from 0, either sign: no ties for the ∞-norms' largest / smallest. */
function distinctMagnitudes(rng: Rng, shape: number[]): InputSpec {
  const mags = Array.from({ length: count(shape) }, (_, i) => 0.2 + 0.1 * i + rng.uniform(0, 0.02));
  for (let i = mags.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [mags[i], mags[j]] = [mags[j], mags[i]];
  }
  return { shape, values: mags.map((m) => (rng.next() < 0.5 ? -m : m)) };
}

/** A well-conditioned batch for the matrix exponential: entries in [−0.8, 0.8). */
const smallMatrices = (rng: Rng, shape: number[]): InputSpec => vals(rng, shape, -0.8, 0.8);

const vectorNormEntry = (note: string, options: antler.linalg.VectorNormOptions, shapes: number[][], domain: (rng: Rng, s: number[]) => InputSpec = v): OpInfo => ({
  name: `linalg.vectorNorm(${note})`,
  samples: (rng) => shapes.map((s): Sample => ({ inputs: [domain(rng, s)], note: `shape [${s.join(', ')}]` })),
  fn: ([x]) => L.vectorNorm(x, options),
});

const matrixNormEntry = (note: string, options: antler.linalg.MatrixNormOptions, shapes: number[][], domain: (rng: Rng, s: number[]) => InputSpec = awayFromZero): OpInfo => ({
  name: `linalg.matrixNorm(${note})`,
  samples: (rng) => shapes.map((s): Sample => ({ inputs: [domain(rng, s)], note: `shape [${s.join(', ')}]` })),
  fn: ([A]) => L.matrixNorm(A, options),
});

export const LINALG_NORMS_OPS: OpInfo[] = [
  {
    ...vectorNormEntry('ord 2', {}, [[2, 3], [5], []]),
    bad: [
      ['DTYPE_MISMATCH', () => L.vectorNorm(z32([3]))],
      ['DTYPE_MISMATCH', () => L.vectorNorm(z32([3]), { dtype: 'float64' })],
      ['DTYPE_MISMATCH', () => L.vectorNorm(z([3]), { dtype: 'float32' })],
      ['DTYPE_MISMATCH', () => L.vectorNorm(z([3]), { dtype: 'int32' as never })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([0]), { ord: Infinity })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([0, 3]), { ord: -1 })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([0, 3]), { ord: Infinity, axis: 0 })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([3]), { ord: NaN })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([3]), { ord: 'fro' as never })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([2, 3]), { axis: 2 })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([2, 3]), { axis: [1, -1] })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([2, 3]), { keepDims: 1 as never })],
      ['INVALID_ARGUMENT', () => L.vectorNorm(z([2, 3]), { dim: 1 } as never)],
      ['INVALID_ARGUMENT', () => L.vectorNorm('x' as never)],
    ],
  },
  vectorNormEntry('ord 2, axis [0, 2], keepDims', { axis: [0, 2], keepDims: true }, [[2, 3, 2]]),
  vectorNormEntry('ord 1, axis -1', { ord: 1, axis: -1 }, [[3, 4], [4]], awayFromZero),
  vectorNormEntry('ord 0', { ord: 0, axis: 1 }, [[2, 3]]),
  vectorNormEntry('ord 3, axis 0', { ord: 3, axis: 0 }, [[3, 2], [4]]),
  vectorNormEntry('ord 1.5', { ord: 1.5 }, [[2, 3]], awayFromZero),
  vectorNormEntry('ord 0.5, axis 1', { ord: 0.5, axis: 1 }, [[2, 3]], awayFromZero),
  vectorNormEntry('ord -1.5, axis 1', { ord: -1.5, axis: 1 }, [[2, 3], [4, 1]], awayFromZero),
  vectorNormEntry('ord -1, keepDims', { ord: -1, keepDims: true }, [[5], [2, 2]], awayFromZero),
  vectorNormEntry('ord Infinity, axis 1', { ord: Infinity, axis: 1 }, [[2, 4]], distinctMagnitudes),
  vectorNormEntry('ord -Infinity', { ord: -Infinity }, [[2, 3]], distinctMagnitudes),
  {
    // Computed in float64, brought back to x's dtype: the gradient passes both casts.
    name: 'linalg.vectorNorm(dtype float64)',
    samples: (rng) => [{ inputs: [v(rng, [2, 3])] }],
    fn: ([x]) => L.vectorNorm(x, { ord: 3, axis: 1, dtype: 'float64' }).cast(x.dtype),
  },
  {
    ...matrixNormEntry('fro', {}, [[3, 4], [2, 2, 3]], v),
    bad: [
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 3]), { ord: 3 })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 3]), { ord: 'abc' as never })],
      ['SHAPE_MISMATCH', () => L.matrixNorm(z([3]))],
      ['DTYPE_MISMATCH', () => L.matrixNorm(z32([3, 3]), { ord: 1 })],
      ['DTYPE_MISMATCH', () => L.matrixNorm(z([3, 3]), { dtype: 'float32' })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 3]), { axis: [0] })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 3]), { axis: [1, -1] })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 3]), { axis: [0, 2] })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([3, 0]), { ord: 1 })],
      ['INVALID_ARGUMENT', () => L.matrixNorm(z([0, 3]), { ord: -Infinity })],
    ],
  },
  matrixNormEntry('1', { ord: 1 }, [[3, 4], [2, 3, 3]]),
  matrixNormEntry('-1, keepDims', { ord: -1, keepDims: true }, [[4, 3]]),
  matrixNormEntry('Infinity, axis [0, 2]', { ord: Infinity, axis: [0, 2] }, [[3, 2, 4]]),
  matrixNormEntry('-Infinity, axis [2, 0]', { ord: -Infinity, axis: [2, 0] }, [[3, 2, 4]]),
  {
    name: 'linalg.norm',
    samples: (rng) => [{ inputs: [v(rng, [2, 3, 2])], note: 'no ord, no axis: all elements' }, { inputs: [v(rng, [4])] }],
    fn: ([A]) => L.norm(A),
    bad: [
      ['SHAPE_MISMATCH', () => L.norm(z([2, 3, 4]), { ord: 2 })],
      ['SHAPE_MISMATCH', () => L.norm(z([]), { ord: 2 })],
      ['INVALID_ARGUMENT', () => L.norm(z([2, 3, 4]), { axis: [] })],
      ['INVALID_ARGUMENT', () => L.norm(z([2, 3, 4]), { axis: [0, 1, 2] })],
      ['SHAPE_MISMATCH', () => L.norm(z([3]), { ord: 'fro' })],
      ['INVALID_ARGUMENT', () => L.norm(z([3, 3]), { ord: 3 })],
      ['INVALID_ARGUMENT', () => L.norm(z([3, 3]), { ord: 'fro', axis: 1 })],
      ['DTYPE_MISMATCH', () => L.norm(z32([3]))],
    ],
  },
  { name: 'linalg.norm(ord 1 of a matrix)', samples: (rng) => [{ inputs: [awayFromZero(rng, [3, 4])] }], fn: ([A]) => L.norm(A, { ord: 1 }) },
  { name: 'linalg.norm(ord 3, axis 1: vectors)', samples: (rng) => [{ inputs: [v(rng, [3, 4])] }], fn: ([A]) => L.norm(A, { ord: 3, axis: 1 }) },
  { name: "linalg.norm('fro', axis [0, 2])", samples: (rng) => [{ inputs: [v(rng, [2, 3, 2])] }], fn: ([A]) => L.norm(A, { ord: 'fro', axis: [0, 2], keepDims: true }) },
  { name: 'linalg.norm(ord Infinity, axis [-1, 0])', samples: (rng) => [{ inputs: [awayFromZero(rng, [3, 4])] }], fn: ([A]) => L.norm(A, { ord: Infinity, axis: [-1, 0] }) },
  {
    name: 'linalg.multiDot',
    samples: (rng) => [
      { inputs: [v(rng, [3, 4]), v(rng, [4, 2]), v(rng, [2, 5]), v(rng, [5, 3])], note: 'four matrices' },
      { inputs: awayFromCancelling(rng), note: 'vectors at both ends' },
      { inputs: columnAwayFromCancelling(rng), note: 'three matrices' },
      { inputs: rowAwayFromCancelling(rng), note: 'two' },
    ],
    fn: (xs) => L.multiDot(xs),
    bad: [
      ['INVALID_ARGUMENT', () => L.multiDot([z([3, 3])])],
      ['INVALID_ARGUMENT', () => L.multiDot(z([3, 3]) as never)],
      ['SHAPE_MISMATCH', () => L.multiDot([z([2, 3, 3]), z([3])])],
      ['SHAPE_MISMATCH', () => L.multiDot([z([3, 3]), z([3]), z([3])])],
      ['SHAPE_MISMATCH', () => L.multiDot([z([3, 3]), z([4, 3])])],
      ['DTYPE_MISMATCH', () => L.multiDot([z([3, 3]), antler.zeros([3, 3])])],
    ],
  },
  {
    name: 'linalg.vecdot',
    samples: (rng) => [
      { inputs: dotsAwayFromCancelling(rng), note: 'broadcast' },
      { inputs: [v(rng, [2, 1, 4]), v(rng, [3, 4])], note: 'broadcast both' },
      { inputs: [v(rng, []), v(rng, [])], note: '0-d' },
    ],
    fn: ([x, y]) => L.vecdot(x, y),
    bad: [
      ['DTYPE_MISMATCH', () => L.vecdot(z([3]), antler.zeros([3]))],
      ['DTYPE_MISMATCH', () => L.vecdot(z32([3]), z32([3]))],
      ['SHAPE_MISMATCH', () => L.vecdot(z([3]), z([2, 4]))],
      ['INVALID_ARGUMENT', () => L.vecdot(z([3]), z([3]), { axis: 1 })],
    ],
  },
  { name: 'linalg.vecdot(axis 0)', samples: (rng) => [{ inputs: [v(rng, [3, 2]), v(rng, [3, 1])] }], fn: ([x, y]) => L.vecdot(x, y, { axis: 0 }) },
  {
    name: 'linalg.matrixExp',
    samples: (rng) => [{ inputs: [smallMatrices(rng, [3, 3])] }, { inputs: [smallMatrices(rng, [2, 2, 2])], note: 'batch' }, { inputs: [smallMatrices(rng, [1, 1])] }],
    fn: ([A]) => L.matrixExp(A),
    bad: [
      ['DTYPE_MISMATCH', () => L.matrixExp(z32([2, 2]))],
      ['SHAPE_MISMATCH', () => L.matrixExp(z([2, 3]))],
      ['SHAPE_MISMATCH', () => L.matrixExp(z([3]))],
    ],
  },
  {
    name: 'linalg.vander',
    samples: (rng) => [{ inputs: [v(rng, [3])] }, { inputs: [v(rng, [2, 4])], note: 'batch' }],
    fn: ([x]) => L.vander(x),
    bad: [
      ['INVALID_ARGUMENT', () => L.vander(z([]))],
      ['INVALID_ARGUMENT', () => L.vander(z([2]), { N: 1 })],
      ['INVALID_ARGUMENT', () => L.vander(z([2]), { N: 2.5 })],
      ['INVALID_ARGUMENT', () => L.vander(z([0]))],
    ],
  },
  { name: 'linalg.vander(N 5, with 0)', samples: (rng) => [{ inputs: [{ shape: [3], values: [0, ...v(rng, [2]).values] }] }], fn: ([x]) => L.vander(x, { N: 5 }) },
  {
    name: 'linalg.cross',
    samples: (rng) => [{ inputs: [v(rng, [2, 3]), v(rng, [1, 3])] }],
    fn: ([a, b]) => L.cross(a, b),
    bad: [['SHAPE_MISMATCH', () => L.cross(z([3]), z([2, 3]))], ['INVALID_ARGUMENT', () => L.cross(z([3]), z([3]), { dim: 0 } as never)]],
  },
  { name: 'linalg.cross(axis 0)', samples: (rng) => [{ inputs: [v(rng, [3, 2]), v(rng, [3, 2])] }], fn: ([a, b]) => L.cross(a, b, { axis: 0 }) },
  {
    name: 'linalg.diagonal',
    samples: (rng) => [{ inputs: [v(rng, [2, 3, 4])] }],
    fn: ([A]) => L.diagonal(A),
    bad: [['SHAPE_MISMATCH', () => L.diagonal(z([3]))], ['INVALID_ARGUMENT', () => L.diagonal(z([3, 3]), { dim1: 0 } as never)]],
  },
  { name: 'linalg.diagonal(offset -1, axes 0 and 2)', samples: (rng) => [{ inputs: [v(rng, [3, 2, 4])] }], fn: ([A]) => L.diagonal(A, { offset: -1, axis1: 0, axis2: 2 }) },
];
/** Functions of lib/ops/linalg-norms.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_NORMS_NOT_OPS: string[] = [];
