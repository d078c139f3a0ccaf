// linalg.qr's CUDA kernel (native/cuda/linalg_qr.cu: one thread block per matrix) against the CPU on
// random batches: every mode, tall, wide and square, sizes below and above one block's 256 threads
// (lanes striding over rows and columns), batches larger than the grid (blocks reusing their
// scratch), zero columns and NaN; lstsq and both gradients through it. The registry
// (test/opinfo-linalg-qr.ts) runs its entries on CUDA too. Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('linalg.qr tests');

const emulated = process.env.ANTLER_GPU_EMULATED === '1';
const read = (t: antler.Tensor) => Array.from(t.dataSync());

run(`linalg.qr on CUDA vs CPU (seed ${rng.seed})`, () => {
  const cases: [number, number, number][] = emulated
    ? [[3, 5, 3], [2, 3, 6], [1, 4, 4], [20, 3, 2], [1, 40, 33], [2, 300, 3], [1, 3, 300]]
    : [[3, 5, 3], [2, 3, 6], [1, 4, 4], [300, 7, 5], [2, 300, 40], [1, 70, 300], [5, 260, 260]];
  for (const dtype of ['float64', 'float32'] as const)
    for (const mode of ['reduced', 'complete', 'r'] as const)
      test(`${dtype} mode '${mode}': batches ${JSON.stringify(cases)} (B, m, n)`, () =>
        antler.tidy(() => {
          for (const [B, m, n] of cases) {
            const values = randomArray(rng, B * m * n);
            // A zero column in the first matrix: τ = 0 there on both devices.
            for (let i = 0; i < m; i++) values[i * n + (n > 1 ? 1 : 0)] = 0;
            const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.linalg.qr(antler.tensor(values, [B, m, n], { dtype, device }), { mode }));
            const tol = (dtype === 'float64' ? 1e-12 : 2e-4) * Math.max(m, n);
            expect(g.Q.shape).toEqual(c.Q.shape);
            expect(g.R.shape).toEqual(c.R.shape);
            expectClose(read(g.Q), read(c.Q), 0, tol, `Q ${dtype} ${B}×${m}×${n} (seed ${rng.seed})`);
            expectClose(read(g.R), read(c.R), 0, tol, `R ${dtype} ${B}×${m}×${n} (seed ${rng.seed})`);
          }
        }));

  test('huge and tiny float64 columns (2^±600: squares over/underflow): the lanes\' scaled norms give the CPU\'s factors', () =>
    antler.tidy(() => {
      const [B, m, n] = emulated ? [2, 40, 5] : [3, 300, 5];
      const d = [2 ** -600, 1, 2 ** 600, 2 ** -600, 1];
      const values = randomArray(rng, B * m * n).map((v, e) => v * d[e % n]);
      const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.linalg.qr(antler.tensor(values, [B, m, n], { dtype: 'float64', device })));
      expectClose(read(g.Q), read(c.Q), 0, 1e-12 * m, `Q (seed ${rng.seed})`);
      // R column by column relative to its scale.
      expectClose(read(g.R).map((v, e) => v / d[e % n]), read(c.R).map((v, e) => v / d[e % n]), 0, 1e-12 * m, `R (seed ${rng.seed})`);
      expect(read(g.Q).every(Number.isFinite)).toBe(true);
    }));

  test('NaN in one matrix stays in that matrix (no hang)', () =>
    antler.tidy(() => {
      const values = randomArray(rng, 3 * 4 * 3);
      values[13] = NaN;
      const { Q, R } = antler.linalg.qr(antler.tensor(values, [3, 4, 3], { dtype: 'float64', device: 'cuda:0' }));
      const cpu = antler.linalg.qr(antler.tensor(values, [3, 4, 3], { dtype: 'float64' }));
      expect(read(Q).slice(12, 24).some(Number.isNaN)).toBe(true);
      expectClose(read(Q).slice(0, 12).concat(read(Q).slice(24)), read(cpu.Q).slice(0, 12).concat(read(cpu.Q).slice(24)), 0, 1e-12, 'Q');
      expectClose(read(R).slice(0, 9).concat(read(R).slice(18)), read(cpu.R).slice(0, 9).concat(read(cpu.R).slice(18)), 0, 1e-12, 'R');
    }));

  test('lstsq and the gradients of qr and lstsq: CUDA equals the CPU', () =>
    antler.tidy(() => {
      const av = randomArray(rng, 2 * 6 * 4).map((v, e) => v + (Math.floor(e / 4) % 6 === e % 4 ? 3 : 0));
      const bv = randomArray(rng, 2 * 6 * 2), wv = randomArray(rng, 2 * 6 * 4);
      const on = (device: string) => {
        const A = antler.tensor(av, [2, 6, 4], { dtype: 'float64', device, requiresGrad: true });
        const Bt = antler.tensor(bv, [2, 6, 2], { dtype: 'float64', device, requiresGrad: true });
        const { Q, R } = antler.linalg.qr(A);
        const X = antler.linalg.lstsq(A, Bt).solution;
        const W = antler.tensor(wv, [2, 6, 4], { dtype: 'float64', device });
        antler.sum(antler.add(antler.add(antler.sum(antler.mul(Q, W)), antler.sum(R)), antler.sum(X))).backward();
        return [X, A.grad!, Bt.grad!].map(read);
      };
      const g = on('cuda:0'), c = on('cpu');
      ['solution', 'gA', 'gB'].forEach((name, k) => expectClose(g[k], c[k], 1e-10, 1e-10, name));
    }));
});
