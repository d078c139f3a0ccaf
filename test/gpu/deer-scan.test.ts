// deer.scan on CUDA against the CPU: y and the gradients of A, b and y0,
// dense and diagonal, float64 and float32, including state sizes wider than a
// block and batches larger than one block per element. Skips where no GPU is usable.
import * as antler from '../../lib';
import { DType, Tensor, tensor, tidy } from '../../lib';
import { residuals } from '../../lib/deer/scan';
import { expectClose, makeRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeRng();
const run = gpuDescribe('deer.scan tests');

run(`deer.scan on CUDA matches the CPU (seed ${rng.seed})`, () => {
  const cases = [
    { T: 1, B: 1, n: 1, diagonal: false }, { T: 37, B: 3, n: 4, diagonal: false }, { T: 500, B: 5, n: 130, diagonal: true },
    { T: 200, B: 2, n: 140, diagonal: false }, { T: 1000, B: 70, n: 3, diagonal: true },
  ];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const c of cases)
      test(`${dtype} ${JSON.stringify(c)}`, () => {
        const aShape = c.diagonal ? [c.T, c.B, c.n] : [c.T, c.B, c.n, c.n];
        const aLen = aShape.reduce((p, q) => p * q, 1);
        const A = randomArray(rng, aLen, -0.9, 0.9).map((v) => (c.diagonal ? v : v / c.n));
        const b = randomArray(rng, c.T * c.B * c.n);
        const y0 = randomArray(rng, c.B * c.n);
        const w = randomArray(rng, c.T * c.B * c.n);
        const on = (device: 'cpu' | 'cuda') => tidy(() => {
          const At = tensor(A, aShape, { dtype, device, requiresGrad: true });
          const bt = tensor(b, [c.T, c.B, c.n], { dtype, device, requiresGrad: true });
          const y0t = tensor(y0, [c.B, c.n], { dtype, device, requiresGrad: true });
          const y = antler.deer.scan(At, bt, y0t);
          antler.sum(antler.mul(y, tensor(w, [c.T, c.B, c.n], { dtype, device }))).backward();
          return [y, At.grad!, bt.grad!, y0t.grad!].map((t: Tensor) => Float64Array.from(t.dataSync()));
        });
        const gpu = on('cuda'), cpu = on('cpu');
        const tol = dtype === 'float64' ? 1e-10 : 1e-3;
        ['y', 'gA', 'gb', 'gy0'].forEach((name, k) => expectClose(gpu[k], cpu[k], tol, tol, name));
      });
});

run(`deer.elkStep on CUDA matches the CPU (seed ${rng.seed})`, () => {
  // One chain over a long T takes the chunked path (six kernels); many chains one chunk (two walks).
  const cases = [{ T: 1, B: 1, n: 1 }, { T: 5000, B: 1, n: 1 }, { T: 3000, B: 2, n: 3 }, { T: 200, B: 64, n: 300 }];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const c of cases)
      test(`${dtype} ${JSON.stringify(c)}`, () => {
        const len = c.T * c.B * c.n;
        const a = randomArray(rng, len, -0.9, 0.9), u = randomArray(rng, len), yhat = randomArray(rng, len);
        const y0 = randomArray(rng, c.B * c.n);
        const lambda = Array.from({ length: c.B }, (_, b) => [0, 0.3, 1e4][b % 3]);
        const on = (device: 'cpu' | 'cuda') => tidy(() => {
          const seq = [c.T, c.B, c.n];
          const y = antler.deer.elkStep(tensor(a, seq, { dtype, device }), tensor(u, seq, { dtype, device }),
            tensor(yhat, seq, { dtype, device }), tensor(y0, [c.B, c.n], { dtype, device }), tensor(lambda, [c.B], { dtype, device }));
          return Float64Array.from(y.dataSync());
        });
        const tol = dtype === 'float64' ? 1e-10 : 1e-4;
        expectClose(on('cuda'), on('cpu'), tol, tol, 'y');
      });
});

