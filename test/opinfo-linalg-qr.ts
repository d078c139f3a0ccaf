// Registry entries of lib/ops/linalg-qr.ts (appended to OPS in test/opinfo.ts), named `linalg.<function>`.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Rng } from './helpers';
import type { InputSpec, OpInfo } from './opinfo';

/**
 * A [..., m, n] = uniform(−1, 1) + 3·I (I the m×n identity): well conditioned, and every
 * Householder step's α stays near +3, far from the sign flip of β = −sign(α)·‖x‖ where Q and R
 * jump (so central differences see a smooth function).
 */
function dominant(rng: Rng, shape: number[]): InputSpec {
  const m = shape[shape.length - 2], n = shape[shape.length - 1];
  const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, e) => {
    const i = Math.floor(e / n) % m, j = e % n;
    return rng.uniform(-1, 1) + (i === j ? 3 : 0);
  });
  return { shape, values };
}

function plain(rng: Rng, shape: number[]): InputSpec {
  return { shape, values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)) };
}

const f64 = (values: number[], shape: number[], requiresGrad = false) => antler.tensor(values, shape, { dtype: 'float64', requiresGrad });
const both = ({ Q, R }: { Q: Tensor; R: Tensor }) => antler.concat([antler.reshape(Q, [-1]), antler.reshape(R, [-1])], 0);

export const LINALG_QR_OPS: OpInfo[] = [
  {
    // Q and R are unique given LAPACK's sign rule for full-rank inputs: registered directly.
    name: 'linalg.qr',
    samples: (rng) => [
      { inputs: [dominant(rng, [5, 3])], note: 'tall, reduced' },
      { inputs: [dominant(rng, [2, 3, 3])], note: 'square batch' },
      { inputs: [dominant(rng, [3, 5])], note: 'wide (m < n)' },
      { inputs: [dominant(rng, [2, 1, 4, 2])], note: 'batch of tall' },
    ],
    fn: ([A]) => both(antler.linalg.qr(A)),
    bad: [
      ['DTYPE_MISMATCH', () => antler.linalg.qr(antler.tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.linalg.qr(f64([1, 2, 3], [3]))],
      ['INVALID_ARGUMENT', () => antler.linalg.qr(f64([1, 2, 3, 4], [2, 2]), { mode: 'full' as 'reduced' })],
      ['INVALID_ARGUMENT', () => antler.linalg.qr('A' as unknown as Tensor)],
      // torch: "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
      ['NOT_SUPPORTED', () => antler.sum(antler.linalg.qr(f64([3, 1, 0, 3, 1, 1], [3, 2], true), { mode: 'complete' }).Q).backward()],
      // torch: "The derivative of linalg.qr depends on Q, which is not computed when mode='r'."
      ['NOT_SUPPORTED', () => antler.sum(antler.linalg.qr(f64([3, 1, 0, 3], [2, 2], true), { mode: 'r' }).R).backward()],
    ],
  },
  {
    name: 'linalg.qr(R of complete, m ≤ n)',
    samples: (rng) => [{ inputs: [dominant(rng, [2, 4])] }, { inputs: [dominant(rng, [3, 3, 3])] }],
    fn: ([A]) => both(antler.linalg.qr(A, { mode: 'complete' })),
  },
  {
    name: 'linalg.householderProduct',
    samples: (rng) => [
      { inputs: [plain(rng, [5, 3]), plain(rng, [3])], note: 'k = n' },
      { inputs: [plain(rng, [2, 4, 4]), plain(rng, [2, 2])], note: 'batch, k < n' },
    ],
    fn: ([A, tau]) => antler.linalg.householderProduct(A, tau),
    bad: [
      ['SHAPE_MISMATCH', () => antler.linalg.householderProduct(antler.zeros([3, 4], { dtype: 'float64' }), f64([1, 2], [2]))],
      ['DTYPE_MISMATCH', () => antler.linalg.householderProduct(antler.zeros([4, 3], { dtype: 'float64' }), antler.tensor([1, 2], [2], { dtype: 'float32' }))],
    ],
  },
  {
    name: 'linalg.lstsq',
    samples: (rng) => [
      { inputs: [dominant(rng, [5, 3]), plain(rng, [5, 2])], note: 'overdetermined' },
      { inputs: [dominant(rng, [2, 4]), plain(rng, [2, 3])], note: 'underdetermined: minimum norm' },
      { inputs: [dominant(rng, [2, 4, 3]), plain(rng, [2, 4])], note: 'batch of vector right-hand sides' },
      { inputs: [dominant(rng, [1, 3, 3]), plain(rng, [2, 3, 1])], note: 'square, A broadcast over the batch of B' },
    ],
    fn: ([A, B]) => antler.linalg.lstsq(A, B).solution,
    bad: [
      ['SHAPE_MISMATCH', () => antler.linalg.lstsq(f64([1, 2, 3, 4, 5, 6], [3, 2]), f64([1, 2], [2, 1]))],
      ['SHAPE_MISMATCH', () => antler.linalg.lstsq(antler.zeros([2, 3, 2], { dtype: 'float64' }), f64([1, 2, 3], [3]))],
      ['DTYPE_MISMATCH', () => antler.linalg.lstsq(f64([1, 0, 0, 1], [2, 2]), antler.tensor([1, 2], [2, 1], { dtype: 'float32' }))],
      ['NOT_SUPPORTED', () => antler.linalg.lstsq(f64([1, 0, 0, 1], [2, 2]), f64([1, 2], [2, 1]), { driver: 'gelsd' })],
      ['INVALID_ARGUMENT', () => antler.linalg.lstsq(f64([1, 0, 0, 1], [2, 2]), f64([1, 2], [2, 1]), { driver: 'qr' as 'gels' })],
      // A zero column: rank 1 < 2, and there is no column pivoting.
      ['LINALG_ERROR', () => antler.linalg.lstsq(f64([1, 0, 2, 0, 3, 0], [3, 2]), f64([1, 2, 3], [3, 1]))],
    ],
  },
];
/** Functions of lib/ops/linalg-qr.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_QR_NOT_OPS: string[] = [];
