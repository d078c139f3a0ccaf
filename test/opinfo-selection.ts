// Registry entries of lib/ops/selection.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Rng } from './helpers';
import { distinctValues as distinct, vals } from './opinfo';
import type { AuxSpec, InputSpec, OpInfo } from './opinfo';

const anyVals = (rng: Rng, s: number[]): InputSpec => vals(rng, s, -1.5, 1.5);
const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });
const i32 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'int32' });
const idx = (values: number[], shape = [values.length]): AuxSpec => ({ shape, values, dtype: 'int32' });
const ints = (rng: Rng, count: number, lo: number, hi: number): number[] => Array.from({ length: count }, () => rng.int(lo, hi));

/** k distinct draws from [0, n) (k ≤ n). */
function picks(rng: Rng, k: number, n: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k);
}

const scatterReduceEntry = (reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin', includeSelf: boolean): OpInfo => ({
  name: `scatterReduce(${reduce}, includeSelf ${includeSelf})`,
  samples: (rng) => {
    // Repeated positions (the point of a reduction); amax/amin get distinct values (no ties: a kink).
    const gen = reduce === 'amax' || reduce === 'amin' ? distinct : anyVals;
    const both = gen(rng, [3 * 4 + 2 * 5]);
    const x = { shape: [3, 4], values: both.values.slice(0, 12) }, src = { shape: [2, 5], values: both.values.slice(12) };
    if (reduce === 'prod') src.values[rng.int(0, 9)] = 0; // an exact zero factor
    const x1 = gen(rng, [5]);
    return [
      { inputs: [x, src], aux: [idx(ints(rng, 8, 0, 2), [2, 4])], note: 'axis 0, src larger than index' },
      { inputs: [x1, gen(rng, [6])], aux: [idx(ints(rng, 6, 0, 4))], note: '1-D, repeats' },
    ];
  },
  fn: ([x, src], [index]) => antler.scatterReduce(x, x.rank === 2 ? 0 : -1, index, src, reduce, { includeSelf }),
  bad: [
    ['INVALID_ARGUMENT', () => antler.scatterReduce(f64([1, 2], [2]), 0, i32([2], [1]), f64([1], [1]), reduce)],
    ['INVALID_ARGUMENT', () => antler.scatterReduce(f64([1, 2], [2]), 0, i32([0], [1]), f64([1], [1]), 'max' as 'amax')],
  ],
});

