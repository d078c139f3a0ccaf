// Registry entries of lib/ops/construct.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Rng } from './helpers';
import { vals } from './opinfo';
import type { OpInfo, Sample } from './opinfo';
import type { Tensor } from '../lib';

/** Pieces joined back along axis, each scaled by its position + 1 (so a piece in the wrong place shows in the gradient). */
const rejoin = (ps: Tensor[], axis: number) => antler.tidy(() => antler.concat(ps.map((p, i) => antler.mul(p, i + 1)), axis));

const v = (rng: Rng, shape: number[]) => vals(rng, shape, -1.5, 1.5);
const of = (rng: Rng, ...shapes: number[][]): Sample => ({ inputs: shapes.map((s) => v(rng, s)) });
const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });

export const CONSTRUCT_OPS: OpInfo[] = [
  {
    name: 'blockDiag',
    samples: (rng) => [of(rng, [2, 3], [], [4]), of(rng, [1, 2], [3, 1]), { ...of(rng, [2], [0, 2], [2, 2]), note: 'an empty block' }],
    fn: (xs) => antler.blockDiag(...xs),
    bad: [
      ['SHAPE_MISMATCH', () => antler.blockDiag(f64([1, 2], [2]), antler.zeros([1, 1, 1]))],
      ['INVALID_ARGUMENT', () => antler.blockDiag(f64([1], [1]), [1] as never)],
    ],
  },
  {
    name: 'cartesianProd',
    samples: (rng) => [of(rng, [3], [2]), of(rng, [2], [1], [3]), { ...of(rng, [4]), note: 'one factor: a copy' }],
    fn: (xs) => antler.cartesianProd(...xs),
    bad: [
      ['SHAPE_MISMATCH', () => antler.cartesianProd(f64([1, 2], [2]), f64([1], []))],
      ['DTYPE_MISMATCH', () => antler.cartesianProd(f64([1, 2], [2]), antler.zeros([2]))],
      ['INVALID_ARGUMENT', () => antler.cartesianProd()],
    ],
  },
  {
    name: 'combinations',
    samples: (rng) => [of(rng, [4]), of(rng, [1])],
    fn: ([x]) => antler.combinations(x),
    bad: [
      ['SHAPE_MISMATCH', () => antler.combinations(antler.zeros([2, 2]))],
      ['INVALID_ARGUMENT', () => antler.combinations(f64([1, 2], [2]), -1)],
    ],
  },
  {
    name: 'combinations(r 3, withReplacement)',
    samples: (rng) => [of(rng, [3]), of(rng, [0])],
    fn: ([x]) => antler.combinations(x, 3, { withReplacement: true }),
  },
  ...(['atleast1d', 'atleast2d', 'atleast3d'] as const).map((name): OpInfo => ({
    name,
    samples: (rng) => [of(rng, []), of(rng, [3]), of(rng, [2, 3])],
    fn: ([x]) => antler[name](x),
    bad: [['INVALID_ARGUMENT', () => antler[name](f64([1], [1]), 2 as never)]],
  })),
  {
    name: 'hstack',
    samples: (rng) => [of(rng, [2], [], [3]), of(rng, [2, 1], [2, 3])],
    fn: (xs) => antler.hstack(xs),
    bad: [['INVALID_ARGUMENT', () => antler.hstack([])], ['SHAPE_MISMATCH', () => antler.hstack([antler.zeros([2, 2]), antler.zeros([3, 2])])]],
  },
  {
    name: 'vstack',
    samples: (rng) => [of(rng, [3], [3]), of(rng, [1, 2], [2], [3, 2])],
    fn: (xs) => antler.vstack(xs),
    bad: [['INVALID_ARGUMENT', () => antler.vstack([])], ['SHAPE_MISMATCH', () => antler.vstack([f64([1, 2], [2]), f64([1], [1])])]],
  },
  {
    name: 'rowStack',
    samples: (rng) => [of(rng, [], []), of(rng, [2, 2], [2])],
    fn: (xs) => antler.rowStack(xs),
    bad: [['INVALID_ARGUMENT', () => antler.rowStack([])]],
  },
  {
    name: 'dstack',
    samples: (rng) => [of(rng, [3], [3]), of(rng, [2, 2], [2, 2, 2])],
    fn: (xs) => antler.dstack(xs),
    bad: [['INVALID_ARGUMENT', () => antler.dstack([])], ['SHAPE_MISMATCH', () => antler.dstack([antler.zeros([2, 2]), antler.zeros([2, 3])])]],
  },
  {
    name: 'columnStack',
    samples: (rng) => [of(rng, [3], [3, 2], [3]), of(rng, [], [1, 2])],
    fn: (xs) => antler.columnStack(xs),
    bad: [['INVALID_ARGUMENT', () => antler.columnStack([])], ['SHAPE_MISMATCH', () => antler.columnStack([f64([1, 2], [2]), f64([1], [1])])]],
  },
  {
    name: 'flipud',
    samples: (rng) => [of(rng, [4]), of(rng, [3, 2])],
    fn: ([x]) => antler.flipud(x),
    bad: [['SHAPE_MISMATCH', () => antler.flipud(f64([1], []))]],
  },
  {
    name: 'fliplr',
    samples: (rng) => [of(rng, [2, 3]), of(rng, [2, 3, 2])],
    fn: ([x]) => antler.fliplr(x),
    bad: [['SHAPE_MISMATCH', () => antler.fliplr(f64([1, 2], [2]))]],
  },
  {
    name: 'diagflat',
    samples: (rng) => [of(rng, [2, 2]), of(rng, [])],
    fn: ([x]) => antler.diagflat(x),
    bad: [['INVALID_ARGUMENT', () => antler.diagflat(f64([1, 2], [2]), 0.5)]],
  },
  {
    name: 'diagflat(offset -2)',
    samples: (rng) => [of(rng, [3])],
    fn: ([x]) => antler.diagflat(x, -2),
  },
  {
    name: 'trapezoid',
    samples: (rng) => [of(rng, [3, 4]), of(rng, [5])],
    fn: ([y]) => antler.trapezoid(y, { dx: 0.5 }),
    bad: [['SHAPE_MISMATCH', () => antler.trapezoid(f64([1], []))], ['INVALID_ARGUMENT', () => antler.trapezoid(f64([1, 2], [2]), { axis: 1 })]],
  },
  {
    name: 'trapezoid(x, axis 0)',
    samples: (rng) => [of(rng, [3, 2], [3]), of(rng, [4, 2], [4, 1])],
    fn: ([y, x]) => antler.trapezoid(y, x, { axis: 0 }),
    bad: [['SHAPE_MISMATCH', () => antler.trapezoid(f64([1, 2], [2]), f64([1, 2, 3], [3]))]],
  },
  {
    name: 'trapezoid(x of fewer dims, axis 1)',
    samples: (rng) => [{ ...of(rng, [2, 3, 2], [3, 2]), note: "x padded to [1, 3, 2]: axis 1 is x's axis 0 (torch's)" }, of(rng, [2, 4, 3], [4, 1])],
    fn: ([y, x]) => antler.tidy(() => antler.add(antler.trapezoid(y, x, { axis: 1 }), antler.sum(antler.cumulativeTrapezoid(y, x, { axis: 1 }), 1))),
  },
  {
    name: 'cumulativeTrapezoid',
    samples: (rng) => [of(rng, [2, 4]), of(rng, [1])],
    fn: ([y]) => antler.cumulativeTrapezoid(y),
    bad: [['SHAPE_MISMATCH', () => antler.cumulativeTrapezoid(f64([1], []))]],
  },
  {
    name: 'cumulativeTrapezoid(x, axis -1)',
    samples: (rng) => [of(rng, [2, 4], [4]), of(rng, [2, 3], [2, 3])],
    fn: ([y, x]) => antler.cumulativeTrapezoid(y, x, { axis: -1 }),
    bad: [['INVALID_ARGUMENT', () => antler.cumulativeTrapezoid(f64([1, 2], [2]), f64([1, 2], [2]), { dx: 1 })]],
  },
  {
    name: 'hsplit',
    samples: (rng) => [of(rng, [2, 4]), of(rng, [6])],
    fn: ([x]) => rejoin(antler.hsplit(x, 2), x.rank === 1 ? 0 : 1),
    bad: [['INVALID_ARGUMENT', () => antler.hsplit(antler.zeros([2, 3]), 2)], ['SHAPE_MISMATCH', () => antler.hsplit(f64([1], []), 1)]],
  },
  {
    name: 'vsplit',
    samples: (rng) => [of(rng, [5, 2])],
    fn: ([x]) => rejoin(antler.vsplit(x, [1, 3]), 0),
    bad: [['SHAPE_MISMATCH', () => antler.vsplit(f64([1, 2], [2]), 2)]],
  },
  {
    name: 'dsplit',
    samples: (rng) => [of(rng, [2, 1, 4])],
    fn: ([x]) => rejoin(antler.dsplit(x, 2), 2),
    bad: [['SHAPE_MISMATCH', () => antler.dsplit(antler.zeros([2, 2]), 2)]],
  },
  {
    name: 'unbind',
    samples: (rng) => [of(rng, [2, 3])],
    fn: ([x]) => antler.tidy(() => antler.stack(antler.unbind(x, 1).map((p, i) => antler.mul(p, i + 1)), 0)),
    bad: [['INVALID_ARGUMENT', () => antler.unbind(f64([1], []))]],
  },
  {
    name: 'moveaxis',
    samples: (rng) => [of(rng, [2, 3, 4])],
    fn: ([x]) => antler.moveaxis(x, 0, -1),
    bad: [['INVALID_ARGUMENT', () => antler.moveaxis(antler.zeros([2, 2]), 0, 2)]],
  },
];
/** Exported functions of lib/ops/construct.ts that are not differentiable ops (tested in test/cpu/construct.test.ts). */
export const CONSTRUCT_NOT_OPS: string[] = ['triuIndices', 'trilIndices', 'logspace'];
