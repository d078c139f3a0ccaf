// Registry entries of lib/ops/products.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Rng } from './helpers';
import { vals } from './opinfo';
import type { OpInfo, Sample } from './opinfo';

const v = (rng: Rng, shape: number[]) => vals(rng, shape, -1.5, 1.5);
const t = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });
const z = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
const of = (rng: Rng, ...shapes: number[][]): Sample => ({ inputs: shapes.map((s) => v(rng, s)) });

/** One einsum entry: equation and operand shapes. */
const einsumEntry = (eq: string, ...shapes: number[][]): OpInfo => ({
  name: `einsum(${eq})`,
  samples: (rng) => [of(rng, ...shapes)],
  fn: (xs) => antler.einsum(eq, ...xs),
});

export const PRODUCTS_OPS: OpInfo[] = [
  {
    ...einsumEntry('ij,jk->ik', [3, 4], [4, 2]),
    bad: [
      ['SHAPE_MISMATCH', () => antler.einsum('ij,jk->ik', z([2, 3]), z([2, 3]))],
      ['INVALID_ARGUMENT', () => antler.einsum('ij,jk->il', z([2, 3]), z([3, 2]))],
      ['INVALID_ARGUMENT', () => antler.einsum('ij;jk', z([2, 3]), z([3, 2]))],
      ['SHAPE_MISMATCH', () => antler.einsum('ijk', z([2, 3]))],
      ['DTYPE_MISMATCH', () => antler.einsum('i,i', z([2]), antler.zeros([2]))],
    ],
  },
  einsumEntry('bij,bjk->bik', [2, 3, 4], [2, 4, 2]),
  einsumEntry('ii', [3, 3]),
  einsumEntry('ii->i', [3, 3]),
  einsumEntry('i,j->ij', [3], [4]),
  einsumEntry('...ij,...jk->...ik', [2, 1, 2, 3], [3, 3, 2]),
  einsumEntry('ij,jk,kl->il', [2, 3], [3, 2], [2, 4]),
  einsumEntry('bA,ba', [2, 3], [2, 4]),
  einsumEntry('ijk->j', [2, 3, 2]),
  einsumEntry('iij,jk,k->i', [2, 2, 3], [3, 1], [2]),
  {
    name: 'mm',
    samples: (rng) => [of(rng, [3, 4], [4, 2])],
    fn: ([a, b]) => antler.mm(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.mm(z([2, 3]), z([2, 3]))], ['SHAPE_MISMATCH', () => antler.mm(z([2, 2, 2]), z([2, 3]))]],
  },
  {
    name: 'bmm',
    samples: (rng) => [of(rng, [2, 3, 4], [2, 4, 2])],
    fn: ([a, b]) => antler.bmm(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.bmm(z([2, 3, 4]), z([1, 4, 2]))]],
  },
  {
    name: 'mv',
    samples: (rng) => [of(rng, [3, 4], [4])],
    fn: ([a, b]) => antler.mv(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.mv(z([2, 3]), z([2]))]],
  },
  {
    name: 'addmm',
    samples: (rng) => [of(rng, [3], [2, 4], [4, 3]), of(rng, [2, 3], [2, 4], [4, 3])],
    fn: ([i, a, b]) => antler.addmm(i, a, b, { beta: 0.5, alpha: -2 }),
    bad: [['SHAPE_MISMATCH', () => antler.addmm(z([4]), z([2, 3]), z([3, 3]))], ['INVALID_ARGUMENT', () => antler.addmm(z([3]), z([2, 3]), z([3, 3]), { beta: 'x' as never })]],
  },
  {
    name: 'addmv',
    samples: (rng) => [of(rng, [3], [3, 4], [4])],
    fn: ([i, a, b]) => antler.addmv(i, a, b, { beta: 2, alpha: 0.5 }),
    bad: [['SHAPE_MISMATCH', () => antler.addmv(z([4]), z([3, 2]), z([2]))]],
  },
  {
    name: 'baddbmm',
    samples: (rng) => [of(rng, [1, 3], [2, 2, 4], [2, 4, 3])],
    fn: ([i, a, b]) => antler.baddbmm(i, a, b, { beta: -1, alpha: 1.5 }),
    bad: [['SHAPE_MISMATCH', () => antler.baddbmm(z([3]), z([2, 2, 4]), z([3, 4, 3]))]],
  },
  {
    name: 'addbmm',
    samples: (rng) => [of(rng, [2, 3], [3, 2, 4], [3, 4, 3])],
    fn: ([i, a, b]) => antler.addbmm(i, a, b, { beta: 0.5, alpha: 2 }),
    bad: [['SHAPE_MISMATCH', () => antler.addbmm(z([2, 3]), z([3, 2, 4]), z([3, 5, 3]))]],
  },
  {
    name: 'tensordot',
    samples: (rng) => [of(rng, [2, 3, 4], [4, 3, 2])],
    fn: ([a, b]) => antler.tensordot(a, b, [[1, 2], [1, 0]]),
    bad: [['SHAPE_MISMATCH', () => antler.tensordot(z([2, 3]), z([2, 3]), 1)], ['INVALID_ARGUMENT', () => antler.tensordot(z([2, 3]), z([3, 2]), 3)]],
  },
  { name: 'tensordot(dims 1, size-1 axis)', samples: (rng) => [of(rng, [2, 1], [3, 2])], fn: ([a, b]) => antler.tensordot(a, b, 1) },
  {
    name: 'kron',
    samples: (rng) => [of(rng, [2, 3], [3, 2]), of(rng, [2], [2, 2])],
    fn: ([a, b]) => antler.kron(a, b),
    bad: [['INVALID_ARGUMENT', () => antler.kron(z([1, 1, 1, 1, 1]), z([1]))]],
  },
  {
    name: 'diagonal',
    samples: (rng) => [of(rng, [3, 4, 2]), of(rng, [4, 3])],
    fn: ([x]) => (x.rank === 3 ? antler.diagonal(x, { offset: -1, axis1: 1, axis2: 0 }) : antler.diagonal(x, { offset: 1 })),
    bad: [['INVALID_ARGUMENT', () => antler.diagonal(z([2, 2]), { axis1: 0, axis2: 0 })], ['SHAPE_MISMATCH', () => antler.diagonal(z([2]))]],
  },
  {
    name: 'diagEmbed',
    samples: (rng) => [of(rng, [2, 3])],
    fn: ([x]) => antler.diagEmbed(x, { offset: 1, axis1: 0, axis2: 2 }),
    bad: [['INVALID_ARGUMENT', () => antler.diagEmbed(z([2]), { axis1: 5 })]],
  },
  {
    name: 'diag',
    samples: (rng) => [of(rng, [3]), of(rng, [3, 4])],
    fn: ([x]) => antler.diag(x, x.rank === 1 ? -1 : 1),
    bad: [['SHAPE_MISMATCH', () => antler.diag(z([2, 2, 2]))]],
  },
  {
    name: 'trace',
    samples: (rng) => [of(rng, [3, 3]), of(rng, [2, 4])],
    fn: ([x]) => antler.trace(x),
    bad: [['SHAPE_MISMATCH', () => antler.trace(z([3]))]],
  },
  {
    name: 'cross',
    samples: (rng) => [of(rng, [2, 3], [1, 3]), of(rng, [3, 2], [3, 2])],
    fn: ([a, b]) => antler.cross(a, b, a.shape[0] === 3 ? 0 : -1),
    bad: [['SHAPE_MISMATCH', () => antler.cross(z([2, 3]), z([3]))], ['SHAPE_MISMATCH', () => antler.cross(z([2, 2]), z([2, 2]))]],
  },
  ...[2, 1, 0.5, 3, Infinity].map((p): OpInfo => ({
    name: `cdist(p ${p})`,
    // x1 in [0.2, 1) and x2 in [−1, −0.2): every difference at least 0.4 (p < 1's |d|^(p−1) stays moderate for the differences).
    samples: (rng) => [[[3, 4], [2, 4]], [[2, 1, 2, 3], [3, 3]]].map(([s1, s2]) => ({ inputs: [vals(rng, s1, 0.2, 1), vals(rng, s2, -1, -0.2)] })),
    fn: ([a, b]) => antler.cdist(a, b, p),
    bad: [['SHAPE_MISMATCH', () => antler.cdist(z([2, 3]), z([2, 4]))], ['INVALID_ARGUMENT', () => antler.cdist(z([2, 3]), z([2, 3]), -2)]],
  })),
  {
    // p = 2 with more than 25 rows: PyTorch's matmul form (_euclidean_dist) and its backward.
    name: 'cdist(p 2, matmul form)',
    samples: (rng) => [[[27, 3], [4, 3]], [[2, 3, 2], [1, 30, 2]]].map(([s1, s2]) => ({ inputs: [vals(rng, s1, 0.2, 1), vals(rng, s2, -1, -0.2)] })),
    fn: ([a, b]) => antler.cdist(a, b),
    bad: [['INVALID_ARGUMENT', () => antler.cdist(z([30, 3]), z([2, 3]), 2, 'mm' as never)]],
  },
  {
    name: 'meshgrid(xy)',
    samples: (rng) => [of(rng, [3], [2], [])],
    fn: (xs) =>
      antler.tidy(() => {
        const grids = antler.meshgrid(...xs, { indexing: 'xy' });
        return antler.add(antler.mul(grids[0], grids[1]), antler.mul(grids[2], grids[0]));
      }),
    bad: [['SHAPE_MISMATCH', () => antler.meshgrid(t([1, 2, 3, 4], [2, 2]))]],
  },
];
/** Exported functions of lib/ops/products.ts that are not differentiable ops of their own (tested in their own files). */
export const PRODUCTS_NOT_OPS: string[] = [];
