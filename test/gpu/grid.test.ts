// gridSample's CUDA kernels (native/cuda/grid_sample.cu) against the CPU's (native/cpu/grid_sample.cpp):
// both run the math of native/kernels/grid_sample.h, so values and the grid's gradient agree to
// rounding; x's gradient is summed by atomics on CUDA (order varies), so it agrees to rounding too, not to
// the bit. Every mode × padding × alignCorners, 4-D and 5-D, float32 and float64, grids off the image and
// on its borders, with NaN and ±inf. Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('gridSample tests');
const read = (t: antler.Tensor) => Array.from(t.dataSync());
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

run(`gridSample on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('every mode × padding × alignCorners, 4-D and 5-D, float32 and float64: the same values and gradients on CUDA as on the CPU', () => {
    for (const mode of ['bilinear', 'nearest', 'bicubic'] as const)
      for (const paddingMode of ['zeros', 'border', 'reflection'] as const)
        for (const alignCorners of [false, true])
          for (const dims of mode === 'bicubic' ? [2] : [2, 3]) {
            const sizes = Array.from({ length: dims }, () => rng.int(1, dims === 2 ? 9 : 5));
            const outSizes = Array.from({ length: dims }, () => rng.int(1, dims === 2 ? 6 : 4));
            const [N, C] = [rng.int(1, 3), rng.int(1, 5)];
            const xs = [N, C, ...sizes], gs = [N, ...outSizes, dims];
            const X = randomArray(rng, prod(xs), -2, 2);
            const G = randomArray(rng, prod(gs), -1.6, 1.6).map((v) => (rng.next() < 0.1 ? rng.pick([-1, 1, 0, NaN, Infinity]) : v));
            const W = randomArray(rng, N * C * prod(outSizes));
            for (const dtype of ['float32', 'float64'] as const) {
              const [c, g] = ['cpu', 'cuda:0'].map((device) =>
                antler.tidy(() => {
                  const x = antler.tensor(X, xs, { dtype, device, requiresGrad: true });
                  const grid = antler.tensor(G, gs, { dtype, device, requiresGrad: true });
                  const y = antler.gridSample(x, grid, { mode, paddingMode, alignCorners });
                  expect(y.device).toBe(device);
                  y.backward(antler.tensor(W, y.shape, { dtype, device }));
                  return { y: read(y), gx: read(x.grad!), gg: read(grid.grad!) };
                }),
              );
              const what = `${mode} ${paddingMode} alignCorners ${alignCorners} ${dims + 2}-D ${dtype}`;
              const tol = dtype === 'float64' ? 1e-12 : 1e-4;
              expectClose(g.y, c.y, tol, tol, `${what}: values`);
              expectClose(g.gx, c.gx, tol, tol, `${what}: x's gradient`);
              expectClose(g.gg, c.gg, tol, tol, `${what}: the grid's gradient`);
            }
          }
  });
});
