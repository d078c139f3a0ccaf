// Registry entries of lib/ops/statistics.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Rng } from './helpers';
import { distinctValues as distinct } from './opinfo';
import type { InputSpec, OpInfo } from './opinfo';

/** Distinct values (distinctValues) with the entries at `nans` set to NaN. */
function withNaNs(rng: Rng, shape: number[], nans: number[]): InputSpec {
  const spec = distinct(rng, shape);
  for (const i of nans) spec.values[i] = NaN;
  return spec;
}

const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });
const one = (shape: number[]) => (rng: Rng) => [{ inputs: [distinct(rng, shape)] }];

export const STATISTICS_OPS: OpInfo[] = [
  {
    name: 'amax',
    samples: (rng) => [{ inputs: [distinct(rng, [3, 4])] }, { inputs: [distinct(rng, [2, 3, 2])], note: 'axes [0, 2]' }],
    fn: ([x]) => (x.rank === 3 ? antler.amax(x, [0, 2]) : antler.amax(x)),
    bad: [['INVALID_ARGUMENT', () => antler.amax(antler.zeros([0, 2]))], ['INVALID_ARGUMENT', () => antler.amax(f64([1, 2], [2]), 1)]],
  },
  { name: 'amin(axis −1, keepDims)', samples: one([3, 4]), fn: ([x]) => antler.amin(x, -1, true), bad: [['INVALID_ARGUMENT', () => antler.amin(f64([1], [1]), 0, 1 as unknown as boolean)]] },
  {
    name: 'aminmax(axis 1)',
    samples: one([3, 4]),
    fn: ([x]) => { const r = antler.aminmax(x, 1); return antler.stack([r.min, r.max]); },
    bad: [['INVALID_ARGUMENT', () => antler.aminmax(f64([1, 2], [2]), [0] as unknown as number)]],
  },
  {
    name: 'nansum',
    samples: (rng) => [{ inputs: [withNaNs(rng, [3, 4], [1, 5, 6])], note: 'NaNs' }, { inputs: [distinct(rng, [2, 3])] }],
    fn: ([x]) => antler.nansum(x, 1),
    bad: [['INVALID_ARGUMENT', () => antler.nansum(f64([1], [1]), 2)]],
  },
  {
    name: 'nanmean',
    samples: (rng) => [{ inputs: [withNaNs(rng, [3, 4], [0, 2, 9])], note: 'NaNs' }, { inputs: [distinct(rng, [5])] }],
    fn: ([x]) => (x.rank === 2 ? antler.nanmean(x, 0, true) : antler.nanmean(x)),
    bad: [['DTYPE_MISMATCH', () => antler.nanmean(antler.tensor([1], [1], { dtype: 'int32' }))]],
  },
  {
    name: 'logcumsumexp',
    samples: (rng) => [
      { inputs: [distinct(rng, [3, 5])] },
      { inputs: [{ shape: [6], values: Array.from({ length: 6 }, () => rng.uniform(-30, 30)) }], note: 'wide range' },
      { inputs: [distinct(rng, [4, 3])], note: 'axis 0 (the native backward\'s blocked lines, inner 3)' },
    ],
    fn: ([x]) => antler.logcumsumexp(x, x.rank === 2 && x.shape[1] === 3 ? 0 : -1),
    bad: [['DTYPE_MISMATCH', () => antler.logcumsumexp(antler.tensor([1], [1], { dtype: 'int32' }), 0)], ['INVALID_ARGUMENT', () => antler.logcumsumexp(f64([1], [1]), 1)]],
  },
  { name: 'cummax(axis 0)', samples: one([7, 3]), fn: ([x]) => antler.cummax(x, 0).values, bad: [['INVALID_ARGUMENT', () => antler.cummax(f64([1], [1]), 0.5)]] },
  { name: 'cummin(axis −1)', samples: one([3, 6]), fn: ([x]) => antler.cummin(x, -1).values },
  {
    name: 'diff',
    samples: (rng) => [{ inputs: [distinct(rng, [3, 5])] }, { inputs: [distinct(rng, [4, 2]), distinct(rng, [1, 2]), distinct(rng, [2, 2])], note: 'n 2, axis 0, prepend, append' }],
    fn: ([x, p, a]) => (p ? antler.diff(x, { n: 2, axis: 0, prepend: p, append: a }) : antler.diff(x)),
    bad: [
      ['SHAPE_MISMATCH', () => antler.diff(f64([1, 2], [2]), { prepend: f64([1], []) })],
      ['INVALID_ARGUMENT', () => antler.diff(f64([1, 2], [2]), { n: -1 })],
    ],
  },
  {
    name: 'median',
    samples: (rng) => [{ inputs: [distinct(rng, [3, 4])], note: 'all elements' }, { inputs: [distinct(rng, [5])], note: 'odd' }],
    fn: ([x]) => antler.median(x),
  },
  {
    name: 'median(axis 1, keepDims)',
    samples: one([3, 4]),
    fn: ([x]) => antler.median(x, 1, true).values,
    bad: [['INVALID_ARGUMENT', () => antler.median(antler.zeros([2, 0]), 1)]],
  },
  {
    name: 'nanmedian(axis 0)',
    samples: (rng) => [{ inputs: [withNaNs(rng, [4, 3], [0, 4, 7])], note: 'NaNs' }],
    fn: ([x]) => antler.nanmedian(x, 0).values,
  },
  {
    name: 'kthvalue(k 2, axis 0)',
    samples: one([4, 3]),
    fn: ([x]) => antler.kthvalue(x, 2, 0).values,
    bad: [['INVALID_ARGUMENT', () => antler.kthvalue(f64([1, 2], [2]), 3)]],
  },
  { name: 'mode', samples: one([3, 4]), fn: ([x]) => antler.mode(x).values, bad: [['INVALID_ARGUMENT', () => antler.mode(antler.zeros([2, 0]))]] },
  {
    name: 'quantile',
    samples: (rng) => [{ inputs: [distinct(rng, [3, 6])], note: 'q 0.3, axis 1' }, { inputs: [distinct(rng, [7])], note: 'q [0.1, 0.55, 0.9]' }],
    fn: ([x]) => (x.rank === 2 ? antler.quantile(x, 0.3, { axis: 1 }) : antler.quantile(x, f64([0.1, 0.55, 0.9], [3]))),
    bad: [
      ['INVALID_ARGUMENT', () => antler.quantile(f64([1, 2], [2]), 1.5)],
      ['INVALID_ARGUMENT', () => antler.quantile(f64([1, 2], [2]), 0.5, { interpolation: 'cubic' as 'linear' })],
      ['DTYPE_MISMATCH', () => antler.quantile(antler.tensor([1, 2], [2], { dtype: 'int32' }), 0.5)],
      ['INVALID_ARGUMENT', () => antler.quantile(antler.zeros([0]), 0.5)],
    ],
  },
  {
    name: 'quantile(midpoint, keepDims)',
    samples: one([4, 5]),
    fn: ([x]) => antler.quantile(x, f64([0.2, 0.7], [2]), { axis: 0, keepDims: true, interpolation: 'midpoint' }),
  },
  { name: 'quantile(nearest)', samples: one([4, 5]), fn: ([x]) => antler.quantile(x, 0.3, { axis: -1, interpolation: 'nearest' }) },
  {
    name: 'nanquantile',
    samples: (rng) => [{ inputs: [withNaNs(rng, [3, 5], [0, 1, 7])], note: 'NaNs' }],
    fn: ([x]) => antler.nanquantile(x, f64([0.25, 0.6], [2]), { axis: 1 }),
  },
  {
    name: 'varMean',
    samples: (rng) => [{ inputs: [distinct(rng, [3, 4])] }],
    fn: ([x]) => antler.stack(antler.varMean(x, 1, false, { correction: 0 })),
    bad: [['DTYPE_MISMATCH', () => antler.varMean(antler.tensor([1, 2], [2], { dtype: 'int32' }))]],
  },
  { name: 'stdMean', samples: (rng) => [{ inputs: [distinct(rng, [4, 3])] }], fn: ([x]) => antler.concat(antler.stdMean(x, 0, true), 0) },
  {
    name: 'cov',
    samples: (rng) => [
      { inputs: [distinct(rng, [3, 5])] },
      { inputs: [distinct(rng, [6])], note: '1-D' },
      {
        inputs: [distinct(rng, [2, 4]), { shape: [4], values: Array.from({ length: 4 }, () => rng.uniform(0.2, 2)) }],
        aux: [{ shape: [4], values: [1, 3, 2, 1], dtype: 'int32' }],
        note: 'aweights, fweights',
      },
    ],
    fn: ([x, aw], [fw]) => (aw ? antler.cov(x, { aweights: aw, fweights: fw, correction: 1 }) : antler.cov(x)),
    bad: [
      ['SHAPE_MISMATCH', () => antler.cov(f64([1, 2, 3, 4], [2, 2]), { aweights: f64([1, 2, 3], [3]) })],
      ['DTYPE_MISMATCH', () => antler.cov(f64([1, 2, 3, 4], [2, 2]), { fweights: f64([1, 2], [2]) })],
      ['INVALID_ARGUMENT', () => antler.cov(f64([1, 2, 3, 4], [2, 2]), { aweights: f64([1, -2], [2]) })],
      ['INVALID_ARGUMENT', () => antler.cov(antler.zeros([1, 2, 3]))],
    ],
  },
  { name: 'corrcoef', samples: (rng) => [{ inputs: [distinct(rng, [3, 6])] }], fn: ([x]) => antler.corrcoef(x), bad: [['DTYPE_MISMATCH', () => antler.corrcoef(antler.tensor([1, 2], [2], { dtype: 'int32' }))]] },
];

/** Exported functions of lib/ops/statistics.ts that are not differentiable ops of their own (tested in their own files). */
export const STATISTICS_NOT_OPS: string[] = ['countNonzero', 'histc', 'bincount'];
