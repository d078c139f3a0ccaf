// Registry entries of lib/ops/grid.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { GridSampleOptions } from '../lib';
import type { Rng } from './helpers';
import { vals } from './opinfo';
import type { InputSpec, OpInfo } from './opinfo';

const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * A grid [N, ...outSizes, dims] for spatial sizes `sizes` whose pixel positions run from 2 pixels before
 * the image to 2 after it (grid values outside [−1, 1]), each 0.1 or more from an integer and a
 * half-integer: away from the kinks of floor, the clips, the reflections and nearest's rounding.
 */
function grid(rng: Rng, N: number, sizes: number[], outSizes: number[], align: boolean): InputSpec {
  const dims = sizes.length;
  const values: number[] = [];
  for (let p = 0; p < N * prod(outSizes); p++)
    for (let k = 0; k < dims; k++) {
      const size = sizes[dims - 1 - k];
      const u = rng.int(-2, size + 1) + rng.pick([0.1, 0.6]) + rng.uniform(0, 0.3);
      values.push(align ? (2 * u) / (size - 1) - 1 : (2 * u + 1) / size - 1);
    }
  return { shape: [N, ...outSizes, dims], values };
}

const gridSampleEntry = (o: Required<GridSampleOptions>, sizes: number[], outSizes: number[]): OpInfo => ({
  name: `gridSample(${o.mode}, ${o.paddingMode}, alignCorners ${o.alignCorners}, ${sizes.length + 2}-D)`,
  samples: (rng) => [{ inputs: [vals(rng, [2, 2, ...sizes]), grid(rng, 2, sizes, outSizes, o.alignCorners)] }],
  fn: ([x, g]) => antler.gridSample(x, g, o),
  bad: [
    ['SHAPE_MISMATCH', () => antler.gridSample(f64([1, 2, 3, 4], [1, 1, 2, 2]), f64([0, 0, 0, 0], [2, 1, 1, 2]), o)],
    ['INVALID_ARGUMENT', () => antler.gridSample(f64([1, 2, 3, 4], [1, 1, 2, 2]), f64([0, 0], [1, 1, 1, 2]), { ...o, mode: 'area' as 'nearest' })],
  ],
});

export const GRID_OPS: OpInfo[] = [
  gridSampleEntry({ mode: 'bilinear', paddingMode: 'zeros', alignCorners: false }, [3, 4], [2, 3]),
  gridSampleEntry({ mode: 'bilinear', paddingMode: 'border', alignCorners: true }, [3, 4], [2, 2]),
  gridSampleEntry({ mode: 'bilinear', paddingMode: 'reflection', alignCorners: false }, [4, 3], [3, 2]),
  gridSampleEntry({ mode: 'nearest', paddingMode: 'reflection', alignCorners: true }, [3, 4], [2, 3]),
  gridSampleEntry({ mode: 'bicubic', paddingMode: 'zeros', alignCorners: true }, [4, 4], [2, 2]),
  gridSampleEntry({ mode: 'bicubic', paddingMode: 'reflection', alignCorners: false }, [3, 5], [2, 2]),
  gridSampleEntry({ mode: 'bilinear', paddingMode: 'border', alignCorners: false }, [2, 3, 3], [2, 2, 1]),
  {
    name: 'affineGrid',
    samples: (rng) => [
      { inputs: [vals(rng, [2, 2, 3], -1.5, 1.5)], note: '[N, C, H, W]' },
      { inputs: [vals(rng, [1, 3, 4], -1.5, 1.5)], note: '[N, C, D, H, W], alignCorners' },
    ],
    fn: ([theta]) => (theta.shape[1] === 2 ? antler.affineGrid(theta, [2, 3, 3, 4]) : antler.affineGrid(theta, [1, 2, 2, 3, 2], { alignCorners: true })),
    bad: [
      ['SHAPE_MISMATCH', () => antler.affineGrid(f64([1, 0, 0, 0, 1, 0], [1, 2, 3]), [1, 1, 2, 2, 2])],
      ['INVALID_ARGUMENT', () => antler.affineGrid(f64([1, 0, 0, 0, 1, 0], [1, 2, 3]), [1, 1, 2])],
    ],
  },
  {
    name: 'localResponseNorm',
    samples: (rng) => [
      { inputs: [vals(rng, [2, 5, 3], -2, 2)], note: '3-D, size 3' },
      { inputs: [vals(rng, [1, 4, 2, 3], -2, 2)], note: '4-D, size 6 (wider than C)' },
    ],
    fn: ([x]) => (x.rank === 3 ? antler.localResponseNorm(x, 3, { alpha: 0.5, beta: 0.75, k: 1 }) : antler.localResponseNorm(x, 6, { alpha: 1.3, beta: 1.2, k: 0.7 })),
    bad: [
      ['SHAPE_MISMATCH', () => antler.localResponseNorm(f64([1, 2], [1, 2]), 2)],
      ['INVALID_ARGUMENT', () => antler.localResponseNorm(f64([1, 2], [1, 2, 1]), 0)],
    ],
  },
];

/** Exported functions of lib/ops/grid.ts that are not differentiable ops: none. */
export const GRID_NOT_OPS: string[] = [];
