// deer.expm and deer.solveIVP on CUDA against the CPU: expm and its gradient
// over sizes and norms (one launch and several), and an MLP neural ODE's
// solution, stats and gradients (y0, x, parameters), float64 and float32.
// Skips where no GPU is usable.
import * as antler from '../../lib';
import { DType, Tensor, tensor, tidy } from '../../lib';
import { expectClose, makeRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeRng();
const run = gpuDescribe('deer ODE tests');

run(`deer.expm on CUDA matches the CPU (seed ${rng.seed})`, () => {
  const cases = [{ count: 1, m: 1, scale: 1e-3 }, { count: 9, m: 4, scale: 0.5 }, { count: 5, m: 17, scale: 8 }, { count: 70000, m: 2, scale: 3 }, { count: 3, m: 33, scale: 40 }];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const c of cases)
      test(`${dtype} ${JSON.stringify(c)}`, () => {
        const A = randomArray(rng, c.count * c.m * c.m).map((v) => (v * c.scale) / Math.sqrt(c.m));
        const W = randomArray(rng, c.count * c.m * c.m);
        const on = (device: 'cpu' | 'cuda') => tidy(() => {
          const At = tensor(A, [c.count, c.m, c.m], { dtype, device, requiresGrad: c.count < 100 });
          const E = antler.deer.expm(At);
          if (At.requiresGrad) antler.sum(antler.mul(E, tensor(W, [c.count, c.m, c.m], { dtype, device }))).backward();
          return [E, ...(At.grad ? [At.grad] : [])].map((t: Tensor) => Float64Array.from(t.dataSync()));
        });
        const gpu = on('cuda'), cpu = on('cpu');
        const tol = dtype === 'float64' ? 1e-11 : 1e-4;
        gpu.forEach((g, k) => {
          const scale = cpu[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expectClose(g, cpu[k], tol, tol * scale, k === 0 ? 'expm' : 'gradient');
        });
      });
});

run(`deer.solveIVP on CUDA matches the CPU (seed ${rng.seed})`, () => {
  for (const dtype of ['float64', 'float32'] as DType[])
    test(`${dtype}: an MLP field with inputs, T = 400 (100 emulated), B = 5, n = 6`, () => {
      const T = process.env.ANTLER_GPU_EMULATED === '1' ? 100 : 400, B = 5, n = 6, H = 24, m = 2;
      const W1 = randomArray(rng, H * n).map((v) => v / Math.sqrt(n)), b1 = randomArray(rng, H, -0.3, 0.3);
      const W2 = randomArray(rng, n * H).map((v) => v / Math.sqrt(H)), U = randomArray(rng, H * m);
      const y0 = randomArray(rng, B * n), x = randomArray(rng, (T + 1) * B * m), w = randomArray(rng, (T + 1) * B * n);
      const grid = Array.from({ length: T + 1 }, (_, i) => (3 * i) / T);
      const on = (device: 'cpu' | 'cuda') => tidy(() => {
        const mk = (v: number[], shape: number[], rg = false) => tensor(v, shape, { dtype, device, requiresGrad: rg });
        const p = [mk(W1, [H, n], true), mk(b1, [H], true), mk(W2, [n, H], true), mk(U, [H, m], true)];
        const y0t = mk(y0, [B, n], true), xt = mk(x, [T + 1, B, m], true);
        const f = (_t: Tensor, y: Tensor, xx?: Tensor) =>
          antler.matmul(antler.tanh(antler.add(antler.add(antler.matmul(y, p[0], { transposeB: true }), p[1]), antler.matmul(xx!, p[3], { transposeB: true }))), p[2], { transposeB: true });
        const { y, stats } = antler.deer.solveIVP(f, y0t, grid, { x: xt });
        expect(stats.converged.every(Boolean)).toBe(true);
        antler.sum(antler.mul(y, mk(w, [T + 1, B, n]))).backward();
        const out = [y, y0t.grad!, xt.grad!, ...p.map((q) => q.grad!)].map((t: Tensor) => Float64Array.from(t.dataSync()));
        p.forEach((q) => q.dispose());
        return { out, iterations: stats.iterations };
      });
      const gpu = on('cuda'), cpu = on('cpu');
      expect(Math.abs(gpu.iterations - cpu.iterations)).toBeLessThanOrEqual(1);
      const tol = dtype === 'float64' ? 1e-9 : 2e-3;
      ['y', 'gy0', 'gx', 'gW1', 'gb1', 'gW2', 'gU'].forEach((name, k) => {
        const scale = cpu.out[k].reduce((s, v) => Math.max(s, Math.abs(v)), 0);
        expectClose(gpu.out[k], cpu.out[k], tol, tol * scale, name);
      });
    });
});