export const SELECTION_OPS: OpInfo[] = [
  {
    name: 'movedim',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])], note: '[0, 1] → [2, 0]' }, { inputs: [anyVals(rng, [3, 2])], note: 'one axis' }],
    fn: ([x]) => (x.rank === 3 ? antler.movedim(x, [0, 1], [2, 0]) : antler.movedim(x, -1, 0)),
    bad: [['INVALID_ARGUMENT', () => antler.movedim(f64([1, 2], [1, 2]), [0, 0], [0, 1])]],
  },
  {
    name: 'swapaxes',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }],
    fn: ([x]) => antler.swapaxes(x, 0, -1),
    bad: [['INVALID_ARGUMENT', () => antler.swapaxes(f64([1, 2], [2]), 0, 1)]],
  },
  {
    name: 'expand',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 1])] }],
    fn: ([x]) => antler.expand(x, 2, -1, 4),
    bad: [['SHAPE_MISMATCH', () => antler.expand(f64([1, 2], [2]), 3)], ['INVALID_ARGUMENT', () => antler.expand(f64([1, 2], [2]), -1, 2)]],
  },
  {
    name: 'repeat',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }],
    fn: ([x]) => antler.repeat(x, [2, 1, 3]),
    bad: [['INVALID_ARGUMENT', () => antler.repeat(f64([1, 2], [1, 2]), 2)]],
  },
  {
    name: 'repeatInterleave',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3])], aux: [idx([2, 0, 3])], note: 'counts along axis 1' },
      { inputs: [anyVals(rng, [4])], note: 'a number, flattened' },
    ],
    fn: ([x], [r]) => (r ? antler.repeatInterleave(x, r, { axis: 1 }) : antler.repeatInterleave(x, 3)),
    bad: [
      ['SHAPE_MISMATCH', () => antler.repeatInterleave(f64([1, 2], [2]), i32([1, 2, 3], [3]), { axis: 0 })],
      ['INVALID_ARGUMENT', () => antler.repeatInterleave(f64([1, 2], [2]), i32([1, -1], [2]), { axis: 0 })],
    ],
  },
  {
    name: 'rot90',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }],
    fn: ([x]) => antler.concat([antler.rot90(x, 1, [1, 2]).reshape([-1]), antler.rot90(x, -1, [2, 0]).reshape([-1]), antler.rot90(x, 2).reshape([-1])]),
    bad: [['INVALID_ARGUMENT', () => antler.rot90(f64([1, 2, 3, 4], [2, 2]), 1, [1, 1])]],
  },
  {
    name: 'tensorSplit',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 7])] }],
    fn: ([x]) => {
      // Sections, non-decreasing indices (consecutive pieces) and an index below an earlier one (slices).
      const parts = [...antler.tensorSplit(x, 3, 1), ...antler.tensorSplit(x, [1, 1, -3, 6], 1), ...antler.tensorSplit(x, [-2, 9, 1], -1)];
      return antler.concat(parts.map((p) => p.reshape([-1])));
    },
    bad: [['INVALID_ARGUMENT', () => antler.tensorSplit(f64([1], []), 2)]],
  },
  {
    name: 'tensorSplit(tensor indices, pieces gathered)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 7])] }],
    fn: ([x]) => {
      // Out of order with empty pieces (total 11 · ⌈log₂ 6⌉ < 7 · 6: gathered and halved), and a 0-d tensor of sections.
      const parts = [...antler.tensorSplit(x, i32([5, 1, 1, 1, 6], [5]), 1), ...antler.tensorSplit(x, antler.tensor(2, [], { dtype: 'int32' }), 0)];
      return antler.concat(parts.map((p) => p.reshape([-1])));
    },
    bad: [
      ['DTYPE_MISMATCH', () => antler.tensorSplit(f64([1, 2], [2]), f64([1], [1]))],
      ['SHAPE_MISMATCH', () => antler.tensorSplit(f64([1, 2], [2]), i32([1], [1, 1]))],
    ],
  },
  {
    name: 'narrowCopy',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])] }],
    fn: ([x]) => antler.narrowCopy(x, 1, -4, 3),
    bad: [
      ['INVALID_ARGUMENT', () => antler.narrowCopy(f64([1, 2, 3], [3]), 0, 1, 3)],
      ['INVALID_ARGUMENT', () => antler.narrowCopy(f64([1], []), 0, 0, 1)],
    ],
  },
  {
    name: 'vander',
    samples: (rng) => [
      { inputs: [anyVals(rng, [4])], note: 'N = x.size' },
      { inputs: [{ shape: [3], values: [0, rng.uniform(0.5, 1.5), -rng.uniform(0.5, 1.5)] }], note: 'x = 0: exact products' },
    ],
    fn: ([x]) => antler.concat([antler.vander(x).reshape([-1]), antler.vander(x, 5, true).reshape([-1])]),
    bad: [
      ['SHAPE_MISMATCH', () => antler.vander(f64([1, 2], [1, 2]))],
      ['INVALID_ARGUMENT', () => antler.vander(f64([1, 2], [2]), -1)],
    ],
  },
  {
    name: 'take',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])], aux: [idx([-1, 0, 5, 11, -12, 3], [2, 3])] }],
    fn: ([x], [i]) => antler.take(x, i),
    bad: [['INVALID_ARGUMENT', () => antler.take(f64([1, 2], [2]), i32([-3], [1]))], ['DTYPE_MISMATCH', () => antler.take(f64([1, 2], [2]), f64([0], [1]))]],
  },
  {
    name: 'takeAlongDim',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4])], aux: [idx(ints(rng, 6, 0, 3), [1, 6])], note: 'axis 1, broadcast rows' },
      { inputs: [anyVals(rng, [2, 3])], aux: [idx(ints(rng, 5, 0, 5))], note: 'flattened' },
    ],
    fn: ([x], [i]) => (i.rank === 2 ? antler.takeAlongDim(x, i, 1) : antler.takeAlongDim(x, i)),
    bad: [['INVALID_ARGUMENT', () => antler.takeAlongDim(f64([1, 2], [1, 2]), i32([2], [1, 1]), 1)]],
  },
  {
    name: 'indexAdd',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4]), anyVals(rng, [3, 5])], aux: [idx([1, 0, 1, 3, 1])], note: 'axis 1, repeats' }],
    fn: ([x, s], [i]) => antler.indexAdd(x, 1, i, s, { alpha: -1.5 }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.indexAdd(f64([1, 2], [2]), 0, i32([-1], [1]), f64([1], [1]))],
      ['SHAPE_MISMATCH', () => antler.indexAdd(f64([1, 2], [2]), 0, i32([0], [1]), f64([1, 1], [2]))],
    ],
  },
  {
    name: 'indexCopy',
    samples: (rng) => [{ inputs: [anyVals(rng, [5, 2]), anyVals(rng, [3, 2])], aux: [idx(picks(rng, 3, 5))] }],
    fn: ([x, s], [i]) => antler.indexCopy(x, 0, i, s),
    bad: [['INVALID_ARGUMENT', () => antler.indexCopy(f64([1, 2], [2]), 0, i32([1, 1], [2]), f64([1, 2], [2]))]],
  },
  {
    name: 'indexFill',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])], aux: [idx([-1, 0, 0])] }],
    fn: ([x], [i]) => antler.indexFill(x, 1, i, 2.5),
    bad: [['INVALID_ARGUMENT', () => antler.indexFill(f64([1, 2], [2]), 0, i32([2], [1]), 0)]],
  },
  scatterReduceEntry('sum', true),
  scatterReduceEntry('sum', false),
  scatterReduceEntry('mean', true),
  scatterReduceEntry('mean', false),
  scatterReduceEntry('prod', true),
  scatterReduceEntry('prod', false),
  scatterReduceEntry('amax', true),
  scatterReduceEntry('amax', false),
  scatterReduceEntry('amin', true),
  scatterReduceEntry('amin', false),
  {
    name: 'maskedSelect',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])], aux: [{ shape: [4, 1, 3], values: ints(rng, 12, 0, 1), dtype: 'float64' }], note: 'broadcast both' }],
    fn: ([x], [m]) => antler.maskedSelect(x, m),
    bad: [['SHAPE_MISMATCH', () => antler.maskedSelect(f64([1, 2], [2]), f64([1, 0, 1], [3]))]],
  },
  {
    name: 'maskedScatter',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3]), anyVals(rng, [7])], aux: [{ shape: [3], values: [1, 0, 1], dtype: 'float64' }] }],
    fn: ([x, s], [m]) => antler.maskedScatter(x, m, s),
    bad: [['SHAPE_MISMATCH', () => antler.maskedScatter(f64([1, 2], [2]), f64([1, 1], [2]), f64([1], [1]))]],
  },
];
/** Exported functions of lib/ops/selection.ts that are not differentiable ops of their own (tested in their own files). */
export const SELECTION_NOT_OPS: string[] = ['nonzero', 'argwhere', 'unique', 'uniqueConsecutive', 'searchsorted', 'bucketize'];

