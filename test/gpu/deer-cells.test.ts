// The DEER cell kernels on CUDA against the CPU: cellLinearize (f, J, bOff),
// cellSequential and cellBackward (the walk and the adjoint mode), every kind,
// float64 and float32, including more units than a block has threads (H = 300
// and 1540: by default the grid walks, native/cuda/cells.cu; the block walks at
// those sizes run in scripts/gpu-sanitize.js with ANTLER_CELL_WALK=block, which
// this sandbox's process.env cannot pass to the addon, and under the host
// emulation for every shape). Skips where no GPU is usable.
import * as antler from '../../lib';
import { DType, tensor, tidy } from '../../lib';
import { CellKind, cellNative } from '../../lib/deer/native-cells';
import { NativeHandle } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { expectClose, makeRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeRng();
const run = gpuDescribe('deer cell tests');

const KINDS: CellKind[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu'];
const gatesOf = (kind: CellKind, H: number): number => (kind === 'gru' ? 3 * H : kind === 'lstm' ? 4 * H : H);
const stateOf = (kind: CellKind, H: number): number => (kind === 'lstm' ? 2 * H : H);

interface Case { kind: CellKind; T: number; B: number; H: number }

// Every output of the three ops on one device, as float64 arrays in a fixed order.
function outputs(c: Case, dtype: DType, device: 'cpu' | 'cuda', v: Record<string, number[]>, jacobian: 'dense' | 'diagonal'): Float64Array[] {
  const nat = cellNative();
  const G = gatesOf(c.kind, c.H), n = stateOf(c.kind, c.H);
  return tidy(() => {
    const t = (values: number[], shape: number[]) => tensor(values, shape, { dtype, device }).handle;
    const xp = t(v.xp, [c.T, c.B, G]), Whh = t(v.Whh, [G, c.H]), bhh = t(v.bhh, [G]), y0 = t(v.y0, [c.B, n]);
    const y = t(v.y, [c.T, c.B, n]), g = t(v.g, [c.T, c.B, n]);
    const read = (h: NativeHandle | null) => Float64Array.from(wrap(h!).dataSync());
    return [
      ...nat.cellLinearize(c.kind, xp, Whh, bhh, y0, y, jacobian).map(read),
      read(nat.cellSequential(c.kind, xp, Whh, null, y0)),
      ...nat.cellBackward(c.kind, xp, Whh, bhh, y0, y, g, false).map(read),
      ...nat.cellBackward(c.kind, xp, Whh, null, y0, y, g, true).map(read),
    ];
  });
}

const NAMES = ['f', 'J', 'bOff', 'y', 'gxp (walk)', 'ghh (walk)', 'gy0 (walk)', 'gxp (adjoint)', 'ghh (adjoint)', 'gy0 (adjoint)'];

function compare(c: Case, dtype: DType): void {
  const G = gatesOf(c.kind, c.H), n = stateOf(c.kind, c.H);
  const s = 1 / Math.sqrt(c.H);
  const v = {
    xp: randomArray(rng, c.T * c.B * G), Whh: randomArray(rng, G * c.H, -s, s), bhh: randomArray(rng, G, -0.5, 0.5),
    y0: randomArray(rng, c.B * n), y: randomArray(rng, c.T * c.B * n), g: randomArray(rng, c.T * c.B * n),
  };
  const jacobian = c.T * c.B * n * n <= 2e6 ? 'dense' : 'diagonal';
  const gpu = outputs(c, dtype, 'cuda', v, jacobian), cpu = outputs(c, dtype, 'cpu', v, jacobian);
  const tol = dtype === 'float64' ? 1e-10 : 1e-3;
  NAMES.forEach((name, k) => expectClose(gpu[k], cpu[k], tol, tol, `${name} (${jacobian})`));
}

run(`deer cells on CUDA match the CPU (seed ${rng.seed})`, () => {
  // H = 128 and 256: the one-unit walks with every thread of their blocks active (several full warps).
  const shapes = [{ T: 1, B: 1, H: 1 }, { T: 37, B: 3, H: 5 }, { T: 50, B: 70, H: 33 }, { T: 5, B: 3, H: 128 }, { T: 2, B: 2, H: 256 }, { T: 20, B: 2, H: 300 }];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const kind of KINDS)
      for (const shape of shapes) {
        const c: Case = { kind, ...shape };
        test(`${dtype} ${JSON.stringify(c)}`, () => compare(c, dtype));
      }

  // 2n and G float64 values exceed 48 KB: the linearization's and adjoint's kernels at that size (the walks: the grid walks).
  test('float64 LSTM with H = 1540 (no shared-memory staging)', () => compare({ kind: 'lstm', T: 3, B: 2, H: 1540 }, 'float64'));
});

run(`deer.jacobians on CUDA matches the CPU (seed ${rng.seed})`, () => {
  const cells: [string, Record<string, number[]>, Record<string, number[]>, number][] = [
    ['gru', { weight_ih: [12, 3], weight_hh: [12, 4], bias_ih: [12], bias_hh: [12] }, {}, 4],
    ['lstm', { weight_ih: [16, 3], weight_hh: [16, 4] }, {}, 8],
    ['sru', { weight: [3, 12], weight_c: [8], bias: [8] }, {}, 4],
    ['sru', { weight: [3, 16], weight_c: [8], bias: [8] }, {}, 4],
  ];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const [cell, shapes, , n] of cells)
      test(`${dtype} ${cell} ${JSON.stringify(shapes)}`, () => {
        const T = 300, B = 5;
        const values = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomArray(rng, s.reduce((a, b) => a * b, 1))]));
        const yPrev = randomArray(rng, T * B * n), x = randomArray(rng, T * B * 3);
        const on = (device: 'cpu' | 'cuda', jacobian: 'dense' | 'diagonal') => tidy(() => {
          const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tensor(values[k], s, { dtype, device })]));
          const J = antler.deer.jacobians(cell as never, params, tensor(yPrev, [T, B, n], { dtype, device }), tensor(x, [T, B, 3], { dtype, device }), { jacobian });
          return Float64Array.from(J.dataSync());
        });
        const tol = dtype === 'float64' ? 1e-10 : 1e-4;
        for (const jacobian of ['dense', 'diagonal'] as const) expectClose(on('cuda', jacobian), on('cpu', jacobian), tol, tol, jacobian);
      });
});