run(`deer.elkStep with the dense Jacobian on CUDA matches the CPU (seed ${rng.seed})`, () => {
  // B = 1 over a long T takes the chunked path (six kernels); n = 40 has more entries than a block has
  // threads; B = 2000 has more tasks than blocks in flight (blocks loop over tasks).
  const cases = [{ T: 1, B: 1, n: 1 }, { T: 3000, B: 1, n: 4 }, { T: 500, B: 3, n: 40 }, { T: 50, B: 2000, n: 2 }];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const c of cases)
      test(`${dtype} ${JSON.stringify(c)}`, () => {
        const len = c.T * c.B * c.n;
        const F = randomArray(rng, len * c.n, -0.9, 0.9).map((v) => v / Math.sqrt(c.n)), u = randomArray(rng, len), yhat = randomArray(rng, len);
        const y0 = randomArray(rng, c.B * c.n);
        const lambda = Array.from({ length: c.B }, (_, b) => [0, 0.3, 1e4][b % 3]);
        const on = (device: 'cpu' | 'cuda') => tidy(() => {
          const seq = [c.T, c.B, c.n];
          const y = antler.deer.elkStep(tensor(F, [...seq, c.n], { dtype, device }), tensor(u, seq, { dtype, device }),
            tensor(yhat, seq, { dtype, device }), tensor(y0, [c.B, c.n], { dtype, device }), tensor(lambda, [c.B], { dtype, device }));
          return Float64Array.from(y.dataSync());
        });
        const tol = dtype === 'float64' ? 1e-10 : 1e-3;
        expectClose(on('cuda'), on('cpu'), tol, tol, 'y');
      });
});

run(`the DEER residual on CUDA matches the CPU and is deterministic (seed ${rng.seed})`, () => {
  // One block per column and many; more columns than the grid's 65,535 (not under the host emulation,
  // where its 2·65,535 blocks of fibers take minutes); n = 1; a NaN column and an infinite one.
  const manyColumns = process.env.ANTLER_GPU_EMULATED === '1' ? 700 : 70_000;
  const cases = [{ T: 1, B: 1, n: 1 }, { T: 100_000, B: 16, n: 1 }, { T: 3, B: manyColumns, n: 2 }, { T: 64, B: 2, n: 300 }];
  for (const dtype of ['float64', 'float32'] as DType[])
    for (const c of cases)
      test(`${dtype} ${JSON.stringify(c)}`, () => {
        const len = c.T * c.B * c.n;
        const y = randomArray(rng, len, -3, 3), f = randomArray(rng, len, -3, 3);
        if (c.B > 2) {
          y[(Math.floor(c.T / 2) * c.B + 1) * c.n] = NaN;
          f[(c.T - 1) * c.B * c.n + 2 * c.n] = Infinity;
        }
        const on = (device: 'cpu' | 'cuda') => tidy(() => {
          const r = residuals(tensor(y, [c.T, c.B, c.n], { dtype, device }), tensor(f, [c.T, c.B, c.n], { dtype, device }), 0.5);
          return Float64Array.from([...r.res, ...r.ss, ...r.scale, ...r.excess]);
        });
        const gpu = on('cuda'), cpu = on('cpu');
        // Maxima are exact on both; the sums of squares differ by the order of the additions, the
        // excesses (|y − f| − 0.5·|f|) by a fused multiply-add or not.
        const tol = dtype === 'float64' ? 1e-12 : 1e-6;
        const finite = (v: Float64Array) => v.map((x) => (Number.isNaN(x) ? -1 : x === Infinity ? -2 : x));
        const main = 3 * c.B;
        expectClose(finite(gpu).subarray(0, main), finite(cpu).subarray(0, main), tol, 0, 'residuals');
        expectClose(finite(gpu).subarray(main), finite(cpu).subarray(main), tol, tol, 'excess');
        expect(Array.from(on('cuda'))).toEqual(Array.from(gpu));
      });
});
