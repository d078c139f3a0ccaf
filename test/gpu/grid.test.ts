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
  test("one gradient at a time (the kernel without x's or without the grid's gradient) and empty results (the memsets)", () => {
    const xs = [2, 3, 5, 6], gs = [2, 4, 3, 2];
    const X = randomArray(rng, prod(xs), -2, 2), G = randomArray(rng, prod(gs), -1.3, 1.3), W = randomArray(rng, 2 * 3 * 4 * 3);
    for (const mode of ['bilinear', 'nearest', 'bicubic'] as const)
      for (const which of ['x', 'grid'] as const) {
        const [c, g] = ['cpu', 'cuda:0'].map((device) =>
          antler.tidy(() => {
            const x = antler.tensor(X, xs, { dtype: 'float64', device, requiresGrad: which === 'x' });
            const grid = antler.tensor(G, gs, { dtype: 'float64', device, requiresGrad: which === 'grid' });
            const y = antler.gridSample(x, grid, { mode, paddingMode: 'reflection' });
            const [d] = antler.autograd.grad(antler.sum(antler.mul(y, antler.tensor(W, y.shape, { dtype: 'float64', device }))), [which === 'x' ? x : grid]);
            return read(d!);
          }),
        );
        expectClose(g, c, 1e-12, 1e-12, `${mode}: the gradient of ${which} alone`);
      }
    // C = 0 (the grid's gradient memset to zeros) and no output points (x's gradient memset to zeros).
    for (const [exs, egs] of [[[2, 0, 3, 3], [2, 2, 2, 2]], [[2, 3, 3, 3], [2, 0, 2, 2]]]) {
      antler.tidy(() => {
        const x = antler.ones(exs, { device: 'cuda:0', requiresGrad: true });
        const grid = antler.ones(egs, { device: 'cuda:0', requiresGrad: true });
        const [dx, dg] = antler.autograd.grad(antler.sum(antler.gridSample(x, grid)), [x, grid]);
        expect(read(dx!)).toEqual(new Array(prod(exs)).fill(0));
        expect(read(dg!)).toEqual(new Array(prod(egs)).fill(0));
      });
    }
  });
});
