// Registry entries (see test/opinfo.ts) of lib/ops/random-special.ts: its differentiable functions; the samplers are NOT_OPS with tests of their own.
import * as antler from '../lib';
import type { OpInfo } from './opinfo';
import { vals } from './opinfo';

const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });

export const RANDOM_SPECIAL_OPS: OpInfo[] = [
  ...(['gammainc', 'gammaincc'] as const).map((name): OpInfo => ({
    name,
    // x differentiable, a (aux, float64; cast to x's dtype) broadcast along x's last axis. No gradient w.r.t. a (as torch).
    samples: (rng) => [
      { inputs: [vals(rng, [2, 3], 0.2, 4)], aux: [{ ...vals(rng, [3], 0.5, 3), dtype: 'float64' }], note: 'a [3] broadcast' },
      { inputs: [vals(rng, [4], 2, 9)], aux: [{ ...vals(rng, [4], 0.3, 6), dtype: 'float64' }], note: 'continued-fraction side' },
    ],
    fn: ([x], [a]) => antler[name](a.cast(x.dtype), x),
    bad: [
      ['DTYPE_MISMATCH', () => antler[name](antler.tensor([1], [1], { dtype: 'int32' }), f64([1], [1]))],
      ['SHAPE_MISMATCH', () => antler[name](f64([1, 2], [2]), f64([1, 2, 3], [3]))],
      ['INVALID_ARGUMENT', () => antler[name](f64([1], [1]), [1] as unknown as antler.Tensor)],
    ],
  })),
  // (none: poisson and binomial are samplers without gradients, in RANDOM_SPECIAL_NOT_OPS)
];

/** Exported functions of lib/ops/random-special.ts that are not differentiable ops (tested in test/cpu/distributions-*.test.ts). */
export const RANDOM_SPECIAL_NOT_OPS: string[] = [
  'standardGamma', // a sampler: value, moment and gradient tests in test/cpu/distributions-gamma.test.ts
  'poisson', // a sampler (no gradient, as torch): chi-square, moment, edge and error tests in test/cpu/distributions-discrete.test.ts
  'binomial', // a sampler (no gradient, as torch): the same tests there
];
